"""The rules of citizen-charter services and the record room, checked from the chain alone.

The verifier (:mod:`qms_engine.chain.verifier`) hands each event of :data:`KINDS` to
:class:`ServiceRules`, so an insider who writes the database, or holds a valid key, cannot
record what these rules forbid without ``qms audit verify`` failing, online and on a bundle:

- the charter (``service.charter.recorded``: desks, and services each with a time limit in
  days and a desk) and the retention schedule (``record_room.schedule.recorded``: record
  classes, each kept a number of years, or permanently) are recorded by an admin; the latest
  of each is in force;
- an application is received once, for a service of the charter in force, at that service's
  desk, on a real day no later than the event (a day's grace for the office's time zone) and
  at most :data:`MAX_BACKDATE_DAYS` before it, and is due exactly the service's days after
  the day received; it is disposed of once, not before the day it was received, nor after the
  event;
- a record deposited in the record room is a document of this chain, deposited once, in a
  class of the schedule in force, closed no later than the event;
- a disposal list names records deposited and not yet weeded; it is approved once, by an
  approver who did not propose it; records are weeded only from an approved list, each once,
  and only when, on the day weeded (``on``, within a day of the event), its class's retention
  has run out: ``closed`` plus the class's years is no later than ``on``.  A record of a
  permanent class is never weeded.

State is kept per application, record and list (small), never per event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, select

from qms_engine.chain import events
from qms_engine.chain.authorisation import Attempt
from qms_engine.chain.capa_rules import _day as day_of
from qms_engine.chain.capa_rules import _shifted as shifted
from qms_engine.chain.capa_rules import _texts
from qms_engine.clock import years_after
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
        events.RECORDS_WEEDED,
    )
)
"""The event kinds whose rules live here."""

GRACE = timedelta(days=1)
"""Days a person gives are compared with the event's UTC date with a day's grace: the write
path uses the office's local date, which may be a day ahead of or behind UTC."""


class ChainFacts(Protocol):
    """What these rules read of the verifier's state: the documents of the chain."""

    document_type: dict[str, str]
    weeded: set[str]
    """Records weeded so far: kept here, read by the custody rules (nothing moves after)."""

    def problem(self, seq: int, what: str, rank: int = 2) -> None: ...


def recorded_services(payload: Mapping[str, Any]) -> dict[str, tuple[int, str]]:
    """The services a ``service.charter.recorded`` payload names: code → (days, desk)."""
    found = {}
    for item in payload.get("services") or ():
        if isinstance(item, Mapping) and type(item.get("days")) is int:
            found[str(item.get("code"))] = (int(item["days"]), str(item.get("desk")))
    return found


def recorded_classes(payload: Mapping[str, Any]) -> dict[str, int | None]:
    """The classes a ``record_room.schedule.recorded`` payload names: code → retention years
    (None: permanent)."""
    found: dict[str, int | None] = {}
    for item in payload.get("classes") or ():
        if isinstance(item, Mapping):
            years = item.get("retention_years")
            found[str(item.get("code"))] = years if type(years) is int else None
    return found


def retention_ends(closed: date, years: int) -> date:
    """The first day a record closed on ``closed`` may be weeded (held within the calendar)."""
    try:
        return years_after(closed, years)
    except (OverflowError, ValueError):
        return date.max


@dataclass(slots=True)
class _Application:
    received: date | None
    disposed: bool = False


@dataclass(slots=True)
class _Record:
    record_class: str
    closed: date | None
    weeded: bool = False


@dataclass(slots=True)
class _List:
    proposer: str
    records: frozenset[str]
    approved: bool = False


@dataclass
class ServiceRules:
    """Per-chain service and record-room state and checks; ``chain`` is the verifier's."""

    chain: ChainFacts
    services: dict[str, tuple[int, str]] | None = None
    """The charter in force (None: none recorded yet)."""
    classes: dict[str, int | None] | None = None
    """The retention schedule in force (None: none recorded yet)."""
    applications: dict[str, _Application] = field(default_factory=dict)
    records: dict[str, _Record] = field(default_factory=dict)
    lists: dict[str, _List] = field(default_factory=dict)

    def apply(self, seq: int, action: str, attempt: Attempt, time: str) -> None:
        """Check one event of :data:`KINDS` against the chain so far, then take it in."""
        today = day_of(time[:10]) or date.min
        handler = {
            events.CHARTER_RECORDED.action: self._charter,
            events.SCHEDULE_RECORDED.action: self._schedule,
            events.APPLICATION_RECEIVED.action: self._received,
            events.APPLICATION_DISPOSED.action: self._disposed,
            events.RECORD_DEPOSITED.action: self._deposited,
            events.DISPOSAL_PROPOSED.action: self._proposed,
            events.DISPOSAL_APPROVED.action: self._approved,
            events.RECORDS_WEEDED.action: self._weeded,
        }[action]
        handler(seq, attempt, today)

    def _say(self, seq: int, subject: str, what: str) -> None:
        self.chain.problem(seq, f"{subject}: {what}")

    # ------------------------------------------------------------------ the charter

    def _charter(self, seq: int, attempt: Attempt, today: date) -> None:
        payload = attempt.payload
        desks = {str(d.get("code")) for d in payload.get("desks") or () if isinstance(d, Mapping)}
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

    def _received(self, seq: int, attempt: Attempt, today: date) -> None:
        number, payload = attempt.subject, attempt.payload
        if number in self.applications:
            self._say(seq, number, _("the application is received a second time"))
            return
        received = day_of(payload.get("received"))
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
        earliest = shifted(today, -GRACE - timedelta(days=MAX_BACKDATE_DAYS))
        if not earliest <= received <= shifted(today, GRACE):
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
        due = shifted(received, timedelta(days=days))
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
        disposed = day_of(attempt.payload.get("disposed"))
        if disposed is None:
            self._say(seq, number, _("its day of disposal is no real date"))
        elif disposed > shifted(today, GRACE) or (
            application.received is not None and disposed < application.received
        ):
            self._say(
                seq,
                number,
                _(
                    "disposed of on {disposed}: not before its receipt, nor after the day it is "
                    "recorded ({today})"
                ).format(disposed=disposed.isoformat(), today=today),
            )

    # ------------------------------------------------------------------ the record room

    def _deposited(self, seq: int, attempt: Attempt, today: date) -> None:
        number, payload = attempt.subject, attempt.payload
        if number in self.records:
            self._say(seq, number, _("the record is deposited a second time"))
            return
        closed = day_of(payload.get("closed"))
        record_class = str(payload.get("class", ""))
        self.records[number] = _Record(record_class, closed)
        if number not in self.chain.document_type:
            self._say(seq, number, _("deposited, but no document of this chain has that number"))
        if self.classes is None or record_class not in self.classes:
            self._say(
                seq,
                number,
                _("record class {code} is not in the retention schedule in force").format(
                    code=record_class
                ),
            )
        if closed is None or closed > shifted(today, GRACE):
            self._say(
                seq,
                number,
                _("closed on {closed}: no real date, or later than its deposit").format(
                    closed=payload.get("closed")
                ),
            )

    def _proposed(self, seq: int, attempt: Attempt, today: date) -> None:
        number = attempt.subject
        if number in self.lists:
            self._say(seq, number, _("the disposal list is proposed a second time"))
            return
        wanted = _texts(attempt.payload.get("records"))
        self.lists[number] = _List(attempt.actor, frozenset(wanted))
        for record in wanted:
            known = self.records.get(record)
            if known is None or known.weeded:
                self._say(
                    seq,
                    number,
                    _("lists {record}, which is not in the record room").format(record=record),
                )

    def _approved(self, seq: int, attempt: Attempt, today: date) -> None:
        number = attempt.subject
        listed = self.lists.get(number)
        if listed is None:
            self._say(seq, number, _("approved, but no such disposal list was proposed"))
            return
        if listed.approved:
            self._say(seq, number, _("the disposal list is approved a second time"))
        if attempt.actor == listed.proposer:
            self._say(
                seq,
                number,
                _(
                    "{actor} proposed this disposal list and may not approve it: segregation of "
                    "duties needs another person"
                ).format(actor=repr(attempt.actor)),
            )
        listed.approved = True

    def _weeded(self, seq: int, attempt: Attempt, today: date) -> None:
        number, payload = attempt.subject, attempt.payload
        listed = self.lists.get(number)
        if listed is None or not listed.approved:
            self._say(seq, number, _("records weeded without an approved disposal list"))
        on = day_of(payload.get("on"))
        if on is None or abs(on - today) > GRACE:
            self._say(
                seq,
                number,
                _("weeded on {on}, recorded on {today}: the day weeded is the day recorded").format(
                    on=payload.get("on"), today=today.isoformat()
                ),
            )
        for record in _texts(payload.get("records")):
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
        years = (self.classes or {}).get(known.record_class)
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
