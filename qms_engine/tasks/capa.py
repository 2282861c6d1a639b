"""Tasks from nonconformities and internal audits: NCs waiting for a step each person may take
(by the CAPA workflow's rules, the NC's actions counted), each owner's open actions (and, for
those who may reassign them, open actions whose owner can no longer act), and each auditor's
findings still to record."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select

from qms_engine.capa.internal_audits import list_audits
from qms_engine.capa.nonconformities import Standing, standing_of
from qms_engine.capa.records import ActionRow, NcRow, actions_of, list_ncs
from qms_engine.chain import events
from qms_engine.chain.authorisation import ACTION_TYPES, RULES
from qms_engine.i18n import _
from qms_engine.rules.roles import AUDITOR, QUALITY_COORDINATOR
from qms_engine.rules.workflows import IMPLEMENTER, Transition, WorkflowDefinition
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    REVISION_TABLE,
    ROLE_TABLE,
    STATE_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)
from qms_engine.tasks.documents import blocked_workflows
from qms_engine.tasks.model import Action, Person, Scope, Task, people_of


def _open_ncs(scope: Scope) -> list[tuple[NcRow, WorkflowDefinition]]:
    """The office's NCs not yet closed or cancelled, with their workflow, unless that workflow
    is blocked (not the registered definition: see :func:`workflow_tasks`)."""
    workflows = scope.runtime.plugins.workflows
    ncs = list_ncs(scope.connection, scope.office)
    blocked = blocked_workflows(scope, {nc.workflow for nc in ncs})
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


def _step_action(scope: Scope, nc: NcRow, step: Transition, person: Person) -> Action:
    """The command that takes ``step`` on ``nc`` as ``person``."""
    comment = ("--comment", "WHY") if step.comment_required else ()
    return Action(
        step.name,
        scope.command("nc", "act", nc.number, step.name, *comment, "--as", person.username),
    )


def _add_action(scope: Scope, nc: NcRow, person: Person) -> Action:
    """The command that plans an action of ``nc`` as ``person``."""
    return Action(
        "add",
        scope.command(
            "nc",
            "action",
            "add",
            nc.number,
            "--type",
            "|".join(ACTION_TYPES),
            "--description",
            "WHAT_IS_TO_BE_DONE",
            "--owner",
            "USER",
            "--due",
            "YYYY-MM-DD",
            "--as",
            person.username,
        ),
    )


def _nobody_may(
    standing: Standing, steps: Sequence[Transition], everyone: Sequence[Person]
) -> Transition | None:
    """The first of ``steps`` (those moving the NC on) when nobody in ``everyone`` may take
    any of them, whatever the NC's actions (every verifier implemented one, say); else None."""
    for step in steps:
        free = replace(step, actions=None)
        if any(standing.may_take(free, p.id, p.username, p.roles) for p in everyone):
            return None
    return steps[0] if steps else None


def _stuck(scope: Scope, nc: NcRow, step: Transition, people: Sequence[Person]) -> Iterable[Task]:
    """``nc`` cannot move on because nobody may take ``step``: a task for the office's quality
    coordinators, saying whom an admin must give which role."""
    role = AUDITOR if AUDITOR in step.roles else step.roles[-1]
    who = (
        _("someone who implemented none of its actions")
        if IMPLEMENTER in step.not_by
        else _("someone who may take it")
    )
    note = _("nobody may {name} it: grant the {role} role to {who}").format(
        name=step.name, role=role, who=who
    )
    grant = scope.command("user", "grant", "USER", role, "--as", "ADMIN", office_wide=True)
    for person in people:
        if QUALITY_COORDINATOR in person.roles:
            yield Task(
                person.username,
                "nonconformity",
                nc.number,
                nc.title,
                nc.state,
                (Action("grant", grant),),
                nc.state_entered_at,
                note=note,
            )


def nc_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Nonconformities waiting for a transition each person may take (contain, verify, close
    …), by the write path's own rules: the roles, segregation of duties (nobody verifies an
    action they implemented) and the NC's actions (nobody is offered a close with one open).
    Going back or cancelling is offered beside a step that moves the NC on, never alone: an
    NC whose actions are under way waits for their owners, not for a cancellation.  An NC
    that accepts actions but has none waits for whoever may plan one; one that nobody in the
    office may move on (every verifier implemented an action) waits for its quality
    coordinators to have a role granted."""
    planners = RULES[events.NC_ACTION_ADDED.action].roles or frozenset()
    everyone: list[Person] | None = None
    for nc, workflow in _open_ncs(scope):
        standing = standing_of(scope.connection, nc, workflow)
        steps = sorted(
            workflow.transitions_from(nc.state),
            key=lambda step: not _moves_on(workflow, nc.state, step),
        )
        unplanned = workflow.states[nc.state].accepts_actions and not standing.actions
        for person in people:
            allowed = [
                step
                for step in steps
                if standing.may_take(step, person.id, person.username, person.roles)
            ]
            plans = unplanned and bool(person.roles & planners)
            if not plans and not any(_moves_on(workflow, nc.state, step) for step in allowed):
                continue
            actions = (
                *((_add_action(scope, nc, person),) if plans else ()),
                *(_step_action(scope, nc, step, person) for step in allowed),
            )
            yield Task(
                person.username,
                "nonconformity",
                nc.number,
                nc.title,
                nc.state,
                actions,
                nc.state_entered_at,
                note=_("no action planned yet: add one") if plans else "",
            )
        onward = [step for step in steps if _moves_on(workflow, nc.state, step)]
        if onward and not unplanned:
            if everyone is None:
                everyone = people_of(scope.connection, scope.office, None)
            stuck = _nobody_may(standing, onward, everyone)
            if stuck is not None:
                yield from _stuck(scope, nc, stuck, people)


@dataclass(frozen=True)
class _Revision:
    revno: int
    state: str
    workflow: str


def _newer_revisions(scope: Scope, document: str, after_revno: int) -> list[_Revision]:
    """The revisions of ``document`` numbered above ``after_revno``, with their state."""
    rows = scope.connection.execute(
        select(REVISION_TABLE.c.revno, STATE_TABLE.c.state, STATE_TABLE.c.workflow)
        .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
        .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
        .where(DOCUMENT_TABLE.c.number == document, REVISION_TABLE.c.revno > after_revno)
        .order_by(REVISION_TABLE.c.revno)
    ).all()
    return [_Revision(*row) for row in rows]


def _creators(scope: Scope, document: str) -> tuple[str, ...]:
    """The roles that may revise ``document`` (its type's creator roles)."""
    code = scope.connection.execute(
        select(TYPE_TABLE.c.code)
        .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.document_type_id == TYPE_TABLE.c.id)
        .where(DOCUMENT_TABLE.c.number == document)
    ).scalar_one()
    office_type = scope.runtime.plugins.registry.office_type(scope.office.office_type)
    return office_type.document_type(code).creator_roles


def _carry_out(scope: Scope, action: ActionRow, person: Person) -> tuple[Action, str]:
    """What the owner of an open action does, and what they should know: mark it done; for a
    document action, follow the revision under way (one above the action's floor in an open
    state of its workflow), else revise the document — or, if they may not (no creator role),
    follow it and ask whoever may."""
    if not action.document:
        command = scope.command(
            "nc", "action", "done", action.subject, "--comment", "WHAT_WAS_DONE",
            "--as", person.username,
        )  # fmt: skip
        return Action("done", command), ""
    follow = Action("follow", scope.command("doc", "show", action.document))
    workflows = scope.runtime.plugins.workflows
    for revision in _newer_revisions(scope, action.document, action.after_revno):
        workflow = workflows.get(revision.workflow)
        if workflow is not None and revision.state in workflow.open_states():
            return follow, _("revision {revno} is under way ({state})").format(
                revno=revision.revno, state=revision.state
            )
    creators = _creators(scope, action.document)
    if not person.roles & set(creators):
        names = sorted(
            p.username
            for p in people_of(scope.connection, scope.office, None)
            if p.roles & set(creators)
        )
        ask = (
            _("ask {names}").format(names=", ".join(names))
            if names
            else _("an admin grants one to someone")
        )
        roles = " or ".join(creators)
        return follow, _(
            "revising {document} needs the {roles} role, which you lack: {ask}"
        ).format(document=action.document, roles=roles, ask=ask)
    reason = f"{action.subject}: WHAT_CHANGED"
    command = scope.command(
        "doc", "revise", action.document, "FILE", "--reason", reason, "--as", person.username
    )
    return Action("revise", command), ""


def _able(scope: Scope) -> set[str]:
    """Who may still act in the office: active, holding a role there."""
    return set(
        scope.connection.execute(
            select(USER_TABLE.c.username)
            .join(ROLE_TABLE, ROLE_TABLE.c.user_id == USER_TABLE.c.id)
            .where(ROLE_TABLE.c.office_id == scope.office.id, USER_TABLE.c.active)
        ).scalars()
    )


def _reassign(
    scope: Scope, nc: NcRow, action: ActionRow, people: Sequence[Person]
) -> Iterable[Task]:
    """An open action whose owner can no longer act (deactivated, or holding no role here any
    more): a task for each person who may hand it to another owner."""
    roles = RULES[events.NC_ACTION_REASSIGNED.action].roles or frozenset()
    for person in people:
        if not person.roles & roles:
            continue
        command = scope.command(
            "nc",
            "action",
            "reassign",
            action.subject,
            "--owner",
            "USER",
            "--comment",
            "WHY",
            "--as",
            person.username,
        )
        yield Task(
            person.username,
            "nc_action",
            action.subject,
            _("{description} (owner {owner} can no longer act)").format(
                description=action.description, owner=action.owner
            ),
            nc.state,
            (Action("reassign", command),),
            action.added_at,
            action.due,
            action.due < scope.today,
        )


def nc_action_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Each person's own open actions of open NCs, overdue first, with their due date; an
    open action whose owner can no longer act, for whoever may reassign it."""
    owners = {person.username: person for person in people}
    able: set[str] | None = None
    for nc, workflow in _open_ncs(scope):
        if not workflow.states[nc.state].accepts_actions:
            continue
        for action in actions_of(scope.connection, nc):
            if action.done:
                continue
            able = _able(scope) if able is None else able
            if action.owner not in able:
                yield from _reassign(scope, nc, action, people)
            person = owners.get(action.owner)
            if person is None:
                continue
            how, note = _carry_out(scope, action, person)
            yield Task(
                person.username,
                "nc_action",
                action.subject,
                action.description,
                nc.state,
                (how,),
                action.added_at,
                action.due,
                action.due < scope.today,
                note=note,
            )


def finding_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Checklist items of internal audits whose finding their auditor has still to record,
    for that auditor alone (nobody else may record it), from the audit's day (no finding is
    recorded before it); overdue once that day is past."""
    auditors = {person.username: person for person in people}
    for audit in list_audits(scope.connection, scope.office):
        if audit.date > scope.today:
            continue
        for item in audit.items:
            person = auditors.get(item.auditor)
            if person is None or item.result is not None:
                continue
            command = scope.command(
                "internal-audit",
                "finding",
                audit.number,
                str(item.n),
                "--result",
                "conforms|observation|nonconformity",
                "--note",
                "WHAT_WAS_FOUND",
                "--as",
                person.username,
            )
            yield Task(
                person.username,
                "audit_finding",
                f"{audit.number}#{item.n}",
                f"{item.ref}: {audit.title}",
                None,
                (Action("finding", command),),
                audit.planned_at,
                audit.date,
                audit.date < scope.today,
            )
