"""The CAPA rules of an audit chain: nonconformities, their actions, internal audits, feedback.

Checked from the chain alone, event by event, by the verifier (:mod:`qms_engine.chain.verifier`
hands each event of these kinds to :class:`CapaRules`), so an insider who writes the database,
or holds a valid key, cannot record a step the rules forbid without ``qms audit verify``
failing, online and from a bundle.  What the authorisation table cannot see from one event
alone is checked here, against what the chain said before it:

- a nonconformity (NC) is raised once, in the initial state of a workflow the chain registered
  whose subject is ``nonconformity``, naming controlled documents as its documents and register
  records as its records; its transitions (``nc.<meaning>``) follow that definition like a
  revision's (recorded state, roles, comment, ``by`` / ``not_by`` with ``author`` = whoever
  raised it, ``implementer`` = whoever implemented one of its actions and ``audited`` = the
  owner of the area whose audit finding raised it, and ``actions = "planned" | "done"``
  computed from the chain, counting only the actions added since the last transition that
  ``resets_actions``);
- actions are numbered A1, A2 … per NC, added only while the NC's state accepts actions, owned
  by someone holding a role in the office and active, due no earlier than the day before the
  event (UTC) and at most five years after it; a document action names a controlled
  document of this chain and the revision it follows (its highest then), and is done when a
  later revision enters its workflow's in-force state (by whoever wrote that revision and
  whoever took it there); any other action is marked done once, by its owner, while the NC
  accepts actions; an action not done may be handed to another owner (holding a role here,
  active) while the NC accepts actions;
- citizens' responses are received once in the chain, with the form's rule of a poor one;
  every poor response, and no other, is linked to one NC, raised from feedback (by a quality
  coordinator) and still open, by the chain's end; a response's comment is erased once, only
  after it was received, and only when the response is older than the erasure's date, itself
  no later than the erasure (a day's grace for the office's time zone);
- an internal audit's auditors hold the auditor role here and are active, its area owners hold
  a role here, each item's ref is an ISO clause or a document of this chain, and no auditor
  audits a document they wrote, or whose revision in force they approved or made effective —
  when the audit is planned, and again when the finding is recorded; an audit is dated from
  2000 to two years ahead; each finding is recorded once, by the item's auditor, not before
  the audit's day, and a nonconformity finding is followed at once by the ``nc.raised`` of
  the NC it names, raised by the same auditor, major or minor.

State is kept per NC, action, audit, document and response (small), never per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from qms_engine.chain import events
from qms_engine.chain.authorisation import (
    CLAUSE_WORDS,
    Attempt,
    chain_day,
    is_iso_clause,
    is_iso_date,
    nc_transition_shape,
    shifted_day,
    texts_of,
    transition_problems,
)
from qms_engine.i18n import _
from qms_engine.rules.capa_terms import (
    EARLIEST_AUDIT,
    FINDING_SEVERITIES,
    MAX_AUDIT_YEARS,
    MAX_DUE_YEARS,
)
from qms_engine.rules.roles import AUDITOR
from qms_engine.rules.workflows import AUDITED, IMPLEMENTER, NONCONFORMITY, WorkflowDefinition

KINDS = frozenset(
    kind.action
    for kind in (
        events.NC_RAISED,
        events.NC_ACTION_ADDED,
        events.NC_ACTION_DONE,
        events.NC_ACTION_REASSIGNED,
        events.NC_FEEDBACK_LINKED,
        events.AUDIT_PLANNED,
        events.FINDING_RECORDED,
        events.FEEDBACK_RECEIVED,
        events.FEEDBACK_ERASED,
    )
)
"""The fixed event kinds whose rules live here (NC transitions are ``nc.<meaning>``)."""

CITIZEN_FEEDBACK = "citizen_feedback"
INTERNAL_AUDIT = "internal_audit"
NONCONFORMITY_FOUND = "nonconformity"  # a finding's result that raises an NC
DUE_GRACE = timedelta(days=1)
"""Dates a person gives are checked against the event's UTC date with a day's grace (less a
day for a lower bound, plus a day for an upper one): the write path compares them with the
office's local date, which may be a day ahead of or behind UTC."""


class ChainFacts(Protocol):
    """What the CAPA rules read of the verifier's state (the chain up to the event)."""

    workflows: dict[str, WorkflowDefinition]
    roles: dict[str, set[str]]
    inactive: set[str]
    document_type: dict[str, str]
    type_kind: dict[str, str]
    author: dict[str, str]
    revisions_of: dict[str, list[str]]

    def problem(self, seq: int, what: str, rank: int = 2) -> None: ...


@dataclass(slots=True)
class _Nc:
    workflow: str
    state: str
    raiser: str
    source: str
    audited: str = ""
    """The owner of the area whose audit finding raised it ("" for none)."""
    actions: list[str] = field(default_factory=list)
    """Its actions' subjects (``NC#A1`` …), in the order added."""
    counted_from: int = 0
    """How many of ``actions`` were added before its last transition that reset them."""
    implementers: set[str] = field(default_factory=set)
    took: dict[str, set[str]] = field(default_factory=dict)
    """Transition name → who took it on this NC."""

    def did(self, entry: str) -> set[str]:
        """Who a ``by`` / ``not_by`` entry other than ``author`` names: the implementers, the
        owner of the area audited, or whoever took that transition on this NC."""
        if entry == IMPLEMENTER:
            return self.implementers
        if entry == AUDITED:
            return {self.audited} if self.audited else set()
        return self.took.get(entry, set())


@dataclass(slots=True)
class _Action:
    nc: str
    owner: str
    document: str
    after_revno: int
    done: bool = False


@dataclass(slots=True)
class _Item:
    ref: str
    auditor: str
    area_owner: str
    recorded: bool = False


@dataclass
class CapaRules:
    """Per-chain CAPA state and checks; ``chain`` is the verifier's state."""

    chain: ChainFacts
    ncs: dict[str, _Nc] = field(default_factory=dict)
    actions: dict[str, _Action] = field(default_factory=dict)
    awaiting_revision: dict[str, list[str]] = field(default_factory=dict)
    """Document number → its document actions not yet done."""
    responses: dict[str, str] = field(default_factory=dict)
    """Response id → the NC it is linked to ("" while none)."""
    response_day: dict[str, str | None] = field(default_factory=dict)
    """Response id → the UTC date of its ``time`` (None once its comment is erased)."""
    _days: dict[str, str] = field(default_factory=dict)
    """One copy of each date (a district's year of responses shares 365)."""
    poor: dict[str, int] = field(default_factory=dict)
    """Poor response id (by its form's rule) → the seq of the event that received it."""
    receipts: dict[int, str] = field(default_factory=dict)
    """The seq of a ``feedback.received`` with poor responses → its subject."""
    audits: dict[str, list[_Item]] = field(default_factory=dict)
    audit_dates: dict[str, date | None] = field(default_factory=dict)
    """Audit → the day it is planned for (None: no real date)."""
    in_force: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    """Document number → its revision in force, and who approved or made it so (took a
    transition into the in-force state, or the transition before one)."""
    last_actor: dict[str, str] = field(default_factory=dict)
    """Revision → who took its latest transition."""
    finding: tuple[str, str] | None = None
    """(finding subject, NC number) of a nonconformity finding: its nc.raised comes next."""
    found_by: str = ""
    """Who recorded that finding (they raise its NC)."""
    time: str = ""
    """The time of the event being checked."""

    # ------------------------------------------------------------------ every event

    def next_event(self, seq: int, body: Mapping[str, Any]) -> tuple[str, str] | None:
        """Before each event: a nonconformity finding just recorded must be followed by its
        NC's ``nc.raised`` (source internal audit, naming the finding).  Returns that finding
        when this event is its NC's raising."""
        action, subject = body.get("action"), body.get("subject")
        payload: Mapping[str, Any] = body.get("payload") or {}
        self.time = str(body.get("time", ""))
        expected, self.finding = self.finding, None
        if expected is None:
            return None
        finding, number = expected
        if (
            action == events.NC_RAISED.action
            and subject == number
            and payload.get("source") == INTERNAL_AUDIT
            and payload.get("finding") == finding
        ):
            return expected
        self.chain.problem(
            seq,
            _(
                "{finding}: a nonconformity finding naming {number}, but the next "
                "event is not its nc.raised (source {INTERNAL_AUDIT!r}, finding "
                "{finding!r})"
            ).format(finding=finding, number=number, INTERNAL_AUDIT=INTERNAL_AUDIT),
        )
        return None

    def finish(self, seq: int) -> None:
        """At the end of the chain: a nonconformity finding left without its NC, and each poor
        response no NC links (reported at the event that received it)."""
        if self.finding is not None:
            finding, number = self.finding
            self.chain.problem(
                seq,
                _(
                    "{finding}: a nonconformity finding naming {number}, never raised after it"
                ).format(finding=finding, number=number),
            )
        for response, received in self.poor.items():
            if not self.responses.get(response):
                self.chain.problem(
                    received,
                    _(
                        "{receipts}: response {response} is poor by its form's rule, but no "
                        "nonconformity links it (by nc.raised or nc.feedback.linked)"
                    ).format(receipts=self.receipts[received], response=response),
                )

    def apply(
        self, seq: int, action: str, attempt: Attempt, finding: tuple[str, str] | None
    ) -> None:
        """Check one event of :data:`KINDS` against the chain so far, then take it in."""
        if action == events.NC_RAISED.action:
            self._raised(seq, attempt, finding)
        elif action == events.NC_ACTION_ADDED.action:
            self._action_added(seq, attempt)
        elif action == events.NC_ACTION_DONE.action:
            self._action_done(seq, attempt)
        elif action == events.NC_ACTION_REASSIGNED.action:
            self._action_reassigned(seq, attempt)
        elif action == events.NC_FEEDBACK_LINKED.action:
            self._feedback_linked(seq, attempt)
        elif action == events.AUDIT_PLANNED.action:
            self._audit_planned(seq, attempt)
        elif action == events.FINDING_RECORDED.action:
            self._finding(seq, attempt)
        elif action == events.FEEDBACK_RECEIVED.action:
            self._feedback_received(seq, attempt)
        elif action == events.FEEDBACK_ERASED.action:
            self._comments_erased(seq, attempt)

    # ------------------------------------------------------------------ revisions

    def revision_moved(self, subject: str, actor: str, in_force: bool) -> None:
        """A revision's transition (into the in-force state or not): who made it so, and the
        document actions it fulfils."""
        document, _sep, revno = subject.partition("#")
        before = self.last_actor.get(subject)
        self.last_actor[subject] = actor
        current = self.in_force.get(document)
        if not in_force:
            if current is not None and current[0] == subject:
                del self.in_force[document]
            return
        makers = current[1] if current is not None and current[0] == subject else set()
        makers |= {actor} | ({before} if before else set())
        self.in_force[document] = (subject, makers)
        if not _is_number(revno):
            return
        waiting = self.awaiting_revision.get(document, [])
        for key in [key for key in waiting if self.actions[key].after_revno < int(revno)]:
            waiting.remove(key)
            self.actions[key].done = True
            nc = self.ncs.get(self.actions[key].nc)
            if nc is not None:
                nc.implementers |= {actor} | {self.chain.author.get(subject) or actor}

    # ------------------------------------------------------------------ nonconformities

    def _raised(self, seq: int, attempt: Attempt, finding: tuple[str, str] | None) -> None:
        number, payload = attempt.subject, attempt.payload
        problem = self._reporter(seq, number)
        if number in self.ncs:
            problem(_("the nonconformity is raised a second time"))
            return
        name, state = str(payload.get("workflow", "")), payload.get("state")
        workflow = self.chain.workflows.get(name)
        if workflow is None:
            problem(
                _("raised under workflow {name!r}, never registered in this chain").format(
                    name=name
                )
            )
        elif workflow.subject != NONCONFORMITY:
            problem(
                _("workflow {name!r} moves {subject}s, not nonconformities").format(
                    name=name, subject=workflow.subject
                )
            )
        elif state != workflow.initial:
            problem(
                _(
                    "raised in state {state!r}; workflow {name!r} starts every "
                    "nonconformity in {initial!r}"
                ).format(state=state, name=name, initial=workflow.initial)
            )
        source = str(payload.get("source", ""))
        for member, kind in (("documents", "document"), ("records", "register")):
            for cited in texts_of(payload.get(member)):
                type_code = self.chain.document_type.get(cited)
                if type_code is None:
                    problem(
                        _("its {member} name {cited!r}, no document of this chain").format(
                            member=member, cited=cited
                        )
                    )
                elif self.chain.type_kind.get(type_code) != kind:
                    problem(
                        _(
                            "its {member} name {cited!r}, a {type_code} of kind {get!r}, not "
                            "{kind!r}"
                        ).format(
                            member=member,
                            cited=cited,
                            type_code=type_code,
                            get=self.chain.type_kind.get(type_code),
                            kind=kind,
                        )
                    )
        named = str(payload.get("finding", ""))
        if named and (finding is None or finding[0] != named):
            problem(
                _("names finding {named!r}, which was not recorded just before it").format(
                    named=named
                )
            )
        if finding is not None:
            if attempt.actor != self.found_by:
                problem(
                    _(
                        "raised by {actor!r}; the nonconformity of finding {finding} is raised "
                        "by whoever recorded it, {found_by!r}"
                    ).format(actor=attempt.actor, finding=finding[0], found_by=self.found_by)
                )
            if payload.get("severity") not in FINDING_SEVERITIES:
                problem(
                    _(
                        "a finding's nonconformity is {join}, not {severity!r} (an observation "
                        "is a finding of its own)"
                    ).format(join=" or ".join(FINDING_SEVERITIES), severity=payload.get("severity"))
                )
        ids = texts_of(payload.get("responses"))
        if ids and source != CITIZEN_FEEDBACK:
            problem(
                _("links citizens' responses, but its source is {source!r}").format(source=source)
            )
        self._link(problem, number, ids)
        audited = self._item(finding[0]).area_owner if finding is not None else ""
        self.ncs[number] = _Nc(name, str(state or ""), attempt.actor, source, audited)

    def _link(self, problem: _Reporter, number: str, ids: list[str]) -> None:
        """Responses linked to NC ``number``: each received before, and linked to no NC yet."""
        for response in ids:
            linked = self.responses.get(response)
            if linked is None:
                problem(
                    _("response {response} was never received in this chain").format(
                        response=response
                    )
                )
            elif linked:
                problem(
                    _("response {response} is already linked to {linked}").format(
                        response=response, linked=linked
                    )
                )
            else:
                if response not in self.poor:
                    problem(
                        _(
                            "response {response} is not poor by its form's rule: none is linked"
                        ).format(response=response)
                    )
                self.responses[response] = number

    def _feedback_linked(self, seq: int, attempt: Attempt) -> None:
        number = attempt.subject
        problem = self._reporter(seq, number)
        nc = self.ncs.get(number)
        if nc is None:
            problem(_("feedback linked to a nonconformity that was never raised"))
            return
        if nc.source != CITIZEN_FEEDBACK:
            problem(
                _("feedback linked to a nonconformity from {source!r}, not from feedback").format(
                    source=nc.source
                )
            )
        workflow = self.chain.workflows.get(nc.workflow)
        state = workflow.states.get(nc.state) if workflow is not None else None
        if state is not None and state.terminal:
            problem(
                _("feedback linked while it is {state!r} (only to an open nonconformity)").format(
                    state=nc.state
                )
            )
        self._link(problem, number, texts_of(attempt.payload.get("responses")))

    def transition(self, seq: int, action: str, attempt: Attempt) -> None:
        """An ``nc.<meaning>`` event: a transition of the NC's workflow, by its rules."""
        number, actor, payload = attempt.subject, attempt.actor, attempt.payload
        problem = self._reporter(seq, number)
        malformed = nc_transition_shape(attempt)
        if malformed is not None:
            problem(malformed)
        name = payload.get("transition")
        if not isinstance(name, str):
            problem(
                _("{action!r} changes a nonconformity without naming its transition").format(
                    action=action
                )
            )
            return
        nc = self.ncs.get(number)
        if nc is None:
            problem(_("{name!r} on a nonconformity that was never raised").format(name=name))
            return
        before, after = payload.get("from"), payload.get("to")
        if nc.state != before:
            problem(
                _("{name!r} recorded from {before!r}, but the nonconformity was {state!r}").format(
                    name=name, before=before, state=nc.state
                )
            )
        nc.state = str(after or "")
        workflow = self.chain.workflows.get(nc.workflow)
        if workflow is None or workflow.subject != NONCONFORMITY:
            problem(
                _("no registered nonconformity workflow {workflow!r} governs it").format(
                    workflow=nc.workflow
                )
            )
            return
        try:
            step = workflow.transition(name)
        except LookupError:
            problem(
                _("workflow {name!r} has no transition {name2!r}").format(
                    name=workflow.name, name2=name
                )
            )
            return
        if action != events.nc_transition(step.meaning).action:
            problem(
                _("{name!r} is recorded as {action!r}, not as its meaning {meaning!r}").format(
                    name=name, action=action, meaning=step.meaning
                )
            )
        if before not in step.sources or after != step.target:
            problem(
                _("{name!r} goes {sources}→{target}, recorded {before}→{after}").format(
                    name=name, sources=step.sources, target=step.target, before=before, after=after
                )
            )
        for found in transition_problems(
            step,
            attempt,
            is_author=nc.raiser == actor,
            took=lambda rule: actor in nc.did(rule),
            actions=[(key, self.actions[key].done) for key in nc.actions[nc.counted_from :]],
            what="nonconformity",
        ):
            problem(found)
        nc.took.setdefault(name, set()).add(actor)
        if step.resets_actions:
            nc.counted_from = len(nc.actions)

    # ------------------------------------------------------------------ actions

    def _action_added(self, seq: int, attempt: Attempt) -> None:
        key, payload = attempt.subject, attempt.payload
        problem = self._reporter(seq, key)
        number, _sep, n = key.rpartition("#")
        nc = self.ncs.get(number)
        if nc is None:
            problem(_("an action of a nonconformity that was never raised"))
            return
        if key in self.actions or n != f"A{len(nc.actions) + 1}":
            problem(
                _(
                    "numbered {n!r}, but A{count} comes next (an NC's actions are numbered "
                    "A1, A2 … as they are added)"
                ).format(n=n, count=len(nc.actions) + 1)
            )
            if key in self.actions:
                return
        if not self._accepts_actions(nc):
            problem(
                _("action added while the nonconformity is {state!r}, which takes none").format(
                    state=nc.state
                )
            )
        owner = str(payload.get("owner", ""))
        self._able_owner(problem, owner)
        self._due(problem, payload.get("due"))
        document, floor = str(payload.get("document", "")), payload.get("after_revno")
        if document:
            self._document_action(problem, document, floor)
            self.awaiting_revision.setdefault(document, []).append(key)
        nc.actions.append(key)
        self.actions[key] = _Action(
            number, owner, document, floor if isinstance(floor, int) else -1
        )

    def _able_owner(self, problem: _Reporter, owner: str) -> None:
        """An action's owner holds a role in this office and is active (whether they are a
        service, the chain cannot tell)."""
        if not self.chain.roles.get(owner):
            problem(_("its owner {owner!r} holds no role in this office").format(owner=owner))
        elif owner in self.chain.inactive:
            problem(_("its owner {owner!r} was deactivated").format(owner=owner))

    def _due(self, problem: _Reporter, due: object) -> None:
        if not is_iso_date(due):
            return  # the payload's shape is reported by its rule
        when, today = chain_day(due), chain_day(self.time[:10])
        if when is None:
            problem(_("due {due!r} is not a date").format(due=due))
        elif today is None:
            return  # the event's time is reported by the chain's checks
        elif when < shifted_day(today, -DUE_GRACE):
            problem(
                _("due {isoformat}, already past when it was added ({isoformat2})").format(
                    isoformat=when.isoformat(), isoformat2=today.isoformat()
                )
            )
        elif when > shifted_day(today, DUE_GRACE, MAX_DUE_YEARS):
            problem(
                _(
                    "due {isoformat}, more than {MAX_DUE_YEARS} years after it was added "
                    "({isoformat2})"
                ).format(
                    isoformat=when.isoformat(),
                    MAX_DUE_YEARS=MAX_DUE_YEARS,
                    isoformat2=today.isoformat(),
                )
            )

    def _document_action(self, problem: _Reporter, document: str, floor: object) -> None:
        """A document action names a controlled document of this chain and its revision in
        force when the action was added (−1: none): a revision above it, made effective,
        fulfils the action (a draft already under way counts)."""
        type_code = self.chain.document_type.get(document)
        if type_code is None:
            problem(
                _("asks for a revision of {document!r}, no document of this chain").format(
                    document=document
                )
            )
            return
        if self.chain.type_kind.get(type_code) != "document":
            problem(
                _(
                    "asks for a revision of {document!r}, a {type_code} record (never revised)"
                ).format(document=document, type_code=type_code)
            )
        current = self.in_force.get(document)
        in_force = int(current[0].rpartition("#")[2]) if current is not None else -1
        if floor != in_force:
            problem(
                _(
                    "counts after revision {floor!r} of {document}, but its revision in "
                    "force was {value}"
                ).format(
                    floor=floor, document=document, value=in_force if in_force >= 0 else "none (−1)"
                )
            )

    def _action_done(self, seq: int, attempt: Attempt) -> None:
        key = attempt.subject
        problem = self._reporter(seq, key)
        action = self.actions.get(key)
        if action is None:
            problem(_("marked done, but the action was never added"))
            return
        if action.document:
            problem(
                _(
                    "a document action is done only when a revision of {document} after "
                    "revision {after_revno} becomes effective, never by an event"
                ).format(document=action.document, after_revno=action.after_revno)
            )
            return
        if action.done:
            problem(_("the action is marked done a second time"))
            return
        if attempt.actor != action.owner:
            problem(
                _("only its owner {owner!r} marks it done, not {actor!r}").format(
                    owner=action.owner, actor=attempt.actor
                )
            )
        nc = self.ncs[action.nc]
        if not self._accepts_actions(nc):
            problem(
                _("marked done while the nonconformity is {state!r}, which takes none").format(
                    state=nc.state
                )
            )
        action.done = True
        nc.implementers.add(attempt.actor)

    def _action_reassigned(self, seq: int, attempt: Attempt) -> None:
        """An action not done, of an NC that accepts actions, handed to another owner able
        to act: from then on only they mark it done."""
        key = attempt.subject
        problem = self._reporter(seq, key)
        action = self.actions.get(key)
        if action is None:
            problem(_("reassigned, but the action was never added"))
            return
        if action.done:
            problem(_("reassigned, but the action is already done"))
        nc = self.ncs[action.nc]
        if not self._accepts_actions(nc):
            problem(
                _("reassigned while the nonconformity is {state!r}, which takes no actions").format(
                    state=nc.state
                )
            )
        owner = str(attempt.payload.get("owner", ""))
        if owner == action.owner:
            problem(_("reassigned to {owner!r}, who already owns it").format(owner=owner))
        self._able_owner(problem, owner)
        action.owner = owner

    def _accepts_actions(self, nc: _Nc) -> bool:
        workflow = self.chain.workflows.get(nc.workflow)
        state = workflow.states.get(nc.state) if workflow is not None else None
        return state is not None and state.accepts_actions

    # ------------------------------------------------------------------ feedback

    def _feedback_received(self, seq: int, attempt: Attempt) -> None:
        problem = self._reporter(seq, attempt.subject)
        rule = attempt.payload.get("poor")
        rating, at_most = (
            (rule.get("rating"), rule.get("at_most")) if isinstance(rule, Mapping) else (None, 0)
        )
        for response in attempt.payload.get("responses") or ():
            if not isinstance(response, Mapping) or not isinstance(response.get("id"), str):
                continue  # the shape check reports it
            if response["id"] in self.responses:
                problem(
                    _("response {id} was already received in this chain").format(id=response["id"])
                )
                continue
            self.responses[response["id"]] = ""
            day = str(response.get("time", ""))[:10]
            self.response_day[response["id"]] = self._days.setdefault(day, day)
            ratings = response.get("ratings")
            given = ratings.get(rating) if isinstance(ratings, Mapping) else None
            if type(given) is int and type(at_most) is int and given <= at_most:
                self.poor[response["id"]] = seq
                self.receipts[seq] = attempt.subject

    def _comments_erased(self, seq: int, attempt: Attempt) -> None:
        """Each response's comment erased once, received before, and older than the date
        (by its UTC day: the engine counts the day from midnight in the office's zone)."""
        problem = self._reporter(seq, attempt.subject)
        before, today = attempt.payload.get("before"), chain_day(self.time[:10])
        if is_iso_date(before):  # otherwise the shape check reports it
            until = chain_day(before)
            if until is None:
                problem(_("erases before {before!r}, which is not a date").format(before=before))
            elif today is not None and until > shifted_day(today, DUE_GRACE):
                problem(
                    _("erases before {before}, later than the erasure itself ({isoformat})").format(
                        before=before, isoformat=today.isoformat()
                    )
                )
        for response in texts_of(attempt.payload.get("responses")):
            if response not in self.response_day:
                problem(
                    _("erases response {response}, never received in this chain").format(
                        response=response
                    )
                )
                continue
            day = self.response_day[response]
            if day is None:
                problem(
                    _("erases response {response}, whose comment was already erased").format(
                        response=response
                    )
                )
            elif isinstance(before, str) and day > before:
                problem(
                    _("erases response {response} of {day}, not older than {before}").format(
                        response=response, day=day, before=before
                    )
                )
            self.response_day[response] = None

    # ------------------------------------------------------------------ internal audits

    def _audit_planned(self, seq: int, attempt: Attempt) -> None:
        number, payload = attempt.subject, attempt.payload
        problem = self._reporter(seq, number)
        if number in self.audits:
            problem(_("the internal audit is planned a second time"))
            return
        self.audit_dates[number] = self._audit_date(problem, payload.get("date"))
        for auditor in texts_of(payload.get("auditors")):
            if AUDITOR not in self.chain.roles.get(auditor, ()):
                problem(
                    _("{auditor!r} does not hold the auditor role in this office").format(
                        auditor=auditor
                    )
                )
            elif auditor in self.chain.inactive:
                problem(_("auditor {auditor!r} was deactivated").format(auditor=auditor))
        items = [item for item in payload.get("items") or () if isinstance(item, Mapping)]
        for n, item in enumerate(items, 1):
            auditor, owner = str(item.get("auditor", "")), str(item.get("area_owner", ""))
            if owner and not self.chain.roles.get(owner):
                problem(
                    _("item {n}: area owner {owner!r} holds no role in this office").format(
                        n=n, owner=owner
                    )
                )
            ref = str(item.get("ref", ""))
            if ref in self.chain.document_type:
                why = self._own_work(ref, auditor)
                if why:
                    problem(
                        _("item {n}: {auditor!r} would audit {ref}, {why}").format(
                            n=n, auditor=auditor, ref=ref, why=why
                        )
                    )
            elif ref and not is_iso_clause(ref):
                problem(
                    _(
                        "item {n}: ref {ref!r} is neither {CLAUSE_WORDS} nor a document of "
                        "this chain"
                    ).format(n=n, ref=ref, CLAUSE_WORDS=_(CLAUSE_WORDS))
                )
        self.audits[number] = [
            _Item(
                str(item.get("ref", "")),
                str(item.get("auditor", "")),
                str(item.get("area_owner", "")),
            )
            for item in items
        ]

    def _audit_date(self, problem: _Reporter, text: object) -> date | None:
        """An audit's day: a real date from :data:`EARLIEST_AUDIT` to :data:`MAX_AUDIT_YEARS`
        years after the event's (with a day's grace); None when it is none of these."""
        if not is_iso_date(text):
            return None  # the shape check reports it
        day, today = chain_day(text), chain_day(self.time[:10])
        if day is None:
            problem(_("dated {text!r}, which is not a date").format(text=text))
        elif day < EARLIEST_AUDIT:
            problem(
                _("dated {text}, before {isoformat}").format(
                    text=text, isoformat=EARLIEST_AUDIT.isoformat()
                )
            )
        elif today is not None and day > shifted_day(today, DUE_GRACE, MAX_AUDIT_YEARS):
            problem(
                _(
                    "dated {text}, more than {MAX_AUDIT_YEARS} years after it was planned "
                    "({isoformat})"
                ).format(text=text, MAX_AUDIT_YEARS=MAX_AUDIT_YEARS, isoformat=today.isoformat())
            )
        else:
            return day
        return None

    def _own_work(self, document: str, auditor: str) -> str:
        """Why auditing ``document`` would be auditing one's own work ("" when it is not)."""
        for revision in self.chain.revisions_of.get(document, []):
            if self.chain.author.get(revision) == auditor:
                return _("having written {revision}").format(revision=revision)
        in_force = self.in_force.get(document)
        if in_force is not None and auditor in in_force[1]:
            return _("having approved or made effective {in_force}, in force").format(
                in_force=in_force[0]
            )
        return ""

    def _finding(self, seq: int, attempt: Attempt) -> None:
        subject, payload = attempt.subject, attempt.payload
        problem = self._reporter(seq, subject)
        number, _sep, n = subject.rpartition("#")
        items = self.audits.get(number)
        if items is None:
            problem(_("a finding of an internal audit that was never planned"))
            return
        if not (_is_number(n) and n[0] != "0" and int(n) <= len(items)):
            problem(
                _("the audit has no item {n!r} (items 1 to {count})").format(n=n, count=len(items))
            )
            return
        item = items[int(n) - 1]
        planned, today = self.audit_dates.get(number), chain_day(self.time[:10])
        if planned is not None and today is not None and today < shifted_day(planned, -DUE_GRACE):
            problem(
                _("recorded on {isoformat}, before the audit's date {isoformat2}").format(
                    isoformat=today.isoformat(), isoformat2=planned.isoformat()
                )
            )
        if attempt.actor != item.auditor:
            problem(
                _("item {n} is {auditor!r}'s to audit, not {actor!r}'s").format(
                    n=n, auditor=item.auditor, actor=attempt.actor
                )
            )
        elif item.ref in self.chain.document_type and (
            why := self._own_work(item.ref, item.auditor)
        ):
            problem(
                _("item {n}: {auditor!r} may no longer audit {ref}, {why}").format(
                    n=n, auditor=item.auditor, ref=item.ref, why=why
                )
            )
        if item.recorded:
            problem(_("a finding of item {n} is recorded a second time").format(n=n))
        item.recorded = True
        if payload.get("result") == NONCONFORMITY_FOUND:
            self.finding = (subject, str(payload.get("nc", "")))
            self.found_by = attempt.actor

    def _item(self, finding: str) -> _Item:
        """The checklist item of ``finding`` (``AUDIT#n``), recorded just before."""
        number, _sep, n = finding.rpartition("#")
        return self.audits[number][int(n) - 1]

    # ------------------------------------------------------------------ helpers

    def _reporter(self, seq: int, subject: str) -> _Reporter:
        def report(what: str) -> None:
            self.chain.problem(seq, f"{subject}: {what}")

        return report


class _Reporter(Protocol):
    def __call__(self, what: str, /) -> None: ...


def _is_number(text: str) -> bool:
    """Whether ``text`` is a decimal number in ASCII digits (``int`` would read ``١`` too)."""
    return text.isascii() and text.isdigit()
