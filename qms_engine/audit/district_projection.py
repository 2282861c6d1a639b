"""The district tables as a projection of an SP office's chain.

- ``district_station``: one row per station the chain joined (``district.station.joined``: its
  office in this database, name and type) or imported (``district.bundle.imported``: name,
  type, time zone, and the count and head of the events held, as its last import says).
- ``district_event``: an imported station's events are exactly seq 1 … the count its last
  import recorded, and the one held at that count has the head it recorded; the events
  themselves are signed by the station, and ``qms district verify`` re-verifies them.
- ``district_checkpoint`` is data received with a bundle, checked against the station's key
  and chain when it is witnessed; the chain records no row of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, select

from qms_engine.audit.rows import Lines
from qms_engine.chain import events
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.storage.models import (
    DISTRICT_EVENT_TABLE,
    DISTRICT_STATION_TABLE,
    OFFICE_TABLE,
)

_Body = Any

_STATIONS = (
    select(
        DISTRICT_STATION_TABLE,
        OFFICE_TABLE.c.code.label("office_code"),
        func.count(DISTRICT_EVENT_TABLE.c.seq).label("held"),
        func.max(DISTRICT_EVENT_TABLE.c.seq).label("last"),
    )
    .outerjoin(OFFICE_TABLE, OFFICE_TABLE.c.id == DISTRICT_STATION_TABLE.c.office_id)
    .outerjoin(
        DISTRICT_EVENT_TABLE, DISTRICT_EVENT_TABLE.c.station_id == DISTRICT_STATION_TABLE.c.id
    )
    .group_by(DISTRICT_STATION_TABLE.c.id, OFFICE_TABLE.c.code)
)


class DistrictProjection:
    """The district rows an SP office's chain says the tables hold."""

    def __init__(self, office: OfficeRef) -> None:
        self.office = office
        self.stations: dict[str, dict[str, Any]] = {}

    def handlers(self) -> dict[str, Callable[[_Body, str], None]]:
        """The events this projection takes in, by action."""
        return {
            events.STATION_JOINED.action: self._joined,
            events.BUNDLE_IMPORTED.action: self._imported,
        }

    def _joined(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        self.stations[str(body["subject"])] = {
            "name": payload["name"],
            "office_type": payload["office_type"],
            "timezone": "",  # a shared station's is its office row's
            "office_code": body["subject"],
            "events": 0,
            "head_hash": "",
            "event_seq": body["seq"],
        }

    def _imported(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        self.stations[str(body["subject"])] = {
            "name": payload["name"],
            "office_type": payload["office_type"],
            "timezone": payload["timezone"],
            "office_code": None,
            "events": payload["to_seq"],
            "head_hash": payload["head"],
            "event_seq": body["seq"],
        }

    def problems(self, connection: Connection) -> list[str]:
        """Every difference between the district tables and the chain."""
        lines = Lines("district_station")
        events_lines = Lines("district_event")
        expected = dict(self.stations)
        rows = connection.execute(
            _STATIONS.where(DISTRICT_STATION_TABLE.c.district_id == self.office.id)
        )
        for row in rows:
            chain = expected.pop(row.code, None)
            if chain is None:
                lines.inserted(row.code)
                continue
            for name, value in chain.items():
                if getattr(row, name) != value:
                    lines.differs(row.code, name, value, getattr(row, name))
            if row.held != chain["events"] or (row.last or 0) != chain["events"]:
                events_lines.differs(row.code, "events held", chain["events"], row.held)
            elif chain["events"]:
                last = connection.execute(
                    select(DISTRICT_EVENT_TABLE.c.hash).where(
                        DISTRICT_EVENT_TABLE.c.station_id == row.id,
                        DISTRICT_EVENT_TABLE.c.seq == chain["events"],
                    )
                ).scalar_one()
                if last != chain["head_hash"]:
                    events_lines.differs(
                        f"{row.code}#{chain['events']}", "hash", chain["head_hash"], last
                    )
        for code in expected:
            lines.deleted(code)
        return lines.taken() + events_lines.taken()
