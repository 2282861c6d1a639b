"""Attacks on the CAPA record: each forged step must make ``qms audit verify`` fail, precisely.

One real history is written through the engine (:mod:`qms_engine.capa`,
:mod:`qms_engine.feedback`): the SOP history of ``test_audit_attacks``, then a complaint's
nonconformity taken to closure with an ordinary action and an action that asked for a revision
of SOP 001, an internal audit whose nonconformity finding raised an NC, and citizens' feedback
imported twice (poor ratings raising an NC, then linked to it), and an old response whose
comment was erased after the form's keep_days.  Each test then plays an
insider who writes the SQLite file, or holds a valid key: a forged event is appended to the
chain, correctly linked, hashed and signed with the real key of the person it names, so only
the CAPA rule it breaks can catch it — and both the online check and the check of an exported
bundle must fail at that event, saying why.  A row changed by SQL alone is caught by the
tables' comparison with the chain.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from qms_engine.audit.bundle import export_bundle
from qms_engine.capa.actions import add_action, complete_action, reassign_action
from qms_engine.capa.internal_audits import AuditItem, plan_audit, record_finding
from qms_engine.capa.nonconformities import raise_nc, take_nc_transition
from qms_engine.capa.records import actions_of, load_nc
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import utc_now, zone
from qms_engine.documents.revisions import revise_document
from qms_engine.documents.transitions import take_transition
from qms_engine.extension.manager import load_plugins
from qms_engine.feedback.responses import import_feedback
from qms_engine.feedback.retention import erase_comments
from qms_engine.people.users import grant_roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import FEEDBACK_TABLE
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import STAFF
from tests.test_audit_attacks import (
    SOP1,
    SOP2,
    History,
    _docx,
    assert_both_fail_at,
    build_history,
    verdicts,
)
from tests.test_cli import run
from tests.test_feedback_forms import response, write_csv

# The attacks edit the SQLite file directly, as an insider with the workspace folder would.
pytestmark = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)

POOR = ("2", "1", "2", "1")
GOOD = ("5", "4", "4", "5")
ERASED_BEFORE = date(2024, 1, 1)
POOR_RULE = {"rating": "overall", "at_most": 2}
"""The police station form's rule of a poor response, as feedback.received states it."""


@dataclass(frozen=True)
class Capa:
    """The numbers the honest history gave its nonconformities and audit."""

    closed: str  # a complaint's NC taken to closure (A1 ordinary, A2 a revision of SOP 001)
    audit: str  # an internal audit: item 1 conforms, item 2 (SOP 002) a nonconformity
    found: str  # the NC item 2's finding raised
    feedback: str  # the NC poor citizens' feedback raised
    responses: tuple[str, ...]  # the ids of the responses imported (the last one erased)


def _today(office: OfficeRef) -> date:
    return utc_now().astimezone(zone(office.timezone)).date()


def build_capa(runtime: Runtime, office: OfficeRef, s: Mapping[str, Signer], files: Path) -> Capa:
    """Through the engine: an NC to closure, an internal audit raising an NC, feedback."""
    due = _today(office) + timedelta(days=14)
    closed = raise_nc(
        runtime,
        office=office.code,
        actor=s["quality_coordinator"],
        title="थाने में शिकायत दर्ज नहीं हुई",
        description="A complaint was turned away at the desk on 3 March.",
        source="complaint",
        severity="major",
        clause="8.2.1",
        documents=[SOP1],
        evidence=[_docx(files, "complaint.docx", "Complaint", "Turned away at the desk")],
    ).number

    def act(transition: str, who: str, comment: str = "") -> None:
        take_nc_transition(
            runtime, number=closed, transition=transition, actor=s[who], comment=comment
        )

    act("contain", "quality_coordinator", "Complaint registered the same day")
    act("analyse", "approver", "The desk procedure does not say who registers complaints")
    for owner, document in (("anita", ""), ("mohan", SOP1)):
        add_action(
            runtime,
            number=closed,
            actor=s["quality_coordinator"],
            type="corrective",
            description=f"Corrective action by {owner}",
            owner=owner,
            due=due,
            document=document,
        )
    act("plan", "quality_coordinator")
    complete_action(
        runtime,
        action=f"{closed}#A1",
        actor=s["author"],
        comment="Desk staff briefed, signed",
        evidence=[_docx(files, "briefing.docx", "Briefing", "14 staff signed the sheet")],
    )
    revise_document(  # A2: revision 2 of SOP 001, written by mohan, made effective by meena
        runtime,
        actor=s["author2"],
        number=SOP1,
        path=_docx(files, "sop1-r2.docx", "Station office procedure", "Complaints: the SHO"),
        reason=f"{closed}#A2",
    )
    take_transition(runtime, number=SOP1, transition="submit", actor=s["author2"])
    take_transition(runtime, number=SOP1, transition="approve", actor=s["approver"])
    take_transition(runtime, number=SOP1, transition="make_effective", actor=s["approver2"])
    act("implement", "quality_coordinator")
    act("verify", "auditor", "No complaint turned away in the month since")
    act("close", "quality_coordinator")

    audit = plan_audit(
        runtime,
        office=office,
        actor=s["quality_coordinator"],
        title="Document control audit",
        scope="Clause 7.5 and the General Diary SOP",
        date=_today(office),
        auditors=["audit"],
        items=[AuditItem("7.5.3", "audit", "ramesh"), AuditItem(SOP2, "audit")],
    ).number
    record_finding(runtime, audit=audit, item=1, actor=s["auditor"], result="conforms", note="")
    found = record_finding(
        runtime,
        audit=audit,
        item=2,
        actor=s["auditor"],
        result="nonconformity",
        note="SOP 002 has no effective revision",
    ).nc

    export = write_csv(
        files / "feedback.csv",
        [
            response("24/11/2025 10:40:46", office.code, GOOD, "अच्छा व्यवहार"),
            response("24/11/2025 11:00:00", office.code, POOR, "देर से सुनवाई"),
            response("25/11/2025 09:15:00", office.code, POOR, ""),
        ],
    )
    imported = import_feedback(runtime, path=export, actor=s["quality_coordinator"])
    (station,) = imported.stations
    later = write_csv(  # the same week: linked to its NC, still open
        files / "feedback-2.csv", [response("26/11/2025 18:00:00", office.code, POOR, "")]
    )
    import_feedback(runtime, path=later, actor=s["quality_coordinator"])
    for username in ("rakesh", "mohan", "meena"):  # auditors too, for the audit attacks
        grant_roles(runtime, office, actor=s["admin"], username=username, roles=["auditor"])
    old = write_csv(  # older than the form's keep_days (730): its comment is erased
        files / "feedback-2023.csv", [response("15/01/2023 09:00:00", office.code, GOOD, "पुराना")]
    )
    import_feedback(runtime, path=old, actor=s["quality_coordinator"])
    erase_comments(runtime, before=ERASED_BEFORE, actor=s["quality_coordinator"])
    return Capa(closed, audit, found, station.raised[0], _responses(runtime, office))


def _responses(runtime: Runtime, office: OfficeRef) -> tuple[str, ...]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(FEEDBACK_TABLE.c.response_id)
            .where(FEEDBACK_TABLE.c.office_id == office.id)
            .order_by(FEEDBACK_TABLE.c.id)
        ).scalars()
        return tuple(rows)


@pytest.fixture(scope="module")
def capa_template(
    qms_office_template: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Capa]:
    """The staffed workspace with the SOP and CAPA histories written through the engine."""
    root = tmp_path_factory.mktemp("capa-history") / "ws"
    shutil.copytree(qms_office_template.root, root)
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    files = root.parent / "files"
    try:
        build_history(runtime, runtime.office(), qms_office_template.signers, files)
        names = build_capa(runtime, runtime.office(), qms_office_template.signers, files)
    finally:
        runtime.close()
    return root, names


@pytest.fixture
def hist(
    capa_template: tuple[Path, Capa], qms_office_template: Any, tmp_path: Path
) -> Iterator[History]:
    """A fresh copy of the CAPA history for one test."""
    root = tmp_path / "ws"
    shutil.copytree(capa_template[0], root)
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        yield History(
            runtime,
            runtime.office(),
            dict(qms_office_template.signers),
            root,
            list(qms_office_template.issued),
        )
    finally:
        runtime.close()


@pytest.fixture
def names(capa_template: tuple[Path, Capa]) -> Capa:
    return capa_template[1]


def forge(
    hist: History, who: str, action: str, subject: str, payload: dict[str, Any], **body: Any
) -> int:
    """Append ``action`` about ``subject``, signed with the real key of the staff member
    ``who`` in their one role (``role=`` another), with the meaning its action carries."""
    from qms_engine.chain.events import FIXED_KINDS

    _username, full_name, role = STAFF[who]
    meaning = body.pop("meaning", None) or FIXED_KINDS[action].meaning
    with hist.db() as db:
        return db.append(
            hist.signers[who],
            role=body.pop("role", role),
            action=action,
            subject=subject,
            payload=payload,
            meaning=meaning,
            signer_name=full_name,
        )


def test_the_honest_capa_history_verifies_online_and_as_a_bundle(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """Everything the engine wrote verifies: every CAPA rule holds, and the six tables are
    exactly the chain's projection; `qms audit verify` says so too."""
    for where, result in verdicts(hist, tmp_path).items():
        assert result.ok, (where, result.problems)
    done = run("-w", hist.root, "audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert names.found and names.feedback and len(names.responses) == 5


def test_an_evidence_file_altered_in_the_store_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """Evidence files are the chain's blobs too: a bundle carries them, and one altered in the
    blob store (an insider swapping the photo of a GD page) fails verification online and in
    a bundle exported afterwards, naming the file's hash."""
    with hist.runtime.engine.connect() as connection:
        nc = load_nc(connection, names.closed)
        (action, *_) = actions_of(connection, nc)
    files = [nc.evidence[0].sha256, action.evidence[0].sha256]
    assert hist.verify().ok
    bundle = tmp_path / "with-evidence"
    export_bundle(hist.runtime, hist.office, bundle, include_blobs=True)
    assert all((bundle / "blobs" / sha).is_file() for sha in files)
    stored = hist.root / "blobs" / "objects" / files[1][:2] / files[1][2:4] / files[1]
    stored.chmod(0o644)
    stored.write_bytes(b"another sheet")
    for where, result in verdicts(hist, tmp_path).items():
        assert not result.ok, where
        assert any(files[1][:16] in problem for problem in result.problems), (where, result)


# --------------------------------------------------------------------------- helpers


def assert_caught(hist: History, tmp_path: Path, seq: int, fragment: str) -> None:
    """Online and bundle verification both fail first at event ``seq``, and one of the
    problems they find there says ``fragment`` (a forged step may break more than one rule)."""
    for where, result in verdicts(hist, tmp_path).items():
        assert not result.ok, f"{where}: the forgery went unnoticed"
        assert result.problems[0].startswith(f"event #{seq}: "), (where, result.problems)
        here = [p for p in result.problems if p.startswith(f"event #{seq}: ")]
        assert any(fragment in problem for problem in here), (where, result.problems)


def engine_act(hist: History, number: str, transition: str, who: str, comment: str = "") -> None:
    take_nc_transition(
        hist.runtime,
        number=number,
        transition=transition,
        actor=hist.signers[who],
        comment=comment,
    )


def engine_add(hist: History, number: str, owner: str, document: str = "") -> str:
    return add_action(
        hist.runtime,
        number=number,
        actor=hist.signers["quality_coordinator"],
        type="corrective",
        description=f"Action owned by {owner}",
        owner=owner,
        due=_today(hist.office) + timedelta(days=7),
        document=document,
    ).subject


def planned(hist: History, number: str, owner: str = "anita", document: str = "") -> str:
    """Through the engine: NC ``number`` contained, analysed, one action added, planned;
    returns the action's subject."""
    engine_act(hist, number, "contain", "quality_coordinator", "Station in charge told")
    engine_act(hist, number, "analyse", "approver", "Nobody answers the desk at night")
    action = engine_add(hist, number, owner, document)
    engine_act(hist, number, "plan", "quality_coordinator")
    return action


def nc_step(
    number: str, transition: str, before: str, after: str, comment: str = "x"
) -> dict[str, Any]:
    return {"transition": transition, "from": before, "to": after, "comment": comment}


# --------------------------------------------------------------------------- the attacks


def test_a_self_verified_action_is_caught(hist: History, names: Capa, tmp_path: Path) -> None:
    """Inspector Singh owns and implements the action, then signs its effectiveness himself
    (as approver, a role verify allows): segregation of duties, from the chain alone."""
    action = planned(hist, names.feedback, owner="sks")
    complete_action(hist.runtime, action=action, actor=hist.signers["approver"], comment="Done")
    engine_act(hist, names.feedback, "implement", "quality_coordinator")
    seq = forge(
        hist,
        "approver",
        "nc.effectiveness_verified",
        names.feedback,
        nc_step(names.feedback, "verify", "implemented", "verified", "It works"),
        meaning="effectiveness verified",
    )
    assert_both_fail_at(
        hist, tmp_path, seq, "'sks' implemented one of its actions and may not also verify it"
    )
    bundle = tmp_path / "cli-bundle"
    for args in (
        ("audit", "verify"),
        ("audit", "export", "--out", bundle, "--blobs"),
        ("audit", "verify", "--bundle", bundle),
    ):
        done = run("-w", hist.root, *args)
        output = done.stdout + done.stderr
        if args[1] == "export":
            assert done.returncode == 0, output
        else:
            assert done.returncode == 6, output
            assert f"event #{seq}:" in output and "may not also verify it" in output, output


def test_a_closure_with_an_open_action_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """After a reopening, a second action is planned; the NC is closed with it still open
    (the forger claims it was verified)."""
    action = planned(hist, names.feedback)
    complete_action(hist.runtime, action=action, actor=hist.signers["author"], comment="Done")
    engine_act(hist, names.feedback, "implement", "quality_coordinator")
    engine_act(hist, names.feedback, "verify", "auditor", "Checked a week of complaints")
    engine_act(hist, names.feedback, "reopen", "auditor", "Night shift still turns people away")
    second = engine_add(hist, names.feedback, "mohan")
    seq = forge(
        hist,
        "quality_coordinator",
        "nc.closed",
        names.feedback,
        nc_step(names.feedback, "close", "verified", "closed", ""),
        meaning="closed",
    )
    assert_caught(hist, tmp_path, seq, f"'close' needs every action done; still open: {second}")


def test_an_action_done_by_someone_not_its_owner_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """Mohan marks Anita's action done, with his own valid key."""
    action = planned(hist, names.feedback, owner="anita")
    seq = forge(hist, "author2", "nc.action.done", action, {"comment": "Done", "evidence": []})
    assert_both_fail_at(hist, tmp_path, seq, "only its owner 'anita' marks it done, not 'mohan'")


def test_an_nc_raised_in_a_later_state_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """A nonconformity recorded as already verified, its CAPA steps never taken."""
    number = names.feedback.replace("/003", "/009")
    payload = {
        "title": "Backdated",
        "description": "Recorded as if effective",
        "source": "complaint",
        "severity": "minor",
        "clause": "",
        "documents": [],
        "records": [],
        "evidence": [],
        "responses": [],
        "finding": "",
        "workflow": "capa",
        "state": "verified",
    }
    seq = forge(hist, "quality_coordinator", "nc.raised", number, payload)
    assert_both_fail_at(
        hist, tmp_path, seq, "raised in state 'verified'; workflow 'capa' starts every"
    )


def test_a_transition_skipping_a_state_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """The cause recorded without the immediate correction first (raised → analysed)."""
    seq = forge(
        hist,
        "approver",
        "nc.cause_analysed",
        names.feedback,
        nc_step(names.feedback, "analyse", "raised", "analysed", "Root cause"),
        meaning="cause analysed",
    )
    assert_both_fail_at(hist, tmp_path, seq, "'analyse' goes ('contained',)→analysed")


def test_a_document_action_marked_done_by_an_event_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """An action that asks for a revision of SOP 002 is declared done by its owner: only the
    revision becoming effective does it."""
    action = planned(hist, names.feedback, owner="mohan", document=SOP2)
    seq = forge(hist, "author2", "nc.action.done", action, {"comment": "Done", "evidence": []})
    assert_both_fail_at(
        hist, tmp_path, seq, f"a document action is done only when a revision of {SOP2}"
    )


def _audit(hist: History) -> str:
    """Through the engine: an audit of clause 7.5.3 by the auditor (no finding yet)."""
    return plan_audit(
        hist.runtime,
        office=hist.office,
        actor=hist.signers["quality_coordinator"],
        title="Records audit",
        scope="Clause 7.5.3",
        date=_today(hist.office),
        auditors=["audit", "rakesh"],
        items=[AuditItem("7.5.3", "audit")],
    ).number


def test_a_finding_by_an_auditor_not_assigned_is_caught(hist: History, tmp_path: Path) -> None:
    """Rakesh, one of the audit's auditors, records the finding of an item assigned to the
    auditor Shri A. Auditor."""
    audit = _audit(hist)
    seq = forge(
        hist,
        "reviewer",
        "internal_audit.finding",
        f"{audit}#1",
        {"result": "conforms", "note": "", "nc": ""},
        role="auditor",
    )
    assert_both_fail_at(hist, tmp_path, seq, "item 1 is 'audit''s to audit, not 'rakesh''s")


@pytest.mark.parametrize(
    ("auditor", "document", "why"),
    [
        ("mohan", SOP2, f"having written {SOP2}#0"),
        ("meena", SOP1, f"having approved or made effective {SOP1}#2, in force"),
    ],
    ids=["author", "made-effective"],
)
def test_an_auditor_auditing_their_own_sop_is_caught(
    hist: History, names: Capa, tmp_path: Path, auditor: str, document: str, why: str
) -> None:
    """Audits planned (signed by the quality coordinator) so that Mohan audits the SOP he
    wrote, or Meena the revision she made effective."""
    payload = {
        "title": "Self audit",
        "scope": "Our own SOPs",
        "date": _today(hist.office).isoformat(),
        "auditors": [auditor],
        "items": [{"ref": document, "auditor": auditor, "area_owner": ""}],
    }
    seq = forge(hist, "quality_coordinator", "internal_audit.planned", f"{names.audit}9", payload)
    assert_both_fail_at(hist, tmp_path, seq, f"item 1: {auditor!r} would audit {document}, {why}")


@pytest.mark.parametrize("then", ["nothing", "another NC"])
def test_a_nonconformity_finding_not_followed_by_its_nc_is_caught(
    hist: History, names: Capa, tmp_path: Path, then: str
) -> None:
    """A nonconformity finding whose NC is never raised (the chain ends), or is followed by
    the raising of another NC instead."""
    audit = _audit(hist)
    named = names.feedback.replace("/003", "/004")
    seq = forge(
        hist,
        "auditor",
        "internal_audit.finding",
        f"{audit}#1",
        {"result": "nonconformity", "note": "Register not closed", "nc": named},
    )
    fragment = f"{audit}#1: a nonconformity finding naming {named}, never raised after it"
    if then == "another NC":
        seq = forge(
            hist,
            "quality_coordinator",
            "nc.raised",
            names.feedback.replace("/003", "/005"),
            {
                "title": "Another",
                "description": "Not the finding's",
                "source": "complaint",
                "severity": "minor",
                "clause": "",
                "documents": [],
                "records": [],
                "evidence": [],
                "responses": [],
                "finding": "",
                "workflow": "capa",
                "state": "raised",
            },
        )
        fragment = f"{audit}#1: a nonconformity finding naming {named}, but the next event"
    assert_both_fail_at(hist, tmp_path, seq, fragment)


def test_a_response_imported_twice_is_caught(hist: History, names: Capa, tmp_path: Path) -> None:
    """A second import names a response already received (to count a complaint twice)."""
    digest = "ab" * 32
    payload = {
        "file_sha256": digest,
        "file_name": "again.csv",
        "poor": POOR_RULE,
        "responses": [
            {
                "id": names.responses[1],
                "time": "2025-11-24T05:30:00.000000Z",
                "ratings": {"behaviour": 1, "action_taken": 1, "timeliness": 1, "overall": 1},
                "comment_sha256": "00" * 32,
            }
        ],
    }
    seq = forge(
        hist,
        "quality_coordinator",
        "feedback.received",
        f"{hist.office.code}/FEEDBACK/{digest[:12]}",
        payload,
    )
    assert_both_fail_at(
        hist, tmp_path, seq, f"response {names.responses[1]} was already received in this chain"
    )


def test_an_action_row_marked_done_by_sql_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """An insider sets an open action's ``done_at`` (and ``done_by``) with one UPDATE, so the NC
    could be closed: the tables' comparison with the chain names the row and fields online
    (a bundle holds no tables: its chain still verifies), and `qms audit verify` exits 6."""
    action = planned(hist, names.feedback, owner="anita")
    with hist.db() as db:
        db.connection.execute(
            "UPDATE nc_action SET done_at = '2026-01-01T00:00:00.000000Z', done_by = "
            "(SELECT id FROM app_user WHERE username = 'anita') WHERE n = 1 AND nc_id = "
            "(SELECT id FROM nonconformity WHERE number = ?)",
            (names.feedback,),
        )
    found = verdicts(hist, tmp_path)
    assert found["bundle"].ok, found["bundle"].problems
    assert found["online"].problems == [
        f"table nc_action, {action}, field done_at: chain says None, database says "
        "'2026-01-01T00:00:00.000000Z'",
        f"table nc_action, {action}, field done_by: chain says None, database says 'anita'",
    ]
    done = run("-w", hist.root, "audit", "verify")
    assert done.returncode == 6, done.stdout + done.stderr
    assert f"table nc_action, {action}, field done_at" in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            "UPDATE nonconformity SET state = 'closed' WHERE number = :feedback",
            "table nonconformity, {feedback}, field state: chain says 'raised', database says "
            "'closed'",
        ),
        (
            "UPDATE nonconformity SET description = 'Nothing happened' WHERE number = :closed",
            "table nonconformity, {closed}, field description: chain says 'A complaint was "
            "turned away at the desk on 3 March.', database says 'Nothing happened'",
        ),
        (
            "DELETE FROM nc_step WHERE transition = 'verify'",
            "table nc_step, {closed} at event #86: the chain created it, the database lacks it "
            "(deleted)",
        ),
        (
            "UPDATE internal_audit_item SET auditor_id = "
            "(SELECT id FROM app_user WHERE username = 'rakesh') WHERE n = 2",
            "table internal_audit_item, {audit}#2, field auditor: chain says 'audit', database "
            "says 'rakesh'",
        ),
        (
            "UPDATE feedback_response SET ratings = "
            '\'{"action_taken":5,"behaviour":5,"overall":5,"timeliness":5}\' '
            "WHERE response_id = :poor",
            "table feedback_response, {poor}, field ratings: chain says "
            '\'{{"action_taken":1,"behaviour":2,"overall":1,"timeliness":2}}\', '
            "database says "
            '\'{{"action_taken":5,"behaviour":5,"overall":5,"timeliness":5}}\'',
        ),
        (
            "UPDATE feedback_response SET nc_number = NULL WHERE response_id = :poor",
            "table feedback_response, {poor}, field nc_number: chain says '{feedback}', "
            "database says None",
        ),
        (
            "UPDATE nc_action SET n = 3 WHERE n = 2",
            "table nc_action, {closed}#A3: in the database, but no event of the chain created "
            "it (inserted, or the chain was cut)",
        ),
    ],
    ids=["state", "description", "step deleted", "auditor", "ratings", "unlinked", "renumbered"],
)
def test_a_capa_row_changed_by_sql_is_caught(
    hist: History, names: Capa, tmp_path: Path, change: str, says: str
) -> None:
    """One SQL statement on a CAPA table (the chain untouched): the online check names the row
    and field, as the chain says it is."""
    values = {
        "feedback": names.feedback,
        "closed": names.closed,
        "audit": names.audit,
        "poor": names.responses[1],
    }
    with hist.db() as db:
        db.connection.execute(change, values)
    problems = hist.verify().problems
    assert says.format(**values) in problems, problems


# --------------------------------------------------------------------------- citizens' comments


def _comment_row(hist: History, response: str) -> tuple[str, str | None]:
    with hist.runtime.engine.connect() as connection:
        comment, salt = connection.execute(
            select(FEEDBACK_TABLE.c.comment, FEEDBACK_TABLE.c.comment_salt).where(
                FEEDBACK_TABLE.c.response_id == response
            )
        ).one()
    return comment, salt


def test_a_comment_changed_in_the_table_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """The chain holds only each comment's salted SHA-256: an insider who rewrites what a
    citizen said (or blanks it, as if erased, without a signed erasure) is caught online,
    naming the response; the bundle, which holds no comments, still verifies."""
    poor, other = names.responses[1], names.responses[0]
    assert _comment_row(hist, poor)[0] == "देर से सुनवाई"
    with hist.db() as db:
        db.connection.execute(
            "UPDATE feedback_response SET comment = 'सब ठीक था' WHERE response_id = ?", (poor,)
        )
        db.connection.execute(
            "UPDATE feedback_response SET comment = '', comment_salt = NULL, erased_at = "
            "'2026-01-01T00:00:00.000000Z' WHERE response_id = ?",
            (other,),
        )
    found = verdicts(hist, tmp_path)
    assert found["bundle"].ok, found["bundle"].problems
    problems = found["online"].problems
    field = "field sha256(comment_salt ‖ comment): chain says '"
    assert any(p.startswith(f"table feedback_response, {poor}, {field}") for p in problems)
    assert any(
        p.startswith(f"table feedback_response, {other}, {field}") and p.endswith("says None")
        for p in problems
    ), problems
    assert (
        f"table feedback_response, {other}, field erased_at: chain says None, database says "
        "'2026-01-01T00:00:00.000000Z'" in problems
    )
    assert not any("सब ठीक" in p for p in problems)  # a comment is never echoed


def test_the_honest_erasure_left_no_words_and_verifies(hist: History, names: Capa) -> None:
    """The old response's comment and salt are gone from the table; the chain never held
    them; `qms audit verify` passes."""
    erased = names.responses[-1]
    assert _comment_row(hist, erased) == ("", None)
    with hist.db() as db:
        payloads = " ".join(row[0] for row in db.connection.execute("SELECT payload FROM event"))
    assert "पुराना" not in payloads and "देर से सुनवाई" not in payloads
    assert f'"responses":["{erased}"]' in payloads
    assert hist.verify().ok


@pytest.mark.parametrize(
    ("which", "before", "fragment"),
    [
        ("never received", "2024-01-01", "erases response 0123456789abcdef, never received"),
        ("erased before", "2024-01-01", "whose comment was already erased"),
        ("too young", "2025-01-01", "of 2025-11-24, not older than 2025-01-01"),
        ("after itself", "2099-12-31", "erases before 2099-12-31, later than the erasure itself"),
        ("no date", "2025-12-32", "erases before '2025-12-32', which is not a date"),
        ("Devanagari digits", "२०२५-०१-०१", "'before' must be a date YYYY-MM-DD"),
    ],
)
def test_a_forged_erasure_is_caught(
    hist: History, names: Capa, tmp_path: Path, which: str, before: str, fragment: str
) -> None:
    """An erasure signed by the quality coordinator with their real key, of a response never
    received, of one already erased, or of one younger than the date it names; or dated after
    its own day (so that today's responses could go), on no real day, or in Devanagari
    digits."""
    response = {
        "never received": "0123456789abcdef",
        "erased before": names.responses[-1],
    }.get(which, names.responses[1])
    seq = forge(
        hist,
        "quality_coordinator",
        "feedback.comments.erased",
        f"{hist.office.code}/FEEDBACK/ERASED/{before}",
        {"before": before, "responses": [response]},
    )
    assert_both_fail_at(hist, tmp_path, seq, fragment)


def test_a_signed_erasure_that_left_the_comment_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """An erasure is signed (rightly: the response is older than its date) but the comment
    stays in the table: the online check says so, without quoting it."""
    poor = names.responses[1]
    forge(
        hist,
        "quality_coordinator",
        "feedback.comments.erased",
        f"{hist.office.code}/FEEDBACK/ERASED/2026-01-01",
        {"before": "2026-01-01", "responses": [poor]},
    )
    found = verdicts(hist, tmp_path)
    assert found["bundle"].ok, found["bundle"].problems
    problems = found["online"].problems
    assert (
        f"table feedback_response, {poor}, field comment: chain says '', database says "
        "'13 characters (not erased)'" in problems
    ), problems
    assert any(
        p.startswith(f"table feedback_response, {poor}, field comment_salt") for p in problems
    )
    assert any(p.startswith(f"table feedback_response, {poor}, field erased_at") for p in problems)


# ------------------------------------------- reassignment, reopening, audits, kinds (review r1)


def engine_reassign(hist: History, action: str, owner: str) -> None:
    reassign_action(
        hist.runtime,
        action=action,
        actor=hist.signers["quality_coordinator"],
        owner=owner,
        comment="Transferred to another station",
    )


def test_an_action_done_by_its_owner_after_it_was_reassigned_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """Anita's action was handed to Mohan; she marks it done anyway, with her own key."""
    action = planned(hist, names.feedback, owner="anita")
    engine_reassign(hist, action, "mohan")
    seq = forge(hist, "author", "nc.action.done", action, {"comment": "Done", "evidence": []})
    assert_both_fail_at(hist, tmp_path, seq, "only its owner 'mohan' marks it done, not 'anita'")


@pytest.mark.parametrize("forgery", ["no role", "already done", "nc implemented"])
def test_a_forged_reassignment_is_caught(
    hist: History, names: Capa, tmp_path: Path, forgery: str
) -> None:
    """An action handed to someone holding no role here, or reassigned once done, or once the
    NC is implemented (its plan closed), signed by the quality coordinator."""
    action = planned(hist, names.feedback, owner="anita")
    owner, fragment = "ghost", "its owner 'ghost' holds no role in this office"
    if forgery != "no role":
        complete_action(hist.runtime, action=action, actor=hist.signers["author"], comment="Done")
        owner, fragment = "mohan", "reassigned, but the action is already done"
    if forgery == "nc implemented":
        engine_act(hist, names.feedback, "implement", "quality_coordinator")
        fragment = "reassigned while the nonconformity is 'implemented', which takes no actions"
    seq = forge(
        hist,
        "quality_coordinator",
        "nc.action.reassigned",
        action,
        {"owner": owner, "comment": "Handed over"},
    )
    assert_caught(hist, tmp_path, seq, f"{action}: {fragment}")


def test_an_implementation_counting_actions_from_before_a_reopening_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """Reopened because the action did not work, the NC is declared implemented again with
    no new action: capa.toml's reopen resets the actions, so none counts."""
    action = planned(hist, names.feedback)
    complete_action(hist.runtime, action=action, actor=hist.signers["author"], comment="Done")
    engine_act(hist, names.feedback, "implement", "quality_coordinator")
    engine_act(hist, names.feedback, "verify", "auditor", "Checked a week of complaints")
    engine_act(hist, names.feedback, "reopen", "auditor", "Night shift still turns people away")
    seq = forge(
        hist,
        "quality_coordinator",
        "nc.implementation_confirmed",
        names.feedback,
        nc_step(names.feedback, "implement", "planned", "implemented", ""),
        meaning="implementation confirmed",
    )
    assert_both_fail_at(hist, tmp_path, seq, "'implement' needs at least one action")


def test_an_nc_cancelled_by_the_owner_of_the_area_audited_is_caught(
    hist: History, tmp_path: Path
) -> None:
    """Priya's area (clause 7.5.3) got a nonconformity finding; she cancels the NC it raised
    herself, as quality coordinator: capa.toml's cancel is not_by "audited"."""
    audit = plan_audit(
        hist.runtime,
        office=hist.office,
        actor=hist.signers["quality_coordinator"],
        title="Records audit",
        scope="Clause 7.5.3",
        date=_today(hist.office),
        auditors=["audit"],
        items=[AuditItem("7.5.3", "audit", "priya")],
    ).number
    number = record_finding(
        hist.runtime,
        audit=audit,
        item=1,
        actor=hist.signers["auditor"],
        result="nonconformity",
        note="Obsolete SOP on the notice board",
    ).nc
    seq = forge(
        hist,
        "quality_coordinator",
        "nc.cancelled",
        number,
        nc_step(number, "cancel", "raised", "cancelled", "Not a real problem"),
        meaning="cancelled",
    )
    assert_both_fail_at(
        hist, tmp_path, seq, "'priya' owns the area audited, whose finding raised it,"
    )


def test_a_finding_by_an_auditor_who_since_wrote_the_sop_is_caught(
    hist: History, tmp_path: Path
) -> None:
    """Rakesh is planned to audit SOP 001, then writes its next revision himself, and records
    that it conforms: independence is checked again at the finding."""
    grant_roles(
        hist.runtime, hist.office, actor=hist.signers["admin"], username="rakesh", roles=["author"]
    )
    audit = plan_audit(
        hist.runtime,
        office=hist.office,
        actor=hist.signers["quality_coordinator"],
        title="SOP audit",
        scope="SOP 001",
        date=_today(hist.office),
        auditors=["rakesh"],
        items=[AuditItem(SOP1, "rakesh")],
    ).number
    revno = revise_document(
        hist.runtime,
        actor=hist.signers["reviewer"],
        number=SOP1,
        path=_docx(hist.root.parent, "sop1-rakesh.docx", "Station office procedure"),
        reason="My own corrections",
    ).revno
    seq = forge(
        hist,
        "reviewer",
        "internal_audit.finding",
        f"{audit}#1",
        {"result": "conforms", "note": "", "nc": ""},
        role="auditor",
    )
    assert_both_fail_at(
        hist,
        tmp_path,
        seq,
        f"item 1: 'rakesh' may no longer audit {SOP1}, having written {SOP1}#{revno}",
    )


def test_an_audit_item_naming_neither_a_clause_nor_a_document_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """An item written as a short SOP number: no document of the chain, so no independence
    check could apply to it (its author could audit it)."""
    payload = {
        "title": "Short numbers",
        "scope": "SOP 002",
        "date": _today(hist.office).isoformat(),
        "auditors": ["mohan"],
        "items": [{"ref": "SOP/002", "auditor": "mohan", "area_owner": ""}],
    }
    seq = forge(hist, "quality_coordinator", "internal_audit.planned", f"{names.audit}9", payload)
    assert_both_fail_at(hist, tmp_path, seq, "item 1: ref 'SOP/002' is neither an ISO clause")


@pytest.mark.parametrize("member", ["records", "documents"])
def test_an_nc_naming_a_document_under_the_wrong_kind_is_caught(
    hist: History, names: Capa, tmp_path: Path, member: str
) -> None:
    """A controlled SOP named among the NC's register records, or a GD entry among its
    controlled documents (the write path refuses both)."""
    from qms_engine.documents.revisions import create_document

    record = create_document(
        hist.runtime,
        hist.office,
        actor=hist.signers["clerk"],
        type_code="GD",
        title="GD entry 14",
        path=_docx(hist.root.parent, "gd-14.docx", "GD entry 14"),
    ).number
    cited, kind = (
        (SOP1, "'document', not 'register'")
        if member == "records"
        else (record, "'register', not 'document'")
    )
    number = names.feedback.replace("/003", "/009")
    payload = {
        "title": "Wrong kind",
        "description": "Names a document under the wrong kind",
        "source": "complaint",
        "severity": "minor",
        "clause": "",
        "documents": [],
        "records": [],
        "evidence": [],
        "responses": [],
        "finding": "",
        "workflow": "capa",
        "state": "raised",
        member: [cited],
    }
    seq = forge(hist, "quality_coordinator", "nc.raised", number, payload)
    assert_both_fail_at(hist, tmp_path, seq, f"its {member} name {cited!r}", kind)


def test_an_action_handed_back_by_sql_is_caught(hist: History, names: Capa) -> None:
    """After Anita's action was reassigned to Mohan, an UPDATE gives it back to her: the
    tables' comparison follows the chain's latest owner."""
    action = planned(hist, names.feedback, owner="anita")
    engine_reassign(hist, action, "mohan")
    assert hist.verify().ok
    with hist.db() as db:
        db.connection.execute(
            "UPDATE nc_action SET owner_id = (SELECT id FROM app_user WHERE username = 'anita') "
            "WHERE n = 1 AND nc_id = (SELECT id FROM nonconformity WHERE number = ?)",
            (names.feedback,),
        )
    assert hist.verify().problems == [
        f"table nc_action, {action}, field owner: chain says 'mohan', database says 'anita'"
    ]


# ------------------------------------------------- poor feedback, findings, dates (review r3)


def _received(hist: History, response_id: str, overall: int = 1) -> int:
    """A forged feedback.received (the quality coordinator's real key) of one response rated
    ``overall`` (1: poor by the form's rule), linked to nothing; returns its seq."""
    digest = (response_id * 4)[:64]
    ratings = {"behaviour": 3, "action_taken": 3, "timeliness": 3, "overall": overall}
    payload = {
        "file_sha256": digest,
        "file_name": "week.csv",
        "poor": POOR_RULE,
        "responses": [
            {
                "id": response_id,
                "time": f"{_today(hist.office).isoformat()}T05:00:00.000000Z",
                "ratings": ratings,
                "comment_sha256": "00" * 32,
            }
        ],
    }
    subject = f"{hist.office.code}/FEEDBACK/{digest[:12]}"
    return forge(hist, "quality_coordinator", "feedback.received", subject, payload)


def test_poor_feedback_imported_without_an_nc_is_caught(hist: History, tmp_path: Path) -> None:
    """The quality coordinator signs a week of 1-star responses and raises no NC (the import
    would have): the chain states the form's rule, so the response is held to an NC, reported
    at the event that received it once the chain ends."""
    seq = _received(hist, "0011223344556677")
    _received(hist, "8899aabbccddeeff", overall=4)  # not poor: needs no NC
    assert_caught(hist, tmp_path, seq, "response 0011223344556677 is poor by its form's rule")


def test_a_response_that_is_not_poor_linked_to_an_nc_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """A 5-star response buried in the open feedback NC."""
    good = names.responses[0]
    seq = forge(
        hist, "quality_coordinator", "nc.feedback.linked", names.feedback, {"responses": [good]}
    )
    assert_caught(hist, tmp_path, seq, f"response {good} is not poor by its form's rule")


def test_responses_linked_by_an_nc_raised_in_another_role_are_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """The clerk grabs a poor response for an NC of his own: linking responses is the quality
    coordinator's, through nc.raised as through nc.feedback.linked."""
    _received(hist, "0011223344556677")
    number = names.feedback.replace("/003", "/009")
    payload = _nc_payload(source="citizen_feedback", responses=["0011223344556677"])
    seq = forge(hist, "clerk", "nc.raised", number, payload)
    assert_caught(hist, tmp_path, seq, "only a quality coordinator raises an NC linking")


def _nc_payload(**changes: Any) -> dict[str, Any]:
    return {
        "title": "Forged",
        "description": "Forged",
        "source": "complaint",
        "severity": "minor",
        "clause": "",
        "documents": [],
        "records": [],
        "evidence": [],
        "responses": [],
        "finding": "",
        "workflow": "capa",
        "state": "raised",
        **changes,
    }


def test_a_finding_before_the_audit_s_date_is_caught(hist: History, tmp_path: Path) -> None:
    """The engine refuses a finding before the audit's day; a forged one is caught too (the
    office's zone may be a day ahead of UTC: a day's grace)."""
    audit = plan_audit(
        hist.runtime,
        office=hist.office,
        actor=hist.signers["quality_coordinator"],
        title="Later audit",
        scope="7.5.3",
        date=_today(hist.office) + timedelta(days=60),
        auditors=["audit"],
        items=[AuditItem("7.5.3", "audit")],
    ).number
    finding = {"result": "conforms", "note": "", "nc": ""}
    seq = forge(hist, "auditor", "internal_audit.finding", f"{audit}#1", finding)
    assert_caught(hist, tmp_path, seq, "before the audit's date")


@pytest.mark.parametrize(
    ("who", "severity", "fragment"),
    [
        ("clerk", "minor", "raised by 'ramesh'; the nonconformity of finding"),
        ("auditor", "observation", "a finding's nonconformity is major or minor"),
    ],
    ids=["another raiser", "an observation"],
)
def test_a_finding_s_nc_not_as_the_engine_raises_it_is_caught(
    hist: History, names: Capa, tmp_path: Path, who: str, severity: str, fragment: str
) -> None:
    """The NC a nonconformity finding raises is the auditor's, major or minor: not the
    clerk's, not a mere observation."""
    audit = _audit(hist)
    number = names.feedback.replace("/003", "/009")
    finding = {"result": "nonconformity", "note": "Register not closed", "nc": number}
    forge(hist, "auditor", "internal_audit.finding", f"{audit}#1", finding)
    payload = _nc_payload(source="internal_audit", severity=severity, finding=f"{audit}#1")
    seq = forge(hist, who, "nc.raised", number, payload)
    assert_caught(hist, tmp_path, seq, fragment)


def test_a_finding_numbered_in_other_digits_is_caught(hist: History, tmp_path: Path) -> None:
    """Item ``١`` (an Arabic-Indic one) is no item 1: numbers are read in ASCII digits."""
    audit = _audit(hist)
    finding = {"result": "conforms", "note": "", "nc": ""}
    seq = forge(hist, "auditor", "internal_audit.finding", f"{audit}#\u0661", finding)
    assert_caught(hist, tmp_path, seq, "the audit has no item '\u0661'")


def test_an_action_due_beyond_five_years_is_caught(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """Due 9999-12-31: never overdue, so never on the SP office's list."""
    engine_act(hist, names.feedback, "contain", "quality_coordinator", "Told")
    engine_act(hist, names.feedback, "analyse", "approver", "Cause")
    added = {
        "type": "corrective",
        "description": "Some day",
        "owner": "anita",
        "due": "9999-12-31",
        "document": "",
        "after_revno": -1,
    }
    seq = forge(hist, "quality_coordinator", "nc.action.added", f"{names.feedback}#A1", added)
    assert_caught(hist, tmp_path, seq, "due 9999-12-31, more than 5 years after it was added")


@pytest.mark.parametrize(
    ("day", "fragment"),
    [
        ("1999-12-31", "dated 1999-12-31, before 2000-01-01"),
        ("far", "more than 2 years after it was planned"),
        ("2026-02-29", "dated '2026-02-29', which is not a date"),
    ],
)
def test_an_audit_dated_out_of_bounds_is_caught(
    hist: History, names: Capa, tmp_path: Path, day: str, fragment: str
) -> None:
    """An audit planned in the last century, three years ahead, or on no real day."""
    if day == "far":
        day = (_today(hist.office) + timedelta(days=3 * 366)).isoformat()
    plan = {
        "title": "Out of bounds",
        "scope": "7.5.3",
        "date": day,
        "auditors": ["audit"],
        "items": [{"ref": "7.5.3", "auditor": "audit", "area_owner": ""}],
    }
    seq = forge(hist, "quality_coordinator", "internal_audit.planned", f"{names.audit}9", plan)
    assert_caught(hist, tmp_path, seq, fragment)


# --------------------------------------------------------------------------- no crash


@pytest.mark.parametrize(
    "raw",
    ["xyz", "[1]", '{"responses": [1.5]}', '{"responses": ' + "[" * 5000 + "]" * 5000 + "}"],
    ids=["not JSON", "an array", "a float", "nested too deeply"],
)
def test_a_payload_cell_written_by_sql_is_reported_not_a_crash(
    hist: History, names: Capa, raw: str
) -> None:
    """An insider writes a payload cell that is no JSON object (or holds what canonical JSON
    cannot): `qms audit verify` reports that event (altered, or not canonical), exit 6, never a
    traceback."""
    with hist.db() as db:
        seq = db.last_seq()
        db.update(seq, payload=raw)
    result = hist.verify()
    assert not result.ok
    assert result.problems[0].startswith(f"event #{seq}: "), result.problems
    done = run("-w", hist.root, "audit", "verify")
    assert done.returncode == 6, done.stdout + done.stderr


def test_an_event_dated_year_one_is_reported_not_a_crash(
    hist: History, names: Capa, tmp_path: Path
) -> None:
    """A forged action dated 0001-01-01 (its due date checked against the day before) is a
    problem at that event, online and in a bundle, not an overflow."""
    _username, full_name, role = STAFF["quality_coordinator"]
    with hist.db() as db:
        seq = db.append(
            hist.signers["quality_coordinator"],
            role=role,
            action="nc.action.added",
            subject=f"{names.feedback}#A9",
            payload={
                "type": "corrective",
                "description": "Back-dated",
                "owner": "anita",
                "due": "2099-01-01",
                "document": "",
                "after_revno": -1,
            },
            meaning="planned action",
            signer_name=full_name,
            recorded_at="0001-01-01T00:00:00.000000Z",
        )
    for where, result in verdicts(hist, tmp_path).items():
        assert not result.ok, where
        assert any(p.startswith(f"event #{seq}: ") for p in result.problems), (where, result)
