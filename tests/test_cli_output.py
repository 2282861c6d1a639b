"""What the CLI prints for people (issue 11, items 6 and 7): tables that fit the output with no
document number cut, rows of Hindi aligned as a terminal shows them, ``COLUMNS`` honoured when
the output is a pipe, filters that refuse what does not exist, and a readable ``doc show``.

Widths are checked against the C library's ``wcwidth``, the count terminals use, not against
our own :func:`~qms_engine.cli.tables.cell_width`.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from qms_engine.cli import cli
from qms_engine.cli.tables import cell_width
from qms_engine.testing import TestOffice
from tests.test_cli import PASSPHRASES, run

if TYPE_CHECKING:
    from tests.conftest import Desk

LONG_TITLE = (
    "Receipt, custody, inspection and disposal of case property in the malkhana of the police "
    "station, with the registers to be kept"
)
# Spacing vowel signs (ा ि ी: category Mc, one cell each in a terminal), non-spacing ones and a
# virama (ं े ् : none), conjuncts (प्र क्र त्र), a nukta (ज़).
HINDI_TITLE = "मालखाना प्रबंधन की मानक संचालन प्रक्रिया — ज़ब्त माल का रिकॉर्ड और सत्यापन"
FIELDS = {
    "case_number": "112/2026",
    "seal_number": "S-0457",
    "items": "मोटरसाइकिल",
    "depositing_officer": "उप निरीक्षक राम प्रसाद",
}


def show(office: TestOffice, *args: str, columns: int = 80) -> str:
    """``qms -w WORKSPACE ARGS`` in-process with ``COLUMNS`` set; insists on exit code 0."""
    result = CliRunner().invoke(
        cli, ["-w", str(office.root), *args], env={**PASSPHRASES, "COLUMNS": str(columns)}
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def wcwidth() -> Callable[[str], int]:
    """The C library's ``wcwidth`` (skips the test where there is none, or no UTF-8 locale)."""
    try:
        function = ctypes.CDLL(None).wcwidth
    except (OSError, AttributeError):
        pytest.skip("no C library wcwidth on this platform")
    function.argtypes, function.restype = [ctypes.c_wchar], ctypes.c_int
    if function("ा") != 1:
        pytest.skip("the C library's character type locale is not UTF-8")
    return lambda char: int(function(char))


def terminal_cells(line: str) -> list[str]:
    """What a terminal shows in each cell of ``line``: marks stay with their letter."""
    width = wcwidth()
    cells: list[str] = []
    for char in line:
        size = width(char)
        if size <= 0 and cells:
            cells[-1] += char
        else:
            cells.extend([char, *[""] * (size - 1)])
    return cells


def table_lines(output: str, title: str) -> tuple[list[tuple[int, int]], list[str]]:
    """The column spans (from the rule under the header) and the header and body lines of
    the table called ``title``: up to the next table's title or the end."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rule = next(i for i in range(start, len(lines)) if set(lines[i]) <= {"─", " "})
    spans = [(m.start(), m.end()) for m in re.finditer("─+", lines[rule])]
    end = next(
        (i for i in range(rule + 1, len(lines)) if re.match("[A-Z][a-z]", lines[i])), len(lines)
    )
    return spans, lines[start + 1 : rule] + lines[rule + 1 : end]


def body_rows(output: str, title: str) -> list[list[str]]:
    """The rows of table ``title``, as the words of each row's first line."""
    return [line.split() for line in _body(output, title) if line and not line.startswith(" ")]


def _body(output: str, title: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rule = next(i for i in range(start, len(lines)) if set(lines[i]) <= {"─", " "})
    return table_lines(output, title)[1][rule - start - 1 :]


def column_texts(output: str, title: str, column: int) -> list[tuple[str, int]]:
    """Each row's text in one column of table ``title`` (its lines joined), and its height;
    the commands printed under a row (``  qms …``, continued after a ``\\``) are no cells."""
    spans, _ = table_lines(output, title)
    start, end = spans[column]
    rows: list[list[str]] = []
    continued = False  # the line before was a command under a row, ending with " \"
    for line in _body(output, title):
        if line.startswith("  qms ") or (continued and line.startswith("      ")):
            continued = line.endswith(" \\")
            continue
        continued = False
        if not line.startswith(" "):
            rows.append([])
        rows[-1].append("".join(terminal_cells(line)[start:end]).strip())
    return [(" ".join(part for part in row if part), len(row)) for row in rows]


def file_malkhana(desk: Desk) -> str:
    """A malkhana record with a Hindi title and its case, seal and officer: its number."""
    memo = desk.make_docx("seizure.docx", "Seizure memo", "Motorcycle UP16 AB 1234")
    return desk.file_record(HINDI_TITLE, type_code="MALKHANA", path=memo, fields=FIELDS)


def test_cell_width_counts_hindi_as_terminals_do() -> None:
    """Spacing vowel signs take a cell, non-spacing signs and viramas none: as ``wcwidth``."""
    width = wcwidth()
    for text in (HINDI_TITLE, "प्रक्रिया", "मानवाधिकाराणां", "ज़ब्त", "कोतवाली सेक्टर 39", "hello"):
        assert sum(max(width(char), 0) for char in text) == cell_width(text), text


def test_doc_list_in_80_columns_cuts_no_number_and_wraps_long_titles(
    qms_office: TestOffice, desk: Desk
) -> None:
    """In 80 columns every line fits, every number is whole on its line, and the long title
    is all there, wrapped over several lines (never shortened with an ellipsis)."""
    sop = desk.new_sop(LONG_TITLE)
    record = file_malkhana(desk)
    listed = show(qms_office, "doc", "list")
    lines = listed.splitlines()
    assert max(len(terminal_cells(line)) for line in lines) <= 80
    assert [line.split()[0] for line in lines if line.startswith("PS-")] == [record, sop]
    assert "…" not in listed
    titles = column_texts(listed, "Master list", 1)
    assert titles[1][0] == LONG_TITLE
    assert titles[1][1] > 1


@pytest.mark.parametrize("columns", [80, 200])
def test_rows_with_hindi_stay_aligned(qms_office: TestOffice, desk: Desk, columns: int) -> None:
    """In a terminal's own cell count, every line of the master list keeps to its columns:
    the two cells between two columns are blank on every line, Hindi rows included."""
    desk.new_sop(HINDI_TITLE)
    desk.new_sop("Station office procedure")
    file_malkhana(desk)
    spans, lines = table_lines(show(qms_office, "doc", "list", columns=columns), "Master list")
    gutters = [range(end, start) for (_, end), (start, _) in itertools.pairwise(spans)]
    assert len(lines) >= 4
    for line in lines:
        cells = terminal_cells(line)
        assert all(cells[i] == " " for gutter in gutters for i in gutter if i < len(cells)), line
        assert len(cells) <= spans[-1][1]
    assert any("ि" in line for line in lines)


def qms_pipe(office: TestOffice, *args: str, columns: str) -> str:
    """``qms ARGS`` in a real process writing to a pipe; ``COLUMNS`` empty is as if unset."""
    done = run("-w", office.root, *args, env={**PASSPHRASES, "COLUMNS": columns})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_output_to_a_pipe_honours_columns(qms_office: TestOffice, desk: Desk) -> None:
    """Piped with ``COLUMNS=60`` the list fits 60 columns, the title wrapped; with no
    ``COLUMNS`` each row stays one line, for grep."""
    desk.new_sop(LONG_TITLE)
    narrow = qms_pipe(qms_office, "doc", "list", columns="60").splitlines()
    assert max(len(terminal_cells(line)) for line in narrow) <= 60
    assert not any(LONG_TITLE in line for line in narrow)
    wide = qms_pipe(qms_office, "doc", "list", columns="").splitlines()
    assert next(line for line in wide if LONG_TITLE in line).startswith("PS-TEST1/SOP/001")


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--state", "in-review"], ["'in-review'", "in_review", "effective", "filed"]),
        (["--type", "FOO"], ["'FOO'", "SOP", "MALKHANA", "GD"]),
        (["--type", "SOP", "--state", "filed"], ["'filed'", "workflow of SOP", "in_review"]),
    ],
)
def test_unknown_filter_values_exit_2_listing_the_valid_ones(
    qms_office: TestOffice, option: list[str], named: list[str]
) -> None:
    """A misspelt state or type is a usage error listing what there is, not an empty list."""
    refused = run("-w", qms_office.root, "doc", "list", *option)
    assert refused.returncode == 2, refused.stderr
    assert all(name in refused.stderr for name in named), refused.stderr
    assert refused.stdout == ""


def test_a_near_miss_is_suggested(qms_office: TestOffice) -> None:
    """``--state in-review`` and ``--type SOPP`` name what was probably meant."""
    assert (
        "did you mean 'in_review'?"
        in run("-w", qms_office.root, "doc", "list", "--state=in-review").stderr
    )
    assert "did you mean 'SOP'?" in run("-w", qms_office.root, "doc", "list", "--type=SOPP").stderr


def test_an_empty_list_says_so_and_is_an_empty_json_list(
    qms_office: TestOffice, desk: Desk
) -> None:
    """No match is a sentence naming the filters; under --json, ``[]``."""
    assert show(qms_office, "doc", "list").strip() == "No documents in PS-TEST1 yet."
    desk.issue(desk.new_sop())
    assert show(qms_office, "doc", "list", "--state", "draft").strip() == (
        "No documents in PS-TEST1 match --state draft."
    )
    assert json.loads(show(qms_office, "doc", "list", "--state", "draft", "--json")) == []
    assert "PS-TEST1/SOP/001" in show(qms_office, "doc", "list", "--state", "effective")


def test_doc_show_gives_the_revision_and_local_time_of_every_history_line(
    qms_office: TestOffice, desk: Desk
) -> None:
    """Every history line names its revision (``–`` only for the document's own creation)
    and its time in the office's zone (IST), never a raw UTC timestamp."""
    number = desk.new_sop("Station office procedure")
    desk.act(number, "submit")
    desk.act(number, "reject", comment="धारा 3 में समय भी लिखें")
    desk.issue(number)
    desk.revise(number, reason="Add the cash balance")
    shown = show(qms_office, "doc", "show", number, columns=200)
    events = json.loads(show(qms_office, "doc", "show", number, "--json"))["history"]
    rows = body_rows(shown, "History")
    assert [row[:2] for row in rows] == [
        ["–" if e["revno"] is None else str(e["revno"]), str(e["seq"])] for e in events
    ]
    assert [row[1] for row in rows if row[0] == "–"] == [str(events[0]["seq"])]
    assert {row[0] for row in rows} == {"–", "0", "1"}
    assert all(row[4] == "IST" for row in rows)
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}Z", shown)
    assert "धारा 3 में समय भी लिखें" in shown
    assert "Times in Asia/Kolkata" in shown


def test_doc_show_gives_a_review_date_only_to_the_revision_in_force(
    qms_office: TestOffice, desk: Desk
) -> None:
    """A superseded revision's old review date is not shown as if it were still due."""
    number = desk.new_sop("Station office procedure")
    desk.issue(number)
    desk.revise(number, reason="Add the cash balance")
    desk.issue(number)
    revisions = json.loads(show(qms_office, "doc", "show", number, "--json"))["revisions"]
    due = {str(r["revno"]): str(r["review_due"]) for r in revisions}
    rows = {
        row[0]: row
        for row in body_rows(show(qms_office, "doc", "show", number, columns=200), "Revisions")
    }
    assert rows["1"][1] == "effective" and due["1"] in rows["1"]
    assert rows["0"][1] == "superseded" and due["0"] not in rows["0"]


def test_doc_show_lists_a_records_register_fields(qms_office: TestOffice, desk: Desk) -> None:
    """A malkhana record shows its case/FIR number, seal number and officer."""
    number = file_malkhana(desk)
    rows = body_rows(show(qms_office, "doc", "show", number), "Fields")
    assert rows == [["0", name, *value.split()] for name, value in sorted(FIELDS.items())]


def test_doc_show_json_has_fields_and_payloads_as_objects(
    qms_office: TestOffice, desk: Desk
) -> None:
    """``doc show --json``: fields and event payloads are JSON objects, not JSON in strings."""
    number = file_malkhana(desk)
    shown: dict[str, Any] = json.loads(show(qms_office, "doc", "show", number, "--json"))
    (revision,) = shown["revisions"]
    assert revision["fields"] == FIELDS
    created, filed = shown["history"]
    assert (created["action"], created["revno"], created["payload"]["type"]) == (
        "document.created",
        None,
        "MALKHANA",
    )
    assert (filed["revno"], filed["payload"]["fields"], filed["role"]) == (0, FIELDS, "clerk")
    assert filed["recorded_at"].endswith("+00:00")


@pytest.mark.parametrize(
    "args",
    [
        ("user", "list"),
        ("key", "list"),
        ("office", "list"),
        ("plugins",),
        ("wf", "list"),
        ("wf", "show", "sop-revision"),
        ("log",),
        ("doc", "history", "PS-TEST1/SOP/001"),
    ],
)
def test_other_tables_fit_80_columns(
    qms_office: TestOffice, desk: Desk, args: tuple[str, ...]
) -> None:
    """Users, keys (64-hex fingerprints), offices, plugins, workflows, the log and a signed
    history fit 80 columns too: the same table helper lays them all out."""
    desk.issue(desk.new_sop())
    lines = show(qms_office, *args).splitlines()
    assert lines
    assert max(len(terminal_cells(line)) for line in lines) <= 80
