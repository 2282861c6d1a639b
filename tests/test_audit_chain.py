"""The audit trail is one gapless, hash-linked, signed chain per office, and tampering shows.

The tampering tests edit the SQLite file directly, the way an insider with the workspace folder
could; ``tests/test_audit_attacks.py`` covers many more attacks through the full verifier.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from qms_engine.chain.canonical import canonical_bytes, canonical_sha256
from qms_engine.chain.encoding import GENESIS_HASH, event_body
from qms_engine.chain.reader import load_events, verify_chain
from qms_engine.chain.signing import verify_signature
from qms_engine.errors import IntegrityError
from qms_engine.storage.models import Event
from qms_engine.testing import TestOffice

if TYPE_CHECKING:
    from tests.conftest import Desk

sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)


@pytest.fixture
def history(desk: Desk) -> str:
    """A small real history: an SOP issued, revised, rejected once and re-issued."""
    number = desk.new_sop()
    desk.issue(number)
    desk.revise(number)
    desk.act(number, "submit")
    desk.act(number, "reject", comment="Add the malkhana key custody step")
    desk.issue(number)
    return number


def events_of(office: TestOffice) -> list[Event]:
    """The office's events in chain order."""
    with office.runtime.engine.connect() as connection:
        return list(load_events(connection, office.office.id))


def verify(office: TestOffice) -> int:
    """Run ``verify_chain`` on the office."""
    with office.runtime.engine.connect() as connection:
        return verify_chain(connection, office.office)


def test_chain_is_gapless_and_hash_linked(qms_office: TestOffice, history: str) -> None:
    """Sequence numbers run 1..n, each event links to the previous hash, and verification passes."""
    events = events_of(qms_office)
    assert list(range(1, len(events) + 1)) == [e.seq for e in events]
    assert [GENESIS_HASH] + [e.hash for e in events[:-1]] == [e.prev_hash for e in events]
    assert [canonical_sha256(event_body(e, "PS-TEST1")) for e in events] == [e.hash for e in events]
    assert len(events) == verify(qms_office)


def test_every_signature_verifies_with_its_registered_key(
    qms_office: TestOffice, history: str
) -> None:
    """Each event is signed by a key announced earlier (or in itself) by ``key.registered``."""
    public_keys: dict[str, bytes] = {}
    unverified = []
    for event in events_of(qms_office):
        if event.action == "key.registered":
            payload = json.loads(event.payload)
            public_keys[payload["fingerprint"]] = bytes.fromhex(payload["public_key"])
        key = public_keys.get(event.key_fingerprint)
        body = canonical_bytes(event_body(event, qms_office.office.code))
        if key is None or not verify_signature(key, bytes.fromhex(event.signature), body):
            unverified.append(event.seq)
    assert unverified == []


def middle_event(office: TestOffice, action: str) -> Event:
    """The first event with ``action`` (not the last one in the chain)."""
    events = events_of(office)
    found = next(e for e in events if e.action == action)
    assert found.seq < events[-1].seq
    return found


@sqlite_only
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("payload", '{"comment":"","from":"in_review","meaning":"approved","to":"effective"}'),
        ("actor", "meena"),
        ("recorded_at", "2026-01-01T00:00:00.000000Z"),
    ],
)
def test_changed_row_breaks_the_chain_at_that_event(
    qms_office: TestOffice,
    history: str,
    raw_sqlite: Callable[[str], None],
    column: str,
    value: str,
) -> None:
    """Rewriting an event's payload, actor or time makes verification fail naming that event."""
    target = middle_event(qms_office, "document.revision.approved")
    raw_sqlite(f"UPDATE event SET {column} = '{value}' WHERE seq = {target.seq}")
    with pytest.raises(IntegrityError, match=f"event #{target.seq}: "):
        verify(qms_office)


@sqlite_only
def test_deleted_middle_event_breaks_the_chain(
    qms_office: TestOffice, history: str, raw_sqlite: Callable[[str], None]
) -> None:
    """Removing an event from the middle is detected as the gap where it was."""
    seq = middle_event(qms_office, "document.revision.rejected").seq
    raw_sqlite(f"DELETE FROM event WHERE seq = {seq}")
    expected = f"event #{seq}: sequence number {seq + 1} where #{seq} was expected"
    with pytest.raises(IntegrityError, match=expected):
        verify(qms_office)


@sqlite_only
def test_deleted_tail_event_is_caught_by_the_chain_head(
    qms_office: TestOffice, history: str, raw_sqlite: Callable[[str], None]
) -> None:
    """Removing the newest event (here a supersession) leaves a well-linked chain, but the head
    no longer matches it, and the exclusive step it completed is left unfinished."""
    last = events_of(qms_office)[-1].seq
    raw_sqlite(f"DELETE FROM event WHERE seq = {last}")
    with pytest.raises(IntegrityError, match=f"#{last - 1}: .* still 'effective' after"):
        verify(qms_office)
    raw_sqlite(f"UPDATE chain_head SET seq = {last - 1}")  # the head moved back too: same verdict
    with pytest.raises(IntegrityError, match="still 'effective' after"):
        verify(qms_office)
