"""Register books: the General Diary opened and closed each day, numbered without gaps (per year
or per day), corrected only by later entries that link both ways, never edited; required fields
of a malkhana entry; the gaps a register's tables show.  Through the engine and the CLI, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import delete, select

from qms_engine.api import DayBook, DocumentTypeSpec, OfficeType, PluginError, TypeRegistry
from qms_engine.audit.verify import verify_office
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import utc_now, zone
from qms_engine.documents.revisions import replace_revision_file, revise_document
from qms_engine.errors import ConfigurationError, NotFound, RuleViolation
from qms_engine.extension.manager import load_plugins
from qms_engine.people import keys
from qms_engine.people.offices import add_office
from qms_engine.people.users import grant_roles
from qms_engine.registers import RegisterGap, gaps
from qms_engine.registers.entries import Entry, list_entries, show_entry, write_entry
from qms_engine.runtime import Runtime
from qms_engine.storage.models import DOCUMENT_TABLE, REGISTER_ENTRY_TABLE
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TEST_PASSPHRASE, TestOffice
from tests.ingest_fixtures import IngestDesk, add_ingest_user, write_register_docx
from tests.test_cli import run

STATION = "PS-GD1"
MALKHANA_FIELDS = {
    "case_number": "112/2026",
    "items": "एक मोटरसाइकिल",
    "seal_number": "S-0457",
    "depositing_officer": "SI Rakesh Verma",
}


@dataclass
class Station:
    """A police station added with its General Diary kept as a day book, and its clerk."""

    runtime: Runtime
    office: OfficeRef
    clerk: Signer
    signers: dict[str, Signer]
    root: Path

    def write(self, text: str, kind: str = "entry", **fields: str) -> Entry:
        return write_entry(
            self.runtime,
            self.office,
            actor=self.clerk,
            type_code="GD",
            text=text,
            fields=fields,
            kind=kind,
        )

    def open_day(self) -> Entry:
        return self.write("रोज़नामचा खुला", "opening", custody="हवालात में कोई नहीं")

    def close_day(self) -> Entry:
        return self.write("रोज़नामचा बंद", "closing", cash_balance="1200")

    def verify_ok(self) -> None:
        self.runtime.engine.dispose()
        result = verify_office(self.runtime, self.office, check_blobs=True)
        assert result.ok, result.problems


def day_book_station(
    office: TestOffice, monkeypatch: pytest.MonkeyPatch, numbering: str = "year"
) -> Iterator[Station]:
    """PS-GD1, added with the day book on (and GD numbered per ``numbering``), where Ramesh is
    clerk and has chosen his own key."""
    monkeypatch.setenv("QMS_GD_DAY_BOOK", "on")
    monkeypatch.setenv("QMS_GD_NUMBERING", numbering)
    runtime = Runtime.open(Workspace.load(office.root), load_plugins())
    try:
        station, clerk = add_station(runtime, office, STATION, office.signers["clerk"])
        signers = {**office.signers, "clerk": clerk}
        yield Station(runtime, station, clerk, signers, office.root)
    finally:
        runtime.close()


def add_station(
    runtime: Runtime, office: TestOffice, code: str, ramesh: Signer
) -> tuple[OfficeRef, Signer]:
    """A police station ``code`` added by the admin, where Ramesh (signing as ``ramesh``) is
    clerk and has chosen his own key; and his signer."""
    admin = office.signers["admin"]
    station = add_office(
        runtime,
        actor=admin,
        from_office=office.office,
        code=code,
        name="थाना रोज़नामचा",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )
    grant_roles(runtime, station, actor=admin, username="ramesh", roles=["clerk"])
    keys.rotate(runtime, station, actor=ramesh, username="ramesh", new_passphrase=TEST_PASSPHRASE)
    return station, keys.unlock(runtime, "ramesh", TEST_PASSPHRASE)


@pytest.fixture
def station(qms_office: TestOffice, monkeypatch: pytest.MonkeyPatch) -> Iterator[Station]:
    """A day-book station, its GD numbered per year."""
    yield from day_book_station(qms_office, monkeypatch)


def _year() -> int:
    return utc_now().astimezone(zone("Asia/Kolkata")).year


def _today() -> str:
    return utc_now().astimezone(zone("Asia/Kolkata")).date().isoformat()


def test_a_day_is_opened_written_and_closed_in_order(station: Station) -> None:
    """The first entry of a day is its opening (with custody), the last its closing (with the
    cash balance); numbers run on without gaps; nothing follows the closing."""
    with pytest.raises(RuleViolation, match="is not open: a day's first entry is its opening"):
        station.write("गश्त पर रवाना")
    with pytest.raises(RuleViolation, match="needs the field custody"):
        station.write("खुला", "opening")
    opening = station.open_day()
    entry = station.write("SI वर्मा दो सिपाहियों के साथ गश्त पर")
    with pytest.raises(RuleViolation, match="needs the field cash_balance"):
        station.write("बंद", "closing")
    closing = station.close_day()
    year = _year()
    assert [opening.number, entry.number, closing.number] == [
        f"{STATION}/GD/{year}/{n:05d}" for n in (1, 2, 3)
    ]
    assert (opening.entry, entry.entry, closing.entry) == ("opening", "entry", "closing")
    assert opening.fields == {"custody": "हवालात में कोई नहीं"} and opening.day == _today()
    for kind in ("entry", "opening"):
        with pytest.raises(RuleViolation, match="is closed: nothing follows its closing"):
            station.write("देर से", kind, custody="none")
    station.verify_ok()


def test_a_correction_links_both_ways_and_never_edits(station: Station) -> None:
    """A correction is a new entry naming the one it corrects; both show the link; the
    corrected entry is never revised or replaced."""
    station.open_day()
    wrong = station.write("गश्त पर दो सिपाही")
    fixed = write_entry(
        station.runtime,
        station.office,
        actor=station.clerk,
        type_code="GD",
        text="सुधार: गश्त पर तीन सिपाही",
        corrects=wrong.number.lower(),  # any letter case names it
    )
    assert fixed.corrects == wrong.number
    assert show_entry(station.runtime, wrong.number).corrected_by == (fixed.number,)
    assert show_entry(station.runtime, fixed.number).text == "सुधार: गश्त पर तीन सिपाही"
    new_text = station.root / "edit.txt"
    new_text.write_text("बदला हुआ", encoding="utf-8")
    with pytest.raises(RuleViolation, match="append-only and are never revised"):
        revise_document(
            station.runtime, actor=station.clerk, number=wrong.number, path=new_text, reason="x"
        )
    with pytest.raises(RuleViolation, match="filed once and never replaced"):
        replace_revision_file(
            station.runtime, actor=station.clerk, number=wrong.number, path=new_text, reason="x"
        )
    station.verify_ok()


def test_a_correction_names_an_entry_of_the_same_register(station: Station) -> None:
    """An unknown entry, or an entry of another register, cannot be corrected; nothing is
    written."""
    station.open_day()
    malkhana = create_malkhana(station)
    for corrects, error, words in (
        (f"{STATION}/GD/{_year()}/09999", NotFound, "no entry numbered"),
        (malkhana, RuleViolation, "is not an entry of this office's GD"),
    ):
        with pytest.raises(error, match=words):
            write_entry(
                station.runtime,
                station.office,
                actor=station.clerk,
                type_code="GD",
                text="सुधार",
                corrects=corrects,
            )
    assert len(list_entries(station.runtime, station.office, "GD")) == 1
    station.verify_ok()


def create_malkhana(station: Station, **fields: str) -> str:
    """A malkhana entry typed as text, with the required fields (or those given)."""
    return write_entry(
        station.runtime,
        station.office,
        actor=station.clerk,
        type_code="MALKHANA",
        text="जब्त मोटरसाइकिल",
        fields=fields or MALKHANA_FIELDS,
    ).number


def test_a_malkhana_entry_needs_its_required_fields(station: Station) -> None:
    """Each missing required field is refused by name, with how to give it; nothing written."""
    partial = {k: v for k, v in MALKHANA_FIELDS.items() if k not in ("seal_number", "items")}
    with pytest.raises(RuleViolation) as refused:
        create_malkhana(station, **partial)
    message = str(refused.value)
    assert "the field items (what is deposited (item description)) is required" in message
    assert "the field seal_number" in message and "--field seal_number=" in message
    assert message.startswith("the field"), message  # not the typed text's file name
    number = create_malkhana(station)
    assert number == f"{STATION}/MAL/{_year()}/0001"
    station.verify_ok()


def test_the_inbox_quarantines_a_malkhana_entry_without_its_seal(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A dropped malkhana entry without a seal number is quarantined, the note naming it."""
    add_ingest_user(qms_office)
    desk = IngestDesk(qms_office)
    rows = [("मुकदमा संख्या", "123/2026"), ("Items", "चाकू"), ("Depositing officer", "HC Yadav")]
    desk.drop(
        "MALKHANA",
        "m-1.docx",
        write_register_docx(tmp_path / "m.docx", "Malkhana", rows).read_bytes(),
    )
    (outcome,) = desk.run()
    assert (outcome.status, outcome.step) == ("quarantined", "check the entry"), outcome
    assert "the field seal_number" in (outcome.problem or "")
    assert "a line “Seal number: …” (labels: Seal number, Seal No., सील संख्या)" in (
        outcome.problem or ""
    )
    assert "--field" not in (outcome.problem or "")
    (quarantined,) = desk.quarantined("MALKHANA")
    assert "seal_number" in desk.error_note(quarantined)["Problem"]
    desk.check_sound()


@pytest.fixture
def day_numbered(qms_office: TestOffice, monkeypatch: pytest.MonkeyPatch) -> Iterator[Station]:
    """A day-book station whose GD serial restarts each day."""
    yield from day_book_station(qms_office, monkeypatch, "day")


def test_a_late_closing_and_numbering_per_day(day_numbered: Station) -> None:
    """Per-day numbering restarts each day; yesterday left open must be closed (late) before
    today opens, and says so; a past day left open is a gap until then."""
    station = day_numbered
    evening = (
        (utc_now() + timedelta(days=2)).astimezone(zone("Asia/Kolkata")).replace(hour=22, minute=0)
    )
    with time_machine.travel(evening, tick=True):
        first = station.open_day()
        station.write("रात्रि गश्त")
    day = evening.date().isoformat()
    assert first.number == f"{STATION}/GD/{day}/001"
    with time_machine.travel(evening + timedelta(hours=12), tick=True):
        with station.runtime.engine.connect() as connection:
            assert gaps(connection, station.office) == [
                RegisterGap("GD", f"the GD of {day} was not closed", day, None)
            ]
        with pytest.raises(RuleViolation, match=f"the GD of {day} is not closed"):
            station.open_day()
        with pytest.raises(RuleViolation, match=f"the GD of {day} is not closed"):
            station.write("सुबह की प्रविष्टि")
        late = station.close_day()
        assert (late.number, late.day, late.late) == (f"{STATION}/GD/{day}/003", day, True)
        today = station.open_day()
        next_day = (evening + timedelta(days=1)).date().isoformat()
        assert (today.number, today.day) == (f"{STATION}/GD/{next_day}/001", next_day)
        with station.runtime.engine.connect() as connection:
            assert gaps(connection, station.office) == []
        station.verify_ok()


def test_an_entry_is_dated_by_its_events_time_across_midnight(station: Station) -> None:
    """An entry's day and period are those of the time its event is stamped with, also when
    the clock stepped back over midnight or New Year (the event keeps the previous time):
    numbered in the day and year it is recorded in, and the chain verifies."""
    ist = zone("Asia/Kolkata")
    year = utc_now().astimezone(ist).year + 1
    midnight = datetime(year, 1, 1, tzinfo=ist)
    with time_machine.travel(midnight + timedelta(seconds=5), tick=False):
        opening = station.open_day()
        first = write_entry(
            station.runtime, station.office, actor=station.clerk, type_code="FIR", text="चोरी"
        )
    with time_machine.travel(midnight - timedelta(seconds=2), tick=False):
        entry = station.write("गश्त")
        second = write_entry(
            station.runtime, station.office, actor=station.clerk, type_code="FIR", text="ठगी"
        )
    day = midnight.date().isoformat()
    assert (opening.day, entry.day, entry.number) == (day, day, f"{STATION}/GD/{year}/00002")
    assert (first.number, second.number) == (
        f"{STATION}/FIR/{year}/0001",
        f"{STATION}/FIR/{year}/0002",
    )
    with time_machine.travel(midnight + timedelta(minutes=1)):
        station.verify_ok()


def _plugin_now_declares(
    runtime: Runtime, spec: DocumentTypeSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The police station type as a later plugin version would declare it: with ``spec``."""
    police = runtime.plugins.registry.office_types["police_station"]
    types = tuple(spec if t.code == spec.code else t for t in police.document_types)
    monkeypatch.setitem(
        runtime.plugins.registry.office_types,
        "police_station",
        replace(police, document_types=types),
    )


def test_the_required_fields_the_chain_recorded_stay_required(
    station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later plugin version that no longer requires a field the office's chain recorded as
    required is not followed: the record is refused by name (the verifier would report it),
    nothing written; fields the plugin adds are required too."""
    create_malkhana(station)
    malkhana = station.runtime.plugins.registry.office_types["police_station"].document_type(
        "MALKHANA"
    )
    fewer = {k: v for k, v in malkhana.required_fields.items() if k != "items"}
    newer = replace(malkhana, required_fields={**fewer, "photo": "photograph reference"})
    _plugin_now_declares(station.runtime, newer, monkeypatch)
    given = {k: v for k, v in MALKHANA_FIELDS.items() if k != "items"}
    with pytest.raises(RuleViolation) as refused:
        create_malkhana(station, **given, photo="P-1")
    assert "the field items (what is deposited (item description)) is required" in str(
        refused.value
    )
    with pytest.raises(RuleViolation, match="the field photo"):
        create_malkhana(station, **MALKHANA_FIELDS)
    assert (
        create_malkhana(station, **MALKHANA_FIELDS, photo="P-1") == f"{STATION}/MAL/{_year()}/0002"
    )
    station.verify_ok()


def test_a_serial_period_the_chain_did_not_record_is_refused(
    qms_office: TestOffice, station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An office whose GD was recorded with its book rules but numbered without a period is
    not numbered per year because a later plugin says so: refused, naming both."""
    registry = station.runtime.plugins.registry
    police = registry.office_types["police_station"]
    gd = police.document_type("GD")
    plain = replace(gd, serial_period=None, numbering="{office}/{type}/{serial:05d}")
    _plugin_now_declares(station.runtime, plain, monkeypatch)
    other, clerk = add_station(station.runtime, qms_office, "PS-GD2", station.clerk)

    def open_day() -> Entry:
        return write_entry(
            station.runtime,
            other,
            actor=clerk,
            type_code="gd",
            text="खुला",
            fields={"custody": "none"},
            kind="opening",
        )

    assert open_day().number == "PS-GD2/GD/00001"
    monkeypatch.setitem(registry.office_types, "police_station", police)
    with pytest.raises(ConfigurationError, match="serial never restarts\\), but the installed"):
        write_entry(station.runtime, other, actor=clerk, type_code="GD", text="गश्त")
    assert [e.number for e in list_entries(station.runtime, other, "Gd")] == ["PS-GD2/GD/00001"]


def test_gaps_lists_serials_missing_from_the_tables(station: Station) -> None:
    """A record deleted from the tables leaves a numbering gap the report names."""
    station.open_day()
    station.write("एक")
    station.write("दो")
    with station.runtime.engine.begin() as connection:
        doc_id = connection.execute(
            select(DOCUMENT_TABLE.c.id).where(DOCUMENT_TABLE.c.number.like("%/00002"))
        ).scalar_one()
        connection.execute(
            delete(REGISTER_ENTRY_TABLE).where(REGISTER_ENTRY_TABLE.c.document_id == doc_id)
        )
        connection.execute(
            DOCUMENT_TABLE.update().where(DOCUMENT_TABLE.c.id == doc_id).values(serial=99)
        )
    with station.runtime.engine.connect() as connection:
        found = gaps(connection, station.office)
    year = str(_year())
    assert RegisterGap("GD", f"serial 2 of {year} is missing", None, 2) in found


def test_register_commands(station: Station) -> None:
    """`qms register write|show|list|gaps`, readable and --json, exit codes by rule."""
    base = ["--workspace", str(station.root), "--office", STATION]
    auth = ["--as", "ramesh"]
    env = {"QMS_PASSPHRASE": TEST_PASSPHRASE}
    write = [*base, "register", "write", "GD"]
    refused = run(*write, "--text", "गश्त", *auth, env=env)
    assert refused.returncode == 5 and "first entry is its opening" in refused.stderr
    opened = run(*write, "--opening", "--text", "खुला", "--field", "custody=none", *auth, env=env)
    assert opened.returncode == 0, opened.stderr
    number, fix_number = (f"{STATION}/GD/{_year()}/{n:05d}" for n in (1, 2))
    assert f"{number} written (opening of {_today()})" in opened.stdout
    fix = run(*write, "--corrects", number, "--text", "सुधार", "--json", *auth, env=env)
    assert fix.returncode == 0, fix.stderr
    assert json.loads(fix.stdout)["corrects"] == number
    shown = run(*base, "register", "show", number).stdout
    assert f"corrected by: {fix_number}" in shown and "custody: none" in shown
    listed = run(*base, "register", "list", "GD", "--day", _today(), "--json").stdout
    assert [e["entry"] for e in json.loads(listed)] == ["opening", "entry"]
    unsealed = run(
        *base, "register", "write", "MALKHANA", "--text", "चाकू", "--field", "case_number=1/2026",
        "--field", "items=चाकू", "--field", "depositing_officer=HC Yadav", *auth, env=env,
    )  # fmt: skip
    assert unsealed.returncode == 5 and "the field seal_number" in unsealed.stderr
    clean = run(*base, "register", "gaps")
    assert (clean.returncode, clean.stdout.strip().splitlines()[-1]) == (
        0,
        "No gaps: every serial is there and every past day is closed.",
    )


def test_register_commands_keep_the_terminal_safe(station: Station, tmp_path: Path) -> None:
    """Typed text and fields with control characters are refused (exit 2, naming the option);
    a filed text file holding some is shown with them made harmless; --opening with --closing
    is a usage error; a register's code is taken in any letter case."""
    base = ["--workspace", str(station.root), "--office", STATION]
    auth = ["--as", "ramesh"]
    env = {"QMS_PASSPHRASE": TEST_PASSPHRASE}
    write = [*base, "register", "write", "gd"]
    both = [*write, "--opening", "--closing", "--text", "x", "--field", "custody=none"]
    assert run(*both, "--field", "cash_balance=1", *auth, env=env).returncode == 2
    opened = run(*write, "--opening", "--text", "खुला", "--field", "custody=none", *auth, env=env)
    assert opened.returncode == 0, opened.stderr
    for option in (
        ["--text", "ok\n\x1b[2J\x1b[31mFAKE"],
        ["--text", "x", "--field", "n=\u202eabc"],
    ):
        refused = run(*write, *option, *auth, env=env)
        assert refused.returncode == 2 and "control characters" in refused.stderr, refused
    page = tmp_path / "page.txt"
    page.write_text("गश्त\n\x1b]0;pwned\x07 \x1b[31mred", encoding="utf-8")
    filed = run(*base, "doc", "new", str(page), "--type", "GD", "--title", "पृष्ठ", *auth, env=env)
    assert filed.returncode == 0, filed.stderr
    shown = run(*base, "register", "show", f"{STATION}/GD/{_year()}/00002")
    assert shown.returncode == 0 and "गश्त" in shown.stdout
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    listed = run(*base, "register", "list", "Gd", "--json")
    assert len(json.loads(listed.stdout)) == 2


def test_an_office_keeps_the_numbering_its_chain_recorded(
    station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin set to number the GD per day after the office recorded per-year numbering is
    refused, naming both, instead of numbering otherwise; nothing is written."""
    monkeypatch.setenv("QMS_GD_NUMBERING", "day")
    runtime = Runtime.open(Workspace.load(station.root), load_plugins())
    try:
        with pytest.raises(ConfigurationError, match="numbered per year, but the installed plugin"):
            write_entry(
                runtime,
                station.office,
                actor=station.clerk,
                type_code="GD",
                text="खुला",
                fields={"custody": "none"},
                kind="opening",
            )
    finally:
        runtime.close()
    assert list_entries(station.runtime, station.office, "GD") == []


def test_the_inbox_quarantines_a_gd_page_before_the_days_opening(
    qms_office: TestOffice, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GD page dropped before the day is opened is quarantined with the day book's rule;
    once the day is opened, a retry files it as the day's next entry."""
    add_ingest_user(qms_office)
    for station in day_book_station(qms_office, monkeypatch):
        runtime = station.runtime
        service = keys.unlock(runtime, "ingest", TEST_PASSPHRASE)
        keys.rotate(
            runtime,
            station.office,
            actor=service,
            username="ingest",
            new_passphrase=TEST_PASSPHRASE,
        )
        desk = IngestDesk(TestOffice(runtime, station.office, station.signers, station.root))
        desk.drop("GD", "gd-scan.pdf")
        (outcome,) = desk.run()
        assert (outcome.status, outcome.step) == ("quarantined", "file the record"), outcome
        assert "is not open: a day's first entry is its opening" in (outcome.problem or "")
        station.open_day()
        assert desk.inbox.retry()
        (outcome,) = desk.run()
        assert (outcome.status, outcome.number) == ("filed", f"{STATION}/GD/{_year()}/00002")
        desk.check_sound()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"serial_period": "day"}, "serial_period 'day' needs {day} in the numbering"),
        ({"numbering": "{office}/GD/{year}/{day}/{serial}"}, "{day} in the numbering needs"),
        ({"kind": "document", "day_book": DayBook()}, "are for registers"),
        ({"serial_period": "week"}, "must be 'year', 'day' or None"),
    ],
    ids=["day-without-{day}", "{day}-without-day", "day-book-on-a-document", "unknown-period"],
)
def test_a_plugin_declaring_inconsistent_book_rules_is_refused(
    changes: dict[str, object], words: str
) -> None:
    """The registry refuses register rules that could not number or keep a book, naming why."""
    spec = DocumentTypeSpec(
        code="GD",
        title="GD",
        workflow="record-filing",
        kind="register",
        numbering="{office}/GD/{year}/{serial}",
        serial_period="year",
        creator_roles=("clerk",),
    )
    office = OfficeType("thana", "Thana", (replace(spec, **changes),))  # type: ignore[arg-type]
    with pytest.raises(PluginError, match=re.escape(words)):
        TypeRegistry().add_office_type(office)
