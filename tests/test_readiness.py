"""`qms check readiness`: what an ISO 9001 audit of an office would find missing, each finding
with its clause and the command that mends it; exit 5 while anything is missing, 0 when nothing.

Everything is real: the workspace (SQLite and PostgreSQL), .docx SOPs taken through their
workflow, the blob store a file is removed from or changed in, the inbox that files a draft,
time-machine for a review, a day of the General Diary, a service's time limit or an item's
return that falls overdue, and the demo workspace itself.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner, Result
from sqlalchemy import update

from qms_engine import i18n
from qms_engine.capa.nonconformities import raise_nc, take_nc_transition
from qms_engine.cli import cli
from qms_engine.clock import local_today, utc_now
from qms_engine.demo import GD_TITLE, OFFICE_CODE, OFFICE_NAME, PEOPLE, build_demo
from qms_engine.demo.registers import FSL_DAYS
from qms_engine.district.sops import adopt_sop
from qms_engine.documents.master_list import document_detail
from qms_engine.documents.revisions import adopt_revision, create_document, revise_document
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import NotFound
from qms_engine.extension.manager import load_plugins
from qms_engine.registers.entries import write_entry
from qms_engine.reports.findings import Finding
from qms_engine.reports.readiness import OfficeReadiness, office_readiness, title_keys
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.services.applications import receive_application
from qms_engine.storage.models import DOCUMENT_TABLE
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TestOffice, staff_member
from tests.collectorate_fixtures import Collectorate, collectorate
from tests.conftest import Desk
from tests.district_fixtures import District, shared_district
from tests.ingest_fixtures import (
    IngestDesk,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
)
from tests.test_cli import PASSPHRASES
from tests.test_custody import _to_court
from tests.test_inbox_authors import drop_draft
from tests.test_registers import MALKHANA_FIELDS, day_book_station

__all__ = ["collectorate", "shared_district"]  # the fixtures, imported for pytest


def required(office: TestOffice) -> tuple[str, ...]:
    """The SOPs the police station office type requires, as its plugin names them."""
    registry = office.runtime.plugins.registry
    return registry.office_type(office.office.office_type).required_sops


def found(report: OfficeReadiness, *kinds: str) -> list[tuple[str, str, str]]:
    """(kind, clause, subject) of each finding, only of ``kinds`` when given, in order."""
    return [(f.kind, f.clause, f.subject) for f in report.findings if not kinds or f.kind in kinds]


def check(workspace: TestOffice | Path, *args: str, lang: str = "en") -> Result:
    """``qms -w WS --lang LANG check readiness ARGS`` in-process, on a terminal wide enough
    that no row or command wraps."""
    root = workspace.root if isinstance(workspace, TestOffice) else workspace
    argv = ["-w", str(root), "--lang", lang, "check", "readiness", *args]
    return CliRunner().invoke(cli, argv, env={**PASSPHRASES, "COLUMNS": "200"})


def run_printed(root: Path, command: str, **placeholders: str) -> Result:
    """A finding's command run as printed (in-process, on the workspace at ``root``), only its
    placeholders (``FILE``, ``TEXT`` …) filled in."""
    program, *words = (placeholders.get(word, word) for word in shlex.split(command))
    assert program == "qms"
    return CliRunner().invoke(cli, ["-w", str(root), *words], env=PASSPHRASES)


def readiness_json(office: TestOffice) -> Any:
    """The --json report of an office that is not ready (exit 5)."""
    result = check(office, "--json")
    assert result.exit_code == 5, result.output
    return json.loads(result.stdout)


def test_fresh_office_lacks_every_required_sop(
    qms_office: TestOffice, make_docx: Callable[..., Path]
) -> None:
    """A new station has written none of its required SOPs: each is a 7.5.1 finding with the
    command that starts it (run as printed, it drafts the SOP), and nothing else is missing;
    `--json` says the same, exit 5."""
    titles = required(qms_office)
    assert titles  # the plugin requires some
    report = office_readiness(qms_office.runtime, qms_office.office)
    assert not report.ready
    assert found(report) == [("sop_missing", "7.5.1", title) for title in titles]
    first = report.findings[0]
    new_sop = f"qms --office PS-TEST1 doc new FILE --type SOP --title {shlex.quote(titles[0])}"
    assert first.command == f"{new_sop} --as anita"  # the first author by user name
    assert first.what == "no SOP with this title has been written"

    document = readiness_json(qms_office)
    assert document["ready"] is False
    (office,) = document["offices"]
    assert (office["office"], office["office_type"], office["ready"]) == (
        "PS-TEST1",
        "police_station",
        False,
    )
    assert [(f["kind"], f["clause"], f["subject"]) for f in office["findings"]] == found(report)
    assert office["findings"][0]["command"] == first.command

    drafted = run_printed(qms_office.root, first.command, FILE=str(make_docx("a.docx", titles[0])))
    assert drafted.exit_code == 0, drafted.output
    report = office_readiness(qms_office.runtime, qms_office.office)
    assert found(report)[0] == ("sop_not_effective", "7.5.2", titles[0])


def test_effective_sops_leave_the_list_and_a_draft_is_not_enough(desk: Desk) -> None:
    """An SOP made effective under a required title (any letter case or spacing, or as one
    side of a bilingual "English / हिन्दी" title) is no longer missing; one only drafted and
    submitted is a 7.5.2 finding naming its number and state."""
    office = desk.office
    first, second, third, fourth = required(office)[:4]
    for title in (f"  {first.upper()} ", f"{second} / हिन्दी शीर्षक"):
        desk.issue(desk.new_sop(title))
    drafted = desk.new_sop(third)
    desk.act(drafted, "submit")

    report = office_readiness(office.runtime, office.office)
    subjects = [subject for _, _, subject in found(report)]
    assert first not in subjects and second not in subjects
    assert found(report)[:2] == [
        ("sop_not_effective", "7.5.2", third),
        ("sop_missing", "7.5.1", fourth),
    ]
    not_effective = report.findings[0]
    assert not_effective.what == f"{drafted} rev 0 is in_review: not yet approved and in force"
    assert not_effective.command == f"qms doc show {drafted}"


def test_titles_match_without_case_space_or_normal_form() -> None:
    """Titles compare in NFC, without letter case, with runs of spaces as one; a bilingual
    title matches by either side."""
    assert title_keys("Cyber  Desk") & title_keys("cyber desk")
    assert title_keys("मालखाना\u0020प्रबंधन") & title_keys("मालखाना प्रबंधन / Malkhana")
    assert title_keys("क\u093c") & title_keys("\u0958")  # NFD and NFC of क़
    assert not title_keys("Cyber desk") & title_keys("Cyber desk procedure")


def test_every_required_sop_is_titled_in_english_and_hindi(qms_office: TestOffice) -> None:
    """The police station, collectorate and SP office plugins title each SOP they require
    "English / हिन्दी", so that an SOP written under either title counts."""
    registry = qms_office.runtime.plugins.registry
    for code in ("police_station", "collectorate", "sp_office"):
        titles = registry.office_type(code).required_sops
        assert titles and all(side(t, "en") and side(t, "hi") for t in titles), code


def test_an_sop_titled_only_in_hindi_counts(desk: Desk) -> None:
    """An SOP titled only in Hindi, in force, satisfies the requirement; the report shows each
    required SOP by its title in the report's language, its command the same in both."""
    office = desk.office
    malkhana = next(t for t in required(office) if t.startswith("Malkhana"))
    desk.issue(desk.new_sop(f"  {side(malkhana, 'hi')} "))
    report = office_readiness(office.runtime, office.office)
    assert malkhana not in [subject for _kind, _clause, subject in found(report)]
    assert len(report.findings) == len(required(office)) - 1

    first = report.findings[0].subject
    english, hindi = (check(office, lang=lang).stdout.splitlines() for lang in ("en", "hi"))
    assert side(first, "en") in english[3] and side(first, "hi") not in english[3]
    assert side(first, "hi") in hindi[3] and side(first, "en") not in hindi[3]
    assert english[4] == hindi[4] == f"  {report.findings[0].command}"


def test_a_district_sop_the_station_adopted_counts(
    desk: Desk, qms_office: TestOffice, shared_district: District
) -> None:
    """A station that adopted its district's SOP in force (`qms district sop adopt`) has that
    SOP: it is not missing.  Once the district revises it, the station's adoption is behind (a
    7.5.2 finding) until it adopts the revision in force, which the printed command does."""
    runtime, sp, admin = shared_district.runtime, shared_district.office, shared_district.admin
    author, approver, coordinator = (
        staff_member(runtime, sp, admin, f"sp{role[:4]}", f"SP {role}", [role])
        for role in ("author", "approver", "quality_coordinator")
    )
    conduct = next(t for t in required(qms_office) if t.startswith("Staff conduct"))

    def issue(revised: str | None = None) -> str:
        path = desk.docx(side(conduct, "hi"))
        if revised is None:
            number = create_document(
                runtime, sp, actor=author, type_code="SOP", title=side(conduct, "hi"), path=path
            ).number
        else:
            number = revised
            revise_document(runtime, actor=author, number=number, path=path, reason="रिवीजन")
        for step, who in (("submit", author), ("approve", approver)):
            take_transition(runtime, number=number, transition=step, actor=who)
        take_transition(runtime, number=number, transition="make_effective", actor=coordinator)
        return number

    def conduct_findings() -> list[Finding]:
        report = office_readiness(runtime, qms_office.office)
        return [f for f in report.findings if f.subject == conduct]

    number = issue()
    assert [f.kind for f in conduct_findings()] == ["sop_missing"]  # not adopted yet
    adopt_sop(
        runtime, qms_office.office, actor=qms_office.signers["quality_coordinator"], number=number
    )
    assert conduct_findings() == []

    issue(number)
    (behind,) = conduct_findings()
    assert (behind.kind, behind.clause) == ("sop_not_effective", "7.5.2")
    assert behind.what == f"{number} rev 0 adopted from the district, which has rev 1 in force"
    who = qms_office.username("approver2")  # the first by name of those who may adopt
    assert behind.command == f"qms --office PS-TEST1 district sop adopt {number} --as {who}"
    adopted = run_printed(qms_office.root, behind.command)
    assert adopted.exit_code == 0, adopted.output
    assert conduct_findings() == []


@pytest.fixture
def overdue(desk: Desk) -> Iterator[str]:
    """A required SOP made effective now, then a trip 400 days on: its review is overdue."""
    number = desk.new_sop(required(desk.office)[0])
    desk.issue(number)
    day = utc_now().date() + timedelta(days=400)
    with time_machine.travel(datetime.combine(day, time(6, 0), tzinfo=UTC), tick=True):
        yield number


def test_overdue_review_is_found_with_the_command_that_confirms_it(
    qms_office: TestOffice, overdue: str
) -> None:
    """A periodic review past its due date is a 7.5.2 finding saying when it was due and how
    late it is, with the signed review that restarts its clock."""
    due = document_detail(qms_office.runtime, overdue).revisions[0].review_due
    assert due is not None
    report = office_readiness(qms_office.runtime, qms_office.office)
    (finding,) = [f for f in report.findings if f.kind == "review_overdue"]
    late = (report.today - due).days
    assert late > 0
    assert (finding.clause, finding.subject) == ("7.5.2", overdue)
    assert finding.what == f"review was due on {due.isoformat()}, {late} days overdue"
    who = qms_office.username("approver2")  # the first by name of those who may confirm it
    command = f"qms doc act {overdue} confirm_review --rev 0 --comment WHY --as {who}"
    assert finding.command == command
    assert required(qms_office)[0] not in [f.subject for f in report.findings]
    confirmed = run_printed(qms_office.root, command)
    assert confirmed.exit_code == 0, confirmed.output
    assert found(office_readiness(qms_office.runtime, qms_office.office), "review_overdue") == []


def test_open_major_nc_is_found_until_it_is_cancelled(qms_office: TestOffice) -> None:
    """An open major nonconformity is a 10.2 finding; a minor one is not, nor a major one
    once it is cancelled (or closed)."""
    runtime, signers = qms_office.runtime, qms_office.signers

    def raise_one(severity: str, title: str) -> str:
        return raise_nc(
            runtime,
            office="PS-TEST1",
            actor=signers["quality_coordinator"],
            title=title,
            description="Found at the internal audit",
            source="internal_audit",
            severity=severity,
            clause="7.5.3",
        ).number

    raise_one("minor", "Dak register late")
    major = raise_one("major", "मालखाना की सील टूटी मिली")
    report = office_readiness(runtime, qms_office.office)
    (finding,) = [f for f in report.findings if f.kind == "major_nc_open"]
    assert (finding.clause, finding.subject) == ("10.2", major)
    assert (
        finding.what
        == f"raised on {report.today.isoformat()}, still raised: मालखाना की सील टूटी मिली"
    )
    assert finding.command == f"qms nc show {major}"

    take_nc_transition(
        runtime, number=major, transition="cancel", actor=signers["approver"], comment="A repeat"
    )
    report = office_readiness(runtime, qms_office.office)
    assert found(report, "major_nc_open") == []


def test_missing_and_changed_files_are_unverified_records(desk: Desk) -> None:
    """A revision whose file is gone from the blob store, or whose bytes no longer hash to its
    SHA-256, is a 7.5.3 finding with the command that puts the file back from a backup."""
    office = desk.office
    gone, changed = desk.new_sop("Beat patrol"), desk.file_record("Dak entry 1", type_code="DAK")
    store = office.runtime.store
    gone_sha = document_detail(office.runtime, gone).revisions[0].sha256
    changed_sha = document_detail(office.runtime, changed).revisions[0].sha256
    store.remove(gone_sha)
    path = store.path(changed_sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"not the signed file")

    report = office_readiness(office.runtime, office.office)
    assert found(report, "file_missing", "file_damaged") == [  # by number
        ("file_damaged", "7.5.3", f"{changed}#0"),
        ("file_missing", "7.5.3", f"{gone}#0"),
    ]
    damaged, missing = report.findings[-2:]
    assert missing.what == f"the file of {gone} rev 0 is gone from the blob store"
    assert damaged.what == f"the file of {changed} rev 0 no longer hashes to its SHA-256"
    where = f"blobs/{gone_sha[:2]}/{gone_sha[2:4]}/{gone_sha}"
    assert missing.command == f"cp -f BACKUP/{where} {store.path(gone_sha)}"

    document = readiness_json(office)
    (listed,) = document["offices"]
    kinds = [f["kind"] for f in listed["findings"]]
    assert kinds[-2:] == ["file_damaged", "file_missing"]


def test_inbox_draft_awaiting_its_author_is_found_until_adopted(
    qms_office: TestOffice, ingest_desk: IngestDesk, make_docx: Callable[..., Path]
) -> None:
    """A draft the inbox filed naming its author, who has not signed for it yet, is a 7.5.2
    finding with the command for that author; once adopted it is gone."""
    drop_draft(ingest_desk, make_docx, "anita/patrol.docx")
    (outcome,) = ingest_desk.run()
    number = outcome.number or ""
    report = office_readiness(qms_office.runtime, qms_office.office)
    (finding,) = [f for f in report.findings if f.kind == "draft_not_adopted"]
    assert (finding.clause, finding.subject) == ("7.5.2", f"{number}#0")
    assert finding.what == (
        f"filed from the inbox on {report.today.isoformat()}; anita has not yet signed for it "
        "as its author"
    )
    assert finding.command == f"qms doc adopt {number} --as anita"

    adopt_revision(qms_office.runtime, number=number, actor=qms_office.signers["author"])
    report = office_readiness(qms_office.runtime, qms_office.office)
    assert found(report, "draft_not_adopted") == []


def test_an_office_with_nothing_missing_is_ready(desk: Desk) -> None:
    """Every required SOP in force, nothing else missing: ready, exit 0, in both languages."""
    for title in required(desk.office):
        desk.issue(desk.new_sop(title))
    report = office_readiness(desk.office.runtime, desk.office.office)
    assert (report.ready, report.findings) == (True, ())

    result = check(desk.office)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"PS-TEST1 (कोतवाली परीक्षण): nothing an ISO 9001 audit would find missing on "
        f"{report.today.isoformat()}.",
        "Ready: nothing an audit would find missing.",
    ]
    hindi = check(desk.office, lang="hi")
    assert hindi.exit_code == 0, hindi.output
    assert hindi.stdout.splitlines()[-1] == "तैयार: ऑडिट में कोई कमी नहीं मिलेगी।"
    as_json = check(desk.office, "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["ready"] is True


def test_office_options(qms_office: TestOffice) -> None:
    """--office names the office (also as `qms --office`); --all-offices lists every office;
    both together, or an unknown office, are refused."""
    for args in (("--json", "--office", "PS-TEST1"), ("--json", "--all-offices")):
        result = check(qms_office, *args)
        assert result.exit_code == 5, result.output
        assert [o["office"] for o in json.loads(result.stdout)["offices"]] == ["PS-TEST1"]
    both = check(qms_office, "--office", "PS-TEST1", "--all-offices")
    assert both.exit_code == 2
    assert "give --office CODE or --all-offices, not both" in both.output
    unknown = check(qms_office, "--office", "PS-NONE")
    assert isinstance(unknown.exception, NotFound), unknown.output


def test_table_in_english_and_hindi(qms_office: TestOffice) -> None:
    """The readable report: a heading naming the office and its day, a row per finding (clause,
    finding, subject, what is missing) with its command under it, and a count; in Hindi every
    heading and line is Hindi, while numbers, codes, titles and commands stay as they are."""
    titles = required(qms_office)
    command = (
        f"qms --office PS-TEST1 doc new FILE --type SOP --title {shlex.quote(titles[0])} --as anita"
    )
    english = check(qms_office)
    assert english.exit_code == 5, english.output
    day = office_readiness(qms_office.runtime, qms_office.office).today.isoformat()
    lines = english.stdout.splitlines()
    assert lines[0] == (
        f"What an ISO 9001 audit of PS-TEST1 (कोतवाली परीक्षण) would find missing on {day}"
    )
    assert lines[1].split() == ["Clause", "Finding", "About", "What", "is", "missing"]
    assert lines[3].split()[:4] == ["7.5.1", "Required", "SOP", "missing"]
    assert lines[3].endswith("no SOP with this title has been written")
    assert lines[4] == f"  {command}"
    assert lines[-1] == f"{len(titles)} things an audit would find missing."

    hindi = check(qms_office, lang="hi")
    assert hindi.exit_code == 5, hindi.output
    lines = hindi.stdout.splitlines()
    assert lines[0] == f"{day} को PS-TEST1 (कोतवाली परीक्षण) के ISO 9001 ऑडिट में क्या कमी मिलेगी"
    assert lines[1].split() == ["खंड", "निष्कर्ष", "विषय", "क्या", "कमी", "है"]
    assert lines[3].startswith("7.5.1  आवश्यक एसओपी नहीं है  ")
    assert lines[3].endswith("इस शीर्षक की कोई एसओपी नहीं लिखी गई है")
    assert lines[4] == f"  {command}"
    assert lines[-1] == f"ऑडिट में {len(titles)} कमियाँ मिलेंगी।"


def test_demo_workspace_report_in_english_and_hindi(
    tmp_path: Path, qms_database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo station (`qms demo`) has its General Diary and malkhana SOPs in force under
    required titles (the malkhana one titled Hindi first), its complaint-redress SOP waiting in
    review, and a front-desk SOP no station requires.  So the report is: every other required
    SOP missing, the complaint SOP not yet in force, and nothing else — its SOPs were written by
    people, their reviews fall due a year on, its one nonconformity (minor) is closed, every file
    is in place, its GD day is closed and its registers have no gap, its register entries were
    written today (not yet late to verify: only days on are they findings), and the case
    property at the FSL is due back in FSL_DAYS days (a finding only the day after).  Both
    languages say exactly that, with the same commands."""
    monkeypatch.setenv("QMS_GD_DAY_BOOK", "on")  # as `qms demo` makes it (conftest: off)
    demo = build_demo(tmp_path / "demo", lambda line: None, database_url=qms_database_url)
    runtime = Runtime.open(Workspace.load(demo.root), load_plugins())
    try:
        office = runtime.office()
        titles = runtime.plugins.registry.office_type(office.office_type).required_sops
        sops = {n: document_detail(runtime, n).summary for n in (demo.gd_sop, demo.malkhana_sop)}
        waiting = document_detail(runtime, demo.waiting_sop).summary
        later = utc_now() + timedelta(days=FSL_DAYS + 1)
        today = found(office_readiness(runtime, office), "record_not_verified")
        with time_machine.travel(later, tick=True):
            days_on = office_readiness(runtime, office)
    finally:
        runtime.close()
    assert sops[demo.gd_sop].title == GD_TITLE
    assert all(summary.effective_revno is not None for summary in sops.values())
    assert found(days_on, "custody_overdue") == [("custody_overdue", "8.5.3", demo.books.malkhana)]
    assert today == []  # its register entries were written today: none late yet
    books = {f.subject for f in days_on.findings if f.kind == "record_not_verified"}
    assert {"GD", "MALKHANA"} <= books  # days on, nobody has verified them

    def follows(required: str, title: str) -> bool:
        return bool(sides(required) & sides(title))

    in_force = [t for t in titles if any(follows(t, sop.title) for sop in sops.values())]
    reviewed = [t for t in titles if follows(t, waiting.title)]
    assert len(in_force) == 2 and len(reviewed) == 1  # each demo SOP under a required title
    author = min(name for name, _full, granted in PEOPLE if roles.AUTHOR in granted)
    new_sop = f"qms --office {OFFICE_CODE} doc new FILE --type SOP"
    not_yet = "{number} rev {revno} is {state}: not yet approved and in force"
    missing = "no SOP with this title has been written"

    def expected(say: Callable[[str], str]) -> list[dict[str, str]]:
        """Each finding as --json gives it, its "what" as ``say`` words it."""
        return [
            {
                "kind": "sop_not_effective",
                "clause": "7.5.2",
                "subject": title,
                "what": say(not_yet).format(
                    number=waiting.number, revno=waiting.latest_revno, state=waiting.latest_state
                ),
                "command": f"qms doc show {waiting.number}",
            }
            if title in reviewed
            else {
                "kind": "sop_missing",
                "clause": "7.5.1",
                "subject": title,
                "what": say(missing),
                "command": f"{new_sop} --title {shlex.quote(title)} --as {author}",
            }
            for title in titles
            if title not in in_force
        ]

    def hindi(message: str) -> str:
        with i18n.use_language("hi"):
            translated = i18n._(message)
        assert translated != message, f"no Hindi for {message!r}"
        return translated

    def report(lang: str, *args: str) -> Result:
        result = check(demo.root, *args, lang=lang)
        assert result.exit_code == 5, result.output
        return result

    (english,) = json.loads(report("en", "--json").stdout)["offices"]
    assert (english["office"], english["ready"], english["findings"]) == (
        OFFICE_CODE,
        False,
        expected(str),
    )
    (in_hindi,) = json.loads(report("hi", "--json").stdout)["offices"]
    assert in_hindi["findings"] == expected(hindi)
    count = len(titles) - len(in_force)
    table = report("en").stdout.splitlines()
    first = expected(str)[0]
    assert table[3].startswith(f"{first['clause']}   Required SOP missing  ")
    assert side(first["subject"], "en") in table[3]
    assert side(first["subject"], "hi") not in table[3]
    assert table[4] == f"  {first['command']}"
    assert table[-1] == f"{count} things an audit would find missing."
    table = report("hi").stdout.splitlines()
    assert table[0].endswith(f"को {OFFICE_CODE} ({OFFICE_NAME}) के ISO 9001 ऑडिट में क्या कमी मिलेगी")
    assert side(first["subject"], "hi") in table[3]
    assert side(first["subject"], "en") not in table[3]
    assert table[4] == f"  {first['command']}"
    assert table[-1] == f"ऑडिट में {count} कमियाँ मिलेंगी।"


def side(title: str, lang: str) -> str:
    """The Hindi (``hi``) or English side of a bilingual "English / हिन्दी" title."""
    (hindi,) = [part for part in title.split(" / ") if re.search("[\u0900-\u097f]", part)]
    (english,) = [part for part in title.split(" / ") if part != hindi]
    return hindi if lang == "hi" else english


def sides(title: str) -> set[str]:
    """Each side of a bilingual title, as a reader compares them (letter case aside)."""
    return {part.strip().casefold() for part in title.split(" / ")}


@pytest.fixture
def day_book_office(
    qms_office: TestOffice, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestOffice]:
    """PS-GD1, a second station of the workspace whose General Diary is a day book (opened and
    closed each day, as `qms init` makes one by default), with its clerk."""
    for station in day_book_station(qms_office, monkeypatch):
        yield TestOffice(station.runtime, station.office, station.signers, station.root)


def test_register_gaps_are_found_with_what_mends_them(
    day_book_office: TestOffice, make_docx: Callable[..., Path]
) -> None:
    """A past General Diary day left open is a 7.5.3 finding with the closing entry to write
    (late, and saying so); a serial missing from a register, which only an edit behind the
    engine's back makes, points to the audit verification."""
    office, desk = day_book_office, Desk(day_book_office, make_docx)
    runtime = office.runtime
    opened = write_entry(
        runtime,
        office.office,
        actor=office.signers["clerk"],
        type_code="GD",
        text="रोज़नामचा खोला गया; हवालात में कोई नहीं",
        fields={"custody": "none"},
        kind="opening",
    )
    assert opened.day is not None
    assert found(office_readiness(runtime, office.office), "register_gap") == []  # today's
    desk.file_record("Dak 1", type_code="DAK")
    second = desk.file_record("Dak 2", type_code="DAK")
    with runtime.engine.begin() as connection:
        connection.execute(
            update(DOCUMENT_TABLE).where(DOCUMENT_TABLE.c.number == second).values(serial=3)
        )
    with time_machine.travel(utc_now() + timedelta(days=2), tick=True):
        report = office_readiness(runtime, office.office)
        every = check(office, "--all-offices", "--json")
    assert every.exit_code == 5, every.output
    offices = {o["office"]: o["findings"] for o in json.loads(every.stdout)["offices"]}
    assert sorted(offices) == ["PS-GD1", "PS-TEST1"]
    assert [f["subject"] for f in offices["PS-GD1"] if f["kind"] == "register_gap"] == ["DAK", "GD"]
    serial, day = [f for f in report.findings if f.kind == "register_gap"]
    assert (serial.clause, serial.subject, day.clause, day.subject) == (
        "7.5.3",
        "DAK",
        "7.5.3",
        "GD",
    )
    assert serial.what == f"serial 2 of {opened.day[:4]} is missing"
    assert serial.command == "qms --office PS-GD1 audit verify"
    assert day.what == f"the GD of {opened.day} was not closed"
    assert day.command == (
        "qms --office PS-GD1 register write GD --closing --field cash_balance=VALUE --text TEXT "
        f"--as {office.username('clerk')}"
    )
    with time_machine.travel(utc_now() + timedelta(days=2), tick=True):
        closed = run_printed(office.root, day.command, VALUE="₹ 0", TEXT="रोज़नामचा बंद (देर से)")
        assert closed.exit_code == 0, closed.output
        report = office_readiness(runtime, office.office)
    assert found(report, "register_gap") == [("register_gap", "7.5.3", "DAK")]


def test_records_filed_more_than_a_day_ago_and_not_verified_are_found(desk: Desk) -> None:
    """Register records waiting in the record-filing workflow's "filed" are a 7.5.3 finding
    per register once filed more than a day ago (before yesterday, the office's days): none on
    the day they are written, nor the next; three days on, one per register with the count and
    the oldest, and the command `qms tasks` prints to verify it, which runs as printed (as
    someone other than who filed it) and leaves the others found.  Hindi words it too."""
    office = desk.office
    gd = [desk.file_record(f"जीडी प्रविष्टि {n}") for n in (1, 2)]
    dak = desk.file_record("डाक: पुलिस अधीक्षक का पत्र", type_code="DAK")
    filed = local_today(office.office.timezone)
    assert found(office_readiness(office.runtime, office.office), "record_not_verified") == []
    with time_machine.travel(utc_now() + timedelta(days=1), tick=True):
        report = office_readiness(office.runtime, office.office)
    assert found(report, "record_not_verified") == []  # filed yesterday: not yet late
    later = utc_now() + timedelta(days=3)
    with time_machine.travel(later, tick=True):
        report = office_readiness(office.runtime, office.office)
        tasks = json.loads(
            CliRunner()
            .invoke(cli, ["-w", str(office.root), "tasks", "--as", "priya", "--json"])
            .stdout
        )
        hindi = check(office, "--json", lang="hi")
    assert found(report, "record_not_verified") == [
        ("record_not_verified", "7.5.3", "DAK"),
        ("record_not_verified", "7.5.3", "GD"),
    ]
    late = {f.subject: f for f in report.findings if f.kind == "record_not_verified"}
    before = (report.today - timedelta(days=1)).isoformat()
    assert late["GD"].what == (
        f"2 records filed more than a day ago (before {before}) are not yet verified; "
        f"the oldest is {gd[0]}, filed on {filed}"
    )
    assert late["DAK"].what == (
        f"1 record filed more than a day ago (before {before}) is not yet verified: "
        f"{dak}, filed on {filed}"
    )
    assert late["GD"].command == f"qms doc act {gd[0]} verify --rev 0 --as priya"
    printed = {action["command"] for task in tasks["tasks"] for action in task["actions"]}
    assert {late["GD"].command, late["DAK"].command} <= printed
    (in_hindi,) = json.loads(hindi.stdout)["offices"]
    said = {
        f["subject"]: f["what"] for f in in_hindi["findings"] if f["kind"] == "record_not_verified"
    }
    assert gd[0] in said["GD"] and "more than a day" not in said["GD"], said
    with time_machine.travel(later, tick=True):
        verified = run_printed(office.root, late["GD"].command)
        assert verified.exit_code == 0, verified.output
        report = office_readiness(office.runtime, office.office)
    late = {f.subject: f for f in report.findings if f.kind == "record_not_verified"}
    assert late["GD"].what.startswith(f"1 record filed more than a day ago (before {before})")
    assert gd[1] in late["GD"].what and "DAK" in late


def test_case_property_out_past_its_return_is_found(desk: Desk) -> None:
    """A malkhana item sent to court, due back in 14 days, is a finding (8.5.3: property in
    the station's care) once that day has passed, with the command that says where it is."""
    office = desk.office
    item = desk.file_record("जब्त मोटरसाइकिल", type_code="MALKHANA", fields=MALKHANA_FIELDS)
    _to_court(office, item, days=14)
    due = local_today(office.office.timezone) + timedelta(days=14)
    assert found(office_readiness(office.runtime, office.office), "custody_overdue") == []
    with time_machine.travel(utc_now() + timedelta(days=16), tick=True):
        report = office_readiness(office.runtime, office.office)
    (finding,) = [f for f in report.findings if f.kind == "custody_overdue"]
    assert (finding.clause, finding.subject) == ("8.5.3", item)
    assert finding.what.startswith("at ")
    assert finding.what.endswith(f"with न्यायालय मोहर्रिर रामकिशन, expected back on {due}")
    assert finding.command == f"qms custody where {item}"


def test_a_service_past_its_charter_time_limit_is_found(collectorate: Collectorate) -> None:
    """A collectorate's income certificate application (15 days by its citizen charter) not
    disposed of sixteen days on is a finding (8.2.2) with the command that disposes of it."""
    number = receive_application(
        collectorate.runtime,
        office=collectorate.office,
        actor=collectorate.signers["clerk"],
        service="INCOME_CERT",
        applicant="श्रीमती कमला देवी",
    ).number
    assert (
        found(office_readiness(collectorate.runtime, collectorate.office), "service_overdue") == []
    )
    with time_machine.travel(utc_now() + timedelta(days=16), tick=True):
        report = office_readiness(collectorate.runtime, collectorate.office)
    (finding,) = [f for f in report.findings if f.kind == "service_overdue"]
    due = report.today - timedelta(days=1)
    assert (finding.clause, finding.subject) == ("8.2.2", number)
    assert finding.what == f"INCOME_CERT at desk revenue: due on {due}, not disposed of"
    first = collectorate.signers["approver"].username  # of the clerks and approvers, by name
    assert finding.command == f"qms service dispose {number} DECISION --as {first}"
    with time_machine.travel(utc_now() + timedelta(days=16), tick=True):
        disposed = run_printed(collectorate.root, finding.command, DECISION="granted")
        assert disposed.exit_code == 0, disposed.output
        report = office_readiness(collectorate.runtime, collectorate.office)
    assert found(report, "service_overdue") == []
