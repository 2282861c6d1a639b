"""The ``register_entry`` table as a projection of the chain (see :mod:`.projection`).

A register record's row is written only in the transaction that appends its
``document.created``, whose payload states its register facts (``period``, ``entry``, ``day``,
``corrects``), so the chain alone says what the row holds.  A row the chain did not write (an
entry slipped in by SQL), one it wrote that is gone (a day's closing deleted to reopen it), and
any field that differs (an entry turned into a closing, a correction pointed at another entry,
a serial moved to another period through ``document.serial_year``) are reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from qms_engine.audit.rows import Lines
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.storage.models import DOCUMENT_TABLE, REGISTER_ENTRY_TABLE

_Body = Mapping[str, Any]
_CORRECTED = DOCUMENT_TABLE.alias("corrected")
_ENTRIES = (
    select(
        DOCUMENT_TABLE.c.number,
        DOCUMENT_TABLE.c.serial_year,
        REGISTER_ENTRY_TABLE.c.period,
        REGISTER_ENTRY_TABLE.c.day,
        REGISTER_ENTRY_TABLE.c.entry,
        _CORRECTED.c.number.label("corrects"),
    )
    .select_from(REGISTER_ENTRY_TABLE)
    .outerjoin(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REGISTER_ENTRY_TABLE.c.document_id)
    .outerjoin(_CORRECTED, _CORRECTED.c.id == REGISTER_ENTRY_TABLE.c.corrects_id)
)
_COLUMNS = ("period", "day", "entry", "corrects", "serial_year")


def period_key(period: str) -> int:
    """``document.serial_year`` of a record numbered in ``period``: 2026, 20261129, or 0."""
    digits = period.replace("-", "")
    return int(digits) if digits.isdigit() else 0


class RegisterProjection:
    """Takes in an office's ``document.created`` events with register facts; compares
    ``register_entry`` (and the period of each one's ``document`` row) with them."""

    def __init__(self, office: OfficeRef) -> None:
        self.office = office
        self.entries: dict[str, dict[str, Any]] = {}
        """Record number → the row it must have (by column)."""

    def created(self, body: _Body) -> None:
        """A ``document.created`` (handed on by the main projection): a register record's
        facts, if it states them."""
        payload = body["payload"]
        if "entry" not in payload:
            return
        period = str(payload.get("period", ""))
        self.entries[str(body["subject"])] = {
            "period": period,
            "day": payload.get("day"),
            "entry": payload["entry"],
            "corrects": payload.get("corrects"),
            "serial_year": period_key(period),
        }

    def problems(self, connection: Connection) -> list[str]:
        """Every difference between ``register_entry`` and the chain fed."""
        lines = Lines("register_entry")
        expected = dict(self.entries)
        query = _ENTRIES.where(DOCUMENT_TABLE.c.office_id == self.office.id)
        for row in connection.execute(query):
            found = expected.pop(row.number, None)
            if found is None:
                lines.inserted(str(row.number))
                continue
            for column in _COLUMNS:
                if found[column] != row._mapping[column]:
                    lines.differs(row.number, column, found[column], row._mapping[column])
        for number in expected:
            lines.deleted(number)
        return lines.taken()
