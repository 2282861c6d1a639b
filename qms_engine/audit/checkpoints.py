"""Checkpoints: the office key's signed statement of how long the chain was and how it ended.

An office writes the short code of each checkpoint in a paper register or sends it to its SP
office.  Anyone who later removes events from the end of the chain, or rewrites it, cannot
make it match a code recorded elsewhere, nor forge the office key's signature on a new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from qms_engine.chain import events
from qms_engine.chain.authorisation import RULES
from qms_engine.chain.canonical import canonical_bytes
from qms_engine.chain.signing import Signer, open_envelope, verify_signature
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import to_utc_text, utc_now
from qms_engine.errors import InvalidInput, PermissionDenied, RuleViolation
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.runtime import Runtime
from qms_engine.storage.models import CHECKPOINT_TABLE, KEY_TABLE

_CODE = re.compile(r"^(?P<office>[A-Z0-9-]+)#(?P<seq>\d+):(?P<hash>[0-9a-f]{4}(-[0-9a-f]{4}){3})$")


@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint as stored and exported."""

    office: str
    seq: int
    head_hash: str
    recorded_at: str
    key_fingerprint: str
    signature: str

    def statement(self) -> bytes:
        """The canonical bytes the office key signs."""
        return statement_bytes(self.office, self.seq, self.head_hash, self.recorded_at)

    @property
    def code(self) -> str:
        """The short code to write down: ``PS-KOT39#40:556e-ec4d-4ac2-c3f1``."""
        return short_code(self.office, self.seq, self.head_hash)


def statement_bytes(office: str, seq: int, head_hash: str, recorded_at: str) -> bytes:
    """``{"head": …, "office": …, "seq": n, "time": …, "type": "qms-checkpoint", "v": 1}``."""
    return canonical_bytes(
        {
            "v": 1,
            "type": "qms-checkpoint",
            "office": office,
            "seq": seq,
            "head": head_hash,
            "time": recorded_at,
        }
    )


def short_code(office: str, seq: int, head_hash: str) -> str:
    """Office, sequence number and the first 64 bits of the head hash, easy to copy by hand."""
    prefix = head_hash[:16]
    return f"{office}#{seq}:" + "-".join(prefix[i : i + 4] for i in range(0, 16, 4))


def parse_code(code: str) -> tuple[str, int, str]:
    """(office, seq, hash prefix) from a short code, or a clear error."""
    match = _CODE.match(code.strip())
    if not match:
        raise InvalidInput(
            f"{code!r} is not a checkpoint code like PS-KOT39#40:556e-ec4d-4ac2-c3f1"
        )
    return match["office"], int(match["seq"]), match["hash"].replace("-", "")


def unlock_office_key(runtime: Runtime, office: OfficeRef, passphrase: str) -> Signer:
    """The office's signing key, unlocked with the office passphrase."""
    with runtime.engine.connect() as connection:
        row = connection.execute(
            select(KEY_TABLE.c.fingerprint, KEY_TABLE.c.envelope).where(
                KEY_TABLE.c.office_id == office.id, KEY_TABLE.c.valid_until.is_(None)
            )
        ).first()
    if row is None:
        raise PermissionDenied(f"office {office.code} has no valid office key")
    key = open_envelope(row.envelope, row.fingerprint, passphrase, f"office {office.code}")
    return Signer(office.code, row.fingerprint, key)


def record_checkpoint(
    runtime: Runtime, office: OfficeRef, *, actor: Signer, office_key: Signer
) -> CheckpointRecord:
    """Sign the current head with the office key, store it, and log that it was taken."""
    with runtime.unit_of_work() as work:
        work.lock(office)
        person = load_actor(work.connection, actor, office)
        role = require_role(
            person,
            RULES[events.CHECKPOINT_RECORDED.action].roles or (),
            office,
            "record checkpoints",
        )
        seq, head = work.head(office)
        if seq == 0:
            raise RuleViolation(f"office {office.code} has no events to checkpoint yet")
        now = to_utc_text(utc_now())
        signature = office_key.sign(statement_bytes(office.code, seq, head, now)).hex()
        record = CheckpointRecord(office.code, seq, head, now, office_key.fingerprint, signature)
        work.connection.execute(
            insert(CHECKPOINT_TABLE),
            {
                "office_id": office.id,
                "seq": seq,
                "head_hash": head,
                "recorded_at": now,
                "key_fingerprint": office_key.fingerprint,
                "signature": signature,
            },
        )
        work.append(
            office,
            person,
            events.CHECKPOINT_RECORDED,
            office.code,
            {"seq": seq, "head": head, "code": record.code, "signature": signature},
            role=role,
        )
    return record


def stored_checkpoints(runtime: Runtime, office: OfficeRef) -> list[CheckpointRecord]:
    """Every checkpoint of an office, oldest first."""
    with runtime.engine.connect() as connection:
        return checkpoints_of(connection, office)


def checkpoints_of(connection: Connection, office: OfficeRef) -> list[CheckpointRecord]:
    """Every checkpoint of an office, oldest first, read through ``connection`` (a snapshot)."""
    rows = connection.execute(
        select(CHECKPOINT_TABLE)
        .where(CHECKPOINT_TABLE.c.office_id == office.id)
        .order_by(CHECKPOINT_TABLE.c.seq)
    ).all()
    return [
        CheckpointRecord(
            office.code, r.seq, r.head_hash, r.recorded_at, r.key_fingerprint, r.signature
        )
        for r in rows
    ]


def checkpoint_problems(
    checkpoint: CheckpointRecord,
    office_public_keys: dict[str, str],
    chain_length: int,
    hash_at_seq: str | None,
) -> list[str]:
    """What is wrong with the chain (or the checkpoint) seen against one checkpoint."""
    where = f"checkpoint {checkpoint.code}"
    public = office_public_keys.get(checkpoint.key_fingerprint)
    problems = []
    if public is None:
        problems.append(
            f"{where}: signed by {checkpoint.key_fingerprint[:16]}…, not an office key "
            "registered in the chain"
        )
    elif not _signed_by(public, checkpoint):
        problems.append(f"{where}: the office key's signature does not verify")
    if chain_length < checkpoint.seq:
        problems.append(
            f"{where}: the chain ends at #{chain_length} but had {checkpoint.seq} "
            "events when the checkpoint was taken: its tail was removed"
        )
    elif hash_at_seq != checkpoint.head_hash:
        problems.append(
            f"{where}: event #{checkpoint.seq} now hashes to "
            f"{(hash_at_seq or '')[:16]}…, not {checkpoint.head_hash[:16]}…: the chain "
            "was rewritten"
        )
    return problems


def _signed_by(public_key: str, checkpoint: CheckpointRecord) -> bool:
    try:
        return verify_signature(
            bytes.fromhex(public_key), bytes.fromhex(checkpoint.signature), checkpoint.statement()
        )
    except (ValueError, TypeError):
        return False
