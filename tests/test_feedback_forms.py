"""Reading a citizen feedback form's CSV export: encodings, headers, bad rows by line, privacy.

Real CSV files, written here as a sheet or Excel would write them, read with the police station
plugin's own form (English and Hindi headers).
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from qms_police_station.office import CITIZEN_FEEDBACK

from qms_engine.errors import ConfigurationError, InvalidInput
from qms_engine.extension.manager import load_plugins
from qms_engine.feedback.forms import Export, read_export
from qms_engine.feedback.privacy import EMAIL_REMOVED, NUMBER_REMOVED, scrub_comment
from qms_engine.feedback.settings import feedback_settings
from qms_engine.feedback.stations import Station, StationIndex
from qms_engine.registry.feedback_forms import FeedbackForm
from qms_engine.storage.workspace import Workspace

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


def test_bad_rows_are_reported_by_physical_line_and_the_rest_read(tmp_path: Path) -> None:
    """A rating outside 1–5, a word for a rating, an empty rating, an unknown station and a
    bad time are each reported as FILE:LINE: what — what to do; a quoted comment spanning two
    lines counts two lines; the good rows are still read."""
    path = write_csv(
        tmp_path / "form.csv",
        [
            response(comment="पहली पंक्ति\nदूसरी पंक्ति"),  # lines 2-3
            response(ratings=("6", "4", "4", "5")),  # line 4
            response(ratings=("5", "good", "", "5")),  # line 5
            response(station="Thana Nowhere"),  # line 6
            response(time="yesterday"),  # line 7
            response("26/11/2025 08:00:00"),  # line 8
        ],
    )
    export = read(path)
    assert [r.line for r in export.responses] == [2, 8]
    assert export.responses[0].comment == "पहली पंक्ति\nदूसरी पंक्ति"
    name = str(path)
    assert problems(export) == [
        f"{name}:4: Behaviour / व्यवहार is '6', not a whole number 1–5 — correct it in the "
        "sheet (1 worst … 5 best)",
        f"{name}:5: Action taken / कार्यवाही is 'good', not a whole number 1–5 — correct it in "
        "the sheet (1 worst … 5 best)",
        f"{name}:5: Timeliness / समयबद्धता is empty — correct it in the sheet (1 worst … 5 best)",
        f"{name}:6: the station 'Thana Nowhere' is not an office of this deployment — correct "
        'it in the sheet, or name its office in qms.toml: [feedback.stations] "Thana Nowhere" '
        '= "OFFICE-CODE"',
        f"{name}:7: the time 'yesterday' is not in the file's format (%d/%m/%Y %H:%M:%S) — "
        "correct it in the sheet",
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
        f"{path}:1: the header has no column for station, overall (headers found: "
        "'Timestamp', 'Behaviour', 'Action taken', 'Timeliness')"
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
    with pytest.raises(InvalidInput, match=r"damaged\.csv:3: this line is not valid UTF-8"):
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
    ],
)
def test_phone_numbers_and_emails_are_scrubbed_from_comments(comment: str, kept: str) -> None:
    """Mobile numbers (with or without +91, spaced, hyphenated, in Devanagari digits),
    landlines and e-mail addresses are removed; FIR numbers and dates stay."""
    assert scrub_comment(comment) == kept


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
