"""How an event is encoded: the body that is hashed and signed, and its hash.

An event's hash is SHA-256 over the RFC 8785 canonical JSON of its *body*::

    {"action": …, "actor": …, "meaning": …, "office": …, "payload": {…}, "prev": <hex>,
     "seq": n, "signer": {"key": <fingerprint>, "name": …, "role": …}, "subject": …,
     "time": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "v": 1}

``prev`` of the first event is 64 zeros.  The actor's Ed25519 signature covers the same bytes,
so it binds who, what, when, with what meaning, and the event's place in the chain.
``docs/audit-bundle.md`` states the encoding fully.  The writer, the readers and the verifier
all build bodies here, so they cannot disagree on the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qms_engine.chain.canonical import JsonValue

GENESIS_HASH = "0" * 64
ENCODING_VERSION = 1


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
    :class:`~qms_engine.storage.models.Event` or an ``event`` table row."""
    return make_body(
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


def make_body(
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


@dataclass(frozen=True)
class ChainEvent:
    """One event as a verifier reads it: its canonical body, and the hash and signature stored
    beside it (from the database or from a bundle)."""

    body: Mapping[str, Any]
    hash: str
    signature: str
