"""Tasks from nonconformities and internal audits: NCs waiting for a step each person may take
(by the CAPA workflow's rules, the NC's actions counted), each owner's open actions, and each
auditor's findings still to record."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select

from qms_engine.capa.internal_audits import list_audits
from qms_engine.capa.nonconformities import standing_of
from qms_engine.capa.records import ActionRow, NcRow, actions_of, list_ncs
from qms_engine.rules.workflows import Transition, WorkflowDefinition
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    REVISION_TABLE,
)
from qms_engine.tasks.documents import blocked_workflows
from qms_engine.tasks.model import Action, Person, Scope, Task


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


def finding_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Checklist items of internal audits whose finding their auditor has still to record,
    for that auditor alone (nobody else may record it); overdue once the audit's day is past."""
    auditors = {person.username: person for person in people}
    for audit in list_audits(scope.connection, scope.office):
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
