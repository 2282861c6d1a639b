"""`qms audit verify`: everything an auditor checks, online (database) or offline (bundle).

Both paths feed the same :func:`~qms_engine.verification.verify_chain_events` and then check the
same things around the chain: the key list against the chain's own key events, the checkpoints
(and any short codes the auditor brings from paper), and every revision's blob.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from document_store.hashing import sha256_file
from qms_engine.audit.bundle import BundleReader
from qms_engine.audit.checkpoints import (
    CheckpointRecord,
    checkpoint_problems,
    parse_code,
    stored_checkpoints,
)
from qms_engine.chain.encoding import ChainEvent
from qms_engine.chain.reader import stored_chain
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.chain.verifier import ChainReport, Problem, verify_chain_events
from qms_engine.errors import IntegrityError
from qms_engine.rules.workflows import WorkflowDefinition
from qms_engine.runtime import Runtime
from qms_engine.storage.models import EVENT_TABLE, HEAD_TABLE, KEY_TABLE, OFFICE_TABLE, USER_TABLE

Progress = Callable[[int], None]


@dataclass
class AuditResult:
    """The verdict for one office: what was checked and every problem found, first one first."""

    office: str
    events: int = 0
    checkpoints: int = 0
    codes: int = 0
    blobs: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def _around_chain(
    result: AuditResult,
    report: ChainReport,
    keys: Iterable[Mapping[str, object]],
    checkpoints: list[CheckpointRecord],
    codes: Iterable[str],
) -> None:
    result.events = report.events
    result.problems.extend(str(p) for p in sorted(report.problems, key=Problem.order))
    listed = {str(k["fingerprint"]): k for k in keys}
    for key_id, info in report.keys.items():
        entry = listed.get(key_id)
        if entry is None:
            result.problems.append(f"key list: key {key_id[:16]}… of {info.owner!r} is missing")
        elif entry.get("public_key") != info.public_key or entry.get("owner") != info.owner:
            result.problems.append(
                f"key list: key {key_id[:16]}… differs from the chain's "
                "key.registered event (altered key list)"
            )
    office_keys = {k: i.public_key for k, i in report.keys.items() if i.purpose == "office"}
    for checkpoint in checkpoints:
        result.problems.extend(
            checkpoint_problems(
                checkpoint, office_keys, report.events, report.hashes_at.get(checkpoint.seq)
            )
        )
    listed_checkpoints = {(c.seq, c.head_hash, c.signature) for c in checkpoints}
    for event_seq, seq, head, signature in report.checkpoints:
        if (seq, head, signature) not in listed_checkpoints:
            result.problems.append(
                f"event #{event_seq} records a checkpoint at #{seq} that is missing from the "
                "checkpoint list: it was deleted or altered"
            )
    result.checkpoints = len(checkpoints)
    for code in codes:
        office, seq, prefix = parse_code(code)
        result.codes += 1
        if office != report.office:
            result.problems.append(f"code {code}: for office {office}, not {report.office}")
        elif report.events < seq:
            result.problems.append(
                f"code {code}: the chain ends at #{report.events}: its tail was removed"
            )
        elif not report.hashes_at.get(seq, "").startswith(prefix):
            result.problems.append(
                f"code {code}: event #{seq} no longer matches: the chain was rewritten"
            )


def _wanted(checkpoints: list[CheckpointRecord], codes: Iterable[str]) -> set[int]:
    return {c.seq for c in checkpoints} | {parse_code(code)[1] for code in codes}


def _stored(runtime: Runtime, office: OfficeRef) -> Iterator[ChainEvent]:
    with runtime.engine.connect() as connection:
        yield from stored_chain(connection, office)


def count_events(runtime: Runtime, office: OfficeRef) -> int:
    """How many events the office's chain has (for progress bars)."""
    with runtime.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(EVENT_TABLE)
                .where(EVENT_TABLE.c.office_id == office.id)
            ).scalar_one()
        )


def verify_office(
    runtime: Runtime,
    office: OfficeRef,
    *,
    jobs: int = 1,
    codes: Iterable[str] = (),
    progress: Progress | None = None,
    check_blobs: bool = True,
) -> AuditResult:
    """Verify an office's chain in the database, its key table, checkpoints and blobs."""
    codes = list(codes)
    checkpoints = stored_checkpoints(runtime, office)
    report = verify_chain_events(
        office.code,
        _stored(runtime, office),
        workflows=runtime.plugins.workflows,
        jobs=jobs,
        progress=progress,
        remember=_wanted(checkpoints, codes),
    )
    result = AuditResult(office.code)
    with runtime.engine.connect() as connection:
        head = connection.execute(
            select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash).where(HEAD_TABLE.c.office_id == office.id)
        ).one()
        keys = [dict(row._mapping) for row in connection.execute(_KEY_ROWS).all()]
    _around_chain(result, report, keys, checkpoints, codes)
    if (head.seq, head.hash) != (report.events, report.head_hash):
        result.problems.append(
            f"chain head says #{head.seq} ({head.hash[:16]}…) but the log ends "
            f"at #{report.events}: events were removed from the end"
        )
    if check_blobs:
        result.blobs = _check_blobs(report.blobs, runtime.store.path, result.problems)
    return result


_KEY_ROWS = (
    select(
        KEY_TABLE.c.fingerprint,
        KEY_TABLE.c.public_key,
        func.coalesce(USER_TABLE.c.username, OFFICE_TABLE.c.code).label("owner"),
    )
    .outerjoin(USER_TABLE, USER_TABLE.c.id == KEY_TABLE.c.user_id)
    .outerjoin(OFFICE_TABLE, OFFICE_TABLE.c.id == KEY_TABLE.c.office_id)
)


def _check_blobs(
    shas: Iterable[str], locate: Callable[[str], Path | None], problems: list[str]
) -> int:
    checked = 0
    for sha in sorted(shas):
        path = locate(sha)
        checked += 1
        if path is None or not path.is_file():
            problems.append(
                f"blob {sha[:16]}…: missing (a revision points at content that is gone)"
            )
            continue
        actual = sha256_file(path)
        if actual != sha:
            problems.append(
                f"blob {sha[:16]}…: content hashes to {actual[:16]}…: replaced or damaged"
            )
    return checked


def verify_bundle(
    path: Path,
    *,
    workflows: Mapping[str, WorkflowDefinition] | None = None,
    jobs: int = 1,
    codes: Iterable[str] = (),
    progress: Progress | None = None,
) -> AuditResult:
    """Verify an exported bundle with no database at all."""
    codes = list(codes)
    try:
        reader = BundleReader(path)
        checkpoints = reader.checkpoints()
        keys = reader.keys()
        report = verify_chain_events(
            reader.office,
            reader.events(),
            workflows=workflows,
            jobs=jobs,
            progress=progress,
            remember=_wanted(checkpoints, codes),
        )
    except IntegrityError as exc:
        return AuditResult(path.name, problems=[str(exc)])
    except (KeyError, TypeError, ValueError) as exc:  # a damaged file, not a crash
        return AuditResult(path.name, problems=[f"{path}: damaged bundle ({exc!r})"])
    result = AuditResult(reader.office)
    try:
        _around_chain(result, report, keys, checkpoints, codes)
    except (KeyError, TypeError, ValueError) as exc:
        result.problems.append(f"{path}: damaged key or checkpoint list ({exc!r})")
    head = reader.manifest["events"].get("head")
    if head != report.head_hash:
        result.problems.append(f"manifest head {str(head)[:16]}… is not the last event's hash")
    if reader.manifest.get("blobs"):
        result.blobs = _check_blobs(report.blobs, reader.blob, result.problems)
    return result
