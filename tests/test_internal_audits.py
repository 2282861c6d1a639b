"""Internal audits (ISO 9001 9.2): a quality coordinator plans who audits what, nobody audits
their own work, each item gets one finding from its own auditor, and a nonconformity finding
raises its NC in the same signed step — through the engine and `qms internal-audit`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from qms_engine.audit.verify import verify_office
from qms_engine.capa.internal_audits import (
    AuditItem,
    AuditRef,
    FindingRef,
    load_audit,
    plan_audit,
    record_finding,
)
from qms_engine.capa.records import load_nc
from qms_engine.chain import events
from qms_engine.cli import cli
from qms_engine.clock import DEFAULT_TIMEZONE, local_today, utc_now, zone
from qms_engine.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from qms_engine.people.users import deactivate_user, grant_roles
from qms_engine.rules.roles import AUDITOR
from qms_engine.storage.models import AUDIT_ITEM_TABLE, AUDIT_TABLE, EVENT_TABLE, NC_TABLE
from qms_engine.testing import TestOffice, staff_member
from tests.test_cli import PASSPHRASES, run

if TYPE_CHECKING:
    from tests.conftest import Desk

AUDIT_DAY = local_today(DEFAULT_TIMEZONE)
"""The audits are held today (the test office's calendar): findings are recorded from the
audit's day on."""
HINDI_TITLE = "दस्तावेज़ नियंत्रण का आंतरिक ऑडिट"
HINDI_NOTE = "मालखाना रजिस्टर में सील संख्या दर्ज नहीं की गई"


@pytest.fixture
def team(qms_office: TestOffice) -> TestOffice:
    """The test office with a second auditor (kavita) and with anita (an author) and sks (an
    approver) holding the auditor role too: people who could be tempted to audit their own
    work."""
    runtime, office, admin = qms_office.runtime, qms_office.office, qms_office.signers["admin"]
    signers = dict(qms_office.signers)
    signers["auditor2"] = staff_member(runtime, office, admin, "kavita", "SI Kavita Rao", [AUDITOR])
    for name in ("anita", "sks"):
        grant_roles(runtime, office, actor=admin, username=name, roles=[AUDITOR])
    return replace(qms_office, signers=signers)


def plan(
    office: TestOffice,
    *items: AuditItem,
    title: str = "Document control audit",
    auditors: tuple[str, ...] = ("audit", "kavita"),
    who: str = "quality_coordinator",
) -> AuditRef:
    """Plan an audit of clause 7.5 (by default: item 7.5.3 audited by `audit`, priya's area)."""
    return plan_audit(
        office.runtime,
        office=office.office,
        actor=office.signers[who],
        title=title,
        scope="Clause 7.5 at the station: SOPs and registers",
        date=AUDIT_DAY,
        auditors=auditors,
        items=items or (AuditItem("7.5.3", "audit", "priya"),),
    )


def written(office: TestOffice) -> tuple[int, int, int, int]:
    """Events, audits, items and NCs stored: equal before and after a refusal."""
    with office.runtime.engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (EVENT_TABLE, AUDIT_TABLE, AUDIT_ITEM_TABLE, NC_TABLE)
        )


def last_events(office: TestOffice, count: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The office's last ``count`` events, oldest first: action, subject and payload."""
    with office.runtime.engine.connect() as connection:
        rows = connection.execute(
            select(EVENT_TABLE.c.action, EVENT_TABLE.c.subject, EVENT_TABLE.c.payload)
            .where(EVENT_TABLE.c.office_id == office.office.id)
            .order_by(EVENT_TABLE.c.seq.desc())
            .limit(count)
        ).all()
    return [(action, subject, json.loads(payload)) for action, subject, payload in rows[::-1]]


def this_year(office: TestOffice) -> int:
    """The office's calendar year now: audits and NCs are numbered by it."""
    return utc_now().astimezone(zone(office.office.timezone)).year


def issued_sop(desk: Desk) -> str:
    """An SOP written by anita, approved by sks, made effective by priya."""
    number = desk.new_sop("General Diary upkeep")
    desk.issue(number)
    return number


def verified(office: TestOffice) -> bool:
    """Whether `qms audit verify` passes the office's chain and tables."""
    result = verify_office(office.runtime, office.office)
    assert result.ok, result.problems
    return result.ok


# --- planning --------------------------------------------------------------------------------


def test_a_quality_coordinator_plans_an_audit_numbered_per_office_and_year(
    team: TestOffice, desk: Desk
) -> None:
    """The plan is one signed event with its items, numbered OFFICE/IA/YEAR/NN; the next
    audit of the year gets the next serial."""
    sop = issued_sop(desk)
    first = plan(team, AuditItem("7.5.3", "audit", "priya"), AuditItem(sop, "kavita"))
    second = plan(team)
    year = this_year(team)
    assert (first.number, first.items) == (f"PS-TEST1/IA/{year}/01", 2)
    assert second.number == f"PS-TEST1/IA/{year}/02"
    [(action, subject, payload)] = last_events(team, 2)[:1]
    assert (action, subject) == (events.AUDIT_PLANNED.action, first.number)
    assert payload == {
        "title": "Document control audit",
        "scope": "Clause 7.5 at the station: SOPs and registers",
        "date": AUDIT_DAY.isoformat(),
        "auditors": ["audit", "kavita"],
        "items": [
            {"ref": "7.5.3", "auditor": "audit", "area_owner": "priya"},
            {"ref": sop, "auditor": "kavita", "area_owner": ""},
        ],
    }
    with team.runtime.engine.connect() as connection:
        audit = load_audit(connection, first.number)
    assert (audit.planned_by, audit.date, audit.auditors) == (
        "priya",
        AUDIT_DAY,
        ["audit", "kavita"],
    )
    assert [(i.n, i.ref, i.auditor, i.area_owner, i.result) for i in audit.items] == [
        (1, "7.5.3", "audit", "priya", None),
        (2, sop, "kavita", "", None),
    ]
    assert audit.open_items == [1, 2]
    assert verified(team)


def test_only_a_quality_coordinator_plans_an_audit(team: TestOffice) -> None:
    """An auditor cannot plan their own audit: refused, nothing written."""
    before = written(team)
    with pytest.raises(PermissionDenied, match="needs role quality_coordinator"):
        plan(team, who="auditor")
    assert written(team) == before


def test_every_auditor_is_an_enrolled_auditor_of_the_office(team: TestOffice) -> None:
    """A reviewer without the auditor role, an unknown user, an item's auditor who is not among
    the audit's auditors, an unknown area owner, a deactivated auditor: each refused, naming
    them and what to do."""
    before = written(team)
    with pytest.raises(RuleViolation, match="'rakesh' does not hold the auditor role") as refused:
        plan(team, auditors=("audit", "rakesh"))
    assert refused.value.hint and "user grant rakesh auditor" in refused.value.hint
    with pytest.raises(NotFound, match="no user 'nobody'"):
        plan(team, auditors=("nobody",))
    with pytest.raises(
        InvalidInput, match=re.escape("item 1 (7.5.3): its auditor 'kavita' is not one")
    ):
        plan(team, AuditItem("7.5.3", "kavita"), auditors=("audit",))
    with pytest.raises(NotFound, match="item 1: area owner: no user 'ghost'"):
        plan(team, AuditItem("7.5.3", "audit", "ghost"))
    assert written(team) == before
    deactivate_user(
        team.runtime, team.office, actor=team.signers["admin"], username="kavita", reason="Posted"
    )
    with pytest.raises(RuleViolation, match="auditor 'kavita' is deactivated"):
        plan(team)


def test_an_auditor_may_not_audit_their_own_area(team: TestOffice) -> None:
    """An item's auditor who owns its area is refused: they would audit their own work."""
    before = written(team)
    with pytest.raises(RuleViolation, match="'audit' owns that area and may not audit it"):
        plan(team, AuditItem("8.5.1", "kavita", "priya"), AuditItem("7.5.3", "audit", "audit"))
    assert written(team) == before


def test_an_auditor_may_not_audit_an_sop_they_wrote_or_approved(
    team: TestOffice, desk: Desk
) -> None:
    """anita wrote the SOP and sks approved its revision in force: neither may audit it (its
    number in any letter case); kavita, who did neither, may."""
    sop = issued_sop(desk)
    before = written(team)
    with pytest.raises(RuleViolation, match=f"'anita' wrote {sop}#0 and may not audit it"):
        plan(team, AuditItem(sop.lower(), "anita"), auditors=("anita",))
    with pytest.raises(
        RuleViolation, match=f"'sks' took 'approve' on {sop}#0, the revision in force"
    ):
        plan(team, AuditItem(sop, "sks"), auditors=("sks", "kavita"))
    with pytest.raises(NotFound, match="no document numbered 'PS-TEST1/SOP/099'"):
        plan(team, AuditItem("PS-TEST1/SOP/099", "kavita"))
    assert written(team) == before
    planned = plan(team, AuditItem(sop.lower(), "kavita", "anita"))
    with team.runtime.engine.connect() as connection:
        assert load_audit(connection, planned.number).items[0].ref == sop


# --- findings --------------------------------------------------------------------------------


def find(
    office: TestOffice,
    audit: AuditRef,
    item: int,
    result: str = "conforms",
    note: str = "",
    *,
    who: str = "auditor",
    severity: str = "minor",
) -> FindingRef:
    """Record the finding of ``item`` of ``audit`` as the signer ``who`` (by default `audit`)."""
    return record_finding(
        office.runtime,
        audit=audit.number,
        item=item,
        actor=office.signers[who],
        result=result,
        note=note,
        severity=severity,
    )


def test_a_nonconformity_finding_raises_its_nc_in_the_next_event(
    team: TestOffice, desk: Desk
) -> None:
    """The finding's event names the NC; nc.raised follows it at once, from the internal
    audit, about the item's SOP, the note as its description; the chain verifies."""
    sop = issued_sop(desk)
    audit = plan(team, AuditItem(sop, "kavita", "anita"), AuditItem("7.5.3", "audit"))
    note = "Revision 0 lacks the time of the cash balance"
    found = find(team, audit, 1, "nonconformity", note, who="auditor2", severity="major")
    nc = f"PS-TEST1/NC/{this_year(team)}/001"
    assert (found.subject, found.result, found.nc) == (f"{audit.number}#1", "nonconformity", nc)
    (finding, finding_subject, finding_payload), (raised, nc_subject, nc_payload) = last_events(
        team, 2
    )
    assert (finding, finding_subject) == (events.FINDING_RECORDED.action, f"{audit.number}#1")
    assert finding_payload == {"result": "nonconformity", "note": note, "nc": nc}
    assert (raised, nc_subject) == (events.NC_RAISED.action, nc)
    assert {k: nc_payload[k] for k in ("source", "severity", "clause", "documents", "finding")} == {
        "source": "internal_audit",
        "severity": "major",
        "clause": "",
        "documents": [sop],
        "finding": f"{audit.number}#1",
    }
    assert nc_payload["description"] == note
    with team.runtime.engine.connect() as connection:
        stored = load_nc(connection, nc)
        item = load_audit(connection, audit.number).items[0]
    assert (stored.finding, stored.raised_by, stored.state) == (found.subject, "kavita", "raised")
    assert (item.result, item.nc, item.recorded_seq) == ("nonconformity", nc, found.event_seq)
    assert verified(team)


def test_a_finding_names_the_clause_or_the_register_record_audited(
    team: TestOffice, desk: Desk
) -> None:
    """A nonconformity against an ISO clause names the clause; against a register record, the
    record; by default the NC is titled after the audit item."""
    record = desk.file_record("GD entry 14")
    audit = plan(team, AuditItem("7.5.3", "audit"), AuditItem(record, "kavita", "ramesh"))
    by_clause = find(team, audit, 1, "nonconformity", "Obsolete SOPs on the notice board")
    by_record = find(team, audit, 2, "nonconformity", "Entry not signed", who="auditor2")
    with team.runtime.engine.connect() as connection:
        clause_nc, record_nc = load_nc(connection, by_clause.nc), load_nc(connection, by_record.nc)
    assert (clause_nc.clause, clause_nc.documents, clause_nc.severity) == ("7.5.3", (), "minor")
    assert clause_nc.title == f"Internal audit {audit.number}, item 1: 7.5.3"
    assert (record_nc.clause, record_nc.records) == ("", (record,))
    assert verified(team)


def test_an_observation_is_recorded_with_its_note_and_raises_nothing(team: TestOffice) -> None:
    """An observation keeps its note and raises no NC; it needs a note, a conformity does not."""
    audit = plan(team, AuditItem("7.5.3", "audit"), AuditItem("7.5.2", "audit"))
    with pytest.raises(InvalidInput, match="a finding of observation needs a note"):
        find(team, audit, 1, "observation", "  ")
    note = "Review dates are kept by hand as well"
    assert find(team, audit, 1, "observation", note).nc == ""
    find(team, audit, 2, "conforms")
    [(action, _, payload)] = last_events(team, 2)[:1]
    assert (action, payload) == (
        events.FINDING_RECORDED.action,
        {"result": "observation", "note": note, "nc": ""},
    )
    with team.runtime.engine.connect() as connection:
        items = load_audit(connection, audit.number).items
        ncs = connection.execute(select(func.count()).select_from(NC_TABLE)).scalar_one()
    assert [(i.result, i.note, i.nc) for i in items] == [
        ("observation", note, None),
        ("conforms", "", None),
    ]
    assert ncs == 0
    assert verified(team)


def test_only_the_items_auditor_records_its_finding_and_only_once(team: TestOffice) -> None:
    """kavita cannot record the finding of audit's item, nor the quality coordinator; audit
    records it once; a second finding, or one of an item the audit lacks, is refused."""
    audit = plan(team)
    before = written(team)
    with pytest.raises(PermissionDenied, match="audited by 'audit': only they record its finding"):
        find(team, audit, 1, who="auditor2")
    with pytest.raises(PermissionDenied, match="needs role auditor"):
        find(team, audit, 1, who="quality_coordinator")
    assert written(team) == before
    find(team, audit, 1, "nonconformity", "No master list on file")
    after = written(team)
    with pytest.raises(RuleViolation, match=re.escape("already has its finding (nonconformity")):
        find(team, audit, 1)
    with pytest.raises(NotFound, match=re.escape(f"{audit.number} has no item 2 (items 1–1)")):
        find(team, audit, 2)
    assert written(team) == after


# --- the command line ------------------------------------------------------------------------


def qms(office: TestOffice, *args: str) -> str:
    """``qms -w WORKSPACE ARGS`` in-process, insisting on exit code 0; its standard output."""
    result = CliRunner().invoke(cli, ["-w", str(office.root), *args], env=PASSPHRASES)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_cli_plans_records_and_shows_an_audit_in_hindi(team: TestOffice, desk: Desk) -> None:
    """plan, finding, show and list through `qms internal-audit`, Hindi kept as typed (and
    readable under --json), times in the office's zone."""
    sop = issued_sop(desk)
    planned = json.loads(
        qms(
            team,
            "internal-audit",
            "plan",
            f"--title={HINDI_TITLE}",
            "--scope=थाना कोतवाली: मालखाना और जीडी",
            f"--date={AUDIT_DAY.isoformat()}",
            "--auditor=audit",
            "--auditor=kavita",
            "--item=7.5.3=audit:priya",
            f"--item={sop}=kavita:anita",
            "--as=priya",
            "--json",
        )
    )
    number = planned["number"]
    assert (planned["items"], planned["office"]) == (2, "PS-TEST1")
    said = qms(
        team,
        "internal-audit",
        "finding",
        number,
        "2",
        "--result=nonconformity",
        f"--note={HINDI_NOTE}",
        "--severity=major",
        "--nc-title=सील संख्या छूटी",
        "--as=kavita",
    )
    nc = f"PS-TEST1/NC/{this_year(team)}/001"
    assert f"{number}#2: nonconformity; raised {nc}" in said
    shown = json.loads(qms(team, "internal-audit", "show", number, "--json"))
    assert (shown["title"], shown["date"], shown["auditors"]) == (
        HINDI_TITLE,
        AUDIT_DAY.isoformat(),
        ["audit", "kavita"],
    )
    assert [(i["ref"], i["result"], i["note"], i["nc"]) for i in shown["items"]] == [
        ("7.5.3", None, None, None),
        (sop, "nonconformity", HINDI_NOTE, nc),
    ]
    assert shown["items"][1]["recorded_at"].endswith("+00:00")  # UTC under --json
    with team.runtime.engine.connect() as connection:
        assert load_nc(connection, nc).title == "सील संख्या छूटी"
    table = qms(team, "internal-audit", "show", number)
    assert HINDI_TITLE in table and HINDI_NOTE in table and "(to record)" in table
    assert "IST" in table and "Times in Asia/Kolkata" in table
    [listed] = json.loads(qms(team, "internal-audit", "list", "--json"))
    assert (listed["number"], listed["title"]) == (number, HINDI_TITLE)
    assert nc in qms(team, "internal-audit", "list") and "1 of 2" in qms(
        team, "internal-audit", "list"
    )
    assert verified(team)


def test_an_office_without_audits_says_so(qms_office: TestOffice) -> None:
    """`list` with no audits prints a sentence, and `--json` an empty list."""
    assert "No internal audits in PS-TEST1 yet." in qms(qms_office, "internal-audit", "list")
    assert json.loads(qms(qms_office, "internal-audit", "list", "--json")) == []


def test_the_cli_refusals_exit_with_their_codes(
    team: TestOffice, make_docx: Callable[..., Any]
) -> None:
    """A malformed --item exits 2; an auditor of their own area 5; the wrong auditor's finding
    4; a second finding 5; an unknown audit 3 — each naming what to do."""
    root = str(team.root)
    plan_args = ["-w", root, "internal-audit", "plan", "--title=Audit", "--scope=7.5"]
    plan_args += [f"--date={AUDIT_DAY.isoformat()}", "--auditor=audit", "--as=priya"]
    malformed = run(*plan_args, "--item=7.5.3")
    assert malformed.returncode == 2, malformed.stderr
    assert "REF=AUDITOR[:AREA_OWNER]" in malformed.stderr
    own = run(*plan_args, "--item=7.5.3=audit:audit")
    assert own.returncode == 5, own.stderr
    assert "does not audit their own work" in own.stderr
    number = plan(team).number
    finding = ["-w", root, "internal-audit", "finding", number, "1", "--result=conforms"]
    wrong = run(*finding, "--as=kavita")
    assert wrong.returncode == 4, wrong.stderr
    assert "Hint: ask audit" in wrong.stderr
    assert run(*finding, "--as=audit").returncode == 0
    twice = run(*finding, "--as=audit", "--json")
    assert twice.returncode == 5, twice.stderr
    assert "one finding per item" in json.loads(twice.stderr)["error"]
    missing = run("-w", root, "internal-audit", "show", "PS-TEST1/IA/1999/01")
    assert missing.returncode == 3, missing.stderr


# --- tasks -----------------------------------------------------------------------------------


def test_each_auditor_sees_the_findings_they_have_to_record(team: TestOffice) -> None:
    """`qms tasks` offers each open checklist item to its own auditor only, with the command
    that records the finding, overdue once the audit's day is past; a recorded finding is no
    longer a task."""
    from qms_engine.tasks import tasks_for

    audit = plan(team, AuditItem("7.5.3", "audit", "priya"), AuditItem("8.5.1", "kavita"))

    def findings(username: str, today: date = AUDIT_DAY) -> dict[str, bool]:
        listed = tasks_for(team.runtime, team.office, username, today=today).tasks
        return {t.subject: t.overdue for t in listed if t.kind == "audit_finding"}

    assert findings("audit") == {f"{audit.number}#1": False}
    next_day = AUDIT_DAY + timedelta(days=1)
    assert findings("kavita", today=next_day) == {f"{audit.number}#2": True}
    assert findings("priya") == {}  # the area's owner (a quality coordinator) is no auditor
    (task,) = [
        t for t in tasks_for(team.runtime, team.office, "audit").tasks if t.kind == "audit_finding"
    ]
    assert task.actions[0].command.startswith(f"qms internal-audit finding {audit.number} 1 ")
    record_finding(
        team.runtime,
        audit=audit.number,
        item=1,
        actor=team.signers["auditor"],
        result="conforms",
        note="",
    )
    assert findings("audit") == {}


# --- what an item names, independence at the finding, the area audited ----------------------


def test_an_item_names_an_iso_clause_or_a_document_of_the_office(
    team: TestOffice, desk: Desk
) -> None:
    """A ref that is neither a clause (7.5.3, 8.5.1 a) nor a number of the office's documents
    (any letter case; stored as the real number) is refused, saying what to type: a short
    SOP number could otherwise hide an SOP its own author audits."""
    sop = issued_sop(desk)
    before = written(team)
    for ref in ("SOP/001", "PS-CIV1/SOP/001", "the malkhana register", "7.5.3.", "7.5.3 ab"):
        with pytest.raises(InvalidInput, match="is neither an ISO clause") as refused:
            plan(team, AuditItem(ref, "kavita"))
        assert refused.value.hint and '"PS-TEST1/SOP/001=kavita"' in refused.value.hint
    assert written(team) == before
    planned = plan(team, AuditItem("8.5.1 a", "audit"), AuditItem(sop.lower(), "kavita"))
    with team.runtime.engine.connect() as connection:
        items = load_audit(connection, planned.number).items
    assert [item.ref for item in items] == ["8.5.1 a", sop]
    assert verified(team)


def test_an_area_owner_is_a_person(team: TestOffice) -> None:
    """The inbox's service account owns no area."""
    staff_member(
        team.runtime,
        team.office,
        team.signers["admin"],
        "ingest",
        "Inbox service",
        ["clerk"],
        kind="service",
    )
    before = written(team)
    with pytest.raises(RuleViolation, match="item 1: 'ingest' is a service account"):
        plan(team, AuditItem("7.5.3", "audit", "ingest"))
    assert written(team) == before


def test_independence_is_checked_again_when_the_finding_is_recorded(
    team: TestOffice, desk: Desk
) -> None:
    """An auditor who, after the audit was planned, wrote a revision of the SOP audited, or
    approved the revision now in force, may no longer record its finding: refused, saying
    why, nothing written."""
    issued = issued_sop(desk)
    draft = desk.new_sop("Malkhana register upkeep")
    audit = plan(
        team, AuditItem(issued, "audit"), AuditItem(draft, "sks"), auditors=("audit", "sks")
    )
    grant_roles(
        team.runtime, team.office, actor=team.signers["admin"], username="audit", roles=["author"]
    )
    revno = desk.revise(issued, who="auditor", reason="Corrections from the audit")
    desk.issue(draft)  # sks approves it: now in force
    before = written(team)
    with pytest.raises(
        RuleViolation,
        match=re.escape(f"'audit' wrote {issued}#{revno} since the audit was planned"),
    ):
        find(team, audit, 1)
    with pytest.raises(
        RuleViolation, match=re.escape(f"'sks' took 'approve' on {draft}#0, the revision in force")
    ):
        find(team, audit, 2, who="approver")
    assert written(team) == before
    assert verified(team)


def test_the_owner_of_the_area_audited_does_not_dispose_of_its_nc(team: TestOffice) -> None:
    """priya (a quality coordinator) owns the area whose finding raised the NC: she may not
    cancel, verify or close it (capa.toml's not_by "audited"), and her tasks do not offer it;
    others take it to closure, and the chain verifies."""
    from qms_engine.capa.actions import add_action, complete_action
    from qms_engine.capa.nonconformities import take_nc_transition
    from qms_engine.tasks import tasks_for

    audit = plan(team, AuditItem("7.5.3", "audit", "priya"))
    number = find(team, audit, 1, "nonconformity", "Obsolete SOP on the notice board").nc

    def act(transition: str, who: str, comment: str = "") -> None:
        take_nc_transition(
            team.runtime,
            number=number,
            transition=transition,
            actor=team.signers[who],
            comment=comment,
        )

    def offered(username: str) -> list[str]:
        listed = tasks_for(team.runtime, team.office, username).tasks
        return [a.name for task in listed if task.subject == number for a in task.actions]

    assert offered("priya") == ["contain"]
    assert offered("sks") == ["contain", "cancel"]
    before = written(team)
    with pytest.raises(PermissionDenied, match="'priya' owns the area audited") as refused:
        act("cancel", "quality_coordinator", "Not a real problem")
    assert "segregation of duties" in str(refused.value)
    assert written(team) == before
    act("contain", "quality_coordinator", "Removed from the board")
    act("analyse", "quality_coordinator", "Nobody checks the board")
    add_action(
        team.runtime,
        number=number,
        actor=team.signers["quality_coordinator"],
        type="corrective",
        description="Check the board weekly",
        owner="anita",
        due=this_year_day(team),
    )
    act("plan", "quality_coordinator")
    complete_action(
        team.runtime, action=f"{number}#A1", actor=team.signers["author"], comment="Done"
    )
    act("implement", "quality_coordinator")
    with pytest.raises(PermissionDenied, match="'priya' owns the area audited"):
        act("verify", "quality_coordinator", "Looks fine")
    act("verify", "auditor2", "Board checked for 4 weeks")
    with pytest.raises(PermissionDenied, match="'priya' owns the area audited"):
        act("close", "quality_coordinator")
    act("close", "approver")
    assert verified(team)


def this_year_day(office: TestOffice) -> date:
    """The office's date today (a due date nobody can call past)."""
    return utc_now().astimezone(zone(office.office.timezone)).date()
