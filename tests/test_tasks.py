"""`qms tasks`: what needs a person's action now, by their roles, never work they may not do.

Revision and record tasks come from the workflow definitions through the write path's own
rules, so each test also takes the action a task offers (or fails to take one it withholds)
through the engine: what the queue shows and what the engine allows are the same thing.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from qms_engine.cli import cli
from qms_engine.clock import local_text, utc_now, zone
from qms_engine.documents.revisions import adopt_revision
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import PermissionDenied
from qms_engine.people.users import deactivate_user, grant_roles
from qms_engine.storage.models import WORKFLOW_TABLE
from qms_engine.tasks import Task, tasks_for, waiting_states
from qms_engine.testing import TestOffice
from tests.conftest import Desk
from tests.ingest_fixtures import (
    IngestDesk,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
)
from tests.test_cli import invoke, run


def queue(office: TestOffice, who: str) -> list[Task]:
    """The tasks of the user behind role key ``who`` (``"approver"`` → sks)."""
    return tasks_for(office.runtime, office.office, office.username(who)).tasks


def offered(office: TestOffice, who: str) -> dict[str, tuple[str, ...]]:
    """Subject → the actions offered to ``who``."""
    return {task.subject: tuple(a.name for a in task.actions) for task in queue(office, who)}


def take(office: TestOffice, task: Task, action: str) -> None:
    """Take a task's action exactly as its command says (number, transition, --rev, --as)."""
    (chosen,) = [a for a in task.actions if a.name == action]
    words = shlex.split(chosen.command)
    assert words[:3] == ["qms", "doc", "act"], chosen.command
    assert words[words.index("--as") + 1] == task.user
    who = next(key for key, signer in office.signers.items() if signer.username == task.user)
    take_transition(
        office.runtime,
        number=words[3],
        transition=words[4],
        actor=office.signers[who],
        revno=int(words[words.index("--rev") + 1]),
        comment="checked" if "--comment" in words else "",
    )


def test_waiting_states_come_from_the_workflow_definitions(qms_office: TestOffice) -> None:
    """A revision waits while on its way to being in force or finished; resting states (in
    force, superseded, obsolete) are not a queue."""
    workflows = qms_office.runtime.plugins.workflows
    assert waiting_states(workflows["sop-revision"]) == {"draft", "in_review", "approved"}
    assert waiting_states(workflows["record-filing"]) == {"filed"}


def test_two_people_see_different_queues(qms_office: TestOffice, desk: Desk) -> None:
    """The author sees her draft to submit; once submitted, the approvers see it to approve or
    reject and the author no longer sees it; taking the offered command works."""
    number = desk.new_sop("बीट गश्त की प्रक्रिया")
    subject = f"{number}#0"
    assert offered(qms_office, "author")[subject][0] == "submit"
    assert subject not in offered(qms_office, "approver")
    (draft,) = [t for t in queue(qms_office, "author") if t.subject == subject]
    take(qms_office, draft, "submit")
    assert subject not in offered(qms_office, "author")
    (task,) = queue(qms_office, "approver")
    assert (task.kind, task.state, task.title) == ("revision", "in_review", "बीट गश्त की प्रक्रिया")
    assert [a.name for a in task.actions] == ["approve", "reject"]
    assert task.actions[0].command == f"qms doc act {number} approve --rev 0 --as sks"
    assert "--comment WHY" in task.actions[1].command
    assert offered(qms_office, "reviewer") == {subject: ("reject",)}
    take(qms_office, task, "approve")
    assert offered(qms_office, "approver") == {subject: ("make_effective", "reject")}
    assert offered(qms_office, "quality_coordinator") == {subject: ("make_effective",)}
    assert queue(qms_office, "clerk") == []


def test_author_never_sees_approving_her_own_revision(qms_office: TestOffice, desk: Desk) -> None:
    """The SHO, also an author, writes and submits an SOP: another approver is offered it, he
    is not (the engine would refuse him: segregation of duties)."""
    runtime, s = qms_office.runtime, qms_office.signers
    grant_roles(runtime, qms_office.office, actor=s["admin"], username="sks", roles=["author"])
    number = desk.new_sop(who="approver")
    desk.act(number, "submit", who="approver")
    assert f"{number}#0" not in offered(qms_office, "approver")
    (task,) = queue(qms_office, "approver2")
    assert [a.name for a in task.actions] == ["approve", "reject"]
    with pytest.raises(PermissionDenied, match="wrote this revision"):
        desk.act(number, "approve", who="approver")
    take(qms_office, task, "approve")


def test_submitter_never_sees_approving_what_they_submitted(
    qms_office: TestOffice, desk: Desk
) -> None:
    """An approver who also holds the author role submits someone else's draft: he may still
    return it (reject) but is not offered approving it, which the engine refuses him."""
    runtime, s = qms_office.runtime, qms_office.signers
    grant_roles(runtime, qms_office.office, actor=s["admin"], username="sks", roles=["author"])
    number = desk.new_sop()
    desk.act(number, "submit", who="approver")
    (task,) = queue(qms_office, "approver")
    assert [a.name for a in task.actions] == ["reject"]
    with pytest.raises(PermissionDenied, match="took 'submit' on this revision"):
        desk.act(number, "approve", who="approver")
    assert offered(qms_office, "approver2") == {f"{number}#0": ("approve", "reject")}


def test_records_to_verify_go_to_others_than_who_filed_them(
    qms_office: TestOffice, desk: Desk
) -> None:
    """A GD entry the clerk filed waits for a reviewer or the quality coordinator to verify it;
    the clerk who filed it is not offered it (she may not verify her own entry)."""
    subject = f"{desk.file_record('रात्रि गश्त रवानगी')}#0"
    grant_roles(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["admin"],
        username="ramesh",
        roles=["reviewer"],
    )
    assert subject not in offered(qms_office, "clerk")
    (task,) = queue(qms_office, "reviewer")
    assert (task.kind, task.subject, [a.name for a in task.actions]) == (
        "record",
        subject,
        ["verify"],
    )
    assert offered(qms_office, "quality_coordinator") == {subject: ("verify",)}
    take(qms_office, task, "verify")
    assert queue(qms_office, "reviewer") == queue(qms_office, "quality_coordinator") == []


def test_periodic_reviews_due_go_to_whoever_may_confirm_them_overdue_first(
    qms_office: TestOffice, desk: Desk
) -> None:
    """An effective SOP whose review falls due within 30 days is a task for those who may
    confirm it after reviewing (quality coordinator, approvers); once the date has passed it is
    overdue and comes before older work.  The task offers `confirm_review`, a real command."""
    waiting = desk.new_sop()
    desk.act(waiting, "submit")
    desk.act(waiting, "approve")
    number = desk.new_sop()
    desk.issue(number)
    office = qms_office.office
    today = utc_now().astimezone(zone(office.timezone)).date()
    user = qms_office.username("quality_coordinator")
    soon = tasks_for(qms_office.runtime, office, user, today=today + timedelta(days=350)).tasks
    assert [(t.kind, t.overdue) for t in soon] == [("revision", False), ("periodic_review", False)]
    late = tasks_for(qms_office.runtime, office, user, today=today + timedelta(days=400)).tasks
    assert [(t.kind, t.overdue) for t in late] == [("periodic_review", True), ("revision", False)]
    assert late[0].due == today + timedelta(days=365)
    assert late[0].actions[0].command == (
        f"qms doc act {number} confirm_review --rev 0 --comment WHY --as {user}"
    )
    on_due_day = {
        who: [
            (t.kind, t.subject)
            for t in tasks_for(
                qms_office.runtime, office, qms_office.username(who), today=late[0].due
            ).tasks
            if t.kind == "periodic_review"
        ]
        for who in ("approver", "author", "clerk")
    }
    assert on_due_day == {
        "approver": [("periodic_review", f"{number}#0")],
        "author": [],
        "clerk": [],
    }
    take(qms_office, late[0], "confirm_review")


def test_inbox_draft_is_its_named_authors_to_adopt_before_anyone_acts(
    qms_office: TestOffice, ingest_desk: IngestDesk, make_docx: Callable[..., Path]
) -> None:
    """A draft the inbox filed naming anita is hers to adopt, and nobody is offered to submit
    it before she has (the engine refuses that); after adoption it is hers to submit."""
    source = make_docx("patrol.docx", "Beat patrol")
    ingest_desk.drop("SOP-DRAFTS", "anita/patrol.docx", source.read_bytes())
    (outcome,) = ingest_desk.run()
    subject = f"{outcome.number}#0"
    assert offered(qms_office, "author") == {subject: ("adopt",)}
    assert subject not in offered(qms_office, "author2")
    adopt_revision(
        qms_office.runtime, number=outcome.number or "", actor=qms_office.signers["author"]
    )
    assert offered(qms_office, "author")[subject][0] == "submit"


def test_quarantined_inbox_files_go_to_clerks(
    qms_office: TestOffice, ingest_desk: IngestDesk
) -> None:
    """A file the inbox refused is a task for clerks and the quality coordinator, with the
    problem and the command that puts it back once fixed; authors are not shown it."""
    ingest_desk.drop("GD", "scan.pdf", b"not a pdf at all")
    ingest_desk.drop("MALKHANA", "seizure.pdf", pdf_bytes("seizure"))
    outcomes = ingest_desk.run()
    assert {o.status for o in outcomes} == {"quarantined"}
    tasks = queue(qms_office, "clerk")
    assert {t.subject for t in tasks} == {"GD/scan.pdf", "MALKHANA/seizure.pdf"}
    assert all(t.kind == "quarantined" and t.title for t in tasks)
    commands = {t.subject: t.actions[0].command for t in tasks}
    assert commands["GD/scan.pdf"] == "qms --office PS-TEST1 inbox retry scan.pdf"
    assert [t.subject for t in queue(qms_office, "quality_coordinator")] == [
        t.subject for t in tasks
    ]
    assert queue(qms_office, "author") == []
    retry = shlex.split(commands["GD/scan.pdf"])[1:]
    invoke("-w", qms_office.root, *retry)  # the command as shown puts the file back
    assert [t.subject for t in queue(qms_office, "clerk")] == ["MALKHANA/seizure.pdf"]


def test_changed_workflow_is_the_admins_to_register_and_blocks_its_revisions(
    qms_office: TestOffice, desk: Desk
) -> None:
    """When the installed workflow is not the one registered, the engine refuses every
    transition of it: nobody is offered one, and the admin is asked to register it."""
    number = desk.new_sop()
    desk.act(number, "submit")
    with qms_office.runtime.engine.begin() as connection:
        connection.execute(
            update(WORKFLOW_TABLE)
            .where(WORKFLOW_TABLE.c.name == "sop-revision")
            .values(sha256="0" * 64)
        )
    assert queue(qms_office, "approver") == []
    (task,) = queue(qms_office, "admin")
    assert (task.kind, task.subject) == ("workflow", "sop-revision")
    assert task.actions[0].command == "qms --office PS-TEST1 wf register sop-revision --as admin"


def test_everyone_s_queue_is_for_coordinators_only(qms_office: TestOffice, desk: Desk) -> None:
    """The quality coordinator sees every person's queue, by person, and no service user's;
    a plain author is refused."""
    number = desk.new_sop()
    desk.act(number, "submit")
    office = qms_office.office
    everyone = tasks_for(qms_office.runtime, office, "priya", everyone=True)
    assert everyone.user is None
    users = [t.user for t in everyone.tasks]
    assert users == sorted(users)
    assert {"sks", "meena", "rakesh"} <= set(users)
    assert "anita" not in users
    with pytest.raises(PermissionDenied, match="may not see everyone's tasks"):
        tasks_for(qms_office.runtime, office, "anita", everyone=True)


def test_deactivated_user_has_no_queue(qms_office: TestOffice, desk: Desk) -> None:
    """A deactivated user cannot act: asking for their tasks is refused, and their queue
    leaves the coordinator's view of everyone's."""
    runtime, office = qms_office.runtime, qms_office.office
    desk.new_sop(who="author2")

    def users() -> set[str]:
        return {t.user for t in tasks_for(runtime, office, "admin", everyone=True).tasks}

    assert "mohan" in users()
    deactivate_user(
        runtime, office, actor=qms_office.signers["admin"], username="mohan", reason="transferred"
    )
    with pytest.raises(PermissionDenied, match="deactivated"):
        tasks_for(runtime, office, "mohan")
    assert "mohan" not in users()


# --- through the command line ----------------------------------------------------------------


def test_cli_shows_each_person_their_own_queue(qms_office: TestOffice, desk: Desk) -> None:
    """`qms tasks --as USER` needs no passphrase; the table shows the title in Hindi, the
    waiting time in the office's zone and the command; an empty queue says so in words."""
    number = desk.new_sop("बीट गश्त")
    result = desk.act(number, "submit")
    assert result.to_state == "in_review"
    ws = qms_office.root
    env = {"COLUMNS": "250"}
    shown = CliRunner().invoke(cli, ["-w", str(ws), "tasks", "--as", "sks"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Tasks for sks in PS-TEST1" in shown.stdout
    assert "बीट गश्त" in shown.stdout
    assert f"qms doc act {number} approve --rev 0 --as sks" in shown.stdout
    (task,) = queue(qms_office, "approver")
    assert task.since is not None
    assert local_text(task.since, qms_office.office.timezone) in shown.stdout
    narrow = CliRunner().invoke(cli, ["-w", str(ws), "tasks", "--as", "sks"], env={"COLUMNS": "80"})
    assert f"{number}#0" in narrow.stdout  # an 80-column table never cuts the number
    empty = CliRunner().invoke(cli, ["-w", str(ws), "tasks"], env={"QMS_USER": "anita"})
    assert empty.stdout.strip() == "Nothing needs your action in PS-TEST1."


def test_cli_json_lists_tasks_for_scripts(qms_office: TestOffice, desk: Desk) -> None:
    """`--json` gives the office, its zone and each task with its actions and commands."""
    number = desk.new_sop("बीट गश्त")
    desk.act(number, "submit")
    data = json.loads(invoke("-w", qms_office.root, "tasks", "--as", "meena", "--json"))
    assert (data["office"], data["timezone"], data["user"]) == ("PS-TEST1", "Asia/Kolkata", "meena")
    (task,) = data["tasks"]
    assert (task["subject"], task["title"], task["overdue"]) == (f"{number}#0", "बीट गश्त", False)
    assert [a["name"] for a in task["actions"]] == ["approve", "reject"]
    everyone = json.loads(
        invoke("-w", qms_office.root, "tasks", "--all", "--as", "priya", "--json")
    )
    assert {t["user"] for t in everyone["tasks"]} == {"rakesh", "meena", "sks"}


def test_cli_refuses_everyone_s_queue_to_a_plain_author(qms_office: TestOffice) -> None:
    """`qms tasks --all` as an author exits 4 and says who may use it."""
    result = run("-w", qms_office.root, "tasks", "--all", "--as", "anita", env={})
    assert result.returncode == 4, result.stderr
    assert "may not see everyone's tasks" in result.stderr
    missing = run("-w", qms_office.root, "tasks", "--as", "nobody", env={})
    assert missing.returncode == 3, missing.stderr
