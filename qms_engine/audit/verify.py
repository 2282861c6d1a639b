"""`qms audit verify`: everything an auditor checks, online (database) or offline (bundle).

Both paths feed the same :func:`~qms_engine.chain.verifier.verify_chain_events` and then check
the same things around the chain: the key list against the chain's own key events, the
checkpoints (and any short codes the auditor brings from paper), the office's name and time
zone against its ``office.created`` event, and every revision's blob.  Online, everything comes
from one read-only database snapshot; offline, from a bundle read strictly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from document_store.hashing import sha256_file
from qms_engine.audit.bundle import MANIFEST, BlobFolder, BundleReader, is_sha256
from qms_engine.audit.checkpoints import (
    CheckpointRecord,
    PaperCode,
    checkpoint_problems,
    checkpoints_of,
    codes_by_office,
)
from qms_engine.audit.projection import Projection
from qms_engine.chain import events
from qms_engine.chain.encoding import ChainEvent
from qms_engine.chain.reader import stored_chain
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.chain.verifier import ChainReport, Problem, verify_chain_events
from qms_engine.errors import IntegrityError
from qms_engine.i18n import _
from qms_engine.runtime import Runtime
from qms_engine.storage.database import read_snapshot
from qms_engine.storage.models import HEAD_TABLE, KEY_TABLE, OFFICE_TABLE, USER_TABLE

Progress = Callable[[int], None]


@dataclass
class AuditResult:
    """The verdict for one office: what was checked and every problem found, first one first."""

    office: str
    events: int = 0
    checkpoints: int = 0
    codes: int = 0
    blobs: int = 0
    blobs_checked: bool = True
    """False when the revisions' content was not checked (``--no-blobs``, or not in a bundle)."""
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
    codes: list[PaperCode],
) -> None:
    result.events = report.events
    result.problems.extend(str(p) for p in sorted(report.problems, key=Problem.order))
    listed = {str(k["fingerprint"]): k for k in keys}
    for key_id, info in report.keys.items():
        entry = listed.get(key_id)
        if entry is None:
            result.problems.append(
                _("key list: key {key_id}… of {owner!r} is missing").format(
                    key_id=key_id[:16], owner=info.owner
                )
            )
        elif entry.get("public_key") != info.public_key or entry.get("owner") != info.owner:
            result.problems.append(
                _(
                    "key list: key {key_id}… differs from the chain's key.registered event "
                    "(altered key list)"
                ).format(key_id=key_id[:16])
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
                _(
                    "event #{event_seq} records a checkpoint at #{seq} that is missing "
                    "from the checkpoint list: it was deleted or altered"
                ).format(event_seq=event_seq, seq=seq)
            )
    result.checkpoints = len(checkpoints)
    for code in codes:
        result.codes += 1
        if report.events < code.seq:
            result.problems.append(
                _("code {text}: the chain ends at #{events}: its tail was removed").format(
                    text=code.text, events=report.events
                )
            )
        elif not code.matches(report.hashes_at.get(code.seq, "")):
            result.problems.append(
                _("code {text}: event #{seq} no longer matches: the chain was rewritten").format(
                    text=code.text, seq=code.seq
                )
                + (
                    _(" (or the code, written before codes had a check character, was mistyped)")
                    if code.legacy
                    else ""
                )
            )


def _wanted(checkpoints: list[CheckpointRecord], codes: list[PaperCode]) -> set[int]:
    return {c.seq for c in checkpoints} | {code.seq for code in codes}


@dataclass
class _Founding:
    """The office's name and time zone as its chain states them (the first ``office.created``
    event about the office), picked up while the events stream past the verifier."""

    code: str
    seq: int | None = None
    name: object = None
    timezone: object = None

    def watch(self, stream: Iterable[ChainEvent]) -> Iterator[ChainEvent]:
        """Pass the events on unchanged, remembering the office's founding event."""
        for position, event in enumerate(stream, start=1):
            body = event.body
            if (
                self.seq is None
                and isinstance(body, Mapping)
                and body.get("action") == events.OFFICE_CREATED.action
                and body.get("subject") == self.code
                and isinstance(body.get("payload"), Mapping)
            ):
                self.seq = position
                self.name = body["payload"].get("name")
                self.timezone = body["payload"].get("timezone")
            yield event

    def problems(self, where: str, name: str, timezone: str) -> list[str]:
        """What differs between the chain's office name and time zone and those of ``where``."""
        if self.seq is None:
            return [
                _(
                    "{where}: the chain has no office.created event for {code}, so the "
                    "office's name and time zone are not covered by it"
                ).format(where=where, code=self.code)
            ]
        found = []
        for what, claimed, signed in (
            (_("name"), name, self.name),
            (_("time zone"), timezone, self.timezone),
        ):
            if claimed != signed:
                found.append(
                    _(
                        "{where}: office {what} {claimed!r} is not the chain's {signed!r} "
                        "(office.created, event #{seq}): altered"
                    ).format(where=where, what=what, claimed=claimed, signed=signed, seq=self.seq)
                )
        return found


def verify_office(
    runtime: Runtime,
    office: OfficeRef,
    *,
    jobs: int = 1,
    codes: Iterable[str] = (),
    progress: Progress | None = None,
    check_blobs: bool = True,
    on_head: Callable[[int], None] | None = None,
) -> AuditResult:
    """Verify an office's chain in the database, its key table, checkpoints and blobs.

    Everything is read from one read-only snapshot (the head first), so writes committed while
    it runs are simply not seen: the verdict covers the chain up to the head it saw.
    ``on_head`` is called with that head's sequence number before any event is read (a
    progress bar's total); ``progress`` with the number of events checked, batch by batch.
    """
    papers = codes_by_office(codes, [office.code])[office.code]
    founding = _Founding(office.code)
    projection = Projection(office, runtime.plugins.workflows)
    with read_snapshot(runtime.engine) as connection:
        head = connection.execute(
            select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash).where(HEAD_TABLE.c.office_id == office.id)
        ).one()
        if on_head:
            on_head(int(head.seq))
        row = connection.execute(
            select(OFFICE_TABLE.c.name, OFFICE_TABLE.c.timezone).where(
                OFFICE_TABLE.c.id == office.id
            )
        ).one()
        checkpoints = checkpoints_of(connection, office)
        keys = [dict(r._mapping) for r in connection.execute(_KEY_ROWS).all()]
        report = verify_chain_events(
            office.code,
            projection.observe(founding.watch(stored_chain(connection, office)), connection),
            jobs=jobs,
            progress=progress,
            remember=_wanted(checkpoints, papers),
        )
        differences = projection.problems(connection)
    result = AuditResult(office.code)
    _around_chain(result, report, keys, checkpoints, papers)
    if (head.seq, head.hash) != (report.events, report.head_hash):
        result.problems.append(
            _(
                "chain head says #{seq} ({hash}…) but the log ends at #{events}: "
                "events were removed from the end"
            ).format(seq=head.seq, hash=head.hash[:16], events=report.events)
        )
    result.problems.extend(
        founding.problems(_("office {code}").format(code=office.code), row.name, row.timezone)
    )
    if not result.problems:  # the tables are held to a chain that verified (audit/projection.py)
        result.problems.extend(differences)
    if check_blobs:
        result.blobs = _check_blobs(report.blobs, runtime.store.path, result.problems)
    else:
        result.blobs_checked = False
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


def _named_blobs(shas: Iterable[object], problems: list[str]) -> list[str]:
    """The chain's blob names that are SHA-256 digests; any other is a problem, never a path."""
    named = []
    for sha in shas:
        if is_sha256(sha):
            named.append(str(sha))
        else:
            problems.append(
                _("a revision names blob {sha!r:.80}, which is not a SHA-256 digest").format(
                    sha=sha
                )
            )
    return sorted(named)


def _check_blobs(shas: Iterable[object], locate: Callable[[str], Path], problems: list[str]) -> int:
    checked = 0
    for sha in _named_blobs(shas, problems):
        path = locate(sha)
        checked += 1
        if not path.is_file():
            problems.append(
                _("blob {sha}…: missing (a revision points at content that is gone)").format(
                    sha=sha[:16]
                )
            )
            continue
        actual = sha256_file(path)
        if actual != sha:
            problems.append(
                _("blob {sha}…: content hashes to {actual}…: replaced or damaged").format(
                    sha=sha[:16], actual=actual[:16]
                )
            )
    return checked


def _check_bundle_blobs(shas: Iterable[object], folder: BlobFolder, problems: list[str]) -> int:
    """``blobs/`` must hold exactly the blobs the chain names, each hashing to its name."""
    named = _named_blobs(shas, problems)
    present, strays = folder.listing()
    problems.extend(strays)
    for sha in named:
        if sha not in present:
            problems.append(
                _("blob {sha}…: missing (a revision points at content that is gone)").format(
                    sha=sha[:16]
                )
            )
            continue
        try:
            actual = folder.digest(sha)
        except IntegrityError as exc:
            problems.append(str(exc))
            continue
        if actual != sha:
            problems.append(
                _("blob {sha}…: content hashes to {actual}…: replaced or damaged").format(
                    sha=sha[:16], actual=actual[:16]
                )
            )
    for extra in sorted(present - set(named)):
        problems.append(
            _("{path}: no revision in the chain names this blob (an extra file)").format(
                path=folder.path / extra
            )
        )
    return len(named)


def verify_bundle(
    path: Path,
    *,
    jobs: int = 1,
    codes: Iterable[str] = (),
    progress: Progress | None = None,
    check_blobs: bool = True,
) -> AuditResult:
    """Verify an exported bundle with no database at all (and nothing from the installation:
    the chain registers its own workflow definitions).  The bundle is read strictly
    (``docs/audit-bundle.md``): a damaged or hostile one gives one
    problem naming the file (and line), never a traceback, and nothing is written.  Blobs are
    checked unless ``check_blobs`` is False; a bundle exported without them then fails with
    "blobs NOT checked", since its verdict would not cover the revisions' content.
    """
    try:
        reader = BundleReader(path)
        papers = codes_by_office(codes, [reader.office])[reader.office]
        checkpoints = reader.checkpoints()
        keys = reader.keys()
        founding = _Founding(reader.office)
        report = verify_chain_events(
            reader.office,
            founding.watch(reader.events()),
            jobs=jobs,
            progress=progress,
            remember=_wanted(checkpoints, papers),
        )
    except IntegrityError as exc:
        return AuditResult(path.name, problems=[str(exc)], blobs_checked=False)
    except (KeyError, TypeError, ValueError, RecursionError) as exc:  # a flaw, not a crash
        return AuditResult(
            path.name,
            problems=[_("{path}: damaged bundle ({exc!r})").format(path=path, exc=exc)],
            blobs_checked=False,
        )
    manifest = reader.manifest
    result = AuditResult(reader.office)
    _around_chain(result, report, keys, checkpoints, papers)
    if manifest.head != report.head_hash:
        result.problems.append(
            _("{path}: head {head}… is not the last event's hash").format(
                path=path / MANIFEST, head=manifest.head[:16]
            )
        )
    result.problems.extend(
        founding.problems(str(path / MANIFEST), manifest.office_name, manifest.timezone)
    )
    if not check_blobs:
        result.blobs_checked = False
        return result
    try:
        folder = reader.blob_folder()
    except IntegrityError as exc:
        result.blobs_checked = False
        result.problems.append(str(exc))
        return result
    if folder is None:
        named = _named_blobs(report.blobs, result.problems)
        if named:
            result.blobs_checked = False
            result.problems.append(
                _(
                    "{path}: blobs NOT checked: the chain names {count} revision file(s), "
                    "and the bundle was exported without them (export with --blobs, or "
                    "verify with --no-blobs to check everything but the files' content)"
                ).format(path=path, count=len(named))
            )
        return result
    with folder:
        result.blobs = _check_bundle_blobs(report.blobs, folder, result.problems)
    if manifest.blobs != result.blobs:
        result.problems.append(
            _("{path}: says {blobs} blobs, the chain names {blobs2}").format(
                path=path / MANIFEST, blobs=manifest.blobs, blobs2=result.blobs
            )
        )
    return result
