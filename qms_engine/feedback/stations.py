"""Which office a form's station column means: its code, its name, or an alias in qms.toml.

Citizens pick their station from the form's list, which the district wrote ("Kotwali",
"कोतवाली", "PS Kotwali"); the names are compared loosely (letter case, spaces and punctuation
aside, Devanagari NFC-normalised) and ``[feedback.stations]`` names the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.errors import ConfigurationError
from qms_engine.feedback.privacy import quoted
from qms_engine.i18n import _
from qms_engine.registry.feedback_forms import loose_key
from qms_engine.runtime import Runtime
from qms_engine.storage.models import OFFICE_TABLE


@dataclass(frozen=True)
class Station:
    """An office as feedback is filed to it."""

    code: str
    name: str
    timezone: str


def deployment_offices(runtime: Runtime) -> list[OfficeRef]:
    """Every office of the deployment, by code."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(OFFICE_TABLE).order_by(OFFICE_TABLE.c.code)).all()
    return [OfficeRef(r.id, r.code, r.name, r.office_type, r.timezone) for r in rows]


class StationIndex:
    """Station names, codes and aliases → offices."""

    def __init__(
        self, offices: Iterable[Station], aliases: Mapping[str, str], *, where: str
    ) -> None:
        """``aliases``: a name → office code, from ``where`` (the qms.toml table, for errors)."""
        self.by_code = {office.code: office for office in offices}
        self._keys: dict[str, set[str]] = {}
        for office in self.by_code.values():
            for text in (office.code, office.name):
                self._keys.setdefault(loose_key(text), set()).add(office.code)
        folded = {code.casefold(): code for code in self.by_code}
        codes = {loose_key(code): code for code in self.by_code}
        given: dict[str, str] = {}
        for alias, code in aliases.items():
            known = folded.get(code.strip().casefold())
            if known is None:
                raise ConfigurationError(
                    _("{where}: {alias} = {code}: there is no office {code}").format(
                        where=where, alias=repr(alias), code=repr(code)
                    ),
                    hint=_("offices: {value}").format(
                        value=", ".join(sorted(self.by_code)) or _("none")
                    ),
                )
            key = loose_key(alias)
            if codes.get(key, known) != known:
                raise ConfigurationError(
                    _(
                        "{where}: {alias} = {code}: {alias} is the code of another office, {value}"
                    ).format(where=where, alias=repr(alias), code=repr(code), value=codes[key]),
                    hint=_("remove the alias: an office's code always names that office"),
                )
            if given.setdefault(key, alias) != alias and self._keys[key] != {known}:
                raise ConfigurationError(
                    _(
                        "{where}: {value} and {alias} are one name to the import (case, "
                        "spaces and punctuation aside) but name different offices"
                    ).format(where=where, value=repr(given[key]), alias=repr(alias)),
                    hint=_("keep one of them"),
                )
            self._keys[key] = {known}  # an alias decides, whatever else matches

    def find(self, text: str) -> Station | str:
        """The office ``text`` names, or why it names none (to report with the row)."""
        codes = self._keys.get(loose_key(text), set())
        if len(codes) == 1:
            return self.by_code[next(iter(codes))]
        if codes:
            return f"the station {quoted(text)} could be any of {', '.join(sorted(codes))}"
        if not text.strip():
            return "the station is empty"
        return f"the station {quoted(text)} is not an office of this deployment"
