"""Reading a citizen feedback form's CSV export: encodings, headers, bad rows by line, privacy.

Real CSV files, written here as a sheet or Excel would write them, read with the police station
plugin's own form (English and Hindi headers).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from qms_police_station.office import CITIZEN_FEEDBACK

from qms_engine.errors import ConfigurationError, InvalidInput
from qms_engine.extension.manager import load_plugins
from qms_engine.feedback.forms import Export, read_export
from qms_engine.feedback.privacy import EMAIL_REMOVED, NUMBER_REMOVED, quoted, scrub_comment
from qms_engine.feedback.settings import feedback_settings
from qms_engine.feedback.stations import Station, StationIndex
from qms_engine.feedback.summary import feedback_summary
from qms_engine.registry.feedback_forms import DEFAULT_PERSONAL, FeedbackForm
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TestOffice
from tests.test_cli import run

HEADER = [
    "Timestamp",
    "Name / नाम",
    "Mobile number / मोबाइल नंबर",
    "Police station / थाना",
    "Behaviour / व्यवहार",
    "Action taken / कार्यवाही",
    "Timeliness / समयबद्धता",
    "Overall satisfaction / संतुष्टि",
    "Comments / सुझाव",
]
KOTWALI = Station("PS-KOT39", "कोतवाली बलौदाबाजार", "Asia/Kolkata")
STATIONS = StationIndex(
    [KOTWALI, Station("PS-SMG2", "Simga", "Asia/Kolkata")],
    {"Kotwali": "PS-KOT39"},
    where="qms.toml: feedback.stations",
)


def response(
    time: str = "24/11/2025 10:40:46",
    station: str = "PS-KOT39",
    ratings: Sequence[str] = ("5", "4", "4", "5"),
    comment: str = "बहुत अच्छा व्यवहार",
    name: str = "Ram Kumar",
    mobile: str = "9876543210",
) -> list[str]:
    """One row of the form's sheet, in the order of :data:`HEADER`."""
    return [time, name, mobile, station, *ratings, comment]


def write_csv(
    path: Path, rows: Sequence[Sequence[str]], *, encoding: str = "utf-8", header: bool = True
) -> Path:
    """Write a CSV as a spreadsheet does (CRLF line ends, quotes where needed)."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerows([HEADER, *rows] if header else rows)
    return path


def read(path: Path, form: FeedbackForm = CITIZEN_FEEDBACK) -> Export:
    return read_export(path, form, STATIONS)


def problems(export: Export) -> list[str]:
    return [problem.text(export.file) for problem in export.problems]


def test_a_google_forms_export_in_hindi_is_read(tmp_path: Path) -> None:
    """Every response of a UTF-8 export is read: its station, UTC time, ratings and comment."""
    path = write_csv(
        tmp_path / "form.csv",
        [
            response(),
            response("24/11/2025 18:05:00", "कोतवाली  बलौदाबाजार", ("1", "2", "1", "1"), "देरी"),
            response("25/11/2025 09:00:00", "kotwali", comment=""),
        ],
    )
    export = read(path)
    assert export.encoding == "UTF-8"
    assert export.time_format == "%d/%m/%Y %H:%M:%S"
    assert export.problems == ()
    assert [r.station for r in export.responses] == ["PS-KOT39"] * 3
    first = export.responses[0]
    assert first.time == datetime(2025, 11, 24, 5, 10, 46, tzinfo=UTC)  # 10:40:46 IST
    assert first.ratings == {"behaviour": 5, "action_taken": 4, "timeliness": 4, "overall": 5}
    assert first.comment == "बहुत अच्छा व्यवहार"
    assert export.responses[1].comment == "देरी"
    assert len({r.response_id for r in export.responses}) == 3


def test_personal_columns_are_dropped_and_never_in_the_result(tmp_path: Path) -> None:
    """Name and mobile columns are reported as dropped; no response carries either."""
    path = write_csv(tmp_path / "form.csv", [response(name="सीता देवी", mobile="9123456789")])
    export = read(path)
    assert export.personal_columns == ("Name / नाम", "Mobile number / मोबाइल नंबर")
    assert "सीता" not in repr(export) and "9123456789" not in repr(export)


def test_bom_and_windows_1252_files_are_read_and_named(tmp_path: Path) -> None:
    """A UTF-8 file with a byte-order mark and an Excel (Windows-1252) file both read; the
    result says which encoding each was."""
    english = [
        "Timestamp",
        "Police station",
        "Behaviour",
        "Action taken",
        "Timeliness",
        "Overall satisfaction",
        "Comments",
    ]
    rows = [english, ["24/11/2025 10:00:00", "Kotwali", "2", "3", "3", "2", "Café — rude “staff”"]]
    bom = write_csv(tmp_path / "bom.csv", [response()], encoding="utf-8-sig")
    excel = write_csv(tmp_path / "excel.csv", rows, encoding="cp1252", header=False)
    assert (read(bom).encoding, len(read(bom).responses)) == ("UTF-8 with BOM", 1)
    from_excel = read(excel)
    assert from_excel.encoding == "Windows-1252"
    assert from_excel.responses[0].comment == "Café — rude “staff”"


def test_bad_rows_are_reported_by_spreadsheet_row_and_line(tmp_path: Path) -> None:
    """A rating outside 1–5, a word for a rating, an empty rating, an unknown station and a
    bad time are each reported as FILE: row R (line L): what — what to do, R the row a
    spreadsheet shows and L the line an editor shows (a quoted comment spanning two lines, or
    holding a lone carriage return, is one row); the good rows are still read, a multi-line
    comment kept on one line."""
    path = write_csv(
        tmp_path / "form.csv",
        [
            response(comment="पहली पंक्ति\nदूसरी पंक्ति"),  # row 2, lines 2-3
            response(ratings=("6", "4", "4", "5"), comment="a\rb"),  # row 3, line 4
            response(ratings=("5", "good", "", "5")),  # row 4, line 5
            response(station="Thana Nowhere"),  # row 5, line 6
            response(time="yesterday"),  # row 6, line 7
            response("26/11/2025 08:00:00"),  # row 7, line 8
        ],
    )
    export = read(path)
    assert [(r.row, r.line) for r in export.responses] == [(2, 2), (7, 8)]
    assert export.responses[0].comment == "पहली पंक्ति दूसरी पंक्ति"
    name = str(path)
    assert problems(export) == [
        f"{name}: row 3 (line 4): Behaviour / व्यवहार is '6', not a whole number 1–5 — correct "
        "it in the sheet (1 worst … 5 best)",
        f"{name}: row 4 (line 5): Action taken / कार्यवाही is 'good', not a whole number 1–5 — "
        "correct it in the sheet (1 worst … 5 best)",
        f"{name}: row 4 (line 5): Timeliness / समयबद्धता is empty — correct it in the sheet "
        "(1 worst … 5 best)",
        f"{name}: row 5 (line 6): the station 'Thana Nowhere' is not an office of this "
        "deployment — correct it in the sheet, or name its office in qms.toml: "
        '[feedback.stations] "Thana Nowhere" = "OFFICE-CODE"',
        f"{name}: row 6 (line 7): the time 'yesterday' is not in the file's format "
        "(%d/%m/%Y %H:%M:%S) — correct it in the sheet",
    ]


def test_one_time_format_per_file_decides_day_and_month(tmp_path: Path) -> None:
    """03/04/2025 is the 3rd of April when the file's other times put the day first, and a
    time with the form download's GMT offset is read with that offset."""
    path = write_csv(
        tmp_path / "form.csv",
        [response("03/04/2025 10:00:00"), response("25/04/2025 10:00:00")],
    )
    assert read(path).responses[0].time == datetime(2025, 4, 3, 4, 30, tzinfo=UTC)
    download = write_csv(tmp_path / "download.csv", [response("2025/04/03 2:35:12 pm GMT+5:30")])
    export = read(download)
    assert export.time_format == "%Y/%m/%d %I:%M:%S %p"
    assert export.responses[0].time == datetime(2025, 4, 3, 9, 5, 12, tzinfo=UTC)


def test_a_time_in_the_future_is_refused(tmp_path: Path) -> None:
    """A response dated after now (a day and month read the wrong way round) is a bad row."""
    path = write_csv(tmp_path / "form.csv", [response("24/11/2999 10:00:00")])
    assert "is in the future — check the order of day and month" in problems(read(path))[0]


def test_identical_rows_are_two_responses_with_stable_ids(tmp_path: Path) -> None:
    """Two identical rows are two citizens: two ids, the same ones when a later, longer
    export holds them again."""
    rows = [response(comment=""), response(comment="")]
    first = read(write_csv(tmp_path / "one.csv", rows))
    later = read(write_csv(tmp_path / "two.csv", [*rows, response("25/11/2025 10:00:00")]))
    ids = [r.response_id for r in first.responses]
    assert len(set(ids)) == 2
    assert [r.response_id for r in later.responses][:2] == ids


def test_a_header_missing_columns_names_them_and_the_headers_found(tmp_path: Path) -> None:
    """A header without the station and overall columns is refused, naming both and listing
    the headers the file has."""
    path = tmp_path / "wrong.csv"
    path.write_text("Timestamp,Behaviour,Action taken,Timeliness\r\n1,2,3,4\r\n", "utf-8")
    with pytest.raises(InvalidInput) as refused:
        read(path)
    assert str(refused.value) == (
        f"{path}: row 1: the header has no column for station, overall (headers found: "
        "'Timestamp', 'Behaviour', 'Action taken', 'Timeliness'; cells split at commas, "
        "semicolons or tabs)"
    )
    assert refused.value.hint is not None and "[feedback.columns]" in refused.value.hint


def test_empty_and_header_only_files_are_refused(tmp_path: Path) -> None:
    """An empty file and a file with only the header are refused with what to do."""
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = write_csv(tmp_path / "header.csv", [])
    with pytest.raises(InvalidInput, match=r"empty\.csv is empty"):
        read(empty)
    with pytest.raises(InvalidInput, match=r"header\.csv has a header but no responses"):
        read(header_only)


def test_a_spreadsheet_and_damaged_text_are_refused(tmp_path: Path) -> None:
    """An .xlsx saved under a .csv name, and a UTF-8 Hindi file with one damaged line, are
    refused (the damaged one by its line), never read as Windows-1252 gibberish."""
    xlsx = tmp_path / "form.csv"
    xlsx.write_bytes(b"PK\x03\x04" + bytes(60))
    with pytest.raises(InvalidInput, match="is a spreadsheet"):
        read(xlsx)
    damaged = write_csv(tmp_path / "damaged.csv", [response(), response()])
    lines = damaged.read_bytes().split(b"\r\n")
    lines[2] = lines[2].replace("अच्छा".encode(), b"\xe0\xa4")
    damaged.write_bytes(b"\r\n".join(lines))
    with pytest.raises(InvalidInput, match=r"damaged\.csv: line 3 is not valid UTF-8"):
        read(damaged)


def test_a_column_twice_is_refused(tmp_path: Path) -> None:
    """Two columns that both match one field (English and Hindi headers) are refused."""
    path = tmp_path / "twice.csv"
    path.write_text(",".join([*HEADER, "संतुष्टि"]) + "\r\n", "utf-8")
    with pytest.raises(InvalidInput, match=r"columns 8 .* and 10 \('संतुष्टि'\) both hold"):
        read(path)


@pytest.mark.parametrize(
    ("comment", "kept"),
    [
        ("call me on 9876543210", f"call me on {NUMBER_REMOVED}"),
        ("मेरा नंबर +91 98765-43210 है", f"मेरा नंबर {NUMBER_REMOVED} है"),
        ("फ़ोन ९८७६५४३२१० पर", f"फ़ोन {NUMBER_REMOVED} पर"),
        (
            "landline (07727) 222 333 or 0 98765 43210",
            f"landline {NUMBER_REMOVED} or {NUMBER_REMOVED}",
        ),
        ("mail ram.k@example.in please", f"mail {EMAIL_REMOVED} please"),
        ("FIR 123/2025 dated 24.11.2025, 3 visits", "FIR 123/2025 dated 24.11.2025, 3 visits"),
        ("call me 98765 - 43210", f"call me {NUMBER_REMOVED}"),
        ("98765/43210 or 98765, 43210", f"{NUMBER_REMOVED} or {NUMBER_REMOVED}"),
        ("98765_43210 or 98765–43210", f"{NUMBER_REMOVED} or {NUMBER_REMOVED}"),
        ("नंबर 98765\u202f43210", f"नंबर {NUMBER_REMOVED}"),  # narrow no-break space
        ("फ़ोन ９８７６５４３２１０", f"फ़ोन {NUMBER_REMOVED}"),  # full-width digits
        ("𝟗𝟖𝟕𝟔𝟓𝟒𝟑𝟐𝟏𝟎 or ৯৮৭৬৫৪৩২১০", f"{NUMBER_REMOVED} or {NUMBER_REMOVED}"),
        ("98765\u202e43210", NUMBER_REMOVED),  # split by a bidi override
        ("Aadhaar 1234 5678 9012", f"Aadhaar {NUMBER_REMOVED}"),
        (
            "came 24.11.2026 10:30, again 2026-11-25 9:15",
            "came 24.11.2026 10:30, again 2026-11-25 9:15",
        ),
        (
            "on 11/26/2026 10:00:00 and २४.११.२०२६ १०:३०",
            "on 11/26/2026 10:00:00 and २४.११.२०२६ १०:३०",
        ),
    ],
)
def test_phone_numbers_and_emails_are_scrubbed_from_comments(comment: str, kept: str) -> None:
    """Mobile numbers (with or without +91; split by up to three spaces, hyphens, dashes,
    slashes, commas or underscores; in Devanagari, Bengali, full-width or mathematical
    digits), landlines, Aadhaar numbers and e-mail addresses are removed; FIR numbers, and
    dates with their times, stay."""
    assert scrub_comment(comment) == kept


def test_control_characters_and_bidi_overrides_are_removed_from_comments() -> None:
    """Line breaks and tabs become spaces; C0 and C1 controls and the bidirectional marks,
    overrides and isolates that can make a comment display as something else are removed;
    the joiners Devanagari needs stay."""
    comment = "पहली\r\n  दूसरी\tthird\x00\x1b[2J \u202eevil\u202c \u2066x\u2069 \x85end क्\u200dष"
    assert scrub_comment(comment) == "पहली दूसरी third[2J evil x end क्\u200dष"


def test_a_cell_quoted_in_a_message_is_scrubbed_and_short() -> None:
    """A bad row's cell is quoted with phone numbers removed and cut to 40 characters."""
    assert quoted("Other: my number 98765 43210") == "'Other: my number [number removed]'"
    assert quoted("x" * 100) == repr("x" * 40 + "…")


def test_the_police_station_plugin_declares_its_form() -> None:
    """The installed police station office type carries the bilingual form."""
    office_type = load_plugins().registry.office_type("police_station")
    assert office_type.feedback is CITIZEN_FEEDBACK
    assert office_type.feedback.label("overall") == "Overall satisfaction / संतुष्टि"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ratings": "overall"}, r"ratings must be a tuple of strings.*write \('overall',\)"),
        ({"poor_rating": "speed"}, "poor_rating 'speed' is not one of the ratings"),
        ({"poor_at_most": 5}, "poor_at_most must be 1 … 4"),
        ({"group": "fortnight"}, "group must be one of"),
        ({"severity": "critical"}, "severity must be one of"),
        ({"columns": {"time": ("Timestamp",)}}, r"columns gives no header for \['station'"),
        (
            {"personal": ("Name", "Timestamp")},
            "the header 'Timestamp' is given for both 'time' and 'personal'",
        ),
        ({"labels": {"speed": "Speed"}}, r"labels names unknown rating\(s\) \['speed'\]"),
        ({"rating_labels": {"Excellent": 6}}, "rating_labels 'Excellent' must be 1 … 5"),
        ({"rating_labels": {"Good": 4, "good!": 3}}, "rating_labels gives 'Good' two ratings"),
        ({"rating_labels": {"—": 1}}, "rating_labels must map answers"),
        ({"day_first": "yes"}, "day_first must be True, False or None"),
    ],
)
def test_a_malformed_form_fails_when_the_plugin_declares_it(
    change: dict[str, object], message: str
) -> None:
    """Each mistake in a plugin's form is refused when the form is made, naming the field."""
    with pytest.raises((TypeError, ValueError), match=message):
        dataclasses.replace(CITIZEN_FEEDBACK, **change)  # type: ignore[arg-type]


def _workspace(tmp_path: Path, feedback: str) -> Workspace:
    (tmp_path / "qms.toml").write_text(
        f'[workspace]\noffice = "PS-KOT39"\n{feedback}', encoding="utf-8"
    )
    return Workspace.load(tmp_path)


def test_qms_toml_feedback_table_gives_url_aliases_and_headers(tmp_path: Path) -> None:
    """[feedback] gives the form's URL per office, station aliases (in Hindi too) and more
    header variants for a field."""
    settings = feedback_settings(
        _workspace(
            tmp_path,
            '[feedback]\nurl = "https://forms.example/f?station={office}"\n'
            '[feedback.stations]\n"कोतवाली" = "ps-kot39"\n'
            '[feedback.columns]\noverall = ["Satisfaction (1-5)"]\n',
        )
    )
    assert settings.form_url("PS-KOT39") == "https://forms.example/f?station=PS-KOT39"
    assert settings.stations == {"कोतवाली": "ps-kot39"}
    form = settings.extend(CITIZEN_FEEDBACK)
    assert form.columns["overall"][-1] == "Satisfaction (1-5)"
    index = StationIndex([KOTWALI], settings.stations, where="x")
    assert index.find("कोतवाली") == KOTWALI


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[feedback]\nlink = "x"\n', r"unknown key\(s\) \['link'\] in \[feedback\]"),
        ('[feedback]\nurl = "forms/{office}"\n', "feedback.url must be a web address"),
        ('[feedback]\nurl = "https://f/{station}"\n', r"may use only \{office\}"),
        ("[feedback]\nstations = 3\n", "feedback.stations must be a table"),
        ('[feedback.columns]\nspeed = ["Speed"]\n', r"feedback.columns: .*unknown field"),
    ],
)
def test_a_bad_feedback_table_names_the_file_and_key(
    tmp_path: Path, table: str, message: str
) -> None:
    """Every mistake in [feedback] is a configuration error naming qms.toml and the key."""
    with pytest.raises(ConfigurationError, match=message) as refused:
        feedback_settings(_workspace(tmp_path, table)).extend(CITIZEN_FEEDBACK)
    assert "qms.toml" in str(refused.value)


def test_no_url_configured_says_how_to_configure_it(tmp_path: Path) -> None:
    """Without feedback.url the QR code cannot be made: the error shows the line to add."""
    with pytest.raises(ConfigurationError, match=r"no feedback\.url") as refused:
        feedback_settings(_workspace(tmp_path, "")).form_url("PS-KOT39")
    assert refused.value.hint is not None and "[feedback]" in refused.value.hint


def test_an_alias_to_an_unknown_office_is_refused() -> None:
    """An alias naming an office that does not exist is refused, naming the alias."""
    with pytest.raises(ConfigurationError, match="'Kotwali' = 'PS-X': there is no office"):
        StationIndex([KOTWALI], {"Kotwali": "PS-X"}, where="qms.toml: feedback.stations")


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
"""The present for the tests whose times must be past or future."""


def test_a_file_whose_every_time_reads_both_ways_is_refused(tmp_path: Path) -> None:
    """A US-locale sheet of 1–12 November reads as well day first (January … December) as
    month first: when neither qms.toml nor the form says which, the file is refused (exit 2),
    naming both readings and how to choose."""
    rows = [response(f"11/{day:02d}/2026 10:00:00") for day in range(1, 13)]
    path = write_csv(tmp_path / "us.csv", rows)
    undecided = dataclasses.replace(CITIZEN_FEEDBACK, day_first=None)
    with pytest.raises(InvalidInput) as refused:
        read_export(path, undecided, STATIONS, now=NOW)
    assert str(refused.value) == (
        f"{path}: the file's times read two ways, e.g. row 2: '11/01/2026 10:00:00' is 11 "
        "January 2026 (%d/%m/%Y %H:%M:%S) or 01 November 2026 (%m/%d/%Y %H:%M:%S)"
    )
    assert refused.value.exit_code == 2
    assert refused.value.hint is not None and "day_first = true" in refused.value.hint


def test_day_first_chooses_and_a_future_time_refuses_the_file(tmp_path: Path) -> None:
    """With day_first = false the US sheet reads as November, with a warning saying so; with
    day_first = true (the police station form's) its 11/12/2026 would be 11 December, after
    today: the file is refused, saying to set false. A file whose times show their order (a
    24th) ignores the setting."""
    path = write_csv(
        tmp_path / "us.csv", [response(f"11/{day:02d}/2026 10:00:00") for day in range(1, 13)]
    )
    month_first = dataclasses.replace(CITIZEN_FEEDBACK, day_first=False)
    export = read_export(path, month_first, STATIONS, now=NOW)
    assert export.time_format == "%m/%d/%Y %H:%M:%S" and export.problems == ()
    assert export.responses[-1].time == datetime(2026, 11, 12, 4, 30, tzinfo=UTC)
    (warning,) = export.warnings
    assert "every time in the file reads two ways; they were read month first" in warning
    assert "set day_first = true in qms.toml before the next import" in warning
    day_first = CITIZEN_FEEDBACK
    assert day_first.day_first is True
    with pytest.raises(InvalidInput) as refused:
        read_export(path, day_first, STATIONS, now=NOW)
    assert "row 13: read day first as configured (%d/%m/%Y %H:%M:%S), the time " in str(
        refused.value
    )
    assert "is 11 December 2026, in the future" in str(refused.value)
    assert refused.value.hint is not None and "day_first = false" in refused.value.hint
    shown = write_csv(tmp_path / "shown.csv", [response("11/24/2026 10:00:00")])
    assert read_export(shown, day_first, STATIONS, now=NOW).time_format == "%m/%d/%Y %H:%M:%S"


def test_impossible_times_are_bad_rows_not_crashes(tmp_path: Path) -> None:
    """A zone offset no zone has (GMT+25), the year 0001 and a date before 2000 are reported
    by row; 31 December 9999 is in the future; the good row goes in."""
    path = write_csv(
        tmp_path / "form.csv",
        [
            response("20/11/2026 10:00:00"),
            response("20/11/2026 10:00:00 GMT+25"),
            response("01/01/0001 00:00:00"),
            response("31/12/1999 23:00:00"),
            response("31/12/9999 23:00:00 GMT-5"),
        ],
    )
    export = read_export(path, CITIZEN_FEEDBACK, STATIONS, now=NOW)
    assert len(export.responses) == 1
    assert [p.what for p in export.problems] == [
        "the time '20/11/2026 10:00:00 GMT+25' has no real zone: 'GMT+25' is not between "
        "GMT-12:00 and GMT+14:00",
        "the time '01/01/0001 00:00:00' is before 2000",
        "the time '31/12/1999 23:00:00' is before 2000",
        "the time '31/12/9999 23:00:00 GMT-5' is in the future",
    ]


def test_a_shifted_row_is_reported_by_cell_count_and_cells_are_quoted_scrubbed(
    tmp_path: Path,
) -> None:
    """A row with more or fewer cells than the header (a comma outside quotes) is reported
    by its count alone; a cell a message quotes (a station, a rating) shows no phone number."""
    path = tmp_path / "shifted.csv"
    path.write_text(
        "Timestamp,Police station,Comments,Mobile number,Behaviour,Action taken,Timeliness,"
        "Overall satisfaction\r\n"
        "20/11/2026 10:00:00,Kotwali,rude staff, no receipt,98765 43210,1,1,1,1\r\n"
        "20/11/2026 10:05:00,Kotwali,no comma 98765 43210,1,1,1\r\n"
        "20/11/2026 10:07:00,Other: my number 98765 43210,ok,x,1,1,1,1\r\n"
        "20/11/2026 10:09:00,Kotwali,ok,x,1,1,1,4 (call 98765 43210)\r\n",
        encoding="utf-8",
    )
    export = read_export(path, CITIZEN_FEEDBACK, STATIONS, now=NOW)
    messages = problems(export)
    assert [p.what for p in export.problems][:2] == [
        "the row has 9 cells, the header has 8",
        "the row has 6 cells, the header has 8",
    ]
    assert "'Other: my number [number removed]'" in messages[2]
    assert "is '4 (call [number removed])', not a whole number" in messages[3]
    assert not any("43210" in message for message in messages)


def test_a_cell_beyond_the_csv_modules_limit_is_read(tmp_path: Path) -> None:
    """A comment of 200,000 characters (past the csv module's 131,072) does not stop the file."""
    path = write_csv(tmp_path / "long.csv", [response(comment="अ" * 200_000), response()])
    export = read_export(path, CITIZEN_FEEDBACK, STATIONS, now=NOW)
    assert len(export.responses) == 2 and len(export.responses[0].comment) == 200_000


ENGLISH = [
    "Timestamp",
    "Police station",
    "Name",
    "Behaviour",
    "Action taken",
    "Timeliness",
    "Overall satisfaction",
    "Comments",
]
ENGLISH_ROW = ["24/11/2026 10:00:00", "Kotwali", "Ram", "4", "4", "4", "2", "देर से"]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "named"),
    [
        ("utf-16", "\t", "UTF-16"),  # Excel's "Unicode Text"
        ("utf-16", ",", "UTF-16"),
        ("utf-8", ";", "UTF-8"),  # Excel where the decimal mark is a comma
        ("utf-8-sig", "\t", "UTF-8 with BOM"),
    ],
)
def test_utf16_semicolons_and_tabs_are_read(
    tmp_path: Path, encoding: str, delimiter: str, named: str
) -> None:
    """UTF-16 files (with their byte-order mark) and semicolon- or tab-separated ones are read
    like a Google export, blank lines before the header skipped (rows still counted)."""
    path = tmp_path / "form.csv"
    with path.open("w", encoding=encoding, newline="") as handle:
        handle.write("\r\n\r\n")
        csv.writer(handle, delimiter=delimiter, lineterminator="\r\n").writerows(
            [ENGLISH, ENGLISH_ROW]
        )
    export = read_export(path, CITIZEN_FEEDBACK, STATIONS, now=NOW)
    assert export.encoding == named and export.problems == ()
    (only,) = export.responses
    assert (only.row, only.ratings["overall"], only.comment) == (4, 2, "देर से")
    assert export.personal_columns == ("Name",)


def test_a_pipe_is_read_once(tmp_path: Path) -> None:
    """A named pipe (as /dev/stdin or <(…) gives) is read once: the hash is of the bytes
    parsed."""
    source = write_csv(tmp_path / "form.csv", [response()])
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(source.read_bytes()))
    writer.start()
    export = read_export(fifo, CITIZEN_FEEDBACK, STATIONS, now=NOW)
    writer.join()
    assert len(export.responses) == 1
    assert export.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()


def test_hindi_lost_to_an_ansi_save_is_warned(tmp_path: Path) -> None:
    """Excel's ANSI "CSV (Comma delimited)" writes ? for each Hindi letter: the file is read,
    with a warning to save it as CSV UTF-8."""
    path = tmp_path / "ansi.csv"
    path.write_bytes(
        b"Timestamp,Police station / ????,Behaviour,Action taken,Timeliness,"
        b"Overall satisfaction\r\n24/11/2026 10:00:00,Kotwali,4,4,4,4\r\n"
    )
    export = read_export(path, CITIZEN_FEEDBACK, STATIONS, now=NOW)
    assert len(export.responses) == 1
    warning = export.warnings[-1]
    assert "question marks stand where letters were (in the header)" in warning
    assert "CSV UTF-8" in warning
    rows = write_csv(tmp_path / "rows.csv", [response(station="??????? ??????")])
    assert "(from row 2 on)" in read_export(rows, CITIZEN_FEEDBACK, STATIONS).warnings[0]


def _with_comments(tmp_path: Path, headers: Sequence[str], cells: Sequence[str]) -> Export:
    """A one-row export whose last columns are ``headers`` holding ``cells``."""
    path = tmp_path / "form.csv"
    ratings = ["Behaviour", "Action taken", "Timeliness", "Overall satisfaction"]
    rows = [
        ["Timestamp", "Police station", *ratings, *headers],
        ["20/11/2026 10:00:00", "Kotwali", "4", "4", "4", "1", *cells],
    ]
    return read_export(write_csv(path, rows, header=False), CITIZEN_FEEDBACK, STATIONS, now=NOW)


def test_a_comment_column_not_recognised_is_named(tmp_path: Path) -> None:
    """A comment header the form does not know is listed among the unused columns, and a
    warning says no comment is imported and how to map it."""
    export = _with_comments(tmp_path, ["Comments / सुझाव (optional)"], ["lost"])
    assert export.ignored_columns == ("Comments / सुझाव (optional)",)
    assert export.responses[0].comment == ""
    (warning,) = export.warnings
    assert "no column is the comment" in warning
    assert '[feedback.columns] comment = ["Comments / सुझाव (optional)"]' in warning


def test_two_comment_columns_read_the_first_with_a_warning(tmp_path: Path) -> None:
    """Two columns that both look like the comment: the first is read, the second listed as
    unused, and a warning names both (two columns of one rating are refused: see
    test_a_column_twice_is_refused)."""
    export = _with_comments(tmp_path, ["Comments", "Suggestions"], ["good", "more staff"])
    assert export.responses[0].comment == "good"
    assert export.ignored_columns == ("Suggestions",)
    assert (
        "columns 7 ('Comments') and 8 ('Suggestions') both look like the comment"
        in (export.warnings[0])
    )


@pytest.mark.parametrize(
    ("cell", "value"),
    [("5", 5), (" 3 ", 3), ("३", 3), ("4\u00a0", 4), ("Excellent", 5), ("उत्कृष्ट", 5)],
)
def test_ratings_are_ascii_or_devanagari_digits_or_the_forms_answers(
    tmp_path: Path, cell: str, value: int
) -> None:
    """A rating is one ASCII or Devanagari digit 1–5 (spaces aside), or an answer the form
    maps to a number (rating_labels)."""
    form = dataclasses.replace(CITIZEN_FEEDBACK, rating_labels={"Excellent": 5, "उत्कृष्ट": 5})
    path = write_csv(tmp_path / "form.csv", [response(ratings=("1", "1", "1", cell))])
    assert read_export(path, form, STATIONS, now=NOW).responses[0].ratings["overall"] == value


@pytest.mark.parametrize("cell", ["+3", "03", "3.0", "٣", "３", "𝟑", "3\u200b", "1_0", "Excellent"])
def test_other_ratings_are_refused(tmp_path: Path, cell: str) -> None:
    """A sign, a leading zero, a decimal, Arabic-Indic, full-width or mathematical digits, an
    invisible character, and an answer the form does not map are refused, quoted as written."""
    path = write_csv(tmp_path / "form.csv", [response(ratings=("1", "1", "1", cell))])
    export = read_export(path, CITIZEN_FEEDBACK, STATIONS, now=NOW)
    assert export.responses == ()
    assert export.problems[0].what == (
        f"Overall satisfaction / संतुष्टि is {cell!r}, not a whole number 1–5"
    )


def test_the_plugins_personal_columns_extend_the_default() -> None:
    """The police station form drops every default personal column and its own."""
    assert CITIZEN_FEEDBACK.personal[: len(DEFAULT_PERSONAL)] == DEFAULT_PERSONAL
    assert "Name / नाम" in CITIZEN_FEEDBACK.personal


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ({"-": "PS-KOT39"}, "'-' = 'PS-KOT39': the name has no letter or digit"),
        ({" ": "PS-KOT39"}, "' ' = 'PS-KOT39': the name has no letter or digit"),
        ({"ps smg2": "PS-KOT39"}, "'ps smg2' is the code of another office, PS-SMG2"),
        ({"Kotwali": "PS-KOT39", "KOTWALI": "PS-SMG2"}, "are one name to the import"),
    ],
)
def test_a_station_alias_that_cannot_work_is_refused(
    tmp_path: Path, aliases: dict[str, str], message: str
) -> None:
    """An alias of no letters or digits (it would match every blank station), one that is
    another office's code, and two spellings of one name for two offices are refused when
    qms.toml is read, naming the alias."""
    table = "".join(f'"{alias}" = "{code}"\n' for alias, code in aliases.items())
    with pytest.raises(ConfigurationError, match=message):
        settings = feedback_settings(_workspace(tmp_path, f"[feedback.stations]\n{table}"))
        StationIndex(
            [KOTWALI, Station("PS-SMG2", "Simga", "Asia/Kolkata")],
            settings.stations,
            where=f"{settings.source}: feedback.stations",
        )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://f/?s={office:x}", r"not \{office:x\}"),
        ("https://f/?s={office!r}", r"not \{office!r\}"),
        ("https://f/?s={office.upper}", r"not \{office.upper\}"),
        ("https://f/?s={}", r"not \{\}"),
        ("https://f/?s={office", "expected '}'"),
    ],
)
def test_a_url_template_other_than_office_is_refused(
    tmp_path: Path, url: str, message: str
) -> None:
    """Format specs, conversions, attributes and other fields in feedback.url are refused
    when qms.toml is read, naming the key (they would crash or leak when the code is made)."""
    with pytest.raises(ConfigurationError, match=message) as refused:
        feedback_settings(_workspace(tmp_path, f'[feedback]\nurl = "{url}"\n'))
    assert "feedback.url" in str(refused.value)


def test_day_first_and_a_url_without_office_in_qms_toml(tmp_path: Path) -> None:
    """[feedback] day_first sets the form's order; a value other than true/false is refused;
    a URL without {office} works but is warned about."""
    settings = feedback_settings(
        _workspace(tmp_path, '[feedback]\nday_first = false\nurl = "https://f/form"\n')
    )
    assert settings.extend(CITIZEN_FEEDBACK).day_first is False
    assert "has no {office}" in settings.url_warnings()[0]
    with pytest.raises(ConfigurationError, match=r"feedback\.day_first must be true"):
        feedback_settings(_workspace(tmp_path, '[feedback]\nday_first = "yes"\n'))


def test_the_import_command_reads_a_pipe_and_names_unused_columns(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """`qms feedback import` reads a named pipe once (hash and rows from the same bytes), and
    its text output names the columns the form does not use."""
    source = tmp_path / "form.csv"
    source.write_text(
        "Timestamp,Police station,Behaviour,Action taken,Timeliness,Overall satisfaction,"
        "Remarks (optional)\r\n20/11/2025 10:00:00,PS-TEST1,4,4,4,4,ok\r\n",
        encoding="utf-8",
    )
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(source.read_bytes()))
    writer.start()
    done = run("-w", qms_office.root, "feedback", "import", fifo, "--as", "priya")
    writer.join()
    assert done.returncode == 0, done.stderr
    assert f"Imported 1 response(s) from {fifo}" in done.stdout
    assert "Not used by the form (not read): Remarks (optional)." in done.stdout


def test_qms_toml_day_first_reads_a_us_sheet_as_november(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A US sheet of 1–12 November 2025, which the police station form would read day first,
    goes in as November once qms.toml says day_first = false; the import warns how it read
    the times (in --json too)."""
    path = write_csv(
        tmp_path / "us.csv",
        [response(f"11/{day:02d}/2025 10:00:00", "PS-TEST1") for day in range(1, 13)],
    )
    config = qms_office.root / "qms.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + "\n[feedback]\nday_first = false\n", "utf-8"
    )
    done = run("-w", qms_office.root, "feedback", "import", path, "--as", "priya")
    assert done.returncode == 0, done.stderr
    assert "Warning:" in done.stderr and "they were read month first" in done.stderr
    again = run("-w", qms_office.root, "feedback", "import", path, "--as", "priya", "--json")
    assert "they were read month first" in json.loads(again.stdout)["warnings"][0]
    summary = feedback_summary(
        qms_office.runtime, since=date(2025, 11, 1), until=date(2025, 11, 30)
    )
    assert summary.stations[0].responses == 12
