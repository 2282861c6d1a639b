"""Reading a nonconformity as it is (review 12, items 9, 10, 12, 13 and 19).

`qms nc show`, `qms internal-audit show` and `qms doc show` print user text harmless to a
terminal (no escape sequence, no bidi override); a cancelled NC's open action is "not done",
never overdue, and a finished NC offers no action to add; an NC's signed history holds the
audit finding that raised it and a fulfilling revision's events only up to the one that
fulfilled the action; its JSON names events as `qms log --json` does; `qms wf show capa`
shows what the CAPA workflow's rules are.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from qms_engine.capa.internal_audits import AuditItem, plan_audit, record_finding
from qms_engine.capa.records import NcEvent, actions_of, load_nc, nc_history
from qms_engine.clock import local_today
from qms_engine.testing import TestOffice
from tests.conftest import Desk
from tests.test_capa import Capa, capa
from tests.test_cli_nc import add_action, as_json, today
from tests.test_cli_output import column_texts
from tests.test_daily_cli import shown, widest

__all__ = ["capa"]  # the fixture, used by name

EVIL_TITLE = "Evil \x1b[2J\x1b[31mRED"
EVIL_TEXT = "\x1b[31mred\u202eevil\x07"


def _harmless(text: str) -> bool:
    """No escape, bell or bidi override left in what a terminal is given."""
    return not any(char in text for char in ("\x1b", "\x07", "\u202e"))


def test_control_characters_in_headings_and_free_text_are_made_harmless(
    qms_office: TestOffice, desk: Desk
) -> None:
    """An NC's title and description, an audit's title and scope and an SOP's title carrying
    escape sequences and a bidi override are printed with each control shown as �."""
    raised = as_json(
        qms_office, "nc", "raise", "--title", EVIL_TITLE, "--description", EVIL_TEXT,
        "--source", "complaint", "--severity", "minor", "--as", "priya",
    )  # fmt: skip
    text = shown(qms_office, "nc", "show", raised["number"])
    assert _harmless(text) and "Evil \ufffd[2J\ufffd[31mRED" in text, text
    assert "\ufffd[31mred\ufffdevil" in text
    audit = plan_audit(
        qms_office.runtime,
        office=qms_office.office,
        actor=qms_office.signers["quality_coordinator"],
        title=EVIL_TITLE,
        scope=EVIL_TEXT,
        date=today(qms_office),
        auditors=["audit"],
        items=[AuditItem("7.5.3", "audit")],
    )
    text = shown(qms_office, "internal-audit", "show", audit.number)
    assert _harmless(text) and "Scope: \ufffd[31mred" in text, text
    sop = desk.new_sop(EVIL_TITLE, path=desk.docx("SOP"))
    text = shown(qms_office, "doc", "show", sop)
    assert _harmless(text) and f"{sop} — Evil \ufffd[2J" in text, text


def test_a_finished_nc_shows_no_overdue_action_and_no_hint(
    qms_office: TestOffice, capa: Capa
) -> None:
    """A cancelled NC's open action is "not done: NC cancelled" (however late), and a
    cancelled NC with no action says so without offering `qms nc action add`."""
    number = capa.raise_nc()
    capa.to_analysed(number)
    capa.add(number)
    capa.act(number, "cancel", "quality_coordinator", "Raised twice")
    text = shown(qms_office, "nc", "show", number)
    assert [cell for cell, _ in column_texts(text, "Actions", 4)] == ["not done: NC cancelled"]
    bare = capa.raise_nc()
    capa.act(bare, "cancel", "quality_coordinator", "Not a nonconformity")
    text = shown(qms_office, "nc", "show", bare)
    assert "Actions: none." in text and "qms nc action add" not in text


def test_history_holds_the_finding_that_raised_it(qms_office: TestOffice, capa: Capa) -> None:
    """The audit finding's signed event (it names the NC) opens the history of the NC it
    raised; `nc show` says "recorded finding AUDIT#1" with the finding's note."""
    office = qms_office
    audit = plan_audit(
        office.runtime,
        office=office.office,
        actor=office.signers["quality_coordinator"],
        title="Clause 7.5",
        scope="Registers",
        date=today(office),
        auditors=["audit"],
        items=[AuditItem("7.5.3", "audit", "priya")],
    )
    found = record_finding(
        office.runtime,
        audit=audit.number,
        item=1,
        actor=office.signers["auditor"],
        result="nonconformity",
        note="Seal numbers missing",
    )
    history = [(e.action, e.subject) for e in history_of(office, found.nc)]
    assert history[:2] == [
        ("internal_audit.finding", f"{audit.number}#1"),
        ("nc.raised", found.nc),
    ]
    text = shown(office, "nc", "show", found.nc)
    what = [cell for cell, _ in column_texts(text, "Signed history", 3)]
    details = [cell for cell, _ in column_texts(text, "Signed history", 4)]
    assert what[0] == f"recorded finding {audit.number}#1"
    assert details[0] == "nonconformity: Seal numbers missing"


def history_of(office: TestOffice, number: str) -> list[NcEvent]:
    """NC ``number``'s signed history, as the engine reads it."""
    with office.runtime.engine.connect() as connection:
        return nc_history(connection, office.office, number)


def test_history_of_a_revision_stops_where_it_fulfilled_the_action(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """The revision that fulfilled a document action is in the NC's history up to the event
    that made it effective; what happens to it later (superseded by the next revision) is
    the document's history, not the NC's."""
    sop = desk.new_sop("General Diary upkeep")
    desk.issue(sop)
    number = capa.raise_nc(documents=[sop])
    capa.to_analysed(number)
    capa.add(number, document=sop, description="Revise the GD SOP")
    capa.act(number, "plan", "quality_coordinator")
    desk.revise(sop)
    desk.issue(sop)  # revision 1 fulfils A1
    with qms_office.runtime.engine.connect() as connection:
        (action,) = actions_of(connection, load_nc(connection, number))
    desk.revise(sop)
    desk.issue(sop)  # revision 2 supersedes revision 1
    revisions = [e for e in history_of(qms_office, number) if e.subject.startswith(f"{sop}#")]
    assert {e.subject for e in revisions} == {f"{sop}#1"}
    assert revisions[-1].seq == action.done_seq
    assert revisions[-1].action == "document.revision.made_effective"
    log = json.loads(shown(qms_office, "log", "--document", sop, "--limit", "100", "--json"))
    assert ("document.revision.superseded", f"{sop}#1") in {
        (e["action"], e["subject"]) for e in log
    }  # in the chain, not in the NC's history


def test_json_names_history_events_as_the_log_does(qms_office: TestOffice) -> None:
    """`nc show --json` history items carry the keys `qms log --json` gives an event
    (recorded_at, actor, signer_role …), not keys of their own."""
    raised = as_json(
        qms_office, "nc", "raise", "--title", "GD not closed", "--description", "3 March",
        "--source", "complaint", "--severity", "minor", "--as", "priya",
    )  # fmt: skip
    (event,) = as_json(qms_office, "nc", "show", raised["number"])["history"]
    assert set(event) == {
        "seq",
        "recorded_at",
        "actor",
        "signer_role",
        "meaning",
        "action",
        "subject",
        "payload",
    }
    logged = json.loads(shown(qms_office, "log", "--limit", "1", "--json"))[0]
    assert set(event) <= set(logged)
    assert (event["seq"], event["signer_role"]) == (logged["seq"], logged["signer_role"])
    same_time = datetime.fromisoformat(event["recorded_at"])
    assert same_time == datetime.fromisoformat(logged["recorded_at"])


def test_wf_show_capa_says_what_its_rules_are(qms_office: TestOffice) -> None:
    """The subject it moves, the states that accept actions, each transition's condition on
    the NC's actions, and who `implementer` and `audited` are; within 80 columns."""
    text = shown(qms_office, "wf", "show", "capa")
    flat = " ".join(text.split())
    assert "Moves: nonconformities (CAPA); initial state: raised" in flat
    assert flat.count("accepts actions") == 2
    rules = dict(
        zip(
            (cell for cell, _ in column_texts(text, "Transitions", 0)),
            (cell for cell, _ in column_texts(text, "Transitions", 4)),
            strict=True,
        )
    )
    assert rules["plan"] == "needs an action planned"
    assert rules["implement"] == "needs every action done"
    assert "not by implementer" in rules["verify"]
    assert "implementer: whoever did one of the NC's actions" in flat
    assert widest(text) <= 80
    assert "Moves: revisions" in shown(qms_office, "wf", "show", "sop-revision")


def test_an_action_added_or_done_tells_a_script_what_it_is(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """`nc action add --json` (and `done`) give the office, NC, subject, number, type, owner,
    due date, document (stored as the document spells it: any letter case is taken) and the
    event; `nc act --json` the office too."""
    sop = desk.new_sop("General Diary upkeep")
    number = capa.raise_nc()
    capa.to_analysed(number)
    due = local_today(qms_office.office.timezone) + timedelta(days=9)
    added = add_action(qms_office, number, "anita", due, "--document", sop.lower())
    assert added == {
        "office": "PS-TEST1",
        "nc": number,
        "subject": f"{number}#A1",
        "n": 1,
        "type": "corrective",
        "owner": "anita",
        "due": due.isoformat(),
        "document": sop,
        "event_seq": added["event_seq"],
    }
    step = as_json(qms_office, "nc", "act", number, "plan", "--as", "priya")
    assert (step["office"], step["number"], step["to_state"]) == ("PS-TEST1", number, "planned")
