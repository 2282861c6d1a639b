"""Verifying an office's audit chain: links, hashes, signatures, keys, workflow rules.

The same verifier reads events from the database or from an exported bundle (see
``docs/audit-bundle.md``), so an auditor's offline check and the online one cannot drift apart.
It streams: memory holds one batch of events plus small per-subject state, whatever the length
of the chain.  Signatures, the expensive part, are checked on all cores in worker processes.

What it checks, in chain order, reporting each problem with the event's sequence number:
- sequence numbers start at 1 and have no gaps; each ``prev`` is the previous event's hash;
- each stored hash is the SHA-256 of the event's canonical body;
- each signature verifies with the key named in the event, that key was registered in the chain
  (by ``key.registered``) before use, belongs to the actor, and was not yet retired or revoked;
- the actor held the role they signed in (roles follow ``user.role.granted`` / ``…revoked``);
- every event fits its rule in the authorisation table (:mod:`qms_engine.chain.authorisation`);
- revisions are created once, in their workflow's initial state, and change state only by a
  named transition of the definition the chain registered (``workflow.registered``): from the
  recorded state, by an allowed role, with a required comment, segregation of duties held;
  supersession only by the exclusive rule.  Nothing is read from the installed workflow files.
- a document's revisions are numbered 0, 1, 2 … as they are created, one open at a time, each
  with a file none of the others has, and none after revision 0 for an append-only type;
- a document draft filed from the inbox names its author (``source.author``), who is not its
  filer and must sign for it (``document.revision.adopted``) before anything else happens to it;
- a content event's payload has exactly its members, of their types (a file is named by its
  SHA-256), so nothing the bundle's blobs or the tables are compared with is missing;
- a draft's file is replaced only by its author, in its workflow's initial state, never a
  register or append-only record's, with a file that is neither its current one nor another
  revision's;
- every transition names the revision's current file (``payload.sha256``), so a signature of
  approval binds the exact file approved, even after a draft's file was replaced;
- nonconformities, their actions, internal audits and citizens' feedback follow their rules
  (:mod:`qms_engine.chain.capa_rules`); document types use revision workflows;
- register records are numbered without gaps in their period, day books are opened and closed
  in order, corrections name an earlier entry of the same register, required fields are given
  (:mod:`qms_engine.chain.register_rules`);
- every hand-over of a register's item (``custody.moved``) follows the places its type recorded
  (:mod:`qms_engine.chain.custody_rules`);
- citizen-charter applications are due the recorded charter's days after receipt and disposed
  of once, and records are weeded only through an approved disposal list, past their class's
  retention (:mod:`qms_engine.chain.service_rules`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from qms_engine.chain import (
    capa_rules,
    custody_rules,
    district_rules,
    events,
    register_rules,
    service_rules,
)
from qms_engine.chain.authorisation import (
    Attempt,
    event_problems,
    is_sha256,
    transition_problems,
    type_adders,
)
from qms_engine.chain.canonical import canonical_bytes
from qms_engine.chain.encoding import ENCODING_VERSION, GENESIS_HASH, ChainEvent
from qms_engine.chain.events import meaning_fits
from qms_engine.chain.signing import fingerprint, verify_signature
from qms_engine.clock import is_utc_text, to_utc_text, utc_now
from qms_engine.i18n import _, current_language, set_language
from qms_engine.rules.roles import ADMIN, KEY_HOLDER
from qms_engine.rules.workflows import (
    REVISION,
    WorkflowDefinition,
    WorkflowDefinitionError,
    workflow_from_record,
)

BATCH = 1000
CLOCK_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True)
class Problem:
    """Something wrong at one event (``seq``), or with the chain as a whole (``seq`` None)."""

    seq: int | None
    what: str
    rank: int = 2
    """At one event, problems show in the order checks build on each other: 0 links and
    order, 1 the content hash, 2 keys and rules, 3 the signature."""

    def __str__(self) -> str:
        if self.seq is None:
            return self.what
        return _("event #{seq}: {what}").format(seq=self.seq, what=self.what)

    def order(self) -> tuple[bool, int, int]:
        """Sort key: chain problems in sequence order, then by :attr:`rank`."""
        return (self.seq is None, self.seq or 0, self.rank)


@dataclass
class KeyInfo:
    """A key as the chain describes it."""

    owner: str
    public_key: str
    purpose: str
    valid_from: str
    ended_at: int | None = None  # sequence number of its key.retired / key.revoked event
    revoked: bool = False
    own: bool = True
    """Registered here by its owner; a key someone else registered (issued by an admin, or
    announced in this office) signs nothing but its owner's own change of key."""


@dataclass
class ChainReport:
    """The outcome for one office's chain."""

    office: str
    events: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[Problem] = field(default_factory=list)
    keys: dict[str, KeyInfo] = field(default_factory=dict)
    blobs: set[str] = field(default_factory=set)
    hashes_at: dict[int, str] = field(default_factory=dict)
    checkpoints: list[tuple[int, int, str, str]] = field(default_factory=list)
    """Checkpoints the chain says were taken: (event seq, checkpoint seq, head, signature)."""

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems

    def first_problem(self) -> Problem | None:
        """The earliest problem (the one to show first)."""
        return min(self.problems, key=Problem.order, default=None)


_Item = tuple[Mapping[str, Any], str, str, str | None]  # body, stored hash, signature, key
_Found = list[list[tuple[int, str]]]  # per item: (rank, problem) pairs


def _check_contents(items: list[_Item]) -> _Found:
    """Worker: each body's canonical hash and signature; the problems found, per item.

    The expensive, independent part of verification (encoding, SHA-256, Ed25519), so it runs
    in worker processes while the main one follows the links and rules in order.
    """
    results: _Found = []
    for body, stored_hash, signature, public_key in items:
        problems: list[tuple[int, str]] = []
        results.append(problems)
        try:
            message = canonical_bytes(dict(body))
        except (TypeError, ValueError) as exc:
            problems.append((1, _("body is not canonical JSON: {exc}").format(exc=exc)))
            continue
        actual = hashlib.sha256(message).hexdigest()
        if actual != stored_hash:
            problems.append(
                (
                    1,
                    _(
                        "content does not match its hash (stored {stored_hash}…, computed "
                        "{actual}…): altered after it was written"
                    ).format(stored_hash=stored_hash[:16], actual=actual[:16]),
                )
            )
        if public_key is None:
            continue  # the key problem is already reported
        try:
            good = verify_signature(bytes.fromhex(public_key), bytes.fromhex(signature), message)
        except ValueError:
            good = False
        if not good:
            problems.append(
                (
                    3,
                    _(
                        "signature does not verify (forged, copied from another event, "
                        "or the signed content was altered)"
                    ),
                )
            )
    return results


@dataclass(frozen=True)
class _Exclusive:
    """A transition into an exclusive state: the supersessions it causes must follow it."""

    document: str
    revision: str
    state: str
    moves_to: str
    actor: str
    role: str
    expected: frozenset[str]
    """The document's other revisions in ``state``: each must be superseded, right after."""


@dataclass
class _Rules:
    """Per-chain state for the key, role and workflow checks (small: per user and subject).

    Every event is checked against its rule in :mod:`qms_engine.chain.authorisation`, the
    same table the write path applies, and transitions against their workflow definition.
    """

    report: ChainReport
    workflows: dict[str, WorkflowDefinition] = field(default_factory=dict)
    """The definitions in force, as the chain registered them (``workflow.registered``)."""
    roles: dict[str, set[str]] = field(default_factory=dict)
    inactive: set[str] = field(default_factory=set)
    founder: str | None = None
    founded: bool = False
    type_workflow: dict[str, str] = field(default_factory=dict)
    type_creators: dict[str, frozenset[str]] = field(default_factory=dict)
    type_kind: dict[str, str] = field(default_factory=dict)
    append_only: set[str] = field(default_factory=set)
    """Type codes whose records are never revised (no revision after revision 0)."""
    named_author: dict[str, tuple[object, str]] = field(default_factory=dict)
    """Drafts filed from the inbox awaiting their named author's signature: (named, filer)."""
    document_type: dict[str, str] = field(default_factory=dict)
    author: dict[str, str] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)
    content: dict[str, str] = field(default_factory=dict)
    """The current file (SHA-256) of each revision: what its transitions must name."""
    took: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    exclusive: _Exclusive | None = None
    superseded: set[str] = field(default_factory=set)
    """The revisions the pending exclusive step has superseded so far."""
    new_type: tuple[str, str] | None = None
    """(type code, actor) of a type a non-admin just added: its first document must follow."""
    revisions_of: dict[str, list[str]] = field(default_factory=dict)
    previous_hash: str = GENESIS_HASH
    previous_time: str = ""
    latest_allowed: str = field(default_factory=lambda: to_utc_text(utc_now() + CLOCK_TOLERANCE))
    """No event may be dated later than the verification (beyond a small clock difference)."""
    capa: capa_rules.CapaRules = field(init=False)
    """Nonconformities, actions, internal audits and feedback (:mod:`.capa_rules`)."""
    registers: register_rules.RegisterRules = field(init=False)
    """Numbering, day books, corrections and required fields (:mod:`.register_rules`)."""
    custody: custody_rules.CustodyRules = field(init=False)
    """Hand-overs of register items: case property, files (:mod:`.custody_rules`)."""
    weeded: set[str] = field(default_factory=set)
    """Records the record room weeded (:mod:`.service_rules` adds, custody rules read)."""
    services: service_rules.ServiceRules = field(init=False)
    """Citizen-charter applications and the record room (:mod:`.service_rules`)."""
    district: district_rules.DistrictRules = field(init=False)
    """An SP office's stations, imported bundles and witnesses (:mod:`.district_rules`)."""

    def __post_init__(self) -> None:
        self.capa = capa_rules.CapaRules(self)
        self.registers = register_rules.RegisterRules(self)
        # issue 13: custody rules set-up
        self.custody = custody_rules.CustodyRules(self)
        # issue 13: services and record-room rules set-up
        self.services = service_rules.ServiceRules(self)
        # issue 13: district rules set-up
        self.district = district_rules.DistrictRules(self)

    def problem(self, seq: int, what: str, rank: int = 2) -> None:
        self.report.problems.append(Problem(seq, what, rank))

    def link_problem(self, seq: int, what: str) -> None:
        self.problem(seq, what, rank=0)

    def signing_key(self, seq: int, body: Mapping[str, Any]) -> str | None:
        """The public key (hex) to verify this event with, after the key checks."""
        key_id = str(body["signer"]["key"])
        action, actor, payload = body["action"], body["actor"], body["payload"]
        if action == events.KEY_REGISTERED.action and seq == 1 and payload["fingerprint"] == key_id:
            if payload["owner"] != actor:
                self.problem(
                    seq,
                    _(
                        "the founding key is registered for {owner!r} but signed by {actor!r}"
                    ).format(owner=payload["owner"], actor=actor),
                )
            return str(payload["public_key"])  # the founding admin signs their own key
        info = self.report.keys.get(key_id)
        if info is None:
            self.problem(
                seq,
                _("signed with key {key_id}…, never registered in this chain").format(
                    key_id=key_id[:16]
                ),
            )
            return None
        if info.purpose != "user" or info.owner != actor:
            self.problem(
                seq,
                _("signed by {actor!r} with {owner!r}'s key {key_id}…").format(
                    actor=actor, owner=info.owner, key_id=key_id[:16]
                ),
            )
        if info.ended_at is not None:
            how = _("revoked") if info.revoked else _("retired")
            self.problem(
                seq,
                _("signed with key {key_id}…, which was {how} at event #{ended_at}").format(
                    key_id=key_id[:16], how=how, ended_at=info.ended_at
                ),
            )
        if not info.own and not _own_key_change(body, key_id):
            self.problem(
                seq,
                _(
                    "signed with key {key_id}…, which someone else registered for "
                    "{actor!r}: it may sign only {actor!r}'s own change of key (a "
                    "temporary key)"
                ).format(key_id=key_id[:16], actor=actor),
            )
        return info.public_key

    def apply(self, seq: int, body: Mapping[str, Any]) -> None:
        """Check the event against its rule, then update the state it changes."""
        action, actor = body.get("action", ""), body.get("actor", "")
        subject, time = body.get("subject", ""), body.get("time", "")
        payload: Mapping[str, Any] = body.get("payload") or {}
        role = (body.get("signer") or {}).get("role", "")
        if self.founder is None:
            self.founder = actor
        founding = not self.founded
        if founding and actor != self.founder:
            self.problem(
                seq,
                _(
                    "{actor!r} acted before the office had an admin (only its founder "
                    "{founder!r} may)"
                ).format(actor=actor, founder=self.founder),
            )
        if founding and (
            action not in _FOUNDING_ACTIONS
            or (action == events.USER_ROLE_GRANTED.action and payload.get("role") != ADMIN)
        ):
            self.problem(
                seq,
                _(
                    "{action!r} before the office had an admin (the founder only registers "
                    "their key, enrols and makes themselves admin)"
                ).format(action=action),
            )
        self._check_role(seq, actor, role, action, subject, founding)
        exclusive, self.exclusive = self.exclusive, None
        if exclusive is not None and action != events.REVISION_SUPERSEDED.action:
            self._exclusive_done(seq, exclusive)
        finding = self.capa.next_event(seq, body)
        new_type, self.new_type = self.new_type, None
        if new_type is not None and (
            action != events.DOCUMENT_CREATED.action or (payload.get("type"), actor) != new_type
        ):
            self.problem(
                seq,
                _(
                    "document type {new_type!r} was added by {new_type2!r}, who is no "
                    "admin, without filing its first document right after"
                ).format(new_type=new_type[0], new_type2=new_type[1]),
            )
        allowed = self._allowed_roles(action, subject, payload, exclusive)
        attempt = Attempt(
            self.report.office,
            actor,
            role,
            subject,
            payload,
            founding,
            {role} if allowed is None else allowed,
        )
        if action not in events.FIXED_KINDS:
            if action.startswith(events.TRANSITION_PREFIX):
                self._transition(seq, action, attempt)
                self._names_current_file(seq, attempt)
            elif action.startswith(events.NC_TRANSITION_PREFIX):
                self.capa.transition(seq, action, attempt)
            else:
                self.problem(
                    seq,
                    _("unknown action {action!r}: no authorisation rule covers it").format(
                        action=action
                    ),
                )
            return
        rule_problems = event_problems(action, attempt)
        for problem in rule_problems:
            self.problem(seq, problem)
        if action in register_rules.KINDS:
            self.registers.apply(seq, action, attempt, time)
        if action in service_rules.SEEN:  # issue 13: the zone, each record's day of creation
            self.services.seen(action, attempt, time)
        if action in capa_rules.KINDS:
            self.capa.apply(seq, action, attempt, finding)
            self.report.blobs.update(
                str(sha) for sha in events.named_files(action, payload) if is_sha256(sha)
            )  # evidence files: kept and exported like revisions' files
        # issue 13: custody dispatch
        elif action in custody_rules.KINDS:
            self.custody.apply(seq, action, attempt, time)
        # issue 13: services and record-room dispatch
        elif action in service_rules.KINDS:
            self.services.apply(seq, action, attempt, time)
        # issue 13: district dispatch
        elif action in district_rules.KINDS:
            self.district.apply(seq, action, attempt)
        elif action == events.KEY_REGISTERED.action:
            self._register_key(seq, actor, payload, time)
        elif action in (events.KEY_RETIRED.action, events.KEY_REVOKED.action):
            self._end_key(seq, action, subject, payload)
        elif action == events.USER_ROLE_GRANTED.action:
            self.roles.setdefault(subject, set()).add(payload.get("role", ""))
            self.founded = self.founded or payload.get("role") == ADMIN
        elif action == events.USER_ROLE_REVOKED.action:
            self.roles.get(subject, set()).discard(payload.get("role", ""))
        elif action == events.USER_DEACTIVATED.action:
            self.inactive.add(subject)
        elif action == events.WORKFLOW_REGISTERED.action and not rule_problems:
            self._register_workflow(seq, subject, payload)  # a refused one is never in force
        elif action == events.DOCUMENT_TYPE_ADDED.action:
            code = subject.rsplit("/", 1)[-1]
            if code in self.type_workflow:
                self.problem(
                    seq,
                    _("{subject}: the document type is added a second time").format(
                        subject=subject
                    ),
                )
                return
            self.type_workflow[code] = payload.get("workflow", "")
            workflow = self.workflows.get(self.type_workflow[code])
            if workflow is None:
                self.problem(
                    seq,
                    _(
                        "{subject}: uses workflow {type_workflow!r}, never registered in this chain"
                    ).format(subject=subject, type_workflow=self.type_workflow[code]),
                )
            elif workflow.subject != REVISION:
                self.problem(
                    seq,
                    _(
                        "{subject}: uses workflow {name!r}, which moves {subject2}s, not revisions"
                    ).format(subject=subject, name=workflow.name, subject2=workflow.subject),
                )
            self.type_creators[code] = frozenset(payload.get("creator_roles") or ())
            self.type_kind[code] = str(payload.get("kind", ""))
            self.custody.type_added(seq, code, payload)  # issue 13: custody (CUS)
            self._append_only(seq, code, payload)
            if role != ADMIN:
                self.new_type = (code, actor)
        elif action == events.DOCUMENT_CREATED.action:
            self._document_created(seq, subject, payload)
        elif action in (events.REVISION_CREATED.action, events.RECORD_FILED.action):
            self._revision_created(seq, action, actor, subject, payload)
        elif action == events.REVISION_ADOPTED.action:
            self._adopted(seq, actor, subject, payload)
        elif action == events.REVISION_REPLACED.action:
            self._replaced(seq, actor, subject, payload)
        elif action == events.CHECKPOINT_RECORDED.action:
            self.report.checkpoints.append(
                (seq, int(payload["seq"]), str(payload["head"]), str(payload["signature"]))
            )
        elif action == events.REVISION_SUPERSEDED.action:
            self._superseded(seq, attempt, exclusive)
        elif (
            action == events.DUPLICATE_SET_ASIDE.action
            and subject.split("#", 1)[0] not in self.document_type
        ):
            self.problem(
                seq,
                _("{subject}: set aside as a repeat of a record never filed").format(
                    subject=subject
                ),
            )

    def _check_role(
        self, seq: int, actor: str, role: str, action: str, subject: str, founding: bool
    ) -> None:
        """The signer held the role they signed in.  ``key holder`` is held by nobody: it is
        only for a user's own key events."""
        if actor in self.inactive:
            self.problem(seq, _("{actor!r} acted after being deactivated").format(actor=actor))
        if founding:
            return  # the founder's first events come before any role exists
        if role == KEY_HOLDER and action in _OWN_KEY_ACTIONS:
            return  # whose key it is, the key rules of the authorisation table say
        if role not in self.roles.get(actor, set()):
            self.problem(
                seq,
                _("{actor!r} signed as {role!r} without holding that role").format(
                    actor=actor, role=role
                ),
            )

    def _allowed_roles(
        self,
        action: str,
        subject: str,
        payload: Mapping[str, Any],
        exclusive: _Exclusive | None,
    ) -> frozenset[str] | None:
        """For rules whose roles depend on what is acted on (see ``Attempt.allowed_roles``);
        None where nothing limits them (the other checks report what is missing)."""
        if action == events.DOCUMENT_TYPE_ADDED.action:
            return type_adders(payload) - {KEY_HOLDER}
        if action == events.DOCUMENT_CREATED.action:
            return self.type_creators.get(str(payload.get("type", "")))
        if action in _CREATIONS:
            document_type = self.document_type.get(subject.split("#", 1)[0], "")
            return self.type_creators.get(document_type)
        if action == events.REVISION_SUPERSEDED.action and exclusive is not None:
            return frozenset({exclusive.role})
        return None

    def _end_key(self, seq: int, action: str, subject: str, payload: Mapping[str, Any]) -> None:
        """A user's key retired or revoked: only that user's own key, never the office key."""
        fingerprint = str(payload.get("fingerprint", ""))
        info = self.report.keys.get(fingerprint)
        if info is None:
            return  # nothing to end (the rule's owner check reports a mismatched subject)
        if info.purpose != "user" or info.owner != subject:
            self.problem(
                seq,
                _(
                    "key {fingerprint}… belongs to {owner!r} ({purpose} key): {action} "
                    "about {subject!r} cannot end it"
                ).format(
                    fingerprint=fingerprint[:16],
                    owner=info.owner,
                    purpose=info.purpose,
                    action=action,
                    subject=subject,
                ),
            )
            return
        if info.ended_at is None:
            info.ended_at, info.revoked = seq, action == events.KEY_REVOKED.action

    def _register_key(self, seq: int, actor: str, payload: Mapping[str, Any], time: str) -> None:
        key_id, public = payload.get("fingerprint", ""), payload.get("public_key", "")
        try:
            matches = fingerprint(bytes.fromhex(public)) == key_id
        except ValueError:
            matches = False
        if not matches:
            self.problem(
                seq,
                _("key.registered: fingerprint {key_id}… is not that of the key").format(
                    key_id=key_id[:16]
                ),
            )
            return
        if payload.get("purpose") == "office" and key_id not in self.report.keys:
            current = [
                fp
                for fp, info in self.report.keys.items()
                if info.purpose == "office" and info.ended_at is None
            ]
            if current:
                self.problem(
                    seq,
                    _(
                        "a second office key {key_id}… (the office key {current}… is still "
                        "valid; office keys are registered once, when the office is founded)"
                    ).format(key_id=key_id[:16], current=current[0][:16]),
                )
        owner = payload.get("owner", "")
        self.report.keys.setdefault(
            key_id,
            KeyInfo(owner, public, payload.get("purpose", ""), time, own=actor == owner),
        )

    def _register_workflow(self, seq: int, name: str, payload: Mapping[str, Any]) -> None:
        """A definition now in force, read back exactly as the loader reads a file."""
        try:
            definition = workflow_from_record(
                payload.get("definition") or {}, f"{self.report.office} event #{seq}"
            )
        except WorkflowDefinitionError as exc:
            self.problem(
                seq,
                _("workflow {name!r}: not a valid definition: {key}: {problem}").format(
                    name=name, key=exc.key, problem=exc.problem
                ),
            )
            return
        earlier = self.workflows.get(name)
        if earlier is not None and earlier.subject != definition.subject:
            self.problem(
                seq,
                _(
                    "workflow {name!r}: moves {subject}s, but the definition in force "
                    "moves {subject2}s (a workflow keeps its subject)"
                ).format(name=name, subject=definition.subject, subject2=earlier.subject),
            )
            return
        for step in definition.transitions.values():
            if events.workflow_transition(definition.subject, step.meaning).action in (
                events.FIXED_KINDS
            ):
                self.problem(
                    seq,
                    _(
                        "workflow {name!r}: transition {name2!r} has meaning {meaning!r}, "
                        "which would be recorded as another kind of event"
                    ).format(name=name, name2=step.name, meaning=step.meaning),
                )
        self.workflows[name] = definition

    def _document_created(self, seq: int, number: str, payload: Mapping[str, Any]) -> None:
        type_code = str(payload.get("type", ""))
        if number in self.document_type:
            self.problem(
                seq, _("{number}: the document is created a second time").format(number=number)
            )
            return
        if type_code not in self.type_workflow:
            self.problem(
                seq,
                _("{number}: document type {type_code!r} was never added here").format(
                    number=number, type_code=type_code
                ),
            )
        self.document_type[number] = type_code

    def _revision_created(
        self, seq: int, action: str, actor: str, subject: str, payload: Mapping[str, Any]
    ) -> None:
        state, sha256 = payload.get("state", ""), payload.get("sha256")
        document = subject.split("#", 1)[0]
        if subject in self.author:
            self.problem(
                seq, _("{subject}: the revision is created a second time").format(subject=subject)
            )
            return
        if document not in self.document_type:
            self.problem(
                seq,
                _("{subject}: a revision of a document that was never created").format(
                    subject=subject
                ),
            )
        workflow = self._workflow_of(subject)
        if workflow is not None and state != workflow.initial:
            self.problem(
                seq,
                _(
                    "{subject}: created in state {state!r}; workflow {name!r} starts every "
                    "revision in {initial!r}"
                ).format(
                    subject=subject, state=state, name=workflow.name, initial=workflow.initial
                ),
            )
        self._fits_its_document(seq, subject, sha256, workflow)
        self.author[subject] = actor
        self.revisions_of.setdefault(document, []).append(subject)
        kind = self.type_kind.get(self.document_type.get(document, ""))
        if action == events.RECORD_FILED.action and kind == "document":
            self._draft_filed(seq, actor, subject, payload)
        self.state[subject] = state
        if isinstance(sha256, str):
            self.content[subject] = sha256
        if is_sha256(sha256):  # any other value is a malformed payload (authorisation table)
            self.report.blobs.add(sha256)

    def _fits_its_document(
        self, seq: int, subject: str, sha256: object, workflow: WorkflowDefinition | None
    ) -> None:
        """A new revision is numbered next, of a type that may be revised, while no other
        revision of its document is open, with a file none of them has."""
        document, _sep, revno = subject.partition("#")
        earlier = self.revisions_of.get(document, [])
        if revno != str(len(earlier)):
            self.problem(
                seq,
                _(
                    "{subject}: numbered {revno!r}, but revision {count} comes next (a "
                    "document's revisions are numbered 0, 1, 2 … as they are created)"
                ).format(subject=subject, revno=revno, count=len(earlier)),
            )
        type_code = self.document_type.get(document, "")
        if revno != "0" and type_code in self.append_only:
            self.problem(
                seq,
                _("{subject}: {type_code} records are append-only, never revised").format(
                    subject=subject, type_code=type_code
                ),
            )
        open_states = workflow.open_states() if workflow is not None else frozenset()
        for other in earlier:
            if self.state.get(other) in open_states:
                self.problem(
                    seq,
                    _(
                        "{subject}: created while {other} is still {state!r} (a document has "
                        "one open revision at a time)"
                    ).format(subject=subject, other=other, state=self.state[other]),
                )
            if isinstance(sha256, str) and self.content.get(other) == sha256:
                self.problem(
                    seq,
                    _("{subject}: its file is {other}'s (a revision changes the file)").format(
                        subject=subject, other=other
                    ),
                )

    def _draft_filed(self, seq: int, actor: str, subject: str, payload: Mapping[str, Any]) -> None:
        """A document draft filed from the inbox names its author (``source.author``), someone
        other than its filer; nobody is its author until that person signs for it."""
        source = payload.get("source")
        named = source.get("author") if isinstance(source, Mapping) else None
        self.author[subject], self.named_author[subject] = "", (named, actor)
        if not named:
            self.problem(
                seq,
                _("{subject}: a draft filed from the inbox names no author").format(
                    subject=subject
                ),
            )
        elif named == actor:
            self.problem(
                seq,
                _("{subject}: the draft names {actor!r}, who filed it, as its author").format(
                    subject=subject, actor=actor
                ),
            )

    def _named(self, subject: str) -> object:
        """The author a draft awaiting adoption names (None for any other revision)."""
        return self.named_author.get(subject, (None, ""))[0]

    def _append_only(self, seq: int, code: str, payload: Mapping[str, Any]) -> None:
        """Whether a type's records are never revised: ``append_only`` in its event, or, in
        chains written before it was recorded, its kind being ``register``."""
        flag = payload.get("append_only", payload.get("kind") == "register")
        if not isinstance(flag, bool):
            self.problem(
                seq,
                _("{code}: append_only is {flag!r}, neither true nor false").format(
                    code=code, flag=flag
                ),
            )
        if flag is not False:
            self.append_only.add(code)

    def finish(self) -> None:
        """At the end of the chain: an exclusive step must not have left a revision behind."""
        if self.exclusive is not None:
            self._exclusive_done(self.report.events, self.exclusive)
        self.capa.finish(self.report.events)
        self.registers.finish(self.report.events)
        # issue 13: custody finish
        # issue 13: services and record-room finish
        # issue 13: district finish
        self.district.finish(self.report.events)

    def _exclusive_done(self, seq: int, exclusive: _Exclusive) -> None:
        """After an exclusive step, every other revision that was in its state is superseded."""
        for left in sorted(exclusive.expected - self.superseded):
            self.problem(
                seq,
                _(
                    "{left}: still {state!r} after {revision} entered it (the exclusive "
                    "rule moves it to {moves_to!r} at once)"
                ).format(
                    left=left,
                    state=exclusive.state,
                    revision=exclusive.revision,
                    moves_to=exclusive.moves_to,
                ),
            )

    def _adopted(self, seq: int, actor: str, subject: str, payload: Mapping[str, Any]) -> None:
        """The human author signs for a draft the inbox service filed in their name."""
        if subject not in self.named_author or self.author.get(subject) != "":
            self.problem(
                seq,
                _("{subject}: not a draft awaiting its author's signature").format(subject=subject),
            )
            return
        named, filer = self.named_author[subject]
        if actor != named:
            self.problem(
                seq,
                _("{subject}: the draft names {named!r}, but {actor!r} signed for it").format(
                    subject=subject, named=named, actor=actor
                ),
            )
            return
        if actor == filer:
            self.problem(
                seq,
                _(
                    "{subject}: {actor!r} filed the draft, and cannot also sign as its author"
                ).format(subject=subject, actor=actor),
            )
            return
        if payload.get("author") != actor:
            self.problem(
                seq,
                _("{subject}: {actor!r} signed for it naming {author!r}").format(
                    subject=subject, actor=actor, author=payload.get("author")
                ),
            )
        del self.named_author[subject]
        self.author[subject] = actor

    def _replaced(self, seq: int, actor: str, subject: str, payload: Mapping[str, Any]) -> None:
        """A corrected file in place of a draft's: by its author, while in the initial state."""
        document = subject.split("#", 1)[0]
        new, old = payload.get("sha256"), payload.get("previous_sha256")
        workflow = self._workflow_of(subject)
        if subject not in self.author:
            self.problem(
                seq,
                _("{subject}: its file is replaced, but it was never created").format(
                    subject=subject
                ),
            )
            return
        type_code = self.document_type.get(document, "")
        if self.type_kind.get(type_code) == "register" or type_code in self.append_only:
            self.problem(
                seq,
                _("{subject}: a register or append-only record's file is never replaced").format(
                    subject=subject
                ),
            )
            return
        if self.author[subject] == "":
            self.problem(
                seq,
                _(
                    "{subject}: file replaced before the draft's named author {named!r} "
                    "signed for it (document.revision.adopted)"
                ).format(subject=subject, named=self._named(subject)),
            )
        elif actor != self.author[subject]:
            self.problem(
                seq,
                _(
                    "{subject}: only its author {author!r} may replace its file, not {actor!r}"
                ).format(subject=subject, author=self.author[subject], actor=actor),
            )
        if workflow is not None and self.state.get(subject) != workflow.initial:
            self.problem(
                seq,
                _("{subject}: file replaced while {get!r}; only in {initial!r}").format(
                    subject=subject, get=self.state.get(subject), initial=workflow.initial
                ),
            )
        if old != self.content.get(subject):
            self.problem(
                seq,
                _("{subject}: replaces a file that is not its current one").format(subject=subject),
            )
        for other in self.revisions_of.get(document, []):
            if other != subject and self.content.get(other) == new:
                self.problem(
                    seq,
                    _("{subject}: the new file is {other}'s").format(subject=subject, other=other),
                )
        if isinstance(new, str):
            self.content[subject] = new
        if is_sha256(new):
            self.report.blobs.add(new)

    def _superseded(self, seq: int, attempt: Attempt, exclusive: _Exclusive | None) -> None:
        subject, payload = attempt.subject, attempt.payload
        before, after, current = payload.get("from"), payload.get("to"), self.state.get(subject)
        if (
            exclusive is None
            or exclusive.document != subject.split("#", 1)[0]
            or exclusive.revision == subject
        ):
            self.problem(
                seq,
                _(
                    "{subject}: superseded, but no other revision of its document entered "
                    "an exclusive state just before (only the exclusive rule supersedes)"
                ).format(subject=subject),
            )
        else:
            self.exclusive = exclusive  # more revisions may be superseded by the same step
            self.superseded.add(subject)
            if attempt.actor != exclusive.actor:
                self.problem(
                    seq,
                    _("{subject}: superseded by {actor!r}, not {actor2!r}").format(
                        subject=subject, actor=attempt.actor, actor2=exclusive.actor
                    ),
                )
            if (before, after, current) != (exclusive.state, exclusive.moves_to, exclusive.state):
                self.problem(
                    seq,
                    _(
                        "{subject}: recorded {before!r}→{after!r} while it was {current!r}; "
                        "the exclusive rule moves {state!r} to {moves_to!r}"
                    ).format(
                        subject=subject,
                        before=before,
                        after=after,
                        current=current,
                        state=exclusive.state,
                        moves_to=exclusive.moves_to,
                    ),
                )
        self.state[subject] = str(after or "")

    def _transition(self, seq: int, action: str, attempt: Attempt) -> None:
        subject, actor, payload = attempt.subject, attempt.actor, attempt.payload
        name = payload.get("transition")
        if not isinstance(name, str):
            self.problem(
                seq,
                _("{subject}: {action!r} changes a revision without naming its transition").format(
                    subject=subject, action=action
                ),
            )
            return
        before, after = payload.get("from"), payload.get("to")
        if subject not in self.author:
            self.problem(
                seq,
                _("{subject}: {name!r} on a revision that was never created").format(
                    subject=subject, name=name
                ),
            )
        elif self.author[subject] == "":
            self.problem(
                seq,
                _(
                    "{subject}: {name!r} before the draft's named author {named!r} signed "
                    "for it (document.revision.adopted)"
                ).format(subject=subject, name=name, named=self._named(subject)),
            )
        if self.state.get(subject) != before:
            self.problem(
                seq,
                _(
                    "{subject}: {name!r} recorded from {before!r}, but the revision was {get!r}"
                ).format(subject=subject, name=name, before=before, get=self.state.get(subject)),
            )
        self.state[subject] = str(after or "")
        workflow = self._workflow_of(subject)
        if workflow is None:
            self.problem(
                seq,
                _("{subject}: its document type has no registered workflow").format(
                    subject=subject
                ),
            )
            return
        try:
            step = workflow.transition(name)
        except LookupError:
            self.problem(
                seq,
                _("{subject}: workflow {name!r} has no transition {name2!r}").format(
                    subject=subject, name=workflow.name, name2=name
                ),
            )
            return
        if action != events.revision_transition(step.meaning).action:
            self.problem(
                seq,
                _(
                    "{subject}: {name!r} is recorded as {action!r}, not as its meaning {meaning!r}"
                ).format(subject=subject, name=name, action=action, meaning=step.meaning),
            )
        if before not in step.sources or after != step.target:
            self.problem(
                seq,
                _("{subject}: {name!r} goes {sources}→{target}, recorded {before}→{after}").format(
                    subject=subject,
                    name=name,
                    sources=step.sources,
                    target=step.target,
                    before=before,
                    after=after,
                ),
            )
        for problem in transition_problems(
            step,
            attempt,
            is_author=self.author.get(subject) == actor,
            took=lambda rule: actor in self.took.get((subject, rule), set()),
        ):
            self.problem(seq, f"{subject}: {problem}")
        self.took.setdefault((subject, name), set()).add(actor)
        entered = workflow.states.get(str(after))
        self.capa.revision_moved(subject, actor, entered is not None and entered.in_force)
        target = workflow.states.get(step.target)
        if target is not None and target.exclusive is not None:
            document = subject.split("#", 1)[0]
            self.superseded = set()
            self.exclusive = _Exclusive(
                document,
                subject,
                target.name,
                target.exclusive,
                actor,
                attempt.role,
                frozenset(
                    other
                    for other in self.revisions_of.get(document, [])
                    if other != subject and self.state.get(other) == target.name
                ),
            )

    def _names_current_file(self, seq: int, attempt: Attempt) -> None:
        """A transition's ``sha256`` is the revision's current file: what its signer acted on
        (the file it was created with, or its latest replacement)."""
        subject, named = attempt.subject, attempt.payload.get("sha256")
        current = self.content.get(subject)
        if current is not None and named != current:
            self.problem(
                seq,
                _(
                    "{subject}: {transition!r} names the file {named}, but its current "
                    "file is {current}: the signature does not bind the file acted on"
                ).format(
                    subject=subject,
                    transition=attempt.payload.get("transition"),
                    named=_short(named),
                    current=_short(current),
                ),
            )

    def _workflow_of(self, subject: str) -> WorkflowDefinition | None:
        type_code = self.document_type.get(subject.split("#", 1)[0], "")
        return self.workflows.get(self.type_workflow.get(type_code, ""))


def _short(digest: object) -> str:
    """A file's SHA-256 as a problem names it: its first 16 hex digits (anything else as is)."""
    return f"{digest[:16]}…" if isinstance(digest, str) and len(digest) > 16 else repr(digest)


def _own_key_change(body: Mapping[str, Any], key_id: str) -> bool:
    """Whether the event is its actor registering their own new key, or retiring ``key_id``
    (their own, temporary one) as key holder: all a temporary key may sign."""
    action, payload = body["action"], body["payload"]
    if body["signer"]["role"] != KEY_HOLDER or body["subject"] != body["actor"]:
        return False
    if action == events.KEY_REGISTERED.action:
        return bool(payload.get("fingerprint") != key_id)
    return bool(action == events.KEY_RETIRED.action and payload.get("fingerprint") == key_id)


_FOUNDING_ACTIONS = {
    events.KEY_REGISTERED.action,
    events.USER_CREATED.action,
    events.USER_ROLE_GRANTED.action,
}
_OWN_KEY_ACTIONS = {events.KEY_REGISTERED.action, events.KEY_RETIRED.action}

_CREATIONS = {
    events.REVISION_CREATED.action,
    events.RECORD_FILED.action,
    events.REVISION_ADOPTED.action,
    events.REVISION_REPLACED.action,
    events.DUPLICATE_SET_ASIDE.action,
}


def verify_chain_events(
    office: str,
    stream: Iterable[ChainEvent],
    *,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    remember: Iterable[int] = (),
) -> ChainReport:
    """Check one office's chain from any source of events; ``remember`` keeps hashes at seqs.

    Needs nothing but the events: keys, roles and workflow definitions all come from the chain.
    """
    report = ChainReport(office)
    rules = _Rules(report)
    wanted = set(remember)
    pool: Executor | None = None
    if jobs > 1:  # workers word their problems in this command's language
        pool = ProcessPoolExecutor(jobs, initializer=set_language, initargs=(current_language(),))
    pending: list[tuple[list[int], Future[_Found] | _Found]] = []

    def drain(keep: int) -> None:
        while len(pending) > keep:
            seqs, outcome = pending.pop(0)
            results = outcome if isinstance(outcome, list) else outcome.result()
            for seq, problems in zip(seqs, results, strict=True):
                for rank, problem in problems:
                    rules.problem(seq, problem, rank)

    try:
        for batch in _batches(stream):
            seqs, items = [], []
            for event in batch:
                check = _check_link(report, rules, event, wanted)
                if check is not None:
                    seqs.append(report.events)
                    items.append(check)
            pending.append(
                (seqs, pool.submit(_check_contents, items) if pool else _check_contents(items))
            )
            drain(keep=2 * jobs)
            if progress:
                progress(len(batch))
        drain(keep=0)
        rules.finish()
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return report


def _batches(stream: Iterable[ChainEvent]) -> Iterator[list[ChainEvent]]:
    batch: list[ChainEvent] = []
    for event in stream:
        batch.append(event)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


_TEXT_FIELDS = ("office", "time", "actor", "action", "subject", "meaning", "prev")
_SIGNER_FIELDS = ("name", "role", "key")


def _shape_problem(body: object) -> str | None:
    """What makes a body unusable (so later checks would be meaningless), if anything."""
    if not isinstance(body, Mapping):
        return _("the event body is not a JSON object")
    if type(body.get("v")) is not int or body.get("v") != ENCODING_VERSION:
        return _("unknown encoding version {v!r} (expected {ENCODING_VERSION})").format(
            v=body.get("v"), ENCODING_VERSION=ENCODING_VERSION
        )
    for name in _TEXT_FIELDS:
        if not isinstance(body.get(name), str):
            return _("field {name!r} is missing or not a string").format(name=name)
    if type(body.get("seq")) is not int or not isinstance(body.get("payload"), Mapping):
        return _("field 'seq' must be an integer and 'payload' an object")
    signer = body.get("signer")
    if not isinstance(signer, Mapping) or not all(
        isinstance(signer.get(name), str) for name in _SIGNER_FIELDS
    ):
        return _("field 'signer' must be an object with string name, role and key")
    if not is_utc_text(body["time"]):
        return _("time {time!r} is not a UTC timestamp like 2026-11-24T04:40:46.123456Z").format(
            time=body["time"]
        )
    return None


def _check_link(
    report: ChainReport, rules: _Rules, event: ChainEvent, wanted: set[int]
) -> _Item | None:
    """Check one event's place in the chain and its rules; returns what the content check
    (hash and signature, done in a worker) needs."""
    body = event.body
    expected = report.events + 1
    report.events = expected
    report.head_hash = str(event.hash)
    if expected in wanted:
        report.hashes_at[expected] = report.head_hash
    shape = _shape_problem(body)
    if shape is not None:
        rules.link_problem(expected, _("malformed event: {shape}").format(shape=shape))
        return None
    if body["seq"] != expected:
        rules.link_problem(
            expected,
            _(
                "sequence number {seq!r} where #{expected} was expected: an event was "
                "removed, inserted or reordered"
            ).format(seq=body["seq"], expected=expected),
        )
    if body["office"] != report.office:
        rules.link_problem(
            expected,
            _("belongs to office {office!r}, not {office2!r}").format(
                office=body["office"], office2=report.office
            ),
        )
    if body["prev"] != rules.previous_hash:
        rules.link_problem(
            expected,
            _(
                "previous hash {prev}… does not match event #{expected}'s hash "
                "{previous_hash}…: an event was removed, inserted or reordered"
            ).format(
                prev=body["prev"][:16],
                expected=expected - 1,
                previous_hash=rules.previous_hash[:16],
            ),
        )
    rules.previous_hash = report.head_hash
    if body["time"] > rules.latest_allowed:
        rules.link_problem(
            expected,
            _(
                "time {time} is in the future (verified at {latest_allowed}, allowing "
                "a few minutes of clock difference): a clock set ahead, or a forged "
                "date"
            ).format(time=body["time"], latest_allowed=rules.latest_allowed[:19]),
        )
    if body["time"] < rules.previous_time:
        rules.link_problem(
            expected,
            _(
                "time {time} is earlier than the previous event's ({previous_time}): "
                "the order or the clock was altered"
            ).format(time=body["time"], previous_time=rules.previous_time),
        )
    rules.previous_time = max(rules.previous_time, body["time"])
    if not meaning_fits(body["action"], body["meaning"]):
        rules.link_problem(
            expected,
            _("meaning {meaning!r} is not {action!r}'s").format(
                meaning=body["meaning"], action=body["action"]
            ),
        )
    try:
        public = rules.signing_key(expected, body)
        rules.apply(expected, body)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        rules.problem(
            expected,
            _("malformed payload for {action!r}: {exc!r}").format(action=body["action"], exc=exc),
        )
        public = None
    return body, str(event.hash), str(event.signature), public
