"""A plugin's titles, marked with ``qms_engine.api.N_``, show in the command's language.

The built-in plugins mark every title a person reads; the engine's catalog holds their Hindi
and the engine translates them where it shows them.  A title nobody marked (a third-party
plugin's) shows as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from qms_engine.api import N_
from qms_engine.cli import cli
from qms_engine.extension.manager import load_plugins
from qms_engine.i18n import _, use_language
from qms_engine.registry.office_types import OfficeType
from qms_engine.testing import TestOffice
from tests import test_custody

BUILT_IN = ("police_station", "sp_office", "collectorate")
DEVANAGARI = re.compile("[\u0900-\u097f]")
item = test_custody.item  # the fixture: a malkhana entry


def _titles(office_type: OfficeType) -> Iterator[str]:
    """Every title of ``office_type`` a person reads."""
    yield office_type.title
    yield from office_type.required_sops
    for spec in office_type.document_types:
        yield spec.title
        yield from spec.required_fields.values()
        if spec.custody is not None:
            yield from spec.custody.titles.values()
    for listed in (office_type.desks, office_type.services, office_type.record_classes):
        yield from (entry.title for entry in listed)
    if office_type.feedback is not None:
        yield from office_type.feedback.labels.values()


@pytest.mark.parametrize("code", BUILT_IN)
def test_every_title_of_a_built_in_plugin_reads_in_hindi(code: str) -> None:
    """Under --lang hi each title is the catalog's Hindi (Devanagari, no English letters
    but for initials like FIR), and under English it is the plugin's own text."""
    office_type = load_plugins().registry.office_type(code)
    titles = sorted(set(_titles(office_type)))
    assert titles
    with use_language("hi"):
        untranslated = [title for title in titles if _(title) == title]
        not_hindi = [_(title) for title in titles if not DEVANAGARI.search(_(title))]
    assert untranslated == [] and not_hindi == []
    assert [_(title) for title in titles] == titles  # English: as the plugin wrote it


def test_an_unmarked_title_shows_as_written() -> None:
    """A third-party plugin's title the catalog does not hold is shown as the plugin wrote it;
    N_ itself changes nothing."""
    title = "Beat book entry (बीट पुस्तिका)"
    assert N_(title) is title
    with use_language("hi"):
        assert _(title) == title


def test_custody_where_names_the_place_in_hindi(qms_office: TestOffice, item: str) -> None:
    """`qms --lang hi custody where` names the malkhana in Hindi, not the plugin's English."""
    args = ["--lang", "hi", "-w", str(qms_office.root), "custody", "where", item]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "मालखाना" in result.output and "Malkhana" not in result.output, result.output
