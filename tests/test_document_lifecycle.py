"""The life of a controlled document (ISO 9001 clause 7.5.2/7.5.3): drafted, reviewed, approved,
made effective, superseded by its next revision, withdrawn and archived."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from qms_engine.clock import zone
from qms_engine.documents.master_list import document_detail, due_reviews, list_documents
from qms_engine.documents.revisions import create_document, revise_document
from qms_engine.errors import RuleViolation
from qms_engine.testing import TestOffice

if TYPE_CHECKING:
    from tests.conftest import Desk, Stored

SOP1 = "PS-TEST1/SOP/001"


def states(office: TestOffice, number: str) -> list[tuple[int, str]]:
    """(revision, state) of every revision of ``number``, oldest first."""
    return [(r.revno, r.state) for r in document_detail(office.runtime, number).revisions]


def actions(office: TestOffice, number: str) -> list[str]:
    """The audit actions about ``number``, in chain order."""
    return [e.action for e in document_detail(office.runtime, number).history]


def test_new_sop_is_revision_zero_in_draft(qms_office: TestOffice, desk: Desk) -> None:
    """A new SOP is numbered by the plugin's scheme and starts as revision 0 in draft."""
    revision = create_document(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["author"],
        type_code="SOP",
        title="Station office procedure",
        path=desk.docx(),
    )
    assert (revision.number, revision.revno, revision.state) == (SOP1, 0, "draft")
    assert states(qms_office, SOP1) == [(0, "draft")]
    assert actions(qms_office, SOP1) == ["document.created", "document.revision.created"]


def test_numbers_follow_the_plugin_scheme_in_sequence(desk: Desk) -> None:
    """SOP numbers are office/SOP/serial, the serial counting up from 001."""
    assert [desk.new_sop(f"SOP {n}") for n in range(3)] == [
        "PS-TEST1/SOP/001",
        "PS-TEST1/SOP/002",
        "PS-TEST1/SOP/003",
    ]


def test_full_lifecycle_draft_to_effective(qms_office: TestOffice, desk: Desk) -> None:
    """submit → approve → make_effective moves revision 0 through each state, one event each."""
    number = desk.new_sop()
    seen = []
    for step in ("submit", "approve", "make_effective"):
        result = desk.act(number, step)
        seen.append((result.from_state, result.to_state, states(qms_office, number)))
    assert seen == [
        ("draft", "in_review", [(0, "in_review")]),
        ("in_review", "approved", [(0, "approved")]),
        ("approved", "effective", [(0, "effective")]),
    ]
    assert actions(qms_office, number) == [
        "document.created",
        "document.revision.created",
        "document.revision.authored",
        "document.revision.approved",
        "document.revision.made_effective",
    ]
    (summary,) = list_documents(qms_office.runtime, office=qms_office.office)
    assert (
        summary.effective_revno,
        summary.latest_revno,
        summary.latest_state,
    ) == (0, 0, "effective")


def test_revise_creates_next_revision_in_draft(qms_office: TestOffice, desk: Desk) -> None:
    """Revising an effective SOP adds revision 1 in draft; revision 0 stays effective meanwhile."""
    number = desk.new_sop()
    desk.issue(number)
    assert desk.revise(number) == 1
    assert states(qms_office, number) == [(0, "effective"), (1, "draft")]


def test_making_revision_effective_supersedes_the_previous_one(
    qms_office: TestOffice, desk: Desk
) -> None:
    """Making revision 1 effective supersedes revision 0 in the same transaction, with an event."""
    number = desk.new_sop()
    desk.issue(number)
    desk.revise(number)
    result = desk.issue(number)
    assert result.superseded == [0]
    assert states(qms_office, number) == [(0, "superseded"), (1, "effective")]
    history = document_detail(qms_office.runtime, number).history
    (made_effective,) = [e for e in history if e.action == "document.revision.made_effective"][1:]
    (superseded,) = [e for e in history if e.action == "document.revision.superseded"]
    assert (f"{number}#0", made_effective.seq + 1) == (superseded.subject, superseded.seq)
    assert superseded.payload == {
        "from": "effective",
        "to": "superseded",
        "by_revision": 1,
    }
    (summary,) = list_documents(qms_office.runtime, office=qms_office.office)
    assert (
        summary.effective_revno,
        summary.latest_revno,
        summary.latest_state,
    ) == (1, 1, "effective")


def test_never_two_effective_revisions_over_many_cycles(qms_office: TestOffice, desk: Desk) -> None:
    """Over repeated revise/issue cycles (some rejected once), exactly one revision is effective."""
    number = desk.new_sop()
    desk.issue(number)
    for cycle in range(1, 6):
        desk.revise(number)
        if cycle % 2:
            desk.act(number, "submit")
            desk.act(number, "reject", comment=f"cycle {cycle}: fix the wording")
        desk.issue(number)
        current = states(qms_office, number)
        assert [(cycle, "effective")] == [(rev, s) for rev, s in current if s == "effective"]
        assert {"superseded"} == {s for rev, s in current if rev < cycle}
        (summary,) = list_documents(qms_office.runtime, office=qms_office.office)
        assert cycle == summary.effective_revno


def test_withdraw_then_archive(qms_office: TestOffice, desk: Desk) -> None:
    """An effective SOP can be withdrawn (with a reason) to obsolete, then archived."""
    number = desk.new_sop()
    desk.issue(number)
    desk.act(number, "withdraw", comment="Replaced by the district-wide SOP")
    assert states(qms_office, number) == [(0, "obsolete")]
    desk.act(number, "archive")
    assert states(qms_office, number) == [(0, "archived")]
    (summary,) = list_documents(qms_office.runtime, office=qms_office.office)
    assert (summary.effective_revno, summary.latest_state) == (None, "archived")


def test_withdraw_needs_a_comment(desk: Desk) -> None:
    """Withdrawing without saying why is refused."""
    number = desk.new_sop()
    desk.issue(number)
    with pytest.raises(RuleViolation, match="comment"):
        desk.act(number, "withdraw")


def test_second_open_draft_is_refused_and_nothing_written(
    qms_office: TestOffice, desk: Desk, stored: Callable[[], Stored]
) -> None:
    """While revision 1 is open, starting revision 2 is refused and writes nothing."""
    number = desk.new_sop()
    desk.issue(number)
    desk.revise(number)
    before = stored()
    with pytest.raises(RuleViolation, match="already has an open revision 1"):
        desk.revise(number)
    assert before == stored()
    assert states(qms_office, number) == [(0, "effective"), (1, "draft")]


def test_identical_content_as_revision_is_refused(
    qms_office: TestOffice, desk: Desk, stored: Callable[[], Stored]
) -> None:
    """A revision whose bytes equal an earlier revision's is refused, naming the file."""
    first = desk.docx("SOP", "Same words")
    create_document(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["author"],
        type_code="SOP",
        title="SOP",
        path=first,
    )
    desk.issue(SOP1)
    again = first.with_name("same-again.docx")
    shutil.copyfile(first, again)
    before = stored()
    with pytest.raises(RuleViolation, match=r"same-again\.docx is identical to revision 0"):
        revise_document(
            qms_office.runtime,
            actor=qms_office.signers["author"],
            number=SOP1,
            path=again,
            reason="No real change",
        )
    assert before == stored()


def test_review_due_is_effective_date_plus_review_period(
    qms_office: TestOffice, desk: Desk
) -> None:
    """The review falls due 365 days after the day (in the office's zone) it became effective."""
    number = desk.new_sop()
    desk.issue(number)
    (revision,) = document_detail(qms_office.runtime, number).revisions
    assert revision.effective_at is not None
    effective_day = revision.effective_at.astimezone(zone(qms_office.office.timezone)).date()
    assert effective_day + timedelta(days=365) == revision.review_due
    (summary,) = list_documents(qms_office.runtime, office=qms_office.office)
    assert revision.review_due == summary.review_due


def test_due_reviews_lists_overdue_document_in_the_future(
    qms_office: TestOffice, desk: Desk
) -> None:
    """Two years on, the effective SOP's review is overdue; today it is not due at all."""
    number = desk.new_sop()
    desk.issue(number)
    assert due_reviews(qms_office.runtime, qms_office.office) == []
    later = date.today() + timedelta(days=730)
    (due,) = due_reviews(qms_office.runtime, qms_office.office, today=later)
    assert (number, True) == (due.summary.number, due.overdue)
    assert due.summary.review_due is not None
    assert (due.summary.review_due - later).days == due.days_left


def test_draft_is_not_due_for_review(qms_office: TestOffice, desk: Desk) -> None:
    """Only effective revisions have a review date: a draft never shows up as due."""
    desk.new_sop()
    later = date.today() + timedelta(days=730)
    assert due_reviews(qms_office.runtime, qms_office.office, today=later) == []
