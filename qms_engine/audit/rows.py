"""Comparing table rows with the chain: time windows, keyed digests and the lines reported.

Shared by :mod:`qms_engine.audit.projection` and :mod:`qms_engine.audit.capa_projection`, so
every table's differences read alike: ``table revision_state, PS-KOT39/SOP/001#0, field state:
chain says 'draft', database says 'effective'``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from qms_engine.clock import is_utc_text
from qms_engine.i18n import N_, _

NO_BOUND = ""
"""A window's missing lower bound (sorts before every time)."""
OPEN_END = "~"
"""A window's missing upper bound (sorts after every time)."""
UNKNOWN: Any = object()
"""A value the chain does not state, so it is not compared."""

Window = tuple[str, str]
"""When a row may have been stamped: (earliest, latest), as UTC text."""


def as_text(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A time or date column as the text stored (compared as text, never parsed)."""
    return type_coerce(column, String())


def quote(value: Any) -> str:
    return "None" if value is None else repr(value)


def describe(window: Window) -> str:
    low, high = window
    if low == NO_BOUND and high == OPEN_END:
        return _("any time")
    if low == NO_BOUND:
        return _("at or before {high}").format(high=high)
    if high == OPEN_END:
        return _("at or after {low}").format(low=low)
    return _("between {low} and {high}").format(low=low, high=high)


def within(value: Any, window: Window) -> bool:
    return type(value) is str and window[0] <= value <= window[1] and is_utc_text(value)


def keyed_digest(salt: int, values: tuple[Any, ...]) -> int:
    """A digest of ``values`` keyed by ``salt`` (a random number per comparison), kept instead of
    the values to keep memory small: nobody can aim a forged row at a collision."""
    try:
        return hash((salt, *values))
    except TypeError:  # an unhashable value in a damaged row or event: differs from anything
        return hash((salt, repr(values)))


NOT_CREATED = N_("no event of the chain created it (inserted, or the chain was cut)")


class Lines:
    """The differences found in one table, sorted when taken."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.found: list[str] = []

    def differs(self, row: str, name: str, chain: Any, database: Any, whose: str = "") -> None:
        self._says(row, name, quote(chain), database, whose)

    def time(self, row: str, name: str, window: Window, database: Any, whose: str = "") -> None:
        if not within(database, window):
            self._says(row, name, describe(window), database, whose)

    def _says(self, row: str, name: str, said: str, database: Any, whose: str) -> None:
        """What the chain (or ``whose`` record) says of a field, against the database's value."""
        self.found.append(
            _(
                "table {table}, {row}, field {name}: {whose} says {said}, database says {database}"
            ).format(
                table=self.table,
                row=row,
                name=name,
                whose=whose or _("chain"),
                said=said,
                database=quote(database),
            )
        )

    def deleted(self, row: str) -> None:
        self.found.append(
            _("table {table}, {row}: the chain created it, the database lacks it (deleted)").format(
                table=self.table, row=row
            )
        )

    def inserted(self, row: str, why: str = NOT_CREATED) -> None:
        self.found.append(
            _("table {table}, {row}: in the database, but {why}").format(
                table=self.table, row=row, why=_(why)
            )
        )

    def uncompared(self, row: str, why: str) -> None:
        """A row that cannot be compared with the chain: never passed over in silence."""
        self.found.append(
            _("table {table}, {row}: cannot be compared with the chain: {why}").format(
                table=self.table, row=row, why=why
            )
        )

    def taken(self) -> list[str]:
        return sorted(self.found)
