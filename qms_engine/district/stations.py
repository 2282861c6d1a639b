"""A district's stations: which offices an SP office oversees, and how each one's chain is read.

A station is one of the district's in one of two ways, each recorded in the SP office's chain:
an office of the same (shared) database joins it (``district.station.joined``), or the SP
office imports the station's audit bundles (``district.bundle.imported``, see
:mod:`.imports`), keeping its events in ``district_event``.  Either way :func:`station_chain`
streams the station's chain as a verifier reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from qms_engine.chain import events
from qms_engine.chain.encoding import ChainEvent
from qms_engine.chain.reader import stored_chain
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef, UnitOfWork
from qms_engine.errors import NotFound, RuleViolation
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    DISTRICT_EVENT_TABLE,
    DISTRICT_STATION_TABLE,
    EVENT_TABLE,
    OFFICE_TABLE,
)


@dataclass(frozen=True)
class Station:
    """A station as the district holds it."""

    id: int
    code: str
    name: str
    office_type: str
    timezone: str
    office_id: int | None
    """Its office in this database (shared), or None when seen through its bundles."""
    events: int
    """Events held of an imported station (0 for a shared one: its chain is in the database)."""
    head_hash: str

    @property
    def shared(self) -> bool:
        """Whether the station is an office of this database."""
        return self.office_id is not None

    def office(self) -> OfficeRef:
        """The station as an office of this database (only for a shared station)."""
        assert self.office_id is not None
        return OfficeRef(self.office_id, self.code, self.name, self.office_type, self.timezone)


def require_district(runtime: Runtime, office: OfficeRef) -> tuple[str, ...]:
    """The office types ``office`` oversees; refused unless it is a district office."""
    oversees = runtime.plugins.registry.office_type(office.office_type).oversees
    if not oversees:
        raise RuleViolation(
            _("{office} is a {type} office, which oversees no stations").format(
                office=office.code, type=office.office_type
            ),
            hint=_("choose the SP office: qms --office SP-CODE district …"),
        )
    return oversees


def require_overseen(oversees: tuple[str, ...], station: str, office_type: str) -> None:
    """Refuse a station of a type the district does not oversee."""
    if office_type not in oversees:
        raise RuleViolation(
            _("{station} is a {type} office; this district oversees {known}").format(
                station=station, type=office_type, known=", ".join(oversees)
            )
        )


_STATIONS = select(
    DISTRICT_STATION_TABLE, OFFICE_TABLE.c.timezone.label("office_timezone")
).outerjoin(OFFICE_TABLE, OFFICE_TABLE.c.id == DISTRICT_STATION_TABLE.c.office_id)


def _station(row: Any) -> Station:
    """A station row; a shared station's time zone is its office's (no copy is kept)."""
    return Station(
        row.id,
        row.code,
        row.name,
        row.office_type,
        row.office_timezone if row.office_id is not None else row.timezone,
        row.office_id,
        row.events,
        row.head_hash,
    )


def stations_of(connection: Connection, district: OfficeRef) -> list[Station]:
    """The district's stations, by code."""
    rows = connection.execute(
        _STATIONS.where(DISTRICT_STATION_TABLE.c.district_id == district.id).order_by(
            DISTRICT_STATION_TABLE.c.code
        )
    )
    return [_station(row) for row in rows]


def find_station(connection: Connection, district: OfficeRef, code: str) -> Station | None:
    """The district's station ``code``, if it has one."""
    row = connection.execute(
        _STATIONS.where(
            DISTRICT_STATION_TABLE.c.district_id == district.id,
            DISTRICT_STATION_TABLE.c.code == code,
        )
    ).first()
    return _station(row) if row is not None else None


def station_named(connection: Connection, district: OfficeRef, code: str) -> Station:
    """The district's station ``code``, or NotFound listing the ones it has."""
    station = find_station(connection, district, code)
    if station is None:
        known = ", ".join(s.code for s in stations_of(connection, district)) or _("none yet")
        raise NotFound(
            _("{station} is not a station of {district} (its stations: {known})").format(
                station=code, district=district.code, known=known
            ),
            hint=_("join an office of this database (qms district join) or import a bundle"),
        )
    return station


def station_chain(connection: Connection, station: Station) -> Iterator[ChainEvent]:
    """The station's chain, as a verifier reads it: from the database's event table (shared),
    or as imported (a body that is no longer JSON is read as an empty object, so the verifier
    reports it as altered instead of failing)."""
    if station.shared:
        yield from stored_chain(connection, station.office())
        return
    rows = connection.execute(
        select(DISTRICT_EVENT_TABLE)
        .where(DISTRICT_EVENT_TABLE.c.station_id == station.id)
        .order_by(DISTRICT_EVENT_TABLE.c.seq)
        .execution_options(yield_per=1000)
    )
    for row in rows:
        try:
            body = json.loads(row.body)
        except (ValueError, RecursionError):
            body = {}
        yield ChainEvent(body if isinstance(body, dict) else {}, row.hash, row.signature)


def district_events(
    connection: Connection, district: OfficeRef, action: str, station: str | None = None
) -> Iterator[tuple[int, str, dict[str, object]]]:
    """The SP chain's events of one kind (seq, subject, payload), oldest first."""
    statement = select(EVENT_TABLE.c.seq, EVENT_TABLE.c.subject, EVENT_TABLE.c.payload).where(
        EVENT_TABLE.c.office_id == district.id, EVENT_TABLE.c.action == action
    )
    if station is not None:
        statement = statement.where(EVENT_TABLE.c.subject == station)
    for row in connection.execute(statement.order_by(EVENT_TABLE.c.seq)):
        try:
            payload = json.loads(row.payload)
        except (ValueError, RecursionError):
            payload = {}
        yield row.seq, row.subject, payload if isinstance(payload, dict) else {}


def join_station(
    runtime: Runtime, district: OfficeRef, *, actor: Signer, station_code: str
) -> Station:
    """Make an office of this database one of the district's stations (signed by an admin of
    the SP office, ``district.station.joined``)."""
    station = runtime.office(station_code)
    with runtime.unit_of_work() as work:
        return join_in(work, runtime, district, actor=actor, station=station)


def join_in(
    work: UnitOfWork, runtime: Runtime, district: OfficeRef, *, actor: Signer, station: OfficeRef
) -> Station:
    """:func:`join_station` inside ``work`` (e.g. the transaction that creates the station)."""
    oversees = require_district(runtime, district)
    require_overseen(oversees, station.code, station.office_type)
    if station.id == district.id:
        raise RuleViolation(_("a district is not its own station"))
    work.lock(district)
    person = load_actor(work.connection, actor, district)
    role = require_role(person, {roles.ADMIN}, district, _("add stations to the district"))
    if find_station(work.connection, district, station.code) is not None:
        raise RuleViolation(
            _("{station} is already a station of {district}").format(
                station=station.code, district=district.code
            )
        )
    record = work.append(
        district,
        person,
        events.STATION_JOINED,
        station.code,
        {"name": station.name, "office_type": station.office_type},
        role=role,
    )
    station_id = work.connection.execute(
        insert(DISTRICT_STATION_TABLE).returning(DISTRICT_STATION_TABLE.c.id),
        {
            "district_id": district.id,
            "code": station.code,
            "name": station.name,
            "office_type": station.office_type,
            "timezone": "",  # the office row's is read (see _station)
            "office_id": station.id,
            "events": 0,
            "head_hash": "",
            "event_seq": record.seq,
        },
    ).scalar_one()
    return Station(
        station_id,
        station.code,
        station.name,
        station.office_type,
        station.timezone,
        station.id,
        0,
        "",
    )


def is_office_here(connection: Connection, code: str) -> bool:
    """Whether ``code`` is an office of this database."""
    found = connection.execute(select(OFFICE_TABLE.c.id).where(OFFICE_TABLE.c.code == code))
    return found.first() is not None
