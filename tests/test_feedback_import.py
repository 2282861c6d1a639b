"""`qms feedback import`: a form's export goes in once, station by station, signed; bad rows are
refused by line; poor ratings raise one nonconformity per station and week; `qms audit verify`
passes over all of it."""

from __future__ import annotations

import csv
import hashlib
import json
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from qms_engine.api import DocumentTypeSpec, OfficeType, TypeRegistry, hookimpl
from qms_engine.audit.verify import verify_office
from qms_engine.capa.nonconformities import take_nc_transition
from qms_engine.capa.records import NcRow, load_nc
from qms_engine.chain.canonical import canonical_bytes
from qms_engine.chain.comments import comment_sha256
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.cli import cli
from qms_engine.extension.manager import get_plugin_manager, load_plugins
from qms_engine.feedback.responses import ImportResult, import_feedback
from qms_engine.people.offices import add_office
from qms_engine.runtime import Runtime
from qms_engine.storage.models import EVENT_TABLE, FEEDBACK_TABLE, NC_TABLE
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TEST_PASSPHRASE, TestOffice
from tests.test_cli import PASSPHRASES, run
from tests.test_feedback_forms import HEADER, response, write_csv

STATION = "कोतवाली परीक्षण"  # the test office's name: no alias needed
POOR = ("2", "1", "2", "1")
GOOD = ("5", "4", "4", "5")


def qms(*args: str | Path) -> Result:
    """``qms ARGS`` in-process, with every passphrase in the environment."""
    return CliRunner().invoke(cli, [str(arg) for arg in args], env=PASSPHRASES)


def importing(office: TestOffice, path: Path, who: str = "quality_coordinator") -> ImportResult:
    return import_feedback(office.runtime, path=path, actor=office.signers[who])


def count(office: TestOffice, table: object, *where: object) -> int:
    with office.runtime.engine.connect() as connection:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(connection.execute(query.where(*where)).scalar_one())  # type: ignore[arg-type]


def events_of(office: TestOffice, action: str) -> list[tuple[str, dict[str, object]]]:
    with office.runtime.engine.connect() as connection:
        rows = connection.execute(
            select(EVENT_TABLE.c.subject, EVENT_TABLE.c.payload)
            .where(EVENT_TABLE.c.action == action)
            .order_by(EVENT_TABLE.c.seq)
        ).all()
    return [(subject, json.loads(payload)) for subject, payload in rows]


def comments(office: TestOffice) -> dict[str, tuple[str, str | None, datetime | None]]:
    """Response id → its comment, salt and erased_at as the table keeps them, in time order."""
    with office.runtime.engine.connect() as connection:
        rows = connection.execute(
            select(
                FEEDBACK_TABLE.c.response_id,
                FEEDBACK_TABLE.c.comment,
                FEEDBACK_TABLE.c.comment_salt,
                FEEDBACK_TABLE.c.erased_at,
            ).order_by(FEEDBACK_TABLE.c.responded_at, FEEDBACK_TABLE.c.id)
        ).all()
    return {response: (comment, salt, erased) for response, comment, salt, erased in rows}


def second_station(office: TestOffice) -> OfficeRef:
    """PS-TEST2, "थाना दूसरा", beside the test office (its staff not enrolled)."""
    return add_office(
        office.runtime,
        actor=office.signers["admin"],
        from_office=office.office,
        code="PS-TEST2",
        name="थाना दूसरा",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )


def configure(office: TestOffice, toml: str) -> None:
    """Add ``toml`` to the workspace's qms.toml."""
    config = office.root / "qms.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n" + toml, encoding="utf-8")


def nc(office: TestOffice, number: str) -> NcRow:
    with office.runtime.engine.connect() as connection:
        return load_nc(connection, number)


def export(tmp_path: Path, name: str, rows: Sequence[Sequence[str]]) -> Path:
    return write_csv(tmp_path / name, rows)


def test_an_export_goes_in_with_one_signed_event_and_nothing_personal(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Through the CLI: three responses (station by name and by code) are stored with one
    feedback.received event whose payload is exactly the design's (each comment only as its
    salted SHA-256, the words and salt in the table); no name or mobile number is stored
    anywhere, the one in a comment is removed; the chain verifies."""
    path = export(
        tmp_path,
        "form.csv",
        [
            response("24/11/2025 10:40:46", STATION, GOOD, "अच्छा व्यवहार", "राम", "9876543210"),
            response("24/11/2025 11:00:00", "ps-test1", GOOD, "call 98765 43210", "Sita"),
            response("25/11/2025 09:15:00", STATION, ("4", "4", "3", "4"), ""),
        ],
    )
    done = qms("-w", qms_office.root, "feedback", "import", path, "--as", "priya", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert (result["imported"], result["already"], result["refused"]) == (3, 0, 0)
    assert result["personal_columns"] == ["Name / नाम", "Mobile number / मोबाइल नंबर"]
    ((subject, payload),) = events_of(qms_office, "feedback.received")
    assert subject == f"PS-TEST1/FEEDBACK/{result['sha256'][:12]}"
    assert payload["file_sha256"] == result["sha256"] and payload["file_name"] == "form.csv"
    responses = payload["responses"]
    assert isinstance(responses, list)
    kept = comments(qms_office)
    comment, salt, _ = kept[responses[0]["id"]]
    assert comment == "अच्छा व्यवहार" and salt is not None and len(salt) == 32
    assert responses[0] == {
        "id": responses[0]["id"],
        "time": "2025-11-24T05:10:46.000000Z",
        "ratings": {"behaviour": 5, "action_taken": 4, "timeliness": 4, "overall": 5},
        "comment_sha256": comment_sha256(salt, "अच्छा व्यवहार"),
    }
    assert kept[responses[1]["id"]][0] == "call [number removed]"
    with qms_office.runtime.engine.connect() as connection:
        stored = connection.execute(select(FEEDBACK_TABLE)).all()
        everything = " ".join(str(row) for row in stored)
        everything += str(connection.execute(select(EVENT_TABLE.c.payload)).all())
    assert len(stored) == 3
    for personal in ("राम", "Sita", "9876543210", "98765 43210"):
        assert personal not in everything
    assert verify_office(qms_office.runtime, qms_office.office).problems == []


def test_a_phone_number_in_the_file_s_name_is_not_signed(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A clerk named the export after the caller: the chain (the import's file_name, and the
    description of the NC its poor response raised) holds the name scrubbed like a comment,
    with the form's rule of a poor response.  The importer is also an approver: the NC that
    links the responses is still signed as quality coordinator, the one role that may."""
    from qms_engine.people.users import grant_roles

    office = qms_office.office
    grant_roles(
        qms_office.runtime,
        office,
        actor=qms_office.signers["admin"],
        username="priya",
        roles=["approver"],
    )
    path = export(
        tmp_path, "Ramesh 98765 43210.csv", [response("24/11/2025 11:00:00", STATION, POOR, "")]
    )
    (station,) = importing(qms_office, path).stations
    ((_, received),) = events_of(qms_office, "feedback.received")
    assert received["file_name"] == "Ramesh [number removed].csv"
    assert received["poor"] == {"rating": "overall", "at_most": 2}
    ((_, raised),) = events_of(qms_office, "nc.raised")
    assert "(from Ramesh [number removed].csv)" in str(raised["description"])
    with qms_office.runtime.engine.connect() as connection:
        payloads = str(
            connection.execute(
                select(EVENT_TABLE.c.payload, EVENT_TABLE.c.signer_role).where(
                    EVENT_TABLE.c.action == "nc.raised"
                )
            ).all()
        )
    assert "98765" not in payloads and "quality_coordinator" in payloads
    assert station.raised and verify_office(qms_office.runtime, office).ok


def test_importing_again_imports_nothing_twice(qms_office: TestOffice, tmp_path: Path) -> None:
    """The same file again adds no event and no row; a later export that repeats the first
    rows and adds one imports only the new one."""
    rows = [response(station=STATION), response("24/11/2025 12:00:00", STATION)]
    first = export(tmp_path, "week.csv", rows)
    assert importing(qms_office, first).imported == 2
    again = importing(qms_office, first)
    assert (again.imported, again.already, again.refused) == (0, 2, 0)
    assert again.stations[0].event_seqs == ()
    later = export(tmp_path, "month.csv", [*rows, response("26/11/2025 08:00:00", STATION)])
    more = importing(qms_office, later)
    assert (more.imported, more.already) == (1, 2)
    assert len(events_of(qms_office, "feedback.received")) == 2
    assert count(qms_office, FEEDBACK_TABLE) == 3


def test_bad_rows_are_refused_by_line_and_the_good_ones_go_in(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A rating of 7, an unknown station and a bad time are each reported on standard error
    as FILE:LINE: what — what to do; the two good rows go in; the exit code is 1."""
    path = export(
        tmp_path,
        "mixed.csv",
        [
            response(station=STATION),
            response(station=STATION, ratings=("7", "4", "4", "5")),
            response(station="Thana Nowhere"),
            response("31/02/2025 10:00:00", STATION),
            response("25/11/2025 10:00:00", STATION),
        ],
    )
    done = qms("-w", qms_office.root, "feedback", "import", path, "--as", "priya")
    assert done.exit_code == 1, done.output
    assert "Imported 2 response(s)" in done.stdout and "3 refused" in done.stdout
    assert f"{path}: row 3: Behaviour / व्यवहार is '7', not a whole number 1–5" in done.stderr
    assert f"{path}: row 4: the station 'Thana Nowhere' is not an office" in done.stderr
    assert f"{path}: row 5: the time '31/02/2025 10:00:00' is not in the file's format" in (
        done.stderr
    )
    assert count(qms_office, FEEDBACK_TABLE) == 2


def test_nothing_readable_exits_2_and_writes_nothing(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """An empty file and a header without the rating columns exit 2 naming the problem; no
    event is written."""
    before = count(qms_office, EVENT_TABLE)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    refused = run("-w", qms_office.root, "feedback", "import", empty, "--as", "priya")
    assert refused.returncode == 2 and "empty.csv is empty" in refused.stderr
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("Timestamp,Police station\r\n24/11/2025 10:00:00,PS-TEST1\r\n", "utf-8")
    header = qms("-w", qms_office.root, "feedback", "import", wrong, "--as", "priya")
    assert header.exit_code == 1 and "the header has no column for behaviour" in str(
        header.exception
    )
    assert count(qms_office, EVENT_TABLE) == before


def test_poor_ratings_raise_one_nc_per_station_and_week(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Three poor responses of one ISO week raise one NC naming them, a poor one of the next
    week another; a later poor response of the first week joins its open NC (linked, not a
    third NC); good responses raise nothing; the chain verifies."""
    path = export(
        tmp_path,
        "week.csv",
        [
            response("24/11/2025 10:00:00", STATION, POOR, "कोई सुनवाई नहीं हुई"),
            response("26/11/2025 10:00:00", STATION, POOR, "देर से पहुंचे"),
            response("30/11/2025 23:30:00", STATION, POOR, ""),  # Sunday night, still W48
            response("01/12/2025 00:30:00", STATION, POOR, ""),  # Monday: week 49
            response("27/11/2025 10:00:00", STATION, GOOD, "धन्यवाद"),
        ],
    )
    result = importing(qms_office, path)
    (station,) = result.stations
    assert (station.imported, station.poor, len(station.raised)) == (5, 4, 2)
    first, second = (nc(qms_office, number) for number in station.raised)
    assert first.title == "Poor citizen feedback: PS-TEST1, week 2025-W48"
    assert second.title == "Poor citizen feedback: PS-TEST1, week 2025-W49"
    assert (first.source, first.severity, first.clause) == ("citizen_feedback", "minor", "9.1.2")
    assert len(first.responses) == 3 and len(second.responses) == 1
    assert first.description.startswith("3 citizen response(s) rated Overall satisfaction")
    assert "2 of them left a comment" in first.description
    assert "कोई सुनवाई" not in first.description and "देर से" not in first.description
    later = export(tmp_path, "late.csv", [response("28/11/2025 18:00:00", STATION, POOR)])
    joined = importing(qms_office, later).stations[0]
    assert (joined.raised, joined.linked) == ((), (first.number,))
    assert len(nc(qms_office, first.number).responses) == 4
    assert count(qms_office, NC_TABLE) == 2
    assert [p["responses"] for _, p in events_of(qms_office, "nc.feedback.linked")] == [
        [importing_id(qms_office, "2025-11-28T12:30:00.000000Z")]
    ]
    assert verify_office(qms_office.runtime, qms_office.office).problems == []


def importing_id(office: TestOffice, time: str) -> str:
    """The response id stored for the response of ``time`` (UTC text)."""
    for _, payload in events_of(office, "feedback.received"):
        for given in payload["responses"]:  # type: ignore[attr-defined]
            if given["time"] == time:
                return str(given["id"])
    raise AssertionError(f"no response at {time}")


def test_a_cancelled_nc_is_not_joined_a_new_one_is_raised(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Once the week's NC is cancelled, later poor feedback of that week raises a new NC."""
    first = importing(
        qms_office, export(tmp_path, "a.csv", [response("24/11/2025 10:00:00", STATION, POOR)])
    ).stations[0]
    (number,) = first.raised
    take_nc_transition(
        qms_office.runtime,
        number=number,
        transition="cancel",
        actor=qms_office.signers["quality_coordinator"],
        comment="Raised twice by mistake",
    )
    again = importing(
        qms_office, export(tmp_path, "b.csv", [response("25/11/2025 10:00:00", STATION, POOR)])
    ).stations[0]
    assert len(again.raised) == 1 and again.raised != (number,) and again.linked == ()
    assert verify_office(qms_office.runtime, qms_office.office).problems == []


def test_only_a_quality_coordinator_of_the_station_imports_its_rows(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A file with rows of two stations, imported by the coordinator of only one: that
    station's rows go in, the other's are refused by line naming the missing role, and the
    other station's chain is untouched; an author imports nothing."""
    second = second_station(qms_office)
    before = count(qms_office, EVENT_TABLE, EVENT_TABLE.c.office_id == second.id)
    path = export(
        tmp_path,
        "district.csv",
        [response(station=STATION), response(station="थाना दूसरा"), response(station="PS-TEST2")],
    )
    result = importing(qms_office, path)
    assert (result.imported, result.refused) == (1, 2)
    (problem,) = result.problems
    assert problem.startswith(f"{path}: row 3: PS-TEST2: ")
    assert "not registered in PS-TEST2" in problem and "(and rows 4 of PS-TEST2)" in problem
    (refusal,) = result.refused_stations
    assert (refusal.office, refusal.rows, refusal.exit_code) == ("PS-TEST2", 2, 4)
    assert count(qms_office, EVENT_TABLE, EVENT_TABLE.c.office_id == second.id) == before
    by_author = importing(qms_office, path, who="author")
    assert by_author.imported == 0 and by_author.refused == 3
    assert "may not import citizen feedback in PS-TEST1" in by_author.problems[0]


def test_import_help_names_the_exit_codes() -> None:
    """`qms feedback import --help` says what each exit code means."""
    shown = " ".join(qms("feedback", "import", "--help").stdout.split())
    assert "Exit 0: every row went in" in shown and "1: some rows were refused" in shown
    assert "2: nothing could be read" in shown


def test_a_refused_station_goes_in_once_its_alias_is_configured(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A row naming the station as the district's form does ("Kotwali Test") is refused until
    qms.toml names it; importing the same file again then adds just that row, in a second
    event about the same file, and the chain verifies."""
    path = export(
        tmp_path,
        "form.csv",
        [response(station=STATION), response("25/11/2025 10:00:00", "Kotwali Test", POOR)],
    )
    first = importing(qms_office, path)
    assert (first.imported, first.refused) == (1, 1)
    configure(qms_office, '[feedback.stations]\n"Kotwali Test" = "PS-TEST1"\n')
    again = importing(qms_office, path)
    assert (again.imported, again.already, again.refused) == (1, 1, 0)
    assert len(again.stations[0].raised) == 1
    subjects = [subject for subject, _ in events_of(qms_office, "feedback.received")]
    assert len(subjects) == 2 and subjects[0] == subjects[1]
    assert verify_office(qms_office.runtime, qms_office.office).problems == []


def test_the_chain_holds_no_cell_and_no_comment_so_nothing_can_be_guessed(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """The signed events (what a bundle gives an auditor) hold no comment, not even scrubbed,
    and no cell as the file wrote it (the local time, a name, a phone number); a response id
    is computed again from what its payload states — station code, UTC time, ratings and its
    occurrence among identical rows — so it hides nothing a guess could be checked against."""
    path = export(
        tmp_path,
        "form.csv",
        [
            response(
                "24/11/2025 10:40:46",
                STATION,
                POOR,
                "SHO ने 98765 43210 पर बुलाया",
                "राम",
                "9876543210",
            ),
            response("24/11/2025 10:40:46", STATION, POOR, ""),  # the same second and ratings
        ],
    )
    result = importing(qms_office, path)
    assert (result.imported, len(result.stations[0].raised)) == (2, 1)
    with qms_office.runtime.engine.connect() as connection:
        signed = " ".join(connection.execute(select(EVENT_TABLE.c.payload)).scalars())
    for cell in ("SHO ने", "बुलाया", "[number removed]", "98765", "9876543210", "राम"):
        assert cell not in signed
    assert "24/11/2025" not in signed and "10:40:46" not in signed
    ((_, payload),) = events_of(qms_office, "feedback.received")
    given = payload["responses"]
    assert isinstance(given, list) and len(given) == 2
    for n, kept in enumerate(given, 1):
        stated = ["PS-TEST1", kept["time"], kept["ratings"], n]
        assert kept["id"] == hashlib.sha256(canonical_bytes(stated)).hexdigest()[:16]
    assert comments(qms_office)[given[0]["id"]][0] == "SHO ने [number removed] पर बुलाया"


def test_the_same_responses_in_another_format_are_not_imported_again(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """The form's own download of responses first imported from a Sheets export — times year
    first with am/pm and GMT+5:30, the station by its code in other letter case, the comment
    in NFD with other spacing under a header the form does not know, columns in another order
    — imports nothing again; nor does it once qms.toml maps that comment column."""
    sheet = export(
        tmp_path,
        "sheet.csv",
        [
            response("24/11/2025 10:40:46", STATION, POOR, "ज़रूरी  काम"),
            response("24/11/2025 10:40:46", STATION, POOR, "ज़रूरी  काम"),
            response("24/11/2025 16:05:00", STATION, GOOD, "धन्यवाद"),
        ],
    )
    assert importing(qms_office, sheet).imported == 3
    download = tmp_path / "download.csv"
    with download.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Timestamp", "Police station / थाना", "Remarks", *HEADER[4:8], "Mobile"])
        for when, ratings, remark in (
            ("2025/11/24 10:40:46 am GMT+5:30", POOR, unicodedata.normalize("NFD", " ज़रूरी काम")),
            ("2025/11/24 10:40:46 am GMT+5:30", POOR, "ज़रूरी काम"),
            ("2025/11/24 4:05:00 pm GMT+5:30", GOOD, "धन्यवाद "),
        ):
            writer.writerow([when, " ps-test1 ", remark, *ratings, "9876543210"])
    again = importing(qms_office, download)
    assert (again.imported, again.already, again.refused) == (0, 3, 0)
    configure(qms_office, '[feedback.columns]\ncomment = ["Remarks"]\n')
    mapped = importing(qms_office, download)
    assert (mapped.imported, mapped.already, mapped.refused) == (0, 3, 0)
    assert count(qms_office, FEEDBACK_TABLE) == 3
    assert len(events_of(qms_office, "feedback.received")) == 1


def test_a_long_comment_is_cut_and_the_import_says_so(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A 4,000-character comment is kept cut to 2,000 (ending in "…"); the import says how
    many were cut; the chain verifies."""
    long = "थाने में " + "बहुत देर हुई " * 310
    path = export(tmp_path, "long.csv", [response(station=STATION, comment=long)])
    done = qms("-w", qms_office.root, "feedback", "import", path, "--as", "priya", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert (result["comments_cut"], result["comment_limit"]) == (1, 2000)
    ((comment, _salt, _),) = comments(qms_office).values()
    assert len(comment) <= 2000 and comment.endswith("…") and long.startswith(comment[:-1])
    path.rename(tmp_path / "again.csv")
    shown = qms(
        "-w", qms_office.root, "feedback", "import", tmp_path / "again.csv", "--as", "priya"
    )
    assert "Cut" not in shown.stdout  # nothing new, nothing cut
    longer = export(tmp_path, "more.csv", [response("25/11/2025 10:00:00", STATION, GOOD, long)])
    said = qms("-w", qms_office.root, "feedback", "import", longer, "--as", "priya")
    assert "Cut 1 comment(s) longer than 2,000 characters to that length." in said.stdout
    assert verify_office(qms_office.runtime, qms_office.office).problems == []


class _SpOffice:
    """An office type without a feedback form (an SP office)."""

    @hookimpl
    def qms_register_types(self, registry: TypeRegistry) -> None:
        registry.add_office_type(
            OfficeType(
                code="sp_office_test",
                title="SP office (test)",
                document_types=(
                    DocumentTypeSpec(code="SOP", title="SP SOP", workflow="sop-revision"),
                ),
            )
        )


def test_rows_of_an_office_without_a_feedback_form_are_refused(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A row naming the SP office (whose type declares no form) is refused with its station,
    as a configuration problem (exit code 2), before any role is looked at; the station's
    rows still go in."""
    plugins = load_plugins(get_plugin_manager(extra_plugins=[("sp_test", _SpOffice())]))
    runtime = Runtime.open(Workspace.load(qms_office.root), plugins)
    try:
        add_office(
            runtime,
            actor=qms_office.signers["admin"],
            from_office=qms_office.office,
            code="SP-TEST",
            name="पुलिस अधीक्षक कार्यालय",
            office_type="sp_office_test",
            office_passphrase=TEST_PASSPHRASE,
        )
        path = export(
            tmp_path, "mixed.csv", [response(station=STATION), response(station="SP-TEST")]
        )
        result = import_feedback(
            runtime, path=path, actor=qms_office.signers["quality_coordinator"]
        )
    finally:
        runtime.close()
    assert (result.imported, result.refused) == (1, 1)
    (refusal,) = result.refused_stations
    assert (refusal.office, refusal.rows, refusal.exit_code) == ("SP-TEST", 1, 2)
    assert refusal.reason == (
        "SP-TEST is a SP office (test), whose plugin declares no citizen feedback form"
    )
    assert result.problems[0].startswith(f"{path}: row 3: SP-TEST: SP-TEST is a SP office")


@pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)
def test_a_database_error_refuses_the_station_and_is_reported(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """The database refuses the station's rows (here a trigger, as a full disk or a broken
    connection would): the import reports it for that station, with its rows and exit code 7,
    instead of crashing, and writes nothing; once the database accepts them, they go in."""
    path = export(
        tmp_path, "form.csv", [response(station=STATION), response("25/11/2025 10:00:00", STATION)]
    )
    with qms_office.runtime.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON feedback_response "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    before = count(qms_office, EVENT_TABLE)
    refused = importing(qms_office, path)
    assert (refused.imported, refused.refused) == (0, 2)
    (refusal,) = refused.refused_stations
    assert refusal.exit_code == 7
    assert refusal.reason == "the database refused the import: database or disk is full"
    assert "(and rows 3 of PS-TEST1)" in refused.problems[0]
    assert count(qms_office, EVENT_TABLE) == before
    with qms_office.runtime.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse")
    assert importing(qms_office, path).imported == 2


def test_more_responses_than_one_event_holds(qms_office: TestOffice, tmp_path: Path) -> None:
    """1,001 poor responses of one week: two feedback.received events, one NC naming the
    first 1,000 and an nc.feedback.linked for the last (each id list in statements of at most
    1,000); every row is linked to the NC; the chain verifies."""
    rows = [
        response(
            f"24/11/2025 {8 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}", STATION, POOR, ""
        )
        for n in range(1001)
    ]
    result = importing(qms_office, export(tmp_path, "big.csv", rows))
    (station,) = result.stations
    assert (station.imported, station.poor, len(station.event_seqs)) == (1001, 1001, 2)
    (number,) = station.raised
    assert station.linked == ()
    assert len(nc(qms_office, number).responses) == 1001
    ((_, raised),) = events_of(qms_office, "nc.raised")
    assert len(raised["responses"]) == 1000  # type: ignore[arg-type]
    ((_, linked),) = events_of(qms_office, "nc.feedback.linked")
    assert len(linked["responses"]) == 1  # type: ignore[arg-type]
    assert count(qms_office, FEEDBACK_TABLE, FEEDBACK_TABLE.c.nc_number == number) == 1001
    assert verify_office(qms_office.runtime, qms_office.office).problems == []
