"""The tables are a projection of the chain: replay an office's events into the rows they must
have produced, then compare every row and field with the database.

Every write goes through the audited write path, which changes rows and appends the events that
say so in one transaction, so the chain alone determines the current state.  A row the chain did
not create (inserted by SQL), a row it created that is gone (deleted), and any field that
differs (an unapproved draft made ``effective`` by one UPDATE, a revision's SHA-256 pointed at
another blob, a title, a user's name or roles) is a difference, reported as ``table
revision_state, PS-KOT39/SOP/001#0, field state: chain says 'draft', database says
'effective'``.  An office whose chain is empty or was cut still has rows its chain does not
account for, so it fails too.

:class:`Projection` is fed the events the verifier reads (:meth:`Projection.observe` passes them
on unchanged), in one streaming pass.  It keeps what the rows are compared with per document
type, document, revision, user, key and receipt, never per event, and keeps it small: what never
changes in a document or revision (title, hash, file name, fields …) as a keyed digest, a
revision's workflow actions as a count and a keyed digest of (event, transition, actor).  A row
whose digest differs is compared field by field with the event that created it, read back by
its subject, so every difference is still named.  Each ``revision_action`` row's time is checked
against the event it names, joined in SQL.  The digests are Python's ``hash`` (randomised per
process) over a random salt: nobody can aim a forged row at a collision.
:meth:`Projection.problems` then reads the tables through the connection the events were read
from (one snapshot, so a concurrent write cannot look like tampering).

Rows are matched by natural keys (office code, type code, user name, key fingerprint, document
number, ``number#revno``, event sequence number, claim id): surrogate ids are not in the chain.
What is compared:

- ``office``: name, office type, time zone; ``created_at`` not after the office's first event.
  Every other office row must have an ``office.created`` event in its own chain.
- ``document_type``: title, kind, workflow, review period (when its event states it).
- ``workflow_registration``: per workflow, the digest and event of its last registration.
- ``key_registration``: per key registered in the office's chain, its first ``key.registered``
  event there, and whether the owner signed it (their own key) or someone else did.
- ``app_user``: full name, kind, active (deactivated in any office's chain), ``created_at``.
- ``user_role`` of this office: exactly the roles granted and not revoked in its chain.
- ``signing_key``: public key, owner (a user, or the office for an office key), ``valid_from``
  not after its registration, ``valid_until`` and ``revoked_reason`` as ``key.retired`` /
  ``key.revoked`` say.  The sealed private half cannot be checked without its passphrase.
- ``document``: type, serial, title, ``created_at`` (and ``serial_year`` if its event states it).
- ``revision``: SHA-256, size, media type, file name (the newest ``document.revision.replaced``
  of a draft, else its creating event's), title, reason, fields (canonical JSON), author,
  ``created_at``.  ``revision_state``: workflow, state, ``entered_at``, ``effective_at``
  (entering a state that starts the review clock in the definition the chain registered, from
  another state) and ``review_due`` (the office's local date of the clock's last start plus the
  type's review period, as the write path computes it: ``effective_at``, or the time of the
  latest transition back into that state, a periodic review that changed nothing).
- ``revision_action``: one row per transition event, naming its revision, transition, actor and
  time.
- ``ingest_receipt``: folder, file, SHA-256, size (of a filed record), outcome, number, event.
- the CAPA and feedback tables (``nonconformity``, ``nc_step``, ``nc_action``,
  ``internal_audit``, ``internal_audit_item``, ``feedback_response``): see
  :mod:`qms_engine.audit.capa_projection`.
- the citizen-charter and record-room tables (``service_application``, ``record_room_record``,
  ``disposal_list``): see :mod:`qms_engine.audit.service_projection`.
- ``register_entry``: a register record's period, diary day, kind and the entry it corrects,
  and its document's ``serial_year`` (the period's key): see
  :mod:`qms_engine.audit.register_projection`.
- ``custody_movement``: every hand-over of a register's item, field by field: see
  :mod:`qms_engine.audit.custody_projection`.
- ``district_station`` and ``district_event`` of an SP office: its stations and the events
  it holds of each imported one: see :mod:`qms_engine.audit.district_projection`.
- ``checkpoint``: no row the chain does not record (a recorded one that is missing is reported
  by :func:`qms_engine.audit.verify.verify_office`'s checkpoint check).
- Rows whose parent row is gone (a revision without its document, a state or action without
  its revision).

Times: the write path stamps a row a moment before it appends the event that records it (a
receipt a moment after), so a row's time must lie between the previous event's time and its own
event's: an insider cannot move it further.  Where the chain shows the clock may have gone back
(an event keeping its predecessor's time), the bound on that side is not applied.

Users and keys belong to the whole deployment, and the events about one may be in several
offices' chains.  The facts of the other offices' chains (users enrolled and deactivated, keys
registered and ended, offices founded) are read from their event rows, which their own
verification covers.  A difference about a user or key is reported by the offices whose chain
concerns them; a row no chain created at all, by every office.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, bindparam, select

from qms_engine.audit.capa_projection import CapaProjection
from qms_engine.audit.custody_projection import CustodyProjection
from qms_engine.audit.district_projection import DistrictProjection
from qms_engine.audit.register_projection import RegisterProjection
from qms_engine.audit.rows import (
    NO_BOUND,
    OPEN_END,
    UNKNOWN,
    Window,
)
from qms_engine.audit.rows import Lines as _Lines
from qms_engine.audit.rows import as_text as _text
from qms_engine.audit.rows import keyed_digest as _content
from qms_engine.audit.rows import within as _within
from qms_engine.audit.service_projection import ServiceProjection
from qms_engine.chain import events
from qms_engine.chain.canonical import canonical_text
from qms_engine.chain.encoding import ChainEvent
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import zone
from qms_engine.i18n import _
from qms_engine.rules.workflows import WorkflowDefinition
from qms_engine.storage.models import (
    ACTION_TABLE,
    CHECKPOINT_TABLE,
    DOCUMENT_TABLE,
    EVENT_TABLE,
    KEY_REGISTRATION_TABLE,
    KEY_TABLE,
    OFFICE_TABLE,
    RECEIPT_TABLE,
    REVISION_TABLE,
    ROLE_TABLE,
    STATE_TABLE,
    TYPE_TABLE,
    USER_TABLE,
    WORKFLOW_TABLE,
)

AnyEvent = TypeVar("AnyEvent", ChainEvent, Mapping[str, Any])

_Body = Mapping[str, Any]
_MASK = (1 << 64) - 1


class _Revision:
    """One revision as the chain says it is now."""

    __slots__ = (
        "author",
        "clock",
        "content",
        "created",
        "digest",
        "effective",
        "entered",
        "state",
        "transitions",
        "type_code",
        "workflow",
    )

    def __init__(
        self,
        content: int | None,
        author: Any,
        type_code: Any,
        workflow: Any,
        state: Any,
        window: Window,
    ) -> None:
        self.content = content
        """Keyed digest of what never changes: SHA-256, size, media type, original file name,
        title, reason and fields (:func:`_content`); kept instead of the values, to keep memory
        small; a revision whose row differs is compared field by field with its event.  None
        once its file was replaced: it is then always compared with its events."""
        self.author = author
        self.type_code = type_code
        self.workflow = workflow
        self.state = state
        self.created = window
        self.entered = window
        self.effective: Any = None  # None, a Window, or UNKNOWN (its workflow is not loaded)
        self.clock: Window | None = None
        """When its review clock last restarted (a transition back into its clock state),
        if it did after it entered that state."""
        self.transitions = 0
        self.digest = 0
        """Order-independent digest of its transitions' (event, transition, actor)."""


_REVISION_FIELDS = (
    "sha256",
    "size",
    "media_type",
    "original_filename",
    "title",
    "change_reason",
    "fields",
)


class _Facts:
    """What the chains say about deployment-wide rows: users, keys and offices.

    Fed from this office's stream and from the other offices' event rows.
    """

    def __init__(self) -> None:
        self.users: dict[str, tuple[Any, Any, str, str]] = {}
        """user → full name, kind, time of ``user.created``, office whose chain says so"""
        self.deactivated: dict[str, str] = {}
        """user → an office whose chain deactivated them"""
        self.keys: dict[str, tuple[Any, Any, Any, str, str]] = {}
        """fingerprint → owner, public key, purpose, earliest registration, office"""
        self.ended: dict[str, tuple[str, Any, str]] = {}
        """fingerprint → earliest retirement or revocation, its reason, office"""
        self.founded: set[str] = set()
        """offices with their ``office.created`` event in their own chain"""

    def user_created(self, name: str, payload: _Body, time: str, office: str) -> None:
        if name not in self.users:
            self.users[name] = (payload["full_name"], payload["kind"], time, office)

    def key_registered(self, payload: _Body, time: str, office: str) -> str:
        key_id = str(payload["fingerprint"])
        known = self.keys.get(key_id)
        if known is None:
            self.keys[key_id] = (
                payload["owner"],
                payload["public_key"],
                payload["purpose"],
                time,
                office,
            )
        elif time < known[3]:
            self.keys[key_id] = (*known[:3], time, known[4])
        return key_id

    def key_ended(self, payload: _Body, time: str, office: str) -> str:
        key_id = str(payload["fingerprint"])
        known = self.ended.get(key_id)
        if known is None or time < known[0]:
            self.ended[key_id] = (time, payload.get("reason"), office)
        return key_id

    def apply(self, action: str, subject: str, payload: _Body, time: str, office: str) -> None:
        """Take in one event of another office's chain (one of :data:`_FACT_ACTIONS`)."""
        if action == events.USER_CREATED.action:
            self.user_created(subject, payload, time, office)
        elif action == events.USER_DEACTIVATED.action:
            self.deactivated.setdefault(subject, office)
        elif action == events.KEY_REGISTERED.action:
            self.key_registered(payload, time, office)
        elif action in (events.KEY_RETIRED.action, events.KEY_REVOKED.action):
            self.key_ended(payload, time, office)
        elif action == events.OFFICE_CREATED.action and subject == office:
            self.founded.add(office)


_FACT_ACTIONS = (
    events.OFFICE_CREATED.action,
    events.USER_CREATED.action,
    events.USER_DEACTIVATED.action,
    events.KEY_REGISTERED.action,
    events.KEY_RETIRED.action,
    events.KEY_REVOKED.action,
)


@lru_cache(maxsize=4096)
def _local_date(minute: str, timezone: str) -> date:
    """The office's local date at a UTC minute (``2026-11-24T04:40``).  Every zone's offset is
    a whole number of minutes, so a minute falls on a single local date."""
    moment = datetime.fromisoformat(minute).replace(tzinfo=UTC)
    return moment.astimezone(zone(timezone)).date()


class Projection:
    """The rows an office's chain says the tables hold, built from its events as they stream by.

    Feed it every event of the chain, in order (:meth:`observe` or :meth:`feed`), then call
    :meth:`problems` once with the connection (snapshot) the events were read through.
    """

    def __init__(
        self, office: OfficeRef, workflows: Mapping[str, WorkflowDefinition] | None = None
    ) -> None:
        self.office = office
        self.events = 0
        self.facts = _Facts()
        self.first_time: str | None = None
        self.founding: tuple[Any, Any, Any] | None = None  # name, office type, time zone
        self.types: dict[str, tuple[Any, Any, Any, Any]] = {}
        self.roles: set[tuple[str, str]] = set()
        self.people: set[str] = set()  # users this chain says something about
        self.user_windows: dict[str, Window] = {}  # users enrolled in this chain
        self.keys_here: set[str] = set()  # keys registered or ended in this chain
        self.registered_here: dict[str, tuple[bool, Any]] = {}  # key → own?, event
        self.documents: dict[str, tuple[Any, int, Window, Any]] = {}
        """number → type, digest of (title, serial), window, serial year"""
        self.revisions: dict[str, _Revision] = {}
        self.receipts: dict[str, list[Any]] = {}
        self.checkpoints: set[tuple[Any, Any, Any]] = set()
        self.workflows: dict[str, tuple[Any, Any]] = {}  # name → digest, event of the last
        # Which states start the review clock: as the chain registers each definition, else
        # (a chain that never registered it) as the installed definition says.
        self._clock_states = {
            name: frozenset(s.name for s in workflow.states.values() if s.starts_review_clock)
            for name, workflow in (workflows or {}).items()
        }
        self._salt = int.from_bytes(os.urandom(8))  # keys the action digests (see _actions)
        self._previous_time = NO_BOUND
        self._lower = NO_BOUND  # lower bound of a row stamped just before the current event
        self._later = False  # the current event is strictly later than the previous one
        self._previous: tuple[Any, Any, str] = ("", "", NO_BOUND)  # action, subject, lower
        self._transition_window: Window = (NO_BOUND, OPEN_END)
        self._awaiting: list[list[Any]] = []  # rows whose upper bound is the next event's time
        self._shared: dict[Any, Any] = {}  # one copy of each short repeated value (names, states)
        self._found: list[str] | None = None
        self._unprojected: list[str] = []
        self.capa = CapaProjection(office, self._salt, self._open_window)
        self.services = ServiceProjection(office, self._open_window)
        self.custody = CustodyProjection(office, self._open_window)
        self.registers = RegisterProjection(office)
        self.district = DistrictProjection(office)
        self._handlers: dict[str, Callable[[_Body, str], None]] = {
            events.OFFICE_CREATED.action: self._office_created,
            events.DOCUMENT_TYPE_ADDED.action: self._type_added,
            events.WORKFLOW_REGISTERED.action: self._workflow_registered,
            events.USER_CREATED.action: self._user_created,
            events.USER_ROLE_GRANTED.action: self._role_granted,
            events.USER_ROLE_REVOKED.action: self._role_revoked,
            events.USER_DEACTIVATED.action: self._user_deactivated,
            events.KEY_REGISTERED.action: self._key_registered,
            events.KEY_RETIRED.action: self._key_ended,
            events.KEY_REVOKED.action: self._key_ended,
            events.DOCUMENT_CREATED.action: self._document_created,
            events.REVISION_CREATED.action: self._revision_created,
            events.RECORD_FILED.action: self._revision_created,
            events.REVISION_ADOPTED.action: self._adopted,
            events.REVISION_REPLACED.action: self._replaced,
            events.DUPLICATE_SET_ASIDE.action: self._duplicate_set_aside,
            events.REVISION_SUPERSEDED.action: self._superseded,
            events.CHECKPOINT_RECORDED.action: self._checkpoint,
            **self.capa.handlers(),
            **self.services.handlers(),
            **self.custody.handlers(),
            **self.district.handlers(),
        }

    # ------------------------------------------------------------------ reading the chain

    def observe(
        self, stream: Iterable[AnyEvent], connection: Connection | None = None
    ) -> Iterator[AnyEvent]:
        """Pass the events on unchanged, taking each in (so one read serves the verifier too).

        Given ``connection`` (the snapshot the stream is read through), the tables are compared
        as soon as the last event has passed, while the verifier's workers are still checking
        the last signatures; :meth:`problems` then returns that result.
        """
        for event in stream:
            self.feed(event)
            yield event
        if connection is not None:
            self.problems(connection)

    def feed(self, event: ChainEvent | _Body) -> None:
        """Take in the next event of the chain (a :class:`ChainEvent` or its body)."""
        body = event.body if isinstance(event, ChainEvent) else event
        self.events += 1
        try:
            time = body["time"]
            action = body["action"]
        except (KeyError, TypeError):
            return  # a malformed event: the verifier reports it
        if type(time) is not str or type(action) is not str:
            return
        previous = self._previous_time
        self._later = later = time > previous
        self._lower = previous if later else NO_BOUND
        if self._awaiting:
            for receipt in self._awaiting:
                receipt[-1] = (receipt[-1][0], time if later else OPEN_END)
            self._awaiting.clear()
        if self.first_time is None:
            self.first_time = time
        subject = None
        try:
            subject = body["subject"]
            handler = self._handlers.get(action)
            if handler is not None:
                handler(body, time)
            elif action.startswith(events.TRANSITION_PREFIX):
                self._transition(body, time)
            elif action.startswith(events.NC_TRANSITION_PREFIX):
                self.capa.transition(body, time)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._unprojected.append(  # the verifier reports the payload; never passed over
                _(
                    "event #{seq} ({action}): its payload cannot be projected ({exc!r}), "
                    "so the rows it wrote are not compared with it"
                ).format(seq=body.get("seq"), action=action, exc=exc)
            )
        self._previous = (action, subject, self._lower)
        self._previous_time = time if later else previous

    def _office_created(self, body: _Body, time: str) -> None:
        if body["subject"] == self.office.code and self.founding is None:
            payload = body["payload"]
            self.founding = (payload["name"], payload["office_type"], payload["timezone"])
            self.facts.founded.add(self.office.code)

    def _type_added(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        self.types.setdefault(
            str(body["subject"]).rsplit("/", 1)[-1],
            (
                payload["title"],
                payload["kind"],
                payload["workflow"],
                payload.get("review_period_days", UNKNOWN),
            ),
        )

    def _workflow_registered(self, body: _Body, time: str) -> None:
        name, payload = str(body["subject"]), body["payload"]
        states = payload["definition"]["states"]
        self._clock_states[name] = frozenset(
            state for state, flags in states.items() if flags.get("starts_review_clock") is True
        )
        self.workflows[name] = (payload["sha256"], body["seq"])
        self.capa.workflow_registered(name, states)

    def _user_created(self, body: _Body, time: str) -> None:
        name = str(body["subject"])
        action, subject, lower = self._previous  # the key.registered written just before it
        if action != events.KEY_REGISTERED.action or subject != name:
            lower = NO_BOUND
        self.user_windows.setdefault(name, (lower, time))
        self.people.add(name)
        self.facts.user_created(name, body["payload"], time, self.office.code)

    def _role_granted(self, body: _Body, time: str) -> None:
        self.roles.add((str(body["subject"]), str(body["payload"]["role"])))
        self.people.add(str(body["subject"]))

    def _role_revoked(self, body: _Body, time: str) -> None:
        self.roles.discard((str(body["subject"]), str(body["payload"]["role"])))
        self.people.add(str(body["subject"]))

    def _user_deactivated(self, body: _Body, time: str) -> None:
        self.facts.deactivated.setdefault(str(body["subject"]), self.office.code)
        self.people.add(str(body["subject"]))

    def _key_registered(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        key_id = self.facts.key_registered(payload, time, self.office.code)
        self.keys_here.add(key_id)
        if key_id not in self.registered_here:
            self.registered_here[key_id] = (body["actor"] == payload["owner"], body["seq"])
        if payload["purpose"] == "user":
            self.people.add(str(payload["owner"]))

    def _key_ended(self, body: _Body, time: str) -> None:
        self.keys_here.add(self.facts.key_ended(body["payload"], time, self.office.code))

    def _document_created(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        self.registers.created(body)
        self.documents.setdefault(
            str(body["subject"]),
            (
                self._shared.setdefault(payload["type"], payload["type"]),
                _content(self._salt, (payload["title"], payload["serial"])),
                (self._lower, time),
                payload.get("serial_year", UNKNOWN),
            ),
        )

    def _revision_created(self, body: _Body, time: str) -> None:
        subject, payload = str(body["subject"]), body["payload"]
        number = subject.rpartition("#")[0]
        document = self.documents.get(number)
        type_code = document[0] if document else None
        kind = self.types.get(type_code) if type_code is not None else None
        share = self._shared.setdefault
        revision = _Revision(
            _content(self._salt, _created_values(payload)),
            share(body["actor"], body["actor"]),
            type_code,
            kind[2] if kind else None,
            share(payload["state"], payload["state"]),
            (self._lower, time),
        )
        self.revisions.setdefault(subject, revision)
        source = payload.get("source")
        if source is not None:
            self._receipt(
                source["claim"],
                [source["inbox"], source["file"], payload["sha256"], payload["size"], "filed"],
                number,
                body["seq"],
                time,
            )

    def _adopted(self, body: _Body, time: str) -> None:
        """The named human author signed for an inbox draft: the revision is now theirs."""
        revision = self.revisions.get(str(body["subject"]))
        if revision is not None:
            revision.author = body["actor"]

    def _replaced(self, body: _Body, time: str) -> None:
        """A draft's file was replaced: its row now holds the new file (rare, so the row is
        compared field by field with its creating and replacing events)."""
        revision = self.revisions.get(str(body["subject"]))
        if revision is not None:
            revision.content = None

    def _duplicate_set_aside(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        self._receipt(
            payload["claim"],
            [payload["inbox"], payload["file"], payload["sha256"], UNKNOWN, "duplicate"],
            body["subject"],
            body["seq"],
            time,
        )

    def _open_window(self) -> list[Window]:
        """The time window of a row written with the current event: after the previous event,
        up to the next one (set when it comes)."""
        slot = [(self._lower, OPEN_END)]
        self._awaiting.append(slot)
        return slot

    def _receipt(self, claim: Any, row: list[Any], number: Any, seq: Any, time: str) -> None:
        if claim in self.receipts:
            return
        row += [number, seq, (time if self._later else NO_BOUND, OPEN_END)]
        self.receipts[claim] = row
        self._awaiting.append(row)

    def _superseded(self, body: _Body, time: str) -> None:
        revision = self.revisions.get(body["subject"])
        if revision is not None:
            target = body["payload"]["to"]
            revision.state = self._shared.setdefault(target, target)
            revision.entered = self._transition_window  # stamped by the transition that did it

    def _checkpoint(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        self.checkpoints.add((payload["seq"], payload["head"], payload["signature"]))

    def _transition(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        if "transition" not in payload:
            return
        window = self._transition_window = (self._lower, time)
        revision = self.revisions.get(body["subject"])
        if revision is None:
            return
        step = hash((self._salt, body["seq"], payload["transition"], body["actor"]))
        revision.digest = (revision.digest + step) & _MASK
        revision.state = target = self._shared.setdefault(payload["to"], payload["to"])
        revision.entered = window
        revision.transitions += 1
        clock = self._clock_states.get(revision.workflow)
        if clock is None:
            revision.effective = UNKNOWN
        elif target in clock and payload["from"] == target:  # reviewed: the clock restarts
            revision.clock = window
        elif target in clock:
            revision.effective = window
            revision.clock = None

    # ------------------------------------------------------------------ comparing

    def problems(self, connection: Connection) -> list[str]:
        """Every difference between the tables and the chain fed, table by table (computed
        once: feed the whole chain first)."""
        if self._found is None:
            self._found = self._compare(connection)
        return list(self._found)

    def _compare(self, connection: Connection) -> list[str]:
        self._read_other_chains(connection)
        found: list[str] = list(self._unprojected)
        found += self._offices(connection)
        periods, type_lines = self._types(connection)
        found += type_lines
        found += self._workflows(connection)
        found += self._users(connection)
        found += self._roles(connection)
        found += self._keys(connection)
        found += self._key_registrations(connection)
        found += self._documents(connection)
        found += self._revisions(connection, periods)
        found += self._actions(connection)
        found += self._receipts(connection)
        found += self._checkpoints(connection)
        found += self.capa.problems(connection)
        found += self.services.problems(connection)
        found += self.custody.problems(connection)
        found += self.registers.problems(connection)
        found += self.district.problems(connection)
        found += _orphans(connection)
        return found

    def _whose(self, office: str) -> str:
        return "" if office == self.office.code else _("chain of {office}").format(office=office)

    def _read_other_chains(self, connection: Connection) -> None:
        for row in connection.execute(_OTHER_FACTS, {"office_id": self.office.id}):
            try:
                payload = json.loads(row.payload)
                self.facts.apply(row.action, row.subject, payload, row.recorded_at, row.code)
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a damaged event: that office's own verification reports it

    def _offices(self, connection: Connection) -> list[str]:
        lines = _Lines("office")
        seen = False
        for row in connection.execute(_OFFICES):
            if row.code != self.office.code:
                if row.code not in self.facts.founded:
                    lines.inserted(
                        row.code,
                        _(
                            "its own chain has no office.created event (an office inserted, or its "
                            "chain emptied or cut)"
                        ),
                    )
                continue
            seen = True
            if self.founding is None:
                lines.inserted(
                    row.code,
                    _("its chain has no office.created event (the chain is empty or was cut)"),
                )
                continue
            for name, chain, database in zip(
                ("name", "office_type", "timezone"),
                self.founding,
                (row.name, row.office_type, row.timezone),
                strict=True,
            ):
                if chain != database:
                    lines.differs(row.code, name, chain, database)
            lines.time(row.code, "created_at", (NO_BOUND, self.first_time or OPEN_END), row.at)
        if not seen and self.founding is not None:
            lines.deleted(self.office.code)
        return lines.taken()

    def _types(self, connection: Connection) -> tuple[dict[str, Any], list[str]]:
        """The review period of each type (the chain's, else the table's), and the lines."""
        lines = _Lines("document_type")
        expected = dict(self.types)
        periods: dict[str, Any] = {}
        for row in connection.execute(_TYPES, {"office_id": self.office.id}):
            row_name = f"{self.office.code}/{row.code}"
            chain = expected.pop(row.code, None)
            if chain is None:
                lines.inserted(row_name)
                continue
            title, kind, workflow, period = chain
            for name, value, database in (
                ("title", title, row.title),
                ("kind", kind, row.kind),
                ("workflow", workflow, row.workflow),
                ("review_period_days", period, row.review_period_days),
            ):
                if value is not UNKNOWN and value != database:
                    lines.differs(row_name, name, value, database)
            periods[row.code] = row.review_period_days if period is UNKNOWN else period
        for code in expected:
            lines.deleted(f"{self.office.code}/{code}")
        for code, (*_ignored, period) in self.types.items():
            periods.setdefault(code, period)
        return periods, lines.taken()

    def _workflows(self, connection: Connection) -> list[str]:
        lines = _Lines("workflow_registration")
        expected = dict(self.workflows)
        for row in connection.execute(_WORKFLOWS, {"office_id": self.office.id}):
            row_name = f"{self.office.code}/{row.name}"
            chain = expected.pop(row.name, None)
            if chain is None:
                lines.inserted(row_name)
                continue
            for name, value, database in zip(
                ("sha256", "event_seq"), chain, (row.sha256, row.event_seq), strict=True
            ):
                if value != database:
                    lines.differs(row_name, name, value, database)
        for name in expected:
            lines.deleted(f"{self.office.code}/{name}")
        return lines.taken()

    def _users(self, connection: Connection) -> list[str]:
        lines = _Lines("app_user")
        facts = self.facts
        missing = set(self.user_windows)
        for row in connection.execute(_USERS):
            name = row.username
            missing.discard(name)
            enrolled = facts.users.get(name)
            if enrolled is None:
                lines.inserted(name, _("no office's chain enrolled this user (inserted)"))
                continue
            if name not in self.people:
                continue  # another office's chain concerns them: its verification compares
            full_name, kind, time, office = enrolled
            whose = self._whose(office)
            if full_name != row.full_name:
                lines.differs(name, "full_name", full_name, row.full_name, whose)
            if kind != row.kind:
                lines.differs(name, "kind", kind, row.kind, whose)
            deactivated_by = facts.deactivated.get(name)
            if (deactivated_by is None) != bool(row.active):
                lines.differs(
                    name,
                    "active",
                    deactivated_by is None,
                    bool(row.active),
                    self._whose(deactivated_by or office),
                )
            window = self.user_windows.get(name, (NO_BOUND, time))
            lines.time(name, "created_at", window, row.at, whose)
        for name in missing:
            lines.deleted(name)
        return lines.taken()

    def _roles(self, connection: Connection) -> list[str]:
        lines = _Lines("user_role")
        expected = set(self.roles)
        for row in connection.execute(_ROLES, {"office_id": self.office.id}):
            who = (
                row.username
                if row.username is not None
                else _("user id {user_id}").format(user_id=row.user_id)
            )
            if (row.username, row.role) in expected:
                expected.discard((row.username, row.role))
            else:
                lines.inserted(
                    _("{who} as {role} in {code}").format(
                        who=who, role=row.role, code=self.office.code
                    )
                )
        for name, role in expected:
            lines.deleted(
                _("{name} as {role} in {code}").format(name=name, role=role, code=self.office.code)
            )
        return lines.taken()

    def _keys(self, connection: Connection) -> list[str]:
        lines = _Lines("signing_key")
        facts = self.facts
        missing = set(self.registered_here)
        for row in connection.execute(_KEYS):
            key_id = row.fingerprint
            missing.discard(key_id)
            name = f"{key_id[:16]}…"
            registered = facts.keys.get(key_id)
            if registered is None:
                lines.inserted(name, _("no office's chain registered this key (inserted)"))
                continue
            if key_id not in self.keys_here:
                continue  # registered and ended in other chains only: they compare it
            owner, public_key, purpose, time, office = registered
            whose = self._whose(office)
            if public_key != row.public_key:
                lines.differs(name, "public_key", public_key, row.public_key, whose)
            expected_owner = f"office {owner}" if purpose == "office" else f"user {owner}"
            if _key_owner(row) != expected_owner:
                lines.differs(name, "owner", expected_owner, _key_owner(row), whose)
            lines.time(name, "valid_from", (NO_BOUND, time), row.valid_from, whose)
            ended = facts.ended.get(key_id)
            if ended is None:
                if row.valid_until is not None:
                    lines.differs(name, "valid_until", None, row.valid_until)
                if row.revoked_reason is not None:
                    lines.differs(name, "revoked_reason", None, row.revoked_reason)
                continue
            end_time, reason, end_office = ended
            lines.time(
                name, "valid_until", (NO_BOUND, end_time), row.valid_until, self._whose(end_office)
            )
            if reason != row.revoked_reason:
                lines.differs(
                    name, "revoked_reason", reason, row.revoked_reason, self._whose(end_office)
                )
        for key_id in missing:
            lines.deleted(f"{key_id[:16]}…")
        return lines.taken()

    def _key_registrations(self, connection: Connection) -> list[str]:
        lines = _Lines("key_registration")
        expected = dict(self.registered_here)
        for row in connection.execute(_KEY_REGISTRATIONS, {"office_id": self.office.id}):
            name = f"{row.fingerprint[:16]}… in {self.office.code}"
            chain = expected.pop(row.fingerprint, None)
            if chain is None:
                lines.inserted(name)
                continue
            own, seq = chain
            if own != bool(row.own):
                lines.differs(name, "own", own, bool(row.own))
            if seq != row.event_seq:
                lines.differs(name, "event_seq", seq, row.event_seq)
        for key_id in expected:
            lines.deleted(f"{key_id[:16]}… in {self.office.code}")
        return lines.taken()

    def _documents(self, connection: Connection) -> list[str]:
        lines = _Lines("document")
        expected = dict(self.documents)
        rows = connection.execute(_DOCUMENTS, {"office_id": self.office.id})
        for number, type_id, code, type_office, year, number_serial, name, created_at in rows:
            chain = expected.pop(number, None)
            if chain is None:
                lines.inserted(number)
                continue
            type_code, content, window, serial_year = chain
            database_type = code if type_office == self.office.id else None
            if type_code != database_type:
                lines.differs(
                    number,
                    "document_type",
                    type_code,
                    database_type
                    or _("type id {type_id} (not of this office)").format(type_id=type_id),
                )
            if _content(self._salt, (name, number_serial)) != content:
                _document_differences(connection, self.office, number, (name, number_serial), lines)
            if serial_year is not UNKNOWN and serial_year != year:
                lines.differs(number, "serial_year", serial_year, year)
            if not _within(created_at, window):
                lines.time(number, "created_at", window, created_at)
        for number in expected:
            lines.deleted(number)
        return lines.taken()

    def _revisions(self, connection: Connection, periods: Mapping[str, Any]) -> list[str]:
        revisions, states = _Lines("revision"), _Lines("revision_state")
        expected = dict(self.revisions)
        timezone = self.founding[2] if self.founding else self.office.timezone
        rows = connection.execute(_REVISIONS, {"office_id": self.office.id})
        for (
            number,
            revno,
            sha256,
            size,
            media_type,
            original_filename,
            title,
            reason,
            fields,
            author,
            created_at,
            state_of,
            workflow,
            state,
            entered_at,
            effective_at,
            review_due,
        ) in rows:
            key = f"{number}#{revno}"
            chain = expected.pop(key, None)
            if chain is None:
                revisions.inserted(key)
                if state_of is not None:
                    states.inserted(key)
                continue
            stored = (sha256, size, media_type, original_filename, title, reason, fields)
            if chain.content is None or _content(self._salt, stored) != chain.content:
                _content_differences(connection, self.office, key, stored, revisions)
            if author != chain.author:
                revisions.differs(key, "author", chain.author, author)
            if not _within(created_at, chain.created):
                revisions.time(key, "created_at", chain.created, created_at)
            if state_of is None:
                states.deleted(key)
                continue
            if chain.workflow is not None and chain.workflow != workflow:
                states.differs(key, "workflow", chain.workflow, workflow)
            if chain.state != state:
                states.differs(key, "state", chain.state, state)
            if not _within(entered_at, chain.entered):
                states.time(key, "entered_at", chain.entered, entered_at)
            effective = chain.effective
            if effective is UNKNOWN:
                continue
            started = None
            if effective is None:
                if effective_at is not None:
                    states.differs(key, "effective_at", None, effective_at)
            elif _within(effective_at, effective):
                started = effective_at
            else:
                started = effective[1]
                states.time(key, "effective_at", effective, effective_at)
            if chain.clock is not None:  # restarted since: the row's entered_at if it is then
                same = chain.entered is chain.clock and _within(entered_at, chain.clock)
                started = entered_at if same else chain.clock[1]
            if started is None:
                if review_due is not None:
                    states.differs(key, "review_due", None, review_due)
                continue
            period = periods.get(chain.type_code, UNKNOWN)
            if period is UNKNOWN:
                continue
            due = _review_due(started, period, timezone)
            if due != review_due:
                states.differs(key, "review_due", due, review_due)
        for key in expected:
            revisions.deleted(key)
            states.deleted(key)
        return revisions.taken() + states.taken()

    def _actions(self, connection: Connection) -> list[str]:
        """``revision_action``: per revision, the rows' count and digest of (event, transition,
        actor) against the chain's, and each row's time against its event's (joined in SQL);
        a revision whose rows differ is examined event by event, to name each difference."""
        lines = _Lines("revision_action")
        salt, last_seq = self._salt, None
        tallies: dict[tuple[Any, Any], list[int]] = {}
        suspects: set[str] = set()
        rows = connection.execute(_ACTIONS, {"office_id": self.office.id})
        for number, revno, seq, transition, actor, at, event_time, before in rows:
            tally = tallies.get((number, revno))
            if tally is None:
                tally = tallies[(number, revno)] = [0, 0]
            tally[0] += 1
            tally[1] = (tally[1] + hash((salt, seq, transition, actor))) & _MASK
            if seq == last_seq or event_time is None:
                suspects.add(f"{number}#{revno}")  # two rows for one event, or no such event
                last_seq = seq
                continue
            last_seq = seq
            lower = before if before is not None and event_time > before else NO_BOUND
            if not _within(at, (lower, event_time)):
                lines.time(
                    _("{number}#{revno} at event #{seq}").format(
                        number=number, revno=revno, seq=seq
                    ),
                    "at",
                    (lower, event_time),
                    at,
                )
        recorded = set()
        for (number, revno), (count, digest) in tallies.items():
            key = f"{number}#{revno}"
            recorded.add(key)
            revision = self.revisions.get(key)
            if revision is None or (revision.transitions, revision.digest) != (count, digest):
                suspects.add(key)
        for key, revision in self.revisions.items():
            if revision.transitions and key not in recorded:
                suspects.add(key)
        for key in suspects:
            _action_differences(connection, self.office, key, lines)
        return lines.taken()

    def _receipts(self, connection: Connection) -> list[str]:
        lines = _Lines("ingest_receipt")
        expected = dict(self.receipts)
        names = ("folder", "original_name", "sha256", "size", "outcome", "number", "event_seq")
        for row in connection.execute(_RECEIPTS, {"office_id": self.office.id}):
            claim = row.claim_id
            chain = expected.pop(claim, None)
            if chain is None:
                lines.inserted(claim)
                continue
            database = (
                row.folder,
                row.original_name,
                row.sha256,
                row.size,
                row.outcome,
                row.number,
                row.event_seq,
            )
            for name, value, stored in zip(names, chain, database, strict=False):
                if value is not UNKNOWN and value != stored:
                    lines.differs(claim, name, value, stored)
            lines.time(claim, "created_at", chain[-1], row.at)
        for claim in expected:
            lines.deleted(claim)
        return lines.taken()

    def _checkpoints(self, connection: Connection) -> list[str]:
        lines = _Lines("checkpoint")
        for row in connection.execute(_CHECKPOINTS, {"office_id": self.office.id}):
            if (row.seq, row.head_hash, row.signature) not in self.checkpoints:
                lines.inserted(
                    f"{self.office.code}#{row.seq}",
                    _("no event of the chain records it (inserted)"),
                )
        return lines.taken()


def projection_problems(
    connection: Connection,
    office: OfficeRef,
    events: Iterable[ChainEvent | _Body],
    *,
    workflows: Mapping[str, WorkflowDefinition] | None = None,
) -> list[str]:
    """Every difference between the tables and what ``events`` (the office's whole chain, in
    order) say they hold, read through ``connection`` (the snapshot the events came from).

    Which states start the review clock comes from the definitions the chain registers;
    ``workflows`` (the installed definitions) stand in for one the chain never registered.
    Without either, a revision's ``effective_at`` and ``review_due`` are not compared.
    """
    projection = Projection(office, workflows)
    for event in events:
        projection.feed(event)
    return projection.problems(connection)


# ---------------------------------------------------------------------- helpers


def _created_values(payload: _Body) -> tuple[Any, ...]:
    """What a revision's creating event says of the ``revision`` columns that never change, in
    the order of :data:`_REVISION_FIELDS` (fields as the canonical JSON text the row holds)."""
    fields = payload["fields"]
    if fields == {}:
        text: Any = "{}"
    else:
        try:
            text = canonical_text(fields)
        except (TypeError, ValueError):
            text = repr(fields)
    return (
        payload["sha256"],
        payload["size"],
        payload["media_type"],
        payload["original_filename"],
        payload["title"],
        payload["reason"],
        text,
    )


def _document_differences(
    connection: Connection, office: OfficeRef, number: str, stored: tuple[Any, Any], lines: _Lines
) -> None:
    """Name the fields of one document's row that its ``document.created`` event contradicts."""
    for seq, action, _actor, payload in connection.execute(
        _SUBJECT_EVENTS, {"office_id": office.id, "subject": number}
    ):
        if action == events.DOCUMENT_CREATED.action:
            try:
                created = json.loads(payload)
                chain = (created["title"], created["serial"])
            except (KeyError, TypeError, ValueError) as exc:
                lines.uncompared(number, _unreadable(seq, action, exc))
                return
            for name, value, database in zip(("title", "serial"), chain, stored, strict=True):
                if value != database:
                    lines.differs(number, name, value, database)
            return
    lines.uncompared(number, _("no document.created event of it is stored"))


def _content_differences(
    connection: Connection, office: OfficeRef, key: str, stored: tuple[Any, ...], lines: _Lines
) -> None:
    """Name the fields of one revision's row that its creating event, and the events that
    replaced its file since, contradict."""
    chain: list[Any] | None = None
    for seq, action, _actor, payload in connection.execute(
        _SUBJECT_EVENTS, {"office_id": office.id, "subject": key}
    ):
        try:
            if chain is None and action in (
                events.REVISION_CREATED.action,
                events.RECORD_FILED.action,
            ):
                chain = list(_created_values(json.loads(payload)))
            elif chain is not None and action == events.REVISION_REPLACED.action:
                replaced = json.loads(payload)
                chain[:4] = [replaced[name] for name in _REVISION_FIELDS[:4]]
        except (KeyError, TypeError, ValueError) as exc:
            lines.uncompared(key, _unreadable(seq, action, exc))
            return
    if chain is None:
        lines.uncompared(key, _("no event creating it is stored"))
        return
    for name, value, database in zip(_REVISION_FIELDS, chain, stored, strict=True):
        if value != database:
            lines.differs(key, name, value, database)


def _unreadable(seq: int, action: str, exc: Exception) -> str:
    return _("event #{seq} ({action}) lacks or garbles {exc} in its payload").format(
        seq=seq, action=action, exc=exc
    )


def _review_due(effective_at: str, period: Any, timezone: str) -> str | None:
    """As :func:`qms_engine.documents.transitions.take_transition` computes it."""
    if not period:
        return None
    try:
        today = _local_date(effective_at[:16], timezone)
        return (today + timedelta(days=int(period))).isoformat()
    except (TypeError, ValueError, OverflowError):
        return None


def _key_owner(row: Any) -> str:
    if row.user_id is not None:
        return (
            f"user {row.username}"
            if row.username is not None
            else _("user id {user_id}").format(user_id=row.user_id)
        )
    if row.office_id is not None:
        return (
            f"office {row.code}"
            if row.code is not None
            else _("office id {office_id}").format(office_id=row.office_id)
        )
    return "nobody"


def _is_transition(action: Any, payload: Any) -> bool:
    return (
        isinstance(action, str)
        and action.startswith(events.TRANSITION_PREFIX)
        and action not in events.FIXED_KINDS
        and isinstance(payload, str)
        and '"transition":' in payload
    )


def _action_differences(connection: Connection, office: OfficeRef, key: str, lines: _Lines) -> None:
    """One revision's ``revision_action`` rows against its transition events, event by event."""
    number, _sep, revno = key.rpartition("#")
    chain: dict[int, tuple[Any, Any]] = {}
    for seq, action, actor, payload in connection.execute(
        _SUBJECT_EVENTS, {"office_id": office.id, "subject": key}
    ):
        if _is_transition(action, payload):
            try:
                chain[seq] = (json.loads(payload).get("transition"), actor)
            except (ValueError, AttributeError):
                chain[seq] = (None, actor)
    seen: set[int] = set()
    rows = connection.execute(_ACTION_ROWS, {"number": number, "revno": int(revno)})
    for seq, transition, actor in rows:
        name = _("{key} at event #{seq}").format(key=key, seq=seq)
        expected = chain.get(seq)
        if seq in seen:
            lines.inserted(name, _("another row already records that event (inserted)"))
        elif expected is None:
            exists = connection.execute(_EVENT_EXISTS, {"office_id": office.id, "seq": seq})
            lines.inserted(
                name,
                _("event #{seq} is no transition of {key} (inserted)").format(seq=seq, key=key)
                if exists.first() is not None
                else _("the chain has no event #{seq} (inserted, or the chain was cut)").format(
                    seq=seq
                ),
            )
        else:
            if expected[0] != transition:
                lines.differs(name, "transition", expected[0], transition)
            if expected[1] != actor:
                lines.differs(name, "actor", expected[1], actor)
        seen.add(seq)
    for seq in chain:
        if seq not in seen:
            lines.deleted(_("{key} at event #{seq}").format(key=key, seq=seq))


def _orphans(connection: Connection) -> list[str]:
    """Rows whose parent row is gone (the database's own constraints would keep them, but an
    insider can switch SQLite's off)."""
    found = []
    for row in connection.execute(_ORPHAN_REVISIONS):
        found.append(
            _(
                "table revision, id {id} (revision {revno} of document id "
                "{document_id}): its document is gone (deleted)"
            ).format(id=row.id, revno=row.revno, document_id=row.document_id)
        )
    for table, rows in (
        ("revision_state", connection.execute(_ORPHAN_STATES)),
        ("revision_action", connection.execute(_ORPHAN_ACTIONS)),
    ):
        for row in rows:
            found.append(
                _(
                    "table {table}, row of revision id {revision_id}: its revision is gone "
                    "(deleted)"
                ).format(table=table, revision_id=row.revision_id)
            )
    return found


# ---------------------------------------------------------------------- statements

_BATCH = 1000  # rows fetched at a time from the large tables: fast, and memory stays bounded

_OWNER = OFFICE_TABLE.alias("owner_office")
_NAMES = select(USER_TABLE.c.username).union_all(select(OFFICE_TABLE.c.code))
_OTHER_FACTS = (
    select(
        EVENT_TABLE.c.action,
        EVENT_TABLE.c.subject,
        EVENT_TABLE.c.payload,
        EVENT_TABLE.c.recorded_at,
        _OWNER.c.code,
    )
    .join(_OWNER, _OWNER.c.id == EVENT_TABLE.c.office_id)
    .where(
        EVENT_TABLE.c.office_id != bindparam("office_id"),
        EVENT_TABLE.c.subject.in_(_NAMES.scalar_subquery()),
        EVENT_TABLE.c.action.in_(_FACT_ACTIONS),
    )
    .order_by(EVENT_TABLE.c.office_id, EVENT_TABLE.c.seq)
)
_OFFICES = select(
    OFFICE_TABLE.c.code,
    OFFICE_TABLE.c.name,
    OFFICE_TABLE.c.office_type,
    OFFICE_TABLE.c.timezone,
    _text(OFFICE_TABLE.c.created_at).label("at"),
)
_TYPES = select(
    TYPE_TABLE.c.code,
    TYPE_TABLE.c.title,
    TYPE_TABLE.c.kind,
    TYPE_TABLE.c.workflow,
    TYPE_TABLE.c.review_period_days,
).where(TYPE_TABLE.c.office_id == bindparam("office_id"))
_WORKFLOWS = select(
    WORKFLOW_TABLE.c.name, WORKFLOW_TABLE.c.sha256, WORKFLOW_TABLE.c.event_seq
).where(WORKFLOW_TABLE.c.office_id == bindparam("office_id"))
_USERS = select(
    USER_TABLE.c.username,
    USER_TABLE.c.full_name,
    USER_TABLE.c.kind,
    USER_TABLE.c.active,
    _text(USER_TABLE.c.created_at).label("at"),
)
_ROLES = (
    select(ROLE_TABLE.c.user_id, ROLE_TABLE.c.role, USER_TABLE.c.username)
    .outerjoin(USER_TABLE, USER_TABLE.c.id == ROLE_TABLE.c.user_id)
    .where(ROLE_TABLE.c.office_id == bindparam("office_id"))
)
_KEYS = (
    select(
        KEY_TABLE.c.fingerprint,
        KEY_TABLE.c.public_key,
        KEY_TABLE.c.user_id,
        KEY_TABLE.c.office_id,
        USER_TABLE.c.username,
        OFFICE_TABLE.c.code,
        _text(KEY_TABLE.c.valid_from).label("valid_from"),
        _text(KEY_TABLE.c.valid_until).label("valid_until"),
        KEY_TABLE.c.revoked_reason,
    )
    .outerjoin(USER_TABLE, USER_TABLE.c.id == KEY_TABLE.c.user_id)
    .outerjoin(OFFICE_TABLE, OFFICE_TABLE.c.id == KEY_TABLE.c.office_id)
)
_KEY_REGISTRATIONS = select(
    KEY_REGISTRATION_TABLE.c.fingerprint,
    KEY_REGISTRATION_TABLE.c.own,
    KEY_REGISTRATION_TABLE.c.event_seq,
).where(KEY_REGISTRATION_TABLE.c.office_id == bindparam("office_id"))
_DOCUMENTS = (
    select(
        DOCUMENT_TABLE.c.number,
        DOCUMENT_TABLE.c.document_type_id,
        TYPE_TABLE.c.code.label("type_code"),
        TYPE_TABLE.c.office_id.label("type_office"),
        DOCUMENT_TABLE.c.serial_year,
        DOCUMENT_TABLE.c.serial,
        DOCUMENT_TABLE.c.title,
        _text(DOCUMENT_TABLE.c.created_at).label("at"),
    )
    .outerjoin(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
    .where(DOCUMENT_TABLE.c.office_id == bindparam("office_id"))
    .execution_options(yield_per=_BATCH)
)
_REVISIONS = (
    select(
        DOCUMENT_TABLE.c.number,
        REVISION_TABLE.c.revno,
        REVISION_TABLE.c.sha256,
        REVISION_TABLE.c.size,
        REVISION_TABLE.c.media_type,
        REVISION_TABLE.c.original_filename,
        REVISION_TABLE.c.title,
        REVISION_TABLE.c.change_reason,
        REVISION_TABLE.c.fields,
        USER_TABLE.c.username.label("author"),
        _text(REVISION_TABLE.c.created_at).label("at"),
        STATE_TABLE.c.revision_id.label("state_of"),
        STATE_TABLE.c.workflow,
        STATE_TABLE.c.state,
        _text(STATE_TABLE.c.entered_at).label("entered_at"),
        _text(STATE_TABLE.c.effective_at).label("effective_at"),
        _text(STATE_TABLE.c.review_due).label("review_due"),
    )
    .select_from(REVISION_TABLE)
    .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
    .outerjoin(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
    .outerjoin(USER_TABLE, USER_TABLE.c.id == REVISION_TABLE.c.author_id)
    .where(DOCUMENT_TABLE.c.office_id == bindparam("office_id"))
    .execution_options(yield_per=_BATCH)
)
_EVENT = EVENT_TABLE.alias("named_event")
_BEFORE = EVENT_TABLE.alias("event_before")
_ACTIONS = (
    select(
        DOCUMENT_TABLE.c.number,
        REVISION_TABLE.c.revno,
        ACTION_TABLE.c.event_seq,
        ACTION_TABLE.c.transition,
        USER_TABLE.c.username.label("actor"),
        _text(ACTION_TABLE.c.at).label("at"),
        _EVENT.c.recorded_at.label("event_time"),
        _BEFORE.c.recorded_at.label("before_time"),
    )
    .select_from(ACTION_TABLE)
    .join(REVISION_TABLE, REVISION_TABLE.c.id == ACTION_TABLE.c.revision_id)
    .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
    .outerjoin(USER_TABLE, USER_TABLE.c.id == ACTION_TABLE.c.actor_id)
    .outerjoin(
        _EVENT,
        and_(
            _EVENT.c.office_id == DOCUMENT_TABLE.c.office_id,
            _EVENT.c.seq == ACTION_TABLE.c.event_seq,
        ),
    )
    .outerjoin(
        _BEFORE,
        and_(
            _BEFORE.c.office_id == DOCUMENT_TABLE.c.office_id,
            _BEFORE.c.seq == ACTION_TABLE.c.event_seq - 1,
        ),
    )
    .where(DOCUMENT_TABLE.c.office_id == bindparam("office_id"))
    .order_by(ACTION_TABLE.c.event_seq)
    .execution_options(yield_per=_BATCH)
)
_SUBJECT_EVENTS = (
    select(EVENT_TABLE.c.seq, EVENT_TABLE.c.action, EVENT_TABLE.c.actor, EVENT_TABLE.c.payload)
    .where(
        EVENT_TABLE.c.office_id == bindparam("office_id"),
        EVENT_TABLE.c.subject == bindparam("subject"),
    )
    .order_by(EVENT_TABLE.c.seq)
)
_ACTION_ROWS = (
    select(ACTION_TABLE.c.event_seq, ACTION_TABLE.c.transition, USER_TABLE.c.username)
    .join(REVISION_TABLE, REVISION_TABLE.c.id == ACTION_TABLE.c.revision_id)
    .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
    .outerjoin(USER_TABLE, USER_TABLE.c.id == ACTION_TABLE.c.actor_id)
    .where(
        DOCUMENT_TABLE.c.number == bindparam("number"),
        REVISION_TABLE.c.revno == bindparam("revno"),
    )
    .order_by(ACTION_TABLE.c.event_seq)
)
_EVENT_EXISTS = select(EVENT_TABLE.c.seq).where(
    EVENT_TABLE.c.office_id == bindparam("office_id"), EVENT_TABLE.c.seq == bindparam("seq")
)
_RECEIPTS = (
    select(
        RECEIPT_TABLE.c.claim_id,
        RECEIPT_TABLE.c.folder,
        RECEIPT_TABLE.c.original_name,
        RECEIPT_TABLE.c.sha256,
        RECEIPT_TABLE.c.size,
        RECEIPT_TABLE.c.outcome,
        RECEIPT_TABLE.c.number,
        RECEIPT_TABLE.c.event_seq,
        _text(RECEIPT_TABLE.c.created_at).label("at"),
    )
    .where(RECEIPT_TABLE.c.office_id == bindparam("office_id"))
    .execution_options(yield_per=_BATCH)
)
_CHECKPOINTS = select(
    CHECKPOINT_TABLE.c.seq, CHECKPOINT_TABLE.c.head_hash, CHECKPOINT_TABLE.c.signature
).where(CHECKPOINT_TABLE.c.office_id == bindparam("office_id"))
_ORPHAN_REVISIONS = (
    select(REVISION_TABLE.c.id, REVISION_TABLE.c.revno, REVISION_TABLE.c.document_id)
    .outerjoin(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
    .where(DOCUMENT_TABLE.c.id.is_(None))
    .order_by(REVISION_TABLE.c.id)
)
_ORPHAN_STATES = (
    select(STATE_TABLE.c.revision_id)
    .outerjoin(REVISION_TABLE, REVISION_TABLE.c.id == STATE_TABLE.c.revision_id)
    .where(REVISION_TABLE.c.id.is_(None))
    .order_by(STATE_TABLE.c.revision_id)
)
_ORPHAN_ACTIONS = (
    select(ACTION_TABLE.c.revision_id)
    .outerjoin(REVISION_TABLE, REVISION_TABLE.c.id == ACTION_TABLE.c.revision_id)
    .where(REVISION_TABLE.c.id.is_(None))
    .distinct()
    .order_by(ACTION_TABLE.c.revision_id)
)
