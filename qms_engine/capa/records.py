"""Reading nonconformities, their actions and their signed history (what ``qms nc show`` prints).

The tables are a projection of the chain, so everything here could be rebuilt from it; in
particular a document action's completion is never stored: it is read from the revisions of
its document (:func:`actions_of`), so the write path, the tasks and the reader can never
disagree about it.  Which state of a document's workflow is "in force" is taken from the
definition the office's chain registered, as the verifier takes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select
from sqlalchemy.sql import ColumnElement

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import as_utc, from_utc_text, local_today
from qms_engine.errors import NotFound
from qms_engine.i18n import _
from qms_engine.rules.workflows import WorkflowDefinition, workflow_from_record
from qms_engine.storage.models import (
    ACTION_TABLE,
    DOCUMENT_TABLE,
    EVENT_TABLE,
    NC_ACTION_TABLE,
    NC_STEP_TABLE,
    NC_TABLE,
    OFFICE_TABLE,
    REVISION_TABLE,
    TYPE_TABLE,
    USER_TABLE,
    WORKFLOW_TABLE,
)


@dataclass(frozen=True)
class StoredFile:
    """A file in the blob store named by an NC or an action as evidence."""

    sha256: str
    size: int
    media_type: str
    original_filename: str

    def as_payload(self) -> dict[str, Any]:
        """The file object the chain records (``evidence`` entries)."""
        return {
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "original_filename": self.original_filename,
        }


def stored_files(value: Iterable[Mapping[str, Any]]) -> tuple[StoredFile, ...]:
    """File objects as the chain and the tables record them."""
    return tuple(
        StoredFile(f["sha256"], f["size"], f["media_type"], f["original_filename"]) for f in value
    )


@dataclass(frozen=True)
class NcRow:
    """A nonconformity as the tables hold it now."""

    id: int
    office: OfficeRef
    number: str
    title: str
    description: str
    source: str
    severity: str
    clause: str
    documents: tuple[str, ...]
    records: tuple[str, ...]
    evidence: tuple[StoredFile, ...]
    responses: tuple[str, ...]
    """Citizens' feedback responses it was raised from or linked to."""
    finding: str
    """The internal audit finding (``IA#n``) that raised it, or ""."""
    workflow: str
    state: str
    raised_by: str
    raised_by_id: int
    raised_at: datetime
    state_entered_at: datetime
    closed_at: datetime | None
    event_seq: int


@dataclass(frozen=True)
class ActionRow:
    """One action of an NC's plan, and whether (and by whom) it was done.

    A document action (``document`` set) is done when a revision of that document numbered
    above ``after_revno`` entered its workflow's in-force state: ``fulfilled_by`` names that
    revision (``DOC#revno``), ``done_by`` who made it effective, ``done_seq`` that event."""

    nc: str
    office: str
    n: int
    type: str
    description: str
    owner: str
    due: date
    document: str
    after_revno: int
    added_by: str
    added_at: datetime
    added_seq: int
    done_at: datetime | None = None
    done_by: str | None = None
    done_comment: str | None = None
    done_seq: int | None = None
    evidence: tuple[StoredFile, ...] = ()
    fulfilled_by: str = ""
    implementers: tuple[str, ...] = ()
    """Who implemented it: whoever marked it done, or the fulfilling revision's author and
    whoever made it effective (segregation of duties: none of them verifies the NC)."""

    @property
    def subject(self) -> str:
        """The action's name in the chain: ``PS-KOT39/NC/2026/004#A1``."""
        return action_subject(self.nc, self.n)

    @property
    def done(self) -> bool:
        return self.done_at is not None


def action_subject(number: str, n: int) -> str:
    """The subject of action ``n`` of NC ``number``."""
    return f"{number}#A{n}"


@dataclass(frozen=True)
class NcEvent:
    """A signed event in an NC's history: about the NC, one of its actions, the audit finding
    that raised it, or a revision that fulfilled one of its document actions.  Named as the
    chain names them (``qms log --json``): ``recorded_at`` (UTC), ``actor``, ``signer_role``."""

    seq: int
    recorded_at: datetime
    actor: str
    signer_role: str
    meaning: str
    action: str
    subject: str
    payload: dict[str, Any]


_RAISER = USER_TABLE.alias("raiser")


def _nc_query() -> Select[Any]:
    return (
        select(
            NC_TABLE,
            OFFICE_TABLE.c.code.label("office_code"),
            OFFICE_TABLE.c.name.label("office_name"),
            OFFICE_TABLE.c.office_type,
            OFFICE_TABLE.c.timezone,
            _RAISER.c.username.label("raiser"),
        )
        .join(OFFICE_TABLE, OFFICE_TABLE.c.id == NC_TABLE.c.office_id)
        .join(_RAISER, _RAISER.c.id == NC_TABLE.c.raised_by)
    )


def _nc_row(row: Any) -> NcRow:
    links = json.loads(row.links)
    office = OfficeRef(
        row.office_id, row.office_code, row.office_name, row.office_type, row.timezone
    )
    return NcRow(
        row.id,
        office,
        row.number,
        row.title,
        row.description,
        row.source,
        row.severity,
        row.clause,
        tuple(links["documents"]),
        tuple(links["records"]),
        stored_files(links["evidence"]),
        tuple(links["responses"]),
        links["finding"],
        row.workflow,
        row.state,
        row.raiser,
        row.raised_by,
        as_utc(row.raised_at),
        as_utc(row.state_entered_at),
        as_utc(row.closed_at) if row.closed_at is not None else None,
        row.event_seq,
    )


def load_nc(connection: Connection, number: str) -> NcRow:
    """The nonconformity ``number``, or a NotFound naming it."""
    row = connection.execute(_nc_query().where(NC_TABLE.c.number == number.strip())).first()
    if row is None:
        raise NotFound(
            _("no nonconformity numbered {number}").format(number=repr(number)),
            hint=_("see `qms nc list`"),
        )
    return _nc_row(row)


def list_ncs(
    connection: Connection,
    office: OfficeRef,
    *,
    states: Sequence[str] | None = None,
    source: str | None = None,
    severity: str | None = None,
) -> list[NcRow]:
    """The office's nonconformities, oldest first, optionally only in ``states``, from
    ``source`` or of ``severity``."""
    query = _nc_query().where(NC_TABLE.c.office_id == office.id)
    if states is not None:
        query = query.where(NC_TABLE.c.state.in_(list(states)))
    if source is not None:
        query = query.where(NC_TABLE.c.source == source)
    if severity is not None:
        query = query.where(NC_TABLE.c.severity == severity)
    rows = connection.execute(query.order_by(NC_TABLE.c.event_seq)).all()
    return [_nc_row(row) for row in rows]


# --- actions ---------------------------------------------------------------------------------

_OWNER, _ADDER, _DOER = (USER_TABLE.alias(name) for name in ("owner", "adder", "doer"))


def _action_query() -> Select[Any]:
    return (
        select(
            NC_ACTION_TABLE,
            NC_TABLE.c.number.label("nc_number"),
            NC_TABLE.c.office_id,
            OFFICE_TABLE.c.code.label("office_code"),
            _OWNER.c.username.label("owner_name"),
            _ADDER.c.username.label("adder_name"),
            _DOER.c.username.label("doer_name"),
        )
        .join(NC_TABLE, NC_TABLE.c.id == NC_ACTION_TABLE.c.nc_id)
        .join(OFFICE_TABLE, OFFICE_TABLE.c.id == NC_TABLE.c.office_id)
        .join(_OWNER, _OWNER.c.id == NC_ACTION_TABLE.c.owner_id)
        .join(_ADDER, _ADDER.c.id == NC_ACTION_TABLE.c.added_by)
        .outerjoin(_DOER, _DOER.c.id == NC_ACTION_TABLE.c.done_by)
    )


@dataclass(frozen=True)
class _Fulfilment:
    """The revision that fulfilled a document action: it entered the in-force state."""

    revno: int
    at: datetime
    seq: int
    author: str
    made_effective_by: str


_AUTHOR, _TAKER = USER_TABLE.alias("rev_author"), USER_TABLE.alias("taker")


class _Revisions:
    """Answers "which revision fulfilled this document action?" for one reader, reading each
    document's workflow definition (as its office registered it) once."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._definitions: dict[tuple[int, str], WorkflowDefinition | None] = {}

    def _registered(self, office_id: int, name: str) -> WorkflowDefinition | None:
        key = (office_id, name)
        if key not in self._definitions:
            payload = self.connection.execute(
                select(EVENT_TABLE.c.payload)
                .join(
                    WORKFLOW_TABLE,
                    (WORKFLOW_TABLE.c.office_id == EVENT_TABLE.c.office_id)
                    & (WORKFLOW_TABLE.c.event_seq == EVENT_TABLE.c.seq),
                )
                .where(WORKFLOW_TABLE.c.office_id == office_id, WORKFLOW_TABLE.c.name == name)
            ).scalar()
            self._definitions[key] = (
                workflow_from_record(json.loads(payload)["definition"], f"workflow {name}")
                if payload is not None
                else None
            )
        return self._definitions[key]

    def fulfilment(
        self, office_id: int, document: str, after_revno: int, after_seq: int
    ) -> _Fulfilment | None:
        """The first revision of ``document`` numbered above ``after_revno`` to enter the
        in-force state of its workflow after event ``after_seq`` (the action's adding: an
        earlier entry, say of a revision since withdrawn, fulfils nothing); None: none yet."""
        rows = self.connection.execute(
            select(
                REVISION_TABLE.c.revno,
                ACTION_TABLE.c.at,
                ACTION_TABLE.c.event_seq,
                ACTION_TABLE.c.transition,
                TYPE_TABLE.c.workflow,
                _AUTHOR.c.username,
                _TAKER.c.username,
            )
            .join(REVISION_TABLE, REVISION_TABLE.c.id == ACTION_TABLE.c.revision_id)
            .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
            .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
            .join(_AUTHOR, _AUTHOR.c.id == REVISION_TABLE.c.author_id)
            .join(_TAKER, _TAKER.c.id == ACTION_TABLE.c.actor_id)
            .where(
                DOCUMENT_TABLE.c.office_id == office_id,
                DOCUMENT_TABLE.c.number == document,
                REVISION_TABLE.c.revno > after_revno,
                ACTION_TABLE.c.event_seq > after_seq,
            )
            .order_by(ACTION_TABLE.c.event_seq)
        ).all()
        for revno, at, seq, transition, workflow, author, taker in rows:
            definition = self._registered(office_id, workflow)
            step = definition.transitions.get(transition) if definition else None
            if step is not None and definition and step.target == definition.in_force_state:
                return _Fulfilment(revno, as_utc(at), seq, author, taker)
        return None


def _action_row(row: Any, revisions: _Revisions) -> ActionRow:
    action = ActionRow(
        row.nc_number,
        row.office_code,
        row.n,
        row.type,
        row.description,
        row.owner_name,
        row.due,
        row.document or "",
        row.after_revno,
        row.adder_name,
        as_utc(row.added_at),
        row.added_seq,
        as_utc(row.done_at) if row.done_at is not None else None,
        row.doer_name,
        row.done_comment,
        row.done_seq,
        stored_files(json.loads(row.evidence)),
        implementers=(row.doer_name,) if row.doer_name else (),
    )
    if not action.document:
        return action
    found = revisions.fulfilment(
        row.office_id, action.document, action.after_revno, action.added_seq
    )
    if found is None:
        return action
    return replace(
        action,
        done_at=found.at,
        done_by=found.made_effective_by,
        done_seq=found.seq,
        fulfilled_by=f"{action.document}#{found.revno}",
        implementers=tuple(dict.fromkeys((found.author, found.made_effective_by))),
    )


def actions_of(connection: Connection, nc: NcRow) -> list[ActionRow]:
    """The actions of ``nc`` in order (A1, A2 …), a document action's completion read from
    its document's revisions."""
    rows = connection.execute(
        _action_query().where(NC_ACTION_TABLE.c.nc_id == nc.id).order_by(NC_ACTION_TABLE.c.n)
    ).all()
    revisions = _Revisions(connection)
    return [_action_row(row, revisions) for row in rows]


def overdue_actions(
    connection: Connection, *, offices: Sequence[str] | None = None, today: date | None = None
) -> list[ActionRow]:
    """Open actions past their due date, of NCs still open, in ``offices`` (codes; None: every
    office), for the SP office's review: most overdue first.  ``today``: the day to count from
    (default: each office's own local date)."""
    query = _action_query().where(
        NC_ACTION_TABLE.c.done_at.is_(None), NC_TABLE.c.closed_at.is_(None)
    )
    if offices is not None:
        query = query.where(OFFICE_TABLE.c.code.in_(list(offices)))
    rows = connection.execute(query.order_by(NC_ACTION_TABLE.c.due, NC_TABLE.c.number)).all()
    zones = dict(connection.execute(select(OFFICE_TABLE.c.code, OFFICE_TABLE.c.timezone)).all())
    revisions = _Revisions(connection)
    found = []
    for row in rows:
        day = today or local_today(zones[row.office_code])
        if row.due < day:
            action = _action_row(row, revisions)
            if not action.done:
                found.append(action)
    return found


# --- history ---------------------------------------------------------------------------------


def _about(nc: NcRow, fulfilled: Sequence[tuple[str, int]]) -> ColumnElement[bool]:
    """Events about ``nc``, its actions (``number#A…``), the audit finding that raised it, and
    the revisions in ``fulfilled`` (subject, and the event by which it fulfilled an action: its
    later events, a supersession say, are the document's history, not the NC's)."""
    return or_(
        EVENT_TABLE.c.subject == nc.number,
        EVENT_TABLE.c.subject.startswith(f"{nc.number}#A", autoescape=True),
        *((EVENT_TABLE.c.subject == nc.finding,) if nc.finding else ()),
        *(
            and_(EVENT_TABLE.c.subject == revision, EVENT_TABLE.c.seq <= seq)
            for revision, seq in fulfilled
        ),
    )


def nc_history(connection: Connection, office: OfficeRef, number: str) -> list[NcEvent]:
    """Every signed event of NC ``number`` (in ``office``): the audit finding that raised it,
    its own, its actions', and those of the revisions that fulfilled its document actions up
    to the one that did, in chain order."""
    nc = load_nc(connection, number)
    if nc.office.id != office.id:
        raise NotFound(
            _("{number} is a nonconformity of {code}, not of {code2}").format(
                number=number, code=nc.office.code, code2=office.code
            ),
            hint=_("qms --office {code} nc show {number}").format(
                code=nc.office.code, number=number
            ),
        )
    fulfilled = [
        (action.fulfilled_by, action.done_seq)
        for action in actions_of(connection, nc)
        if action.fulfilled_by and action.done_seq is not None
    ]
    rows = connection.execute(
        select(EVENT_TABLE)
        .where(and_(EVENT_TABLE.c.office_id == office.id, _about(nc, fulfilled)))
        .order_by(EVENT_TABLE.c.seq)
    ).all()
    return [
        NcEvent(
            row.seq,
            from_utc_text(row.recorded_at),
            row.actor,
            row.signer_role,
            row.meaning,
            row.action,
            row.subject,
            json.loads(row.payload),
        )
        for row in rows
    ]


def steps_taken(connection: Connection, nc: NcRow) -> set[tuple[str, int]]:
    """(transition, actor id) of every transition taken on ``nc``."""
    rows = connection.execute(
        select(NC_STEP_TABLE.c.transition, NC_STEP_TABLE.c.actor_id).where(
            NC_STEP_TABLE.c.nc_id == nc.id
        )
    ).all()
    return {(transition, actor_id) for transition, actor_id in rows}
