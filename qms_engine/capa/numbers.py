"""Numbers of nonconformities and internal audits: a serial per office per calendar year of the
office's local date, formatted by the office type's scheme (``nc_numbering``,
``audit_numbering``: ``PS-KOT39/NC/2026/004``, ``PS-KOT39/IA/2026/01``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Table, func, select

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import zone


@dataclass(frozen=True)
class Numbered:
    """A number just allotted, with the serial and year it is made of (stored beside it)."""

    number: str
    serial: int
    year: int


def next_number(
    connection: Connection, table: Table, office: OfficeRef, numbering: str, now: datetime
) -> Numbered:
    """The next number of ``table`` (with ``office_id``, ``serial_year`` and ``serial``
    columns) in ``office`` at ``now``; read under the office's chain lock, so that two writers
    never get the same one."""
    year = now.astimezone(zone(office.timezone)).year
    serial = 1 + int(
        connection.execute(
            select(func.coalesce(func.max(table.c.serial), 0)).where(
                table.c.office_id == office.id, table.c.serial_year == year
            )
        ).scalar_one()
    )
    return Numbered(numbering.format(office=office.code, year=year, serial=serial), serial, year)
