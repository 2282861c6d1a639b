"""Document control (ISO 9001 clause 7.5.3): new documents, revisions, corrected drafts, and
exact retrieval.

A new revision (or a draft's corrected file) is checked completely (file, type, plugin
validators) before anything is written; its bytes are staged in the blob store, the rows and
events are written in one transaction, and the blob is made visible just before the commit.  A
failure anywhere leaves no rows and no blob.  A file once stored is never removed: a draft's
replaced file stays in the store, named by the history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, bindparam, func, insert, select, update

from document_store import BlobInfo
from qms_engine.chain import events
from qms_engine.chain.canonical import canonical_text
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import from_utc_text, utc_now
from qms_engine.documents.handout import check_destination, stream_verified, write_verified
from qms_engine.documents.register_entries import (
    ENTRY,
    next_entry,
    record_entry,
    required_field_problems,
    rules_in_force,
)
from qms_engine.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from qms_engine.files import FileFacts, inspect_file
from qms_engine.i18n import _
from qms_engine.people.document_types import document_type_id
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.people.workflow_registrations import require_registered
from qms_engine.registry.hook_values import Submission
from qms_engine.registry.office_types import DocumentTypeSpec
from qms_engine.rules.text import is_blank
from qms_engine.rules.workflows import WorkflowDefinition
from qms_engine.runtime import Runtime
from qms_engine.search.index import index_revision
from qms_engine.storage.database import Prepared
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    EVENT_TABLE,
    OFFICE_TABLE,
    REVISION_TABLE,
    STATE_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)

MAX_TITLE = 300


@dataclass(frozen=True)
class DocumentRef:
    """A document as the write paths need it: identity, office, type and workflow."""

    id: int
    number: str
    office: OfficeRef
    type_code: str
    workflow: str
    review_period_days: int | None


@dataclass(frozen=True)
class RevisionRef:
    """A revision that was written or read: document number, revision number, hash, state."""

    number: str
    revno: int
    sha256: str
    size: int
    state: str
    title: str


_DOCUMENT = Prepared(
    select(
        DOCUMENT_TABLE.c.id,
        DOCUMENT_TABLE.c.number,
        TYPE_TABLE.c.code,
        TYPE_TABLE.c.workflow,
        TYPE_TABLE.c.review_period_days,
        OFFICE_TABLE.c.id,
        OFFICE_TABLE.c.code,
        OFFICE_TABLE.c.name,
        OFFICE_TABLE.c.office_type,
        OFFICE_TABLE.c.timezone,
    )
    .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
    .join(OFFICE_TABLE, OFFICE_TABLE.c.id == DOCUMENT_TABLE.c.office_id)
    .where(DOCUMENT_TABLE.c.number == bindparam("number"))
)


def load_document(connection: Connection, number: str) -> DocumentRef:
    """The document ``number`` with its office and type, or a clear NotFound."""
    rows = _DOCUMENT.rows(connection, number=number)
    if not rows:
        raise NotFound(
            _("no document numbered {number}").format(number=repr(number)),
            hint=_("see `qms doc list`"),
        )
    doc_id, doc_number, type_code, workflow, review_days, *office = rows[0]
    return DocumentRef(doc_id, doc_number, OfficeRef(*office), type_code, workflow, review_days)


def spelt_number(connection: Connection, number: str) -> str:
    """``number`` (typed in any letter case) as the document it names spells it, or as given
    (stripped) when it names none: ``ps-kot39/sop/001`` → ``PS-KOT39/SOP/001``."""
    given = number.strip()
    spellings = connection.execute(
        select(DOCUMENT_TABLE.c.number).where(func.lower(DOCUMENT_TABLE.c.number) == given.lower())
    ).scalars()
    found = sorted(spellings, key=lambda spelt: spelt != given)  # the exact one first
    return found[0] if found else given


def _spec(runtime: Runtime, office: OfficeRef, type_code: str) -> DocumentTypeSpec:
    return runtime.plugins.registry.office_type(office.office_type).document_type(type_code)


def _check_text(title: str, reason: str) -> None:
    if is_blank(title):
        raise RuleViolation(_("the title is empty"), hint=_("give --title"))
    if len(title) > MAX_TITLE:
        raise RuleViolation(
            _("the title is {count} characters; at most {max_title} are allowed").format(
                count=len(title), max_title=MAX_TITLE
            )
        )
    if not reason.strip():
        raise RuleViolation(_("the reason for the change is empty"), hint=_("give --reason"))


def forget_blob(runtime: Runtime, published: BlobInfo) -> None:
    """Undo publishing a blob whose transaction failed: unless it existed before, or another
    committed record names it meanwhile, it goes, so a failure leaves no blob behind."""
    if not published.created:
        return
    with runtime.engine.connect() as connection:
        named = connection.execute(
            select(REVISION_TABLE.c.id).where(REVISION_TABLE.c.sha256 == published.sha256).limit(1)
        ).first()
    if named is None:
        runtime.store.remove(published.sha256)


def check_submission(
    runtime: Runtime,
    office: OfficeRef,
    spec: DocumentTypeSpec,
    path: Path,
    title: str,
    fields: Mapping[str, Any],
) -> FileFacts:
    """The engine's file checks, then every plugin's validators; refuses with all problems."""
    facts = inspect_file(path, spec.allowed_extensions, _(spec.title))
    problems = plugin_problems(runtime, office, spec, facts, title, fields)
    if problems:
        raise RuleViolation("; ".join(problems))
    return facts


def plugin_problems(
    runtime: Runtime,
    office: OfficeRef,
    spec: DocumentTypeSpec,
    facts: FileFacts,
    title: str,
    fields: Mapping[str, Any],
    *,
    dropped: bool = False,
) -> list[str]:
    """What is wrong with a new revision or record (empty: nothing): the type's required
    fields first (the engine's rule, checked again by the verifier; ``dropped``: a file from
    the inbox, told where to write a missing one), then what the office's plugins object to."""
    required = required_field_problems(spec, fields, facts.name, dropped=dropped)
    submission = Submission(
        office.code,
        office.office_type,
        spec,
        facts.path,
        facts.name,
        facts.media_type,
        facts.size,
        title,
        dict(fields),
    )
    return required + [
        problem
        for result in runtime.plugins.call("qms_validate_submission", submission=submission)
        for problem in result or ()
    ]


def _write_revision(
    work: UnitOfWork,
    runtime: Runtime,
    document: DocumentRef,
    *,
    revno: int,
    facts: FileFacts,
    sha256: str,
    title: str,
    reason: str,
    fields: Mapping[str, Any],
    author: Actor,
    role: str,
    source: Mapping[str, Any] | None = None,
) -> RevisionRef:
    require_registered(
        work.connection,
        document.office,
        document.workflow,
        runtime.plugins.workflow_digest(document.workflow),
    )
    now = utc_now()
    initial = runtime.plugins.workflows[document.workflow].initial
    revision_id = work.connection.execute(
        insert(REVISION_TABLE).returning(REVISION_TABLE.c.id),
        {
            "document_id": document.id,
            "revno": revno,
            "sha256": sha256,
            "size": facts.size,
            "media_type": facts.media_type,
            "original_filename": facts.name,
            "title": title,
            "change_reason": reason,
            "fields": canonical_text(dict(fields)),
            "author_id": author.id,
            "created_at": now,
        },
    ).scalar_one()
    work.connection.execute(
        insert(STATE_TABLE),
        {
            "revision_id": revision_id,
            "workflow": document.workflow,
            "state": initial,
            "entered_at": now,
        },
    )
    index_revision(work.connection, revision_id, facts.path)
    work.append(
        document.office,
        author,
        events.RECORD_FILED if source else events.REVISION_CREATED,
        f"{document.number}#{revno}",
        {
            "sha256": sha256,
            "size": facts.size,
            "media_type": facts.media_type,
            "original_filename": facts.name,
            "title": title,
            "reason": reason,
            "fields": dict(fields),
            "state": initial,
            **({"source": dict(source)} if source else {}),
        },
        role=role,
        allowed_roles=_spec(runtime, document.office, document.type_code).creator_roles,
    )
    return RevisionRef(document.number, revno, sha256, facts.size, initial, title)


def create_document(
    runtime: Runtime,
    office: OfficeRef,
    *,
    actor: Signer,
    type_code: str,
    title: str,
    path: Path,
    reason: str = "Initial issue",
    fields: Mapping[str, Any] | None = None,
    allow_duplicate: bool = False,
    kind: str = ENTRY,
    corrects: str | None = None,
) -> RevisionRef:
    """A new document (or register record) numbered by its type's scheme, at revision 0.

    Content already filed under the same type in the office is refused, naming the record it
    repeats, unless ``allow_duplicate`` (the inbox sets such files aside the same way).
    ``kind`` and ``corrects``: a register entry's place in its day book and the earlier entry
    it corrects (see :func:`write_new_document`)."""
    fields = dict(fields or {})
    _check_text(title, reason)
    spec = _spec(runtime, office, type_code)
    facts = check_submission(runtime, office, spec, path, title, fields)
    with (
        path.open("rb") as handle,
        runtime.store.stage(handle) as staged,
        runtime.unit_of_work() as work,
    ):
        work.lock(office)
        author = load_actor(work.connection, actor, office)
        _person_writes_documents(author, spec)
        role = require_role(
            author,
            spec.creator_roles,
            office,
            _("create {title} records").format(title=_(spec.title)),
        )
        if not allow_duplicate:
            _refuse_duplicate(
                work.connection, office, spec, staged.sha256, path, runtime.plugins.workflows
            )
        revision = write_new_document(
            work,
            runtime,
            office,
            spec,
            author=author,
            role=role,
            facts=facts,
            sha256=staged.sha256,
            title=title,
            reason=reason,
            fields=fields,
            kind=kind,
            corrects=corrects,
        )
        work.before_commit(staged.commit, undo=partial(forget_blob, runtime))
    return revision


_SAME_CONTENT = Prepared(
    select(
        DOCUMENT_TABLE.c.number,
        REVISION_TABLE.c.revno,
        STATE_TABLE.c.state,
        STATE_TABLE.c.workflow,
    )
    .join(REVISION_TABLE, REVISION_TABLE.c.document_id == DOCUMENT_TABLE.c.id)
    .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
    .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
    .where(
        DOCUMENT_TABLE.c.office_id == bindparam("office_id"),
        TYPE_TABLE.c.code == bindparam("type_code"),
        REVISION_TABLE.c.sha256 == bindparam("sha256"),
    )
    .order_by(DOCUMENT_TABLE.c.id, REVISION_TABLE.c.revno)
)


@dataclass(frozen=True)
class FiledCopy:
    """A revision already filed with the content of a file about to be filed."""

    number: str
    revno: int
    state: str


def never_went_ahead(workflow: WorkflowDefinition) -> frozenset[str]:
    """The terminal states a revision reaches from the initial state without ever being in
    force (``discarded``): what it holds was never part of the office's record.  None in a
    workflow without an in-force state (register records count from their filing)."""
    if workflow.in_force_state is None:
        return frozenset()
    reached: set[str] = set()
    pending = [workflow.initial]
    while pending:
        here = pending.pop()
        if here not in reached and here != workflow.in_force_state:
            reached.add(here)
            pending += [step.target for step in workflow.transitions_from(here)]
    return frozenset(state for state in reached if workflow.states[state].terminal)


def filed_copy(
    connection: Connection,
    office: OfficeRef,
    type_code: str,
    sha256: str,
    workflows: Mapping[str, WorkflowDefinition],
) -> FiledCopy | None:
    """The first revision of a ``type_code`` record of ``office`` whose file is ``sha256``:
    what a file about to be filed repeats (``doc new`` refuses it, the inbox sets it aside).
    A revision that never went ahead (a discarded draft, see :func:`never_went_ahead`) is no
    record, and its content no duplicate."""
    rows = _SAME_CONTENT.rows(connection, office_id=office.id, type_code=type_code, sha256=sha256)
    for number, revno, state, workflow in rows:
        if state not in never_went_ahead(workflows[workflow]):
            return FiledCopy(number, revno, state)
    return None


def _refuse_duplicate(
    connection: Connection,
    office: OfficeRef,
    spec: DocumentTypeSpec,
    sha256: str,
    path: Path,
    workflows: Mapping[str, WorkflowDefinition],
) -> None:
    """A file whose content is already filed under ``spec`` in ``office`` is not filed again
    by mistake: the refusal names the record it repeats."""
    copy = filed_copy(connection, office, spec.code, sha256, workflows)
    if copy is not None:
        raise RuleViolation(
            _(
                "{name} repeats {number} revision {revno} ({state}): the same "
                "content is already filed as a {title}"
            ).format(
                name=path.name,
                number=copy.number,
                revno=copy.revno,
                state=copy.state,
                title=_(spec.title),
            ),
            hint=_("to file it again all the same, add --allow-duplicate"),
        )


def write_new_document(
    work: UnitOfWork,
    runtime: Runtime,
    office: OfficeRef,
    spec: DocumentTypeSpec,
    *,
    author: Actor,
    role: str,
    facts: FileFacts,
    sha256: str,
    title: str,
    reason: str,
    fields: Mapping[str, Any],
    source: Mapping[str, Any] | None = None,
    kind: str = ENTRY,
    corrects: str | None = None,
) -> RevisionRef:
    """Number and insert a document with its revision 0 and events, inside ``work``.

    The caller has checked the file and the author's role, and stages the blob.  ``source``
    (where an ingested file came from) makes the revision's event ``document.revision.filed``.
    A register's rules (:mod:`.register_entries`) number it in its period and place it in its
    day book (``kind``: opening, entry or closing) and link the entry it ``corrects``, by the
    rules the office's chain recorded (required fields checked again under the lock), on the
    local day of the time its events are stamped with.
    """
    if source is not None:
        _files_a_draft_for_its_author(author, spec, source)
    type_id = document_type_id(work, office, spec, by=author, role=role)
    spec = rules_in_force(work.connection, office, spec)
    required = required_field_problems(spec, fields, facts.name)
    if required:
        raise RuleViolation("; ".join(required))
    now = from_utc_text(work.time(office))
    entry = next_entry(
        work.connection,
        office,
        spec,
        type_id,
        now=now,
        entry=kind,
        corrects=corrects,
        fields=fields,
    )
    number = spec.format_number(office.code, entry.serial, entry.year, entry.numbered_day)
    document_id = work.connection.execute(
        insert(DOCUMENT_TABLE).returning(DOCUMENT_TABLE.c.id),
        {
            "office_id": office.id,
            "document_type_id": type_id,
            "serial_year": entry.period_key,
            "serial": entry.serial,
            "number": number,
            "title": title,
            "created_at": now,
        },
    ).scalar_one()
    if spec.register_rules:
        record_entry(work.connection, document_id, entry)
    work.append(
        office,
        author,
        events.DOCUMENT_CREATED,
        number,
        {
            "type": spec.code,
            "title": title,
            "serial": entry.serial,
            **(entry.payload() if spec.register_rules else {}),
        },
        role=role,
        allowed_roles=spec.creator_roles,
    )
    document = DocumentRef(
        document_id, number, office, spec.code, spec.workflow, spec.review_period_days
    )
    return _write_revision(
        work,
        runtime,
        document,
        revno=0,
        facts=facts,
        sha256=sha256,
        title=title,
        reason=reason,
        fields=fields,
        author=author,
        role=role,
        source=source,
    )


def revise_document(
    runtime: Runtime,
    *,
    actor: Signer,
    number: str,
    path: Path,
    reason: str,
    title: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> RevisionRef:
    """A new draft revision of a document; refused while another revision is still open."""
    fields = dict(fields or {})
    with runtime.engine.connect() as connection:
        document = load_document(connection, number)
        latest = connection.execute(
            select(REVISION_TABLE.c.title)
            .where(REVISION_TABLE.c.document_id == document.id)
            .order_by(REVISION_TABLE.c.revno.desc())
            .limit(1)
        ).scalar_one()
    spec = _spec(runtime, document.office, document.type_code)
    if spec.append_only:
        raise RuleViolation(
            _("{number}: {title} records are append-only and are never revised").format(
                number=number, title=_(spec.title)
            ),
            hint=_("file a new record that refers to this one (a correction entry)"),
        )
    title = title or latest
    _check_text(title, reason)
    facts = check_submission(runtime, document.office, spec, path, title, fields)
    open_states = runtime.plugins.workflows[document.workflow].open_states()
    with (
        path.open("rb") as handle,
        runtime.store.stage(handle) as staged,
        runtime.unit_of_work() as work,
    ):
        work.lock(document.office)
        author = load_actor(work.connection, actor, document.office)
        _person_writes_documents(author, spec)
        role = require_role(
            author,
            spec.creator_roles,
            document.office,
            _("revise {title}s").format(title=_(spec.title)),
        )
        revisions = revision_rows(work.connection, document)
        for row in revisions:
            if row.state in open_states:
                raise RuleViolation(
                    _("{number} already has an open revision {revno} ({state})").format(
                        number=number, revno=row.revno, state=row.state
                    ),
                    hint=_("finish or reject it before starting another revision"),
                )
            if row.sha256 == staged.sha256:
                raise RuleViolation(
                    _("{name} is identical to revision {revno} of {number}").format(
                        name=path.name, revno=row.revno, number=number
                    ),
                    hint=_("a revision must change the document"),
                )
        revision = _write_revision(
            work,
            runtime,
            document,
            revno=1 + max(row.revno for row in revisions),
            facts=facts,
            sha256=staged.sha256,
            title=title,
            reason=reason,
            fields=fields,
            author=author,
            role=role,
        )
        work.before_commit(staged.commit, undo=partial(forget_blob, runtime))
    return revision


def _person_writes_documents(author: Actor, spec: DocumentTypeSpec) -> None:
    """A service account (the inbox) never authors a controlled document directly: it files
    drafts only through the inbox, naming the person who wrote them."""
    if author.kind == "service" and spec.kind == "document":
        raise PermissionDenied(
            _(
                "{username} is a service: it files {title} drafts only through "
                "the inbox, naming their author"
            ).format(username=repr(author.username), title=_(spec.title))
        )


def _files_a_draft_for_its_author(
    filer: Actor, spec: DocumentTypeSpec, source: Mapping[str, Any]
) -> None:
    """A document draft from the inbox is filed by the inbox service, naming another person
    as its author, who signs for it before it moves on: the verifier holds every such filing
    (``source.author``) to that, whoever filed it (docs/audit-bundle.md §7)."""
    if spec.kind != "document":
        return
    named = source.get("author")
    if filer.kind != "service":
        raise PermissionDenied(
            _(
                "{username} is no service: {title} drafts are filed from the "
                "inbox by the inbox service only"
            ).format(username=repr(filer.username), title=_(spec.title)),
            hint=_(
                "file your own draft with `qms doc new`, or run the watcher as the inbox service"
            ),
        )
    if not named or named == filer.username:
        raise PermissionDenied(
            _(
                "a {title} draft filed from the inbox must name its author, "
                "someone other than {username}"
            ).format(title=_(spec.title), username=repr(filer.username))
        )


def adopt_revision(runtime: Runtime, *, number: str, actor: Signer) -> RevisionRef:
    """The human author signs for the newest revision of ``number``, a draft the inbox service
    filed naming them: only then may it be submitted, and segregation of duties holds them as
    its author (they cannot approve it)."""
    with runtime.unit_of_work() as work:
        connection = work.connection
        document = load_document(connection, number)
        work.lock(document.office)
        user = load_actor(connection, actor, document.office)
        spec = _spec(runtime, document.office, document.type_code)
        role = require_role(
            user,
            spec.creator_roles,
            document.office,
            _("author {title}s").format(title=_(spec.title)),
        )
        row = revision_rows(connection, document)[-1]  # the newest
        subject = f"{number}#{row.revno}"
        if row.author_kind != "service":
            raise RuleViolation(_("{subject} already has its human author").format(subject=subject))
        named = named_author(connection, document.office, subject)
        if named != user.username:
            raise PermissionDenied(
                _(
                    "{subject} was filed naming {named} as its author: only they may sign for it"
                ).format(subject=subject, named=repr(named))
            )
        if user.id == row.author_id:
            raise PermissionDenied(
                _("{subject} was filed by {named}, who cannot also author it").format(
                    subject=subject, named=repr(named)
                )
            )
        connection.execute(
            update(REVISION_TABLE).where(REVISION_TABLE.c.id == row.id).values(author_id=user.id)
        )
        work.append(
            document.office,
            user,
            events.REVISION_ADOPTED,
            subject,
            {"author": user.username},
            role=role,
            allowed_roles=spec.creator_roles,
        )
    return RevisionRef(number, row.revno, row.sha256, row.size, row.state, row.title)


def awaits_adoption(author_kind: str, kind: str) -> bool:
    """Whether a revision written by a user of ``author_kind`` is a draft the inbox filed for
    its human author, which nobody may move on before that person adopts it."""
    return author_kind == "service" and kind == "document"


def named_author(connection: Connection, office: OfficeRef, subject: str) -> str | None:
    """The human author a revision filed from the inbox names (in its signed filing event)."""
    payload = connection.execute(
        select(EVENT_TABLE.c.payload).where(
            EVENT_TABLE.c.office_id == office.id,
            EVENT_TABLE.c.subject == subject,
            EVENT_TABLE.c.action == events.RECORD_FILED.action,
        )
    ).scalar()
    source = json.loads(payload).get("source", {}) if payload else {}
    return source.get("author") if isinstance(source, dict) else None


_REVISION_ROWS = Prepared(
    select(
        REVISION_TABLE.c.id,
        REVISION_TABLE.c.revno,
        REVISION_TABLE.c.author_id,
        REVISION_TABLE.c.sha256,
        REVISION_TABLE.c.size,
        STATE_TABLE.c.state,
        USER_TABLE.c.kind,
        REVISION_TABLE.c.title,
        REVISION_TABLE.c.fields,
    )
    .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
    .join(USER_TABLE, USER_TABLE.c.id == REVISION_TABLE.c.author_id)
    .where(REVISION_TABLE.c.document_id == bindparam("document_id"))
    .order_by(REVISION_TABLE.c.revno)
)


@dataclass(frozen=True)
class RevisionRow:
    """A revision as the write paths check it (and ``doc get`` picks it): its author, file
    and state."""

    id: int
    revno: int
    author_id: int
    sha256: str
    size: int
    state: str
    author_kind: str
    title: str
    fields: str
    """Canonical JSON text."""


def revision_rows(connection: Connection, document: DocumentRef) -> list[RevisionRow]:
    """Every revision of ``document``, oldest first."""
    return [RevisionRow(*row) for row in _REVISION_ROWS.rows(connection, document_id=document.id)]


def _draft_to_replace(
    runtime: Runtime, document: DocumentRef, drafts: list[RevisionRow], revno: int | None
) -> RevisionRow:
    """The revision whose file may be replaced: the one in its workflow's initial state."""
    workflow = runtime.plugins.workflows[document.workflow]
    initial = workflow.initial
    chosen = [d for d in drafts if (d.revno == revno if revno is not None else d.state == initial)]
    if revno is not None and not chosen:
        known = ", ".join(str(d.revno) for d in drafts)
        raise NotFound(
            _("{number} has no revision {revno} (revisions: {known})").format(
                number=document.number, revno=revno, known=known
            )
        )
    if len(chosen) > 1:
        raise RuleViolation(
            _("{number}: revisions {value} are all {initial}").format(
                number=document.number, value=[d.revno for d in chosen], initial=initial
            ),
            hint=_("choose one with --rev N"),
        )
    if chosen and chosen[0].state == initial:
        return chosen[0]
    described = ", ".join(f"revision {d.revno} is {d.state}" for d in chosen or drafts)
    back = sorted(
        {t.name for d in chosen or drafts for t in workflow.transitions_from(d.state)}
        & {t.name for t in workflow.transitions.values() if t.target == initial}
    )
    raise RuleViolation(
        _(
            "{number}: only a revision in {initial} can have its file replaced, but {described}"
        ).format(number=document.number, initial=initial, described=described),
        hint=_("it must first be returned to {initial} ({back})").format(
            initial=initial, back=", ".join(back)
        )
        if back
        else _("start a new revision instead: qms doc revise {number} FILE").format(
            number=document.number
        ),
    )


def replace_revision_file(
    runtime: Runtime,
    *,
    actor: Signer,
    number: str,
    path: Path,
    reason: str,
    revno: int | None = None,
) -> RevisionRef:
    """Put a corrected file in place of the draft revision of ``number``, as its author.

    So a draft returned for correction is corrected in place (same revision number) instead of
    being resubmitted unchanged.  Only the revision's author (its creator, or who adopted it),
    only while it is in its workflow's initial state, never a register record (filed once, as
    it was received); the file passes the checks a new revision's does, and must differ from
    every revision's file.  The signed ``document.revision.replaced`` names the new file and
    the old one, which stays in the blob store.
    """
    if not reason.strip():
        raise RuleViolation(_("the reason for the replacement is empty"), hint=_("give --reason"))
    with runtime.engine.connect() as connection:
        document = load_document(connection, number)
        drafts = revision_rows(connection, document)
    spec = _spec(runtime, document.office, document.type_code)
    if spec.kind == "register" or spec.append_only:
        raise RuleViolation(
            _("{number}: {title} records are filed once and never replaced").format(
                number=number, title=_(spec.title)
            ),
            hint=_("file a new record that refers to this one (a correction entry)"),
        )
    draft = _draft_to_replace(runtime, document, drafts, revno)
    subject = f"{number}#{draft.revno}"
    facts = check_submission(
        runtime, document.office, spec, path, draft.title, json.loads(draft.fields)
    )
    with (
        path.open("rb") as handle,
        runtime.store.stage(handle) as staged,
        runtime.unit_of_work() as work,
    ):
        work.lock(document.office)
        author = load_actor(work.connection, actor, document.office)
        drafts = revision_rows(work.connection, document)
        draft = _draft_to_replace(runtime, document, drafts, draft.revno)  # still a draft?
        if awaits_adoption(draft.author_kind, spec.kind):
            raise RuleViolation(
                _(
                    "{subject} was filed from the inbox: the author it names must first sign for it"
                ).format(subject=subject),
                hint=_("qms doc adopt {number} --as AUTHOR").format(number=number),
            )
        if draft.author_id != author.id:
            raise PermissionDenied(
                _("only the author of {subject} may replace its file, not {username}").format(
                    subject=subject, username=repr(author.username)
                )
            )
        role = require_role(
            author,
            spec.creator_roles,
            document.office,
            _("replace {title} drafts").format(title=_(spec.title)),
        )
        for other in drafts:
            if other.sha256 == staged.sha256 and other.id == draft.id:
                raise RuleViolation(
                    _("{name} is the file {subject} has already").format(
                        name=path.name, subject=subject
                    ),
                    hint=_("a replacement must change the file"),
                )
            if other.sha256 == staged.sha256:
                raise RuleViolation(
                    _(
                        "{name} is identical to revision {revno} of {number} ({state}): "
                        "every revision has a file of its own"
                    ).format(name=path.name, revno=other.revno, number=number, state=other.state),
                    hint=_("change it from revision {revno}'s before putting it in place").format(
                        revno=other.revno
                    ),
                )
        work.connection.execute(
            update(REVISION_TABLE)
            .where(REVISION_TABLE.c.id == draft.id)
            .values(
                sha256=staged.sha256,
                size=facts.size,
                media_type=facts.media_type,
                original_filename=facts.name,
            )
        )
        index_revision(work.connection, draft.id, facts.path)
        work.append(
            document.office,
            author,
            events.REVISION_REPLACED,
            subject,
            {
                "sha256": staged.sha256,
                "size": facts.size,
                "media_type": facts.media_type,
                "original_filename": facts.name,
                "previous_sha256": draft.sha256,
                "reason": reason,
            },
            role=role,
            allowed_roles=spec.creator_roles,
        )
        work.before_commit(staged.commit, undo=partial(forget_blob, runtime))
    return RevisionRef(number, draft.revno, staged.sha256, facts.size, draft.state, draft.title)


@dataclass(frozen=True)
class RevisionFile:
    """A file a revision has had: the one it was created (filed) with, or one its author put
    in place of the one before (``qms doc replace``), as the signed chain records it."""

    revno: int
    sha256: str
    size: int
    original_filename: str
    recorded_at: datetime
    """When it was filed or put in place (UTC)."""
    by: str
    reason: str
    seq: int
    """The event that brought it."""


def revision_files(connection: Connection, document: DocumentRef) -> dict[int, list[RevisionFile]]:
    """Every file each revision of ``document`` has had, oldest first, by revision number:
    read from the events that name them, so a draft's replaced files are all there."""
    rows = connection.execute(
        select(
            EVENT_TABLE.c.subject,
            EVENT_TABLE.c.payload,
            EVENT_TABLE.c.recorded_at,
            EVENT_TABLE.c.actor,
            EVENT_TABLE.c.seq,
        )
        .where(
            EVENT_TABLE.c.office_id == document.office.id,
            EVENT_TABLE.c.subject.startswith(f"{document.number}#", autoescape=True),
            EVENT_TABLE.c.action.in_(sorted(events.CONTENT_KINDS)),
        )
        .order_by(EVENT_TABLE.c.seq)
    ).all()
    files: dict[int, list[RevisionFile]] = {}
    for subject, payload, recorded_at, actor, seq in rows:
        data = json.loads(payload)
        revno = int(subject.rpartition("#")[2])
        files.setdefault(revno, []).append(
            RevisionFile(
                revno,
                data["sha256"],
                data["size"],
                data["original_filename"],
                from_utc_text(recorded_at),
                actor,
                data.get("reason", ""),
                seq,
            )
        )
    return files


@dataclass(frozen=True)
class ExportedRevision(RevisionRef):
    """A revision handed out by :func:`export_revision`.

    ``current``: it is the one staff should use — the revision in force, or, in a workflow
    with no in-force state (register records, filed once), the newest (a record's only) one.
    """

    current: bool
    replaced: bool = False
    """The file handed out is one the revision had before its author replaced it (``file``)."""


MIN_FILE_PREFIX = 6
"""Hex digits of a SHA-256 that ``qms doc get --file`` needs, so that a prefix is meant."""


def _earlier_file(
    connection: Connection, document: DocumentRef, rows: list[RevisionRow], prefix: str
) -> tuple[RevisionRow, RevisionFile]:
    """The file (of any revision of ``document``, or the one revision in ``rows``) whose
    SHA-256 starts with ``prefix``: the revision it belongs to, and the file."""
    wanted = prefix.strip().lower()
    if len(wanted) < MIN_FILE_PREFIX or not all(c in "0123456789abcdef" for c in wanted):
        raise InvalidInput(
            _(
                "--file {prefix} is not the start of a SHA-256: give at least "
                "{min_file_prefix} hex digits"
            ).format(prefix=repr(prefix), min_file_prefix=MIN_FILE_PREFIX),
            hint=_("`qms doc show {number}` lists each revision's files").format(
                number=document.number
            ),
        )
    revisions = {row.revno: row for row in rows}
    files = revision_files(connection, document)
    found = {
        (file.revno, file.sha256): file
        for revno in revisions
        for file in files.get(revno, [])
        if file.sha256.startswith(wanted)
    }
    if not found:
        known = ", ".join(
            f"{file.sha256[:12]} (revision {file.revno})"
            for revno in revisions
            for file in files.get(revno, [])
        )
        raise NotFound(
            _("{number} has no file {prefix} (files: {value})").format(
                number=document.number, prefix=repr(prefix), value=known or _("none")
            )
        )
    if len(found) > 1:
        raise InvalidInput(
            _("--file {prefix} starts more than one file of {number}: ").format(
                prefix=repr(prefix), number=document.number
            )
            + ", ".join(f"{sha[:16]} (revision {revno})" for revno, sha in sorted(found)),
            hint=_("give more of its digits"),
        )
    (revno, _sha256), file = next(iter(found.items()))
    return revisions[revno], file


def _handed_out(
    runtime: Runtime, number: str, revno: int | None, file: str | None
) -> tuple[ExportedRevision, str]:
    """What ``doc get`` hands out, and the number and revision to name in its errors."""
    with runtime.engine.connect() as connection:
        document = load_document(connection, number)
        every = revision_rows(connection, document)
        in_force = runtime.plugins.in_force_states().get(document.workflow)
        current = [row for row in every if row.state == in_force] if in_force else every[-1:]
        rows = [row for row in every if revno is None or row.revno == revno]
        if not rows:
            known = ", ".join(str(row.revno) for row in every)
            raise NotFound(
                _("{number} has no revision {revno} (revisions: {known})").format(
                    number=number, revno=revno, known=known
                )
            )
        if file is not None:
            row, earlier = _earlier_file(connection, document, rows, file)
            sha256, size = earlier.sha256, earlier.size
        elif revno is None and not current:
            described = ", ".join(f"revision {row.revno} is {row.state}" for row in rows)
            raise RuleViolation(
                _("{number} has no {in_force} revision ({described})").format(
                    number=number, in_force=in_force, described=described
                ),
                hint=_("to hand out a revision that is not in force, ask for it: --rev N"),
            )
        else:
            row = rows[0] if revno is not None else current[-1]
            sha256, size = row.sha256, row.size
    handed = ExportedRevision(
        number, row.revno, sha256, size, row.state, row.title, row in current, sha256 != row.sha256
    )
    return handed, f"{number} revision {row.revno}"


def export_revision(
    runtime: Runtime,
    *,
    number: str,
    destination: Path,
    revno: int | None = None,
    file: str | None = None,
    force: bool = False,
) -> ExportedRevision:
    """Copy a revision's exact bytes to ``destination``, verifying the hash on the way.

    Without ``revno``: the revision in force; a document with none in force (a draft not yet
    issued, or withdrawn) is refused, naming its revisions, so nobody works from a draft or an
    obsolete text by mistake.  A register record (no in-force state) hands out its revision.
    ``file`` (the start of a SHA-256) hands out that file of the revision (of any revision,
    without ``revno``), an earlier one its author replaced included.
    ``destination``'s folder must exist (none is made), and an existing file is replaced only
    with ``force``.  The file appears only once its hash has matched; a mismatch leaves nothing
    behind.
    """
    check_destination(destination, force)  # before reading anything: a wrong -o says so first
    handed, what = _handed_out(runtime, number, revno, file)
    write_verified(runtime, handed.sha256, what, destination, force=force)
    return handed


def stream_revision(
    runtime: Runtime,
    *,
    number: str,
    out: BinaryIO,
    revno: int | None = None,
    file: str | None = None,
) -> ExportedRevision:
    """As :func:`export_revision`, to a stream (standard output, ``doc get -o -``): the bytes
    are written only once their hash has matched, so a damaged file writes nothing."""
    handed, what = _handed_out(runtime, number, revno, file)
    stream_verified(runtime, handed.sha256, what, out)
    return handed
