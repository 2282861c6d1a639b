"""District SOPs that stations adopt (``qms district sop adopt`` / ``qms district sop status``).

The SP office issues an SOP through its own workflow like any controlled document.  A station
of a shared deployment adopts the revision in force by a signed ``district.sop.adopted`` event
of its *own* chain naming the district, the revision and its file's SHA-256, so its auditor sees
which district revision it follows and that the district cannot later claim another.  The
district sees adoption from each station's chain (shared or imported) and compares it with the
revision in force in its own chain: current, behind (an older revision), or not adopted.
"""

from __future__ import annotations

from dataclasses import dataclass

from qms_engine.chain import events
from qms_engine.chain.reader import stored_chain
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.district.stations import find_station, require_district
from qms_engine.district.views import StationFacts, station_facts
from qms_engine.errors import InvalidInput, RuleViolation
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.database import read_snapshot

ADOPTERS = frozenset({roles.QUALITY_COORDINATOR, roles.APPROVER})


@dataclass(frozen=True)
class Adopted:
    """What a station adopted: the district SOP's revision and its file."""

    station: str
    number: str
    revno: int
    sha256: str
    title: str
    event_seq: int


@dataclass(frozen=True)
class Adoption:
    """One district SOP at one station, for ``qms district sop status``."""

    station: str
    number: str
    title: str
    in_force: int
    """The revision in force at the district."""
    adopted: int | None
    """The revision the station adopted last (None: never)."""
    current: bool
    """It adopted the revision in force, with the same file."""


def _district_facts(runtime: Runtime, district: OfficeRef) -> StationFacts:
    with read_snapshot(runtime.engine) as connection:
        return StationFacts(district.code, district.timezone).feed(
            stored_chain(connection, district)
        )


def adopt_sop(runtime: Runtime, station: OfficeRef, *, actor: Signer, number: str) -> Adopted:
    """The station adopts the revision in force of its district's SOP ``number`` (signed in
    the station's chain by its quality coordinator or approver)."""
    district = _district_of(runtime, station, number)
    current = _district_facts(runtime, district).in_force().get(number)
    if current is None:
        raise RuleViolation(
            _("{number} has no revision in force at {district}").format(
                number=number, district=district.code
            ),
            hint=_("see the district's SOPs: qms --office {district} doc list").format(
                district=district.code
            ),
        )
    with runtime.unit_of_work() as work:
        work.lock(station)
        if find_station(work.connection, district, station.code) is None:
            raise RuleViolation(
                _("{station} is not a station of {district}").format(
                    station=station.code, district=district.code
                )
            )
        person = load_actor(work.connection, actor, station)
        role = require_role(person, ADOPTERS, station, _("adopt district SOPs"))
        here = StationFacts(station.code, station.timezone)
        adopted = here.feed(stored_chain(work.connection, station)).adopted.get(number)
        if adopted is not None and adopted[0] >= current.revno:
            raise RuleViolation(
                _("{station} adopted revision {revno} of {number} already").format(
                    station=station.code, revno=adopted[0], number=number
                )
            )
        record = work.append(
            station,
            person,
            events.SOP_ADOPTED,
            number,
            {
                "district": district.code,
                "revno": current.revno,
                "sha256": current.sha256,
                "title": current.title,
            },
            role=role,
        )
    return Adopted(station.code, number, current.revno, current.sha256, current.title, record.seq)


def _district_of(runtime: Runtime, station: OfficeRef, number: str) -> OfficeRef:
    """The district office that ``number`` (DISTRICT/SOP/NNN) names: refused when the number
    is not of that form (exit 2), is the station's own SOP, or names no district office."""
    parts = number.split("/")
    if len(parts) < 3 or not all(parts):
        raise InvalidInput(
            _("{number}: not a district SOP number; type it as DISTRICT/SOP/NNN").format(
                number=number
            ),
            hint=_("e.g. SP-BGT/SOP/001; see the district's SOPs: qms --office DISTRICT doc list"),
        )
    if parts[0] == station.code:
        raise RuleViolation(
            _("{number} is {station}'s own SOP: a station adopts its district's SOPs").format(
                number=number, station=station.code
            ),
            hint=_(
                "type the district's number, DISTRICT/SOP/NNN (see: qms --office DISTRICT doc "
                "list); the station's own SOPs take effect through its own workflow"
            ),
        )
    district = runtime.office(parts[0])
    require_district(runtime, district)
    return district


def sop_status(runtime: Runtime, district: OfficeRef) -> list[Adoption]:
    """Each district SOP in force, at each station: the revision adopted, and whether it is
    the one in force (same revision, same file)."""
    require_district(runtime, district)
    sops = _district_facts(runtime, district).in_force()
    rows = []
    for facts in station_facts(runtime, district):
        for number, revision in sorted(sops.items()):
            adopted = facts.adopted.get(number)
            rows.append(
                Adoption(
                    facts.station,
                    number,
                    revision.title,
                    revision.revno,
                    adopted[0] if adopted else None,
                    adopted == (revision.revno, revision.sha256),
                )
            )
    return rows
