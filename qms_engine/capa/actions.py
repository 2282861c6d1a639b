"""The actions of a nonconformity's plan: each with a type, an owner and a due date, each signed.

An action is added (``nc.action.added``, by a quality coordinator or an approver) only while
the NC is in a state of its workflow that accepts actions, for an owner enrolled and active in
the office, due today or later (the office's local date).  Its owner alone marks it done
(``nc.action.done``), saying what was done, with evidence files if any; an action not done
whose owner left, or can no longer act, is handed to another by a quality coordinator or an
approver (``nc.action.reassigned``, saying why), and from then on only the new owner marks it
done.  An owner is a person: a service account (the inbox) owns no action.  An action that asks
for a revision of a controlled document is never marked done by hand: it is done when a
revision of that document newer than the one in place when the action was added becomes
effective (read by :func:`~qms_engine.capa.records.actions_of`), so the record shows the
revision itself, signed by who wrote it and who made it effective.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, func, insert, select, update

from qms_engine.capa.evidence import check_evidence, staged_evidence
from qms_engine.capa.nonconformities import refuse_if_finished
from qms_engine.capa.records import ActionRow, NcRow, action_subject, actions_of, load_nc
from qms_engine.chain import events
from qms_engine.chain.authorisation import ACTION_TYPES, RULES
from qms_engine.chain.canonical import canonical_text
from qms_engine.chain.events import EventKind
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import local_text, local_today, utc_now, years_after
from qms_engine.documents.revisions import load_document, spelt_number
from qms_engine.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation, known_value
from qms_engine.i18n import _
from qms_engine.people.permissions import find_member, load_actor, require_role
from qms_engine.people.workflow_registrations import require_registered
from qms_engine.rules.capa_terms import MAX_DUE_YEARS
from qms_engine.rules.text import is_blank
from qms_engine.rules.workflows import WorkflowDefinition
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    NC_ACTION_TABLE,
    REVISION_TABLE,
    STATE_TABLE,
)


@dataclass(frozen=True)
class ActionRef:
    """An action that was added or marked done: ``subject`` is ``NC#A1``."""

    subject: str
    n: int
    event_seq: int


def parse_action(text: str) -> tuple[str, int]:
    """The NC number and action number of ``PS-KOT39/NC/2026/004#A1`` (``#1`` too)."""
    number, sep, tail = text.strip().rpartition("#")
    digits = tail[1:] if tail[:1] in ("A", "a") else tail
    if not sep or not number or not (digits.isascii() and digits.isdigit()) or int(digits) < 1:
        raise InvalidInput(
            _(
                "{text} does not name an action: give the NC's number, '#A' and the action's number"
            ).format(text=repr(text)),
            hint=_("for example PS-KOT39/NC/2026/004#A1 (`qms nc show NC` lists its actions)"),
        )
    return number, int(digits)


def _accepting(workflow: WorkflowDefinition, nc: NcRow, doing: str) -> None:
    """Refuse unless ``nc`` is in a state that accepts actions (``doing``: what was asked)."""
    if workflow.states[nc.state].accepts_actions:
        return
    refuse_if_finished(workflow, nc)
    accepting = [name for name, state in workflow.states.items() if state.accepts_actions]
    back = [
        step.name
        for step in workflow.transitions_from(nc.state)
        if workflow.states[step.target].accepts_actions
    ]
    raise RuleViolation(
        _("{number} is {state}: actions are {doing} only while it is {accepting}").format(
            number=nc.number, state=nc.state, doing=doing, accepting=" or ".join(accepting)
        ),
        hint=_("qms nc act {number} {value} --comment WHY").format(number=nc.number, value=back[0])
        if back
        else None,
    )


def _owner(connection: Connection, office: OfficeRef, name: str) -> tuple[int, str]:
    """The id and name of an action's owner: a person (not a service) enrolled (holding a
    role) and active in ``office``."""
    member = find_member(connection, name, office)
    username = member.username
    if member.kind == "service":
        raise RuleViolation(
            _(
                "{username} is a service account: an action's owner is a person who answers for it"
            ).format(username=repr(username)),
            hint=_("give a person of the office with --owner"),
        )
    if not member.active:
        raise RuleViolation(
            _("{username} is deactivated: an action's owner must be someone who can act").format(
                username=repr(username)
            ),
            hint=_("give another owner with --owner"),
        )
    if not member.roles:
        raise RuleViolation(
            _(
                "{username} holds no role in {code}: an action's owner must be "
                "enrolled in the NC's office"
            ).format(username=repr(username), code=office.code),
            hint=_(
                "give another owner, or an admin enrols them: qms --office "
                "{code} user grant {username} ROLE --as ADMIN"
            ).format(code=office.code, username=username),
        )
    return member.id, username


def _document_floor(
    runtime: Runtime, connection: Connection, office: OfficeRef, number: str
) -> tuple[str, int]:
    """A document action's document (a controlled document of ``office``) and the number of
    its revision in force now (−1: none): a revision above it, once effective, fulfils the
    action — a draft already under way too."""
    document = load_document(connection, spelt_number(connection, number))
    if document.office.id != office.id:
        raise RuleViolation(
            _(
                "{number} belongs to {code}: an action of {code2} asks only for "
                "a revision of its own documents"
            ).format(number=number, code=document.office.code, code2=office.code)
        )
    spec = runtime.plugins.registry.office_type(office.office_type).document_type(
        document.type_code
    )
    if spec.kind != "document":
        raise RuleViolation(
            _(
                "{number} is a {title} record: records are filed once and never "
                "revised, so an action cannot ask for a revision of one"
            ).format(number=number, title=spec.title),
            hint=_("name a controlled document (an SOP …), or leave --document out"),
        )
    in_force = runtime.plugins.workflows[spec.workflow].in_force_state
    current = connection.execute(
        select(func.max(REVISION_TABLE.c.revno))
        .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
        .where(REVISION_TABLE.c.document_id == document.id, STATE_TABLE.c.state == in_force)
    ).scalar_one()
    return document.number, -1 if current is None else int(current)


def _check_due(due: date, today: date, office: OfficeRef) -> None:
    """An action is due from ``today`` (the office's calendar day) to :data:`MAX_DUE_YEARS`
    years ahead."""
    if due < today:
        raise RuleViolation(
            _("the due date {due} is in the past (today is {today} in {code})").format(
                due=due.isoformat(), today=today.isoformat(), code=office.code
            ),
            hint=_("give a due date from today on: --due YYYY-MM-DD"),
        )
    latest = years_after(today, MAX_DUE_YEARS)
    if due > latest:
        raise InvalidInput(
            _(
                "the due date {due} is more than {max_due_years} years ahead "
                "(today is {today} in {code}; the latest allowed is {latest})"
            ).format(
                due=due.isoformat(),
                max_due_years=MAX_DUE_YEARS,
                today=today.isoformat(),
                code=office.code,
                latest=latest.isoformat(),
            ),
            hint=_("give the day it is really due: --due YYYY-MM-DD"),
        )


def _locked_nc(runtime: Runtime, connection: Connection, number: str) -> NcRow:
    """NC ``number`` as it is under its office's lock (taken by the caller's unit of work),
    its workflow's installed definition being the registered one."""
    nc = load_nc(connection, number)
    require_registered(
        connection, nc.office, nc.workflow, runtime.plugins.workflow_digest(nc.workflow)
    )
    return nc


def _as_planner(
    runtime: Runtime,
    work: UnitOfWork,
    number: str,
    actor: Signer,
    kind: EventKind,
    doing: str,
    verb: str,
) -> tuple[NcRow, Actor, str]:
    """NC ``number`` under its office's lock, its planner and the role they sign ``kind`` in:
    refused unless the NC's state accepts actions (``doing``: "planned", "reassigned") and the
    planner holds a role of ``kind``'s rule (``verb``: what they would do to actions)."""
    work.lock(load_nc(work.connection, number).office)
    nc = _locked_nc(runtime, work.connection, number)
    user = load_actor(work.connection, actor, nc.office)
    _accepting(runtime.plugins.workflows[nc.workflow], nc, doing)
    role = require_role(
        user,
        RULES[kind.action].roles or (),
        nc.office,
        _("{verb} actions of nonconformities").format(verb=verb),
    )
    return nc, user, role


def add_action(
    runtime: Runtime,
    *,
    number: str,
    actor: Signer,
    type: str,
    description: str,
    owner: str,
    due: date,
    document: str = "",
) -> ActionRef:
    """Add an action to NC ``number``'s plan as ``actor``: signed ``nc.action.added``.

    ``document``: a controlled document of the office whose next revision, once effective,
    is the action done."""
    known_value("action type", type, ACTION_TYPES, "action types")
    if is_blank(description):
        raise RuleViolation(_("the action's description is empty"), hint=_("give --description"))
    with runtime.unit_of_work() as work:
        connection = work.connection
        nc, user, role = _as_planner(
            runtime, work, number, actor, events.NC_ACTION_ADDED, "planned", "plan"
        )
        owner_id, owner_name = _owner(connection, nc.office, owner)
        _check_due(due, local_today(nc.office.timezone), nc.office)
        named, after_revno = (
            _document_floor(runtime, connection, nc.office, document.strip())
            if document.strip()
            else ("", -1)
        )
        n = 1 + int(
            connection.execute(
                select(func.coalesce(func.max(NC_ACTION_TABLE.c.n), 0)).where(
                    NC_ACTION_TABLE.c.nc_id == nc.id
                )
            ).scalar_one()
        )
        subject = action_subject(nc.number, n)
        record = work.append(
            nc.office,
            user,
            events.NC_ACTION_ADDED,
            subject,
            {
                "type": type,
                "description": description,
                "owner": owner_name,
                "due": due.isoformat(),
                "document": named,
                "after_revno": after_revno,
            },
            role=role,
        )
        connection.execute(
            insert(NC_ACTION_TABLE),
            {
                "nc_id": nc.id,
                "n": n,
                "type": type,
                "description": description,
                "owner_id": owner_id,
                "due": due,
                "document": named or None,
                "after_revno": after_revno,
                "added_by": user.id,
                "added_at": utc_now(),
                "added_seq": record.seq,
                "evidence": "[]",
            },
        )
    return ActionRef(subject, n, record.seq)


def _numbered(nc: NcRow, actions: Sequence[ActionRow], n: int) -> ActionRow:
    """Action ``n`` of ``nc`` (``actions``: all of them), or a NotFound listing them."""
    found = [action for action in actions if action.n == n]
    if not found:
        known = ", ".join(f"A{action.n}" for action in actions) or _("none yet")
        raise NotFound(
            _("{number} has no action A{n} (its actions: {known})").format(
                number=nc.number, n=n, known=known
            ),
            hint=_("qms nc show {number}").format(number=nc.number),
        )
    return found[0]


def _not_done(nc: NcRow, action: ActionRow) -> ActionRow:
    """``action``, refused once it is done (by hand, or by the revision it asked for)."""
    if action.done_at is not None:
        how = f" (revision {action.fulfilled_by})" if action.fulfilled_by else ""
        raise RuleViolation(
            _("{subject} was already done{how} by {done_by} on {local_text}").format(
                subject=action.subject,
                how=how,
                done_by=action.done_by,
                local_text=local_text(action.done_at, nc.office.timezone),
            )
        )
    return action


def _open_action(nc: NcRow, actions: Sequence[ActionRow], n: int) -> ActionRow:
    """Action ``n`` of ``nc``, if it is one its owner may still mark done."""
    action = _numbered(nc, actions, n)
    if action.document:
        raise RuleViolation(
            _(
                "{subject} asks for a revision of {document}: it is done when a "
                "revision after revision {after_revno} becomes effective, not by "
                "hand"
            ).format(
                subject=action.subject, document=action.document, after_revno=action.after_revno
            ),
            hint=_("qms doc revise {document} FILE --reason '{subject}: …'").format(
                document=action.document, subject=action.subject
            ),
        )
    return _not_done(nc, action)


def _as_owner(user: Actor, action: ActionRow, office: OfficeRef) -> str:
    """The role the owner signs in (any they hold in the office); refused to anyone else."""
    if user.username != action.owner:
        raise PermissionDenied(
            _("only the owner of {subject} ({owner}) may mark it done, not {username}").format(
                subject=action.subject, owner=action.owner, username=repr(user.username)
            ),
            hint=_("ask {owner}").format(owner=action.owner),
        )
    if not user.roles:
        raise PermissionDenied(
            _("{username} holds no role in {code} any more and cannot sign there").format(
                username=repr(user.username), code=office.code
            ),
            hint=_(
                "an admin grants one: qms --office {code} user grant {username} ROLE --as ADMIN"
            ).format(code=office.code, username=user.username),
        )
    return sorted(user.roles)[0]


def complete_action(
    runtime: Runtime,
    *,
    action: str,
    actor: Signer,
    comment: str,
    evidence: Sequence[Path] = (),
) -> ActionRef:
    """Mark ``action`` (``NC#A1``) done as its owner, saying what was done, with evidence
    files: signed ``nc.action.done``."""
    number, n = parse_action(action)
    comment = comment.strip()
    if is_blank(comment):
        raise RuleViolation(_("say what was done"), hint=_("give --comment"))
    facts = check_evidence(evidence)
    with staged_evidence(runtime, facts) as staged, runtime.unit_of_work() as work:
        connection = work.connection
        work.lock(load_nc(connection, number).office)
        nc = _locked_nc(runtime, connection, number)
        user = load_actor(connection, actor, nc.office)
        _accepting(runtime.plugins.workflows[nc.workflow], nc, "marked done")
        found = _open_action(nc, actions_of(connection, nc), n)
        role = _as_owner(user, found, nc.office)
        files = [file.as_payload() for file in staged.files]
        record = work.append(
            nc.office,
            user,
            events.NC_ACTION_DONE,
            found.subject,
            {"comment": comment, "evidence": files},
            role=role,
            allowed_roles=user.roles,
        )
        connection.execute(
            update(NC_ACTION_TABLE)
            .where(NC_ACTION_TABLE.c.nc_id == nc.id, NC_ACTION_TABLE.c.n == n)
            .values(
                done_at=utc_now(),
                done_by=user.id,
                done_comment=comment,
                done_seq=record.seq,
                evidence=canonical_text(files),
            )
        )
        staged.publish(work)
    return ActionRef(found.subject, n, record.seq)


def reassign_action(
    runtime: Runtime, *, action: str, actor: Signer, owner: str, comment: str
) -> ActionRef:
    """Hand ``action`` (``NC#A1``), not done, to ``owner`` as a quality coordinator or an
    approver, saying why (its owner left, lost their role, is away): signed
    ``nc.action.reassigned``.  Without it an NC whose action's owner can no longer act could
    never be implemented.  A document action changes hands too (its revision still does it)."""
    number, n = parse_action(action)
    comment = comment.strip()
    if is_blank(comment):
        raise RuleViolation(_("say why the action changes hands"), hint=_("give --comment"))
    with runtime.unit_of_work() as work:
        connection = work.connection
        nc, user, role = _as_planner(
            runtime, work, number, actor, events.NC_ACTION_REASSIGNED, "reassigned", "reassign"
        )
        found = _not_done(nc, _numbered(nc, actions_of(connection, nc), n))
        owner_id, owner_name = _owner(connection, nc.office, owner)
        if owner_name == found.owner:
            raise RuleViolation(
                _("{subject} is already {owner_name}'s").format(
                    subject=found.subject, owner_name=owner_name
                ),
                hint=_("name another owner: --owner"),
            )
        record = work.append(
            nc.office,
            user,
            events.NC_ACTION_REASSIGNED,
            found.subject,
            {"owner": owner_name, "comment": comment},
            role=role,
        )
        connection.execute(
            update(NC_ACTION_TABLE)
            .where(NC_ACTION_TABLE.c.nc_id == nc.id, NC_ACTION_TABLE.c.n == n)
            .values(owner_id=owner_id)
        )
    return ActionRef(found.subject, n, record.seq)
