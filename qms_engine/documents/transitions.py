"""Taking a workflow transition on a revision: the rules of the declarative definition, enforced.

Checked inside the transaction, after the office's chain-head lock is held, so two people
racing on one revision are serialised and the second sees the first one's result: the role,
a required comment, who alone may take it (``by``: an author discards only their own draft),
segregation of duties (``not_by``), and what the target state implies
(``exclusive``: the previously effective revision is superseded in the same transaction;
``starts_review_clock``: the periodic-review due date).  The event names the revision's file
as read under that lock (``sha256``: its current one, after any replacement), so the signature
binds the exact file acted on; the verifier holds every transition to that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, insert, select, update

from qms_engine.chain import events
from qms_engine.chain.authorisation import Attempt, transition_problems
from qms_engine.chain.signing import Signer
from qms_engine.clock import to_utc_text, utc_now, zone
from qms_engine.documents.revisions import (
    DocumentRef,
    awaits_adoption,
    load_document,
    revision_rows,
)
from qms_engine.errors import NotFound, PermissionDenied, RuleViolation
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.people.workflow_registrations import require_registered
from qms_engine.rules.workflows import Transition, WorkflowDefinition
from qms_engine.runtime import Runtime
from qms_engine.storage.database import Prepared
from qms_engine.storage.models import ACTION_TABLE, STATE_TABLE


@dataclass(frozen=True)
class TransitionResult:
    """What a transition did: the revision moved, and any revision it displaced."""

    number: str
    revno: int
    transition: str
    from_state: str
    to_state: str
    superseded: list[int]
    event_seq: int


def _pick_revision(
    document: DocumentRef,
    workflow: WorkflowDefinition,
    transition: Transition,
    states: dict[int, str],
    revno: int | None,
) -> int:
    if revno is not None:
        if revno not in states:
            raise NotFound(f"{document.number} has no revision {revno}")
        candidates = [revno] if states[revno] in transition.sources else []
    else:
        candidates = [rev for rev, state in states.items() if state in transition.sources]
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        raise RuleViolation(
            f"{document.number}: revisions {candidates} can all take {transition.name!r}",
            hint="choose one with --rev N",
        )
    latest = revno if revno is not None else max(states)
    if states[latest] == transition.target:
        raise RuleViolation(
            f"{document.number}: revision {latest} is already {transition.target} "
            f"(someone took {transition.name!r} first?)",
            hint="see `qms doc show` for what is left to do",
        )
    described = ", ".join(
        f"revision {rev} is {state}"
        for rev, state in sorted(states.items())
        if revno is None or rev == revno
    )
    available = sorted(
        {t.name for state in set(states.values()) for t in workflow.transitions_from(state)}
    )
    raise RuleViolation(
        f"{document.number}: {transition.name!r} needs a revision in "
        f"{' or '.join(transition.sources)}, but {described}",
        hint=f"transitions available now: {', '.join(available) or 'none'}",
    )


_TOOK = Prepared(
    select(ACTION_TABLE.c.id)
    .where(
        ACTION_TABLE.c.revision_id == bindparam("revision_id"),
        ACTION_TABLE.c.transition == bindparam("transition"),
        ACTION_TABLE.c.actor_id == bindparam("actor_id"),
    )
    .limit(1)
)
_MOVE = Prepared(
    update(STATE_TABLE)
    .where(STATE_TABLE.c.revision_id == bindparam("b_revision"))
    .values(state=bindparam("b_state"), entered_at=bindparam("b_at"))
)
_MOVE_AND_START_CLOCK = Prepared(
    update(STATE_TABLE)
    .where(STATE_TABLE.c.revision_id == bindparam("b_revision"))
    .values(
        state=bindparam("b_state"),
        entered_at=bindparam("b_at"),
        effective_at=bindparam("b_at"),
        review_due=bindparam("b_due"),
    )
)
_RECORD_ACTION = Prepared(
    insert(ACTION_TABLE).values(
        revision_id=bindparam("b_revision"),
        transition=bindparam("b_transition"),
        actor_id=bindparam("b_actor"),
        event_seq=bindparam("b_seq"),
        at=bindparam("b_at"),
    )
)


def _kind(runtime: Runtime, document: DocumentRef) -> str:
    office_type = runtime.plugins.registry.office_type(document.office.office_type)
    return office_type.document_type(document.type_code).kind


def take_transition(
    runtime: Runtime,
    *,
    number: str,
    transition: str,
    actor: Signer,
    comment: str = "",
    revno: int | None = None,
) -> TransitionResult:
    """Move a revision of ``number`` along ``transition`` as ``actor``, with its audit event."""
    comment = comment.strip()
    with runtime.unit_of_work() as work:
        connection = work.connection
        document = load_document(connection, number)
        workflow = runtime.plugins.workflows[document.workflow]
        try:
            step = workflow.transition(transition)
        except LookupError:
            raise RuleViolation(
                f"workflow {workflow.name!r} has no transition {transition!r}",
                hint=f"transitions: {', '.join(workflow.transitions)}",
            ) from None
        work.lock(document.office)
        require_registered(
            connection,
            document.office,
            document.workflow,
            runtime.plugins.workflow_digest(document.workflow),
        )
        revisions = revision_rows(connection, document)
        states = {r.revno: r.state for r in revisions}
        picked = _pick_revision(document, workflow, step, states, revno)
        chosen = next(r for r in revisions if r.revno == picked)
        if awaits_adoption(chosen.author_kind, _kind(runtime, document)):
            raise RuleViolation(
                f"{number}#{chosen.revno} was filed from the inbox: the author it names must "
                "first sign for it",
                hint=f"qms doc adopt {number} --as AUTHOR",
            )
        user = load_actor(connection, actor, document.office)
        role = require_role(
            user,
            step.roles,
            document.office,
            f"{step.name} revisions of {document.type_code} documents",
        )
        if step.comment_required and not comment:
            raise RuleViolation(f"{step.name!r} needs a comment saying why", hint="give --comment")
        refused = transition_problems(
            step,
            Attempt(document.office.code, user.username, role, number, {"comment": comment}),
            is_author=user.id == chosen.author_id,
            took=lambda rule: bool(
                _TOOK.rows(connection, revision_id=chosen.id, transition=rule, actor_id=user.id)
            ),
        )
        if refused:
            raise PermissionDenied("; ".join(refused))

        now = utc_now()
        at = to_utc_text(now)
        target = workflow.states[step.target]
        if target.starts_review_clock:
            due = None
            if document.review_period_days:
                today = now.astimezone(zone(document.office.timezone)).date()
                due = (today + timedelta(days=document.review_period_days)).isoformat()
            _MOVE_AND_START_CLOCK.run(
                connection, b_revision=chosen.id, b_state=target.name, b_at=at, b_due=due
            )
        else:
            _MOVE.run(connection, b_revision=chosen.id, b_state=target.name, b_at=at)
        record = work.append(
            document.office,
            user,
            events.revision_transition(step.meaning),
            f"{number}#{chosen.revno}",
            {
                "transition": step.name,
                "from": chosen.state,
                "to": target.name,
                "comment": comment,
                "sha256": chosen.sha256,
            },
            role=role,
        )
        _RECORD_ACTION.run(
            connection,
            b_revision=chosen.id,
            b_transition=step.name,
            b_actor=user.id,
            b_seq=record.seq,
            b_at=at,
        )
        superseded: list[int] = []
        if target.exclusive:
            for other in revisions:
                if other.id != chosen.id and other.state == target.name:
                    _MOVE.run(connection, b_revision=other.id, b_state=target.exclusive, b_at=at)
                    work.append(
                        document.office,
                        user,
                        events.REVISION_SUPERSEDED,
                        f"{number}#{other.revno}",
                        {"from": target.name, "to": target.exclusive, "by_revision": chosen.revno},
                        role=role,
                        allowed_roles=step.roles,
                    )
                    superseded.append(other.revno)
    return TransitionResult(
        number, chosen.revno, step.name, chosen.state, target.name, superseded, record.seq
    )
