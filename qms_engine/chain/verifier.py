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
        return f"event #{self.seq}: {self.what}" if self.seq is not None else self.what

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
            problems.append((1, f"body is not canonical JSON: {exc}"))
            continue
        actual = hashlib.sha256(message).hexdigest()
        if actual != stored_hash:
            problems.append(
                (
                    1,
                    f"content does not match its hash (stored {stored_hash[:16]}…, "
                    f"computed {actual[:16]}…): altered after it was written",
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
                    "signature does not verify (forged, copied from another event, "
                    "or the signed content was altered)",
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
                    f"the founding key is registered for {payload['owner']!r} "
                    f"but signed by {actor!r}",
                )
            return str(payload["public_key"])  # the founding admin signs their own key
        info = self.report.keys.get(key_id)
        if info is None:
            self.problem(seq, f"signed with key {key_id[:16]}…, never registered in this chain")
            return None
        if info.purpose != "user" or info.owner != actor:
            self.problem(seq, f"signed by {actor!r} with {info.owner!r}'s key {key_id[:16]}…")
        if info.ended_at is not None:
            how = "revoked" if info.revoked else "retired"
            self.problem(
                seq, f"signed with key {key_id[:16]}…, which was {how} at event #{info.ended_at}"
            )
        if not info.own and not _own_key_change(body, key_id):
            self.problem(
                seq,
                f"signed with key {key_id[:16]}…, which someone else registered for {actor!r}: "
                f"it may sign only {actor!r}'s own change of key (a temporary key)",
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
                f"{actor!r} acted before the office had an admin (only its founder "
                f"{self.founder!r} may)",
            )
        if founding and (
            action not in _FOUNDING_ACTIONS
            or (action == events.USER_ROLE_GRANTED.action and payload.get("role") != ADMIN)
        ):
            self.problem(
                seq,
                f"{action!r} before the office had an admin (the founder only registers their "
                "key, enrols and makes themselves admin)",
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
                f"document type {new_type[0]!r} was added by {new_type[1]!r}, who is no admin, "
                "without filing its first document right after",
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
                self.problem(seq, f"unknown action {action!r}: no authorisation rule covers it")
            return
        rule_problems = event_problems(action, attempt)
        for problem in rule_problems:
            self.problem(seq, problem)
        if action in register_rules.KINDS:
            self.registers.apply(seq, action, attempt, time)
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
                self.problem(seq, f"{subject}: the document type is added a second time")
                return
            self.type_workflow[code] = payload.get("workflow", "")
            workflow = self.workflows.get(self.type_workflow[code])
            if workflow is None:
                self.problem(
                    seq,
                    f"{subject}: uses workflow {self.type_workflow[code]!r}, never registered "
                    "in this chain",
                )
            elif workflow.subject != REVISION:
                self.problem(
                    seq,
                    f"{subject}: uses workflow {workflow.name!r}, which moves "
                    f"{workflow.subject}s, not revisions",
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
            self.problem(seq, f"{subject}: set aside as a repeat of a record never filed")

    def _check_role(
        self, seq: int, actor: str, role: str, action: str, subject: str, founding: bool
    ) -> None:
        """The signer held the role they signed in.  ``key holder`` is held by nobody: it is
        only for a user's own key events."""
        if actor in self.inactive:
            self.problem(seq, f"{actor!r} acted after being deactivated")
        if founding:
            return  # the founder's first events come before any role exists
        if role == KEY_HOLDER and action in _OWN_KEY_ACTIONS:
            return  # whose key it is, the key rules of the authorisation table say
        if role not in self.roles.get(actor, set()):
            self.problem(seq, f"{actor!r} signed as {role!r} without holding that role")

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
                f"key {fingerprint[:16]}… belongs to {info.owner!r} ({info.purpose} key): "
                f"{action} about {subject!r} cannot end it",
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
            self.problem(seq, f"key.registered: fingerprint {key_id[:16]}… is not that of the key")
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
                    f"a second office key {key_id[:16]}… (the office key {current[0][:16]}… is "
                    "still valid; office keys are registered once, when the office is founded)",
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
                seq, f"workflow {name!r}: not a valid definition: {exc.key}: {exc.problem}"
            )
            return
        earlier = self.workflows.get(name)
        if earlier is not None and earlier.subject != definition.subject:
            self.problem(
                seq,
                f"workflow {name!r}: moves {definition.subject}s, but the definition in force "
                f"moves {earlier.subject}s (a workflow keeps its subject)",
            )
            return
        for step in definition.transitions.values():
            if events.workflow_transition(definition.subject, step.meaning).action in (
                events.FIXED_KINDS
            ):
                self.problem(
                    seq,
                    f"workflow {name!r}: transition {step.name!r} has meaning {step.meaning!r}, "
                    "which would be recorded as another kind of event",
                )
        self.workflows[name] = definition

    def _document_created(self, seq: int, number: str, payload: Mapping[str, Any]) -> None:
        type_code = str(payload.get("type", ""))
        if number in self.document_type:
            self.problem(seq, f"{number}: the document is created a second time")
            return
        if type_code not in self.type_workflow:
            self.problem(seq, f"{number}: document type {type_code!r} was never added here")
        self.document_type[number] = type_code

    def _revision_created(
        self, seq: int, action: str, actor: str, subject: str, payload: Mapping[str, Any]
    ) -> None:
        state, sha256 = payload.get("state", ""), payload.get("sha256")
        document = subject.split("#", 1)[0]
        if subject in self.author:
            self.problem(seq, f"{subject}: the revision is created a second time")
            return
        if document not in self.document_type:
            self.problem(seq, f"{subject}: a revision of a document that was never created")
        workflow = self._workflow_of(subject)
        if workflow is not None and state != workflow.initial:
            self.problem(
                seq,
                f"{subject}: created in state {state!r}; workflow {workflow.name!r} starts "
                f"every revision in {workflow.initial!r}",
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
        document, _, revno = subject.partition("#")
        earlier = self.revisions_of.get(document, [])
        if revno != str(len(earlier)):
            self.problem(
                seq,
                f"{subject}: numbered {revno!r}, but revision {len(earlier)} comes next "
                "(a document's revisions are numbered 0, 1, 2 … as they are created)",
            )
        type_code = self.document_type.get(document, "")
        if revno != "0" and type_code in self.append_only:
            self.problem(seq, f"{subject}: {type_code} records are append-only, never revised")
        open_states = workflow.open_states() if workflow is not None else frozenset()
        for other in earlier:
            if self.state.get(other) in open_states:
                self.problem(
                    seq,
                    f"{subject}: created while {other} is still {self.state[other]!r} (a "
                    "document has one open revision at a time)",
                )
            if isinstance(sha256, str) and self.content.get(other) == sha256:
                self.problem(seq, f"{subject}: its file is {other}'s (a revision changes the file)")

    def _draft_filed(self, seq: int, actor: str, subject: str, payload: Mapping[str, Any]) -> None:
        """A document draft filed from the inbox names its author (``source.author``), someone
        other than its filer; nobody is its author until that person signs for it."""
        source = payload.get("source")
        named = source.get("author") if isinstance(source, Mapping) else None
        self.author[subject], self.named_author[subject] = "", (named, actor)
        if not named:
            self.problem(seq, f"{subject}: a draft filed from the inbox names no author")
        elif named == actor:
            self.problem(seq, f"{subject}: the draft names {actor!r}, who filed it, as its author")

    def _named(self, subject: str) -> object:
        """The author a draft awaiting adoption names (None for any other revision)."""
        return self.named_author.get(subject, (None, ""))[0]

    def _append_only(self, seq: int, code: str, payload: Mapping[str, Any]) -> None:
        """Whether a type's records are never revised: ``append_only`` in its event, or, in
        chains written before it was recorded, its kind being ``register``."""
        flag = payload.get("append_only", payload.get("kind") == "register")
        if not isinstance(flag, bool):
            self.problem(seq, f"{code}: append_only is {flag!r}, neither true nor false")
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
                f"{left}: still {exclusive.state!r} after {exclusive.revision} entered it "
                f"(the exclusive rule moves it to {exclusive.moves_to!r} at once)",
            )

    def _adopted(self, seq: int, actor: str, subject: str, payload: Mapping[str, Any]) -> None:
        """The human author signs for a draft the inbox service filed in their name."""
        if subject not in self.named_author or self.author.get(subject) != "":
            self.problem(seq, f"{subject}: not a draft awaiting its author's signature")
            return
        named, filer = self.named_author[subject]
        if actor != named:
            self.problem(seq, f"{subject}: the draft names {named!r}, but {actor!r} signed for it")
            return
        if actor == filer:
            self.problem(
                seq, f"{subject}: {actor!r} filed the draft, and cannot also sign as its author"
            )
            return
        if payload.get("author") != actor:
            self.problem(
                seq, f"{subject}: {actor!r} signed for it naming {payload.get('author')!r}"
            )
        del self.named_author[subject]
        self.author[subject] = actor

    def _replaced(self, seq: int, actor: str, subject: str, payload: Mapping[str, Any]) -> None:
        """A corrected file in place of a draft's: by its author, while in the initial state."""
        document = subject.split("#", 1)[0]
        new, old = payload.get("sha256"), payload.get("previous_sha256")
        workflow = self._workflow_of(subject)
        if subject not in self.author:
            self.problem(seq, f"{subject}: its file is replaced, but it was never created")
            return
        type_code = self.document_type.get(document, "")
        if self.type_kind.get(type_code) == "register" or type_code in self.append_only:
            self.problem(
                seq, f"{subject}: a register or append-only record's file is never replaced"
            )
            return
        if self.author[subject] == "":
            self.problem(
                seq,
                f"{subject}: file replaced before the draft's named author "
                f"{self._named(subject)!r} signed for it (document.revision.adopted)",
            )
        elif actor != self.author[subject]:
            self.problem(
                seq,
                f"{subject}: only its author {self.author[subject]!r} may replace its file, "
                f"not {actor!r}",
            )
        if workflow is not None and self.state.get(subject) != workflow.initial:
            self.problem(
                seq,
                f"{subject}: file replaced while {self.state.get(subject)!r}; only in "
                f"{workflow.initial!r}",
            )
        if old != self.content.get(subject):
            self.problem(seq, f"{subject}: replaces a file that is not its current one")
        for other in self.revisions_of.get(document, []):
            if other != subject and self.content.get(other) == new:
                self.problem(seq, f"{subject}: the new file is {other}'s")
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
                f"{subject}: superseded, but no other revision of its document entered an "
                "exclusive state just before (only the exclusive rule supersedes)",
            )
        else:
            self.exclusive = exclusive  # more revisions may be superseded by the same step
            self.superseded.add(subject)
            if attempt.actor != exclusive.actor:
                self.problem(
                    seq, f"{subject}: superseded by {attempt.actor!r}, not {exclusive.actor!r}"
                )
            if (before, after, current) != (exclusive.state, exclusive.moves_to, exclusive.state):
                self.problem(
                    seq,
                    f"{subject}: recorded {before!r}→{after!r} while it was {current!r}; the "
                    f"exclusive rule moves {exclusive.state!r} to {exclusive.moves_to!r}",
                )
        self.state[subject] = str(after or "")

    def _transition(self, seq: int, action: str, attempt: Attempt) -> None:
        subject, actor, payload = attempt.subject, attempt.actor, attempt.payload
        name = payload.get("transition")
        if not isinstance(name, str):
            self.problem(
                seq, f"{subject}: {action!r} changes a revision without naming its transition"
            )
            return
        before, after = payload.get("from"), payload.get("to")
        if subject not in self.author:
            self.problem(seq, f"{subject}: {name!r} on a revision that was never created")
        elif self.author[subject] == "":
            self.problem(
                seq,
                f"{subject}: {name!r} before the draft's named author "
                f"{self._named(subject)!r} signed for it (document.revision.adopted)",
            )
        if self.state.get(subject) != before:
            self.problem(
                seq,
                f"{subject}: {name!r} recorded from {before!r}, but the revision "
                f"was {self.state.get(subject)!r}",
            )
        self.state[subject] = str(after or "")
        workflow = self._workflow_of(subject)
        if workflow is None:
            self.problem(seq, f"{subject}: its document type has no registered workflow")
            return
        try:
            step = workflow.transition(name)
        except LookupError:
            self.problem(seq, f"{subject}: workflow {workflow.name!r} has no transition {name!r}")
            return
        if action != events.revision_transition(step.meaning).action:
            self.problem(
                seq,
                f"{subject}: {name!r} is recorded as {action!r}, not as its meaning "
                f"{step.meaning!r}",
            )
        if before not in step.sources or after != step.target:
            self.problem(
                seq,
                f"{subject}: {name!r} goes {step.sources}→{step.target}, recorded {before}→{after}",
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
                f"{subject}: {attempt.payload.get('transition')!r} names the file "
                f"{_short(named)}, but its current file is {_short(current)}: the signature "
                "does not bind the file acted on",
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
    pool: Executor | None = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None
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
        return "the event body is not a JSON object"
    if type(body.get("v")) is not int or body.get("v") != ENCODING_VERSION:
        return f"unknown encoding version {body.get('v')!r} (expected {ENCODING_VERSION})"
    for name in _TEXT_FIELDS:
        if not isinstance(body.get(name), str):
            return f"field {name!r} is missing or not a string"
    if type(body.get("seq")) is not int or not isinstance(body.get("payload"), Mapping):
        return "field 'seq' must be an integer and 'payload' an object"
    signer = body.get("signer")
    if not isinstance(signer, Mapping) or not all(
        isinstance(signer.get(name), str) for name in _SIGNER_FIELDS
    ):
        return "field 'signer' must be an object with string name, role and key"
    if not is_utc_text(body["time"]):
        return f"time {body['time']!r} is not a UTC timestamp like 2026-11-24T04:40:46.123456Z"
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
        rules.link_problem(expected, f"malformed event: {shape}")
        return None
    if body["seq"] != expected:
        rules.link_problem(
            expected,
            f"sequence number {body['seq']!r} where #{expected} was "
            "expected: an event was removed, inserted or reordered",
        )
    if body["office"] != report.office:
        rules.link_problem(expected, f"belongs to office {body['office']!r}, not {report.office!r}")
    if body["prev"] != rules.previous_hash:
        rules.link_problem(
            expected,
            f"previous hash {body['prev'][:16]}… does not match event "
            f"#{expected - 1}'s hash {rules.previous_hash[:16]}…: an event "
            "was removed, inserted or reordered",
        )
    rules.previous_hash = report.head_hash
    if body["time"] > rules.latest_allowed:
        rules.link_problem(
            expected,
            f"time {body['time']} is in the future (verified at {rules.latest_allowed[:19]}, "
            "allowing a few minutes of clock difference): a clock set ahead, or a forged date",
        )
    if body["time"] < rules.previous_time:
        rules.link_problem(
            expected,
            f"time {body['time']} is earlier than the previous event's "
            f"({rules.previous_time}): the order or the clock was altered",
        )
    rules.previous_time = max(rules.previous_time, body["time"])
    if not meaning_fits(body["action"], body["meaning"]):
        rules.link_problem(expected, f"meaning {body['meaning']!r} is not {body['action']!r}'s")
    try:
        public = rules.signing_key(expected, body)
        rules.apply(expected, body)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        rules.problem(expected, f"malformed payload for {body['action']!r}: {exc!r}")
        public = None
    return body, str(event.hash), str(event.signature), public
