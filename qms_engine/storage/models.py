"""The database tables (SQLModel). Plumbing lives in :mod:`qms_engine.storage.database`.

Rows that are history are never updated: revisions and events are insert-only.  The only
mutable rows are the current workflow state of a revision (``revision_state``), the chain
head of each office, and a user's ``active`` flag.  Users are never deleted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    Column,
    Dialect,
    Index,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from qms_engine.clock import from_utc_text, to_utc_text

# Stable constraint names, so Alembic migrations can name what they alter on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcTimestamp(TypeDecorator[datetime]):
    """A UTC instant stored as fixed-width text, ``2026-11-24T04:40:46.123456Z``.

    Text sorts in time order on every backend, reads the same everywhere, and lets the audited
    write path bind plain strings with no per-backend conversion.
    """

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else to_utc_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_utc_text(value)


class IsoDate(TypeDecorator[date]):
    """A calendar date stored as ``YYYY-MM-DD`` text (for the same reasons)."""

    impl = String(10)
    cache_ok = True

    def process_bind_param(self, value: date | None, dialect: Dialect) -> str | None:
        return None if value is None else value.isoformat()

    def process_result_value(self, value: str | None, dialect: Dialect) -> date | None:
        return None if value is None else date.fromisoformat(value)


def _utc_column(nullable: bool = False) -> Column[datetime]:
    return Column(UtcTimestamp(), nullable=nullable)


class Office(SQLModel, table=True):
    """A police station, SP office, collectorate … — each keeps its own audit chain."""

    __tablename__ = "office"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str
    office_type: str = Field(max_length=64)
    timezone: str = Field(default="Asia/Kolkata", max_length=64)
    created_at: datetime = Field(sa_column=_utc_column())


class User(SQLModel, table=True):
    """A person or service actor. Deactivated, never deleted, so history stays whole."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    full_name: str
    kind: str = Field(default="person", max_length=16)  # "person", or "service" (ingester, system)
    active: bool = True
    created_at: datetime = Field(sa_column=_utc_column())


class UserRole(SQLModel, table=True):
    """A role a user holds in one office (roles are per office)."""

    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "office_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    office_id: int = Field(foreign_key="office.id")
    role: str = Field(max_length=64)


class DocumentType(SQLModel, table=True):
    """A document or register type of one office, copied from its plugin when the office is made."""

    __tablename__ = "document_type"
    __table_args__ = (UniqueConstraint("office_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id")
    code: str = Field(max_length=64)
    title: str
    kind: str = Field(max_length=16)
    workflow: str = Field(max_length=64)
    review_period_days: int | None = None


class WorkflowRegistration(SQLModel, table=True):
    """The workflow definition in force in an office: the one its chain last registered
    (``workflow.registered``).  The engine refuses to run a workflow whose installed definition
    differs, since the verifier checks every event against the registered one."""

    __tablename__ = "workflow_registration"

    office_id: int = Field(foreign_key="office.id", primary_key=True)
    name: str = Field(max_length=64, primary_key=True)
    sha256: str = Field(max_length=64)
    event_seq: int


class Document(SQLModel, table=True):
    """A controlled document: a stable number and the revisions beneath it."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("document_type_id", "serial_year", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    document_type_id: int = Field(foreign_key="document_type.id")
    serial_year: int = 0
    serial: int
    number: str = Field(unique=True, max_length=128)
    title: str
    created_at: datetime = Field(sa_column=_utc_column())


class Revision(SQLModel, table=True):
    """One revision: its file (by hash), who wrote it, when and why.

    Its file changes only while it is a draft (its workflow's initial state): its author may put
    a corrected file in place (``sha256``, size, media type, file name), recorded by a signed
    ``document.revision.replaced`` naming the old file, which stays in the blob store; each
    transition's event names the file it acted on.  A draft filed from the inbox gets its
    human author (``author_id``) when they sign ``document.revision.adopted``."""

    __tablename__ = "revision"
    __table_args__ = (UniqueConstraint("document_id", "revno"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    revno: int
    sha256: str = Field(max_length=64, index=True)
    size: int
    media_type: str = Field(max_length=128)
    original_filename: str
    title: str
    change_reason: str = Field(sa_column=Column(Text, nullable=False))
    fields: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # canonical JSON
    author_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(sa_column=_utc_column())


class RevisionState(SQLModel, table=True):
    """Where a revision stands in its workflow now (the history is in ``revision_action``)."""

    __tablename__ = "revision_state"

    revision_id: int = Field(foreign_key="revision.id", primary_key=True)
    workflow: str = Field(max_length=64)
    state: str = Field(max_length=64, index=True)
    entered_at: datetime = Field(sa_column=_utc_column())
    effective_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    review_due: date | None = Field(default=None, sa_column=Column(IsoDate(), nullable=True))


class RevisionAction(SQLModel, table=True):
    """Each transition taken on a revision: who took it, so segregation of duties can be checked."""

    __tablename__ = "revision_action"

    id: int | None = Field(default=None, primary_key=True)
    revision_id: int = Field(foreign_key="revision.id", index=True)
    transition: str = Field(max_length=64)
    actor_id: int = Field(foreign_key="app_user.id")
    event_seq: int
    at: datetime = Field(sa_column=_utc_column())


class Event(SQLModel, table=True):
    """One link of an office's hash chain. See :mod:`qms_engine.chain.encoding` for the encoding."""

    __tablename__ = "event"
    # `qms log --user`: one user's events of an office, newest first, without scanning the chain.
    __table_args__ = (Index("ix_event_office_id_actor_seq", "office_id", "actor", "seq"),)

    office_id: int = Field(foreign_key="office.id", primary_key=True)
    seq: int = Field(primary_key=True)
    recorded_at: str = Field(max_length=32)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=96)
    subject: str = Field(max_length=256, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    meaning: str = Field(max_length=64)
    signer_name: str
    signer_role: str = Field(max_length=64)
    key_fingerprint: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    signature: str = Field(max_length=128)  # hex Ed25519 signature over the canonical body


class SigningKey(SQLModel, table=True):
    """A registered Ed25519 public key, its validity, and its private half sealed (never plain)."""

    __tablename__ = "signing_key"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(unique=True, max_length=64)
    public_key: str = Field(max_length=64)  # hex of the raw 32 bytes
    envelope: str = Field(sa_column=Column(Text, nullable=False))  # see qms_engine.chain.signing
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    office_id: int | None = Field(default=None, foreign_key="office.id")  # an office's own key
    valid_from: datetime = Field(sa_column=_utc_column())
    valid_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    revoked_reason: str | None = None


class KeyRegistration(SQLModel, table=True):
    """A key as one office's chain registered it (``key.registered``).  ``own``: its owner
    registered it (their own change of key); a key an admin issued or announced is not the
    owner's own there, and may sign nothing in that office but the owner's own change of key
    (21 CFR 11.300), exactly as the verifier holds it."""

    __tablename__ = "key_registration"

    office_id: int = Field(foreign_key="office.id", primary_key=True)
    fingerprint: str = Field(max_length=64, primary_key=True)
    own: bool
    event_seq: int


class Checkpoint(SQLModel, table=True):
    """A signed statement by the office key: "the chain had N events ending in this hash"."""

    __tablename__ = "checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    seq: int
    head_hash: str = Field(max_length=64)
    recorded_at: str = Field(max_length=32)
    key_fingerprint: str = Field(max_length=64)
    signature: str = Field(max_length=128)


class IngestReceipt(SQLModel, table=True):
    """What became of one claimed inbox file: filed as a record, or set aside as a duplicate.

    Written in the same transaction as the record, so after a crash the engine knows a claimed
    file was already filed and only finishes moving it, instead of filing it twice.
    """

    __tablename__ = "ingest_receipt"

    claim_id: str = Field(primary_key=True, max_length=64)
    office_id: int = Field(foreign_key="office.id", index=True)
    folder: str = Field(max_length=64)
    original_name: str
    sha256: str = Field(max_length=64, index=True)
    size: int
    outcome: str = Field(max_length=16)  # "filed" or "duplicate"
    number: str = Field(max_length=128)  # the record filed, or the one it duplicates
    event_seq: int
    created_at: datetime = Field(sa_column=_utc_column())


class ChainHead(SQLModel, table=True):
    """The newest event of an office's chain; writers lock this row to stay linear."""

    __tablename__ = "chain_head"

    office_id: int = Field(foreign_key="office.id", primary_key=True)
    seq: int = 0
    hash: str = Field(max_length=64)


class Nonconformity(SQLModel, table=True):
    """A nonconformity (ISO 9001 10.2) and where its CAPA workflow stands now.

    Its history is in ``nc_step`` and ``nc_action``; ``links`` holds, as canonical JSON, the
    documents, records, evidence files, feedback responses and audit finding it names."""

    __tablename__ = "nonconformity"
    __table_args__ = (UniqueConstraint("office_id", "serial_year", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    number: str = Field(unique=True, max_length=128)
    serial_year: int
    serial: int
    title: str
    description: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=32)
    severity: str = Field(max_length=16)
    clause: str = Field(max_length=128)
    links: str = Field(sa_column=Column(Text, nullable=False))
    workflow: str = Field(max_length=64)
    state: str = Field(max_length=64, index=True)
    raised_by: int = Field(foreign_key="app_user.id")
    raised_at: datetime = Field(sa_column=_utc_column())
    state_entered_at: datetime = Field(sa_column=_utc_column())
    closed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    event_seq: int


class NcStep(SQLModel, table=True):
    """Each CAPA transition taken on a nonconformity: who, when, and what they wrote."""

    __tablename__ = "nc_step"

    id: int | None = Field(default=None, primary_key=True)
    nc_id: int = Field(foreign_key="nonconformity.id", index=True)
    transition: str = Field(max_length=64)
    actor_id: int = Field(foreign_key="app_user.id")
    event_seq: int
    at: datetime = Field(sa_column=_utc_column())
    comment: str = Field(sa_column=Column(Text, nullable=False))


class NcAction(SQLModel, table=True):
    """An action of a nonconformity's plan: type, owner, due date, and when it was done.

    A document action (``document`` set) is done when a revision of that document numbered
    above ``after_revno`` becomes effective: that is read from the revisions, not stored here."""

    __tablename__ = "nc_action"
    __table_args__ = (UniqueConstraint("nc_id", "n"),)

    id: int | None = Field(default=None, primary_key=True)
    nc_id: int = Field(foreign_key="nonconformity.id", index=True)
    n: int
    type: str = Field(max_length=16)
    description: str = Field(sa_column=Column(Text, nullable=False))
    owner_id: int = Field(foreign_key="app_user.id")
    due: date = Field(sa_column=Column(IsoDate(), nullable=False))
    document: str | None = Field(default=None, max_length=128)
    after_revno: int = -1
    added_by: int = Field(foreign_key="app_user.id")
    added_at: datetime = Field(sa_column=_utc_column())
    added_seq: int
    done_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    done_by: int | None = Field(default=None, foreign_key="app_user.id")
    done_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    done_seq: int | None = None
    evidence: str = Field(default="[]", sa_column=Column(Text, nullable=False))


class InternalAudit(SQLModel, table=True):
    """A planned internal audit (ISO 9001 9.2): scope, date and auditors; items below it."""

    __tablename__ = "internal_audit"
    __table_args__ = (UniqueConstraint("office_id", "serial_year", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    number: str = Field(unique=True, max_length=128)
    serial_year: int
    serial: int
    title: str
    scope: str = Field(sa_column=Column(Text, nullable=False))
    audit_date: date = Field(sa_column=Column(IsoDate(), nullable=False))
    auditors: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of user names
    planned_by: int = Field(foreign_key="app_user.id")
    planned_at: datetime = Field(sa_column=_utc_column())
    event_seq: int


class InternalAuditItem(SQLModel, table=True):
    """One checklist item of an internal audit (a clause or an SOP), its auditor and finding."""

    __tablename__ = "internal_audit_item"
    __table_args__ = (UniqueConstraint("audit_id", "n"),)

    id: int | None = Field(default=None, primary_key=True)
    audit_id: int = Field(foreign_key="internal_audit.id", index=True)
    n: int
    ref: str = Field(max_length=128)
    auditor_id: int = Field(foreign_key="app_user.id")
    area_owner_id: int | None = Field(default=None, foreign_key="app_user.id")
    result: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    nc_number: str | None = Field(default=None, max_length=128)
    recorded_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    recorded_seq: int | None = None


class FeedbackResponse(SQLModel, table=True):
    """One citizen's feedback on a station: when, the ratings, the comment — nothing personal
    (names and phone numbers are dropped on import; phone numbers in comments are masked).

    The comment and its salt are kept here only (the chain states their SHA-256, see
    :mod:`qms_engine.chain.comments`); erasing it blanks both and stamps ``erased_at``."""

    __tablename__ = "feedback_response"
    __table_args__ = (UniqueConstraint("office_id", "response_id"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    response_id: str = Field(max_length=16)
    responded_at: datetime = Field(sa_column=_utc_column())
    ratings: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON {name: 1..5}
    comment: str = Field(sa_column=Column(Text, nullable=False))  # "" once erased
    comment_salt: str | None = Field(default=None, max_length=32)  # hex; None once erased
    erased_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    event_seq: int
    nc_number: str | None = Field(default=None, max_length=128)


SEARCH_INDEX = "search_index"
"""The full-text index (:mod:`qms_engine.search`): derived data, built by migration 0003 in each
database's own form (an FTS5 virtual table and its shadow tables on SQLite, a table with a
``tsvector`` column on PostgreSQL), so it has no model here."""


def is_model_table(name: str) -> bool:
    """Whether a table of the database is one of these models (the search index's are not):
    what Alembic compares with the models."""
    return name != SEARCH_INDEX and not name.startswith(f"{SEARCH_INDEX}_")


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# --- issue 13: register entries (registers) ---
class RegisterEntry(SQLModel, table=True):
    """The register facts of a record whose type has register rules (``document.created``
    says them): the period its serial counts in, its place in a day book, the entry it
    corrects.  The record itself is its document and revision 0, never changed."""

    __tablename__ = "register_entry"

    document_id: int = Field(foreign_key="document.id", primary_key=True)
    period: str = Field(max_length=10)
    """``2026`` or ``2026-11-29`` (office-local), or empty when the serial never restarts."""
    day: str | None = Field(default=None, max_length=10)
    """The diary day of a day book's entry (office-local date)."""
    entry: str = Field(max_length=8)
    """``opening``, ``closing`` or ``entry``."""
    corrects_id: int | None = Field(default=None, foreign_key="document.id", index=True)


# --- issue 13: custody movements (custody) ---


class CustodyMovement(SQLModel, table=True):
    """One hand-over of a register's item (``custody.moved``): from where, to where, who
    received it, the seal, the day it is due back or the order disposing of it.  Insert-only:
    where an item is now is its latest movement (or its type's home, never moved)."""

    __tablename__ = "custody_movement"
    __table_args__ = (UniqueConstraint("office_id", "event_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    from_place: str = Field(max_length=32)
    to_place: str = Field(max_length=32)
    received_by: str
    seal_intact: bool
    expected_back: date | None = Field(default=None, sa_column=Column(IsoDate(), nullable=True))
    order_ref: str = Field(sa_column=Column(Text, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    moved_by: int = Field(foreign_key="app_user.id")
    moved_at: datetime = Field(sa_column=_utc_column())
    event_seq: int


# --- issue 13: services and the record room (services, record_room) ---
class ServiceApplication(SQLModel, table=True):
    """A citizen's application for a charter service: received, due, disposed of (once)."""

    __tablename__ = "service_application"
    __table_args__ = (UniqueConstraint("office_id", "serial_year", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    number: str = Field(unique=True, max_length=128)
    serial_year: int
    serial: int
    service: str = Field(max_length=32)
    desk: str = Field(max_length=32, index=True)
    applicant: str = Field(sa_column=Column(Text, nullable=False))
    received: date = Field(sa_column=Column(IsoDate(), nullable=False))
    due: date = Field(sa_column=Column(IsoDate(), nullable=False))
    received_by: int = Field(foreign_key="app_user.id")
    received_at: datetime = Field(sa_column=_utc_column())
    event_seq: int
    decision: str | None = Field(default=None, max_length=16)
    disposed_on: date | None = Field(default=None, sa_column=Column(IsoDate(), nullable=True))
    disposed_by: int | None = Field(default=None, foreign_key="app_user.id")
    disposed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    disposed_seq: int | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RecordRoomRecord(SQLModel, table=True):
    """A record (a closed file) kept in the record room under a record class, until weeded."""

    __tablename__ = "record_room_record"
    __table_args__ = (UniqueConstraint("office_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    number: str = Field(max_length=128)
    record_class: str = Field(max_length=32)
    closed_on: date = Field(sa_column=Column(IsoDate(), nullable=False))
    deposited_by: int = Field(foreign_key="app_user.id")
    deposited_at: datetime = Field(sa_column=_utc_column())
    event_seq: int
    weeded_on: date | None = Field(default=None, sa_column=Column(IsoDate(), nullable=True))
    weeded_list: str | None = Field(default=None, max_length=128)
    weeded_seq: int | None = None


class DisposalList(SQLModel, table=True):
    """A list of records proposed for weeding, approved or rejected by someone other than its
    proposer: the ``approved_*`` columns say who decided, when and why; ``rejected`` that the
    decision was a rejection (its records are then free for another list)."""

    __tablename__ = "disposal_list"
    __table_args__ = (UniqueConstraint("office_id", "serial_year", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    number: str = Field(unique=True, max_length=128)
    serial_year: int
    serial: int
    records: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON list
    proposed_by: int = Field(foreign_key="app_user.id")
    proposed_at: datetime = Field(sa_column=_utc_column())
    event_seq: int
    approved_by: int | None = Field(default=None, foreign_key="app_user.id")
    approved_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    approved_seq: int | None = None
    approval_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    rejected: bool = False


# --- issue 13: district (district) ---


class DistrictStation(SQLModel, table=True):
    """A station of a district (SP office): an office of this database (``office_id``), or one
    seen through its audit bundles, whose events are held in ``district_event``.  A projection
    of the SP chain's ``district.station.joined`` / ``district.bundle.imported`` events."""

    __tablename__ = "district_station"
    __table_args__ = (UniqueConstraint("district_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    district_id: int = Field(foreign_key="office.id", index=True)
    code: str = Field(max_length=64)
    name: str
    office_type: str = Field(max_length=64)
    timezone: str = Field(max_length=64)
    """An imported station's (from its bundle); "" for a shared one: its office row holds it."""
    office_id: int | None = Field(default=None, foreign_key="office.id")
    """The station's office in this database (a shared deployment); None when imported."""
    events: int = 0
    """How many of an imported station's events the district holds (0 for a shared one)."""
    head_hash: str = Field(default="", max_length=64)
    event_seq: int
    """The SP chain's event that joined it, or its latest import."""


class DistrictEvent(SQLModel, table=True):
    """One event of an imported station's chain, exactly as its bundle held it: the canonical
    body, its hash and signature (so the district re-verifies it at any time)."""

    __tablename__ = "district_event"

    station_id: int = Field(foreign_key="district_station.id", primary_key=True)
    seq: int = Field(primary_key=True)
    action: str = Field(max_length=96)
    body: str = Field(sa_column=Column(Text, nullable=False))
    hash: str = Field(max_length=64)
    signature: str = Field(max_length=128)


class DistrictCheckpoint(SQLModel, table=True):
    """A checkpoint an imported station's bundle listed (its office key's signed statement),
    kept for witnessing; checked against the held events and the station key when used."""

    __tablename__ = "district_checkpoint"

    station_id: int = Field(foreign_key="district_station.id", primary_key=True)
    seq: int = Field(primary_key=True)
    head_hash: str = Field(max_length=64)
    recorded_at: str = Field(max_length=32)
    key_fingerprint: str = Field(max_length=64)
    signature: str = Field(max_length=128)


# The Core tables, for statements on the write path (no ORM unit-of-work overhead there).
OFFICE_TABLE = _table(Office)
USER_TABLE = _table(User)
ROLE_TABLE = _table(UserRole)
TYPE_TABLE = _table(DocumentType)
WORKFLOW_TABLE = _table(WorkflowRegistration)
DOCUMENT_TABLE = _table(Document)
REVISION_TABLE = _table(Revision)
STATE_TABLE = _table(RevisionState)
ACTION_TABLE = _table(RevisionAction)
EVENT_TABLE = _table(Event)
HEAD_TABLE = _table(ChainHead)
KEY_TABLE = _table(SigningKey)
KEY_REGISTRATION_TABLE = _table(KeyRegistration)
CHECKPOINT_TABLE = _table(Checkpoint)
RECEIPT_TABLE = _table(IngestReceipt)
NC_TABLE = _table(Nonconformity)
NC_STEP_TABLE = _table(NcStep)
NC_ACTION_TABLE = _table(NcAction)
AUDIT_TABLE = _table(InternalAudit)
AUDIT_ITEM_TABLE = _table(InternalAuditItem)
FEEDBACK_TABLE = _table(FeedbackResponse)
# issue 13 tables: registers
REGISTER_ENTRY_TABLE = _table(RegisterEntry)
# issue 13 tables: custody
CUSTODY_TABLE = _table(CustodyMovement)
# issue 13 tables: services and record room
APPLICATION_TABLE = _table(ServiceApplication)
RECORD_ROOM_TABLE = _table(RecordRoomRecord)
DISPOSAL_LIST_TABLE = _table(DisposalList)
# issue 13 tables: district
DISTRICT_STATION_TABLE = _table(DistrictStation)
DISTRICT_EVENT_TABLE = _table(DistrictEvent)
DISTRICT_CHECKPOINT_TABLE = _table(DistrictCheckpoint)
