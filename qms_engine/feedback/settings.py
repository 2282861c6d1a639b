"""The ``[feedback]`` table of ``qms.toml``: where the form is, and what the stations are called.

.. code-block:: toml

    [feedback]
    url = "https://forms.example/balodabazar?station={office}"   # the QR code's target
    day_first = true               # 11/01/2026 is 11 January (when all times read both ways)
    [feedback.stations]            # the form's station column → office code
    "Kotwali" = "PS-KOT39"
    "कोतवाली" = "PS-KOT39"
    [feedback.columns]             # more header variants for a field of the form
    overall = ["Satisfaction (1-5)"]

Office codes and office names are recognised without an alias.  Every error names the file
and the key.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qms_engine.errors import ConfigurationError
from qms_engine.i18n import _
from qms_engine.registry.feedback_forms import FeedbackForm, loose_key
from qms_engine.storage.workspace import Workspace, read_config

_KEYS = {"url", "day_first", "stations", "columns"}


@dataclass(frozen=True)
class FeedbackSettings:
    """What ``qms.toml`` says about citizen feedback (all optional)."""

    source: Path
    """The ``qms.toml`` it was read from (named in errors)."""
    url: str | None = None
    """The form's address; ``{office}`` stands for the office code."""
    stations: Mapping[str, str] = field(default_factory=dict)
    """The station column's value → office code."""
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Field → header variants added to the office type's form."""
    day_first: bool | None = None
    """Whether the sheets write the day before the month (None: as the office type's form
    says)."""

    def form_url(self, office_code: str) -> str:
        """The form's address for ``office_code``, or an error saying how to configure it."""
        if self.url is None:
            raise ConfigurationError(
                _(
                    "{source}: no feedback.url: the address of the feedback form is not configured"
                ).format(source=self.source),
                hint=_('add to qms.toml:  [feedback]  url = "https://…/form?station={office}"'),
            )
        return self.url.format(office=office_code)  # checked: {office} is its only field

    def url_warnings(self) -> list[str]:
        """What may be wrong with a configured URL that still works."""
        if self.url is None or any(
            name == "office" for _text, name, _spec, _conv in string.Formatter().parse(self.url)
        ):
            return []
        return [
            f"{self.source}: feedback.url has no {{office}}: every station's QR code leads to "
            "the same address, so citizens must pick their station in the form"
        ]

    def extend(self, form: FeedbackForm) -> FeedbackForm:
        """``form`` with the header variants of ``[feedback.columns]`` added and
        ``day_first`` set."""
        changes: dict[str, object] = {}
        if self.columns:
            columns = {name: tuple(variants) for name, variants in form.columns.items()}
            for name, extra in self.columns.items():
                columns[name] = (*columns.get(name, ()), *extra)
            changes["columns"] = columns
        if self.day_first is not None:
            changes["day_first"] = self.day_first
        try:
            return dataclasses.replace(form, **changes)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                _("{source}: feedback.columns: {exc}").format(source=self.source, exc=exc)
            ) from None


def feedback_settings(workspace: Workspace) -> FeedbackSettings:
    """Read and check the ``[feedback]`` table of the workspace's ``qms.toml``."""
    path = workspace.config_path
    table = read_config(path).get("feedback", {})
    if not isinstance(table, dict):
        raise ConfigurationError(
            _("{path}: feedback must be a table ([feedback])").format(path=path)
        )
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigurationError(
            _("{path}: unknown key(s) {unknown} in [feedback] (allowed: {allowed})").format(
                path=path, unknown=unknown, allowed=sorted(_KEYS)
            )
        )
    day_first = table.get("day_first")
    if day_first not in (None, True, False):
        raise ConfigurationError(
            _(
                "{path}: feedback.day_first must be true (24/11/2026) or false "
                "(11/24/2026), got {day_first}"
            ).format(path=path, day_first=repr(day_first))
        )
    return FeedbackSettings(
        path,
        _url(path, table.get("url")),
        _stations(path, table.get("stations", {})),
        _columns(path, table.get("columns", {})),
        day_first,
    )


def _url(path: Path, url: object) -> str | None:
    if url is None:
        return None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ConfigurationError(
            _("{path}: feedback.url must be a web address (https://…), got {url}").format(
                path=path, url=repr(url)
            )
        )
    try:
        fields = [
            "{"
            + name
            + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "")
            + "}"
            for _text, name, spec, conversion in string.Formatter().parse(url)
            if name is not None
        ]
    except ValueError as exc:
        raise ConfigurationError(
            _("{path}: feedback.url {url}: {exc}").format(path=path, url=repr(url), exc=exc),
            hint=_("write a literal brace as {{ or }}"),
        ) from None
    wrong = sorted(set(fields) - {"{office}"})
    if wrong:
        raise ConfigurationError(
            _("{path}: feedback.url may use only {{office}} (the office code), not {wrong}").format(
                path=path, wrong=", ".join(wrong)
            ),
            hint=_("write {office} as it is, and a literal brace as {{ or }}"),
        )
    return url


def _stations(path: Path, stations: object) -> dict[str, str]:
    if not isinstance(stations, dict) or not all(
        isinstance(value, str) and value for value in stations.values()
    ):
        raise ConfigurationError(
            _(
                "{path}: feedback.stations must be a table of names and office "
                'codes, e.g. [feedback.stations]  "Kotwali" = "PS-KOT39"'
            ).format(path=path)
        )
    for alias, code in stations.items():
        if not loose_key(alias):
            raise ConfigurationError(
                _(
                    "{path}: feedback.stations: {alias} = {code}: the name has no "
                    "letter or digit, so it would stand for every empty or "
                    "punctuation-only station cell"
                ).format(path=path, alias=repr(alias), code=repr(code)),
                hint=_("remove it: a row without its station is reported, to be corrected"),
            )
    return dict(stations)


def _columns(path: Path, columns: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(columns, dict):
        raise ConfigurationError(
            _(
                "{path}: feedback.columns must be a table of fields and header "
                'lists, e.g. [feedback.columns]  overall = ["Satisfaction (1-5)"]'
            ).format(path=path)
        )
    found = {}
    for name, variants in columns.items():
        listed = [variants] if isinstance(variants, str) else variants
        if not isinstance(listed, list) or not all(isinstance(v, str) and v for v in listed):
            raise ConfigurationError(
                _("{path}: feedback.columns.{name} must be a header or a list of headers").format(
                    path=path, name=name
                )
            )
        found[name] = tuple(listed)
    return found
