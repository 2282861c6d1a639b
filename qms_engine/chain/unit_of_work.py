"""The one audited write path: every state change appends a signed, hash-linked event in its
transaction.

Each office has its own chain.  Writers lock their office's ``chain_head`` row first
(``SELECT … FOR UPDATE``; on SQLite the ``BEGIN IMMEDIATE`` of
:func:`qms_engine.storage.database.write_transaction`), so the chain never forks and sequence
numbers never repeat or skip.  Statements are SQLAlchemy Core built once: this is the hot path
of every command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from qms_engine.chain.canonical import canonical_bytes, canonical_text
from qms_engine.chain.encoding import GENESIS_HASH, EventRecord, make_body
from qms_engine.chain.events import EventKind
from qms_engine.chain.signing import Signer
from qms_engine.clock import to_utc_text, utc_now
from qms_engine.storage.database import Prepared, write_transaction
from qms_engine.storage.models import EVENT_TABLE, HEAD_TABLE

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
        )  # in the order of both make_body and EventRecord
        encoded = canonical_bytes(make_body(*fields))
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
