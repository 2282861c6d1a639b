"""The CAPA and feedback tables as a projection of the chain (see :mod:`.projection`).

The rows of ``nonconformity``, ``nc_step``, ``nc_action``, ``internal_audit``,
``internal_audit_item`` and ``feedback_response`` are written only in the transaction that
appends their event, so the chain alone says what they hold.  :class:`CapaProjection` takes in
an office's ``nc.*``, ``internal_audit.*`` and ``feedback.*`` events as they stream by and
reports every row the chain did not create, every row it created that is gone, and every
field that differs: an NC's state or links, a step's actor, an action's owner (the latest
``nc.action.reassigned`` names it), due date or
``done_at`` / ``done_by``, an audit item's auditor or finding, a response's ratings or the NC it
is linked to.  The chain holds a response's comment only as its salted SHA-256
(:mod:`qms_engine.chain.comments`): a kept comment must hash with its salt to it, and one the
chain erased (``feedback.comments.erased``) must be blank, without a salt, ``erased_at``
stamped with its event.  A document action's completion is not stored (it is read from the
revisions), so its ``done_*`` columns stay empty.

Memory stays small: long texts (titles, descriptions, comments, notes, ratings) are kept as
keyed digests; when a row's digest differs, the event that wrote it is read back by its
sequence number to name the field.  A row's time must lie between the events around its own
(the write path stamps it in the same transaction, just before or after appending).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, Connection, Select, Table, bindparam, select

from qms_engine.audit.rows import UNKNOWN, Lines, Window, as_text, keyed_digest
from qms_engine.chain import events
from qms_engine.chain.canonical import canonical_text
from qms_engine.chain.comments import comment_sha256
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.i18n import _
from qms_engine.storage.models import (
    AUDIT_ITEM_TABLE,
    AUDIT_TABLE,
    EVENT_TABLE,
    FEEDBACK_TABLE,
    NC_ACTION_TABLE,
    NC_STEP_TABLE,
    NC_TABLE,
    USER_TABLE,
)

_Body = Mapping[str, Any]
Slot = list[Window]
"""A row's time window, closed (its upper bound set) when the next event comes."""


@dataclass(frozen=True)
class _Texts:
    """Fields kept as one keyed digest: the row's columns, and how its event states them."""

    columns: tuple[str, ...]
    read: Callable[[_Body], tuple[Any, ...]]


def _members(*names: str) -> Callable[[_Body], tuple[Any, ...]]:
    return lambda payload: tuple(payload[name] for name in names)


_NC_TEXTS = _Texts(
    ("title", "description", "source", "severity", "clause"),
    _members("title", "description", "source", "severity", "clause"),
)
_STEP_TEXTS = _Texts(("comment",), _members("comment"))
_ACTION_TEXTS = _Texts(("type", "description"), _members("type", "description"))
_DONE_TEXTS = _Texts(("done_comment",), _members("comment"))
_AUDIT_TEXTS = _Texts(("title", "scope"), _members("title", "scope"))
_FINDING_TEXTS = _Texts(("note",), _members("note"))


SALTED_COMMENT = "sha256(comment_salt ‖ comment)"
"""How a kept comment is compared with the chain's ``comment_sha256``."""


def _response_texts(response_id: str) -> _Texts:
    """A response's time and ratings (canonical JSON), in its ``feedback.received``."""
    return _Texts(
        ("responded_at", "ratings"),
        lambda payload: _received(payload, response_id, "time", "ratings"),
    )


def _response_comment(response_id: str) -> _Texts:
    """A response's ``comment_sha256``, in its ``feedback.received``."""
    return _Texts(
        (SALTED_COMMENT,), lambda payload: _received(payload, response_id, "comment_sha256")
    )


def _received(payload: _Body, response_id: str, *names: str) -> tuple[Any, ...]:
    for response in payload["responses"]:
        if response["id"] == response_id:
            return tuple(
                _chain_text(response[name]) if name == "ratings" else response[name]
                for name in names
            )
    raise KeyError(response_id)


def _salted(salt: Any, comment: Any) -> str | None:
    """What a row's comment and salt hash to (None: no salt, or not one)."""
    try:
        return comment_sha256(salt, comment) if isinstance(salt, str) else None
    except (TypeError, ValueError, AttributeError):
        return None


@dataclass(slots=True)
class _Response:
    texts: int
    """Digest of the time and ratings."""
    comment: int
    """Digest of the comment's SHA-256."""
    seq: int
    nc: str | None = None
    erased: Slot | None = None
    """The window of the ``feedback.comments.erased`` that erased its comment."""


@dataclass(slots=True)
class _Nc:
    texts: int
    links: dict[str, Any]
    workflow: str
    state: str
    raised_by: str
    seq: int
    raised: Slot
    entered: Slot
    closed: Any = None  # None, the Slot of the step into a terminal state, or UNKNOWN
    steps: dict[int, tuple[str, str, int, Slot]] = field(default_factory=dict)
    """Event seq → transition, actor, digest of the comment, time window."""


@dataclass(slots=True)
class _Action:
    texts: int
    owner: str
    due: str
    document: str | None
    after_revno: int
    added_by: str
    seq: int
    added: Slot
    done: tuple[str, int, str, int, Slot] | None = None
    """Who marked it done, digest of the comment, evidence (canonical JSON), seq, window."""


@dataclass(slots=True)
class _Item:
    ref: str
    auditor: str
    area_owner: str | None
    finding: tuple[str, int, str | None, int, Slot] | None = None
    """Result, digest of the note, NC number, seq, window."""


@dataclass(slots=True)
class _Audit:
    texts: int
    date: str
    auditors: list[str]
    planned_by: str
    seq: int
    planned: Slot
    items: list[_Item]


class CapaProjection:
    """The CAPA and feedback rows an office's chain says the tables hold.

    ``salt`` keys the digests; ``window()`` opens the time window of a row written with the
    current event (from the previous event's time to the next one's).
    """

    def __init__(self, office: OfficeRef, salt: int, window: Callable[[], Slot]) -> None:
        self.office = office
        self._salt = salt
        self._window = window
        self.terminal: dict[str, frozenset[str]] = {}
        """Workflow → its terminal states, as the chain registered it last."""
        self.ncs: dict[str, _Nc] = {}
        self.actions: dict[str, _Action] = {}
        self.audits: dict[str, _Audit] = {}
        self.responses: dict[str, _Response] = {}

    def handlers(self) -> dict[str, Callable[[_Body, str], None]]:
        """The events this projection takes in, by action (transitions: :meth:`transition`)."""
        return {
            events.NC_RAISED.action: self._raised,
            events.NC_ACTION_ADDED.action: self._action_added,
            events.NC_ACTION_DONE.action: self._action_done,
            events.NC_ACTION_REASSIGNED.action: self._action_reassigned,
            events.NC_FEEDBACK_LINKED.action: self._linked,
            events.AUDIT_PLANNED.action: self._planned,
            events.FINDING_RECORDED.action: self._finding,
            events.FEEDBACK_RECEIVED.action: self._received,
            events.FEEDBACK_ERASED.action: self._erased,
        }

    def workflow_registered(self, name: str, states: Mapping[str, Any]) -> None:
        self.terminal[name] = frozenset(
            state for state, flags in states.items() if flags.get("terminal") is True
        )

    def _digest(self, texts: _Texts, payload: _Body) -> int:
        return keyed_digest(self._salt, texts.read(payload))

    # ------------------------------------------------------------------ reading the chain

    def _raised(self, body: _Body, time: str) -> None:
        number, payload = str(body["subject"]), body["payload"]
        if number in self.ncs:
            return
        slot = self._window()
        self.ncs[number] = _Nc(
            self._digest(_NC_TEXTS, payload),
            {name: payload[name] for name in ("documents", "records", "evidence", "finding")}
            | {"responses": list(payload["responses"])},
            payload["workflow"],
            payload["state"],
            body["actor"],
            body["seq"],
            slot,
            slot,
        )
        self._link(number, payload["responses"])

    def _linked(self, body: _Body, time: str) -> None:
        nc = self.ncs.get(str(body["subject"]))
        if nc is not None:
            wanted = body["payload"]["responses"]
            nc.links["responses"] = list(dict.fromkeys([*nc.links["responses"], *wanted]))
            self._link(str(body["subject"]), wanted)

    def _link(self, number: str, responses: list[Any]) -> None:
        for response in responses:
            known = self.responses.get(response)
            if known is not None:
                known.nc = number

    def transition(self, body: _Body, time: str) -> None:
        """An ``nc.<meaning>`` event: the NC's new state, and its ``nc_step`` row."""
        payload = body["payload"]
        nc = self.ncs.get(str(body["subject"]))
        if nc is None or "transition" not in payload:
            return
        slot = self._window()
        nc.state, nc.entered = payload["to"], slot
        terminal = self.terminal.get(nc.workflow)
        nc.closed = UNKNOWN if terminal is None else slot if nc.state in terminal else None
        nc.steps[body["seq"]] = (
            payload["transition"],
            body["actor"],
            self._digest(_STEP_TEXTS, payload),
            slot,
        )

    def _action_added(self, body: _Body, time: str) -> None:
        key, payload = str(body["subject"]), body["payload"]
        if key in self.actions:
            return
        self.actions[key] = _Action(
            self._digest(_ACTION_TEXTS, payload),
            payload["owner"],
            payload["due"],
            payload["document"] or None,
            payload["after_revno"],
            body["actor"],
            body["seq"],
            self._window(),
        )

    def _action_done(self, body: _Body, time: str) -> None:
        action = self.actions.get(str(body["subject"]))
        if action is None or action.done is not None or action.document is not None:
            return  # a document action's completion is read from its revisions, not stored
        payload = body["payload"]
        action.done = (
            body["actor"],
            self._digest(_DONE_TEXTS, payload),
            _chain_text(payload["evidence"]),
            body["seq"],
            self._window(),
        )

    def _action_reassigned(self, body: _Body, time: str) -> None:
        """The action's owner is the one its latest ``nc.action.reassigned`` names."""
        action = self.actions.get(str(body["subject"]))
        if action is not None:
            action.owner = body["payload"]["owner"]

    def _planned(self, body: _Body, time: str) -> None:
        number, payload = str(body["subject"]), body["payload"]
        if number in self.audits:
            return
        self.audits[number] = _Audit(
            self._digest(_AUDIT_TEXTS, payload),
            payload["date"],
            list(payload["auditors"]),
            body["actor"],
            body["seq"],
            self._window(),
            [
                _Item(item["ref"], item["auditor"], item["area_owner"] or None)
                for item in payload["items"]
            ],
        )

    def _finding(self, body: _Body, time: str) -> None:
        number, _sep, n = str(body["subject"]).rpartition("#")
        audit = self.audits.get(number)
        if audit is None or not (n.isascii() and n.isdigit()) or not 0 < int(n) <= len(audit.items):
            return
        item, payload = audit.items[int(n) - 1], body["payload"]
        if item.finding is None:
            item.finding = (
                payload["result"],
                self._digest(_FINDING_TEXTS, payload),
                payload["nc"] or None,
                body["seq"],
                self._window(),
            )

    def _received(self, body: _Body, time: str) -> None:
        for response in body["payload"]["responses"]:
            texts = (response["time"], _chain_text(response["ratings"]))
            self.responses.setdefault(
                response["id"],
                _Response(
                    keyed_digest(self._salt, texts),
                    keyed_digest(self._salt, (response["comment_sha256"],)),
                    body["seq"],
                ),
            )

    def _erased(self, body: _Body, time: str) -> None:
        slot = self._window()
        for response_id in body["payload"]["responses"]:
            response = self.responses.get(response_id)
            if response is not None and response.erased is None:
                response.erased = slot

    # ------------------------------------------------------------------ comparing

    def problems(self, connection: Connection) -> list[str]:
        """Every difference between the six tables and the chain fed, table by table."""
        return [
            *self._nonconformities(connection),
            *self._steps(connection),
            *self._actions(connection),
            *self._audits(connection),
            *self._items(connection),
            *self._responses(connection),
            *_orphans(connection),
        ]

    def _texts_differ(
        self,
        connection: Connection,
        texts: _Texts,
        expected: int,
        seq: int,
        row: str,
        stored: tuple[Any, ...],
        lines: Lines,
    ) -> None:
        """When the row's digest is not the chain's, name the fields its event ``seq`` states
        otherwise."""
        if keyed_digest(self._salt, stored) == expected:
            return
        payload = connection.execute(_EVENT_AT, {"office_id": self.office.id, "seq": seq}).scalar()
        try:
            chain = texts.read(json.loads(str(payload)))
        except (KeyError, TypeError, ValueError) as exc:
            lines.uncompared(
                row,
                _("event #{seq} does not state {join} ({exc})").format(
                    seq=seq, join=", ".join(texts.columns), exc=exc
                ),
            )
            return
        for name, value, database in zip(texts.columns, chain, stored, strict=True):
            if value != database:
                lines.differs(row, name, value, database)

    def _nonconformities(self, connection: Connection) -> list[str]:
        lines = Lines("nonconformity")
        expected = dict(self.ncs)
        for row in connection.execute(_NCS, {"office_id": self.office.id}):
            nc = expected.pop(row.number, None)
            if nc is None:
                lines.inserted(row.number)
                continue
            stored = (row.title, row.description, row.source, row.severity, row.clause)
            self._texts_differ(connection, _NC_TEXTS, nc.texts, nc.seq, row.number, stored, lines)
            for name, chain, database in (
                ("links", _chain_text(nc.links), _normalised(row.links)),
                ("workflow", nc.workflow, row.workflow),
                ("state", nc.state, row.state),
                ("raised_by", nc.raised_by, row.raised_by),
                ("event_seq", nc.seq, row.event_seq),
            ):
                if chain != database:
                    lines.differs(row.number, name, chain, database)
            lines.time(row.number, "raised_at", nc.raised[0], row.raised_at)
            lines.time(row.number, "state_entered_at", nc.entered[0], row.state_entered_at)
            if nc.closed is None and row.closed_at is not None:
                lines.differs(row.number, "closed_at", None, row.closed_at)
            elif nc.closed is not None and nc.closed is not UNKNOWN:
                lines.time(row.number, "closed_at", nc.closed[0], row.closed_at)
        for number in expected:
            lines.deleted(number)
        return lines.taken()

    def _steps(self, connection: Connection) -> list[str]:
        lines = Lines("nc_step")
        expected = {
            (number, seq): step for number, nc in self.ncs.items() for seq, step in nc.steps.items()
        }
        for row in connection.execute(_STEPS, {"office_id": self.office.id}):
            name = _("{number} at event #{event_seq}").format(
                number=row.number, event_seq=row.event_seq
            )
            step = expected.pop((row.number, row.event_seq), None)
            if step is None:
                lines.inserted(name)
                continue
            transition, actor, comment, slot = step
            if transition != row.transition:
                lines.differs(name, "transition", transition, row.transition)
            if actor != row.actor:
                lines.differs(name, "actor", actor, row.actor)
            self._texts_differ(
                connection, _STEP_TEXTS, comment, row.event_seq, name, (row.comment,), lines
            )
            lines.time(name, "at", slot[0], row.at)
        for number, seq in expected:
            lines.deleted(_("{number} at event #{seq}").format(number=number, seq=seq))
        return lines.taken()

    def _actions(self, connection: Connection) -> list[str]:
        lines = Lines("nc_action")
        expected = dict(self.actions)
        for row in connection.execute(_ACTIONS, {"office_id": self.office.id}):
            key = f"{row.number}#A{row.n}"
            action = expected.pop(key, None)
            if action is None:
                lines.inserted(key)
                continue
            stored = (row.type, row.description)
            self._texts_differ(
                connection, _ACTION_TEXTS, action.texts, action.seq, key, stored, lines
            )
            for name, chain, database in (
                ("owner", action.owner, row.owner),
                ("due", action.due, row.due),
                ("document", action.document, row.document),
                ("after_revno", action.after_revno, row.after_revno),
                ("added_by", action.added_by, row.added_by),
                ("added_seq", action.seq, row.added_seq),
            ):
                if chain != database:
                    lines.differs(key, name, chain, database)
            lines.time(key, "added_at", action.added[0], row.added_at)
            self._done(connection, key, action, row, lines)
        for key in expected:
            lines.deleted(key)
        return lines.taken()

    def _done(
        self, connection: Connection, key: str, action: _Action, row: Any, lines: Lines
    ) -> None:
        """An action's ``done_*`` columns: as its ``nc.action.done`` event says, or empty."""
        if action.done is None:
            for name in ("done_at", "done_by", "done_comment", "done_seq"):
                if getattr(row, name) is not None:
                    lines.differs(key, name, None, getattr(row, name))
            if _normalised(row.evidence) != "[]":
                lines.differs(key, "evidence", "[]", row.evidence)
            return
        by, comment, evidence, seq, slot = action.done
        for name, chain, database in (
            ("done_by", by, row.done_by),
            ("done_seq", seq, row.done_seq),
            ("evidence", evidence, _normalised(row.evidence)),
        ):
            if chain != database:
                lines.differs(key, name, chain, database)
        self._texts_differ(connection, _DONE_TEXTS, comment, seq, key, (row.done_comment,), lines)
        lines.time(key, "done_at", slot[0], row.done_at)

    def _audits(self, connection: Connection) -> list[str]:
        lines = Lines("internal_audit")
        expected = dict(self.audits)
        for row in connection.execute(_AUDITS, {"office_id": self.office.id}):
            audit = expected.pop(row.number, None)
            if audit is None:
                lines.inserted(row.number)
                continue
            stored = (row.title, row.scope)
            self._texts_differ(
                connection, _AUDIT_TEXTS, audit.texts, audit.seq, row.number, stored, lines
            )
            for name, chain, database in (
                ("audit_date", audit.date, row.audit_date),
                ("auditors", _chain_text(audit.auditors), _normalised(row.auditors)),
                ("planned_by", audit.planned_by, row.planned_by),
                ("event_seq", audit.seq, row.event_seq),
            ):
                if chain != database:
                    lines.differs(row.number, name, chain, database)
            lines.time(row.number, "planned_at", audit.planned[0], row.planned_at)
        for number in expected:
            lines.deleted(number)
        return lines.taken()

    def _items(self, connection: Connection) -> list[str]:
        lines = Lines("internal_audit_item")
        expected = {
            f"{number}#{n}": item
            for number, audit in self.audits.items()
            for n, item in enumerate(audit.items, 1)
        }
        for row in connection.execute(_ITEMS, {"office_id": self.office.id}):
            key = f"{row.number}#{row.n}"
            item = expected.pop(key, None)
            if item is None:
                lines.inserted(key)
                continue
            owner = row.area_owner
            if owner is None and row.area_owner_id is not None:
                owner = _("user id {area_owner_id}").format(
                    area_owner_id=row.area_owner_id
                )  # a user who does not exist
            for name, chain, database in (
                ("ref", item.ref, row.ref),
                ("auditor", item.auditor, row.auditor),
                ("area_owner", item.area_owner, owner),
            ):
                if chain != database:
                    lines.differs(key, name, chain, database)
            self._finding_differs(connection, key, item, row, lines)
        for key in expected:
            lines.deleted(key)
        return lines.taken()

    def _finding_differs(
        self, connection: Connection, key: str, item: _Item, row: Any, lines: Lines
    ) -> None:
        if item.finding is None:
            for name in ("result", "note", "nc_number", "recorded_at", "recorded_seq"):
                if getattr(row, name) is not None:
                    lines.differs(key, name, None, getattr(row, name))
            return
        result, note, nc, seq, slot = item.finding
        for name, chain, database in (
            ("result", result, row.result),
            ("nc_number", nc, row.nc_number),
            ("recorded_seq", seq, row.recorded_seq),
        ):
            if chain != database:
                lines.differs(key, name, chain, database)
        self._texts_differ(connection, _FINDING_TEXTS, note, seq, key, (row.note,), lines)
        lines.time(key, "recorded_at", slot[0], row.recorded_at)

    def _responses(self, connection: Connection) -> list[str]:
        lines = Lines("feedback_response")
        expected = dict(self.responses)
        for row in connection.execute(_RESPONSES, {"office_id": self.office.id}):
            key = row.response_id
            response = expected.pop(key, None)
            if response is None:
                lines.inserted(key)
                continue
            stored = (row.responded_at, _normalised(row.ratings))
            texts = _response_texts(key)
            self._texts_differ(connection, texts, response.texts, response.seq, key, stored, lines)
            if response.seq != row.event_seq:
                lines.differs(key, "event_seq", response.seq, row.event_seq)
            if response.nc != row.nc_number:
                lines.differs(key, "nc_number", response.nc, row.nc_number)
            self._comment(connection, response, row, lines)
        for response_id in expected:
            lines.deleted(response_id)
        return lines.taken()

    def _comment(self, connection: Connection, response: _Response, row: Any, lines: Lines) -> None:
        """A kept comment hashes with its salt to the chain's digest; an erased one is gone."""
        key = row.response_id
        if response.erased is None:
            salted = (_salted(row.comment_salt, row.comment),)
            comment = _response_comment(key)
            self._texts_differ(
                connection, comment, response.comment, response.seq, key, salted, lines
            )
            if row.erased_at is not None:
                lines.differs(key, "erased_at", None, row.erased_at)
            return
        if row.comment != "":
            lines.differs(
                key,
                "comment",
                "",
                _("{count} characters (not erased)").format(count=len(row.comment)),
            )
        if row.comment_salt is not None:
            lines.differs(key, "comment_salt", None, row.comment_salt)
        lines.time(key, "erased_at", response.erased[0], row.erased_at)


def _chain_text(value: Any) -> str:
    """A value the chain states, as canonical JSON to compare with a column; a value that has
    none (a float in a malformed payload, which the verifier reports) as its ``repr``."""
    try:
        return canonical_text(value)
    except (TypeError, ValueError):
        return repr(value)


def _normalised(text: Any) -> Any:
    """A JSON column's value as canonical JSON (so spacing never counts as a difference); the
    text itself when it is no JSON."""
    try:
        return canonical_text(json.loads(text))
    except (TypeError, ValueError):
        return text


def _orphans(connection: Connection) -> list[str]:
    """Rows whose parent row is gone (a step or action without its NC, an item without its
    audit)."""
    found = []
    for table, statement in (("nc_step", _ORPHAN_STEPS), ("nc_action", _ORPHAN_ACTIONS)):
        for (nc_id,) in connection.execute(statement):
            found.append(
                _(
                    "table {table}, row of nonconformity id {nc_id}: its NC is gone (deleted)"
                ).format(table=table, nc_id=nc_id)
            )
    for (audit_id,) in connection.execute(_ORPHAN_ITEMS):
        found.append(
            _(
                "table internal_audit_item, row of audit id {audit_id}: its audit is gone (deleted)"
            ).format(audit_id=audit_id)
        )
    return found


# ---------------------------------------------------------------------- statements

_OFFICE: BindParameter[int] = bindparam("office_id")
_RAISER = USER_TABLE.alias("raiser")
_ACTOR = USER_TABLE.alias("step_actor")
_OWNER = USER_TABLE.alias("action_owner")
_ADDER = USER_TABLE.alias("action_adder")
_DOER = USER_TABLE.alias("action_doer")
_PLANNER = USER_TABLE.alias("planner")
_AUDITOR = USER_TABLE.alias("item_auditor")
_AREA_OWNER = USER_TABLE.alias("area_owner")

_EVENT_AT = select(EVENT_TABLE.c.payload).where(
    EVENT_TABLE.c.office_id == _OFFICE, EVENT_TABLE.c.seq == bindparam("seq")
)
_NCS = (
    select(
        NC_TABLE.c.number,
        NC_TABLE.c.title,
        NC_TABLE.c.description,
        NC_TABLE.c.source,
        NC_TABLE.c.severity,
        NC_TABLE.c.clause,
        NC_TABLE.c.links,
        NC_TABLE.c.workflow,
        NC_TABLE.c.state,
        _RAISER.c.username.label("raised_by"),
        as_text(NC_TABLE.c.raised_at).label("raised_at"),
        as_text(NC_TABLE.c.state_entered_at).label("state_entered_at"),
        as_text(NC_TABLE.c.closed_at).label("closed_at"),
        NC_TABLE.c.event_seq,
    )
    .outerjoin(_RAISER, _RAISER.c.id == NC_TABLE.c.raised_by)
    .where(NC_TABLE.c.office_id == _OFFICE)
)
_STEPS = (
    select(
        NC_TABLE.c.number,
        NC_STEP_TABLE.c.event_seq,
        NC_STEP_TABLE.c.transition,
        _ACTOR.c.username.label("actor"),
        NC_STEP_TABLE.c.comment,
        as_text(NC_STEP_TABLE.c.at).label("at"),
    )
    .join(NC_TABLE, NC_TABLE.c.id == NC_STEP_TABLE.c.nc_id)
    .outerjoin(_ACTOR, _ACTOR.c.id == NC_STEP_TABLE.c.actor_id)
    .where(NC_TABLE.c.office_id == _OFFICE)
)
_ACTIONS = (
    select(
        NC_TABLE.c.number,
        NC_ACTION_TABLE.c.n,
        NC_ACTION_TABLE.c.type,
        NC_ACTION_TABLE.c.description,
        _OWNER.c.username.label("owner"),
        as_text(NC_ACTION_TABLE.c.due).label("due"),
        NC_ACTION_TABLE.c.document,
        NC_ACTION_TABLE.c.after_revno,
        _ADDER.c.username.label("added_by"),
        as_text(NC_ACTION_TABLE.c.added_at).label("added_at"),
        NC_ACTION_TABLE.c.added_seq,
        as_text(NC_ACTION_TABLE.c.done_at).label("done_at"),
        _DOER.c.username.label("done_by"),
        NC_ACTION_TABLE.c.done_comment,
        NC_ACTION_TABLE.c.done_seq,
        NC_ACTION_TABLE.c.evidence,
    )
    .join(NC_TABLE, NC_TABLE.c.id == NC_ACTION_TABLE.c.nc_id)
    .outerjoin(_OWNER, _OWNER.c.id == NC_ACTION_TABLE.c.owner_id)
    .outerjoin(_ADDER, _ADDER.c.id == NC_ACTION_TABLE.c.added_by)
    .outerjoin(_DOER, _DOER.c.id == NC_ACTION_TABLE.c.done_by)
    .where(NC_TABLE.c.office_id == _OFFICE)
)
_AUDITS = (
    select(
        AUDIT_TABLE.c.number,
        AUDIT_TABLE.c.title,
        AUDIT_TABLE.c.scope,
        as_text(AUDIT_TABLE.c.audit_date).label("audit_date"),
        AUDIT_TABLE.c.auditors,
        _PLANNER.c.username.label("planned_by"),
        as_text(AUDIT_TABLE.c.planned_at).label("planned_at"),
        AUDIT_TABLE.c.event_seq,
    )
    .outerjoin(_PLANNER, _PLANNER.c.id == AUDIT_TABLE.c.planned_by)
    .where(AUDIT_TABLE.c.office_id == _OFFICE)
)
_ITEMS = (
    select(
        AUDIT_TABLE.c.number,
        AUDIT_ITEM_TABLE.c.n,
        AUDIT_ITEM_TABLE.c.ref,
        _AUDITOR.c.username.label("auditor"),
        AUDIT_ITEM_TABLE.c.area_owner_id,
        _AREA_OWNER.c.username.label("area_owner"),
        AUDIT_ITEM_TABLE.c.result,
        AUDIT_ITEM_TABLE.c.note,
        AUDIT_ITEM_TABLE.c.nc_number,
        as_text(AUDIT_ITEM_TABLE.c.recorded_at).label("recorded_at"),
        AUDIT_ITEM_TABLE.c.recorded_seq,
    )
    .join(AUDIT_TABLE, AUDIT_TABLE.c.id == AUDIT_ITEM_TABLE.c.audit_id)
    .outerjoin(_AUDITOR, _AUDITOR.c.id == AUDIT_ITEM_TABLE.c.auditor_id)
    .outerjoin(_AREA_OWNER, _AREA_OWNER.c.id == AUDIT_ITEM_TABLE.c.area_owner_id)
    .where(AUDIT_TABLE.c.office_id == _OFFICE)
)
_RESPONSES = select(
    FEEDBACK_TABLE.c.response_id,
    as_text(FEEDBACK_TABLE.c.responded_at).label("responded_at"),
    FEEDBACK_TABLE.c.ratings,
    FEEDBACK_TABLE.c.comment,
    FEEDBACK_TABLE.c.comment_salt,
    as_text(FEEDBACK_TABLE.c.erased_at).label("erased_at"),
    FEEDBACK_TABLE.c.event_seq,
    FEEDBACK_TABLE.c.nc_number,
).where(FEEDBACK_TABLE.c.office_id == _OFFICE)


def _parentless(child: Table, key: str, parent: Table) -> Select[Any]:
    """The ``key`` values of ``child`` rows whose parent row is gone."""
    column = child.c[key]
    return (
        select(column)
        .outerjoin(parent, parent.c.id == column)
        .where(parent.c.id.is_(None))
        .distinct()
        .order_by(column)
    )


_ORPHAN_STEPS = _parentless(NC_STEP_TABLE, "nc_id", NC_TABLE)
_ORPHAN_ACTIONS = _parentless(NC_ACTION_TABLE, "nc_id", NC_TABLE)
_ORPHAN_ITEMS = _parentless(AUDIT_ITEM_TABLE, "audit_id", AUDIT_TABLE)
