"""Serial numbers per office per calendar year of the office's local date: nonconformities and
internal audits (``PS-KOT39/NC/2026/004``), citizen-charter applications and disposal lists
(``COL-BSR/SVC/2026/00042``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Table, func, select

from qms_engine.clock import zone


def next_serial(
    connection: Connection, table: Table, office_id: int, timezone: str, now: datetime
) -> tuple[int, int]:
    """The next (serial, year) of ``table`` (with ``office_id``, ``serial_year`` and
    ``serial`` columns) at ``now``; read under the office's chain lock, so two writers never
    get the same one."""
    year = now.astimezone(zone(timezone)).year
    serial = 1 + int(
        connection.execute(
            select(func.coalesce(func.max(table.c.serial), 0)).where(
                table.c.office_id == office_id, table.c.serial_year == year
            )
        ).scalar_one()
    )
    return serial, year
