"""Every message a user reads exists in Hindi, and the language is chosen as README says.

The catalog half extracts the marked messages from the source with Babel (tests/catalog.py, the
same code the maintainer runs) and compares them with the committed Hindi catalog: a missing or
fuzzy translation, a stale compiled ``.mo`` or a translation whose ``{placeholders}`` differ
fails, naming every message at fault.  Fix with ``python -m tests.catalog`` and translate.
"""

from __future__ import annotations

import gettext
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from click.testing import CliRunner

from qms_engine.cli import cli
from qms_engine.errors import ConfigurationError
from qms_engine.i18n import _, current_language, set_language, use_language
from qms_engine.ingest.inbox import quarantined_files
from qms_engine.testing import TEST_PASSPHRASE, TestOffice
from tests import catalog
from tests.ingest_fixtures import IngestDesk, ingest_desk_fixture  # noqa: F401 - the fixture

FIX = "run `python -m tests.catalog`, then translate in qms_engine/locale/hi/LC_MESSAGES/qms.po"


@pytest.fixture(scope="module")
def hindi() -> Iterator[Catalog]:
    """The committed Hindi catalog, updated to the msgids the source marks today."""
    yield catalog.updated(catalog.read_catalog(), catalog.extract())


def test_every_marked_message_has_a_hindi_translation(hindi: Catalog) -> None:
    """A message marked in the source with no Hindi (or only a fuzzy one) is listed."""
    missing = [
        f"{message.locations[0][0]}:{message.locations[0][1]}: {message.id!r}"
        for message in catalog.untranslated(hindi)
    ]
    assert missing == [], f"{len(missing)} message(s) without Hindi ({FIX}):\n" + "\n".join(missing)


def test_the_committed_po_holds_exactly_the_source_messages(hindi: Catalog) -> None:
    """The committed qms.po is what updating it from the source gives: no msgid gone stale."""
    committed = {message.id for message in catalog.read_catalog() if message.id}
    wanted = {message.id for message in hindi if message.id}
    assert sorted(committed - wanted, key=str) == [], f"msgids no longer in the source ({FIX})"


def test_placeholders_match_between_english_and_hindi() -> None:
    """A translation names exactly the ``{placeholders}`` of its English message."""
    assert catalog.placeholder_mismatches(catalog.read_catalog()) == []


def test_the_committed_mo_is_the_compiled_po() -> None:
    """qms.mo holds exactly the translations of qms.po (compare what gettext reads)."""
    fresh = gettext.GNUTranslations(io.BytesIO(catalog.compiled(catalog.read_catalog())))
    with catalog.MO_PATH.open("rb") as handle:
        committed = gettext.GNUTranslations(handle)
    fresh_messages = {k: v for k, v in fresh._catalog.items() if k != ""}  # type: ignore[attr-defined]
    committed_messages = {k: v for k, v in committed._catalog.items() if k != ""}  # type: ignore[attr-defined]
    assert committed_messages == fresh_messages, f"qms.mo is stale ({FIX})"


def qms(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``qms ARGS`` in-process; its exit code and everything it printed."""
    environment = {
        "QMS_ADMIN_PASSPHRASE": TEST_PASSPHRASE,
        "QMS_OFFICE_PASSPHRASE": TEST_PASSPHRASE,
    }
    result = CliRunner().invoke(cli, [str(arg) for arg in args], env={**environment, **(env or {})})
    return result.exit_code, result.output


def set_office_language(root: Path, language: str) -> None:
    """Write ``[office] language`` into the workspace's qms.toml."""
    config = root / "qms.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + f'\n[office]\nlanguage = "{language}"\n',
        encoding="utf-8",
    )


def test_init_with_lang_hi_writes_the_office_language_and_speaks_it(tmp_path: Path) -> None:
    """`qms init --lang hi` answers in Hindi and writes `[office] language = "hi"`, which every
    later command then speaks unless `--lang` says otherwise."""
    root = tmp_path / "ws"
    code, output = qms(
        "init", root, "--office-type=police_station", "--office-code=PS-HI1",
        "--office-name=थाना कोतवाली", "--lang=hi",
    )  # fmt: skip
    assert code == 0, output
    assert "कार्यक्षेत्र बनाया गया" in output
    assert 'language = "hi"' in (root / "qms.toml").read_text(encoding="utf-8")
    code, hindi = qms("-w", root, "office", "list")
    assert (code, "कार्यालय" in hindi, "थाना कोतवाली" in hindi) == (0, True, True)
    code, english = qms("-w", root, "--lang", "en", "office", "list")
    assert (code, "Offices" in english, "कार्यालय" in english) == (0, True, False)


def test_lang_option_and_qms_lang_choose_the_language(qms_office: TestOffice) -> None:
    """`--lang hi` and `$QMS_LANG=hi` both speak Hindi; the default is English."""
    assert "Offices" in qms("-w", qms_office.root, "office", "list")[1]
    assert "कार्यालय" in qms("-w", qms_office.root, "--lang", "hi", "office", "list")[1]
    assert "कार्यालय" in qms("-w", qms_office.root, "office", "list", env={"QMS_LANG": "hi"})[1]


def test_lang_option_wins_over_the_office_language(qms_office: TestOffice) -> None:
    """An office whose qms.toml says Hindi is answered in English when `--lang en` is given."""
    set_office_language(qms_office.root, "hi")
    assert "कार्यालय" in qms("-w", qms_office.root, "office", "list")[1]
    assert "Offices" in qms("-w", qms_office.root, "--lang=en", "office", "list")[1]


def test_unknown_office_language_is_a_configuration_error(qms_office: TestOffice) -> None:
    """`[office] language = "fr"` is refused (a configuration error, exit 2), naming the file
    and the key."""
    set_office_language(qms_office.root, "fr")
    result = CliRunner().invoke(cli, ["-w", str(qms_office.root), "office", "list"])
    assert isinstance(result.exception, ConfigurationError)
    assert result.exception.exit_code == 2
    assert f"{qms_office.root / 'qms.toml'}: office.language = 'fr'" in str(result.exception)


def test_unknown_lang_option_is_a_usage_error(tmp_path: Path) -> None:
    """`--lang fr` is a usage error (exit 2) listing the languages there are."""
    code, output = qms("--lang", "fr", "office", "list")
    assert code == 2
    assert "'en'" in output and "'hi'" in output


def test_use_language_speaks_hindi_inside_and_restores_outside() -> None:
    """`use_language("hi")` translates inside the block only; an unknown code is refused."""
    with use_language("hi"):
        assert (current_language(), _("Offices")) == ("hi", "कार्यालय")
    assert (current_language(), _("Offices")) == ("en", "Offices")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        set_language("fr")


def test_a_hindi_quarantine_note_is_written_in_hindi_and_read_back(
    ingest_desk: IngestDesk,
) -> None:
    """An office speaking Hindi gets its quarantine note in Hindi (labels, problem, advice);
    `quarantined_files` still reads the problem back, and the file can be retried."""
    with use_language("hi"):
        ingest_desk.drop("GD", "empty.pdf", b"")
        (outcome,) = ingest_desk.run()
    assert outcome.status == "quarantined"
    (refused,) = ingest_desk.quarantined("GD")
    note = refused.with_name(refused.name + ".error.txt").read_text(encoding="utf-8")
    assert "समस्या:" in note and "क्या करें:" in note and "qms inbox retry" in note
    (found,) = quarantined_files(ingest_desk.runtime.workspace)
    assert (found.path, found.retriable) == (refused, True)
    assert found.problem and found.problem in note
    assert ingest_desk.inbox.retry() == [ingest_desk.inbox.root / "GD" / "empty.pdf"]


def test_an_error_is_reported_in_hindi_with_its_exit_code(qms_office: TestOffice) -> None:
    """Through the real entry point: `qms --lang hi doc show NOPE` says so in Hindi on standard
    error, labels and hint included, and still exits 3 (not found)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    qms_command = str(Path(sys.executable).parent / "qms")
    result = subprocess.run(
        [qms_command, "--lang", "hi", "-w", str(qms_office.root), "doc", "show", "NOPE"],
        env={**environment, "PYTHONIOENCODING": "utf-8"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    assert "त्रुटि: 'NOPE' संख्या का कोई दस्तावेज़ नहीं" in result.stderr
    assert "सुझाव: `qms doc list` देखें" in result.stderr


# `qms --help` in Hindi: the texts of the root, a group, a nested command and a plugin's group.
HELP_IN_HINDI = {
    ("--help",): ("थानों, एसपी कार्यालयों और समाहरणालयों", "नियंत्रित दस्तावेज़ (SOP)"),
    ("doc", "--help"): ("नियंत्रित दस्तावेज़ (SOP) और रजिस्टर अभिलेख।", "मास्टर सूची"),
    ("doc", "new", "--help"): ("FILE से दस्तावेज़ बनाएँ", "यह संदेश दिखाएँ और बाहर निकलें।"),
    ("malkhana", "--help"): ("मुकदमाती माल (मालखाना)", "अभिलेख NUMBER की वस्तु PLACE को"),
}
HELP_IN_ENGLISH = {
    ("--help",): ("ISO 9001:2015 document control", "Controlled documents (SOPs)"),
    ("doc", "--help"): ("Controlled documents (SOPs) and register records.", "The master list"),
    ("doc", "new", "--help"): ("Create a document from FILE", "Show this message and exit."),
    ("malkhana", "--help"): ("Case property (मालखाना)", "Hand the item of record NUMBER over"),
}


@pytest.mark.parametrize("args", list(HELP_IN_HINDI), ids=" ".join)
def test_help_is_shown_in_the_language_chosen(args: tuple[str, ...]) -> None:
    """`qms --lang hi … --help` explains in Hindi (text, listing, options), options and
    examples left as typed; `--lang en` in English; both in one process, one after the other."""
    code, hindi = qms("--lang", "hi", *args)
    assert code == 0, hindi
    assert all(text in hindi for text in HELP_IN_HINDI[args]), hindi
    assert all(text not in hindi for text in HELP_IN_ENGLISH[args][:1]), hindi
    assert "Usage: " in hindi and "-h, --help" in hindi
    code, english = qms("--lang", "en", *args)
    assert code == 0, english
    assert all(text in english for text in HELP_IN_ENGLISH[args]), english
    assert qms("--lang", "hi", *args)[1] == hindi


def test_nc_help_keeps_its_examples_as_typed() -> None:
    """A help's examples (a `\\b` paragraph) are shown as written, around Hindi prose."""
    code, output = qms("--lang", "hi", "nc", "raise", "--help")
    assert code == 0, output
    assert "कार्यालय में एक अननुरूपता दर्ज करें, हस्ताक्षरित।" in output
    assert "      --source internal_audit --severity minor --clause 7.5.3 \\" in output


def test_root_help_follows_qms_lang_but_not_the_office_language(qms_office: TestOffice) -> None:
    """`$QMS_LANG=hi` makes `qms --help` and a bare `qms` Hindi, although click shows them
    before it reads --lang; an office whose qms.toml says Hindi does not change help."""
    code, output = qms("--help", env={"QMS_LANG": "hi"})
    assert (code, "नियंत्रित दस्तावेज़ (SOP)" in output) == (0, True), output
    code, output = qms(env={"QMS_LANG": "hi"})
    assert (code, "नियंत्रित दस्तावेज़ (SOP)" in output) == (2, True), output
    set_office_language(qms_office.root, "hi")
    code, output = qms("-w", qms_office.root, "doc", "new", "--help")
    assert (code, "Create a document from FILE" in output) == (0, True), output


def test_help_texts_are_in_the_catalog_without_their_examples(hindi: Catalog) -> None:
    """The extraction reads the command tree: help paragraphs (nested and plugin commands,
    option helps, click's own `--help` text) are msgids; a `\\b` example paragraph is not."""
    ids = {message.id for message in hindi}
    assert {
        "Create a document from FILE: numbered by the office's scheme, revision 0, draft.",
        "Title (Hindi is fine).",
        "Show this message and exit.",
        "Only items past the day they were due back.",
        "Record a nonconformity in the office, signed.",
    } <= ids
    assert not [i for i in ids if isinstance(i, str) and "--clause 7.5.3 \\" in i]
