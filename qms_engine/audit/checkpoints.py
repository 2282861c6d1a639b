"""Checkpoints: the office key's signed statement of how long the chain was and how it ended.

An office writes the short code of each checkpoint in a paper register or sends it to its SP
office.  Anyone who later removes events from the end of the chain, or rewrites it, cannot
make it match a code recorded elsewhere, nor forge the office key's signature on a new one.

A code is copied by hand, so it is made to survive that (docs/audit-bundle.md §8): Crockford's
base-32 alphabet (no I, L, O or U to misread; ``i``/``l`` are read as 1 and ``o`` as 0), any
letter case, spaces and hyphens between groups ignored, and a last check character (Damm's
algorithm over GF(32)) that catches every single wrong character and every swap of two
neighbours in the event number and the code proper.  A mistyped code is therefore refused as
mistyped (a usage error) before the chain is looked at, and is never taken for a rewritten
chain.  Codes written before the check character existed (``OFFICE#SEQ:`` and 16 hex digits)
are still accepted, without that protection.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from qms_engine.chain import events
from qms_engine.chain.authorisation import RULES
from qms_engine.chain.canonical import canonical_bytes
from qms_engine.chain.signing import Signer, open_envelope, verify_signature
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import to_utc_text, utc_now
from qms_engine.errors import InvalidInput, RuleViolation
from qms_engine.i18n import N_, _
from qms_engine.people.keys import sealed_office_key
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.runtime import Runtime
from qms_engine.storage.models import CHECKPOINT_TABLE

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: the code's characters, in value order."""
_READ_AS = str.maketrans("OIL", "011")
HASH_CHARACTERS = 13
"""Code characters taken from the head hash: 65 bits, one more than the old 16 hex digits."""
_GROUPS = (5, 5, 4)
_OFFICE = re.compile(r"^[A-Z0-9-]+$")
_LEGACY = re.compile(r"^[0-9A-F]{16}$")
_DIGITS = re.compile(r"^[0-9]{1,18}$")  # an event number, not an arbitrary integer
EXAMPLE = "PS-KOT39#40:WZG27-P822P-P3ST"
_SHAPE = N_(
    "a checkpoint code looks like {example}: the office, '#', the event "
    "number, ':', then {characters} letters and digits (letter case, "
    "spaces and the hyphens between groups do not matter)"
)


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
        """The short code to write down: ``PS-KOT39#40:WZG27-P822P-P3ST``."""
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
    """Office, sequence number, the first 65 bits of the head hash and a check character."""
    body = _hash_part(head_hash)
    body += ALPHABET[_times_x(_interim(_checked(str(seq), body)))]
    groups, start = [], 0
    for size in _GROUPS:
        groups.append(body[start : start + size])
        start += size
    return f"{office}#{seq}:" + "-".join(groups)


def _hash_part(head_hash: str) -> str:
    """The first 65 bits of a hex hash as 13 base-32 characters."""
    bits = int(head_hash[:17], 16) >> 3
    return "".join(ALPHABET[(bits >> 5 * i) & 31] for i in reversed(range(HASH_CHARACTERS)))


def _times_x(value: int) -> int:
    """``value`` times x in GF(32) = GF(2)[x]/(x⁵+x²+1).  The quasigroup a∘b = x·a + b is
    totally anti-symmetric, which is what lets Damm's check catch every neighbour swap."""
    value <<= 1
    return value ^ 0b100101 if value & 0b100000 else value


def _checked(digits: str, body: str) -> str:
    """What the check character covers: the count of SEQ's digits as written (one character, so
    that a digit added to or dropped from SEQ cannot leave the check unchanged), SEQ as written,
    and the code proper.  A code is issued without leading zeros."""
    return f"{ALPHABET[len(digits)]}{digits}{body}"


def _interim(characters: str) -> int:
    """Damm's running value over code characters (all in ``ALPHABET``)."""
    interim = 0
    for character in characters:
        interim = _times_x(interim) ^ ALPHABET.index(character)
    return interim


@dataclass(frozen=True)
class PaperCode:
    """A checkpoint code an auditor brings from paper, read and its check character checked."""

    text: str
    """As given."""
    office: str
    seq: int
    hash_part: str
    """13 base-32 characters; for an old code, its 16 hex digits."""
    legacy: bool = False
    """Written before codes had a check character: a typo in it cannot be told from a rewrite."""

    def matches(self, head_hash: str) -> bool:
        """Does the chain's hash at ``seq`` still give this code?"""
        if self.legacy:
            return head_hash.startswith(self.hash_part)
        return len(head_hash) == 64 and _hash_part(head_hash) == self.hash_part


def _malformed(text: str, why: str) -> InvalidInput:
    return InvalidInput(
        _("{text!r} is not a checkpoint code ({why}); {SHAPE}").format(
            text=text,
            why=why,
            SHAPE=_(_SHAPE).format(example=EXAMPLE, characters=HASH_CHARACTERS + 1),
        ),
        hint=_(
            "codes written before check characters, like "
            "PS-KOT39#40:e7e0-23d9-0215-ac3c, are accepted too"
        ),
    )


def parse_code(text: str) -> PaperCode:
    """Read a code as written by hand, or refuse it as malformed or mistyped (exit 2)."""
    compact = "".join(text.split()).upper()
    office, hash_sign, rest = compact.partition("#")
    seq_text, colon, body = rest.partition(":")
    if not (hash_sign and colon and _OFFICE.match(office)):
        raise _malformed(text, _("it needs OFFICE#NUMBER:CODE"))
    seq_text, body = seq_text.translate(_READ_AS), body.replace("-", "")
    if not _DIGITS.match(seq_text) or int(seq_text) == 0:
        raise _malformed(
            text,
            _("the event number {seq_text!r} is not a number from 1 up").format(seq_text=seq_text),
        )
    if _LEGACY.match(body):
        return PaperCode(text, office, int(seq_text), body.lower(), legacy=True)
    body = body.translate(_READ_AS)
    strangers = sorted(set(body) - set(ALPHABET))
    if strangers:
        raise _malformed(
            text, _("{join} cannot appear after ':'").format(join=", ".join(map(repr, strangers)))
        )
    if len(body) != HASH_CHARACTERS + 1:
        raise _malformed(
            text,
            _("it has {count} characters after ':', not {HASH_CHARACTERS}").format(
                count=len(body), HASH_CHARACTERS=HASH_CHARACTERS + 1
            ),
        )
    if _interim(_checked(seq_text, body)):
        raise InvalidInput(
            _("checkpoint code {text!r} is mistyped: its check character does not match").format(
                text=text
            ),
            hint=_("copy it again from the register; nothing was compared with the chain"),
        )
    return PaperCode(text, office, int(seq_text), body[:-1])


def codes_by_office(codes: Iterable[str], offices: Collection[str]) -> dict[str, list[PaperCode]]:
    """The codes read and sorted by the office they name, each of ``offices`` (a code naming
    another office is refused: verified against the wrong chain it would seem rewritten)."""
    read: dict[str, list[PaperCode]] = {office: [] for office in offices}
    for text in codes:
        paper = parse_code(text)
        if paper.office not in read:
            raise InvalidInput(
                _("checkpoint code {text!r} is for office {office}, not {offices}").format(
                    text=text, office=paper.office, offices=" or ".join(offices)
                ),
                hint=_(
                    "check the office part of the code, or verify {office} (qms --office "
                    "{office} audit verify --code …)"
                ).format(office=paper.office),
            )
        read[paper.office].append(paper)
    return read


def unlock_office_key(runtime: Runtime, office: OfficeRef, passphrase: str) -> Signer:
    """The office's signing key, unlocked with the office passphrase."""
    row = sealed_office_key(runtime, office)
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
            _("record checkpoints"),
        )
        seq, head = work.head(office)
        if seq == 0:
            raise RuleViolation(
                _("office {code} has no events to checkpoint yet").format(code=office.code)
            )
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
    where = _("checkpoint {code}").format(code=checkpoint.code)
    public = office_public_keys.get(checkpoint.key_fingerprint)
    problems = []
    if public is None:
        problems.append(
            _(
                "{where}: signed by {key_fingerprint}…, not an office key registered in the chain"
            ).format(where=where, key_fingerprint=checkpoint.key_fingerprint[:16])
        )
    elif not _signed_by(public, checkpoint):
        problems.append(
            _("{where}: the office key's signature does not verify").format(where=where)
        )
    if chain_length < checkpoint.seq:
        problems.append(
            _(
                "{where}: the chain ends at #{chain_length} but had {seq} events when "
                "the checkpoint was taken: its tail was removed"
            ).format(where=where, chain_length=chain_length, seq=checkpoint.seq)
        )
    elif hash_at_seq != checkpoint.head_hash:
        problems.append(
            _(
                "{where}: event #{seq} now hashes to {value}…, not {head_hash}…: the "
                "chain was rewritten"
            ).format(
                where=where,
                seq=checkpoint.seq,
                value=(hash_at_seq or "")[:16],
                head_hash=checkpoint.head_hash[:16],
            )
        )
    return problems


def _signed_by(public_key: str, checkpoint: CheckpointRecord) -> bool:
    try:
        return verify_signature(
            bytes.fromhex(public_key), bytes.fromhex(checkpoint.signature), checkpoint.statement()
        )
    except (ValueError, TypeError):
        return False
