"""Numbers of nonconformities and internal audits: a serial per office per calendar year of the
office's local date, formatted by the office type's scheme (``nc_numbering``,
``audit_numbering``: ``PS-KOT39/NC/2026/004``, ``PS-KOT39/IA/2026/01``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Table

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.storage.serials import next_serial


@dataclass(frozen=True)
class Numbered:
    """A number just allotted, with the serial and year it is made of (stored beside it)."""

    number: str
    serial: int
    year: int


def next_number(
    connection: Connection, table: Table, office: OfficeRef, numbering: str, now: datetime
) -> Numbered:
    """The next number of ``table`` in ``office`` at ``now``, in the office type's scheme
    (the serial: :func:`~qms_engine.storage.serials.next_serial`)."""
    serial, year = next_serial(connection, table, office.id, office.timezone, now)
    return Numbered(numbering.format(office=office.code, year=year, serial=serial), serial, year)
