"""Tasks from document control: revisions and records waiting in their workflow (derived
from its definition, by the rules the write path applies), inbox drafts to adopt, periodic
reviews due, and changed workflows to register."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, false, or_, select

from qms_engine.chain.authorisation import Attempt
from qms_engine.clock import from_utc_text
from qms_engine.documents.master_list import due_reviews
from qms_engine.documents.revisions import awaits_adoption, named_author
from qms_engine.documents.transitions import may_take
from qms_engine.people.workflow_registrations import office_workflows, registered_digest
from qms_engine.rules.roles import ADMIN, QUALITY_COORDINATOR
from qms_engine.rules.workflows import Transition, WorkflowDefinition
from qms_engine.storage.models import (
    ACTION_TABLE,
    DOCUMENT_TABLE,
    EVENT_TABLE,
    REVISION_TABLE,
    STATE_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)
from qms_engine.tasks.model import Action, Person, Returned, Scope, Task

REVIEW_WINDOW_DAYS = 30
"""A periodic review is a task once it falls due within this many days (or is overdue)."""
_REVIEWERS = frozenset({QUALITY_COORDINATOR})


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


def blocked_workflows(scope: Scope, names: Iterable[str]) -> list[str]:
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
    blocked = blocked_workflows(scope, workflows)
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
    for name in blocked_workflows(scope, office_workflows(scope.runtime, scope.office)):
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


# --- periodic reviews ---------------------------------------------------------------------------


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
    blocked = blocked_workflows(scope, workflows)
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
