"""The record room: records deposited by class, weeded only through an approved disposal list.

A clerk deposits a record of the office (a closed file, ``record_room.record.deposited``) in a
class of the retention schedule the office's chain recorded, saying the day the file was
closed.  A clerk or a quality coordinator proposes a disposal list of deposited records whose
retention has run out (``record_room.disposal.proposed``); an approver other than the proposer
approves it (``record_room.disposal.approved``); then its records are weeded
(``record_room.records.weeded``), each only if its retention has run out on that day: the day
closed plus the class's years.  A permanent class is never weeded.  Every step is signed, and
``qms audit verify`` checks the same rules from the chain alone
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
from qms_engine.chain.service_rules import recorded, recorded_classes, retention_ends
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import local_today, utc_now
from qms_engine.errors import NotFound, PermissionDenied, RuleViolation, known_value
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    DISPOSAL_LIST_TABLE,
    DOCUMENT_TABLE,
    OFFICE_TABLE,
    RECORD_ROOM_TABLE,
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
    event_seq: int
    weeded: bool


def _schedule(connection: Connection, office: OfficeRef) -> dict[str, int | None]:
    classes = recorded_classes(recorded(connection, office.id, events.SCHEDULE_RECORDED))
    if not classes:
        raise RuleViolation(
            _("{office} has no retention schedule recorded in its audit trail").format(
                office=office.code
            )
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
        document = connection.execute(
            select(DOCUMENT_TABLE.c.number).where(
                DOCUMENT_TABLE.c.office_id == office.id, DOCUMENT_TABLE.c.number == number
            )
        ).scalar()
        if document is None:
            raise NotFound(
                _("{office} has no record {number}").format(office=office.code, number=number),
                hint=_("`qms doc list` lists the office's records"),
            )
        if _kept(connection, office, number) is not None:
            raise RuleViolation(_("{number} is already in the record room").format(number=number))
        today = local_today(office.timezone)
        if closed > today:
            raise RuleViolation(
                _("the file cannot be closed on {closed}, after today ({today})").format(
                    closed=closed.isoformat(), today=today.isoformat()
                )
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
    return _with_retention(kept, classes)


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
        classes = _schedule(connection, office)
        today = local_today(office.timezone)
        pending = _on_pending_lists(connection, office)
        for number in wanted:
            _weedable(connection, office, number, classes, today)
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
    with runtime.engine.connect() as connection:
        office = _list_office(connection, number)
    with runtime.unit_of_work() as work:
        connection = work.connection
        approver, role = _signed_in(
            work, actor, office, events.DISPOSAL_APPROVED, _("approve disposal lists")
        )
        listed = load_list(connection, number)
        if listed.approved_by is not None:
            raise RuleViolation(
                _("{number} was already approved by {who}").format(
                    number=number, who=listed.approved_by
                )
            )
        if listed.proposed_by == approver.username:
            raise PermissionDenied(
                _(
                    "{who} proposed {number} and may not approve it: segregation of duties needs "
                    "another approver"
                ).format(who=approver.username, number=number)
            )
        now = utc_now()
        record = work.append(
            office,
            approver,
            events.DISPOSAL_APPROVED,
            number,
            {"comment": comment.strip()},
            role=role,
        )
        connection.execute(
            update(DISPOSAL_LIST_TABLE)
            .where(DISPOSAL_LIST_TABLE.c.number == number)
            .values(
                approved_by=approver.id,
                approved_at=now,
                approved_seq=record.seq,
                approval_comment=comment.strip(),
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
        if listed.approved_by is None:
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
        classes = _schedule(connection, office)
        today = local_today(office.timezone)
        for record in listed.records:
            _weedable(connection, office, record, classes, today)
        payload = {"on": today.isoformat(), "records": listed.records}
        event = work.append(office, clerk, events.RECORDS_WEEDED, number, payload, role=role)
        connection.execute(
            update(RECORD_ROOM_TABLE)
            .where(
                RECORD_ROOM_TABLE.c.office_id == office.id,
                RECORD_ROOM_TABLE.c.number.in_(listed.records),
            )
            .values(weeded_on=today, weeded_list=number, weeded_seq=event.seq)
        )
        return [
            _with_retention(kept, classes)
            for kept in list_kept(connection, office, include_weeded=True)
            if kept.number in listed.records
        ]


def _weedable(
    connection: Connection,
    office: OfficeRef,
    number: str,
    classes: dict[str, int | None],
    today: date,
) -> None:
    """Refuse unless ``number`` is in the record room, not weeded, its retention run out."""
    kept = _kept(connection, office, number)
    if kept is None or kept.weeded_on is not None:
        raise RuleViolation(_("{number} is not in the record room").format(number=number))
    years = classes.get(kept.record_class)
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


def _with_retention(kept: KeptRecord, classes: dict[str, int | None]) -> KeptRecord:
    years = classes.get(kept.record_class)
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
    classes = recorded_classes(recorded(connection, office.id, events.SCHEDULE_RECORDED))
    return [
        _with_retention(_kept_row(row), classes)
        for row in connection.execute(query.order_by(RECORD_ROOM_TABLE.c.id))
    ]


_APPROVER = USER_TABLE.alias("approver")
_LISTS = (
    select(
        DISPOSAL_LIST_TABLE.c.number,
        DISPOSAL_LIST_TABLE.c.records,
        DISPOSAL_LIST_TABLE.c.event_seq,
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
    """Record → the list not yet weeded that names it."""
    return {
        record: listed.number
        for listed in disposal_lists(connection, office)
        if not listed.weeded
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
