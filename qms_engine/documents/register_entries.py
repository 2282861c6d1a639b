"""The rules of a register's book, applied on the write path as a record is numbered.

A type with register rules (``DocumentTypeSpec.serial_period``, ``day_book``, ``corrections``)
numbers each record next in its period (the office-local year or day) under the chain lock,
so a gap or a repeat cannot be written; keeps a day book's order (the day's first entry opens
it, the last closes it, nothing follows the closing, and a day opens only once the last day
with entries is closed — yesterday may be closed late); and lets an entry correct an earlier
entry of the same register.  Every type's ``required_fields`` must be given.  The facts go in
the ``document.created`` payload (:meth:`EntryFacts.payload`) and the ``register_entry`` row;
the verifier holds the chain to the same rules (:mod:`qms_engine.chain.register_rules`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from qms_engine.chain import events
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import zone
from qms_engine.errors import ConfigurationError, NotFound, RuleViolation
from qms_engine.i18n import _
from qms_engine.registry.office_types import DayBook, DocumentTypeSpec
from qms_engine.rules.text import is_blank
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    EVENT_TABLE,
    REGISTER_ENTRY_TABLE,
    TYPE_TABLE,
)

OPENING, ENTRY, CLOSING = "opening", "entry", "closing"
ENTRY_KINDS = (OPENING, ENTRY, CLOSING)


@dataclass(frozen=True)
class EntryFacts:
    """Where a new record stands in its register: its period and serial, its diary day and
    place in the day book, the entry it corrects."""

    period: str
    """``2026`` or ``2026-11-29`` (office-local), or ``""`` when the serial never restarts."""
    period_key: int
    """The period as the ``document.serial_year`` column keeps it: 2026, 20261129 or 0."""
    serial: int
    day: str | None
    entry: str
    corrects: tuple[int, str] | None
    """The corrected record: (document id, number)."""
    late: bool = False
    """A closing of a day before today."""

    @property
    def year(self) -> int:
        """The year of its period (0 when the serial never restarts): ``{year}`` in numbers."""
        return int(self.period[:4]) if self.period else 0

    @property
    def numbered_day(self) -> str:
        """``{day}`` in numbers: the period of a day-numbered register, else empty."""
        return self.period if len(self.period) == len("2026-11-29") else ""

    def payload(self) -> dict[str, Any]:
        """The members ``document.created`` records (see docs/audit-bundle.md §6)."""
        return {
            "period": self.period,
            "entry": self.entry,
            **({"day": self.day} if self.day is not None else {}),
            **({"corrects": self.corrects[1]} if self.corrects else {}),
        }


def rules_in_force(
    connection: Connection, office: OfficeRef, spec: DocumentTypeSpec
) -> DocumentTypeSpec:
    """``spec`` with the book rules ``office``'s chain recorded when the type was added there
    (its ``office.document_type.added``), which the verifier holds its records to: a day book
    and corrections only if recorded; the numbering recorded, else the plugin's; the required
    fields recorded and any the plugin added since; the serial period recorded (none, when the
    type recorded its book rules without one), else the plugin's (an office made before
    periods were recorded numbers as it always did).  A plugin whose period now differs from
    the recorded one is refused, naming both, rather than numbering otherwise."""
    payload = connection.execute(
        select(EVENT_TABLE.c.payload).where(
            EVENT_TABLE.c.office_id == office.id,
            EVENT_TABLE.c.action == events.DOCUMENT_TYPE_ADDED.action,
            EVENT_TABLE.c.subject == f"{office.code}/{spec.code}",
        )
    ).scalar()
    recorded = json.loads(payload) if payload else {}
    book = recorded.get("day_book")
    required = {**recorded.get("required_fields", {}), **spec.required_fields}
    ruled = "serial_period" in recorded or "numbering" in recorded
    period = recorded.get("serial_period") if ruled else spec.serial_period
    if period != spec.serial_period:
        raise ConfigurationError(
            _(
                "{office}'s {code} register is numbered per {recorded}, but the installed plugin "
                "numbers it per {installed}"
            ).format(
                office=office.code,
                code=spec.code,
                recorded=period or _("register (its serial never restarts)"),
                installed=spec.serial_period or _("register (its serial never restarts)"),
            ),
            hint=_("set the plugin back to numbering per {recorded}").format(
                recorded=period or _("register (its serial never restarts)")
            ),
        )
    return replace(
        spec,
        day_book=DayBook(book["opening_field"], book["closing_field"]) if book else None,
        corrections=recorded.get("corrections") is True,
        numbering=recorded.get("numbering") or spec.numbering,
        required_fields=required,
    )


def required_field_problems(
    spec: DocumentTypeSpec, fields: Mapping[str, Any], name: str | None, *, dropped: bool = False
) -> list[str]:
    """Each required field of ``spec`` that ``fields`` lacks (or leaves blank), named with what
    it is and how to give it: ``--field`` on the command line, or, for a file ``dropped`` in
    the inbox, the labels (:attr:`DocumentTypeSpec.field_labels`) to write it under in the
    file.  ``name`` is the file the problem is about (None: a typed entry)."""
    problems = []
    for field, what in spec.required_fields.items():
        if not is_blank(fields.get(field)):
            continue
        if dropped:
            labels = [label for label, named in spec.field_labels.items() if named == field]
            problem = _(
                "the field {field} ({what}) is required — write it in the file after its label, "
                "e.g. a line “{label}: …” (labels: {labels})"
            ).format(
                field=field,
                what=_(what),
                label=(labels or [field])[0],
                labels=", ".join(labels or [field]),
            )
        else:
            problem = _(
                "the field {field} ({what}) is required — give it, e.g. --field {field}=…"
            ).format(field=field, what=_(what))
        problems.append(f"{name}: {problem}" if name else problem)
    return problems


def next_entry(
    connection: Connection,
    office: OfficeRef,
    spec: DocumentTypeSpec,
    type_id: int,
    *,
    now: datetime,
    entry: str = ENTRY,
    corrects: str | None = None,
    fields: Mapping[str, Any],
) -> EntryFacts:
    """The facts of the record ``spec`` files next in ``office`` (inside the write lock), or a
    RuleViolation saying which rule of the book it would break and what to do instead."""
    if entry not in ENTRY_KINDS:
        raise RuleViolation(_("unknown entry kind {entry!r}").format(entry=entry))
    today = now.astimezone(zone(office.timezone)).date()
    day = None
    late = False
    if spec.day_book is not None:
        day, late = _day_book_day(connection, spec, type_id, entry, today, fields)
    elif entry != ENTRY:
        raise RuleViolation(
            _("{title} is not kept as a day book: it has no opening or closing entries").format(
                title=_(spec.title)
            )
        )
    basis = date.fromisoformat(day) if day else today
    period, key = period_of(spec, basis)
    serial = (
        1
        + connection.execute(
            select(func.coalesce(func.max(DOCUMENT_TABLE.c.serial), 0)).where(
                DOCUMENT_TABLE.c.document_type_id == type_id, DOCUMENT_TABLE.c.serial_year == key
            )
        ).scalar_one()
    )
    corrected = _corrected(connection, spec, type_id, corrects) if corrects else None
    return EntryFacts(period, key, int(serial), day, entry, corrected, late)


def period_of(spec: DocumentTypeSpec, day: date) -> tuple[str, int]:
    """The period a record of ``day`` is numbered in, as text and as ``serial_year``."""
    if spec.serial_period == "year":
        return str(day.year), day.year
    if spec.serial_period == "day":
        return day.isoformat(), day.year * 10000 + day.month * 100 + day.day
    return "", 0


def _last_entry(connection: Connection, type_id: int) -> tuple[str, str] | None:
    """The day and kind of the day book's latest entry (None: it has none)."""
    row = connection.execute(
        select(REGISTER_ENTRY_TABLE.c.day, REGISTER_ENTRY_TABLE.c.entry)
        .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REGISTER_ENTRY_TABLE.c.document_id)
        .where(DOCUMENT_TABLE.c.document_type_id == type_id)
        .order_by(DOCUMENT_TABLE.c.id.desc())
        .limit(1)
    ).first()
    return (str(row[0]), str(row[1])) if row is not None else None


def _day_book_day(
    connection: Connection,
    spec: DocumentTypeSpec,
    type_id: int,
    entry: str,
    today: date,
    fields: Mapping[str, Any],
) -> tuple[str, bool]:
    """The diary day a new entry of ``kind`` belongs to, and whether it closes a past day;
    refused when the book's order does not allow it."""
    assert spec.day_book is not None
    last = _last_entry(connection, type_id)
    code, today_text = spec.code, today.isoformat()
    open_day = last[0] if last is not None and last[1] != CLOSING else None
    if entry == OPENING:
        if open_day is not None:
            raise RuleViolation(
                _("the {code} of {day} is not closed: nothing opens before its closing").format(
                    code=code, day=open_day
                ),
                hint=_(
                    "close it first: qms register write {code} --closing --field {field}=…"
                ).format(code=code, field=spec.day_book.closing_field),
            )
        if last is not None and last[0] >= today_text:
            raise RuleViolation(
                _("the {code} of {day} is closed: nothing follows its closing").format(
                    code=code, day=last[0]
                )
            )
        _needs(spec, fields, spec.day_book.opening_field, _("the opening"))
        return today_text, False
    if open_day is None:
        if last is not None and last[0] == today_text:
            raise RuleViolation(
                _("the {code} of {day} is closed: nothing follows its closing").format(
                    code=code, day=today_text
                )
            )
        raise RuleViolation(
            _("the {code} of {day} is not open: a day's first entry is its opening").format(
                code=code, day=today_text
            ),
            hint=_("open it: qms register write {code} --opening --field {field}=…").format(
                code=code, field=spec.day_book.opening_field
            ),
        )
    if entry == CLOSING:
        _needs(spec, fields, spec.day_book.closing_field, _("the closing"))
        return open_day, open_day < today_text
    if open_day != today_text:
        raise RuleViolation(
            _("the {code} of {day} is not closed: close it (late) before today's opening").format(
                code=code, day=open_day
            ),
            hint=_("qms register write {code} --closing --field {field}=…").format(
                code=code, field=spec.day_book.closing_field
            ),
        )
    return open_day, False


def _needs(spec: DocumentTypeSpec, fields: Mapping[str, Any], name: str, what: str) -> None:
    if is_blank(fields.get(name)):
        raise RuleViolation(
            _("{what} of the {code} needs the field {field} (it may say none)").format(
                what=what, code=spec.code, field=name
            ),
            hint=_("give --field {field}=…").format(field=name),
        )


def _corrected(
    connection: Connection, spec: DocumentTypeSpec, type_id: int, number: str
) -> tuple[int, str]:
    """The earlier record of the same register (this office, this type) ``number`` names."""
    if not spec.corrections:
        raise RuleViolation(
            _("{title} entries are not corrected by later entries").format(title=_(spec.title))
        )
    row = connection.execute(
        select(DOCUMENT_TABLE.c.id, DOCUMENT_TABLE.c.number, TYPE_TABLE.c.id)
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .where(func.lower(DOCUMENT_TABLE.c.number) == number.strip().lower())
    ).first()
    if row is None:
        raise NotFound(
            _("no entry numbered {number!r} to correct").format(number=number),
            hint=_("see `qms register list {code}`").format(code=spec.code),
        )
    if row[2] != type_id:
        raise RuleViolation(
            _(
                "{number} is not an entry of this office's {code}: a correction corrects an "
                "entry of the same register"
            ).format(number=row[1], code=spec.code)
        )
    return int(row[0]), str(row[1])


def record_entry(connection: Connection, document_id: int, facts: EntryFacts) -> None:
    """The ``register_entry`` row of a new record (its projection of ``document.created``)."""
    connection.execute(
        insert(REGISTER_ENTRY_TABLE),
        {
            "document_id": document_id,
            "period": facts.period,
            "day": facts.day,
            "entry": facts.entry,
            "corrects_id": facts.corrects[0] if facts.corrects else None,
        },
    )
