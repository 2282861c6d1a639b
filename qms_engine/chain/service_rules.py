"""The rules of citizen-charter services and the record room, checked from the chain alone.

The verifier (:mod:`qms_engine.chain.verifier`) hands each event of :data:`KINDS` to
:class:`ServiceRules`, so an insider who writes the database, or holds a valid key, cannot
record what these rules forbid without ``qms audit verify`` failing, online and on a bundle:

- the charter (``service.charter.recorded``: desks, and services each with a time limit in
  days and a desk) and the retention schedule (``record_room.schedule.recorded``: record
  classes, each kept a number of years, or permanently) are recorded by an admin; the latest
  of each is in force;
- an event's *local day* is the date of its time in the office's time zone (the
  ``timezone`` of ``office.created``), the day the engine calls today;
- an application is received once, for a service of the charter in force, at that service's
  desk, on a real day no later than the event's local day and at most
  :data:`MAX_BACKDATE_DAYS` before it, and is due exactly the service's days after the day
  received; it is disposed of once, on the local day of its event (never backdated, so a late
  disposal stays late), not before the day it was received;
- a record deposited in the record room is a register record of this chain (not a controlled
  document such as an SOP), deposited once, in a class of the schedule in force, closed on a
  day from its creation's local day to the deposit's; when its type keeps a chain of custody,
  it is at ``record_room`` then;
- a record is held to the retention of its class in the schedule in force at its deposit, or
  the longest a later schedule gives its class (a schedule change never shortens it);
- a disposal list names records deposited, not yet weeded and on no other open list; it is
  approved or rejected once, by an approver who did not propose it (a rejected list frees its
  records); records are weeded only from an approved list, each once, and only when, on the
  day weeded (``on``, the event's local day), its retention has run out: ``closed`` plus its
  years (29 February: 1 March) is no later than ``on``.  A permanent record is never weeded.

State is kept per application, record and list (small), never per event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, select

from qms_engine.chain import events
from qms_engine.chain.authorisation import Attempt, chain_day, shifted_day, texts_of
from qms_engine.clock import DEFAULT_TIMEZONE, from_utc_text, zone
from qms_engine.errors import ConfigurationError
from qms_engine.i18n import _
from qms_engine.rules.service_terms import MAX_BACKDATE_DAYS
from qms_engine.storage.models import EVENT_TABLE

KINDS = frozenset(
    kind.action
    for kind in (
        events.CHARTER_RECORDED,
        events.SCHEDULE_RECORDED,
        events.APPLICATION_RECEIVED,
        events.APPLICATION_DISPOSED,
        events.RECORD_DEPOSITED,
        events.DISPOSAL_PROPOSED,
        events.DISPOSAL_APPROVED,
        events.DISPOSAL_REJECTED,
        events.RECORDS_WEEDED,
    )
)
"""The event kinds whose rules live here."""

SEEN = frozenset((events.OFFICE_CREATED.action, events.DOCUMENT_CREATED.action))
"""Event kinds other rules check, from which these rules take the office's time zone and
each record's day of creation (:meth:`ServiceRules.seen`)."""

RECORD_ROOM_PLACE = "record_room"
"""The place of custody a record is at when it is deposited (when its type keeps custody)."""


class CustodyFacts(Protocol):
    """What these rules read of the custody rules' state."""

    rules: dict[str, Mapping[str, Any]]
    at: dict[str, str]


class ChainFacts(Protocol):
    """What these rules read of the verifier's state: the documents of the chain."""

    document_type: dict[str, str]
    type_kind: dict[str, str]
    custody: Any
    """The custody rules' state (:class:`CustodyFacts`)."""
    weeded: set[str]
    """Records weeded so far: kept here, read by the custody rules (nothing moves after)."""

    def problem(self, seq: int, what: str, rank: int = 2) -> None: ...


def _items(value: object) -> list[Any]:
    """The items of a list member (anything else, malformed, names none: the shape check
    reports it)."""
    return list(value) if isinstance(value, list) else []


def recorded_services(payload: Mapping[str, Any]) -> dict[str, tuple[int, str]]:
    """The services a ``service.charter.recorded`` payload names: code → (days, desk)."""
    found = {}
    for item in _items(payload.get("services")):
        if isinstance(item, Mapping) and type(item.get("days")) is int:
            found[str(item.get("code"))] = (int(item["days"]), str(item.get("desk")))
    return found


def recorded_classes(payload: Mapping[str, Any]) -> dict[str, int | None]:
    """The classes a ``record_room.schedule.recorded`` payload names: code → retention years
    (None: permanent)."""
    found: dict[str, int | None] = {}
    for item in _items(payload.get("classes")):
        if isinstance(item, Mapping):
            years = item.get("retention_years")
            found[str(item.get("code"))] = years if type(years) is int else None
    return found


def retention_ends(closed: date, years: int) -> date:
    """The first day a record closed on ``closed`` may be weeded: ``years`` full years on (a
    29 February's ends on 1 March, never a day early), held within the calendar."""
    try:
        return closed.replace(year=closed.year + years)
    except ValueError:
        if closed.year + years > date.max.year:
            return date.max
        return date(closed.year + years, 3, 1)


def longest(held: int | None, given: int | None) -> int | None:
    """The longer of two retentions in years (None, permanent, is the longest)."""
    return None if held is None or given is None else max(held, given)


def held_retention(
    schedules: Iterable[tuple[int, Mapping[str, int | None]]], deposited: int, record_class: str
) -> int | None:
    """The years a record of ``record_class`` deposited by event ``deposited`` is kept, given
    the schedules recorded (event seq, classes; oldest first): its class's in the schedule in
    force at its deposit, or the longest a later schedule gives it (None: permanently)."""
    held: int | None = None
    for seq, classes in schedules:
        if record_class not in classes:
            continue
        years = classes[record_class]
        held = years if seq < deposited else longest(held, years)
    return held


def local_day(time: str, timezone: str) -> date:
    """The office's calendar day at an event's UTC ``time`` (its UTC date when the zone is
    unknown: the register rules report that)."""
    try:
        moment = from_utc_text(time)
    except ValueError:  # the verifier reports a malformed time
        return chain_day(time[:10]) or date.min
    try:
        return moment.astimezone(zone(timezone)).date()
    except ConfigurationError:
        return moment.date()


@dataclass(slots=True)
class _Application:
    received: date | None
    disposed: bool = False


@dataclass(slots=True)
class _Record:
    record_class: str
    closed: date | None
    years: int | None
    """The retention it is held to (None: permanent)."""
    weeded: bool = False


@dataclass(slots=True)
class _List:
    proposer: str
    records: frozenset[str]
    approved: bool = False
    rejected: bool = False


@dataclass
class ServiceRules:
    """Per-chain service and record-room state and checks; ``chain`` is the verifier's."""

    chain: ChainFacts
    timezone: str = DEFAULT_TIMEZONE
    created: dict[str, date] = field(default_factory=dict)
    """Record number → the local day it was created."""
    services: dict[str, tuple[int, str]] | None = None
    """The charter in force (None: none recorded yet)."""
    classes: dict[str, int | None] | None = None
    """The retention schedule in force (None: none recorded yet)."""
    applications: dict[str, _Application] = field(default_factory=dict)
    records: dict[str, _Record] = field(default_factory=dict)
    lists: dict[str, _List] = field(default_factory=dict)

    def seen(self, action: str, attempt: Attempt, time: str) -> None:
        """Take in the office's time zone, or a record's day of creation (:data:`SEEN`)."""
        if action == events.OFFICE_CREATED.action:
            self.timezone = str(attempt.payload.get("timezone") or DEFAULT_TIMEZONE)
        elif action == events.DOCUMENT_CREATED.action:
            self.created.setdefault(attempt.subject, local_day(time, self.timezone))

    def apply(self, seq: int, action: str, attempt: Attempt, time: str) -> None:
        """Check one event of :data:`KINDS` against the chain so far, then take it in."""
        today = local_day(time, self.timezone)
        handler = {
            events.CHARTER_RECORDED.action: self._charter,
            events.SCHEDULE_RECORDED.action: self._schedule,
            events.APPLICATION_RECEIVED.action: self._received,
            events.APPLICATION_DISPOSED.action: self._disposed,
            events.RECORD_DEPOSITED.action: self._deposited,
            events.DISPOSAL_PROPOSED.action: self._proposed,
            events.DISPOSAL_APPROVED.action: self._approved,
            events.DISPOSAL_REJECTED.action: self._rejected,
            events.RECORDS_WEEDED.action: self._weeded,
        }[action]
        handler(seq, attempt, today)

    def _say(self, seq: int, subject: str, what: str) -> None:
        self.chain.problem(seq, f"{subject}: {what}")

    # ------------------------------------------------------------------ the charter

    def _charter(self, seq: int, attempt: Attempt, today: date) -> None:
        payload = attempt.payload
        desks = {str(d.get("code")) for d in _items(payload.get("desks")) if isinstance(d, Mapping)}
        self.services = recorded_services(payload)
        for code, (_days, desk) in sorted(self.services.items()):
            if desk not in desks:
                self._say(
                    seq,
                    attempt.subject,
                    _(
                        "service {service} is handled at desk {desk}, which the charter does not "
                        "list"
                    ).format(service=code, desk=desk),
                )

    def _schedule(self, seq: int, attempt: Attempt, today: date) -> None:
        self.classes = recorded_classes(attempt.payload)
        for record in self.records.values():
            if record.record_class in self.classes:
                record.years = longest(record.years, self.classes[record.record_class])

    def _received(self, seq: int, attempt: Attempt, today: date) -> None:
        number, payload = attempt.subject, attempt.payload
        if number in self.applications:
            self._say(seq, number, _("the application is received a second time"))
            return
        received = chain_day(payload.get("received"))
        self.applications[number] = _Application(received)
        service = str(payload.get("service", ""))
        if self.services is None:
            self._say(seq, number, _("an application before any citizen charter was recorded"))
            return
        if service not in self.services:
            self._say(
                seq,
                number,
                _("service {service} is not in the citizen charter in force").format(
                    service=service
                ),
            )
            return
        days, desk = self.services[service]
        if payload.get("desk") != desk:
            self._say(
                seq,
                number,
                _("received at desk {given}; the charter handles {service} at {desk}").format(
                    given=payload.get("desk"), service=service, desk=desk
                ),
            )
        if received is None:
            self._say(seq, number, _("its day of receipt is no real date"))
            return
        earliest = shifted_day(today, -timedelta(days=MAX_BACKDATE_DAYS))
        if not earliest <= received <= today:
            self._say(
                seq,
                number,
                _(
                    "received on {received}, recorded on {today}: an application is entered "
                    "within {days} days of its receipt, never before it"
                ).format(
                    received=received.isoformat(), today=today.isoformat(), days=MAX_BACKDATE_DAYS
                ),
            )
            return
        due = shifted_day(received, timedelta(days=days))
        if payload.get("due") != due.isoformat():
            self._say(
                seq,
                number,
                _("due {given}, but the charter gives {service} {days} days: due {due}").format(
                    given=payload.get("due"), service=service, days=days, due=due.isoformat()
                ),
            )

    def _disposed(self, seq: int, attempt: Attempt, today: date) -> None:
        number = attempt.subject
        application = self.applications.get(number)
        if application is None:
            self._say(seq, number, _("disposed of, but never received in this chain"))
            return
        if application.disposed:
            self._say(seq, number, _("the application is disposed of a second time"))
            return
        application.disposed = True
        disposed = chain_day(attempt.payload.get("disposed"))
        if disposed is None:
            self._say(seq, number, _("its day of disposal is no real date"))
        elif disposed != today or (
            application.received is not None and disposed < application.received
        ):
            self._say(
                seq,
                number,
                _(
                    "disposed of on {disposed}, recorded on {today}: an application is disposed "
                    "of on the day it is recorded, not before its receipt"
                ).format(disposed=disposed.isoformat(), today=today.isoformat()),
            )

    # ------------------------------------------------------------------ the record room

    def _deposited(self, seq: int, attempt: Attempt, today: date) -> None:
        number, payload = attempt.subject, attempt.payload
        if number in self.records:
            self._say(seq, number, _("the record is deposited a second time"))
            return
        closed = chain_day(payload.get("closed"))
        record_class = str(payload.get("class", ""))
        years = (self.classes or {}).get(record_class)
        self.records[number] = _Record(record_class, closed, years)
        type_code = self.chain.document_type.get(number)
        if type_code is None:
            self._say(seq, number, _("deposited, but no document of this chain has that number"))
        elif self.chain.type_kind.get(type_code) != "register":
            self._say(
                seq,
                number,
                _(
                    "deposited, but it is a controlled document of type {type}, no register record"
                ).format(type=type_code),
            )
        else:
            self._at_record_room(seq, number, type_code)
        if self.classes is None or record_class not in self.classes:
            self._say(
                seq,
                number,
                _("record class {code} is not in the retention schedule in force").format(
                    code=record_class
                ),
            )
        created = self.created.get(number, date.min)
        if closed is None or not created <= closed <= today:
            self._say(
                seq,
                number,
                _(
                    "closed on {closed}: no real date, or not from the day it was created "
                    "({created}) to the day of its deposit ({today})"
                ).format(
                    closed=payload.get("closed"),
                    created=self.created[number].isoformat() if number in self.created else "?",
                    today=today.isoformat(),
                ),
            )

    def _at_record_room(self, seq: int, number: str, type_code: str) -> None:
        """A record whose type keeps custody is deposited only once it is at the record room."""
        custody = self.chain.custody.rules.get(type_code)
        if custody is None:
            return
        at = self.chain.custody.at.get(number, str(custody.get("home", "")))
        if at != RECORD_ROOM_PLACE:
            self._say(
                seq,
                number,
                _("deposited while its custody says it is at {place}, not the record room").format(
                    place=at
                ),
            )

    def _proposed(self, seq: int, attempt: Attempt, today: date) -> None:
        number = attempt.subject
        if number in self.lists:
            self._say(seq, number, _("the disposal list is proposed a second time"))
            return
        wanted = texts_of(attempt.payload.get("records"))
        open_lists = {
            record: name
            for name, listed in self.lists.items()
            if not listed.rejected
            for record in listed.records
            if not self.records.get(record, _Record("", None, None, weeded=True)).weeded
        }
        self.lists[number] = _List(attempt.actor, frozenset(wanted))
        for record in wanted:
            known = self.records.get(record)
            if known is None or known.weeded:
                self._say(
                    seq,
                    number,
                    _("lists {record}, which is not in the record room").format(record=record),
                )
            elif record in open_lists:
                self._say(
                    seq,
                    number,
                    _("lists {record}, which is on open disposal list {list}").format(
                        record=record, list=open_lists[record]
                    ),
                )

    def _approved(self, seq: int, attempt: Attempt, today: date) -> None:
        self._decided(seq, attempt, rejected=False)

    def _rejected(self, seq: int, attempt: Attempt, today: date) -> None:
        self._decided(seq, attempt, rejected=True)

    def _decided(self, seq: int, attempt: Attempt, *, rejected: bool) -> None:
        """A list approved or rejected: once, by someone other than its proposer."""
        number = attempt.subject
        listed = self.lists.get(number)
        if listed is None:
            self._say(
                seq, number, _("approved or rejected, but no such disposal list was proposed")
            )
            return
        if listed.approved or listed.rejected:
            self._say(seq, number, _("the disposal list was already approved or rejected"))
        if attempt.actor == listed.proposer:
            self._say(
                seq,
                number,
                _(
                    "{actor} proposed this disposal list and may not decide on it: segregation "
                    "of duties needs another person"
                ).format(actor=repr(attempt.actor)),
            )
        if rejected:
            listed.rejected = True
        else:
            listed.approved = True

    def _weeded(self, seq: int, attempt: Attempt, today: date) -> None:
        number, payload = attempt.subject, attempt.payload
        listed = self.lists.get(number)
        if listed is None or not listed.approved or listed.rejected:
            self._say(seq, number, _("records weeded without an approved disposal list"))
        on = chain_day(payload.get("on"))
        if on != today:
            self._say(
                seq,
                number,
                _("weeded on {on}, recorded on {today}: the day weeded is the day recorded").format(
                    on=payload.get("on"), today=today.isoformat()
                ),
            )
        for record in texts_of(payload.get("records")):
            self._weed(seq, number, record, listed, on)

    def _weed(
        self, seq: int, number: str, record: str, listed: _List | None, on: date | None
    ) -> None:
        known = self.records.get(record)
        if listed is not None and record not in listed.records:
            self._say(seq, number, _("weeds {record}, not on the list").format(record=record))
        if known is None or known.weeded:
            self._say(
                seq,
                number,
                _("weeds {record}, which is not in the record room").format(record=record),
            )
            return
        known.weeded = True
        self.chain.weeded.add(record)
        years = known.years
        if years is None:
            self._say(
                seq,
                number,
                _("weeds {record}, of class {code}, which is kept permanently").format(
                    record=record, code=known.record_class
                ),
            )
            return
        ends = retention_ends(known.closed or date.max, years)
        if on is not None and on < ends:
            self._say(
                seq,
                number,
                _(
                    "weeds {record} on {on}, before its retention of {years} years ends on {ends}"
                ).format(record=record, on=on.isoformat(), years=years, ends=ends.isoformat()),
            )


def recorded(connection: Connection, office_id: int, kind: events.EventKind) -> dict[str, Any]:
    """The payload of the office's latest event of ``kind`` (the charter or the schedule in
    force), read from its chain; empty when none was recorded."""
    payload = connection.execute(
        select(EVENT_TABLE.c.payload)
        .where(EVENT_TABLE.c.office_id == office_id, EVENT_TABLE.c.action == kind.action)
        .order_by(EVENT_TABLE.c.seq.desc())
        .limit(1)
    ).scalar()
    return dict(json.loads(payload)) if payload else {}


def recorded_schedules(
    connection: Connection, office_id: int
) -> list[tuple[int, dict[str, int | None]]]:
    """Every retention schedule the office's chain recorded: (event seq, classes), oldest
    first (for :func:`held_retention`)."""
    rows = connection.execute(
        select(EVENT_TABLE.c.seq, EVENT_TABLE.c.payload)
        .where(
            EVENT_TABLE.c.office_id == office_id,
            EVENT_TABLE.c.action == events.SCHEDULE_RECORDED.action,
        )
        .order_by(EVENT_TABLE.c.seq)
    )
    return [(seq, recorded_classes(json.loads(payload))) for seq, payload in rows]
