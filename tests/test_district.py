"""The SP office over its stations: joined from the shared database or imported as bundles,
witnessed checkpoints, verification at the district and the district views — through the
engine and through `qms district …`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key
from qms_engine.audit.verify import verify_bundle, verify_office
from qms_engine.capa.actions import add_action
from qms_engine.capa.nonconformities import take_nc_transition
from qms_engine.chain import events
from qms_engine.cli import cli
from qms_engine.clock import local_today, zone
from qms_engine.district.imports import import_bundle
from qms_engine.district.sops import adopt_sop, sop_status
from qms_engine.district.stations import join_station
from qms_engine.district.verify import verify_station
from qms_engine.district.views import (
    district_status,
    feedback_figures,
    master_list,
    open_ncs,
    overdue_reviews,
)
from qms_engine.district.witness import StationsNotWitnessed
from qms_engine.documents.revisions import create_document, revise_document
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import IntegrityError, NotFound, PermissionDenied, RuleViolation
from qms_engine.feedback.responses import import_feedback
from qms_engine.people.offices import add_office
from qms_engine.storage.models import DISTRICT_EVENT_TABLE, DISTRICT_STATION_TABLE, EVENT_TABLE
from qms_engine.testing import TEST_PASSPHRASE, TestOffice, staff_member
from tests.conftest import Desk
from tests.district_fixtures import (
    SP_CODE,
    District,
    checkpoint,
    cut_chain,
    export,
    own_district,
    shared_district,
)
from tests.test_cli import PASSPHRASES, run
from tests.test_feedback_forms import response, write_csv

__all__ = ["own_district", "shared_district"]  # fixtures, used by name

STATION = "PS-TEST1"


def _events(district: District) -> int:
    with district.runtime.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(EVENT_TABLE)
                .where(EVENT_TABLE.c.office_id == district.office.id)
            ).scalar_one()
        )


def _held(district: District) -> int:
    with district.runtime.engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(DISTRICT_EVENT_TABLE)).scalar_one()
        )


# --------------------------------------------------------------------------- imported bundles


def test_a_station_bundle_imported_at_the_sp_office_verifies_there(
    desk: Desk, qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """The station's chain comes in whole, is kept event for event, verifies at the district,
    and the SP chain (with its district.bundle.imported event) still verifies."""
    desk.issue(desk.new_sop("General Diary (GD) upkeep"))
    checkpoint(qms_office)
    bundle = export(qms_office, tmp_path / "b1")
    summary = own_district.take(bundle)
    station_events = verify_bundle(bundle, check_blobs=False).events
    assert (summary.station, summary.held_before, summary.held) == (STATION, 0, station_events)
    assert summary.checkpoints == 1 and summary.event_seq is not None
    assert _held(own_district) == station_events
    result = verify_station(own_district.runtime, own_district.office, STATION)
    assert result.ok, result.problems
    assert result.events == station_events
    sp = verify_office(own_district.runtime, own_district.office)
    assert sp.ok, sp.problems


def test_a_later_longer_bundle_extends_what_is_held(
    desk: Desk, qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """A second bundle (this one with its files, which the district does not keep) adds only
    the events after those held; the same bundle again adds nothing and writes nothing."""
    first = own_district.take(export(qms_office, tmp_path / "b1"))
    desk.new_sop("Malkhana (case property) management")
    second = own_district.take(export(qms_office, tmp_path / "b2", blobs=True))
    assert second.held_before == first.held and second.added == 2  # document + revision
    written = _events(own_district)
    again = own_district.take(export(qms_office, tmp_path / "b3"))
    assert again.added == 0 and again.event_seq is None
    assert _events(own_district) == written
    assert verify_station(own_district.runtime, own_district.office, STATION).ok
    assert verify_office(own_district.runtime, own_district.office).ok


def test_a_shorter_bundle_imports_nothing_and_verify_says_it_was_cut(
    desk: Desk, qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """A station that cut its chain and re-exported it sends the exact beginning of what the
    district holds: the import cannot tell it from an older bundle, so it imports nothing and
    says so (exit 5, not tampering); `qms district verify --bundle`, the claim that this is the
    station's chain now, says where the district's record goes further (exit 6)."""
    desk.new_sop("Dak (correspondence) handling")
    held = own_district.take(export(qms_office, tmp_path / "b1")).held
    cut_chain(qms_office, held - 1)
    written = _events(own_district)
    with pytest.raises(
        RuleViolation,
        match=f"older than what the district holds \\(it ends at event #{held - 1}, the "
        f"district holds #{held}\\): nothing was imported",
    ):
        own_district.take(export(qms_office, tmp_path / "b2"))
    assert _events(own_district) == written and _held(own_district) == held
    checked = verify_station(
        own_district.runtime, own_district.office, STATION, bundle=tmp_path / "b2"
    )
    assert [p for p in checked.problems if f"but the district holds #{held}" in p], checked
    sp = ("-w", own_district.root, "--office", SP_CODE)
    own_district.runtime.engine.dispose()
    failed = run(*sp, "district", "verify", STATION, "--bundle", tmp_path / "b2")
    assert failed.returncode == 6, failed.stdout + failed.stderr
    assert f"ends at event #{held - 1}" in failed.stdout, failed.stdout


def test_an_older_bundle_arriving_late_imports_nothing_and_exits_5(
    desk: Desk, qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """Pen drives out of order: the newer bundle is imported first, then the older one comes;
    it is the exact beginning of what is held, so nothing is imported, nothing written (exit
    5, the message says older, #N against #M, and the hint names `district verify --bundle`);
    the station verifies as held and the newer bundle again adds nothing."""
    older = export(qms_office, tmp_path / "old")
    desk.new_sop("Dak (correspondence) handling")
    newer = export(qms_office, tmp_path / "new")
    held = own_district.take(newer).held
    count = verify_bundle(older, check_blobs=False).events
    assert count < held
    written = _events(own_district)
    sp = ("-w", own_district.root, "--office", SP_CODE)
    own_district.runtime.engine.dispose()
    refused = run(*sp, "district", "import", older, "--as", "spadmin")
    assert refused.returncode == 5, refused.stdout + refused.stderr
    said = " ".join(refused.stderr.split())
    assert (
        f"{STATION}: the bundle is older than what the district holds (it ends at event "
        f"#{count}, the district holds #{held}): nothing was imported" in said
    ), said
    assert f"qms district verify {STATION} --bundle {older}" in said, said
    assert _events(own_district) == written and _held(own_district) == held
    assert verify_station(own_district.runtime, own_district.office, STATION).ok
    again = run(*sp, "district", "import", newer, "--as", "spadmin", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["added"] == 0, again.stderr
    hindi = run("--lang", "hi", *sp, "district", "import", older, "--as", "spadmin")
    assert hindi.returncode == 5 and f"#{count}" in hindi.stderr, hindi.stderr
    assert "older than" not in hindi.stderr, hindi.stderr


def test_a_rewritten_bundle_is_refused_naming_the_first_event_that_differs(
    desk: Desk, qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """Cut, then written on with valid keys past the old length: the bundle verifies on its
    own, yet the district refuses it at the first event whose hash differs from its record."""
    desk.new_sop("Dak (correspondence) handling")
    held = own_district.take(export(qms_office, tmp_path / "b1")).held
    cut_chain(qms_office, held - 2)
    desk.new_sop("Arms and ammunition upkeep")
    desk.new_sop("Passport verification")
    bundle = export(qms_office, tmp_path / "b2")
    assert verify_bundle(bundle, check_blobs=False).ok
    with pytest.raises(IntegrityError, match=f"event #{held - 1} of the bundle differs"):
        own_district.take(bundle)
    assert _held(own_district) == held
    checked = verify_station(own_district.runtime, own_district.office, STATION, bundle=bundle)
    assert checked.problems == [
        f"{STATION}: event #{held - 1} of the bundle differs from the district's record (the "
        "district holds another event there): the station's chain was rewritten"
    ]


def test_a_bundle_that_does_not_verify_is_refused(
    qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """The bundle verifier's verdict decides: a damaged events file imports nothing."""
    bundle = export(qms_office, tmp_path / "b1")
    events_file = bundle / "events.jsonl"
    events_file.write_bytes(events_file.read_bytes().replace(b"PS-TEST1", b"PS-TEST2", 1))
    with pytest.raises(IntegrityError, match="does not verify"):
        own_district.take(bundle)
    assert _held(own_district) == 0


def test_a_station_of_this_database_is_joined_not_imported(
    qms_office: TestOffice, shared_district: District, tmp_path: Path
) -> None:
    """Importing the bundle of an office of the same database is refused (exit 5)."""
    with pytest.raises(RuleViolation, match="office of this database"):
        shared_district.take(export(qms_office, tmp_path / "b1"))


def test_only_a_district_office_imports_and_only_stations_it_oversees(
    qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """A police station oversees nothing; an SP office's bundle is no station's."""
    with pytest.raises(RuleViolation, match="oversees no stations"):
        import_bundle(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["admin"],
            bundle=export(qms_office, tmp_path / "b1"),
        )
    sp_bundle = tmp_path / "sp-bundle"
    from qms_engine.audit.bundle import export_bundle

    export_bundle(own_district.runtime, own_district.office, sp_bundle)
    with pytest.raises(RuleViolation, match="oversees police_station"):
        own_district.take(sp_bundle)


# --------------------------------------------------------------------------- shared stations


def test_a_shared_station_joins_once_and_is_verified_with_its_witnesses(
    desk: Desk, qms_office: TestOffice, shared_district: District
) -> None:
    """Joined from the same database: its checkpoints are witnessed (once each) and its
    chain verifies at the district; a second join is refused."""
    desk.new_sop()
    record = checkpoint(qms_office)
    done = shared_district.witness()
    assert [(w.station, w.seq, w.head) for w in done] == [(STATION, record.seq, record.head_hash)]
    assert done[0].code == record.code
    assert shared_district.witness() == []
    result = verify_station(shared_district.runtime, shared_district.office, STATION)
    assert result.ok and result.checkpoints == 1, result.problems
    assert verify_office(shared_district.runtime, shared_district.office).ok
    with pytest.raises(RuleViolation, match="already a station"):
        join_station(
            shared_district.runtime,
            shared_district.office,
            actor=shared_district.admin,
            station_code=STATION,
        )


def test_joining_needs_an_admin_of_the_sp_office(
    qms_office: TestOffice, shared_district: District
) -> None:
    """The station's quality coordinator holds no role at the SP office: refused (exit 4)."""
    with pytest.raises(PermissionDenied):
        join_station(
            qms_office.runtime,
            shared_district.office,
            actor=qms_office.signers["quality_coordinator"],
            station_code=STATION,
        )


def test_an_unknown_station_is_named_with_the_ones_there_are(
    shared_district: District,
) -> None:
    with pytest.raises(NotFound, match=f"PS-NONE is not a station of {SP_CODE}.*{STATION}"):
        verify_station(shared_district.runtime, shared_district.office, "PS-NONE")


def test_a_witness_payload_names_the_station_checkpoint_and_the_office_key(
    qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """district.checkpoint.witnessed carries the station's checkpoint and the SP office key's
    countersignature (docs/audit-bundle.md)."""
    record = checkpoint(qms_office)
    own_district.take(export(qms_office, tmp_path / "b1"))
    (witnessed,) = own_district.witness(STATION)
    with own_district.runtime.engine.connect() as connection:
        payload = json.loads(
            connection.execute(
                select(EVENT_TABLE.c.payload).where(
                    EVENT_TABLE.c.office_id == own_district.office.id,
                    EVENT_TABLE.c.seq == witnessed.event_seq,
                    EVENT_TABLE.c.action == events.CHECKPOINT_WITNESSED.action,
                )
            ).scalar_one()
        )
    assert payload["seq"] == record.seq and payload["signature"] == record.signature
    assert payload["witness_key"] == own_district.office_key().fingerprint


# --------------------------------------------------------------------------- views


def test_district_views_project_each_station_chain(
    desk: Desk, qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """Status, master list (its documents; its register records when asked, or both), open
    NCs, overdue reviews and feedback of an imported station."""
    number = desk.new_sop("Citizen charter")
    desk.issue(number)
    entry_number = desk.file_record("रोज़नामचा: गश्त रवाना")
    checkpoint(qms_office)
    own_district.take(export(qms_office, tmp_path / "b1"))
    own_district.witness()
    (status,) = district_status(own_district.runtime, own_district.office)
    assert (status.station, status.shared, status.verified) == (STATION, False, True)
    assert status.witnessed > 0 and status.last_action == events.CHECKPOINT_RECORDED.action
    (entry,) = master_list(own_district.runtime, own_district.office)
    assert (entry.number, entry.state, entry.title) == (number, "effective", "Citizen charter")
    (record,) = master_list(own_district.runtime, own_district.office, "register")
    assert (record.number, record.type, record.state) == (entry_number, "GD", "filed")
    both = master_list(own_district.runtime, own_district.office, None)
    assert sorted(e.number for e in both) == sorted([number, entry_number])
    assert entry.review_due is not None
    assert overdue_reviews(own_district.runtime, own_district.office) == []
    late = entry.review_due.replace(year=entry.review_due.year + 1)
    assert [e.number for e in overdue_reviews(own_district.runtime, own_district.office, late)] == [
        number
    ]
    assert open_ncs(own_district.runtime, own_district.office) == []
    (figures,) = feedback_figures(own_district.runtime, own_district.office)
    assert (figures.responses, figures.poor) == (0, 0)
    sheet = write_csv(
        tmp_path / "responses.csv",
        [response(station=STATION), response(station=STATION, ratings=("2", "1", "2", "1"))],
    )
    import_feedback(qms_office.runtime, path=sheet, actor=qms_office.signers["quality_coordinator"])
    own_district.take(export(qms_office, tmp_path / "b2"))
    (figures,) = feedback_figures(own_district.runtime, own_district.office)
    assert (figures.responses, figures.poor, figures.averages["overall"]) == (2, 1, 3.0)
    (nc,) = open_ncs(own_district.runtime, own_district.office)
    assert (nc.station, nc.state, nc.overdue_actions) == (STATION, "raised", [])
    approver = qms_office.signers["approver"]
    for step in ("contain", "analyse"):
        take_nc_transition(
            qms_office.runtime, number=nc.number, transition=step, actor=approver, comment=step
        )
    due = local_today(qms_office.office.timezone) + timedelta(days=3)
    add_action(
        qms_office.runtime,
        number=nc.number,
        actor=approver,
        type="corrective",
        description="Brief the duty officer on courtesy",
        owner="anita",
        due=due,
    )
    own_district.take(export(qms_office, tmp_path / "b3"))
    (nc,) = open_ncs(own_district.runtime, own_district.office)
    assert (nc.state, nc.overdue_actions) == ("analysed", [])
    (late_nc,) = open_ncs(own_district.runtime, own_district.office, due + timedelta(days=1))
    assert [(a.action, a.owner, a.due) for a in late_nc.overdue_actions] == [
        (f"{nc.number}#A1", "anita", due)
    ]


# --------------------------------------------------------------------------- the CLI


def _invoke(*args: str | Path) -> str:
    result = CliRunner().invoke(cli, [str(arg) for arg in args], env=PASSPHRASES)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_district_commands_end_to_end(
    desk: Desk, qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """import, witness, verify, status and the views through `qms district`, readable and
    --json; a bundle cut below a witnessed checkpoint imports nothing (exit 5: by itself it
    is an older bundle) and `district verify --bundle` exits 6 naming the event."""
    entry = desk.file_record("रोज़नामचा: थाने पर आमद")
    desk.new_sop("Cyber desk")
    record = checkpoint(qms_office)
    b1 = export(qms_office, tmp_path / "b1")
    sp = ("-w", own_district.root, "--office", SP_CODE)
    said = _invoke(*sp, "district", "import", b1, "--as", "spadmin")
    assert f"{STATION}: verified" in said
    witnessed = json.loads(_invoke(*sp, "district", "witness", "--as", "spadmin", "--json"))
    assert [w["code"] for w in witnessed] == [record.code]
    assert "OK" in _invoke(*sp, "district", "verify", STATION)
    assert "imported bundles" in _invoke(*sp, "district", "status")
    status = json.loads(_invoke(*sp, "district", "status", "--json"))
    assert status[0]["station"] == STATION and status[0]["verified"] is True
    listed = _invoke(*sp, "district", "master-list")
    assert "Cyber desk" in listed and entry not in listed
    for kind, shown in (("register", {entry}), ("ALL", {entry, "Cyber desk"})):
        rows = json.loads(_invoke(*sp, "district", "master-list", "--kind", kind, "--json"))
        assert {row["number"] for row in rows} | {row["title"] for row in rows} >= shown
    (only,) = json.loads(_invoke(*sp, "district", "master-list", "--kind", "register", "--json"))
    assert only["number"] == entry
    wrong = CliRunner().invoke(cli, [*map(str, sp), "district", "master-list", "--kind", "records"])
    assert wrong.exit_code == 2 and "'document', 'register', 'all'" in wrong.output, wrong.output
    for view in ("nc", "reviews"):
        assert json.loads(_invoke(*sp, "district", view, "--json")) == []
    (figures,) = json.loads(_invoke(*sp, "district", "feedback", "--json"))
    assert (figures["station"], figures["responses"], figures["poor"]) == (STATION, 0, 0)
    cut_chain(qms_office, record.seq - 1)
    cut = export(qms_office, tmp_path / "b2")
    own_district.runtime.engine.dispose()
    refused = run(*sp, "district", "import", cut, "--as", "spadmin")
    assert refused.returncode == 5, refused.stdout + refused.stderr
    assert "older than what the district holds" in " ".join(refused.stderr.split())
    failed = run(*sp, "district", "verify", STATION, "--bundle", cut)
    assert failed.returncode == 6 and "its tail was removed" in failed.stdout, failed.stdout
    assert f"ends at event #{record.seq - 1}" in failed.stdout, failed.stdout


def test_join_through_the_cli(qms_office: TestOffice) -> None:
    """`qms office add --type sp_office`, then `qms district join` the station; an office
    added with `--district` is a station from its first event, in the same transaction."""
    ws = ("-w", qms_office.root)
    _invoke(*ws, "office", "add", SP_CODE, "--type", "sp_office", "--name", "SP", "--as", "admin")
    said = _invoke(*ws, "--office", SP_CODE, "district", "join", STATION, "--as", "admin")
    assert f"{STATION}" in said and SP_CODE in said
    said = _invoke(
        *ws,
        "office",
        "add",
        "PS-NEW2",
        "--type",
        "police_station",
        "--name",
        "थाना नया",
        "--district",
        SP_CODE,
        "--as",
        "admin",
    )
    assert f"PS-NEW2 is a station of {SP_CODE}" in said
    status = json.loads(_invoke(*ws, "--office", SP_CODE, "district", "status", "--json"))
    assert [(s["station"], s["shared"], s["verified"]) for s in status] == [
        ("PS-NEW2", True, True),
        (STATION, True, True),
    ]
    refused = run(
        *ws,
        "office",
        "add",
        "PS-NEW3",
        "--type",
        "sp_office",
        "--name",
        "x",
        "--district",
        SP_CODE,
        "--as",
        "admin",
    )
    assert refused.returncode == 5, refused.stderr
    assert "oversees police_station" in refused.stderr
    assert "PS-NEW3" not in _invoke(*ws, "office", "list")


# --------------------------------------------------------------------------- district SOPs


def test_a_station_adopts_the_district_sop_in_force(
    desk: Desk, qms_office: TestOffice, shared_district: District
) -> None:
    """The SP office issues an SOP; the station adopts its revision in force (in its own
    chain, naming the file), is current until the district revises it, then adopts again;
    adopting the same revision twice is refused.  Both chains verify."""
    runtime, sp, admin = shared_district.runtime, shared_district.office, shared_district.admin
    staff = {
        role: staff_member(runtime, sp, admin, f"sp{role[:4]}", f"SP {role}", [role])
        for role in ("author", "approver", "quality_coordinator")
    }

    def issue(path: Path, number: str | None = None) -> str:
        if number is None:
            number = create_document(
                runtime, sp, actor=staff["author"], type_code="SOP", title="रात्रि गश्त", path=path
            ).number
        else:
            revise_document(runtime, actor=staff["author"], number=number, path=path, reason="r")
        for step, who in (("submit", "author"), ("approve", "approver")):
            take_transition(runtime, number=number, transition=step, actor=staff[who])
        take_transition(
            runtime, number=number, transition="make_effective", actor=staff["quality_coordinator"]
        )
        return number

    number = issue(desk.docx("Beat patrol"))
    station_qc = qms_office.signers["quality_coordinator"]
    adopted = adopt_sop(runtime, qms_office.office, actor=station_qc, number=number)
    assert (adopted.number, adopted.revno, adopted.title) == (number, 0, "रात्रि गश्त")
    assert [(a.station, a.adopted, a.current) for a in sop_status(runtime, sp)] == [
        (STATION, 0, True)
    ]
    with pytest.raises(RuleViolation, match="adopted revision 0"):
        adopt_sop(runtime, qms_office.office, actor=station_qc, number=number)
    issue(desk.docx("Beat patrol v2"), number)
    (behind,) = sop_status(runtime, sp)
    assert (behind.in_force, behind.adopted, behind.current) == (1, 0, False)
    assert adopt_sop(runtime, qms_office.office, actor=station_qc, number=number).revno == 1
    assert sop_status(runtime, sp)[0].current
    with pytest.raises(PermissionDenied):
        adopt_sop(runtime, qms_office.office, actor=qms_office.signers["clerk"], number=number)
    for office in (qms_office.office, sp):
        assert verify_office(runtime, office).ok


def test_district_sop_commands(
    desk: Desk, qms_office: TestOffice, shared_district: District
) -> None:
    """`qms district sop status` at the SP office; `sop adopt` refused for a number that is
    no district SOP in force (exit 5)."""
    ws = ("-w", qms_office.root)
    said = _invoke(*ws, "--office", SP_CODE, "district", "sop", "status")
    assert f"{SP_CODE} has no SOP in force yet." in said
    refused = run(
        *ws, "--office", STATION, "district", "sop", "adopt", f"{SP_CODE}/SOP/009", "--as", "priya"
    )
    assert refused.returncode == 5 and "no revision in force" in refused.stderr, refused.stderr


def test_a_station_that_does_not_verify_does_not_block_witnessing_the_others(
    desk: Desk, qms_office: TestOffice, shared_district: District
) -> None:
    """One station rewritten after its witness: the other station's checkpoint is witnessed
    all the same, then exit 6 names the station refused (engine and `qms district witness`)."""
    desk.new_sop()
    record = checkpoint(qms_office)
    assert [w.seq for w in shared_district.witness()] == [record.seq]
    cut_chain(qms_office, record.seq - 1)
    desk.new_sop("Arms and ammunition upkeep")
    checkpoint(qms_office)
    other = add_office(
        qms_office.runtime,
        actor=shared_district.admin,
        from_office=qms_office.office,
        code="PS-NEW2",
        name="थाना नया",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )
    join_station(
        shared_district.runtime,
        shared_district.office,
        actor=shared_district.admin,
        station_code="PS-NEW2",
    )
    other_key = unlock_office_key(qms_office.runtime, other, TEST_PASSPHRASE)
    first = record_checkpoint(
        qms_office.runtime, other, actor=shared_district.admin, office_key=other_key
    )
    with pytest.raises(StationsNotWitnessed, match=f"1 station.*{STATION}: not witnessed") as e:
        shared_district.witness()
    assert [(w.station, w.seq) for w in e.value.done] == [("PS-NEW2", first.seq)]
    assert e.value.exit_code == 6
    second = record_checkpoint(
        qms_office.runtime, other, actor=shared_district.admin, office_key=other_key
    )
    sp = ("-w", qms_office.root, "--office", SP_CODE)
    refused = run(*sp, "district", "witness", "--as", "admin")
    assert refused.returncode == 6, refused.stdout + refused.stderr
    assert second.code in refused.stdout and STATION in refused.stderr, refused.stdout


def test_the_views_of_a_shared_station_agree_with_its_own_lists(
    desk: Desk, qms_office: TestOffice, shared_district: District, tmp_path: Path
) -> None:
    """For a station of the SP office's own database, `qms district master-list|nc|reviews|
    feedback --json` give the figures the station's own `doc list`, `nc list` and `feedback
    summary` give."""
    number = desk.new_sop("Citizen charter")
    desk.issue(number)
    draft = desk.new_sop("बीट गश्त (beat patrol)")
    sheet = write_csv(
        tmp_path / "responses.csv",
        [response(station=STATION), response(station=STATION, ratings=("2", "1", "2", "1"))],
    )
    import_feedback(qms_office.runtime, path=sheet, actor=qms_office.signers["quality_coordinator"])
    ws = ("-w", qms_office.root)
    sp = (*ws, "--office", SP_CODE)
    assert _shared_views(qms_office, sp) == _own_lists(qms_office, ws)
    assert [d["number"] for d in json.loads(_invoke(*sp, "district", "master-list", "--json"))] == [
        number,
        draft,
    ]
    with shared_district.runtime.engine.begin() as connection:  # the copy is no longer read:
        connection.execute(update(DISTRICT_STATION_TABLE).values(timezone="Etc/GMT+12"))
    assert _shared_views(qms_office, sp) == _own_lists(qms_office, ws)
    sp_check = verify_office(shared_district.runtime, shared_district.office)
    assert any("district_station" in p and "timezone" in p for p in sp_check.problems), sp_check


_DOC_FIELDS = ("number", "type_code", "title", "latest_revno", "latest_state")


def _own_lists(station: TestOffice, ws: tuple[str | Path, ...]) -> dict[str, Any]:
    """The station's figures from its own `doc list`, `nc list` and `feedback summary`."""

    def local_date(time: str) -> str:
        moment = datetime.fromisoformat(time)
        return moment.astimezone(zone(station.office.timezone)).date().isoformat()

    (figures,) = json.loads(_invoke(*ws, "feedback", "summary", "--json"))["stations"]
    return {
        "documents": [
            tuple(d[k] for k in (*_DOC_FIELDS, "review_due"))
            for d in json.loads(_invoke(*ws, "doc", "list", "--json"))
        ],
        "ncs": [
            (*(n[k] for k in ("number", "title", "severity", "state")), local_date(n["raised_at"]))
            for n in json.loads(_invoke(*ws, "nc", "list", "--json"))
        ],
        "feedback": [(figures["responses"], figures["poor"], figures["averages"])],
    }


def _shared_views(station: TestOffice, sp: tuple[str | Path, ...]) -> dict[str, Any]:
    """The same figures from the district's views of the station (values, not only types)."""
    views = {
        view: json.loads(_invoke(*sp, "district", view, "--json"))
        for view in ("master-list", "nc", "feedback", "reviews")
    }
    assert views["reviews"] == []  # nothing is due for review yet
    assert [n["overdue_actions"] for n in views["nc"]] == [[]]  # no action is due
    assert {row["station"] for view in views.values() for row in view} == {station.office.code}
    return {
        "documents": [
            (e["number"], e["type"], e["title"], e["revno"], e["state"], e["review_due"])
            for e in views["master-list"]
        ],
        "ncs": [
            (n["number"], n["title"], n["severity"], n["state"], n["raised_on"])
            for n in views["nc"]
        ],
        "feedback": [(f["responses"], f["poor"], f["averages"]) for f in views["feedback"]],
    }


def test_a_district_sop_number_is_asked_for_in_its_form(
    qms_office: TestOffice, shared_district: District
) -> None:
    """`qms district sop adopt SOP001` is refused with exit 2 naming the form; the station's own
    SOP number is refused with a hint to type the district's; nothing is written."""
    ws = ("-w", qms_office.root)
    before = _events(shared_district)
    wrong = run(*ws, "district", "sop", "adopt", "SOP001", "--as", "priya")
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "SOP001: not a district SOP number" in wrong.stderr
    assert "DISTRICT/SOP/NNN" in wrong.stderr, wrong.stderr
    own = run(*ws, "district", "sop", "adopt", f"{STATION}/SOP/001", "--as", "priya")
    assert own.returncode == 5, own.stdout + own.stderr
    assert f"{STATION}/SOP/001 is {STATION}'s own SOP" in own.stderr
    assert "type the district's number" in own.stderr, own.stderr
    assert _events(shared_district) == before


def test_an_empty_folder_is_not_a_bundle(own_district: District, tmp_path: Path) -> None:
    """`qms district import EMPTY_FOLDER`: exit 2 (not a bundle), not 6 (a bad one)."""
    (tmp_path / "empty").mkdir()
    sp = ("-w", own_district.root, "--office", SP_CODE)
    refused = run(*sp, "district", "import", tmp_path / "empty", "--as", "spadmin")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "holds no manifest.json, so it is not an audit bundle" in refused.stderr
