"""What an office's register tables show missing: a serial skipped in its period, a past day
of a day book not closed.  The engine never writes either (numbers are taken under the chain
lock; a day opens only once the last one is closed), so a gap found here means rows were
removed or written around the engine: ``qms audit verify`` says which.  Today's open day is no
gap."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import local_today
from qms_engine.i18n import _
from qms_engine.storage.models import DOCUMENT_TABLE, REGISTER_ENTRY_TABLE, TYPE_TABLE


@dataclass(frozen=True)
class RegisterGap:
    """One thing missing from a register: its code, what (in words), and the day or serial."""

    register: str
    what: str
    day: str | None
    serial: int | None


def gaps(connection: Connection, office: OfficeRef) -> list[RegisterGap]:
    """Every serial missing from ``office``'s registers (and documents) in their periods, and
    every past day of a day book with entries but no closing, in register order."""
    return [*_serial_gaps(connection, office), *_open_days(connection, office)]


def _serial_gaps(connection: Connection, office: OfficeRef) -> list[RegisterGap]:
    rows = connection.execute(
        select(
            TYPE_TABLE.c.code,
            DOCUMENT_TABLE.c.serial_year,
            DOCUMENT_TABLE.c.serial,
            REGISTER_ENTRY_TABLE.c.period,
        )
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .outerjoin(REGISTER_ENTRY_TABLE, REGISTER_ENTRY_TABLE.c.document_id == DOCUMENT_TABLE.c.id)
        .where(DOCUMENT_TABLE.c.office_id == office.id, TYPE_TABLE.c.kind == "register")
        .order_by(TYPE_TABLE.c.code, DOCUMENT_TABLE.c.serial_year, DOCUMENT_TABLE.c.serial)
    ).all()
    found: list[RegisterGap] = []
    last: tuple[str, int, int] | None = None
    for code, key, serial, period in rows:
        before = last[2] if last is not None and last[:2] == (code, key) else 0
        day = period if period and len(period) == len("2026-11-29") else None
        shown = period or (str(key) if key else "")
        for missing in range(before + 1, serial):
            found.append(
                RegisterGap(
                    code,
                    _("serial {serial} of {period} is missing").format(
                        serial=missing, period=shown or _("the register")
                    ),
                    day,
                    missing,
                )
            )
        if serial == before:
            found.append(
                RegisterGap(
                    code,
                    _("serial {serial} of {period} is used twice").format(
                        serial=serial, period=shown or _("the register")
                    ),
                    day,
                    serial,
                )
            )
        last = (code, key, serial)
    return found


def _open_days(connection: Connection, office: OfficeRef) -> list[RegisterGap]:
    rows = connection.execute(
        select(TYPE_TABLE.c.code, REGISTER_ENTRY_TABLE.c.day, REGISTER_ENTRY_TABLE.c.entry)
        .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REGISTER_ENTRY_TABLE.c.document_id)
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .where(DOCUMENT_TABLE.c.office_id == office.id, REGISTER_ENTRY_TABLE.c.day.is_not(None))
        .order_by(TYPE_TABLE.c.code, REGISTER_ENTRY_TABLE.c.day)
    ).all()
    closed: dict[tuple[str, str], bool] = {}
    for code, day, entry in rows:
        closed[(code, day)] = closed.get((code, day), False) or entry == "closing"
    today = local_today(office.timezone).isoformat()
    return [
        RegisterGap(
            code, _("the {code} of {day} was not closed").format(code=code, day=day), day, None
        )
        for (code, day), done in closed.items()
        if not done and day < today
    ]
