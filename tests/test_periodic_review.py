"""Periodic review that ends "still adequate, no change" (ISO 9001 7.5.2 c, 7.5.3): a signed
``confirm_review`` on the effective revision, which restarts its review clock.

The review falls overdue only with time, so the tests travel forward in time (time-machine moves
the process's clock: every part stays real, and the chain written then is verified then).
``confirm_review`` is a transition back into ``effective``: the revision keeps its effective
date and supersedes nothing; the next review falls due one review period from the office's
local date of the confirmation.  The tables follow the chain: an insider who moves the due date
without a signed review, or further than the review allows, is caught by ``qms audit verify``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from qms_engine.audit.bundle import export_bundle
from qms_engine.audit.verify import verify_bundle, verify_office
from qms_engine.clock import from_utc_text, utc_now, zone
from qms_engine.documents.master_list import document_detail, due_reviews, list_documents
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import PermissionDenied, RuleViolation
from qms_engine.people.users import grant_roles
from qms_engine.storage.models import EVENT_TABLE
from qms_engine.testing import TestOffice
from tests.conftest import Desk
from tests.test_audit_bundle_spec import spec_verify
from tests.test_audit_projection import REVISIONS_OF, assert_caught, tamper, verify
from tests.test_cli import invoke, run

PERIOD = timedelta(days=365)  # the police station's SOP review period
FINDING = "समीक्षा की: प्रक्रिया अब भी पर्याप्त, कोई परिवर्तन नहीं"


@pytest.fixture
def issued(desk: Desk) -> str:
    """An SOP made effective today (its first review falls due in a year)."""
    number = desk.new_sop("मालखाना प्रक्रिया")
    desk.issue(number)
    return number


@pytest.fixture
def overdue(issued: str) -> Iterator[datetime]:
    """Travel to 20:00 UTC some 400 days on, when the review is overdue: already the next day
    in the office's zone (Asia/Kolkata, +05:30), so a date taken in UTC would be a day off."""
    day = utc_now().date() + timedelta(days=400)
    moment = datetime.combine(day, time(20, 0), tzinfo=UTC)
    with time_machine.travel(moment, tick=True):
        yield moment


def local_day(office: TestOffice, moment: datetime) -> date:
    """The office's date at ``moment``."""
    return moment.astimezone(zone(office.office.timezone)).date()


def last_event(office: TestOffice) -> tuple[str, str, dict[str, object], datetime]:
    """Action, subject, payload and time of the office's newest event."""
    with office.runtime.engine.connect() as connection:
        row = connection.execute(
            select(EVENT_TABLE)
            .where(EVENT_TABLE.c.office_id == office.office.id)
            .order_by(EVENT_TABLE.c.seq.desc())
            .limit(1)
        ).one()
    return row.action, row.subject, json.loads(row.payload), from_utc_text(row.recorded_at)


def test_overdue_review_confirmed_through_the_cli_restarts_the_clock(
    qms_office: TestOffice, issued: str, overdue: datetime, tmp_path: Path
) -> None:
    """An overdue review shows in `qms doc due` and in the coordinator's `qms tasks` with the
    command to confirm it; that command signs `document.revision.reviewed` with the finding,
    moves the due date to one review period after the office's date of the confirmation,
    keeps the effective date, supersedes nothing, and the trail verifies online, as a bundle
    and under the independent verifier."""
    root = qms_office.root
    before = document_detail(qms_office.runtime, issued).revisions[0]
    assert before.effective_at is not None and before.review_due is not None
    (due,) = json.loads(invoke("-w", root, "doc", "due", "--json"))
    assert (due["number"], due["overdue"]) == (issued, True)
    tasks = json.loads(invoke("-w", root, "tasks", "--as", "priya", "--json"))["tasks"]
    (task,) = [t for t in tasks if t["kind"] == "periodic_review"]
    assert (task["subject"], task["overdue"]) == (f"{issued}#0", True)
    assert [a["command"] for a in task["actions"]] == [
        f"qms doc act {issued} confirm_review --rev 0 --comment WHY --as priya"
    ]

    shown = invoke(
        "-w", root, "doc", "act", issued, "confirm_review", "--rev", "0", "--comment", FINDING,
        "--as", "priya",
    )  # fmt: skip

    action, subject, payload, at = last_event(qms_office)
    assert (action, subject) == ("document.revision.reviewed", f"{issued}#0")
    assert (payload["transition"], payload["from"], payload["to"]) == (
        "confirm_review",
        "effective",
        "effective",
    )
    assert payload["comment"] == FINDING
    next_due = local_day(qms_office, at) + PERIOD
    assert local_day(qms_office, at) == at.date() + timedelta(days=1)  # the office's date
    assert "effective → effective" in shown
    assert f"next periodic review due {next_due.isoformat()}" in shown
    assert "superseded" not in shown
    after = document_detail(qms_office.runtime, issued).revisions[0]
    assert (after.state, after.effective_at, after.review_due) == (
        "effective",
        before.effective_at,
        next_due,
    )
    (listed,) = list_documents(qms_office.runtime, office=qms_office.office)
    assert (listed.effective_revno, listed.review_due) == (0, next_due)
    assert json.loads(invoke("-w", root, "doc", "due", "--json")) == []
    due_later = due_reviews(qms_office.runtime, qms_office.office, today=next_due)
    assert [(d.summary.number, d.days_left) for d in due_later] == [(issued, 0)]

    assert "PS-TEST1: OK" in invoke("-w", root, "audit", "verify", "--jobs=1")
    bundle = tmp_path / "bundle"
    export_bundle(qms_office.runtime, qms_office.office, bundle, include_blobs=True)
    assert verify_bundle(bundle).problems == []
    assert spec_verify(bundle).problems == []


def test_a_review_confirmed_while_a_new_revision_is_drafted_leaves_the_draft_alone(
    qms_office: TestOffice, desk: Desk, issued: str, overdue: datetime
) -> None:
    """With revision 1 in draft, `confirm_review` confirms the effective revision 0 (the only
    one it can take): the draft stays a draft, nothing is superseded, the trail verifies."""
    desk.revise(issued)
    result = take_transition(
        qms_office.runtime,
        number=issued,
        transition="confirm_review",
        actor=qms_office.signers["approver"],
        comment=FINDING,
    )
    assert (result.revno, result.from_state, result.to_state, result.superseded) == (
        0,
        "effective",
        "effective",
        [],
    )
    assert result.review_due == local_day(qms_office, utc_now()) + PERIOD
    states = [r.state for r in document_detail(qms_office.runtime, issued).revisions]
    assert states == ["effective", "draft"]
    assert verify_office(qms_office.runtime, qms_office.office).ok


def test_the_author_may_confirm_a_review_when_she_holds_the_role(
    qms_office: TestOffice, issued: str
) -> None:
    """No segregation of duties for a periodic review: the SOP's author, once she is also a
    quality coordinator, confirms it herself (the approval that put it in force was
    independent, and the signed event names her)."""
    runtime, signers = qms_office.runtime, qms_office.signers
    grant_roles(
        runtime,
        qms_office.office,
        actor=signers["admin"],
        username="anita",
        roles=["quality_coordinator"],
    )
    result = take_transition(
        runtime,
        number=issued,
        transition="confirm_review",
        actor=signers["author"],
        comment=FINDING,
    )
    assert (result.transition, result.to_state) == ("confirm_review", "effective")
    assert verify_office(runtime, qms_office.office).ok


@pytest.mark.parametrize(
    ("who", "comment", "code", "says"),
    [
        ("clerk", FINDING, 4, "needs role approver or quality_coordinator (has: clerk)"),
        ("author", FINDING, 4, "needs role approver or quality_coordinator (has: author)"),
        ("quality_coordinator", "", 5, "'confirm_review' needs a comment saying why"),
        ("quality_coordinator", "   ", 5, "'confirm_review' needs a comment saying why"),
    ],
    ids=["clerk", "author-without-the-role", "no-finding", "blank-finding"],
)
def test_confirming_needs_the_role_and_the_finding(
    qms_office: TestOffice, issued: str, who: str, comment: str, code: int, says: str
) -> None:
    """A clerk, or the SOP's author without a reviewing role, is refused (exit 4); a
    confirmation without the review's finding is refused (exit 5); nothing is written."""
    before = last_event(qms_office)
    result = run(
        "-w", qms_office.root, "doc", "act", issued, "confirm_review", "--comment", comment,
        "--as", qms_office.username(who),
    )  # fmt: skip
    assert result.returncode == code, result.stderr
    assert says in result.stderr
    with pytest.raises(PermissionDenied if code == 4 else RuleViolation, match=re.escape(says)):
        take_transition(
            qms_office.runtime,
            number=issued,
            transition="confirm_review",
            actor=qms_office.signers[who],
            comment=comment,
        )
    assert last_event(qms_office) == before


def _state_of_issued(number: str) -> str:
    return f"{REVISIONS_OF} WHERE d.number = '{number}'"


def test_an_overdue_review_cleared_by_sql_is_caught(
    qms_office: TestOffice, issued: str, overdue: datetime
) -> None:
    """An insider who pushes an overdue review's due date on by SQL, with no signed review,
    is caught: the chain says the date the revision became effective sets it."""
    row = document_detail(qms_office.runtime, issued).revisions[0]
    assert row.review_due is not None
    pushed = (local_day(qms_office, overdue) + PERIOD).isoformat()
    tamper(
        qms_office,
        f"UPDATE revision_state SET review_due = '{pushed}' "
        f"WHERE revision_id IN ({_state_of_issued(issued)})",
    )
    assert_caught(
        verify(qms_office),
        f"table revision_state, {issued}#0, field review_due: chain says "
        f"'{row.review_due.isoformat()}', database says '{pushed}'",
    )


def test_a_confirmed_review_rewritten_by_sql_is_caught(
    qms_office: TestOffice, issued: str, overdue: datetime
) -> None:
    """After a signed confirmation, an insider who moves the next due date a further year
    on, or sets the state's entry time back to hide when it was reviewed, is caught."""
    take_transition(
        qms_office.runtime,
        number=issued,
        transition="confirm_review",
        actor=qms_office.signers["quality_coordinator"],
        comment=FINDING,
    )
    _action, _subject, _payload, at = last_event(qms_office)
    confirmed = (local_day(qms_office, at) + PERIOD).isoformat()
    further = (local_day(qms_office, at) + 2 * PERIOD).isoformat()
    tamper(
        qms_office,
        f"UPDATE revision_state SET review_due = '{further}', entered_at = effective_at "
        f"WHERE revision_id IN ({_state_of_issued(issued)})",
    )
    result = verify(qms_office)
    assert_caught(
        result,
        f"table revision_state, {issued}#0, field review_due: chain says '{confirmed}', "
        f"database says '{further}'",
    )
    assert any(f"{issued}#0, field entered_at" in problem for problem in result.problems)


def test_workflow_show_says_which_transition_restarts_the_review_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`qms wf show sop-revision` marks `confirm_review` (effective → effective) as the
    transition that restarts the review clock, and no other."""
    monkeypatch.setenv("COLUMNS", "200")  # one line per transition
    rows = invoke("wf", "show", "sop-revision").splitlines()
    marked = [row.split()[0] for row in rows if "restarts review clock" in row]
    assert marked == ["confirm_review"]
