"""The ingestion pipeline: an explicit, ordered list of small named steps.

Each step reads and extends one :class:`Intake`; a step that refuses raises :class:`StepFailed`
naming itself, the problem and what the clerk should do, and the file goes to quarantine.  A
step that meets a passing trouble (file busy, disk full, permission denied) raises
:class:`Transient`: the claim is kept and tried again later, so nothing is stranded.  Plugins
add steps through the ``qms_ingest_steps`` hook.

The last step files the record: blob, record rows, the signed ``document.revision.filed``
event and the :class:`~qms_engine.storage.models.IngestReceipt` commit together.  Only then is the
original moved to ``processed/``.  A crash between the two is finished on the next start: the
receipt says the claim was filed, so it is moved, not filed again.

A refusal of the signer itself (its key replaced or revoked while the run goes on, its user
deactivated, its roles in the office revoked) is no fault of the file: the claim is given back
to the inbox untouched, and the run stops serving that office (see
:meth:`~qms_engine.ingest.steps.IngestContext.check_signer`).
"""

from __future__ import annotations

import errno
import json
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import DBAPIError

from document_store.errors import BlobTooLarge, StoreError
from qms_engine.chain import events
from qms_engine.chain.unit_of_work import Actor, OfficeRef
from qms_engine.clock import local_text, local_today, to_utc_text, utc_now
from qms_engine.documents.revisions import (
    filed_copy,
    forget_blob,
    plugin_problems,
    write_new_document,
)
from qms_engine.errors import NotFound, PermissionDenied, QmsError, RuleViolation
from qms_engine.files import FileFacts, NotRegularFile, check_content, inspect_file, open_regular
from qms_engine.i18n import _
from qms_engine.ingest.extract import (
    Extracted,
    ExtractionError,
    ReadAhead,
    clean_title,
    filename_fields,
    read_docx,
    sidecar_fields,
)
from qms_engine.ingest.inbox import UNSORTED, Claim
from qms_engine.ingest.steps import (
    FunctionStep,
    IngestContext,
    Intake,
    Step,
    StepFailed,
    Transient,
)
from qms_engine.people.permissions import find_user, load_actor, require_role
from qms_engine.registry.office_types import DocumentTypeSpec
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    RECEIPT_TABLE,
    REVISION_TABLE,
    ROLE_TABLE,
    USER_TABLE,
)

FIND_REGISTER = "find the register"
FIND_OFFICE = "find the office"
MAX_FILE_BYTES = 2 * 1024**3  # a scan larger than 2 GiB is refused, not filed
TRANSIENT_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.EBUSY,
    errno.ENOSPC,
    errno.EAGAIN,
    errno.ETXTBSY,
    errno.EDQUOT,
    errno.EIO,
}


class SignerEnded(Exception):
    """The run's signer can no longer file in the claim's office: not the file's fault."""


def _check_type(intake: Intake, context: IngestContext) -> None:
    if intake.claim.path.is_symlink():
        raise StepFailed(
            "check file type",
            _("it is a link to a file, not the file itself"),
            _("copy the file itself into the inbox"),
        )
    try:
        intake.facts = inspect_file(
            intake.claim.path, intake.spec.allowed_extensions, intake.spec.title
        )
    except RuleViolation as refused:
        advice = refused.hint or "save it in an accepted format and drop it again"
        raise StepFailed("check file type", str(refused), advice) from refused


def _hash_and_stage(intake: Intake, context: IngestContext) -> None:
    """Copy the file into the store while hashing it; from here on only that copy is read.

    A clerk may keep a second name (a hard link) for the dropped file and change it at any
    time, so its type, size and fields are all taken from the staged bytes (see
    :func:`_read_fields`), never from the inbox file again.
    """
    try:
        with open_regular(intake.claim.path) as handle:
            intake.staged = context.runtime.store.stage(handle, max_bytes=MAX_FILE_BYTES)
    except NotRegularFile as refused:
        raise StepFailed(
            "store the file", str(refused), _("copy the file itself into the inbox")
        ) from refused
    except BlobTooLarge as refused:
        raise StepFailed(
            "store the file",
            str(refused),
            _("split the scan into smaller files (under 2 GiB each)"),
        ) from refused
    except OSError as trouble:
        if trouble.errno not in TRANSIENT_ERRNOS:
            raise StepFailed(
                "store the file",
                _("cannot read the file: {trouble}").format(trouble=trouble),
                _("check the file, then drop it again"),
            ) from trouble
        raise Transient(
            _("reading or storing {relative}: {trouble}").format(
                relative=intake.claim.relative, trouble=trouble
            )
        ) from trouble
    except StoreError as trouble:
        raise Transient(str(trouble)) from trouble
    intake.sha256 = intake.staged.sha256
    assert intake.facts is not None
    facts = intake.facts
    try:
        with intake.staged.open() as stored:
            media_type = check_content(facts.name, facts.extension, stored, intake.staged.size)
    except RuleViolation as refused:  # it changed after "check file type" looked at it
        advice = refused.hint or "save it in an accepted format and drop it again"
        raise StepFailed("check file type", str(refused), advice) from refused
    size = intake.staged.size
    intake.facts = FileFacts(facts.path, facts.name, facts.extension, media_type, size)


def _find_duplicate(intake: Intake, context: IngestContext) -> None:
    assert intake.sha256 is not None  # hashed by the step before
    with context.runtime.engine.connect() as connection:
        copy = filed_copy(
            connection,
            intake.office,
            intake.spec.code,
            intake.sha256,
            context.runtime.plugins.workflows,
        )
    intake.duplicate_of = copy.number if copy is not None else None
    if intake.duplicate_of is not None:
        _record(intake, context)
        intake.done = True


def _read_ahead(intake: Intake, context: IngestContext) -> ReadAhead | None:
    """The worker's reading of this file, if it read exactly the bytes that were stored."""
    future = context.read_ahead.pop(intake.claim.id, None)
    if future is None:
        return None
    try:
        ahead = future.result()
    except Exception:  # a broken worker pool: the file is read here instead
        return None
    return ahead if ahead.sha256 is not None and ahead.sha256 == intake.sha256 else None


def _extract(intake: Intake, context: IngestContext) -> Extracted:
    """Fields of the stored .docx: the worker's reading of the same bytes, or the staged blob."""
    ahead = _read_ahead(intake, context)
    if ahead is not None:
        if ahead.error is not None:
            raise ahead.error
        if ahead.extracted is not None:
            return ahead.extracted
    assert intake.staged is not None
    with intake.staged.open() as stored:
        return read_docx(stored, intake.claim.path.name, intake.spec.field_labels)


def _read_fields(intake: Intake, context: IngestContext) -> None:
    path, spec = intake.claim.path, intake.spec
    fields: dict[str, Any] = dict(filename_fields(path.name, spec.compiled_patterns))
    title = None
    try:
        if path.suffix.lower() == ".docx":
            extracted = _extract(intake, context)
            fields.update(extracted.fields)
            title = extracted.title
        fields.update(sidecar_fields(path))
    except ExtractionError as refused:
        raise StepFailed("read the document", refused.problem, refused.advice) from refused
    intake.fields = fields
    intake.title = title_for(fields.get("title") or title, path.name)


def title_for(given: object, name: str) -> str:
    """A record's title: the one given (a field, the document's own), else the file name's
    stem, else the name; always through :func:`clean_title` (no control characters)."""
    cleaned = clean_title(str(given or "")) or clean_title(Path(name).stem) or clean_title(name)
    return cleaned or "untitled"


_PEOPLE = (
    select(USER_TABLE.c.username, USER_TABLE.c.full_name, ROLE_TABLE.c.role)
    .join(ROLE_TABLE, ROLE_TABLE.c.user_id == USER_TABLE.c.id)
    .where(USER_TABLE.c.kind == "person", USER_TABLE.c.active.is_(True))
)


def _find_author(intake: Intake, context: IngestContext) -> None:
    """A document draft (an SOP, not a register record) names the person who wrote it: the
    service that files it cannot be its author, or segregation of duties would not hold."""
    if intake.spec.kind != "document":
        return
    named = []
    parts = PurePosixPath(intake.claim.relative).parts
    if len(parts) > 1:
        named.append(parts[0])  # inbox/SOP-DRAFTS/<user name>/draft.docx
    if intake.fields.get("author"):
        named.append(str(intake.fields["author"]))  # sidecar, or the .docx author property
    with context.runtime.engine.connect() as connection:
        rows = connection.execute(_PEOPLE.where(ROLE_TABLE.c.office_id == intake.office.id)).all()
        creators = {
            row.username: row.full_name for row in rows if row.role in intake.spec.creator_roles
        }
        for name in named:
            author = _author_named(connection, name, creators)
            if author is not None:
                intake.author = author  # the stored name, which the filing event carries
                return
    tried = (
        _(" ({items} is no enrolled author here)").format(items=", ".join(map(repr, named)))
        if named
        else ""
    )
    raise StepFailed(
        "find the author",
        _("a {title} draft must name the person who wrote it{tried}").format(
            title=intake.spec.title, tried=tried
        ),
        _(
            "put it in inbox/{code}/{folder}/<your user name>/, or add a "
            'sidecar {name}.json saying {{"author": "<your user name>"}}, '
            "and drop it again"
        ).format(code=intake.office.code, folder=intake.claim.folder, name=intake.claim.path.name),
    )


def _author_named(connection: Connection, name: str, creators: dict[str, str]) -> str | None:
    """The stored name of the one author among ``creators`` (user name → full name) that
    ``name`` means: a user name read as everywhere in the engine (:func:`find_user`: any letter
    case, the exact spelling first), else a full name in any letter case."""
    with suppress(NotFound):
        _user_id, username = find_user(connection, name)
        if username in creators:
            return username
    wanted = name.strip().lower()
    found = [user for user, full in creators.items() if full.strip().lower() == wanted]
    return found[0] if len(found) == 1 else None


def _validate(intake: Intake, context: IngestContext) -> None:
    assert intake.facts is not None
    problems = plugin_problems(
        context.runtime,
        intake.office,
        intake.spec,
        intake.facts,
        intake.title,
        intake.fields,
        dropped=True,
    )
    if problems:
        raise StepFailed(
            "check the entry",
            "; ".join(problems),
            _(
                "correct the entry (or add a <file>.json sidecar with the "
                "missing fields) and drop it again"
            ),
        )


def _signer(connection: Connection, context: IngestContext, office: OfficeRef) -> Actor:
    """The run's signer acting in ``office``, or SignerEnded if it can no longer act there."""
    try:
        actor = load_actor(connection, context.signer, office)
    except PermissionDenied as refused:
        raise SignerEnded(office.code) from refused
    if not actor.roles:
        raise SignerEnded(office.code)
    return actor


def _file_record(intake: Intake, context: IngestContext) -> None:
    _record(intake, context)


def _record(intake: Intake, context: IngestContext) -> None:
    """Commit the record (or the duplicate's note), its signed event and the receipt."""
    assert intake.facts is not None and intake.staged is not None
    runtime, office, claim = context.runtime, intake.office, intake.claim
    source = {"inbox": claim.folder, "file": claim.relative, "claim": claim.id}
    if intake.author:
        source["author"] = intake.author  # they sign for it (qms doc adopt) before it moves on
    try:
        with runtime.unit_of_work() as work:
            work.lock(office)
            actor = _signer(work.connection, context, office)
            role = require_role(
                actor,
                intake.spec.creator_roles,
                office,
                _("file {title} records").format(title=intake.spec.title),
            )
            if intake.duplicate_of is None:
                revision = write_new_document(
                    work,
                    runtime,
                    office,
                    intake.spec,
                    author=actor,
                    role=role,
                    facts=intake.facts,
                    sha256=intake.staged.sha256,
                    title=intake.title,
                    reason=f"Filed from inbox/{claim.folder}/{claim.relative}",
                    fields=intake.fields,
                    source=source,
                )
                intake.number, outcome = revision.number, "filed"
                work.before_commit(intake.staged.commit, undo=partial(forget_blob, runtime))
            else:
                intake.number, outcome = intake.duplicate_of, "duplicate"
                work.append(
                    office,
                    actor,
                    events.DUPLICATE_SET_ASIDE,
                    intake.duplicate_of,
                    {**source, "sha256": intake.sha256},
                    role=role,
                    allowed_roles=intake.spec.creator_roles,
                )
            intake.event_seq = work.events[-1].seq
            work.connection.execute(
                insert(RECEIPT_TABLE),
                {
                    "claim_id": claim.id,
                    "office_id": office.id,
                    "folder": claim.folder,
                    "original_name": claim.relative,
                    "sha256": intake.sha256,
                    "size": intake.facts.size,
                    "outcome": outcome,
                    "number": intake.number,
                    "event_seq": intake.event_seq,
                    "created_at": utc_now(),
                },
            )
    except QmsError as refused:
        advice = refused.hint or "ask the quality coordinator to check the set-up"
        raise StepFailed("file the record", str(refused), advice) from refused
    except OSError as trouble:
        raise Transient(f"storing {claim.relative}: {trouble}") from trouble


DEFAULT_STEPS: tuple[Step, ...] = (
    FunctionStep("check file type", _check_type),
    FunctionStep("store the file", _hash_and_stage),
    FunctionStep("look for duplicates", _find_duplicate),
    FunctionStep("read the document", _read_fields),
    FunctionStep("find the author", _find_author),
    FunctionStep("check the entry", _validate),
    FunctionStep("file the record", _file_record),
)


def build_steps(runtime: Runtime) -> list[Step]:
    """The default steps, with whatever plugins insert (``qms_ingest_steps``)."""
    steps: list[Step] = list(DEFAULT_STEPS)
    runtime.plugins.call("qms_ingest_steps", steps=steps)
    return steps


@dataclass(frozen=True)
class Outcome:
    """What became of one file: filed, duplicate, quarantined, waiting (a passing trouble),
    or left (in the inbox, or claimed, for a run whose signer may still file there)."""

    status: str
    file: str
    """Where it was dropped, below its office's folder: ``GD/scan-0012/page1.pdf``."""
    number: str | None = None
    sha256: str | None = None
    step: str | None = None
    problem: str | None = None
    moved_to: str | None = None
    office: str = ""
    """The office whose inbox it came from (``NO_OFFICE`` for a file outside every one)."""


def _receipt(intake: Intake, context: IngestContext) -> dict[str, object]:
    filed = utc_now()
    return {
        "file": f"{intake.claim.folder}/{intake.claim.relative}",
        "register": intake.spec.code,
        "number": intake.number,
        "sha256": intake.sha256,
        "size": intake.facts.size if intake.facts else None,
        "title": intake.title,
        "fields": intake.fields,
        "event": intake.event_seq,
        "office": intake.office.code,
        "filed_at_utc": to_utc_text(filed),
        "filed_at_local": local_text(filed, intake.office.timezone),
        "signed_by": context.signer.username,
    }


def _today(office: OfficeRef) -> date:
    return local_today(office.timezone)


def process_claim(
    claim: Claim, context: IngestContext, steps: Sequence[Step], *, fresh: bool = False
) -> Outcome:
    """Run a claimed file through the steps and put it where it belongs; never loses it.

    ``fresh``: claimed just now, so it cannot have been filed before (only a claim left by a
    crash or waiting for a retry is first looked up among the receipts).  A database that is
    unreachable (a restart, a dropped connection) is a passing trouble like a busy file: the
    claim waits and is tried again, and the watcher keeps running.
    """
    name = f"{claim.folder}/{claim.relative}"
    intake: Intake | None = None
    try:
        office = office_for(claim, context)
        finished = None if fresh else _already_done(claim, office, context)
        if finished is not None:
            return finished
        intake = Intake(claim, office, register_for(context.runtime, office, claim.folder))
        for step in steps:
            _run(step, intake, context)
            if intake.done:
                break
    except SignerEnded:
        _discard(intake)
        return _leave(claim, context, fresh=fresh)
    except StepFailed as refused:
        _discard(intake)
        moved = context.inbox.quarantine_file(
            claim,
            refused.step,
            refused.problem,
            refused.advice,
            timezone=_zone_of(claim, context),
            wrong_folder=refused.step in (FIND_REGISTER, FIND_OFFICE),
        )
        return Outcome(
            "quarantined",
            name,
            step=refused.step,
            problem=refused.problem,
            moved_to=str(moved),
            office=claim.office,
        )
    except Transient as trouble:
        _discard(intake)
        return Outcome("waiting", name, problem=str(trouble), office=claim.office)
    except DBAPIError as trouble:
        _discard(intake)
        problem = _("the database is unavailable: {orig}").format(orig=trouble.orig)
        return Outcome("waiting", name, problem=problem, office=claim.office)
    return _put_away(intake, context)


def _leave(claim: Claim, context: IngestContext, *, fresh: bool) -> Outcome:
    """The signer was refused in the claim's office: the run stops serving every office where
    it can no longer file, and a claim of such an office goes back to the inbox (one taken
    just now), or stays claimed for the next run to finish (one left by a crash or waiting
    for a retry, which may have been filed already).  Refused but fine again at once (a
    database that cannot be asked, a role granted back): a passing trouble."""
    name = f"{claim.folder}/{claim.relative}"
    context.check_signer()
    ended = context.ended.get(claim.office)
    if ended is None:
        problem = _("{username} was refused in {office}; trying again").format(
            username=repr(context.signer.username), office=claim.office
        )
        return Outcome("waiting", name, problem=problem, office=claim.office)
    moved = claim.path
    if fresh:
        with suppress(OSError):  # the inbox refusing it back: it stays claimed, for the next run
            moved = context.inbox.release(claim)
    return Outcome("left", name, problem=ended.problem, moved_to=str(moved), office=claim.office)


def _zone_of(claim: Claim, context: IngestContext) -> str:
    """The time zone of the claim's office (the workspace's office for a file of none)."""
    office = context.offices.get(claim.office)
    return office.timezone if office is not None else context.home_zone


def office_for(claim: Claim, context: IngestContext) -> OfficeRef:
    """The office whose chain a claimed file is filed in: the one whose folder it was in
    (SignerEnded for an office the run stopped serving: its files are no one's to refuse)."""
    office = context.offices.get(claim.office)
    if office is not None:
        return office
    if claim.office in context.ended:
        raise SignerEnded(claim.office)
    codes = ", ".join(context.inbox.offices)
    where = (
        "it was dropped straight into inbox/"
        if claim.folder == UNSORTED
        else _("inbox/{folder}/ is no office of this workspace").format(folder=claim.folder)
    )
    raise StepFailed(
        FIND_OFFICE,
        _("{where} (offices: {codes})").format(where=where, codes=codes),
        _(
            "move it into its office's register folder, "
            "inbox/<OFFICE>/<REGISTER>/ (`qms inbox status` lists them)"
        ),
    )


def _run(step: Step, intake: Intake, context: IngestContext) -> None:
    """One step; a bug in a step (or a plugin's) quarantines this file, not the whole inbox."""
    try:
        step.run(intake, context)
    except (StepFailed, Transient, DBAPIError, SignerEnded):
        raise
    except Exception as error:
        raise StepFailed(
            step.name,
            _("unexpected error: {error}").format(error=repr(error)),
            _(
                "tell the system administrator (the error is in "
                "logs/ingest.jsonl); once fixed, run `qms inbox retry`"
            ),
        ) from error


def _discard(intake: Intake | None) -> None:
    if intake is not None and intake.staged is not None:
        intake.staged.discard()


def _put_away(intake: Intake, context: IngestContext) -> Outcome:
    name, office = f"{intake.claim.folder}/{intake.claim.relative}", intake.office.code
    sha = intake.sha256
    try:
        if intake.duplicate_of is not None:
            moved = context.inbox.set_aside(
                intake.claim,
                _(
                    "Identical to {duplicate_of}, already filed in {title}; this "
                    "copy was not filed again (SHA-256 {sha})."
                ).format(duplicate_of=intake.duplicate_of, title=intake.spec.title, sha=sha),
                _today(intake.office),
            )
            return Outcome(
                "duplicate", name, intake.duplicate_of, sha, moved_to=str(moved), office=office
            )
        moved = context.inbox.file_away(
            intake.claim, _receipt(intake, context), _today(intake.office)
        )
    except OSError as trouble:  # filed; only the move is pending: finished on the next pass
        problem = _("moving the original: {trouble}").format(trouble=trouble)
        return Outcome("waiting", name, intake.number, sha, problem=problem, office=office)
    return Outcome("filed", name, intake.number, sha, moved_to=str(moved), office=office)


def register_for(runtime: Runtime, office: OfficeRef, folder: str) -> DocumentTypeSpec:
    office_type = runtime.plugins.registry.office_type(office.office_type)
    for spec in office_type.document_types:
        if spec.inbox_folder == folder:
            return spec
    known = ", ".join(s.inbox_folder for s in office_type.document_types if s.inbox_folder)
    raise StepFailed(
        FIND_REGISTER,
        _("inbox/{code}/{folder}/ is not a register folder").format(
            code=office.code, folder=folder
        ),
        _("drop the file into one of inbox/{code}/: {known}").format(code=office.code, known=known),
    )


_FILED_AS = (
    select(REVISION_TABLE.c.title, REVISION_TABLE.c.fields)
    .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
    .where(REVISION_TABLE.c.revno == 0)
)


def _already_done(claim: Claim, office: OfficeRef, context: IngestContext) -> Outcome | None:
    """After a crash: a claim whose record was already committed is only moved on (its
    receipt rebuilt from the record itself)."""
    with context.runtime.engine.connect() as connection:
        row = connection.execute(
            select(RECEIPT_TABLE).where(RECEIPT_TABLE.c.claim_id == claim.id)
        ).first()
        if row is None:
            return None
        filed = connection.execute(_FILED_AS.where(DOCUMENT_TABLE.c.number == row.number)).first()
    spec = register_for(context.runtime, office, claim.folder)
    intake = Intake(
        claim,
        office,
        spec,
        sha256=row.sha256,
        number=row.number,
        event_seq=row.event_seq,
        title=filed.title if filed else title_for(None, claim.relative),
        fields=json.loads(filed.fields) if filed and row.outcome == "filed" else {},
        duplicate_of=row.number if row.outcome == "duplicate" else None,
    )
    intake.facts = FileFacts(claim.path, claim.path.name, claim.path.suffix, "", row.size)
    return _put_away(intake, context)
