"""The record room: records deposited by class, weeded only through an approved disposal list.

A clerk deposits a register record of the office (a closed file, not a controlled document
such as an SOP: ``record_room.record.deposited``) in a class of the retention schedule the
office's chain recorded, saying the day the file was closed (from the day it was created to
today); a file whose type keeps a chain of custody must have been handed to the record room
first.  It is held to its class's retention in the schedule in force then (a later schedule
may lengthen it, never shorten it).  A clerk or a quality coordinator proposes a disposal list
of deposited records whose retention has run out (``record_room.disposal.proposed``); an
approver other than the proposer approves it (``record_room.disposal.approved``) or rejects it
saying why (``record_room.disposal.rejected``: its records are free again); then the records of
an approved list are weeded (``record_room.records.weeded``), each only if its retention has
run out on that day: the day closed plus its years.  A permanent class is never weeded.  Every
step is signed, and ``qms audit verify`` checks the same rules from the chain alone
(:mod:`qms_engine.chain.service_rules`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from qms_engine.chain import events
from qms_engine.chain.authorisation import RULES
from qms_engine.chain.canonical import canonical_text
from qms_engine.chain.service_rules import (
    RECORD_ROOM_PLACE,
    held_retention,
    local_day,
    recorded,
    recorded_classes,
    recorded_schedules,
    retention_ends,
)
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import local_today, utc_now
from qms_engine.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation, known_value
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.rules.text import is_blank, require_one_line
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    DISPOSAL_LIST_TABLE,
    DOCUMENT_TABLE,
    EVENT_TABLE,
    OFFICE_TABLE,
    RECORD_ROOM_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)
from qms_engine.storage.serials import next_serial

LIST_NUMBERING = "{office}/DL/{year}/{serial:03d}"


@dataclass(frozen=True)
class KeptRecord:
    """A record in the record room, with the first day it may be weeded (None: permanent)."""

    number: str
    record_class: str
    closed_on: date
    weed_from: date | None
    event_seq: int
    weeded_on: date | None = None
    weeded_list: str | None = None


@dataclass(frozen=True)
class DisposalListRow:
    """A disposal list: its records, who proposed and who approved it."""

    number: str
    records: list[str]
    proposed_by: str
    approved_by: str | None
    """Who approved it, or rejected it (``rejected``)."""
    event_seq: int
    weeded: bool
    rejected: bool = False


def _schedule(connection: Connection, office: OfficeRef) -> dict[str, int | None]:
    classes = recorded_classes(recorded(connection, office.id, events.SCHEDULE_RECORDED))
    if not classes:
        raise RuleViolation(
            _("{office} has no retention schedule recorded in its audit trail").format(
                office=office.code
            ),
            hint=_("an admin records it: qms service charter --as ADMIN"),
        )
    return classes


def _signed_in(
    work: UnitOfWork, actor: Signer, office: OfficeRef, kind: events.EventKind, doing: str
) -> tuple[Actor, str]:
    """The actor under the office's lock, and the role of ``kind``'s rule they sign in."""
    work.lock(office)
    user = load_actor(work.connection, actor, office)
    return user, require_role(user, RULES[kind.action].roles or (), office, doing)


def deposit(
    runtime: Runtime,
    *,
    office: OfficeRef,
    actor: Signer,
    number: str,
    record_class: str,
    closed: date,
) -> KeptRecord:
    """A clerk deposits record ``number`` of ``office`` (closed on ``closed``) in the record
    room, in ``record_class`` of the recorded retention schedule."""
    with runtime.unit_of_work() as work:
        connection = work.connection
        clerk, role = _signed_in(work, actor, office, events.RECORD_DEPOSITED, _("deposit records"))
        classes = _schedule(connection, office)
        record_class = known_value(
            "record class", record_class.strip(), classes, _("the retention schedule")
        )
        type_code = _register_record(connection, office, number)
        if _kept(connection, office, number) is not None:
            raise RuleViolation(_("{number} is already in the record room").format(number=number))
        _at_record_room(connection, office, number, type_code)
        today = local_today(office.timezone)
        if closed > today:
            raise RuleViolation(
                _("the file cannot be closed on {closed}, after today ({today})").format(
                    closed=closed.isoformat(), today=today.isoformat()
                )
            )
        created = _created_on(connection, office, number)
        if closed < created:
            raise RuleViolation(
                _(
                    "the file cannot be closed on {closed}, before it was created ({created})"
                ).format(closed=closed.isoformat(), created=created.isoformat()),
                hint=_("give the day it was closed: --closed YYYY-MM-DD"),
            )
        payload = {"class": record_class, "closed": closed.isoformat()}
        now = utc_now()
        record = work.append(office, clerk, events.RECORD_DEPOSITED, number, payload, role=role)
        connection.execute(
            insert(RECORD_ROOM_TABLE),
            {
                "office_id": office.id,
                "number": number,
                "record_class": record_class,
                "closed_on": closed,
                "deposited_by": clerk.id,
                "deposited_at": now,
                "event_seq": record.seq,
            },
        )
        kept = _kept(connection, office, number)
        assert kept is not None
        return _with_retention(kept, recorded_schedules(connection, office.id))


def _register_record(connection: Connection, office: OfficeRef, number: str) -> str:
    """The type of record ``number`` of ``office``: refused unless it is a register record."""
    found = connection.execute(
        select(TYPE_TABLE.c.code, TYPE_TABLE.c.kind)
        .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.document_type_id == TYPE_TABLE.c.id)
        .where(DOCUMENT_TABLE.c.office_id == office.id, DOCUMENT_TABLE.c.number == number)
    ).first()
    if found is None:
        raise NotFound(
            _("{office} has no record {number}").format(office=office.code, number=number),
            hint=_("`qms doc list` lists the office's records"),
        )
    if found.kind != "register":
        raise RuleViolation(
            _(
                "{number} is a controlled document ({type}), not a register record: only "
                "records such as files are deposited in the record room"
            ).format(number=number, type=found.code)
        )
    return str(found.code)


def _signed(connection: Connection, office: OfficeRef, action: str, subject: str) -> list[Row[Any]]:
    """The office's signed events of ``action`` about ``subject``, oldest first."""
    return list(
        connection.execute(
            select(EVENT_TABLE.c.seq, EVENT_TABLE.c.recorded_at, EVENT_TABLE.c.payload)
            .where(
                EVENT_TABLE.c.office_id == office.id,
                EVENT_TABLE.c.action == action,
                EVENT_TABLE.c.subject == subject,
            )
            .order_by(EVENT_TABLE.c.seq)
        )
    )


def _at_record_room(connection: Connection, office: OfficeRef, number: str, type_code: str) -> None:
    """Refuse a record whose type keeps a chain of custody unless the chain says it is at the
    record room: the ``to`` of its latest ``custody.moved``, else its type's home."""
    added = _signed(
        connection, office, events.DOCUMENT_TYPE_ADDED.action, f"{office.code}/{type_code}"
    )
    custody = json.loads(added[0].payload).get("custody") if added else None
    if not isinstance(custody, dict):
        return
    moves = _signed(connection, office, events.CUSTODY_MOVED.action, number)
    at = json.loads(moves[-1].payload).get("to") if moves else custody.get("home")
    if at != RECORD_ROOM_PLACE:
        raise RuleViolation(
            _("{number} is at {place}, not in the record room").format(number=number, place=at),
            hint=_("hand it over first: qms custody move {number} --to {place}").format(
                number=number, place=RECORD_ROOM_PLACE
            ),
        )


def _created_on(connection: Connection, office: OfficeRef, number: str) -> date:
    """The office's local day of record ``number``'s signed ``document.created``."""
    created = _signed(connection, office, events.DOCUMENT_CREATED.action, number)
    return local_day(created[0].recorded_at, office.timezone)


def propose(
    runtime: Runtime, *, office: OfficeRef, actor: Signer, records: Sequence[str]
) -> DisposalListRow:
    """A clerk or a quality coordinator proposes weeding ``records``: each in the record room,
    on no other list still to be weeded, its retention run out by today."""
    wanted = list(dict.fromkeys(number.strip() for number in records if number.strip()))
    if not wanted:
        raise RuleViolation(_("a disposal list names at least one record"))
    with runtime.unit_of_work() as work:
        connection = work.connection
        proposer, role = _signed_in(
            work, actor, office, events.DISPOSAL_PROPOSED, _("propose disposal lists")
        )
        _schedule(connection, office)
        schedules = recorded_schedules(connection, office.id)
        today = local_today(office.timezone)
        pending = _on_pending_lists(connection, office)
        for number in wanted:
            _weedable(connection, office, number, schedules, today)
            if number in pending:
                raise RuleViolation(
                    _("{number} is already on disposal list {list}").format(
                        number=number, list=pending[number]
                    )
                )
        now = utc_now()
        serial, year = next_serial(connection, DISPOSAL_LIST_TABLE, office.id, office.timezone, now)
        number = LIST_NUMBERING.format(office=office.code, year=year, serial=serial)
        record = work.append(
            office, proposer, events.DISPOSAL_PROPOSED, number, {"records": wanted}, role=role
        )
        connection.execute(
            insert(DISPOSAL_LIST_TABLE),
            {
                "office_id": office.id,
                "number": number,
                "serial_year": year,
                "serial": serial,
                "records": canonical_text(wanted),
                "proposed_by": proposer.id,
                "proposed_at": now,
                "event_seq": record.seq,
            },
        )
        return load_list(connection, number)


def approve(runtime: Runtime, *, number: str, actor: Signer, comment: str = "") -> DisposalListRow:
    """An approver who did not propose the list approves it, once."""
    return _decide(runtime, number, actor, comment, events.DISPOSAL_APPROVED)


def reject(runtime: Runtime, *, number: str, actor: Signer, comment: str) -> DisposalListRow:
    """An approver who did not propose the list rejects it, once, saying why: its records may
    then go on another list."""
    if is_blank(comment):
        raise InvalidInput(_("a rejection says why"), hint=_("give the reason: --comment TEXT"))
    return _decide(runtime, number, actor, comment, events.DISPOSAL_REJECTED)


def _decide(
    runtime: Runtime, number: str, actor: Signer, comment: str, kind: events.EventKind
) -> DisposalListRow:
    """Approve or reject (``kind``) list ``number``: once, never by its proposer."""
    comment = comment.strip()
    require_one_line(comment, "--comment")
    with runtime.engine.connect() as connection:
        office = _list_office(connection, number)
    with runtime.unit_of_work() as work:
        connection = work.connection
        doing = (
            _("reject disposal lists")
            if kind is events.DISPOSAL_REJECTED
            else _("approve disposal lists")
        )
        approver, role = _signed_in(work, actor, office, kind, doing)
        listed = load_list(connection, number)
        if listed.approved_by is not None:
            raise RuleViolation(
                _("{number} was already rejected by {who}").format(
                    number=number, who=listed.approved_by
                )
                if listed.rejected
                else _("{number} was already approved by {who}").format(
                    number=number, who=listed.approved_by
                )
            )
        if listed.proposed_by == approver.username:
            raise PermissionDenied(
                _(
                    "{who} proposed {number} and may not approve or reject it: segregation of "
                    "duties needs another approver"
                ).format(who=approver.username, number=number)
            )
        now = utc_now()
        record = work.append(office, approver, kind, number, {"comment": comment}, role=role)
        connection.execute(
            update(DISPOSAL_LIST_TABLE)
            .where(DISPOSAL_LIST_TABLE.c.number == number)
            .values(
                approved_by=approver.id,
                approved_at=now,
                approved_seq=record.seq,
                approval_comment=comment,
                rejected=kind is events.DISPOSAL_REJECTED,
            )
        )
        return load_list(connection, number)


def weed(runtime: Runtime, *, number: str, actor: Signer) -> list[KeptRecord]:
    """Weed (destroy) every record of approved disposal list ``number``, today: refused whole
    if the list is not approved, or if any record's retention has not run out today."""
    with runtime.engine.connect() as connection:
        office = _list_office(connection, number)
    with runtime.unit_of_work() as work:
        connection = work.connection
        clerk, role = _signed_in(work, actor, office, events.RECORDS_WEEDED, _("weed records"))
        listed = load_list(connection, number)
        if not _approved_in_chain(connection, office, number):
            raise RuleViolation(
                _(
                    "{number} is not approved: records are weeded only through an approved "
                    "disposal list"
                ).format(number=number),
                hint=_(
                    "an approver who did not propose it: qms record-room approve {number}"
                ).format(number=number),
            )
        if listed.weeded:
            raise RuleViolation(_("{number} was already weeded").format(number=number))
        schedules = recorded_schedules(connection, office.id)
        today = local_today(office.timezone)
        records = _proposed_in_chain(connection, office, number)
        for record in records:
            _weedable(connection, office, record, schedules, today)
        payload = {"on": today.isoformat(), "records": records}
        event = work.append(office, clerk, events.RECORDS_WEEDED, number, payload, role=role)
        connection.execute(
            update(RECORD_ROOM_TABLE)
            .where(
                RECORD_ROOM_TABLE.c.office_id == office.id,
                RECORD_ROOM_TABLE.c.number.in_(records),
            )
            .values(weeded_on=today, weeded_list=number, weeded_seq=event.seq)
        )
        return [
            kept
            for kept in list_kept(connection, office, include_weeded=True)
            if kept.number in records
        ]


def _approved_in_chain(connection: Connection, office: OfficeRef, number: str) -> bool:
    """Whether the chain holds the list's approval (and no rejection): the table is a
    projection an insider can edit, so the irreversible step reads the signed decision."""
    approved = _signed(connection, office, events.DISPOSAL_APPROVED.action, number)
    rejected = _signed(connection, office, events.DISPOSAL_REJECTED.action, number)
    return bool(approved) and not rejected


def _proposed_in_chain(connection: Connection, office: OfficeRef, number: str) -> list[str]:
    """The records the list's signed proposal names."""
    proposed = _signed(connection, office, events.DISPOSAL_PROPOSED.action, number)
    return [str(record) for record in json.loads(proposed[0].payload).get("records") or ()]


def _weedable(
    connection: Connection,
    office: OfficeRef,
    number: str,
    schedules: list[tuple[int, dict[str, int | None]]],
    today: date,
) -> None:
    """Refuse unless ``number`` is in the record room, not weeded, its retention run out."""
    kept = _kept(connection, office, number)
    if kept is None or kept.weeded_on is not None:
        raise RuleViolation(_("{number} is not in the record room").format(number=number))
    years = held_retention(schedules, kept.event_seq, kept.record_class)
    if years is None:
        raise RuleViolation(
            _("{number} is of class {code}, kept permanently: it is never weeded").format(
                number=number, code=kept.record_class
            )
        )
    ends = retention_ends(kept.closed_on, years)
    if today < ends:
        raise RuleViolation(
            _(
                "{number} is kept until {ends} ({years} years from its closing on {closed}): it "
                "cannot be weeded on {today}"
            ).format(
                number=number,
                ends=ends.isoformat(),
                years=years,
                closed=kept.closed_on.isoformat(),
                today=today.isoformat(),
            )
        )


def _with_retention(
    kept: KeptRecord, schedules: list[tuple[int, dict[str, int | None]]]
) -> KeptRecord:
    years = held_retention(schedules, kept.event_seq, kept.record_class)
    weed_from = None if years is None else retention_ends(kept.closed_on, years)
    return KeptRecord(
        kept.number,
        kept.record_class,
        kept.closed_on,
        weed_from,
        kept.event_seq,
        kept.weeded_on,
        kept.weeded_list,
    )


def _kept_row(row: Row[Any]) -> KeptRecord:
    return KeptRecord(
        row.number,
        row.record_class,
        row.closed_on,
        None,
        row.event_seq,
        row.weeded_on,
        row.weeded_list,
    )


def _kept(connection: Connection, office: OfficeRef, number: str) -> KeptRecord | None:
    row = connection.execute(
        select(RECORD_ROOM_TABLE).where(
            RECORD_ROOM_TABLE.c.office_id == office.id, RECORD_ROOM_TABLE.c.number == number
        )
    ).first()
    return None if row is None else _kept_row(row)


def list_kept(
    connection: Connection, office: OfficeRef, *, include_weeded: bool = False
) -> list[KeptRecord]:
    """The records in the office's record room (weeded ones too if asked), with the first day
    each may be weeded by the recorded schedule."""
    query = select(RECORD_ROOM_TABLE).where(RECORD_ROOM_TABLE.c.office_id == office.id)
    if not include_weeded:
        query = query.where(RECORD_ROOM_TABLE.c.weeded_on.is_(None))
    schedules = recorded_schedules(connection, office.id)
    return [
        _with_retention(_kept_row(row), schedules)
        for row in connection.execute(query.order_by(RECORD_ROOM_TABLE.c.id))
    ]


_APPROVER = USER_TABLE.alias("approver")
_LISTS = (
    select(
        DISPOSAL_LIST_TABLE.c.number,
        DISPOSAL_LIST_TABLE.c.records,
        DISPOSAL_LIST_TABLE.c.event_seq,
        DISPOSAL_LIST_TABLE.c.rejected,
        USER_TABLE.c.username.label("proposer"),
        _APPROVER.c.username.label("approver"),
    )
    .join(USER_TABLE, USER_TABLE.c.id == DISPOSAL_LIST_TABLE.c.proposed_by)
    .outerjoin(_APPROVER, _APPROVER.c.id == DISPOSAL_LIST_TABLE.c.approved_by)
)


def _weeded_lists(connection: Connection, office: OfficeRef) -> set[str]:
    return set(
        connection.execute(
            select(RECORD_ROOM_TABLE.c.weeded_list).where(
                RECORD_ROOM_TABLE.c.office_id == office.id,
                RECORD_ROOM_TABLE.c.weeded_list.is_not(None),
            )
        ).scalars()
    )


def _list_row(row: Any, weeded: set[str]) -> DisposalListRow:
    return DisposalListRow(
        row.number,
        list(json.loads(row.records)),
        row.proposer,
        row.approver,
        row.event_seq,
        row.number in weeded,
        bool(row.rejected),
    )


def load_list(connection: Connection, number: str) -> DisposalListRow:
    """Disposal list ``number``, or NotFound."""
    row = connection.execute(_LISTS.where(DISPOSAL_LIST_TABLE.c.number == number)).first()
    if row is None:
        raise NotFound(
            _("no disposal list {number}").format(number=number),
            hint=_("`qms record-room list` lists them"),
        )
    office = _list_office(connection, number)
    return _list_row(row, _weeded_lists(connection, office))


def disposal_lists(connection: Connection, office: OfficeRef) -> list[DisposalListRow]:
    """The office's disposal lists, oldest first."""
    weeded = _weeded_lists(connection, office)
    rows = connection.execute(
        _LISTS.where(DISPOSAL_LIST_TABLE.c.office_id == office.id).order_by(
            DISPOSAL_LIST_TABLE.c.id
        )
    )
    return [_list_row(row, weeded) for row in rows]


def _on_pending_lists(connection: Connection, office: OfficeRef) -> dict[str, str]:
    """Record → the list not yet weeded nor rejected that names it."""
    return {
        record: listed.number
        for listed in disposal_lists(connection, office)
        if not listed.weeded and not listed.rejected
        for record in listed.records
    }


def _list_office(connection: Connection, number: str) -> OfficeRef:
    row = connection.execute(
        select(OFFICE_TABLE)
        .join(DISPOSAL_LIST_TABLE, DISPOSAL_LIST_TABLE.c.office_id == OFFICE_TABLE.c.id)
        .where(DISPOSAL_LIST_TABLE.c.number == number)
    ).first()
    if row is None:
        raise NotFound(
            _("no disposal list {number}").format(number=number),
            hint=_("`qms record-room list` lists them"),
        )
    return OfficeRef(row.id, row.code, row.name, row.office_type, row.timezone)
