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
import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from qms_engine.chain.authorisation import Attempt, event_problems
from qms_engine.chain.canonical import canonical_bytes, canonical_text
from qms_engine.chain.encoding import GENESIS_HASH, EventRecord, make_body
from qms_engine.chain.events import FIXED_KINDS, EventKind
from qms_engine.chain.signing import Signer
from qms_engine.clock import to_utc_text, utc_now
from qms_engine.errors import PermissionDenied
from qms_engine.storage.database import Prepared, write_transaction
from qms_engine.storage.models import EVENT_TABLE, HEAD_TABLE

log = logging.getLogger("qms_engine")

_LOCK_HEAD = Prepared(
    select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash, EVENT_TABLE.c.recorded_at)
    .select_from(HEAD_TABLE)
    .outerjoin(
        EVENT_TABLE,
        (EVENT_TABLE.c.office_id == HEAD_TABLE.c.office_id)
        & (EVENT_TABLE.c.seq == HEAD_TABLE.c.seq),
    )
    .where(HEAD_TABLE.c.office_id == bindparam("office_id"))
    .with_for_update(of=HEAD_TABLE)
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
    _heads: dict[int, tuple[int, str, str]] = field(default_factory=dict)
    """Per office: the head's sequence number, hash and time (``""`` for an empty chain)."""
    _moved: set[int] = field(default_factory=set)
    _before_commit: list[tuple[Callable[[], Any], Callable[[Any], None] | None]] = field(
        default_factory=list
    )
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _times: dict[int, str] = field(default_factory=dict)
    """Per office: the time its next event is stamped with, once asked (see :meth:`time`)."""

    def lock(self, office: OfficeRef) -> None:
        """Take the office's chain-head lock; call before reading anything the change depends on."""
        if office.id not in self._heads:
            ((seq, digest, time),) = _LOCK_HEAD.rows(self.connection, office_id=office.id)
            self._heads[office.id] = (seq, digest, time or "")

    def append(
        self,
        office: OfficeRef,
        actor: Actor,
        kind: EventKind,
        subject: str,
        payload: Mapping[str, Any],
        *,
        role: str,
        allowed_roles: Collection[str] | None = None,
        founding: bool = False,
    ) -> EventRecord:
        """Append an event, signed by ``actor`` acting as ``role``, to the office's chain.

        The event must fit its rule in :mod:`qms_engine.chain.authorisation` (``allowed_roles``
        and ``founding`` as :class:`~qms_engine.chain.authorisation.Attempt` describes them);
        a transition's rule is its workflow's, checked by the caller before it appends.  The
        event's time is :meth:`time`'s.
        """
        action, meaning = kind.action, kind.meaning
        if action in FIXED_KINDS:
            attempt = Attempt(
                office.code, actor.username, role, subject, payload, founding, allowed_roles
            )
            refused = event_problems(action, attempt)
            if refused:
                raise PermissionDenied(f"{action} by {actor.username!r}: " + "; ".join(refused))
        record_time = self.time(office)
        del self._times[office.id]
        prev_seq, prev_hash, _prev_time = self._heads[office.id]
        signer = actor.signer
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
        self._heads[office.id] = (record.seq, digest, record_time)
        self._moved.add(office.id)
        self.events.append(record)
        return record

    def time(self, office: OfficeRef) -> str:
        """The UTC time (:func:`~qms_engine.clock.to_utc_text`) the next event appended to
        ``office``'s chain is stamped with: the clock's when first asked, or the previous
        event's if the clock went back, so an office's times never decrease.  Fixed when
        asked, so what a change derives from it (a register entry's day and period) is what
        its event says, even across midnight."""
        self.lock(office)
        if office.id not in self._times:
            now, prev_time = to_utc_text(utc_now()), self._heads[office.id][2]
            if now < prev_time:
                log.warning(
                    "%s: the clock reads %s, before the previous event's %s: the event keeps "
                    "the previous time (check the server's clock)",
                    office.code,
                    now,
                    prev_time,
                )
                now = prev_time
            self._times[office.id] = now
        return self._times[office.id]

    def head(self, office: OfficeRef) -> tuple[int, str]:
        """The office's chain head (sequence number, hash) as this transaction sees it."""
        self.lock(office)
        seq, digest, _time = self._heads[office.id]
        return seq, digest

    def before_commit(
        self, callback: Callable[[], Any], undo: Callable[[Any], None] | None = None
    ) -> None:
        """Run ``callback`` after every row is written, just before the commit (e.g. publish a
        blob); if the commit then fails, ``undo`` gets the callback's result."""
        self._before_commit.append((callback, undo))

    def _finish(self) -> None:
        for office_id in sorted(self._moved):
            seq, digest, _time = self._heads[office_id]
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
