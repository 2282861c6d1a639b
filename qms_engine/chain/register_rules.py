"""The register rules of an audit chain: gapless numbering, the day book, corrections and
required fields, checked from the chain alone.

A register type records its rules in its ``office.document_type.added`` payload (only those
that differ from the defaults: ``serial_period``, ``day_book``, ``corrections``,
``required_fields``), and each of its records states its facts in ``document.created``
(``period``, ``entry``, ``day`` for a day book, ``corrects``).  The verifier hands those
events to :class:`RegisterRules`, which holds every record to its type's rules, so an insider
who writes the database or holds a valid key cannot skip or repeat a serial, reorder a day
book or correct another register's entry without ``qms audit verify`` failing, online and on a
bundle (docs/audit-bundle.md §7):

- a record's serial is the previous serial of its type in its period + 1, starting at 1;
- its period is the office-local year or day of its event (the office's time zone is in
  ``office.created``), or, for the late closing of an earlier day, that day's;
- in a day book, a day's first entry is its opening, nothing follows its closing, a day opens
  only once the last day with entries is closed, and an entry's day is the event's local day
  (a closing's may be earlier: a late closing); the opening gives the book's opening field and
  the closing its closing field;
- ``corrects`` names an earlier record of the same type of this office's chain, and only in a
  type that allows corrections;
- a record's number is its type's recorded ``numbering`` filled with its serial and period;
- a record is created with its revision 0 (the next event), which gives every required field
  of its type, not blank (:func:`is_blank`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from qms_engine.chain import events
from qms_engine.chain.authorisation import Attempt, is_iso_date
from qms_engine.clock import DEFAULT_TIMEZONE, from_utc_text, zone
from qms_engine.errors import ConfigurationError
from qms_engine.i18n import _
from qms_engine.rules.text import is_blank

KINDS = frozenset(
    kind.action
    for kind in (
        events.OFFICE_CREATED,
        events.DOCUMENT_TYPE_ADDED,
        events.DOCUMENT_CREATED,
        events.REVISION_CREATED,
        events.RECORD_FILED,
    )
)
"""The event kinds these rules read (each also checked by the verifier's other rules)."""

OPENING, ENTRY, CLOSING = "opening", "entry", "closing"
PERIODS = ("year", "day")


class ChainFacts(Protocol):
    """What the register rules read of the verifier's state (the chain up to the event)."""

    document_type: dict[str, str]

    def problem(self, seq: int, what: str, rank: int = 2) -> None: ...


@dataclass(frozen=True, slots=True)
class _TypeRules:
    serial_period: str | None
    opening_field: str | None
    closing_field: str | None
    corrections: bool
    required: tuple[str, ...]
    numbering: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.serial_period or self.opening_field or self.corrections)


@dataclass(slots=True)
class _Pending:
    """A record just created, whose first revision must give these fields."""

    type_code: str
    fields: tuple[str, ...]


@dataclass
class RegisterRules:
    """Per-chain register state: each type's rules, the last serial per (type, period), the
    last entry of each day book, the records awaiting their first revision's fields."""

    facts: ChainFacts
    timezone: str = DEFAULT_TIMEZONE
    rules: dict[str, _TypeRules] = field(default_factory=dict)
    serials: dict[tuple[str, str], int] = field(default_factory=dict)
    last_entry: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Day book type → (day, entry kind) of its latest entry."""
    pending: dict[str, _Pending] = field(default_factory=dict)
    awaiting: tuple[str, int] | None = None
    """A register record just created (number, seq): its revision 0 is the next event."""

    def apply(self, seq: int, action: str, attempt: Attempt, time: str) -> None:
        """Check one event of :data:`KINDS` (``time``: its UTC time) and keep what it says."""
        payload = attempt.payload
        if self.awaiting is not None:
            number, created = self.awaiting
            self.awaiting = None
            if not (
                action in (events.REVISION_CREATED.action, events.RECORD_FILED.action)
                and attempt.subject == f"{number}#0"
                and seq == created + 1
            ):
                self._no_revision(number, created)
        if action == events.OFFICE_CREATED.action:
            self.timezone = str(payload.get("timezone") or DEFAULT_TIMEZONE)
        elif action == events.DOCUMENT_TYPE_ADDED.action:
            self._type_added(seq, attempt.subject.rsplit("/", 1)[-1], payload)
        elif action == events.DOCUMENT_CREATED.action:
            self._created(seq, attempt.office, attempt.subject, payload, time)
        else:
            self._first_revision(seq, attempt.subject, payload)

    def finish(self, seq: int) -> None:
        """A record created by the chain's last event lacks its revision 0 (a day still open
        is today's)."""
        if self.awaiting is not None:
            self._no_revision(*self.awaiting)

    def _no_revision(self, number: str, created: int) -> None:
        """Report a register record whose next event is not its revision 0 (the engine writes
        both in one transaction): a record with no file, whose required fields nobody gave."""
        self.pending.pop(number, None)
        self.facts.problem(
            created + 1,
            _("{number}: created without its revision 0 (the next event)").format(number=number),
        )

    def _type_added(self, seq: int, code: str, payload: Mapping[str, Any]) -> None:
        if code in self.rules:
            return  # added twice: the verifier reports it
        period = payload.get("serial_period")
        book = payload.get("day_book")
        required = payload.get("required_fields", {})
        corrections = payload.get("corrections", False)
        numbering = payload.get("numbering")
        problems: list[tuple[str, object]] = []
        if numbering is not None and not _numbering_form(numbering):
            problems.append((_("numbering {value!r} is not a number form"), numbering))
            numbering = None
        if period is not None and period not in PERIODS:
            problems.append((_("serial_period {value!r} is neither 'year' nor 'day'"), period))
            period = None
        if book is not None and not (
            isinstance(book, Mapping)
            and all(isinstance(book.get(name), str) for name in ("opening_field", "closing_field"))
        ):
            problems.append((_("day_book {value!r} lacks its opening and closing fields"), book))
            book = None
        if not isinstance(required, Mapping):
            problems.append((_("required_fields {value!r} is not an object"), required))
            required = {}
        if not isinstance(corrections, bool):
            problems.append((_("corrections {value!r} is neither true nor false"), corrections))
        for problem, value in problems:
            self.facts.problem(seq, f"{code}: {problem.format(value=value)}")
        self.rules[code] = _TypeRules(
            period,
            book["opening_field"] if book else None,
            book["closing_field"] if book else None,
            corrections is True,
            tuple(str(name) for name in required),
            numbering,
        )

    def _created(
        self, seq: int, office: str, number: str, payload: Mapping[str, Any], time: str
    ) -> None:
        code = str(payload.get("type", ""))
        rules = self.rules.get(code)
        if rules is None or number in self.facts.document_type:
            return  # a type never added, or a record created twice: the verifier reports it
        if rules.required:
            self.pending[number] = _Pending(code, rules.required)
        if rules.required or rules.any:
            self.awaiting = (number, seq)
        if not rules.any:
            return
        entry, period = payload.get("entry"), payload.get("period")
        if not isinstance(entry, str) or not isinstance(period, str):
            self.facts.problem(
                seq,
                _(
                    "{number}: a {code} record states no period and entry (its register facts)"
                ).format(number=number, code=code),
            )
            return
        local = self._local_day(seq, time)
        if local is None:
            return
        day = self._day_book(seq, number, code, rules, entry, payload.get("day"), local)
        self._period(seq, number, rules, period, day or local)
        self._serial(seq, number, code, period, payload.get("serial"))
        if rules.numbering is not None and type(payload.get("serial")) is int:
            self._number(seq, number, office, code, rules.numbering, period, payload["serial"])
        if "corrects" in payload:
            self._corrects(seq, number, code, rules, payload["corrects"])
        if day is not None and entry in (OPENING, CLOSING):
            wanted = rules.opening_field if entry == OPENING else rules.closing_field
            pending = self.pending.get(number, _Pending(code, ()))
            self.pending[number] = _Pending(code, (*pending.fields, str(wanted)))

    def _local_day(self, seq: int, time: str) -> date | None:
        try:
            return from_utc_text(time).astimezone(zone(self.timezone)).date()
        except ConfigurationError:
            self.facts.problem(
                seq, _("the office's time zone {zone!r} is unknown").format(zone=self.timezone)
            )
            return None

    def _day_book(
        self,
        seq: int,
        number: str,
        code: str,
        rules: _TypeRules,
        entry: str,
        day: object,
        local: date,
    ) -> date | None:
        """The entry's diary day, after checking its place in the day book (None: no day book)."""
        if rules.opening_field is None:
            if entry != ENTRY:
                self.facts.problem(
                    seq,
                    _("{number}: a {entry!r} entry in {code}, which is no day book").format(
                        number=number, entry=entry, code=code
                    ),
                )
            return None
        if not is_iso_date(day) or entry not in (OPENING, ENTRY, CLOSING):
            self.facts.problem(
                seq,
                _(
                    "{number}: a day book entry needs its day and kind (opening, entry, closing), "
                    "not {day!r} and {entry!r}"
                ).format(number=number, day=day, entry=entry),
            )
            return None
        text, today = str(day), local.isoformat()
        last = self.last_entry.get(code)
        open_day = last[0] if last is not None and last[1] != CLOSING else None
        if text != today and not (entry == CLOSING and text < today):
            self.facts.problem(
                seq,
                _("{number}: dated in the {code} of {day}, but written on {today}").format(
                    number=number, code=code, day=text, today=today
                ),
            )
        if entry == OPENING and open_day is not None:
            self.facts.problem(
                seq,
                _("{number}: opens {day} while the {code} of {open} is not closed").format(
                    number=number, day=text, code=code, open=open_day
                ),
            )
        elif entry == OPENING and last is not None and last[0] >= text:
            self.facts.problem(
                seq,
                _("{number}: opens {day} after the {code} of {last} was closed").format(
                    number=number, day=text, code=code, last=last[0]
                ),
            )
        elif entry != OPENING and open_day != text:
            self.facts.problem(
                seq,
                _(
                    "{number}: a {entry} of the {code} of {day}, which is not open (opened "
                    "and not yet closed)"
                ).format(number=number, entry=entry, code=code, day=text),
            )
        self.last_entry[code] = (text, entry)
        return date.fromisoformat(text)

    def _period(self, seq: int, number: str, rules: _TypeRules, period: str, day: date) -> None:
        expected = {"year": str(day.year), "day": day.isoformat()}.get(
            rules.serial_period or "", ""
        )
        if period != expected:
            self.facts.problem(
                seq,
                _(
                    "{number}: numbered in period {period!r}, but its day {day} is in {expected!r}"
                ).format(number=number, period=period, day=day.isoformat(), expected=expected),
            )

    def _serial(self, seq: int, number: str, code: str, period: str, serial: object) -> None:
        if type(serial) is not int:
            self.facts.problem(
                seq,
                _("{number}: serial {serial!r} is not a whole number").format(
                    number=number, serial=serial
                ),
            )
            return
        last = self.serials.get((code, period), 0)
        if serial != last + 1:
            what = (
                _("repeats serial {serial}")
                if serial <= last
                else _("skips serials {first}–{before}")
            ).format(serial=serial, first=last + 1, before=serial - 1)
            self.facts.problem(
                seq,
                _(
                    "{number}: {what} of {code} {period} (serial {serial} after {last}: "
                    "entries are numbered without gaps)"
                ).format(
                    number=number,
                    what=what,
                    code=code,
                    period=period or "",
                    serial=serial,
                    last=last,
                ),
            )
        self.serials[(code, period)] = max(last, serial)

    def _number(
        self, seq: int, number: str, office: str, code: str, form: str, period: str, serial: int
    ) -> None:
        year = int(period[:4]) if period[:4].isdigit() else 0
        day = period if len(period) == len("2026-11-29") else ""
        expected = form.format(office=office, type=code, serial=serial, year=year, day=day)
        if number != expected:
            self.facts.problem(
                seq,
                _(
                    "{number}: serial {serial} of {code} {period} is numbered {expected}, "
                    "not {number}"
                ).format(number=number, serial=serial, code=code, period=period, expected=expected),
            )

    def _corrects(
        self, seq: int, number: str, code: str, rules: _TypeRules, corrected: object
    ) -> None:
        if not rules.corrections:
            self.facts.problem(
                seq,
                _("{number}: corrects {corrected!r}, but {code} entries are not corrected").format(
                    number=number, corrected=corrected, code=code
                ),
            )
        elif self.facts.document_type.get(str(corrected)) != code:
            self.facts.problem(
                seq,
                _(
                    "{number}: corrects {corrected!r}, which is no earlier {code} entry of this "
                    "office"
                ).format(number=number, corrected=corrected, code=code),
            )

    def _first_revision(self, seq: int, subject: str, payload: Mapping[str, Any]) -> None:
        number, _hash, revno = subject.partition("#")
        pending = self.pending.pop(number, None)
        if pending is None or revno != "0":
            return
        given = payload.get("fields")
        fields = given if isinstance(given, Mapping) else {}
        missing = [name for name in pending.fields if is_blank(fields.get(name))]
        if missing:
            self.facts.problem(
                seq,
                _("{subject}: a {code} record without its required field(s) {fields}").format(
                    subject=subject, code=pending.type_code, fields=", ".join(missing)
                ),
            )


NUMBER_PARTS = frozenset({"office", "type", "serial", "year", "day"})
"""The names a number form fills in (:meth:`DocumentTypeSpec.format_number`)."""


def _numbering_form(form: object) -> bool:
    """Whether a recorded ``numbering`` is a form the verifier may fill in: text naming only
    :data:`NUMBER_PARTS`, each plain or with a short width (``{serial:04d}``)."""
    if not isinstance(form, str):
        return False
    try:
        parts = list(string.Formatter().parse(form))
        form.format(office="PS", type="GD", serial=1, year=2026, day="2026-11-29")
    except (ValueError, TypeError):
        return False
    return all(
        name is None or (name in NUMBER_PARTS and conversion is None and len(spec or "") <= 3)
        for _text, name, spec, conversion in parts
    )
