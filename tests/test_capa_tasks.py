"""`qms tasks` shows the CAPA work nobody would otherwise see, and offers what each person can
really do (review 12, items 6, 7, 8 and 18).

An NC whose state accepts actions but has none waits for whoever may plan one; an NC nobody
may verify (everyone who may implemented one of its actions) waits for its quality
coordinators, who have an admin grant the auditor role to someone else; a document action's
owner who may not revise the document is told who may; after a discarded draft the owner
revises again, while a draft under way is followed; and a title with one long unbroken word
keeps the table within 80 columns.
"""

from __future__ import annotations

from datetime import date

from qms_engine.people.users import grant_roles
from qms_engine.tasks import Task, tasks_for
from qms_engine.testing import TestOffice
from tests.conftest import Desk
from tests.test_capa import Capa, capa
from tests.test_daily_cli import pasted, shown, widest

__all__ = ["capa"]  # the fixture, used by name


def queue(office: TestOffice, username: str, on: date | None = None) -> dict[str, Task]:
    """``username``'s tasks in the test office, by subject."""
    listed = tasks_for(office.runtime, office.office, username, today=on).tasks
    return {task.subject: task for task in listed}


def commands(task: Task) -> list[str]:
    return [action.command for action in task.actions]


def test_an_nc_with_no_action_waits_for_whoever_may_plan_one(
    qms_office: TestOffice, capa: Capa
) -> None:
    """An analysed NC with no action is a task for the quality coordinator and the approvers
    (who may add actions), offering `qms nc action add …` first; not for the author; once an
    action is planned, the task offers the plan step instead."""
    number = capa.raise_nc()
    capa.to_analysed(number)
    task = queue(qms_office, "priya")[number]
    assert commands(task)[0] == (
        f"qms nc action add {number} --type 'immediate|corrective|preventive|improvement' "
        "--description WHAT_IS_TO_BE_DONE --owner USER --due YYYY-MM-DD --as priya"
    )
    assert task.note == "no action planned yet: add one"
    assert commands(task)[1:] == [f"qms nc act {number} cancel --comment WHY --as priya"]
    assert number in queue(qms_office, "sks") and number not in queue(qms_office, "anita")
    capa.add(number)
    task = queue(qms_office, "priya")[number]
    assert commands(task)[0] == f"qms nc act {number} plan --as priya" and not task.note


def test_an_nc_nobody_may_verify_waits_for_the_quality_coordinators(
    qms_office: TestOffice, capa: Capa
) -> None:
    """Every person who may verify (quality coordinator, approvers, auditor) implemented an
    action: the quality coordinator is told nobody may verify and given the command that
    grants the auditor role; once someone who implemented nothing holds it, that person is
    offered the verification and the coordinator's task is gone."""
    number = capa.raise_nc()
    capa.to_analysed(number)
    owners = ("quality_coordinator", "approver", "approver2", "auditor")
    for owner in owners:
        capa.add(number, owner=owner)
    capa.act(number, "plan", "quality_coordinator")
    for n, owner in enumerate(owners, 1):
        capa.done(f"{number}#A{n}", who=owner)
    capa.act(number, "implement", "approver")
    task = queue(qms_office, "priya")[number]
    assert task.note == (
        "nobody may verify it: grant the auditor role to someone who implemented none of its "
        "actions"
    )
    assert commands(task) == ["qms --office PS-TEST1 user grant USER auditor --as ADMIN"]
    assert number not in queue(qms_office, "anita")
    grant_roles(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["admin"],
        username="anita",
        roles=["auditor"],
    )
    assert number not in queue(qms_office, "priya")
    assert commands(queue(qms_office, "anita")[number])[0] == (
        f"qms nc act {number} verify --comment WHY --as anita"
    )


def test_a_document_action_owner_who_may_not_revise_is_told_who_may(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """An approver owning an action that asks for an SOP's revision (authors write SOPs) is
    not offered `qms doc revise`: they follow the SOP, and are told which role revises it and
    who holds it."""
    sop = desk.new_sop()
    desk.issue(sop)
    number = capa.raise_nc()
    capa.to_analysed(number)
    action = capa.add(number, owner="approver", document=sop)
    task = queue(qms_office, "sks")[action.subject]
    assert commands(task) == [f"qms doc show {sop}"]
    assert task.note == f"revising {sop} needs the author role, which you lack: ask anita, mohan"


def test_after_a_discarded_draft_the_owner_revises_again(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """A draft under way is followed (`qms doc show`, saying which revision); once discarded,
    the owner is offered `qms doc revise` again."""
    sop = desk.new_sop()
    desk.issue(sop)
    number = capa.raise_nc()
    capa.to_analysed(number)
    action = capa.add(number, document=sop)
    revise = f"qms doc revise {sop} FILE --reason '{action.subject}: WHAT_CHANGED' --as anita"
    assert commands(queue(qms_office, "anita")[action.subject]) == [revise]
    revno = desk.revise(sop)
    task = queue(qms_office, "anita")[action.subject]
    assert commands(task) == [f"qms doc show {sop}"]
    assert task.note == f"revision {revno} is under way (draft)"
    desk.act(sop, "discard", "author", "Wrong file")
    task = queue(qms_office, "anita")[action.subject]
    assert commands(task) == [revise] and not task.note


def test_a_long_unbroken_word_in_a_title_keeps_the_queue_within_80_columns(
    qms_office: TestOffice, capa: Capa
) -> None:
    """An NC titled with a 120-character word: the task table fits 80 columns, its number
    whole on a line and the word folded under it; the commands paste back whole."""
    word = "मालखाना" * 5 + "x" * 85
    number = capa.raise_nc(title=f"Register {word} unsigned")
    text = shown(qms_office, "tasks", "--as", "priya")
    assert widest(text) <= 80, text
    assert any(line.split()[-1:] == [number] for line in text.splitlines()), text
    assert f"qms nc act {number} contain --comment WHY --as priya" in pasted(text)
