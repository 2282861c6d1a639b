"""What needs a person's action now (``qms tasks``), by their roles in an office.

Tasks are derived, never stored: each comes from the current state of the office, so a task is
gone the moment someone does it.  :data:`TASK_SOURCES` lists where they come from, one function
per kind of work; a new capability adds its own source to that list.
A source is handed everyone whose queue is wanted, so it reads the office once for a
coordinator's view of all queues (``--all``) as for one person's.

Nobody is shown work they may not do.  Revision and record tasks are derived from the workflow
definitions: a revision waiting in a state offers the transitions out of it whose rules
(:func:`~qms_engine.chain.authorisation.transition_problems`, the very function the write path
and the verifier apply: roles, ``by``, and segregation of duties through ``not_by``) let the
person take it; a periodic review due offers, the same way, the transition that confirms the
revision in force unchanged (``confirm_review``).  A revision the inbox filed for a person
is theirs to adopt before anyone may move it, and a workflow whose installed definition is not
the one registered blocks every transition until an admin registers it: both are tasks of
their own.  Nonconformities are offered the same way from their CAPA workflow (the NC's actions
count too: nobody is offered a close while one is open, nor a verification of their own
action), and each owner sees their open actions, overdue first.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, and_, false, func, or_, select

from qms_engine.capa.nonconformities import standing_of
from qms_engine.capa.records import ActionRow, NcRow, actions_of, list_ncs
from qms_engine.chain.authorisation import Attempt
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import from_utc_text, utc_now, zone
from qms_engine.documents.master_list import due_reviews
from qms_engine.documents.revisions import awaits_adoption, named_author
from qms_engine.documents.transitions import may_take
from qms_engine.errors import PermissionDenied
from qms_engine.ingest.inbox import NO_OFFICE, Quarantined, quarantined_files
from qms_engine.people.permissions import find_user
from qms_engine.people.workflow_registrations import office_workflows, registered_digest
from qms_engine.rules.roles import ADMIN, CLERK, QUALITY_COORDINATOR
from qms_engine.rules.workflows import Transition, WorkflowDefinition
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    ACTION_TABLE,
    DOCUMENT_TABLE,
    EVENT_TABLE,
    REVISION_TABLE,
    ROLE_TABLE,
    STATE_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)

REVIEW_WINDOW_DAYS = 30
"""A periodic review is a task once it falls due within this many days (or is overdue)."""
COORDINATORS = frozenset({QUALITY_COORDINATOR, ADMIN})
"""Who may see everyone's queue (``qms tasks --all``)."""
_REVIEWERS = frozenset({QUALITY_COORDINATOR})
_INBOX_KEEPERS = frozenset({CLERK, QUALITY_COORDINATOR})


@dataclass(frozen=True)
class Action:
    """One thing the person may do about a task, and the command that does it."""

    name: str
    command: str


@dataclass(frozen=True)
class Returned:
    """The transition that sent a revision back to its workflow's initial state (a rejection):
    who took it, when (UTC) and the comment they gave, for the author who corrects it."""

    by: str
    at: datetime
    transition: str
    comment: str


@dataclass(frozen=True)
class Task:
    """Something that waits for ``user``: what it is about, and what they may do about it."""

    user: str
    kind: str
    """``revision``, ``record``, ``adoption``, ``periodic_review``, ``quarantined``,
    ``workflow``, ``nonconformity`` or ``nc_action``."""
    subject: str
    """``NUMBER#REV`` for a revision, ``FOLDER/NAME`` for an inbox file, a workflow's name, an
    NC's number, ``NC#A1`` for an action."""
    title: str
    state: str | None
    actions: tuple[Action, ...]
    since: datetime | None
    """When it started waiting (UTC)."""
    due: date | None = None
    overdue: bool = False
    returned: Returned | None = None
    """For a revision sent back to its author: by whom, when and why."""


@dataclass(frozen=True)
class TaskList:
    """The tasks of one person (or of everyone: ``user`` is None) in one office."""

    office: str
    timezone: str
    user: str | None
    tasks: list[Task]


@dataclass(frozen=True)
class Person:
    """Someone whose queue is wanted: their account and their roles in the office."""

    id: int
    username: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Scope:
    """What every task source is handed: the office, read through one connection."""

    runtime: Runtime
    office: OfficeRef
    connection: Connection
    today: date

    def command(self, *words: str, office_wide: bool = False) -> str:
        """A ``qms`` command line, quoted for a shell; ``office_wide`` commands name the office
        (a document number already names its own)."""
        where = ("--office", self.office.code) if office_wide else ()
        return shlex.join(("qms", *where, *words))


TaskSource = Callable[[Scope, Sequence[Person]], Iterable[Task]]


# --- revisions and records: from the workflow definitions -------------------------------------


def waiting_states(workflow: WorkflowDefinition) -> frozenset[str]:
    """The states a revision passes through between the initial state and being in force or
    finished (terminal): one there waits for someone.  States it rests in afterwards (in force,
    superseded, obsolete) are not: withdrawing or archiving is a decision, not a queue."""
    settled = {name for name, state in workflow.states.items() if state.in_force or state.terminal}
    found: set[str] = set()
    pending = [workflow.initial]
    while pending:
        here = pending.pop()
        if here in found or here in settled:
            continue
        found.add(here)
        pending += [t.target for t in workflow.transitions_from(here)]
    return frozenset(found)


@dataclass(frozen=True)
class _Waiting:
    id: int
    number: str
    revno: int
    title: str
    author_id: int
    author_kind: str
    type_code: str
    kind: str
    workflow: str
    state: str
    entered_at: datetime


def _waiting_revisions(scope: Scope, states: Mapping[str, frozenset[str]]) -> list[_Waiting]:
    """The office's revisions in a waiting state of their workflow."""
    waiting = or_(
        false(),
        *(
            and_(TYPE_TABLE.c.workflow == name, STATE_TABLE.c.state.in_(sorted(names)))
            for name, names in sorted(states.items())
            if names
        ),
    )
    rows = scope.connection.execute(
        select(
            REVISION_TABLE.c.id,
            DOCUMENT_TABLE.c.number,
            REVISION_TABLE.c.revno,
            REVISION_TABLE.c.title,
            REVISION_TABLE.c.author_id,
            USER_TABLE.c.kind,
            TYPE_TABLE.c.code,
            TYPE_TABLE.c.kind,
            TYPE_TABLE.c.workflow,
            STATE_TABLE.c.state,
            STATE_TABLE.c.entered_at,
        )
        .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
        .join(USER_TABLE, USER_TABLE.c.id == REVISION_TABLE.c.author_id)
        .where(DOCUMENT_TABLE.c.office_id == scope.office.id, waiting)
    ).all()
    return [_Waiting(*row) for row in rows]


def _taken(connection: Connection, revisions: Sequence[_Waiting]) -> set[tuple[int, str, int]]:
    """(revision, transition, actor) for every transition taken on these revisions."""
    ids = [revision.id for revision in revisions]
    if not ids:
        return set()
    rows = connection.execute(
        select(
            ACTION_TABLE.c.revision_id, ACTION_TABLE.c.transition, ACTION_TABLE.c.actor_id
        ).where(ACTION_TABLE.c.revision_id.in_(ids))
    ).all()
    return {(revision_id, name, actor_id) for revision_id, name, actor_id in rows}


def _blocked_workflows(scope: Scope, names: Iterable[str]) -> list[str]:
    """The workflows whose installed definition is not the one the office registered: the
    write path refuses every transition of theirs until an admin registers it."""
    plugins = scope.runtime.plugins
    return sorted(
        name
        for name in set(names)
        if registered_digest(scope.connection, scope.office, name) != plugins.workflow_digest(name)
    )


def _may_take(
    scope: Scope,
    step: Transition,
    person: Person,
    revision: _Waiting,
    taken: set[tuple[int, str, int]],
) -> bool:
    """Whether ``person`` may take ``step`` on ``revision``, by the write path's own rules
    (:func:`~qms_engine.documents.transitions.may_take`)."""
    subject = f"{revision.number}#{revision.revno}"
    return may_take(
        step,
        Attempt(scope.office.code, person.username, "", subject, {}),
        person.roles,
        is_author=person.id == revision.author_id,
        took=lambda name: (revision.id, name, person.id) in taken,
    )


def _act(scope: Scope, person: Person, revision: _Waiting, step: Transition) -> Action:
    words = ["doc", "act", revision.number, step.name, "--rev", str(revision.revno)]
    if step.comment_required:
        words += ["--comment", "WHY"]
    return Action(step.name, scope.command(*words, "--as", person.username))


def _returns(scope: Scope, revisions: Sequence[_Waiting]) -> dict[int, Returned]:
    """For each of these revisions that waits in its workflow's initial state after being sent
    back there (a rejection), the last transition that did so, by revision id."""
    workflows = scope.runtime.plugins.workflows
    back: dict[int, set[str]] = {}
    for revision in revisions:
        workflow = workflows[revision.workflow]
        if revision.state == workflow.initial:
            steps = workflow.transitions.values()
            back[revision.id] = {t.name for t in steps if t.target == workflow.initial}
    if not back:
        return {}
    rows = scope.connection.execute(
        select(
            ACTION_TABLE.c.revision_id,
            ACTION_TABLE.c.transition,
            USER_TABLE.c.username,
            EVENT_TABLE.c.recorded_at,
            EVENT_TABLE.c.payload,
        )
        .join(USER_TABLE, USER_TABLE.c.id == ACTION_TABLE.c.actor_id)
        .join(
            EVENT_TABLE,
            (EVENT_TABLE.c.office_id == scope.office.id)
            & (EVENT_TABLE.c.seq == ACTION_TABLE.c.event_seq),
        )
        .where(ACTION_TABLE.c.revision_id.in_(sorted(back)))
        .order_by(ACTION_TABLE.c.event_seq)
    ).all()
    return {
        revision_id: Returned(
            username, from_utc_text(recorded_at), transition, json.loads(payload).get("comment", "")
        )
        for revision_id, transition, username, recorded_at, payload in rows
        if transition in back[revision_id]
    }


def _replace(
    scope: Scope, person: Person, revision: _Waiting, returned: Returned | None
) -> tuple[Action, ...]:
    """``qms doc replace`` for the author of a draft sent back to its workflow's initial state
    (``returned``), where only its author may replace its file: a document's, never a register
    record's (filed once)."""
    office_type = scope.runtime.plugins.registry.office_type(scope.office.office_type)
    spec = office_type.document_type(revision.type_code)
    if (
        returned is None
        or person.id != revision.author_id
        or spec.kind != "document"
        or spec.append_only
    ):
        return ()
    words = ["doc", "replace", revision.number, "FILE", "--reason", "WHAT_CHANGED"]
    words += ["--rev", str(revision.revno), "--as", person.username]
    return (Action("replace", scope.command(*words)),)


def revision_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Revisions and records waiting for a transition each person may take (approve, verify …),
    and, for the author of a draft sent back for correction, a corrected file to put in place
    (``qms doc replace``) with who sent it back, when and why."""
    workflows = scope.runtime.plugins.workflows
    blocked = _blocked_workflows(scope, workflows)
    states = {
        name: waiting_states(definition)
        for name, definition in workflows.items()
        if name not in blocked
    }
    revisions = _waiting_revisions(scope, states)
    taken = _taken(scope.connection, revisions)
    returns = _returns(scope, revisions)
    for revision in revisions:
        if awaits_adoption(revision.author_kind, revision.kind):
            continue  # nobody may move it before its author adopts it (see adoption_tasks)
        workflow = workflows[revision.workflow]
        # In file order, but moving on before sending back for correction (reject last).
        steps = sorted(
            workflow.transitions_from(revision.state), key=lambda t: t.target == workflow.initial
        )
        for person in people:
            actions = _replace(scope, person, revision, returns.get(revision.id)) + tuple(
                _act(scope, person, revision, step)
                for step in steps
                if _may_take(scope, step, person, revision, taken)
            )
            if actions:
                yield Task(
                    person.username,
                    "record" if revision.kind == "register" else "revision",
                    f"{revision.number}#{revision.revno}",
                    revision.title,
                    revision.state,
                    actions,
                    revision.entered_at,
                    returned=returns.get(revision.id),
                )


def adoption_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Drafts the inbox filed naming a person as their author: theirs to sign for first."""
    workflows = scope.runtime.plugins.workflows
    initial = {name: frozenset({definition.initial}) for name, definition in workflows.items()}
    office_type = scope.runtime.plugins.registry.office_type(scope.office.office_type)
    for revision in _waiting_revisions(scope, initial):
        if not awaits_adoption(revision.author_kind, revision.kind):
            continue
        subject = f"{revision.number}#{revision.revno}"
        named = named_author(scope.connection, scope.office, subject)
        creators = set(office_type.document_type(revision.type_code).creator_roles)
        for person in people:
            if person.username == named and person.roles & creators:
                command = scope.command("doc", "adopt", revision.number, "--as", person.username)
                yield Task(
                    person.username,
                    "adoption",
                    subject,
                    revision.title,
                    revision.state,
                    (Action("adopt", command),),
                    revision.entered_at,
                )


def workflow_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Changed workflow definitions an admin must register before anyone can move a revision."""
    for name in _blocked_workflows(scope, office_workflows(scope.runtime, scope.office)):
        title = scope.runtime.plugins.workflows[name].title
        for person in people:
            if ADMIN in person.roles:
                command = scope.command(
                    "wf", "register", name, "--as", person.username, office_wide=True
                )
                yield Task(
                    person.username,
                    "workflow",
                    name,
                    title,
                    None,
                    (Action("register", command),),
                    None,
                )


# --- nonconformities: from the CAPA workflow -------------------------------------------------


def _open_ncs(scope: Scope) -> list[tuple[NcRow, WorkflowDefinition]]:
    """The office's NCs not yet closed or cancelled, with their workflow, unless that workflow
    is blocked (not the registered definition: see :func:`workflow_tasks`)."""
    workflows = scope.runtime.plugins.workflows
    ncs = list_ncs(scope.connection, scope.office)
    blocked = _blocked_workflows(scope, {nc.workflow for nc in ncs})
    return [
        (nc, workflows[nc.workflow])
        for nc in ncs
        if nc.workflow not in blocked and not workflows[nc.workflow].states[nc.state].terminal
    ]


def _moves_on(workflow: WorkflowDefinition, state: str, step: Transition) -> bool:
    """Whether ``step`` moves an NC in ``state`` on: not back to an earlier state (``reopen``),
    nor out early into a final state that needs a reason (``cancel``)."""
    order = list(workflow.states)
    if order.index(step.target) < order.index(state):
        return False
    return not (workflow.states[step.target].terminal and step.comment_required)


def nc_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Nonconformities waiting for a transition each person may take (contain, verify, close
    …), by the write path's own rules: the roles, segregation of duties (nobody verifies an
    action they implemented) and the NC's actions (nobody is offered a close with one open).
    Going back or cancelling is offered beside a step that moves the NC on, never alone: an
    NC whose actions are under way waits for their owners, not for a cancellation."""
    for nc, workflow in _open_ncs(scope):
        standing = standing_of(scope.connection, nc)
        steps = sorted(
            workflow.transitions_from(nc.state),
            key=lambda step: not _moves_on(workflow, nc.state, step),
        )
        for person in people:
            allowed = [
                step
                for step in steps
                if standing.may_take(step, person.id, person.username, person.roles)
            ]
            if not any(_moves_on(workflow, nc.state, step) for step in allowed):
                continue
            actions = tuple(
                Action(
                    step.name,
                    scope.command(
                        "nc",
                        "act",
                        nc.number,
                        step.name,
                        *(("--comment", "WHY") if step.comment_required else ()),
                        "--as",
                        person.username,
                    ),
                )
                for step in allowed
            )
            yield Task(
                person.username,
                "nonconformity",
                nc.number,
                nc.title,
                nc.state,
                actions,
                nc.state_entered_at,
            )


def _carry_out(scope: Scope, action: ActionRow, person: Person) -> Action:
    """What the owner of an open action does: mark it done, or, for a document action,
    revise the document (or follow the revision already under way)."""
    if not action.document:
        return Action(
            "done",
            scope.command(
                "nc",
                "action",
                "done",
                action.subject,
                "--comment",
                "WHAT_WAS_DONE",
                "--as",
                person.username,
            ),
        )
    newest = scope.connection.execute(
        select(func.max(REVISION_TABLE.c.revno))
        .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
        .where(DOCUMENT_TABLE.c.number == action.document)
    ).scalar()
    if newest is not None and newest > action.after_revno:
        return Action("follow", scope.command("doc", "show", action.document))
    reason = f"{action.subject}: WHAT_CHANGED"
    command = scope.command(
        "doc", "revise", action.document, "FILE", "--reason", reason, "--as", person.username
    )
    return Action("revise", command)


def nc_action_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Each person's own open actions of open NCs, overdue first, with their due date."""
    owners = {person.username: person for person in people}
    for nc, workflow in _open_ncs(scope):
        if not workflow.states[nc.state].accepts_actions:
            continue
        for action in actions_of(scope.connection, nc):
            person = owners.get(action.owner)
            if person is None or action.done:
                continue
            yield Task(
                person.username,
                "nc_action",
                action.subject,
                action.description,
                nc.state,
                (_carry_out(scope, action, person),),
                action.added_at,
                action.due,
                action.due < scope.today,
            )


# --- periodic reviews and the inbox -----------------------------------------------------------


def review_steps(workflow: WorkflowDefinition, state: str) -> list[Transition]:
    """The transitions that end a periodic review of a revision in ``state`` without change:
    back into ``state``, which restarts its review clock (``confirm_review``)."""
    return [step for step in workflow.transitions_from(state) if step.target == state]


def review_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Revisions in force whose periodic review is overdue or falls due soon, for whoever may
    confirm them after reviewing (``confirm_review``); under a workflow without such a
    transition (or not registered yet), for the quality coordinator to look at and revise."""
    due = {
        f"{item.summary.number}#{item.summary.effective_revno}": item
        for item in due_reviews(
            scope.runtime, scope.office, within_days=REVIEW_WINDOW_DAYS, today=scope.today
        )
    }
    if not due:
        return
    workflows = scope.runtime.plugins.workflows
    blocked = _blocked_workflows(scope, workflows)
    in_force = {
        name: frozenset({state}) for name, state in scope.runtime.plugins.in_force_states().items()
    }
    revisions = [
        revision
        for revision in _waiting_revisions(scope, in_force)
        if f"{revision.number}#{revision.revno}" in due
    ]
    taken = _taken(scope.connection, revisions)
    for revision in revisions:
        subject = f"{revision.number}#{revision.revno}"
        item = due[subject]
        steps = (
            []
            if revision.workflow in blocked
            else review_steps(workflows[revision.workflow], revision.state)
        )
        look = Action("review", scope.command("doc", "show", revision.number))
        for person in people:
            if steps:
                actions = tuple(
                    _act(scope, person, revision, step)
                    for step in steps
                    if _may_take(scope, step, person, revision, taken)
                )
            else:
                actions = (look,) if person.roles & _REVIEWERS else ()
            if actions:
                yield Task(
                    person.username,
                    "periodic_review",
                    subject,
                    item.summary.title,
                    None,
                    actions,
                    item.summary.effective_since,
                    item.summary.review_due,
                    item.overdue,
                )


def _put_back(scope: Scope, item: Quarantined) -> Action:
    """Once the file is fixed: ``qms inbox retry``, or, for a file that fits no register or
    no office (which retry leaves alone), a move into the right register folder, from the
    workspace's folder (the inbox lies inside it), so that no path is as long as both."""
    if item.retriable and item.office != NO_OFFICE:
        return Action("retry", scope.command("inbox", "retry", item.path.name, office_wide=True))
    workspace = scope.runtime.workspace
    here = shlex.join(("cd", str(workspace.root)))
    source = item.path.relative_to(workspace.root)
    folder = (workspace.inbox_dir / scope.office.code).relative_to(workspace.root)
    return Action("move", f"{here} && {shlex.join(('mv', str(source), f'{folder}/REGISTER/'))}")


def inbox_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Files the office's inbox quarantined (and, for the workspace's own office, those that
    were dropped outside every office's folder): a clerk fixes each and puts it back."""
    keepers = [person for person in people if person.roles & _INBOX_KEEPERS]
    if not keepers:
        return
    workspace = scope.runtime.workspace
    items = quarantined_files(workspace, scope.office.code)
    if scope.office.code == workspace.office_code:
        items += quarantined_files(workspace, NO_OFFICE)
    for item in items:
        action = _put_back(scope, item)
        for person in keepers:
            yield Task(
                person.username,
                "quarantined",
                f"{item.folder}/{item.path.name}",
                item.problem,
                None,
                (action,),
                item.since,
            )


TASK_SOURCES: tuple[TaskSource, ...] = (
    revision_tasks,
    adoption_tasks,
    review_tasks,
    inbox_tasks,
    workflow_tasks,
    nc_tasks,
    nc_action_tasks,
)
"""Where tasks come from: one function per kind of work, each handed the office and the people
whose queues are wanted."""


# --- whose queue -----------------------------------------------------------------------------


def _people(connection: Connection, office: OfficeRef, user_id: int | None) -> list[Person]:
    """Active people holding a role in the office (or only user ``user_id``, whatever its
    kind)."""
    statement = (
        select(USER_TABLE.c.id, USER_TABLE.c.username, ROLE_TABLE.c.role)
        .join(ROLE_TABLE, ROLE_TABLE.c.user_id == USER_TABLE.c.id)
        .where(ROLE_TABLE.c.office_id == office.id, USER_TABLE.c.active)
        .order_by(USER_TABLE.c.username)
    )
    if user_id is None:
        statement = statement.where(USER_TABLE.c.kind == "person")
    else:
        statement = statement.where(USER_TABLE.c.id == user_id)
    roles: dict[tuple[int, str], set[str]] = {}
    for user_id, name, role in connection.execute(statement):
        roles.setdefault((user_id, name), set()).add(role)
    return [Person(user_id, name, frozenset(held)) for (user_id, name), held in roles.items()]


def _asker(connection: Connection, office: OfficeRef, username: str) -> Person:
    """The person asking (their name in any letter case), with their roles in the office
    (none: an empty queue)."""
    user_id, username = find_user(connection, username)
    active = connection.execute(select(USER_TABLE.c.active).where(USER_TABLE.c.id == user_id))
    if not active.scalar_one():
        raise PermissionDenied(f"user {username!r} is deactivated and cannot act")
    found = _people(connection, office, user_id)
    return found[0] if found else Person(user_id, username, frozenset())


def _urgency(task: Task) -> tuple[bool, datetime, str]:
    """Overdue first, then the longest waiting; undated tasks after dated ones."""
    since = task.since or datetime.max.replace(tzinfo=UTC)
    return (not task.overdue, since, task.subject)


def tasks_for(
    runtime: Runtime,
    office: OfficeRef,
    username: str,
    *,
    everyone: bool = False,
    today: date | None = None,
) -> TaskList:
    """What needs ``username``'s action in ``office`` now, most urgent first; ``everyone``: the
    queue of every active person there, by person (only for a quality coordinator or admin)."""
    today = today or utc_now().astimezone(zone(office.timezone)).date()
    with runtime.engine.connect() as connection:
        asker = _asker(connection, office, username)
        if everyone and not asker.roles & COORDINATORS:
            raise PermissionDenied(
                f"{asker.username!r} may not see everyone's tasks in {office.code}: needs role "
                f"{' or '.join(sorted(COORDINATORS))}",
                hint="`qms tasks` without --all shows your own",
            )
        people = _people(connection, office, None) if everyone else [asker]
        scope = Scope(runtime, office, connection, today)
        tasks = [task for source in TASK_SOURCES for task in source(scope, people)]
    tasks.sort(key=_urgency)
    if everyone:
        tasks.sort(key=lambda task: task.user)
    return TaskList(office.code, office.timezone, None if everyone else asker.username, tasks)
