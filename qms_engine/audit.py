"""The one audited write path: every state change appends a hash-linked event in its transaction.

Each office has its own chain.  An event's hash is SHA-256 over the RFC 8785 canonical JSON of
its *body*::

    {"action": …, "actor": …, "meaning": …, "office": …, "payload": {…}, "prev": <hex>,
     "seq": n, "signer": {"key": <fingerprint>, "name": …, "role": …}, "subject": …,
     "time": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "v": 1}

``prev`` of the first event is 64 zeros.  The actor's Ed25519 signature covers the same bytes,
so it binds who, what, when, with what meaning, and the event's place in the chain.
``docs/audit-bundle.md`` states the encoding fully.

Writers lock their office's ``chain_head`` row first (``SELECT … FOR UPDATE``; on SQLite the
``BEGIN IMMEDIATE`` of :func:`qms_engine.database.write_transaction`), so the chain never forks
and sequence numbers never repeat or skip.  Statements are SQLAlchemy Core built once: this is
the hot path of every command.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from qms_engine.canonical import JsonValue, canonical_bytes, canonical_text
from qms_engine.clock import to_utc_text, utc_now
from qms_engine.database import Prepared, write_transaction
from qms_engine.errors import IntegrityError
from qms_engine.events import EventKind
from qms_engine.models import EVENT_TABLE, HEAD_TABLE, Event
from qms_engine.signing import Signer

GENESIS_HASH = "0" * 64
ENCODING_VERSION = 1


_LOCK_HEAD = Prepared(
    select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash)
    .where(HEAD_TABLE.c.office_id == bindparam("office_id"))
    .with_for_update()
)
_MOVE_HEAD = Prepared(
    update(HEAD_TABLE)
    .where(HEAD_TABLE.c.office_id == bindparam("b_office_id"))
    .values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))
)
_EVENT_COLUMNS = [column.name for column in EVENT_TABLE.columns]
_INSERT_EVENT = Prepared(
    insert(EVENT_TABLE).values({name: bindparam(name) for name in _EVENT_COLUMNS})
)


@dataclass(frozen=True)
class OfficeRef:
    """The identity of an office as the write path needs it."""

    id: int
    code: str
    name: str
    office_type: str
    timezone: str


@dataclass(frozen=True)
class Actor:
    """A person or service about to act in an office: who, their roles there, and their key."""

    id: int
    username: str
    full_name: str
    kind: str
    roles: frozenset[str]
    signer: Signer


@dataclass(frozen=True)
class EventRecord:
    """One event as written: its body fields, hash and signature."""

    office: str
    seq: int
    recorded_at: str
    actor: str
    action: str
    subject: str
    payload: Mapping[str, Any]
    meaning: str
    signer_name: str
    signer_role: str
    key_fingerprint: str
    prev_hash: str
    hash: str
    signature: str


def event_body(event: Any, office_code: str) -> dict[str, JsonValue]:
    """The JSON object whose canonical bytes are hashed and signed, rebuilt from a stored
    :class:`~qms_engine.models.Event` or an ``event`` table row."""
    return _body(
        office_code,
        event.seq,
        event.recorded_at,
        event.actor,
        event.action,
        event.subject,
        json.loads(event.payload),
        event.meaning,
        event.signer_name,
        event.signer_role,
        event.key_fingerprint,
        event.prev_hash,
    )


def _body(
    office: str,
    seq: int,
    recorded_at: str,
    actor: str,
    action: str,
    subject: str,
    payload: Mapping[str, Any],
    meaning: str,
    signer_name: str,
    signer_role: str,
    key_fingerprint: str,
    prev_hash: str,
) -> dict[str, JsonValue]:
    return {
        "v": ENCODING_VERSION,
        "office": office,
        "seq": seq,
        "time": recorded_at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "payload": dict(payload),
        "meaning": meaning,
        "signer": {"name": signer_name, "role": signer_role, "key": key_fingerprint},
        "prev": prev_hash,
    }


def hash_body(body: Mapping[str, JsonValue]) -> str:
    """SHA-256 (hex) of the canonical encoding of an event body."""
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


@dataclass
class UnitOfWork:
    """One write transaction: domain rows and their audit events commit together or not at all."""

    connection: Connection
    events: list[EventRecord] = field(default_factory=list)
    _heads: dict[int, tuple[int, str]] = field(default_factory=dict)
    _moved: set[int] = field(default_factory=set)
    _before_commit: list[tuple[Callable[[], Any], Callable[[Any], None] | None]] = field(
        default_factory=list
    )
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def lock(self, office: OfficeRef) -> None:
        """Take the office's chain-head lock; call before reading anything the change depends on."""
        if office.id not in self._heads:
            ((seq, digest),) = _LOCK_HEAD.rows(self.connection, office_id=office.id)
            self._heads[office.id] = (seq, digest)

    def append(
        self,
        office: OfficeRef,
        actor: Actor,
        kind: EventKind,
        subject: str,
        payload: Mapping[str, Any],
        *,
        role: str,
    ) -> EventRecord:
        """Append an event, signed by ``actor`` acting as ``role``, to the office's chain."""
        action, meaning = kind.action, kind.meaning
        self.lock(office)
        prev_seq, prev_hash = self._heads[office.id]
        signer = actor.signer
        record_time = to_utc_text(utc_now())
        fields = (
            office.code,
            prev_seq + 1,
            record_time,
            actor.username,
            action,
            subject,
            payload,
            meaning,
            actor.full_name,
            role,
            signer.fingerprint,
            prev_hash,
        )  # in the order of both _body and EventRecord
        encoded = canonical_bytes(_body(*fields))
        digest = hashlib.sha256(encoded).hexdigest()
        record = EventRecord(*fields, digest, signer.sign(encoded).hex())
        _INSERT_EVENT.run(
            self.connection,
            office_id=office.id,
            seq=record.seq,
            recorded_at=record_time,
            actor=actor.username,
            action=action,
            subject=subject,
            payload=canonical_text(dict(payload)),
            meaning=meaning,
            signer_name=actor.full_name,
            signer_role=role,
            key_fingerprint=signer.fingerprint,
            prev_hash=prev_hash,
            hash=digest,
            signature=record.signature,
        )
        self._heads[office.id] = (record.seq, digest)
        self._moved.add(office.id)
        self.events.append(record)
        return record

    def head(self, office: OfficeRef) -> tuple[int, str]:
        """The office's chain head (sequence number, hash) as this transaction sees it."""
        self.lock(office)
        return self._heads[office.id]

    def before_commit(
        self, callback: Callable[[], Any], undo: Callable[[Any], None] | None = None
    ) -> None:
        """Run ``callback`` after every row is written, just before the commit (e.g. publish a
        blob); if the commit then fails, ``undo`` gets the callback's result."""
        self._before_commit.append((callback, undo))

    def _finish(self) -> None:
        for office_id in sorted(self._moved):
            seq, digest = self._heads[office_id]
            _MOVE_HEAD.run(self.connection, b_office_id=office_id, b_seq=seq, b_hash=digest)
        for callback, undo in self._before_commit:
            result = callback()
            if undo is not None:
                self._undo.append(partial(undo, result))


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[UnitOfWork]:
    """A :class:`UnitOfWork` that commits when the block ends without an exception."""
    work: UnitOfWork | None = None
    try:
        with write_transaction(engine) as connection:
            work = UnitOfWork(connection)
            yield work
            work._finish()
    except BaseException:
        for undo in reversed(work._undo if work else []):
            undo()
        raise


def genesis_head(connection: Connection, office_id: int) -> None:
    """Start an office's chain (called once, when the office is created)."""
    connection.execute(insert(HEAD_TABLE), {"office_id": office_id, "seq": 0, "hash": GENESIS_HASH})


@dataclass(frozen=True)
class ChainEvent:
    """One event as a verifier reads it: its canonical body, and the hash and signature stored
    beside it (from the database or from a bundle)."""

    body: Mapping[str, Any]
    hash: str
    signature: str


def load_events(connection: Connection, office_id: int, *, after_seq: int = 0) -> Iterator[Any]:
    """An office's event rows in chain order, streamed (rows, not models: verification reads
    every event, and building a model per row would cost more than checking its signature)."""
    statement = (
        select(EVENT_TABLE)
        .where(EVENT_TABLE.c.office_id == office_id, EVENT_TABLE.c.seq > after_seq)
        .order_by(EVENT_TABLE.c.seq)
        .execution_options(yield_per=1000)
    )
    yield from connection.execute(statement)


def stored_chain(connection: Connection, office: OfficeRef) -> Iterator[ChainEvent]:
    """An office's chain from the database, as the verifier reads it."""
    for row in load_events(connection, office.id):
        yield ChainEvent(event_body(row, office.code), row.hash, row.signature)


def tail_events(connection: Connection, office_id: int, limit: int) -> list[Event]:
    """The newest ``limit`` events of an office, oldest first."""
    rows = connection.execute(
        select(EVENT_TABLE)
        .where(EVENT_TABLE.c.office_id == office_id)
        .order_by(EVENT_TABLE.c.seq.desc())
        .limit(limit)
    ).all()
    return [Event.model_validate(row._mapping) for row in reversed(rows)]


def verify_chain(connection: Connection, office: OfficeRef) -> int:
    """Check an office's chain (links, hashes, signatures, keys, roles) and its head.

    Raises :class:`IntegrityError` naming the first bad event; returns the number of events.
    """
    from qms_engine.verification import verify_chain_events  # it builds on this module

    report = verify_chain_events(office.code, stored_chain(connection, office))
    problem = report.first_problem()
    if problem is not None:
        raise IntegrityError(f"office {office.code}: {problem}")
    head = connection.execute(
        select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash).where(HEAD_TABLE.c.office_id == office.id)
    ).one()
    if (head.seq, head.hash) != (report.events, report.head_hash):
        raise IntegrityError(
            f"office {office.code}: chain head says #{head.seq} but the log ends at "
            f"#{report.events}: events were removed from the end or the head was altered"
        )
    return report.events
