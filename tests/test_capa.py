"""Nonconformities and corrective actions (ISO 9001 clause 10.2) through the engine: the CAPA
workflow's rules enforced on the write path, every step one signed event, and nothing written
when a rule refuses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Table, func, select

from qms_engine.audit.verify import verify_office
from qms_engine.capa.actions import ActionRef, add_action, complete_action, reassign_action
from qms_engine.capa.nonconformities import NcStep, raise_nc, take_nc_transition
from qms_engine.capa.records import (
    ActionRow,
    NcRow,
    actions_of,
    list_ncs,
    load_nc,
    nc_history,
    overdue_actions,
)
from qms_engine.clock import local_today
from qms_engine.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from qms_engine.people.users import deactivate_user, revoke_roles
from qms_engine.storage.models import (
    EVENT_TABLE,
    NC_ACTION_TABLE,
    NC_STEP_TABLE,
    NC_TABLE,
)
from qms_engine.tasks import tasks_for
from qms_engine.testing import TestOffice, staff_member

if TYPE_CHECKING:
    from tests.conftest import Desk

NC1 = "PS-TEST1/NC/{year}/001"


def today(office: TestOffice) -> date:
    return local_today(office.office.timezone)


@dataclass
class Capa:
    """Raises NCs and takes them through the CAPA workflow as the office's staff."""

    office: TestOffice

    def raise_nc(self, who: str = "quality_coordinator", **given: object) -> str:
        fields: dict[str, object] = {
            "title": "GD not closed at midnight",
            "description": "The General Diary of 3 March was not closed and signed at 00:00.",
            "source": "internal_audit",
            "severity": "minor",
            "clause": "7.5.3",
        }
        fields.update(given)
        raised = raise_nc(
            self.office.runtime,
            office=self.office.office.code,
            actor=self.office.signers[who],
            **fields,  # type: ignore[arg-type]
        )
        return raised.number

    def act(self, number: str, transition: str, who: str, comment: str = "") -> NcStep:
        return take_nc_transition(
            self.office.runtime,
            number=number,
            transition=transition,
            actor=self.office.signers[who],
            comment=comment,
        )

    def add(
        self,
        number: str,
        owner: str = "author",
        *,
        who: str = "quality_coordinator",
        due: date | None = None,
        document: str = "",
        description: str = "Close the GD at midnight; the duty officer signs it",
    ) -> ActionRef:
        return add_action(
            self.office.runtime,
            number=number,
            actor=self.office.signers[who],
            type="corrective",
            description=description,
            owner=self.office.username(owner),
            due=due or today(self.office) + timedelta(days=14),
            document=document,
        )

    def done(self, action: str, who: str = "author", evidence: tuple[Path, ...] = ()) -> ActionRef:
        return complete_action(
            self.office.runtime,
            action=action,
            actor=self.office.signers[who],
            comment="GD closed at 00:00 every night this week, signed by the duty officer",
            evidence=evidence,
        )

    def to_analysed(self, number: str) -> None:
        """Contain, then analyse (actions may be added from then on)."""
        self.act(number, "contain", "quality_coordinator", "GD of 3 March closed and signed")
        self.act(number, "analyse", "approver", "No reminder at the change of duty")

    def to_planned(self, number: str) -> ActionRef:
        """Contain, analyse, add one action (owned by the author), plan."""
        self.to_analysed(number)
        action = self.add(number)
        self.act(number, "plan", "quality_coordinator")
        return action

    def nc(self, number: str) -> NcRow:
        with self.office.runtime.engine.connect() as connection:
            return load_nc(connection, number)

    def actions(self, number: str) -> list[ActionRow]:
        with self.office.runtime.engine.connect() as connection:
            return actions_of(connection, load_nc(connection, number))

    def history(self, number: str) -> list[str]:
        with self.office.runtime.engine.connect() as connection:
            return [e.action for e in nc_history(connection, self.office.office, number)]


@pytest.fixture
def capa(qms_office: TestOffice) -> Capa:
    return Capa(qms_office)


def _count(office: TestOffice, table: Table) -> int:
    with office.runtime.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def written(qms_office: TestOffice) -> Callable[[], tuple[object, ...]]:
    """Call before and after a refused request: equal results mean nothing was written."""

    def snapshot() -> tuple[object, ...]:
        counts = tuple(
            _count(qms_office, table)
            for table in (EVENT_TABLE, NC_TABLE, NC_STEP_TABLE, NC_ACTION_TABLE)
        )
        store = qms_office.runtime.store
        with qms_office.runtime.engine.connect() as connection:
            rows = tuple(connection.execute(select(NC_TABLE.c.number, NC_TABLE.c.state)).all())
        return counts, rows, tuple(store.iter_hashes())

    return snapshot


def verified(office: TestOffice) -> list[str]:
    """What ``qms audit verify`` finds wrong with the office (empty: it verifies)."""
    return verify_office(office.runtime, office.office).problems


def test_raised_nc_is_numbered_per_office_and_year_in_the_initial_state(
    qms_office: TestOffice, capa: Capa
) -> None:
    """NC numbers follow the office type's scheme, a serial per office per local year."""
    first, second = capa.raise_nc(), capa.raise_nc(who="auditor", severity="major")
    year = today(qms_office).year
    assert (first, second) == (NC1.format(year=year), f"PS-TEST1/NC/{year}/002")
    nc = capa.nc(first)
    assert (nc.state, nc.source, nc.severity, nc.clause, nc.raised_by) == (
        "raised",
        "internal_audit",
        "minor",
        "7.5.3",
        "priya",
    )
    with qms_office.runtime.engine.connect() as connection:
        assert [n.number for n in list_ncs(connection, qms_office.office)] == [first, second]
        assert [n.number for n in list_ncs(connection, qms_office.office, severity="major")] == [
            second
        ]
    assert capa.history(first) == ["nc.raised"]


def test_whole_lifecycle_raised_to_closed_each_step_signed(
    qms_office: TestOffice, capa: Capa
) -> None:
    """raised → contained → analysed → planned → implemented → verified → closed, every step
    one signed event with its meaning, the owner's action done in between."""
    number = capa.raise_nc()
    action = capa.to_planned(number)
    capa.done(action.subject)
    capa.act(number, "implement", "quality_coordinator")
    capa.act(number, "verify", "auditor", "No unclosed GD in the next 30 days")
    step = capa.act(number, "close", "approver")
    assert (step.from_state, step.to_state) == ("verified", "closed")
    nc = capa.nc(number)
    assert nc.state == "closed" and nc.closed_at is not None
    (row,) = capa.actions(number)
    assert (row.subject, row.done, row.done_by, row.implementers) == (
        f"{number}#A1",
        True,
        "anita",
        ("anita",),
    )
    assert capa.history(number) == [
        "nc.raised",
        "nc.contained",
        "nc.cause_analysed",
        "nc.action.added",
        "nc.plan_started",
        "nc.action.done",
        "nc.implementation_confirmed",
        "nc.effectiveness_verified",
        "nc.closed",
    ]
    assert verified(qms_office) == []


def test_verifier_who_implemented_an_action_is_refused(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object]
) -> None:
    """Segregation of duties: whoever implemented an action may not verify its effectiveness."""
    number = capa.raise_nc()
    capa.to_planned(number)
    action = capa.add(number, owner="quality_coordinator", description="Brief the duty officers")
    capa.done(f"{number}#A1")
    capa.done(action.subject, who="quality_coordinator")
    capa.act(number, "implement", "approver")
    before = written()
    with pytest.raises(PermissionDenied, match="implemented one of its actions") as refused:
        capa.act(number, "verify", "quality_coordinator", "Looks fine")
    assert "segregation of duties" in str(refused.value)
    assert written() == before
    capa.act(number, "verify", "auditor", "Checked 30 days of GD")
    assert verified(qms_office) == []


def test_implementing_or_closing_with_an_open_action_is_refused(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object]
) -> None:
    """No "implemented" while an action is open, nor a close: the message names the action."""
    number = capa.raise_nc()
    action = capa.to_planned(number)
    before = written()
    with pytest.raises(RuleViolation, match=f"still open: {action.subject}"):
        capa.act(number, "implement", "quality_coordinator")
    assert written() == before


def test_plan_needs_an_action(qms_office: TestOffice, capa: Capa) -> None:
    """An action plan without a single action is refused."""
    number = capa.raise_nc()
    capa.to_analysed(number)
    with pytest.raises(RuleViolation, match="at least one action"):
        capa.act(number, "plan", "quality_coordinator")


def test_reopen_then_a_new_action_then_close(qms_office: TestOffice, capa: Capa) -> None:
    """An action that did not work: reopened back to the plan, a new action, done, closed —
    and the new action must be done before closing."""
    number = capa.raise_nc()
    capa.done(capa.to_planned(number).subject)
    capa.act(number, "implement", "quality_coordinator")
    capa.act(number, "verify", "auditor", "Seemed fine")
    capa.act(number, "reopen", "auditor", "GD left open again on 20 March")
    assert capa.nc(number).state == "planned"
    second = capa.add(number, owner="author2", description="Alarm at 23:55 for the duty officer")
    assert second.subject == f"{number}#A2"
    with pytest.raises(RuleViolation, match=f"still open: {second.subject}"):
        capa.act(number, "implement", "quality_coordinator")
    capa.done(second.subject, who="author2")
    capa.act(number, "implement", "quality_coordinator")
    capa.act(number, "verify", "auditor", "No open GD for 30 days")
    capa.act(number, "close", "quality_coordinator")
    assert [(a.n, a.done) for a in capa.actions(number)] == [(1, True), (2, True)]
    assert verified(qms_office) == []


def test_sop_revision_as_an_action_done_when_it_becomes_effective(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """An action asking for a revision of an SOP is done when that revision is made effective:
    actions_of names the revision, the history shows its events, and who wrote it or made it
    effective may not verify."""
    sop = desk.new_sop("General Diary upkeep")
    desk.issue(sop)
    number = capa.raise_nc(documents=[sop])
    capa.act(number, "contain", "quality_coordinator", "Corrected")
    capa.act(number, "analyse", "approver", "The SOP does not say who closes the GD")
    action = capa.add(number, owner="author", document=sop, description="Revise the GD SOP")
    capa.act(number, "plan", "quality_coordinator")
    with pytest.raises(RuleViolation, match="not by hand"):
        capa.done(action.subject)
    revno = desk.revise(sop, reason=f"{action.subject}: the duty officer closes the GD")
    desk.act(sop, "submit")
    desk.act(sop, "approve")
    assert not capa.actions(number)[0].done  # approved is not yet in force
    desk.act(sop, "make_effective")
    (row,) = capa.actions(number)
    assert (row.done, row.fulfilled_by, row.done_by, row.after_revno) == (
        True,
        f"{sop}#{revno}",
        "priya",
        0,
    )
    assert set(row.implementers) == {"anita", "priya"}
    capa.act(number, "implement", "approver")
    with pytest.raises(PermissionDenied, match="implemented one of its actions"):
        capa.act(number, "verify", "quality_coordinator", "Made it effective myself")
    capa.act(number, "verify", "auditor", "GD closed every night since")
    history = capa.history(number)
    assert "document.revision.made_effective" in history
    assert history.index("document.revision.made_effective") > history.index("nc.action.added")
    assert verified(qms_office) == []


def test_a_draft_already_under_way_fulfils_a_document_action(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """The action counts after the revision in force when it is added: a draft of the SOP
    begun before the NC (revision 1, still a draft) fulfils it once made effective, so its
    author is not sent to start another revision (one open revision at a time); and for an
    SOP with nothing in force yet, its first issue does."""
    sop = desk.new_sop("General Diary upkeep")
    desk.issue(sop)
    revno = desk.revise(sop, reason="Already being corrected")
    fresh = desk.new_sop("Cyber desk")  # revision 0 drafted, nothing in force
    number = capa.raise_nc(documents=[sop])
    capa.to_analysed(number)
    action = capa.add(number, owner="author", document=sop, description="Revise the GD SOP")
    first = capa.add(number, owner="author", document=fresh, description="Issue the cyber SOP")
    assert [a.after_revno for a in capa.actions(number)] == [0, -1]
    desk.act(sop, "submit")
    desk.act(sop, "approve")
    desk.act(sop, "make_effective")
    desk.issue(fresh)
    done = {a.subject: a.fulfilled_by for a in capa.actions(number)}
    assert done == {action.subject: f"{sop}#{revno}", first.subject: f"{fresh}#0"}
    assert verified(qms_office) == []


def test_a_withdrawn_sop_is_fulfilled_only_by_a_revision_made_effective_later(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """With nothing in force (the SOP was withdrawn) the action counts after no revision, yet
    the old revision's issue, before the action was added, fulfils nothing: implementing is
    refused until a new revision is made effective, and the verifier agrees."""
    sop = desk.new_sop("General Diary upkeep")
    desk.issue(sop)
    desk.act(sop, "withdraw", comment="Replaced by the district SOP")
    number = capa.raise_nc(documents=[sop])
    capa.to_analysed(number)
    action = capa.add(number, owner="author", document=sop, description="Issue the GD SOP again")
    capa.act(number, "plan", "quality_coordinator")
    (row,) = capa.actions(number)
    assert (row.after_revno, row.done, row.fulfilled_by) == (-1, False, "")
    with pytest.raises(RuleViolation, match=f"still open: {action.subject}"):
        capa.act(number, "implement", "quality_coordinator")
    revno = desk.revise(sop, reason=f"{action.subject}: issued again")
    desk.issue(sop)
    assert capa.actions(number)[0].fulfilled_by == f"{sop}#{revno}"
    capa.act(number, "implement", "quality_coordinator")
    assert verified(qms_office) == []


def test_action_due_in_the_past_is_refused(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object]
) -> None:
    """A due date before today (the office's local date) is refused, nothing written."""
    number = capa.raise_nc()
    capa.to_analysed(number)
    before = written()
    with pytest.raises(RuleViolation, match="is in the past"):
        capa.add(number, due=today(qms_office) - timedelta(days=1))
    assert written() == before
    assert capa.add(number, due=today(qms_office)).n == 1


def test_acting_on_a_closed_nc_is_refused(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object]
) -> None:
    """A cancelled (or closed) NC takes no transition and no action: a clear message."""
    number = capa.raise_nc()
    capa.act(number, "cancel", "approver", "Recorded twice; see the other NC")
    before = written()
    with pytest.raises(RuleViolation, match="is cancelled: nothing more is done on it"):
        capa.act(number, "contain", "quality_coordinator", "Too late")
    with pytest.raises(RuleViolation, match="is cancelled: nothing more is done on it"):
        capa.add(number)
    assert written() == before


def test_action_owner_must_be_enrolled_and_active(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object]
) -> None:
    """An owner unknown, deactivated or holding no role in the office is refused."""
    number = capa.raise_nc()
    capa.to_analysed(number)
    admin = qms_office.signers["admin"]
    deactivate_user(
        qms_office.runtime, qms_office.office, actor=admin, username="mohan", reason="Transferred"
    )
    revoke_roles(
        qms_office.runtime, qms_office.office, actor=admin, username="rakesh", roles=["reviewer"]
    )
    before = written()
    with pytest.raises(RuleViolation, match="deactivated"):
        capa.add(number, owner="author2")
    with pytest.raises(RuleViolation, match="'rakesh' holds no role in PS-TEST1"):
        capa.add(number, owner="reviewer")
    with pytest.raises(NotFound, match="no user 'nobody'"):
        add_action(
            qms_office.runtime,
            number=number,
            actor=qms_office.signers["quality_coordinator"],
            type="corrective",
            description="x",
            owner="nobody",
            due=today(qms_office),
        )
    assert written() == before


def test_only_the_owner_marks_an_action_done_and_only_once(
    qms_office: TestOffice, capa: Capa
) -> None:
    """Someone else may not mark an action done; its owner may, once."""
    number = capa.raise_nc()
    action = capa.to_planned(number)
    with pytest.raises(PermissionDenied, match="only the owner"):
        capa.done(action.subject, who="author2")
    capa.done(action.subject)
    with pytest.raises(RuleViolation, match="already done by anita"):
        capa.done(action.subject)


def test_roles_are_enforced(qms_office: TestOffice, capa: Capa) -> None:
    """A clerk may raise an NC, but neither contain it nor plan its actions."""
    number = capa.raise_nc(who="clerk")
    with pytest.raises(PermissionDenied, match="needs role"):
        capa.act(number, "contain", "clerk", "Corrected")
    capa.to_analysed(number)
    with pytest.raises(PermissionDenied, match="plan actions"):
        capa.add(number, who="author")


def test_bad_input_is_refused_naming_the_field(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object], desk: Desk
) -> None:
    """An unknown source, an empty description, a register record as a document: refused,
    naming what is wrong, nothing written."""
    gd = desk.file_record("GD 3 March")
    before = written()
    with pytest.raises(InvalidInput, match="no source 'audit'"):
        capa.raise_nc(source="audit")
    with pytest.raises(InvalidInput, match="description is empty"):
        capa.raise_nc(description="  ")
    with pytest.raises(InvalidInput, match="title is empty"):
        capa.raise_nc(title="")
    with pytest.raises(InvalidInput, match="is a register record"):
        capa.raise_nc(documents=[gd])
    with pytest.raises(NotFound, match="PS-TEST1/SOP/999"):
        capa.raise_nc(documents=["PS-TEST1/SOP/999"])
    assert written() == before
    number = capa.raise_nc(records=[gd])
    assert capa.nc(number).records == (gd,)


def test_evidence_files_are_stored_and_named(
    qms_office: TestOffice, capa: Capa, make_docx: Callable[..., Path]
) -> None:
    """Evidence is stored write-once in the blob store and named by the signed event."""
    photo = make_docx("gd-page.docx", "GD page", "Unsigned page of 3 March")
    number = capa.raise_nc(evidence=[photo])
    (file,) = capa.nc(number).evidence
    assert file.original_filename == "gd-page.docx"
    with qms_office.runtime.store.open(file.sha256) as blob:
        assert blob.read() == photo.read_bytes()


def test_refused_nc_leaves_no_evidence_behind(
    qms_office: TestOffice,
    capa: Capa,
    make_docx: Callable[..., Path],
    written: Callable[[], object],
    tmp_path: Path,
) -> None:
    """Evidence that is not a genuine file is refused naming it; evidence of an NC refused for
    another reason is not kept: no blob, nothing staged."""
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"not a photograph")
    photo = make_docx("gd-page.docx", "GD page", "Unsigned page of 3 March")
    before = written()
    with pytest.raises(RuleViolation, match=r"photo\.jpg: the content is not a real \.jpg"):
        capa.raise_nc(evidence=[photo, fake])
    with pytest.raises(NotFound, match="PS-TEST1/SOP/999"):
        capa.raise_nc(evidence=[photo], documents=["PS-TEST1/SOP/999"])
    assert written() == before
    assert list(qms_office.runtime.store.tmp_dir.iterdir()) == []


def test_hindi_title_and_description(qms_office: TestOffice, capa: Capa) -> None:
    """Devanagari text is kept exactly, in the table and in the signed event."""
    title = "सामान्य दैनिकी मध्यरात्रि में बंद नहीं की गई"
    description = "३ मार्च की जीडी पर ड्यूटी अधिकारी के हस्ताक्षर नहीं हैं।"
    number = capa.raise_nc(title=title, description=description)
    nc = capa.nc(number)
    assert (nc.title, nc.description) == (title, description)
    with qms_office.runtime.engine.connect() as connection:
        (event,) = nc_history(connection, qms_office.office, number)
    assert (event.payload["title"], event.payload["description"]) == (title, description)
    assert verified(qms_office) == []


def test_overdue_actions_are_listed(qms_office: TestOffice, capa: Capa) -> None:
    """An open action past its due date is overdue; a done one is not."""
    number = capa.raise_nc()
    first = capa.to_planned(number)
    capa.add(number, owner="author2", due=today(qms_office) + timedelta(days=2))
    with qms_office.runtime.engine.connect() as connection:
        later = today(qms_office) + timedelta(days=20)
        overdue = overdue_actions(connection, offices=["PS-TEST1"], today=later)
        assert [a.subject for a in overdue] == [f"{number}#A2", first.subject]
        assert overdue_actions(connection, offices=None, today=today(qms_office)) == []
    capa.done(first.subject)
    with qms_office.runtime.engine.connect() as connection:
        overdue = overdue_actions(connection, offices=None, today=later)
        assert [a.subject for a in overdue] == [f"{number}#A2"]


def test_capa_chain_verifies(qms_office: TestOffice, capa: Capa, desk: Desk) -> None:
    """`qms audit verify` passes over a whole CAPA history, a document action included."""
    sop = desk.new_sop("General Diary upkeep")
    desk.issue(sop)
    number = capa.raise_nc(documents=[sop])
    capa.act(number, "contain", "quality_coordinator", "Corrected")
    capa.act(number, "analyse", "approver", "The SOP is silent")
    capa.add(number, document=sop, description="Revise the SOP")
    capa.add(number, owner="author2")
    capa.act(number, "plan", "quality_coordinator")
    capa.done(f"{number}#A2", who="author2")
    desk.revise(sop)
    desk.issue(sop)
    capa.act(number, "implement", "approver")
    capa.act(number, "verify", "auditor", "Checked")
    capa.act(number, "close", "approver")
    assert verified(qms_office) == []


# --- what needs whose action (`qms tasks`) ------------------------------------------------------


def offered(office: TestOffice, who: str, on: date | None = None) -> dict[str, list[str]]:
    """Subject → the commands offered to the user behind role key ``who``."""
    listed = tasks_for(office.runtime, office.office, office.username(who), today=on).tasks
    return {task.subject: [a.command for a in task.actions] for task in listed}


def test_nc_tasks_offer_exactly_what_the_rules_allow(qms_office: TestOffice, capa: Capa) -> None:
    """A raised NC is offered to whoever may contain or cancel it; an open action to its owner
    alone, and no implementation while it is open; whoever implemented an action is not
    offered the verification, another person is."""
    number = capa.raise_nc(title="जीडी बंद नहीं")
    assert offered(qms_office, "quality_coordinator")[number] == [
        f"qms nc act {number} contain --comment WHY --as priya",
        f"qms nc act {number} cancel --comment WHY --as priya",
    ]
    assert number not in offered(qms_office, "clerk")
    action = capa.to_planned(number)
    assert number not in offered(qms_office, "quality_coordinator")  # A1 is open
    assert offered(qms_office, "author") == {
        action.subject: [
            f"qms nc action done '{action.subject}' --comment WHAT_WAS_DONE --as anita"
        ]
    }
    capa.add(number, owner="quality_coordinator", description="Brief the duty officers")
    capa.done(action.subject)
    capa.done(f"{number}#A2", who="quality_coordinator")
    assert offered(qms_office, "quality_coordinator")[number] == [
        f"qms nc act {number} implement --as priya",
        f"qms nc act {number} cancel --comment WHY --as priya",
    ]
    capa.act(number, "implement", "approver")
    assert number not in offered(qms_office, "quality_coordinator")  # implemented A2
    assert offered(qms_office, "auditor")[number] == [
        f"qms nc act {number} verify --comment WHY --as audit",
        f"qms nc act {number} reopen --comment WHY --as audit",
    ]
    with pytest.raises(PermissionDenied):
        capa.act(number, "verify", "quality_coordinator", "Fine")
    capa.act(number, "verify", "auditor", "Checked")
    capa.act(number, "close", "approver")
    assert number not in offered(qms_office, "quality_coordinator")


def test_overdue_actions_come_first_in_their_owner_s_queue(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """An owner's open actions show their due date, overdue ones first; a document action
    offers the revision it asks for."""
    sop = desk.new_sop("General Diary upkeep")
    desk.issue(sop)
    number = capa.raise_nc()
    capa.to_analysed(number)
    late = capa.add(number, due=today(qms_office) + timedelta(days=3))
    revise = capa.add(number, document=sop, due=today(qms_office) + timedelta(days=30))
    later = today(qms_office) + timedelta(days=10)
    tasks = tasks_for(qms_office.runtime, qms_office.office, "anita", today=later).tasks
    mine = [(t.subject, t.overdue) for t in tasks if t.kind == "nc_action"]
    assert mine == [(late.subject, True), (revise.subject, False)]
    assert offered(qms_office, "author")[revise.subject] == [
        f"qms doc revise {sop} FILE --reason '{revise.subject}: WHAT_CHANGED' --as anita"
    ]
    desk.revise(sop)
    assert offered(qms_office, "author")[revise.subject] == [f"qms doc show {sop}"]


# --- when an action's owner can no longer act; reopening; service accounts ----------------------


def test_an_action_whose_owner_can_no_longer_act_is_reassigned(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object]
) -> None:
    """rakesh loses his only role after his action was planned: he can no longer mark it done,
    the quality coordinator's tasks offer to reassign it, and once reassigned (signed, with the
    reason) its new owner alone marks it done and the NC goes on to closure."""
    number = capa.raise_nc()
    capa.to_analysed(number)
    action = capa.add(number, owner="reviewer").subject
    capa.act(number, "plan", "quality_coordinator")
    revoke_roles(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["admin"],
        username="rakesh",
        roles=["reviewer"],
    )
    with pytest.raises(PermissionDenied, match="'rakesh' holds no role in PS-TEST1"):
        capa.done(action, who="reviewer")
    reassign = f"qms nc action reassign '{action}' --owner USER --comment WHY --as priya"
    assert offered(qms_office, "quality_coordinator")[action] == [reassign]
    assert action not in offered(qms_office, "author")

    def hand(owner: str, who: str = "quality_coordinator", comment: str = "Transferred") -> int:
        return reassign_action(
            qms_office.runtime,
            action=action,
            actor=qms_office.signers[who],
            owner=owner,
            comment=comment,
        ).event_seq

    deactivate_user(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["admin"],
        username="mohan",
        reason="Retired",
    )
    before = written()
    with pytest.raises(PermissionDenied, match="reassign actions"):
        hand("anita", who="author")
    with pytest.raises(RuleViolation, match="say why"):
        hand("anita", comment=" ")
    with pytest.raises(RuleViolation, match="'mohan' is deactivated"):
        hand("mohan")
    with pytest.raises(RuleViolation, match="'rakesh' holds no role in PS-TEST1"):
        hand("rakesh")
    with pytest.raises(NotFound, match="has no action A9"):
        reassign_action(
            qms_office.runtime,
            action=f"{number}#A9",
            actor=qms_office.signers["approver"],
            owner="anita",
            comment="x",
        )
    assert written() == before
    seq = hand("anita", who="approver", comment="रकेश का तबादला हो गया")
    assert capa.actions(number)[0].owner == "anita"
    with pytest.raises(RuleViolation, match=f"{action} is already anita's"):
        hand("anita")
    assert action not in offered(qms_office, "quality_coordinator")
    with pytest.raises(PermissionDenied, match="only the owner"):
        capa.done(action, who="quality_coordinator")
    capa.done(action)
    with pytest.raises(RuleViolation, match="already done by anita"):
        hand("sks")
    capa.act(number, "implement", "quality_coordinator")
    capa.act(number, "verify", "auditor", "No open GD since")
    capa.act(number, "close", "approver")
    with qms_office.runtime.engine.connect() as connection:
        event = next(e for e in nc_history(connection, qms_office.office, number) if e.seq == seq)
    assert (event.action, event.subject, event.signer_role, event.payload) == (
        "nc.action.reassigned",
        action,
        "approver",
        {"owner": "anita", "comment": "रकेश का तबादला हो गया"},
    )
    assert verified(qms_office) == []


def test_an_action_is_reassigned_only_while_the_plan_is_under_way(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """A document action changes hands like any other; once the NC is implemented its actions
    stay with whoever had them."""
    sop = desk.new_sop("General Diary upkeep")
    desk.issue(sop)
    number = capa.raise_nc()
    capa.to_analysed(number)
    document = capa.add(number, owner="author2", document=sop).subject
    reassign_action(
        qms_office.runtime,
        action=document,
        actor=qms_office.signers["quality_coordinator"],
        owner="anita",
        comment="Mohan is on leave",
    )
    assert [(a.owner, a.document) for a in capa.actions(number)] == [("anita", sop)]
    assert verified(qms_office) == []
    other = capa.raise_nc()
    action = capa.to_planned(other).subject
    capa.done(action)
    capa.act(other, "implement", "quality_coordinator")
    with pytest.raises(RuleViolation, match="actions are reassigned only while it is"):
        reassign_action(
            qms_office.runtime,
            action=action,
            actor=qms_office.signers["quality_coordinator"],
            owner="author2",
            comment="Late",
        )


def test_after_a_reopening_the_earlier_actions_no_longer_count(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object]
) -> None:
    """Reopened because the action did not work: the done action stays in the history but no
    longer counts, so implementing needs a new action, and it done."""
    number = capa.raise_nc()
    capa.done(capa.to_planned(number).subject)
    capa.act(number, "implement", "quality_coordinator")
    capa.act(number, "verify", "auditor", "Seemed fine")
    capa.act(number, "reopen", "auditor", "GD left open again on 20 March")
    assert [(a.n, a.done) for a in capa.actions(number)] == [(1, True)]
    commands = offered(qms_office, "quality_coordinator")[number]
    assert commands[0].startswith(f"qms nc action add {number} ")  # a new action, no implement
    assert not any(" implement " in command for command in commands)
    before = written()
    with pytest.raises(RuleViolation, match="'implement' needs at least one action") as refused:
        capa.act(number, "implement", "quality_coordinator")
    assert refused.value.hint and "planned before it was reopened no longer count" in (
        refused.value.hint
    )
    assert written() == before
    second = capa.add(number, owner="author2", description="Alarm at 23:55 for the duty officer")
    with pytest.raises(RuleViolation, match=f"still open: {second.subject}$"):
        capa.act(number, "implement", "quality_coordinator")
    capa.done(second.subject, who="author2")
    capa.act(number, "implement", "quality_coordinator")
    capa.act(number, "verify", "auditor", "No open GD for 30 days")
    capa.act(number, "close", "quality_coordinator")
    assert verified(qms_office) == []


def test_a_service_account_neither_raises_nor_owns_an_nc_action(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object]
) -> None:
    """The inbox's service account (enrolled with the clerk role) may not raise an NC, own an
    action, or be handed one: a person answers for each."""
    service = staff_member(
        qms_office.runtime,
        qms_office.office,
        qms_office.signers["admin"],
        "ingest",
        "Inbox service",
        ["clerk"],
        kind="service",
    )
    number = capa.raise_nc()
    action = capa.to_planned(number).subject
    before = written()
    with pytest.raises(PermissionDenied, match="'ingest' is a service account"):
        raise_nc(
            qms_office.runtime,
            office=qms_office.office.code,
            actor=service,
            title="Scanner jammed",
            description="Filed by the inbox",
            source="process_monitoring",
            severity="minor",
        )
    with pytest.raises(RuleViolation, match="'ingest' is a service account"):
        add_action(
            qms_office.runtime,
            number=number,
            actor=qms_office.signers["quality_coordinator"],
            type="corrective",
            description="x",
            owner="ingest",
            due=today(qms_office),
        )
    with pytest.raises(RuleViolation, match="'ingest' is a service account"):
        reassign_action(
            qms_office.runtime,
            action=action,
            actor=qms_office.signers["quality_coordinator"],
            owner="ingest",
            comment="x",
        )
    assert written() == before
