"""Chain of custody of malkhana case property, through the engine and the CLI.

A malkhana entry's property starts in the malkhana; every hand-over (to court, to the forensic
lab, back, disposal) is one signed ``custody.moved`` event with its row.  The engine refuses a
move that breaks the register's rules (from where it is, only to its places, nothing after
disposal, disposal only by an order, a day it is due back for court or FSL, only a clerk or
the quality coordinator), writing nothing; `qms audit verify` accepts what it writes.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, func, select, update

from qms_engine.api import Custody, hookimpl
from qms_engine.audit.verify import verify_office
from qms_engine.chain.custody_rules import move_problems
from qms_engine.cli import SUBCOMMANDS, cli
from qms_engine.clock import local_today, years_after
from qms_engine.custody import Movement, move, out, out_overdue, recorded_custody, where
from qms_engine.errors import (
    IntegrityError,
    InvalidInput,
    PermissionDenied,
    PluginError,
    RuleViolation,
)
from qms_engine.extension.commands import plugin_commands
from qms_engine.storage.models import CUSTODY_TABLE, EVENT_TABLE
from qms_engine.testing import TestOffice
from tests.test_cli import PASSPHRASES, run

if TYPE_CHECKING:
    from tests.conftest import Desk

FIELDS = {
    "case_number": "112/2026",
    "items": "मोटरसाइकिल (seized motorcycle)",
    "seal_number": "S-0457",
    "depositing_officer": "SI Rakesh Verma",
}


@pytest.fixture
def item(desk: Desk) -> str:
    """A malkhana entry filed by the clerk: its number."""
    return desk.file_record("जब्त मोटरसाइकिल", type_code="MALKHANA", fields=FIELDS)


def _today(office: TestOffice) -> date:
    return local_today(office.office.timezone)


def _hand_over(
    office: TestOffice, number: str, to: str, who: str = "clerk", **given: Any
) -> Movement:
    """``move`` as ``who`` (the clerk), seal intact, received by a head constable unless
    ``given`` says otherwise."""
    details: dict[str, Any] = {"received_by": "HC Ramesh", "seal_intact": True, **given}
    return move(office.runtime, number=number, actor=office.signers[who], to=to, **details)


def _to_court(office: TestOffice, number: str, who: str = "clerk", days: int = 14) -> None:
    _hand_over(
        office,
        number,
        "court",
        who,
        received_by="न्यायालय मोहर्रिर रामकिशन",
        expected_back=_today(office) + timedelta(days=days),
        note="पेशी हेतु",
    )


def _written(office: TestOffice) -> tuple[int, int]:
    """How many events and movement rows the office has."""
    with office.runtime.engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(EVENT_TABLE)).scalar_one()
        rows = connection.execute(select(func.count()).select_from(CUSTODY_TABLE)).scalar_one()
    return events, rows


def test_a_filed_item_is_in_the_malkhana_since_its_filing(
    qms_office: TestOffice, item: str
) -> None:
    """Never moved, an item is at its register's home, held by nobody, due back never."""
    found = where(qms_office.runtime, item)
    assert (found.place, found.holder, found.expected_back, found.final) == (
        "malkhana",
        "",
        None,
        False,
    )
    assert found.place_title == "Malkhana (मालखाना)"
    assert out(qms_office.runtime, qms_office.office) == []


def test_a_move_to_court_and_back_is_where_it_says(qms_office: TestOffice, item: str) -> None:
    """To court (due back in 14 days) and back: where() follows, out() lists it while it is
    away, and the chain with its rows verifies."""
    _to_court(qms_office, item)
    found = where(qms_office.runtime, item)
    due = _today(qms_office) + timedelta(days=14)
    assert (found.place, found.holder, found.expected_back) == (
        "court",
        "न्यायालय मोहर्रिर रामकिशन",
        due,
    )
    assert (found.moved_by, found.seal_intact) == ("ramesh", True)
    assert [i.number for i in out(qms_office.runtime, qms_office.office)] == [item]
    assert out_overdue(qms_office.runtime, qms_office.office, due) == []
    later = out_overdue(qms_office.runtime, qms_office.office, due + timedelta(days=1))
    assert [i.number for i in later] == [item]
    back = _hand_over(qms_office, item, "malkhana", seal_intact=False, note="मुहर टूटी हुई मिली")
    assert (back.from_place, back.to_place) == ("court", "malkhana")
    assert where(qms_office.runtime, item).place == "malkhana"
    assert out(qms_office.runtime, qms_office.office) == []
    result = verify_office(qms_office.runtime, qms_office.office)
    assert result.ok, result.problems


def test_disposal_without_an_order_is_refused_and_writes_nothing(
    qms_office: TestOffice, item: str
) -> None:
    """A disposal names the order disposing of it: without one (spaces, zero-width characters
    that show nothing), refused (exit 5), nothing written; with one, the item is disposed of
    and moves no more."""
    before = _written(qms_office)
    for blank in ("   ", "\u200b", " \u200b\u2060\ufeff "):
        with pytest.raises(RuleViolation, match="needs the reference of the order"):
            _hand_over(qms_office, item, "disposed", "quality_coordinator", order=blank)
    assert _written(qms_office) == before
    order = "CJM court order 45/2026 dated 2026-11-20"
    _hand_over(qms_office, item, "disposed", "quality_coordinator", order=order)
    found = where(qms_office.runtime, item)
    assert (found.place, found.final) == ("disposed", True)
    with pytest.raises(RuleViolation, match="a final place: nothing moves after it"):
        _to_court(qms_office, item)


@pytest.mark.parametrize(
    ("to", "days", "fragment"),
    [
        ("court", None, "needs the day it is expected back"),
        ("fsl", -1, "before the day it went"),
        ("fsl", 400, "more than a year after it went"),
        ("malkhana", None, "it is at 'malkhana' already"),
        ("thana", None, "'thana' is not one of its places (malkhana, court, fsl, disposed)"),
    ],
)
def test_a_move_that_breaks_the_register_s_rules_is_refused(
    qms_office: TestOffice, item: str, to: str, days: int | None, fragment: str
) -> None:
    """Court and FSL need a day it is due back, from today to a year ahead; an item moves
    only to another of its register's places."""
    before = _written(qms_office)
    back = None if days is None else _today(qms_office) + timedelta(days=days)
    with pytest.raises(RuleViolation) as refused:
        _hand_over(qms_office, item, to, expected_back=back)
    assert fragment in str(refused.value)
    assert item in str(refused.value)
    assert _written(qms_office) == before


def test_only_a_clerk_or_the_quality_coordinator_hands_over(
    qms_office: TestOffice, item: str
) -> None:
    """An author may not hand over case property (exit 4); the quality coordinator may."""
    with pytest.raises(PermissionDenied, match="needs role clerk or quality_coordinator"):
        _to_court(qms_office, item, who="author")
    _to_court(qms_office, item, who="quality_coordinator")
    assert where(qms_office.runtime, item).moved_by == "priya"


def test_records_without_custody_and_empty_receivers_are_refused(
    qms_office: TestOffice, desk: Desk, item: str
) -> None:
    """An SOP keeps no chain of custody; a hand-over names who received it."""
    sop = desk.new_sop("मालखाना प्रबंधन")
    with pytest.raises(RuleViolation, match="keeps no chain of custody"):
        _to_court(qms_office, sop)
    for blank in (" ", "\u200b", "\u2060\u200d"):
        with pytest.raises(InvalidInput, match="who received it is empty"):
            _hand_over(qms_office, item, "court", received_by=blank)


def test_a_hand_over_follows_the_chain_not_an_edited_table(
    qms_office: TestOffice, item: str
) -> None:
    """An insider deletes the latest movement row (the item "never went to court"): the next
    hand-over is refused as an integrity failure (exit 6) instead of being signed from the
    wrong place, and nothing is written."""
    _to_court(qms_office, item)
    with qms_office.runtime.engine.begin() as connection:
        connection.execute(delete(CUSTODY_TABLE))
    before = _written(qms_office)
    with pytest.raises(IntegrityError, match="the custody table disagrees with the audit chain"):
        _to_court(qms_office, item)
    assert _written(qms_office) == before


@pytest.mark.parametrize(
    ("given", "option"),
    [
        ({"received_by": "HC Ramesh\nseal: intact"}, "--received-by"),
        ({"note": "पेशी\x1b[2J"}, "--note"),
        ({"order": "CJM 45/2026\u2028approved"}, "--order"),
    ],
)
def test_line_breaks_and_control_characters_are_refused(
    qms_office: TestOffice, item: str, given: dict[str, str], option: str
) -> None:
    """The one-line fields of a hand-over are signed as typed: a line break or a control
    character is refused (exit 2), naming the option."""
    before = _written(qms_office)
    back = _today(qms_office) + timedelta(days=3)
    with pytest.raises(InvalidInput, match=re.escape(option)):
        _hand_over(qms_office, item, "court", expected_back=back, **given)
    assert _written(qms_office) == before


def test_a_move_from_elsewhere_is_refused(qms_office: TestOffice, item: str) -> None:
    """`--from court` for an item in the malkhana is refused (exit 5); `--from malkhana` moves."""
    back = _today(qms_office) + timedelta(days=3)
    with pytest.raises(RuleViolation, match="is at malkhana, not at court"):
        _hand_over(qms_office, item, "fsl", expected_back=back, from_place="court")
    moved = _hand_over(qms_office, item, "fsl", expected_back=back, from_place="malkhana")
    assert (moved.from_place, moved.to_place) == ("malkhana", "fsl")


def test_a_refusal_lists_the_places_it_may_go(qms_office: TestOffice, item: str) -> None:
    """The hint of a refused hand-over lists the places it may go from where it is, names
    the command the user ran, and for a disposal the option it needs."""
    with pytest.raises(RuleViolation) as refused:
        _hand_over(qms_office, item, "disposed", command="qms malkhana")
    hint = refused.value.hint or ""
    assert "from malkhana it may go to: court, fsl, disposed" in hint
    assert f"`qms malkhana move {item} --to disposed --order REF`" in hint


def test_an_item_is_out_for_at_most_a_year(qms_office: TestOffice, item: str) -> None:
    """Due back on the same day next year is allowed, the day after it is refused; from 29
    February the year ends on 28 February (the rule the verifier applies too)."""
    today = _today(qms_office)
    with pytest.raises(RuleViolation, match="more than a year after it went"):
        _hand_over(qms_office, item, "court", expected_back=years_after(today, 1) + timedelta(1))
    _hand_over(qms_office, item, "court", expected_back=years_after(today, 1))
    leap = {"home": "malkhana", "places": ["malkhana", "court"], "returns": ["court"]}
    rules = {**leap, "final": [], "order_needed": []}
    went = date(2028, 2, 29)
    due = {"from": "malkhana", "to": "court", "expected_back": "2029-02-28"}
    assert move_problems(rules, "malkhana", due, went) == []
    late = move_problems(rules, "malkhana", {**due, "expected_back": "2029-03-01"}, went)
    assert late == ["expected back on 2029-03-01, more than a year after it went (2028-02-29)"]


# --------------------------------------------------------------------------- the CLI


def qms(office: TestOffice, *args: str | Path) -> Result:
    """``qms -w WORKSPACE ARGS`` in-process, every passphrase given."""
    return CliRunner().invoke(
        cli, ["-w", str(office.root), *map(str, args)], env={**PASSPHRASES, "COLUMNS": "100"}
    )


def test_custody_commands_move_and_answer_where(qms_office: TestOffice, item: str) -> None:
    """`qms custody move` hands over (signed), `where` answers in the office's time, `out`
    lists it, all with --json."""
    due = (_today(qms_office) + timedelta(days=10)).isoformat()
    moved = qms(
        qms_office,
        "custody", "move", item, "--to", "fsl", "--received-by", "FSL सागर",
        "--seal", "intact", "--expected-back", due, "--note", "DNA जाँच", "--as", "ramesh",
        "--json",
    )  # fmt: skip
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout)["to_place"] == "fsl"
    text = qms(qms_office, "custody", "where", item)
    assert text.exit_code == 0, text.output
    assert "Forensic science laboratory" in text.stdout and "FSL सागर" in text.stdout
    assert due in text.stdout and "IST" in text.stdout
    data = json.loads(qms(qms_office, "custody", "where", item, "--json").stdout)
    assert (data["place"], data["holder"], data["expected_back"]) == ("fsl", "FSL सागर", due)
    listed = json.loads(qms(qms_office, "custody", "out", "--json").stdout)
    assert [entry["number"] for entry in listed] == [item]
    history = " ".join(qms(qms_office, "doc", "show", item).stdout.split())  # cells unwrapped
    assert "malkhana → fsl; received by: FSL सागर; due back: " + due in history
    assert "note: DNA जाँच; seal intact" in history
    typed = json.loads(qms(qms_office, "custody", "out", "--type", "malkhana", "--json").stdout)
    assert typed == listed
    typo = run("-w", qms_office.root, "custody", "out", "--type", "MALKANA")
    assert typo.returncode == 2 and "MALKHANA" in typo.stderr, typo.stderr


def test_malkhana_commands_come_from_the_plugin(qms_office: TestOffice, item: str) -> None:
    """The police station plugin adds `qms malkhana move|where|out` through the CLI hook:
    a disposal without an order is refused (exit 5), and `out --overdue --on` lists an item
    past its day."""
    refused = run(
        "-w", qms_office.root,
        "malkhana", "move", item, "--to", "disposed", "--received-by", "नीलामी समिति",
        "--seal", "intact", "--as", "ramesh",
    )  # fmt: skip
    assert refused.returncode == 5, refused.stderr
    assert "needs the reference of the order" in refused.stderr
    assert f"qms malkhana move {item} --to disposed --order REF" in refused.stderr
    invisible = run(
        "-w", qms_office.root,
        "malkhana", "move", item, "--to", "disposed", "--received-by", "x",
        "--seal", "intact", "--order", "\u200b", "--as", "ramesh",
    )  # fmt: skip
    assert invisible.returncode == 5, invisible.stderr
    assert "needs the reference of the order" in invisible.stderr
    nobody = run(
        "-w", qms_office.root,
        "malkhana", "move", item, "--to", "disposed", "--received-by", "\u200b",
        "--seal", "intact", "--order", "CJM order 45/2026", "--as", "ramesh",
    )  # fmt: skip
    assert nobody.returncode == 2 and "who received it is empty" in nobody.stderr, nobody.stderr
    due = _today(qms_office) + timedelta(days=3)
    done = qms(
        qms_office,
        "malkhana", "move", item, "--to", "court", "--received-by", "Court moharrir",
        "--seal", "broken", "--expected-back", due.isoformat(), "--as", "ramesh",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    later = (due + timedelta(days=1)).isoformat()
    overdue = qms(qms_office, "malkhana", "out", "--overdue", "--on", later, "--json")
    assert overdue.exit_code == 0, overdue.output
    assert [entry["number"] for entry in json.loads(overdue.stdout)] == [item]
    for day, listed in ((later, [item]), (due.isoformat(), [])):  # --on implies --overdue
        implied = qms(qms_office, "malkhana", "out", "--on", day, "--json")
        assert [entry["number"] for entry in json.loads(implied.stdout)] == listed, day
    none = qms(qms_office, "malkhana", "out", "--overdue")
    assert none.exit_code == 0 and "none" in none.stdout.lower(), none.output
    where_text = qms(qms_office, "malkhana", "where", item)
    assert "Court moharrir" in where_text.stdout, where_text.output


def test_move_from_elsewhere_and_raw_text_through_the_cli(
    qms_office: TestOffice, item: str
) -> None:
    """`--from court` for an item in the malkhana exits 5; a receiver's name holding an
    escape and a line break (written before they were refused) is shown harmless, on one
    line."""
    due = (_today(qms_office) + timedelta(days=3)).isoformat()
    move_args = ["--to", "fsl", "--received-by", "FSL", "--seal", "intact", "--expected-back", due]
    wrong = run("-w", qms_office.root, "custody", "move", item, *move_args, "--from", "court",
                "--as", "ramesh")  # fmt: skip
    assert wrong.returncode == 5 and "is at malkhana, not at court" in wrong.stderr, wrong.stderr
    moved = qms(qms_office, "custody", "move", item, *move_args, "--from", "malkhana",
                "--as", "ramesh")  # fmt: skip
    assert moved.exit_code == 0, moved.output
    with qms_office.runtime.engine.begin() as connection:
        connection.execute(
            update(CUSTODY_TABLE).values(received_by="FSL\x1b[2J\nseal: intact (forged line)")
        )
    shown = qms(qms_office, "custody", "where", item).stdout
    assert "\x1b" not in shown
    assert "held by: FSL\ufffd[2J seal: intact (forged line)" in shown, shown


def test_malkhana_where_refuses_an_sop(qms_office: TestOffice, desk: Desk) -> None:
    """`qms malkhana where` names malkhana entries only: an SOP's number is refused (exit 5)."""
    sop = desk.new_sop("मालखाना प्रबंधन")
    result = run("-w", qms_office.root, "malkhana", "where", sop, "--json")
    assert result.returncode == 5, result.stderr
    assert "not a MALKHANA entry" in json.loads(result.stderr)["error"]


# --------------------------------------------------------------------------- declaring places


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"home": "thana"}, "home 'thana' is not one of places"),
        ({"final": ("malkhana",)}, "home 'malkhana' cannot be a final place"),
        ({"order_needed": ("auction",)}, "order_needed name ['auction'], which are not places"),
        ({"places": ("malkhana", "Court")}, "place codes ['Court'] must be lowercase"),
        ({"returns": ("court", "disposed")}, "a place an item returns from cannot be final"),
    ],
)
def test_a_plugin_s_custody_declaration_is_checked(
    changes: dict[str, object], fragment: str
) -> None:
    """A plugin's places are checked when it declares them, naming what is wrong."""
    declared: dict[str, object] = {
        "home": "malkhana",
        "places": ("malkhana", "court", "disposed"),
        "returns": ("court",),
        "final": ("disposed",),
        **changes,
    }
    with pytest.raises(ValueError, match=re.escape(fragment)):
        Custody(**declared)  # type: ignore[arg-type]


def test_a_type_records_its_custody_in_its_event(qms_office: TestOffice) -> None:
    """The malkhana type's office.document_type.added event records its places and rules
    (the verifier reads them there); a type without custody records none."""
    with qms_office.runtime.engine.connect() as connection:
        recorded = recorded_custody(connection, qms_office.office, "MALKHANA")
        assert recorded_custody(connection, qms_office.office, "SOP") is None
    assert recorded == Custody(
        "malkhana",
        ("malkhana", "court", "fsl", "disposed"),
        ("court", "fsl"),
        ("disposed",),
        ("disposed",),
    )


# --------------------------------------------------------------------------- the CLI hook


class _Adds:
    """A plugin whose ``qms_cli_commands`` returns ``value``."""

    def __init__(self, value: object) -> None:
        self.value = value

    @hookimpl
    def qms_cli_commands(self) -> object:
        return self.value


class _Raises:
    """A plugin whose ``qms_cli_commands`` fails."""

    @hookimpl
    def qms_cli_commands(self) -> object:
        raise RuntimeError("कमांड टूटी")


@pytest.mark.parametrize(
    ("plugin", "fragment"),
    [
        (_Adds("malkhana"), "plugin 'odd'"),
        (_Adds([click.Command("doc")]), "plugin 'odd': command 'doc' is a core command's name"),
        (
            _Adds([click.Command("thana"), click.Command("malkhana")]),
            "plugin 'odd': command 'malkhana' is added by plugin 'police_station' too",
        ),
        (_Raises(), "plugin 'odd': qms_cli_commands failed: RuntimeError('कमांड टूटी')"),
    ],
    ids=["not a list of commands", "a core command's name", "another plugin's name", "raises"],
)
def test_a_plugin_s_commands_are_checked(plugin: object, fragment: str) -> None:
    """What a plugin's `qms_cli_commands` returns must be click commands with names of their
    own: otherwise a PluginError names the plugin, none of its commands is added, and the
    other plugins' still are."""
    found = plugin_commands(SUBCOMMANDS, extra_plugins=[("odd", plugin)])
    assert fragment in str(found.problems["odd"])
    assert isinstance(found.problems["odd"], PluginError)
    assert "odd" not in found.owners.values() and "thana" not in found.commands
    assert found.owners["malkhana"] == "police_station"


BROKEN_PLUGIN = """
from qms_engine.api import hookimpl

@hookimpl
def qms_cli_commands():
    raise RuntimeError("कमांड टूटी")
"""


def test_a_broken_plugin_leaves_out_only_its_commands(tmp_path: Path) -> None:
    """An installed plugin whose `qms_cli_commands` raises: `qms --help` still lists every
    other command and says on stderr which plugin is left out; `qms plugins` reports why."""
    (tmp_path / "qms_broken_cli.py").write_text(BROKEN_PLUGIN, encoding="utf-8")
    info = tmp_path / "qms_broken_cli-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: qms-broken-cli\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[qms_engine.plugins]\nbroken = qms_broken_cli\n")
    env = {**PASSPHRASES, "PYTHONPATH": str(tmp_path)}
    listed = run("--help", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "malkhana" in listed.stdout and "Traceback" not in listed.stderr
    assert "plugin 'broken': qms_cli_commands failed: RuntimeError" in listed.stderr
    report = run("plugins", "--json", env=env)
    assert report.returncode == 0, report.stderr
    rows = {row["name"]: row for row in json.loads(report.stdout)}
    assert "qms_cli_commands failed" in rows["broken"]["problem"]
    assert rows["police_station"]["commands"] == ["malkhana"]
    assert rows["police_station"]["problem"] is None
    text = run("plugins", env=env)
    assert "broken: its commands are left out: plugin 'broken'" in " ".join(text.stdout.split())


def test_plugin_commands_join_the_root_group() -> None:
    """`qms --help` lists the police station's `malkhana` beside the core commands, with its
    help; `qms malkhana --help` lists move, where and out."""
    listed = CliRunner().invoke(cli, ["--help"])
    assert listed.exit_code == 0, listed.output
    assert "malkhana" in listed.stdout and "custody" in listed.stdout
    group = CliRunner().invoke(cli, ["malkhana", "--help"])
    assert group.exit_code == 0, group.output
    assert all(name in group.stdout for name in ("move", "where", "out", "मालखाना"))
