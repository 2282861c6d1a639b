"""What the inbox commands tell a clerk: `qms inbox retry` with a name nothing has, quarantine
notes in the office's time, `qms inbox status` in 80 columns, and the watcher's status line.

Real workspaces (SQLite and PostgreSQL), real files through the real pipeline, `qms` in a
subprocess where the exit code matters and through click's CliRunner otherwise.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.live import Live
from rich.text import Text

from qms_engine.cli import cli
from qms_engine.cli.inbox import _Tally
from qms_engine.cli.tables import cell_width
from qms_engine.clock import from_utc_text, zone
from qms_engine.errors import NotFound, RuleViolation
from qms_engine.ingest.pipeline import Outcome
from tests.ingest_fixtures import (
    IngestDesk,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
)
from tests.test_cli import PASSPHRASES, run
from tests.test_inbox_per_office import (
    FIRST,
    SECOND,
    SECOND_ZONE,
    drop,
    two_offices_fixture,  # noqa: F401  (the two_offices fixture)
)

ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""A terminal's control sequences (cursor, erase line); the carriage returns are kept."""


def invoke(*args: object, columns: int = 120) -> tuple[int, str]:
    """``qms ARGS`` in-process, ``COLUMNS`` wide: the exit code and standard output."""
    env = {**PASSPHRASES, "COLUMNS": str(columns)}
    result = CliRunner().invoke(cli, [str(arg) for arg in args], env=env)
    return result.exit_code, result.stdout


# --- qms inbox retry NAME ---------------------------------------------------------------------


def test_retrying_a_name_nothing_has_says_so_when_quarantine_is_empty(
    ingest_desk: IngestDesk,
) -> None:
    """`qms inbox retry nosuch.docx` with nothing quarantined: exit 3, saying no file is."""
    result = run("-w", ingest_desk.root, "inbox", "retry", "nosuch.docx")
    assert result.returncode == 3, result.stderr
    assert "no file in quarantine is called 'nosuch.docx': no file is in quarantine" in (
        result.stderr
    )
    assert result.stdout == ""


def test_retrying_a_name_nothing_has_lists_the_quarantined_names_and_moves_nothing(
    ingest_desk: IngestDesk,
) -> None:
    """With `empty.pdf` quarantined, `qms inbox retry nosuch.docx empty.pdf` exits 3 naming
    nosuch.docx and listing empty.pdf, and moves nothing (not even empty.pdf)."""
    desk = ingest_desk
    desk.drop("GD", "empty.pdf", b"")
    desk.run()
    held = desk.quarantined("GD")
    with pytest.raises(NotFound, match=r"'nosuch\.docx'; quarantined: empty\.pdf"):
        desk.inbox.retry(["nosuch.docx"])
    result = run(
        "-w", desk.root, "--office", FIRST, "inbox", "retry", "nosuch.docx", "empty.pdf"
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    told = " ".join(result.stderr.split())
    assert f"no file in {FIRST}'s quarantine is called 'nosuch.docx'; quarantined: empty.pdf" in (
        told
    )
    assert "give no name to retry every quarantined file" in told
    assert desk.quarantined("GD") == held

    code, said = invoke("-w", desk.root, "inbox", "retry", "empty.pdf")
    assert code == 0, said
    assert "1 file(s) will be processed again" in said
    assert desk.quarantined("GD") == []
    code, said = invoke("-w", desk.root, "inbox", "retry")
    assert (code, said.strip()) == (0, "No file is in quarantine.")


def test_retrying_a_file_of_no_office_by_name_is_refused(ingest_desk: IngestDesk) -> None:
    """A file refused for lying outside every office's folder, named to `inbox retry`: exit 5
    (it would only be refused again), and it stays in quarantine for a person to place."""
    desk = ingest_desk
    (desk.context.inbox.root / "stray.pdf").write_bytes(pdf_bytes("stray"))
    desk.run(desk.context.inbox.root)
    with pytest.raises(RuleViolation, match=r"'stray\.pdf' fits no register or office"):
        desk.context.inbox.retry(["stray.pdf"])
    result = run("-w", desk.root, "inbox", "retry", "stray.pdf")
    assert result.returncode == 5, result.stderr
    code, said = invoke("-w", desk.root, "inbox", "retry")
    assert code == 0, said
    assert "1 file(s) stay in quarantine: they fit no register or office" in " ".join(said.split())


# --- quarantine notes -------------------------------------------------------------------------


def test_a_quarantine_note_gives_the_time_in_the_offices_zone_and_in_utc(
    two_offices: IngestDesk,
) -> None:
    """A file refused in PS-TEST2 (New York): its note's "When" is New York time, naming the
    zone, and "When (UTC)" is the same instant for machines."""
    desk = two_offices
    drop(desk, SECOND, "GD", "empty.pdf", b"")
    desk.run(desk.context.inbox.root)
    (held,) = [p for p in desk.context.inbox.of(SECOND).quarantine.rglob("empty.pdf")]
    note = desk.error_note(held)
    shown = re.fullmatch(
        rf"(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d) (E[SD]T) \({SECOND_ZONE}\)", note["When"]
    )
    assert shown, note["When"]
    instant = from_utc_text(note["When (UTC)"]).astimezone(zone(SECOND_ZONE))
    assert (instant.strftime("%Y-%m-%d %H:%M:%S"), instant.strftime("%Z")) == shown.groups()


# --- fitting the terminal ---------------------------------------------------------------------


def test_inbox_status_fits_80_columns(ingest_desk: IngestDesk) -> None:
    """`qms inbox status` with a file of no office, one loose in the office's folder and the
    SOP-DRAFTS register: every line fits 80 columns (the headers wrap at spaces), the counts
    are under their headers, and loose files are called so (--json keeps its keys)."""
    desk = ingest_desk
    desk.drop("SOP-DRAFTS", "anita/draft.pdf")
    (desk.context.inbox.root / "stray.pdf").write_bytes(pdf_bytes("stray"))
    (desk.context.inbox.root / FIRST / "loose.pdf").write_bytes(pdf_bytes("loose"))
    code, table = invoke("-w", desk.root, "inbox", "status", columns=80)
    assert code == 0, table
    lines = table.splitlines()
    assert max(map(cell_width, lines)) <= 80, table
    assert "UNSORTED" not in table, table
    loose = [line.split()[:3] for line in lines if "(loose" in line]  # "files)" wraps at 80
    assert loose == [[FIRST, "(loose", "1"], ["(no", "office)", "(loose"]], table
    code, shown = invoke("-w", desk.root, "inbox", "status", "--json")
    assert code == 0, shown
    counts = json.loads(shown)
    assert counts["_no-office"]["UNSORTED"]["pending"] == counts[FIRST]["UNSORTED"]["pending"] == 1
    (drafts,) = [line for line in lines if "SOP-DRAFTS" in line]
    assert drafts.split() == [FIRST, "SOP-DRAFTS", "1", "0", "0", "0", "0", "0"]


def _live(line: Text, width: int) -> list[str]:
    """The frames a terminal ``width`` columns wide shows for ``line`` as the watcher's live
    status line (rich's Live, as `qms watch` draws it)."""
    screen = Console(width=width, file=io.StringIO(), force_terminal=True, color_system=None)
    with Live(line, console=screen, auto_refresh=False):
        pass
    drawn = ESCAPES.sub("", screen.file.getvalue())  # type: ignore[attr-defined]
    return [frame.rstrip("\n") for frame in drawn.split("\r") if frame.strip()]


def test_the_watchers_status_line_leaves_out_zero_counts_and_fits_the_terminal(
    ingest_desk: IngestDesk,
) -> None:
    """The live line names only counts that are not zero; in a terminal too narrow for it, it
    is cut with … on its one line instead of wrapping on every refresh."""
    desk = ingest_desk
    tally = _Tally(desk.root / "logs" / "status-test.jsonl", False, desk.context)
    tally.show = lambda _text: None
    runner = desk.runner()
    assert set(_live(tally.line(runner), 80)) == {"filed 0 · 0 in the last minute"}
    for status, name in [("filed", "a"), ("filed", "b"), ("quarantined", "c"), ("left", "d")]:
        tally(Outcome(status, f"GD/{name}.pdf", office=FIRST))
    runner.note(desk.drop("GD", "settling.pdf"))
    full = "filed 2 · 2 in the last minute · quarantined 1 · left 1 · settling 1"
    assert set(_live(tally.line(runner), 120)) == {full}
    (cut,) = set(_live(tally.line(runner), 40))
    assert cell_width(cut) <= 40 and cut.endswith("…") and full.startswith(cut[:-1])
    assert tally.line().plain == "filed 2 · quarantined 1 · left 1"  # the summary at the end
