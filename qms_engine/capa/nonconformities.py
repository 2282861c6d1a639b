"""Raising a nonconformity and moving it through its CAPA workflow, each step signed.

An NC is numbered by its office type's scheme (``PS-KOT39/NC/2026/004``: a serial per office
per calendar year of the office's local date), names the documents and register records it is
about and the evidence files (stored in the blob store), and starts in its workflow's initial
state.  A transition is checked, under the office's chain-head lock, by the workflow
definition's own rules (:func:`~qms_engine.chain.authorisation.transition_problems`, which the
verifier applies too): the role, a required comment, ``by`` / ``not_by`` where ``author`` is
whoever raised the NC, ``implementer`` whoever implemented one of its actions and ``audited``
the owner of the area whose internal audit finding raised it, and ``actions`` (``planned``:
the NC has an action; ``done``: every one is done), counting only the actions added since its
last transition that ``resets_actions`` (a reopening).  Nothing is written when a rule
refuses.  A service account (the inbox) raises no NC: a person answers for each.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Connection, func, insert, select, update

from qms_engine.capa.evidence import check_evidence, staged_evidence
from qms_engine.capa.numbers import Numbered, next_number
from qms_engine.capa.records import (
    ActionRow,
    NcRow,
    actions_of,
    load_nc,
    steps_taken,
    stored_files,
)
from qms_engine.chain import events
from qms_engine.chain.authorisation import (
    NC_SOURCES,
    RULES,
    SEVERITIES,
    Attempt,
    transition_problems,
)
from qms_engine.chain.canonical import JsonValue, canonical_text
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import utc_now
from qms_engine.documents.revisions import MAX_TITLE, spelt_number
from qms_engine.documents.transitions import may_take, workflow_step
from qms_engine.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation, known_value
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.people.workflow_registrations import require_registered
from qms_engine.rules.roles import QUALITY_COORDINATOR
from qms_engine.rules.text import is_blank
from qms_engine.rules.workflows import (
    AUDITED,
    IMPLEMENTER,
    NONCONFORMITY,
    Transition,
    WorkflowDefinition,
)
from qms_engine.runtime import Runtime
from qms_engine.storage.batches import batches
from qms_engine.storage.models import (
    AUDIT_ITEM_TABLE,
    AUDIT_TABLE,
    DOCUMENT_TABLE,
    FEEDBACK_TABLE,
    NC_STEP_TABLE,
    NC_TABLE,
    OFFICE_TABLE,
    TYPE_TABLE,
)

MAX_CLAUSE = 128
"""Characters of the clause (or SOP) an NC names: its database column."""


@dataclass(frozen=True)
class NcRef:
    """A nonconformity that was raised or moved: its office, number and state now."""

    office: str
    number: str
    state: str
    event_seq: int


@dataclass(frozen=True)
class NcStep:
    """A transition taken on a nonconformity of ``office`` (its code)."""

    office: str
    number: str
    transition: str
    from_state: str
    to_state: str
    event_seq: int


# --- raising ---------------------------------------------------------------------------------


def _check_fields(title: str, description: str, source: str, severity: str, clause: str) -> None:
    """What an NC must say: a title, a description, a known source and severity."""
    if is_blank(title):
        raise InvalidInput(_("the nonconformity's title is empty"), hint=_("give --title"))
    if len(title) > MAX_TITLE:
        raise InvalidInput(
            _("the title is {count} characters; at most {max_title} are allowed").format(
                count=len(title), max_title=MAX_TITLE
            ),
            hint=_("say it in a line; the details go in --description"),
        )
    if is_blank(description):
        raise InvalidInput(
            _("the nonconformity's description is empty: say what was found, where and when"),
            hint=_("give --description"),
        )
    known_value("source", source, NC_SOURCES, "nonconformity sources")
    known_value("severity", severity, SEVERITIES, "nonconformity severities")
    if len(clause) > MAX_CLAUSE:
        raise InvalidInput(
            _("the clause is {count} characters; at most {max_clause} are allowed").format(
                count=len(clause), max_clause=MAX_CLAUSE
            ),
            hint=_("give the ISO clause (such as 7.5.3) or the SOP's number"),
        )


def _check_named(
    connection: Connection, office: OfficeRef, numbers: Sequence[str], kind: str
) -> list[str]:
    """``numbers`` (given in any letter case, kept as the documents spell them, without
    repeats), each a document of ``office`` of ``kind`` ("document": a controlled document,
    "register": a register record)."""
    wanted = list(dict.fromkeys(spelt_number(connection, number) for number in numbers))
    rows = connection.execute(
        select(DOCUMENT_TABLE.c.number, OFFICE_TABLE.c.code, TYPE_TABLE.c.kind)
        .join(OFFICE_TABLE, OFFICE_TABLE.c.id == DOCUMENT_TABLE.c.office_id)
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .where(DOCUMENT_TABLE.c.number.in_(wanted))
    ).all()
    found = {number: (code, found_kind) for number, code, found_kind in rows}
    for number in wanted:
        if number not in found:
            raise NotFound(
                _("no document numbered {number}").format(number=repr(number)),
                hint=_("see `qms doc list`"),
            )
        code, found_kind = found[number]
        if code != office.code:
            raise RuleViolation(
                _(
                    "{number} belongs to {code}: a nonconformity of {code2} names "
                    "only its own documents and records"
                ).format(number=number, code=code, code2=office.code)
            )
        if found_kind != kind:
            message = (
                _("{number} is a register record, not a controlled document")
                if found_kind == "register"
                else _("{number} is a controlled document, not a register record")
            )
            raise InvalidInput(
                message.format(number=number),
                hint=_("name documents with --document and register records with --record"),
            )
    return wanted


def _next_serial(work: UnitOfWork, runtime: Runtime, office: OfficeRef) -> Numbered:
    """The next NC's number in ``office``: a serial per calendar year of its local date."""
    work.lock(office)
    numbering = runtime.plugins.registry.office_type(office.office_type).nc_numbering
    return next_number(work.connection, NC_TABLE, office, numbering, utc_now())


def next_nc_number(work: UnitOfWork, runtime: Runtime, office: OfficeRef) -> str:
    """The number the next NC raised in ``office`` gets: inside ``work``, after the office's
    lock, so that an audit finding can name the NC its next event raises."""
    return _next_serial(work, runtime, office).number


def _claim_responses(
    connection: Connection, office: OfficeRef, number: str, responses: Sequence[str]
) -> None:
    """Mark citizens' feedback ``responses`` (already stored, in this transaction or before)
    as linked to NC ``number``: each exists in the office and is linked to no other NC."""
    linked: dict[str, str | None] = {}
    for some in batches(responses):
        rows = connection.execute(
            select(FEEDBACK_TABLE.c.response_id, FEEDBACK_TABLE.c.nc_number).where(
                FEEDBACK_TABLE.c.office_id == office.id,
                FEEDBACK_TABLE.c.response_id.in_(list(some)),
            )
        )
        linked.update((response, nc) for response, nc in rows)
    missing = [response for response in responses if response not in linked]
    if missing:
        raise NotFound(
            _("{code} has no feedback response {missing}").format(
                code=office.code, missing=", ".join(missing)
            ),
            hint=_("import the feedback first: qms feedback import FILE"),
        )
    taken = [f"{r} ({linked[r]})" for r in responses if linked[r] not in (None, number)]
    if taken:
        raise RuleViolation(
            _("feedback already linked to another nonconformity: {taken}").format(
                taken=", ".join(taken)
            )
        )
    for some in batches(responses):
        connection.execute(
            update(FEEDBACK_TABLE)
            .where(
                FEEDBACK_TABLE.c.office_id == office.id,
                FEEDBACK_TABLE.c.response_id.in_(list(some)),
            )
            .values(nc_number=number)
        )


def raise_nc_in(
    work: UnitOfWork,
    runtime: Runtime,
    office: OfficeRef,
    actor: Actor,
    *,
    title: str,
    description: str,
    source: str,
    severity: str,
    clause: str = "",
    documents: Sequence[str] = (),
    records: Sequence[str] = (),
    evidence: Sequence[Mapping[str, object]] = (),
    responses: Sequence[str] = (),
    finding: str = "",
) -> NcRef:
    """Raise an NC inside an open unit of work whose caller locked ``office`` and loaded
    ``actor`` (a feedback import, an audit finding); ``evidence``: file objects already stored
    (``sha256``, ``size``, ``media_type``, ``original_filename``); ``responses``: feedback
    responses stored before (source ``citizen_feedback`` only); ``finding``: the audit
    finding (``IA#n``) that raised it (source ``internal_audit`` only)."""
    clause = clause.strip()
    _check_fields(title, description, source, severity, clause)
    if responses and source != "citizen_feedback":
        raise InvalidInput(_("only a nonconformity raised from citizen feedback names responses"))
    if finding and source != "internal_audit":
        raise InvalidInput(_("only a nonconformity raised by an internal audit names a finding"))
    if actor.kind == "service":
        raise PermissionDenied(
            _(
                "{username} is a service account: a nonconformity is raised by a "
                "person, who answers for it"
            ).format(username=repr(actor.username)),
            hint=_("raise it as yourself: --as USER"),
        )
    work.lock(office)
    connection = work.connection
    documents = _check_named(connection, office, documents, "document")
    records = _check_named(connection, office, records, "register")
    workflow = runtime.plugins.registry.office_type(office.office_type).nc_workflow
    require_registered(connection, office, workflow, runtime.plugins.workflow_digest(workflow))
    role = require_role(
        actor,
        {QUALITY_COORDINATOR} if responses else RULES[events.NC_RAISED.action].roles or (),
        office,
        "raise nonconformities" + (" linking citizens' responses" if responses else ""),
    )
    initial = runtime.plugins.workflows[workflow].initial
    allotted = _next_serial(work, runtime, office)
    number = allotted.number
    linked = list(dict.fromkeys(responses))
    links: dict[str, JsonValue] = {
        "documents": list(documents),
        "records": list(records),
        "evidence": [file.as_payload() for file in stored_files(evidence)],
        "responses": list(linked),
        "finding": finding,
    }
    now = utc_now()  # a row's time precedes the event that records it, as everywhere
    record = work.append(
        office,
        actor,
        events.NC_RAISED,
        number,
        {
            "title": title,
            "description": description,
            "source": source,
            "severity": severity,
            "clause": clause,
            **links,
            "workflow": workflow,
            "state": initial,
        },
        role=role,
    )
    connection.execute(
        insert(NC_TABLE),
        {
            "office_id": office.id,
            "number": number,
            "serial_year": allotted.year,
            "serial": allotted.serial,
            "title": title,
            "description": description,
            "source": source,
            "severity": severity,
            "clause": clause,
            "links": canonical_text(links),
            "workflow": workflow,
            "state": initial,
            "raised_by": actor.id,
            "raised_at": now,
            "state_entered_at": now,
            "event_seq": record.seq,
        },
    )
    if linked:
        _claim_responses(connection, office, number, linked)
    return NcRef(office.code, number, initial, record.seq)


def raise_nc(
    runtime: Runtime,
    *,
    office: str,
    actor: Signer,
    title: str,
    description: str,
    source: str,
    severity: str,
    clause: str = "",
    documents: Sequence[str] = (),
    records: Sequence[str] = (),
    evidence: Sequence[Path] = (),
) -> NcRef:
    """Record a nonconformity in ``office`` (its code) as ``actor``, with its evidence files,
    in its workflow's initial state: one signed ``nc.raised`` event."""
    _check_fields(title, description, source, severity, clause.strip())
    place = runtime.office(office)
    facts = check_evidence(evidence)
    with staged_evidence(runtime, facts) as staged, runtime.unit_of_work() as work:
        work.lock(place)
        user = load_actor(work.connection, actor, place)
        raised = raise_nc_in(
            work,
            runtime,
            place,
            user,
            title=title,
            description=description,
            source=source,
            severity=severity,
            clause=clause,
            documents=documents,
            records=records,
            evidence=[file.as_payload() for file in staged.files],
        )
        staged.publish(work)
    return raised


def link_feedback_in(
    work: UnitOfWork,
    runtime: Runtime,
    office: OfficeRef,
    actor: Actor,
    *,
    number: str,
    responses: Sequence[str],
) -> None:
    """Link later poor feedback ``responses`` (stored before, in this transaction or earlier)
    to NC ``number``, raised from citizen feedback and still open: ``nc.feedback.linked``."""
    work.lock(office)
    nc = load_nc(work.connection, number)
    if nc.office.id != office.id:
        raise RuleViolation(
            _("{number} is a nonconformity of {code}, not {code2}").format(
                number=number, code=nc.office.code, code2=office.code
            )
        )
    if nc.source != "citizen_feedback":
        raise RuleViolation(
            _("{number} was not raised from citizen feedback ({source})").format(
                number=number, source=nc.source
            )
        )
    if runtime.plugins.workflows[nc.workflow].states[nc.state].terminal:
        raise RuleViolation(
            _("{number} is {state}: feedback is linked only to an open nonconformity").format(
                number=number, state=nc.state
            ),
            hint=_("raise a new one"),
        )
    wanted = list(dict.fromkeys(responses))
    if not wanted:
        raise InvalidInput(_("no feedback responses to link"))
    role = require_role(
        actor, RULES[events.NC_FEEDBACK_LINKED.action].roles or (), office, _("link feedback")
    )
    work.append(office, actor, events.NC_FEEDBACK_LINKED, number, {"responses": wanted}, role=role)
    _claim_responses(work.connection, office, number, wanted)
    links: dict[str, JsonValue] = {
        "documents": list(nc.documents),
        "records": list(nc.records),
        "evidence": [file.as_payload() for file in nc.evidence],
        "responses": list(dict.fromkeys([*nc.responses, *wanted])),
        "finding": nc.finding,
    }
    work.connection.execute(
        update(NC_TABLE).where(NC_TABLE.c.id == nc.id).values(links=canonical_text(links))
    )


# --- transitions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """What the rules of an NC's transitions look at besides the actor's roles: who took
    which transition on it, who implemented its actions, whose area was audited, and its
    actions that count (subject, done)."""

    nc: NcRow
    taken: frozenset[tuple[str, int]]
    implementers: frozenset[str]
    actions: tuple[tuple[str, bool], ...]
    """The actions added since its last transition that reset them."""
    audited_id: int | None = None
    """The owner of the area whose audit finding raised the NC (None: none)."""
    uncounted: int = 0
    """How many actions were added before that transition (in the history, not counted)."""
    revising: tuple[tuple[str, str], ...] = ()
    """(subject, document) of its counted actions that ask for a document's revision."""

    def took(self, user_id: int, username: str, name: str) -> bool:
        """Whether the user took transition ``name`` on the NC (``implementer``: implemented
        one of its actions; ``audited``: owns the area audited)."""
        if name == IMPLEMENTER:
            return username in self.implementers
        if name == AUDITED:
            return user_id == self.audited_id
        return (name, user_id) in self.taken

    def problems(self, step: Transition, user_id: int, attempt: Attempt) -> list[str]:
        """Why ``attempt`` may not take ``step`` (:func:`transition_problems`)."""
        return transition_problems(
            step,
            attempt,
            is_author=user_id == self.nc.raised_by_id,
            took=lambda name: self.took(user_id, attempt.actor, name),
            actions=self.actions,
            what=NONCONFORMITY,
        )

    def may_take(
        self, step: Transition, user_id: int, username: str, roles: Collection[str]
    ) -> bool:
        """Whether someone holding ``roles`` may take ``step`` now (the comment aside)."""
        return may_take(
            step,
            Attempt(self.nc.office.code, username, "", self.nc.number, {}),
            roles,
            is_author=user_id == self.nc.raised_by_id,
            took=lambda name: self.took(user_id, username, name),
            actions=self.actions,
            what=NONCONFORMITY,
        )


def standing_of(
    connection: Connection,
    nc: NcRow,
    workflow: WorkflowDefinition,
    actions: Sequence[ActionRow] | None = None,
) -> Standing:
    """The :class:`Standing` of ``nc`` (moved by ``workflow``) as the tables hold it
    (``actions``: read already)."""
    listed = actions_of(connection, nc) if actions is None else actions
    reset_at = _reset_at(connection, nc, workflow)
    counted = [action for action in listed if action.added_seq > reset_at]
    return Standing(
        nc,
        frozenset(steps_taken(connection, nc)),
        frozenset(name for action in listed for name in action.implementers),
        tuple((action.subject, action.done) for action in counted),
        _audited_id(connection, nc),
        len(listed) - len(counted),
        tuple((action.subject, action.document) for action in counted if action.document),
    )


def _reset_at(connection: Connection, nc: NcRow, workflow: WorkflowDefinition) -> int:
    """The event of ``nc``'s last transition that reset its actions (0: none yet)."""
    resetting = [name for name, step in workflow.transitions.items() if step.resets_actions]
    if not resetting:
        return 0
    return int(
        connection.execute(
            select(func.coalesce(func.max(NC_STEP_TABLE.c.event_seq), 0)).where(
                NC_STEP_TABLE.c.nc_id == nc.id, NC_STEP_TABLE.c.transition.in_(resetting)
            )
        ).scalar_one()
    )


def _audited_id(connection: Connection, nc: NcRow) -> int | None:
    """The owner of the area whose audit finding (``AUDIT#n``) raised ``nc``, if any."""
    audit, _hash, n = nc.finding.rpartition("#")
    if not audit or not (n.isascii() and n.isdigit()):
        return None
    owner: int | None = connection.execute(
        select(AUDIT_ITEM_TABLE.c.area_owner_id)
        .join(AUDIT_TABLE, AUDIT_TABLE.c.id == AUDIT_ITEM_TABLE.c.audit_id)
        .where(AUDIT_TABLE.c.number == audit, AUDIT_ITEM_TABLE.c.n == int(n))
    ).scalar()
    return owner


def _open_to(workflow: WorkflowDefinition, standing: Standing, user: Actor) -> str:
    """What ``user`` may do on the NC now instead (a hint): first of all, on an NC that
    accepts actions but has none, plan one."""
    if workflow.states[standing.nc.state].accepts_actions and not standing.actions:
        return _(
            "{number} has no action yet: plan one first, qms nc action add "
            "{number} --type TYPE --description WHAT --owner USER --due "
            "YYYY-MM-DD"
        ).format(number=standing.nc.number)
    mine = [
        step.name
        for step in workflow.transitions_from(standing.nc.state)
        if standing.may_take(step, user.id, user.username, user.roles)
    ]
    if mine:
        return _("{username} may take now: {mine}").format(
            username=user.username, mine=", ".join(mine)
        )
    return _("`qms wf show {name}` says who may take each transition").format(name=workflow.name)


def refuse_if_finished(workflow: WorkflowDefinition, nc: NcRow) -> None:
    """A closed or cancelled NC takes nothing more: no transition, no action."""
    if workflow.states[nc.state].terminal:
        raise RuleViolation(
            _("{number} is {state}: nothing more is done on it").format(
                number=nc.number, state=nc.state
            ),
            hint=_("if the problem is back, raise a new nonconformity: qms nc raise"),
        )


def _check_source_state(
    workflow: WorkflowDefinition, step: Transition, standing: Standing, user: Actor
) -> None:
    nc = standing.nc
    if nc.state in step.sources:
        return
    refuse_if_finished(workflow, nc)
    if nc.state == step.target:
        raise RuleViolation(
            _("{number} is already {state} (someone took {name} first?)").format(
                number=nc.number, state=nc.state, name=repr(step.name)
            ),
            hint=_("qms nc show {number}").format(number=nc.number),
        )
    raise RuleViolation(
        _("{number} is {state}; {name} needs it {sources}").format(
            number=nc.number,
            state=nc.state,
            name=repr(step.name),
            sources=" or ".join(step.sources),
        ),
        hint=_open_to(workflow, standing, user),
    )


def _refuse(step: Transition, standing: Standing, user_id: int, attempt: Attempt) -> None:
    """Refuse a transition the rules forbid: for who is acting (PermissionDenied), or, when
    only the NC's actions stand in the way, for what is left to do (RuleViolation)."""
    problems = standing.problems(step, user_id, attempt)
    if not problems:
        return
    about_people = standing.problems(replace(step, actions=None), user_id, attempt)
    message = "; ".join(problems)
    if about_people:
        raise PermissionDenied(f"{standing.nc.number}: {message}")
    open_ones = [subject for subject, done in standing.actions if not done]
    earlier = (
        _("the {uncounted} action(s) planned before it was reopened no longer count; ").format(
            uncounted=standing.uncounted
        )
        if standing.uncounted and not standing.actions
        else ""
    )
    document = dict(standing.revising).get(open_ones[0]) if open_ones else None
    if document:
        hint = _(
            "{value} is done when a new revision of {document} is made "
            "effective: qms doc show {document}"
        ).format(value=open_ones[0], document=document)
    elif open_ones:
        hint = _(
            "each owner marks theirs done: qms nc action done {value} --comment WHAT_WAS_DONE"
        ).format(value=open_ones[0])
    else:
        hint = _("{earlier}plan one first: qms nc action add {number} …").format(
            earlier=earlier, number=standing.nc.number
        )
    raise RuleViolation(f"{standing.nc.number}: {message}", hint=hint)


def take_nc_transition(
    runtime: Runtime, *, number: str, transition: str, actor: Signer, comment: str = ""
) -> NcStep:
    """Move NC ``number`` along ``transition`` as ``actor``, with its signed ``nc.<meaning>``
    event, if the workflow's rules let them."""
    comment = comment.strip()
    with runtime.unit_of_work() as work:
        connection = work.connection
        nc = load_nc(connection, number)
        workflow = runtime.plugins.workflows[nc.workflow]
        step = workflow_step(workflow, transition)
        work.lock(nc.office)
        nc = load_nc(connection, number)  # as it is under the lock
        require_registered(
            connection, nc.office, nc.workflow, runtime.plugins.workflow_digest(nc.workflow)
        )
        user = load_actor(connection, actor, nc.office)
        standing = standing_of(connection, nc, workflow)
        _check_source_state(workflow, step, standing, user)
        role = require_role(
            user, step.roles, nc.office, _("{name} nonconformities").format(name=step.name)
        )
        if step.comment_required and not comment:
            raise RuleViolation(
                _("{name} needs a comment saying why").format(name=repr(step.name)),
                hint=_("give --comment"),
            )
        attempt = Attempt(nc.office.code, user.username, role, nc.number, {"comment": comment})
        _refuse(step, standing, user.id, attempt)
        target = workflow.states[step.target]
        now = utc_now()
        record = work.append(
            nc.office,
            user,
            events.nc_transition(step.meaning),
            nc.number,
            {"transition": step.name, "from": nc.state, "to": target.name, "comment": comment},
            role=role,
        )
        connection.execute(
            update(NC_TABLE)
            .where(NC_TABLE.c.id == nc.id)
            .values(
                state=target.name,
                state_entered_at=now,
                closed_at=now if target.terminal else None,
            )
        )
        connection.execute(
            insert(NC_STEP_TABLE),
            {
                "nc_id": nc.id,
                "transition": step.name,
                "actor_id": user.id,
                "event_seq": record.seq,
                "at": now,
                "comment": comment,
            },
        )
    return NcStep(nc.office.code, nc.number, step.name, nc.state, target.name, record.seq)
