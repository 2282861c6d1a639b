"""Taking a workflow transition on a revision: the rules of the declarative definition, enforced.

Checked inside the transaction, after the office's chain-head lock is held, so two people
racing on one revision are serialised and the second sees the first one's result: the role,
a required comment, who alone may take it (``by``: an author discards only their own draft),
segregation of duties (``not_by``), and what the target state implies
(``exclusive``: the previously effective revision is superseded in the same transaction;
``starts_review_clock``: the periodic-review due date, counted from the office's local date).
A transition back into the state it leaves (``confirm_review``: a periodic review that found the
revision still adequate) restarts that count; the revision keeps its effective date, and, being
the one in its state, supersedes nothing.  The event names the revision's file
as read under that lock (``sha256``: its current one, after any replacement), so the signature
binds the exact file acted on; the verifier holds every transition to that.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial

from sqlalchemy import Connection, bindparam, insert, select, update

from qms_engine.chain import events
from qms_engine.chain.authorisation import Attempt, transition_problems
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor
from qms_engine.clock import to_utc_text, utc_now, zone
from qms_engine.documents.revisions import (
    DocumentRef,
    RevisionRow,
    awaits_adoption,
    load_document,
    revision_rows,
)
from qms_engine.errors import NotFound, PermissionDenied, RuleViolation, known_value
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.people.workflow_registrations import require_registered
from qms_engine.rules.workflows import AUTHOR, Transition, WorkflowDefinition
from qms_engine.runtime import Runtime
from qms_engine.storage.database import Prepared
from qms_engine.storage.models import ACTION_TABLE, STATE_TABLE, USER_TABLE


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
    review_due: date | None = None
    """The next periodic review, when the transition (re)started the review clock."""


def may_take(
    step: Transition,
    attempt: Attempt,
    roles: Collection[str],
    *,
    is_author: bool,
    took: Callable[[str], bool],
    actions: Sequence[tuple[str, bool]] = (),
    what: str = "revision",
) -> bool:
    """Whether someone holding ``roles`` may take ``step`` (``attempt``: by whom, on what): the
    write path's own rules (:func:`transition_problems`), in the role they would sign in, the
    comment aside (it is asked for when the step is taken).  A nonconformity's transition
    (``what``) also looks at its ``actions`` (subject, done)."""
    held = sorted(set(roles) & set(step.roles))
    if not held:
        return False
    problems = transition_problems(
        replace(step, comment_required=False),
        replace(attempt, role=held[0]),
        is_author=is_author,
        took=took,
        actions=actions,
        what=what,
    )
    return not problems


def _open_to(
    connection: Connection,
    document: DocumentRef,
    workflow: WorkflowDefinition,
    revisions: Sequence[RevisionRow],
    user: Actor,
) -> str:
    """What ``user`` may do now instead (a hint): the transitions they may take on these
    revisions, or, if none, where to see who may."""
    mine = sorted(
        {
            step.name
            for revision in revisions
            for step in workflow.transitions_from(revision.state)
            if may_take(
                step,
                Attempt(document.office.code, user.username, "", document.number, {}),
                user.roles,
                is_author=user.id == revision.author_id,
                took=partial(_took, connection, revision, user),
            )
        }
    )
    if mine:
        return _("{username} may take now: {mine}").format(
            username=user.username, mine=", ".join(mine)
        )
    return _(
        "nothing {username} may take on it now; `qms wf show {name}` "
        "says who may take each transition"
    ).format(username=user.username, name=workflow.name)


def _pick_revision(
    document: DocumentRef,
    workflow: WorkflowDefinition,
    transition: Transition,
    revisions: Sequence[RevisionRow],
    revno: int | None,
    instead: Callable[[Sequence[RevisionRow]], str],
) -> int:
    """The revision ``transition`` is to be taken on; refused (with ``instead(revisions)`` as
    the hint) when none of them is in a state it leaves."""
    states = {r.revno: r.state for r in revisions}
    if revno is not None:
        if revno not in states:
            raise NotFound(
                _("{number} has no revision {revno}").format(number=document.number, revno=revno)
            )
        candidates = [revno] if states[revno] in transition.sources else []
    else:
        candidates = [rev for rev, state in states.items() if state in transition.sources]
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        raise RuleViolation(
            _("{number}: revisions {candidates} can all take {name}").format(
                number=document.number, candidates=candidates, name=repr(transition.name)
            ),
            hint=_("choose one with --rev N"),
        )
    latest = revno if revno is not None else max(states)
    if states[latest] == transition.target:
        raise RuleViolation(
            _(
                "{number}: revision {latest} is already {target} (someone took {name} first?)"
            ).format(
                number=document.number,
                latest=latest,
                target=transition.target,
                name=repr(transition.name),
            ),
            hint=_("see `qms doc show` for what is left to do"),
        )
    considered = [r for r in revisions if revno is None or r.revno == revno]
    described = ", ".join(f"revision {r.revno} is {r.state}" for r in considered)
    raise RuleViolation(
        _("{number}: {name} needs a revision in {sources}, but {described}").format(
            number=document.number,
            name=repr(transition.name),
            sources=" or ".join(transition.sources),
            described=described,
        ),
        hint=instead(considered),
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
_TAKERS = Prepared(
    select(USER_TABLE.c.username)
    .join(ACTION_TABLE, ACTION_TABLE.c.actor_id == USER_TABLE.c.id)
    .where(
        ACTION_TABLE.c.revision_id == bindparam("revision_id"),
        ACTION_TABLE.c.transition == bindparam("transition"),
    )
)
_AUTHOR = Prepared(select(USER_TABLE.c.username).where(USER_TABLE.c.id == bindparam("user_id")))


def _took(connection: Connection, revision: RevisionRow, user: Actor, transition: str) -> bool:
    """Whether ``user`` took ``transition`` on ``revision`` before."""
    rows = _TOOK.rows(connection, revision_id=revision.id, transition=transition, actor_id=user.id)
    return bool(rows)


def _refuse_unless_named(
    connection: Connection, step: Transition, revision: RevisionRow, user: Actor, subject: str
) -> None:
    """A transition only some may take (``by``: an author discards their own draft) is refused
    to anyone else saying who may, by name, before their roles are looked at."""
    if not step.by:
        return
    whom, names = [], []
    for entry in step.by:
        if entry == AUTHOR:
            found = [row[0] for row in _AUTHOR.rows(connection, user_id=revision.author_id)]
            whom.append(_("its author ({found})").format(found=", ".join(found)))
        else:
            found = [
                row[0]
                for row in _TAKERS.rows(connection, revision_id=revision.id, transition=entry)
            ]
            whom.append(
                _("whoever took {entry} on it ({value})").format(
                    entry=repr(entry), value=", ".join(found) or _("nobody yet")
                )
            )
        names += found
    if user.username not in names:
        raise PermissionDenied(
            _("only {whom} may {name} {subject}, not {username}").format(
                whom=" or ".join(whom),
                name=step.name,
                subject=subject,
                username=repr(user.username),
            ),
            hint=_("ask {items}").format(items=" or ".join(dict.fromkeys(names)))
            if names
            else None,
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
_RESTART_CLOCK = Prepared(
    update(STATE_TABLE)
    .where(STATE_TABLE.c.revision_id == bindparam("b_revision"))
    .values(entered_at=bindparam("b_at"), review_due=bindparam("b_due"))
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


def workflow_step(workflow: WorkflowDefinition, name: str) -> Transition:
    """The transition ``name`` of ``workflow``, or bad input listing the ones it has (and the
    nearest, for a typo)."""
    known = known_value("transition", name, workflow.transitions, f"the workflow {workflow.name}")
    return workflow.transition(known)


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
        step = workflow_step(workflow, transition)
        work.lock(document.office)
        require_registered(
            connection,
            document.office,
            document.workflow,
            runtime.plugins.workflow_digest(document.workflow),
        )
        user = load_actor(connection, actor, document.office)
        revisions = revision_rows(connection, document)
        instead = partial(_open_to, connection, document, workflow, user=user)
        picked = _pick_revision(document, workflow, step, revisions, revno, instead)
        chosen = next(r for r in revisions if r.revno == picked)
        if awaits_adoption(chosen.author_kind, _kind(runtime, document)):
            raise RuleViolation(
                _(
                    "{number}#{revno} was filed from the inbox: the author it names "
                    "must first sign for it"
                ).format(number=number, revno=chosen.revno),
                hint=_("qms doc adopt {number} --as AUTHOR").format(number=number),
            )
        _refuse_unless_named(connection, step, chosen, user, f"{number}#{chosen.revno}")
        role = require_role(
            user,
            step.roles,
            document.office,
            _("{name} revisions of {type_code} documents").format(
                name=step.name, type_code=document.type_code
            ),
        )
        if step.comment_required and not comment:
            raise RuleViolation(
                _("{name} needs a comment saying why").format(name=repr(step.name)),
                hint=_("give --comment"),
            )
        refused = transition_problems(
            step,
            Attempt(document.office.code, user.username, role, number, {"comment": comment}),
            is_author=user.id == chosen.author_id,
            took=partial(_took, connection, chosen, user),
        )
        if refused:
            raise PermissionDenied("; ".join(refused))

        now = utc_now()
        at = to_utc_text(now)
        target = workflow.states[step.target]
        due: date | None = None
        if target.starts_review_clock:
            if document.review_period_days:
                today = now.astimezone(zone(document.office.timezone)).date()
                due = today + timedelta(days=document.review_period_days)
            due_text = due.isoformat() if due else None
            if chosen.state == target.name:  # reviewed, no change: in force since it was
                _RESTART_CLOCK.run(connection, b_revision=chosen.id, b_at=at, b_due=due_text)
            else:
                _MOVE_AND_START_CLOCK.run(
                    connection, b_revision=chosen.id, b_state=target.name, b_at=at, b_due=due_text
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
        number, chosen.revno, step.name, chosen.state, target.name, superseded, record.seq, due
    )
