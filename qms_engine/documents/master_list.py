"""Read side of document control: the master list, one document's story, reviews falling due.

These are what an ISO auditor asks for first (clause 7.5.3): every controlled document with its
current revision and status, and evidence that periodic reviews are not overdue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, false, func, or_, select

from qms_engine.chain.canonical import canonical_bytes
from qms_engine.chain.encoding import event_body
from qms_engine.chain.reader import about_document
from qms_engine.chain.signing import verify_signature
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import as_utc, from_utc_text, local_today
from qms_engine.documents.revisions import (
    DocumentRef,
    RevisionFile,
    load_document,
    revision_files,
)
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    EVENT_TABLE,
    KEY_TABLE,
    OFFICE_TABLE,
    REVISION_TABLE,
    STATE_TABLE,
    TYPE_TABLE,
    USER_TABLE,
    Event,
)


@dataclass(frozen=True)
class RevisionView:
    """One revision as shown to people."""

    revno: int
    state: str
    title: str
    sha256: str
    size: int
    media_type: str
    original_filename: str
    change_reason: str
    author: str
    created_at: datetime
    effective_at: datetime | None
    review_due: date | None
    fields: dict[str, Any]
    """The register fields filed with it (case/FIR number, seal number, officer …)."""
    files: list[RevisionFile]
    """Every file it has had, oldest first: more than one for a draft corrected in place."""


@dataclass(frozen=True)
class DocumentSummary:
    """A row of the master list."""

    office: str
    number: str
    type_code: str
    kind: str
    title: str
    latest_revno: int
    latest_state: str
    effective_revno: int | None
    effective_since: datetime | None
    review_due: date | None


@dataclass(frozen=True)
class HistoryEntry:
    """An event about a document or one of its revisions, its payload decoded."""

    seq: int
    recorded_at: datetime
    revno: int | None
    """The revision it is about; None for the document as a whole (``document.created``)."""
    actor: str
    role: str
    meaning: str
    action: str
    subject: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class DocumentDetail:
    """A document with all its revisions and its history."""

    summary: DocumentSummary
    timezone: str
    revisions: list[RevisionView]
    history: list[HistoryEntry]


def _revision_rows(runtime: Runtime, document_id: int) -> Sequence[Any]:
    """Every revision of one document with its state and author, oldest first."""
    statement = (
        select(
            DOCUMENT_TABLE.c.id.label("document_id"),
            DOCUMENT_TABLE.c.number,
            OFFICE_TABLE.c.code.label("office_code"),
            TYPE_TABLE.c.code.label("type_code"),
            TYPE_TABLE.c.kind,
            TYPE_TABLE.c.workflow,
            REVISION_TABLE.c.revno,
            REVISION_TABLE.c.title,
            REVISION_TABLE.c.sha256,
            REVISION_TABLE.c.size,
            REVISION_TABLE.c.media_type,
            REVISION_TABLE.c.original_filename,
            REVISION_TABLE.c.change_reason,
            REVISION_TABLE.c.fields,
            REVISION_TABLE.c.created_at,
            USER_TABLE.c.username.label("author"),
            STATE_TABLE.c.state,
            STATE_TABLE.c.effective_at,
            STATE_TABLE.c.review_due,
        )
        .join(OFFICE_TABLE, OFFICE_TABLE.c.id == DOCUMENT_TABLE.c.office_id)
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .join(REVISION_TABLE, REVISION_TABLE.c.document_id == DOCUMENT_TABLE.c.id)
        .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
        .join(USER_TABLE, USER_TABLE.c.id == REVISION_TABLE.c.author_id)
        .where(DOCUMENT_TABLE.c.id == document_id)
        .order_by(REVISION_TABLE.c.revno)
    )
    with runtime.engine.connect() as connection:
        return connection.execute(statement).all()


def _view(row: Row[Any], files: Mapping[int, list[RevisionFile]]) -> RevisionView:
    return RevisionView(
        row.revno,
        row.state,
        row.title,
        row.sha256,
        row.size,
        row.media_type,
        row.original_filename,
        row.change_reason,
        row.author,
        as_utc(row.created_at),
        as_utc(row.effective_at) if row.effective_at else None,
        row.review_due,
        json.loads(row.fields),
        files.get(row.revno, []),
    )


def _summary(revisions: Sequence[Row[Any]], in_force: Mapping[str, str]) -> DocumentSummary:
    latest = revisions[-1]
    effective = next((r for r in reversed(revisions) if r.state == in_force.get(r.workflow)), None)
    return DocumentSummary(
        office=latest.office_code,
        number=latest.number,
        type_code=latest.type_code,
        kind=latest.kind,
        title=(effective or latest).title,
        latest_revno=latest.revno,
        latest_state=latest.state,
        effective_revno=effective.revno if effective else None,
        effective_since=as_utc(effective.effective_at)
        if effective and effective.effective_at
        else None,
        review_due=effective.review_due if effective else None,
    )


def _master_list_query(in_force: Mapping[str, str], state: str | None) -> Select[Any]:
    """One row per document: its newest revision and its effective one (in its workflow's
    in-force state), summarised and filtered in SQL (a district holds tens of thousands of
    documents; Python sees only what is listed).

    ``state``: the newest revision is in that state, or the document has a revision in force
    and ``state`` is its own workflow's in-force state (workflows name their states freely).
    """
    latest, latest_state = REVISION_TABLE.alias("latest"), STATE_TABLE.alias("latest_state")
    effective, effective_state = REVISION_TABLE.alias("eff"), STATE_TABLE.alias("eff_state")
    newest = (
        select(func.max(REVISION_TABLE.c.revno))
        .where(REVISION_TABLE.c.document_id == DOCUMENT_TABLE.c.id)
        .scalar_subquery()
    )
    effective_joined = effective.join(
        effective_state, effective_state.c.revision_id == effective.c.id
    )
    is_in_force = or_(
        false(),
        *(
            (TYPE_TABLE.c.workflow == workflow) & (effective_state.c.state == state)
            for workflow, state in sorted(in_force.items())
        ),
    )
    statement = (
        select(
            OFFICE_TABLE.c.code.label("office"),
            DOCUMENT_TABLE.c.number,
            TYPE_TABLE.c.code.label("type_code"),
            TYPE_TABLE.c.kind,
            TYPE_TABLE.c.workflow,
            latest.c.title.label("latest_title"),
            latest.c.revno.label("latest_revno"),
            latest_state.c.state.label("latest_state"),
            effective.c.title.label("effective_title"),
            effective.c.revno.label("effective_revno"),
            effective_state.c.effective_at,
            effective_state.c.review_due,
        )
        .join(OFFICE_TABLE, OFFICE_TABLE.c.id == DOCUMENT_TABLE.c.office_id)
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .join(latest, (latest.c.document_id == DOCUMENT_TABLE.c.id) & (latest.c.revno == newest))
        .join(latest_state, latest_state.c.revision_id == latest.c.id)
        .outerjoin(effective_joined, (effective.c.document_id == DOCUMENT_TABLE.c.id) & is_in_force)
        .order_by(OFFICE_TABLE.c.code, DOCUMENT_TABLE.c.number)
    )
    if state is not None:
        in_force_here = sorted(workflow for workflow, name in in_force.items() if name == state)
        statement = statement.where(
            (latest_state.c.state == state)
            | (effective.c.revno.is_not(None) & TYPE_TABLE.c.workflow.in_(in_force_here))
        )
    return statement


def _office_types(runtime: Runtime, office: OfficeRef | None) -> list[str]:
    """The office type of ``office``, or of every office in the deployment."""
    if office is not None:
        return [office.office_type]
    with runtime.engine.connect() as connection:
        return list(connection.execute(select(OFFICE_TABLE.c.office_type).distinct()).scalars())


def check_list_filters(
    runtime: Runtime,
    office: OfficeRef | None,
    *,
    type_code: str | None = None,
    state: str | None = None,
) -> tuple[str | None, str | None]:
    """The document type and state to list, as the plugins spell them (typed in any case);
    one that ``office`` (or, with None, no office) has not is refused, listing the valid ones
    (:meth:`~qms_engine.registry.plugin_set.PluginSet.document_filters`)."""
    where = office.code if office else "any office"
    return runtime.plugins.document_filters(_office_types(runtime, office), where, type_code, state)


def list_documents(
    runtime: Runtime,
    *,
    office: OfficeRef | None = None,
    type_code: str | None = None,
    state: str | None = None,
    kind: str | None = None,
) -> list[DocumentSummary]:
    """The master list, filtered by office, type, kind and latest/effective state.

    An unknown type or state is refused (:func:`check_list_filters`), never taken for an empty
    list.
    """
    type_code, state = check_list_filters(runtime, office, type_code=type_code, state=state)
    statement = _master_list_query(runtime.plugins.in_force_states(), state)
    if office is not None:
        statement = statement.where(DOCUMENT_TABLE.c.office_id == office.id)
    if type_code is not None:
        statement = statement.where(TYPE_TABLE.c.code == type_code)
    if kind is not None:
        statement = statement.where(TYPE_TABLE.c.kind == kind)
    with runtime.engine.connect() as connection:
        rows = connection.execute(statement).all()
    return [
        DocumentSummary(
            office=row.office,
            number=row.number,
            type_code=row.type_code,
            kind=row.kind,
            title=row.effective_title or row.latest_title,
            latest_revno=row.latest_revno,
            latest_state=row.latest_state,
            effective_revno=row.effective_revno,
            effective_since=row.effective_at,
            review_due=row.review_due,
        )
        for row in rows
    ]


def _events_about(document: DocumentRef) -> Select[Any]:
    """The office's events whose subject is the document or one of its revisions."""
    return (
        select(EVENT_TABLE)
        .where(EVENT_TABLE.c.office_id == document.office.id, about_document(document.number))
        .order_by(EVENT_TABLE.c.seq)
    )


def _history_entry(row: Row[Any], number: str) -> HistoryEntry:
    _, sep, revno = row.subject.partition(f"{number}#")
    return HistoryEntry(
        row.seq,
        from_utc_text(row.recorded_at),
        int(revno) if sep and revno.isdigit() else None,
        row.actor,
        row.signer_role,
        row.meaning,
        row.action,
        row.subject,
        json.loads(row.payload),
    )


def document_detail(runtime: Runtime, number: str) -> DocumentDetail:
    """One document: every revision and every event about it, in order."""
    with runtime.engine.connect() as connection:
        document = load_document(connection, number)
        events = connection.execute(_events_about(document)).all()
        files = revision_files(connection, document)
    revisions = _revision_rows(runtime, document.id)
    summary = _summary(revisions, runtime.plugins.in_force_states())
    history = [_history_entry(row, document.number) for row in events]
    views = [_view(row, files) for row in revisions]
    return DocumentDetail(summary, document.office.timezone, views, history)


@dataclass(frozen=True)
class DueReview:
    """An effective revision whose periodic review is overdue or falls due soon."""

    summary: DocumentSummary
    days_left: int

    @property
    def overdue(self) -> bool:
        """True once the due date has passed."""
        return self.days_left < 0


def due_reviews(
    runtime: Runtime, office: OfficeRef, *, within_days: int = 30, today: date | None = None
) -> list[DueReview]:
    """Effective documents whose review is due within ``within_days`` (overdue first)."""
    today = today or local_today(office.timezone)
    horizon = today + timedelta(days=within_days)
    due = [
        DueReview(s, (s.review_due - today).days)
        for s in list_documents(runtime, office=office)
        if s.review_due is not None and s.review_due <= horizon
    ]
    return sorted(due, key=lambda item: (item.days_left, item.summary.number))


@dataclass(frozen=True)
class SignedEntry:
    """An event about a document shown as a signature manifestation (21 CFR 11.50)."""

    seq: int
    recorded_at: datetime
    signer: str
    username: str
    role: str
    meaning: str
    action: str
    subject: str
    key_fingerprint: str
    signature_valid: bool
    comment: str
    transition: str
    """The workflow transition it took (``submit``, ``approve`` …), or "" for another event:
    a submit and a file replaced both mean "authored"."""


def signed_history(runtime: Runtime, number: str) -> tuple[str, list[SignedEntry]]:
    """Every signed event about a document, each signature checked now; with the office's zone."""
    with runtime.engine.connect() as connection:
        document = load_document(connection, number)
        rows = connection.execute(_events_about(document)).all()
        keys = dict(
            connection.execute(select(KEY_TABLE.c.fingerprint, KEY_TABLE.c.public_key)).all()
        )
    entries = []
    for row in rows:
        event = Event.model_validate(row._mapping)
        payload = json.loads(event.payload)
        public = keys.get(event.key_fingerprint)
        valid = public is not None and verify_signature(
            bytes.fromhex(public),
            bytes.fromhex(event.signature),
            canonical_bytes(event_body(event, document.office.code)),
        )
        entries.append(
            SignedEntry(
                event.seq,
                from_utc_text(event.recorded_at),
                event.signer_name,
                event.actor,
                event.signer_role,
                event.meaning,
                event.action,
                event.subject,
                event.key_fingerprint,
                valid,
                str(payload.get("comment", "")),
                str(payload.get("transition", "")),
            )
        )
    return document.office.timezone, entries
