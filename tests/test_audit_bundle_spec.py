"""An independent audit-bundle verifier, written from ``docs/audit-bundle.md`` alone.

The verifier section below may use only ``json``, ``hashlib``, ``pathlib``, ``datetime`` and
``zoneinfo`` (an office's local day) and the Ed25519 public key of ``cryptography``; it never
imports the engine's canonical encoder or verifier. The tests build a real bundle with the engine
and check it with this verifier, so the document, not the engine's own code, is what is being
tested. (``qms_engine.chain.canonical`` is imported only to compare encoders byte for byte.)

Besides links, hashes and signatures it applies the rules of §5–§7 as the document states them:
key validity by chain position, temporary keys, the founding events, the roles held, the
authorisation table, the workflow definitions the chain registered (checked against the format
of ``workflows/sop-revision.toml``'s header) and the workflow rules.  The forgery tests at the
bottom re-sign real bundles with real keys and require the engine's ``verify_bundle`` and this
verifier to reject each one, at the same event.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

if TYPE_CHECKING:  # for annotations only: the verifier imports nothing of the engine
    from qms_engine.chain.canonical import JsonValue
    from qms_engine.chain.signing import Signer
    from qms_engine.testing import TestOffice
    from tests.collectorate_fixtures import Collectorate
    from tests.conftest import Desk

# ---------------------------------------------------------------------------------------------
# The independent verifier (docs/audit-bundle.md §3–§10 and §13)
# ---------------------------------------------------------------------------------------------

GENESIS = "0" * 64
_SHORT_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}
_HEX = "0123456789abcdef"


def spec_string(text: str) -> str:
    """A JSON string with only the mandatory escapes (§3)."""
    out = ['"']
    for char in text:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError("lone surrogate")
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif code in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[code])
        elif code < 0x20:
            out.append("\\u00" + _HEX[code >> 4] + _HEX[code & 0xF])
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _utf16_units(key: str) -> list[int]:
    units = []
    for char in key:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            units += [0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)]
        else:
            units.append(code)
    return units


def _spec_text(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise ValueError(f"integer {value} is outside ±(2^53 - 1)")
        return str(value)
    if isinstance(value, str):
        return spec_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_spec_text(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=_utf16_units)
        return "{" + ",".join(spec_string(k) + ":" + _spec_text(value[k]) for k in keys) + "}"
    raise ValueError(f"{type(value).__name__} is not allowed in canonical JSON")


def spec_canonical(value: object) -> bytes:
    """The canonical encoding of §3 as UTF-8 bytes."""
    return _spec_text(value).encode("utf-8")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_hex(text: object, length: int) -> bool:
    return isinstance(text, str) and len(text) == length and all(c in _HEX for c in text)


def _ed25519_ok(public_hex: str, signature_hex: str, message: bytes) -> bool:
    if not _is_hex(public_hex, 64) or not _is_hex(signature_hex, 128):
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        key.verify(bytes.fromhex(signature_hex), message)
    except Exception:  # InvalidSignature, but only the four permitted imports are used
        return False
    return True


def _is_timestamp(text: object) -> bool:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ``, exactly 27 characters (§0 conventions)."""
    if not isinstance(text, str) or len(text) != 27:
        return False
    shape = "dddd-dd-ddTdd:dd:dd.ddddddZ"
    return all(c in "0123456789" if s == "d" else c == s for c, s in zip(text, shape, strict=True))


REPLACED = "document.revision.replaced"
ADOPTED = "document.revision.adopted"
_CLERK, _APPROVER, _QC = "clerk", "approver", "quality_coordinator"
SERVICE_KINDS: dict[str, tuple[str, str, frozenset[str]]] = {
    "service.charter.recorded": ("recorded charter", "citizen charter", frozenset({"admin"})),
    "record_room.schedule.recorded": (
        "recorded retention schedule",
        "retention schedule",
        frozenset({"admin"}),
    ),
    "service.application.received": (
        "received application",
        "receiving applications",
        frozenset({_CLERK}),
    ),
    "service.application.disposed": (
        "disposed application",
        "disposing of applications",
        frozenset({_CLERK, _APPROVER}),
    ),
    "record_room.record.deposited": (
        "deposited record",
        "depositing records",
        frozenset({_CLERK}),
    ),
    "record_room.disposal.proposed": (
        "proposed disposal list",
        "proposing disposal lists",
        frozenset({_CLERK, _QC}),
    ),
    "record_room.disposal.approved": (
        "approved disposal list",
        "approving disposal lists",
        frozenset({_APPROVER}),
    ),
    "record_room.disposal.rejected": (
        "rejected disposal list",
        "rejecting disposal lists",
        frozenset({_APPROVER}),
    ),
    "record_room.records.weeded": ("weeded records", "weeding records", frozenset({_CLERK, _QC})),
}
"""§6 and §7: each citizen-charter and record-room action's meaning, rule and roles."""

# §6: the meaning each named action carries; any other action is a workflow transition.
MEANINGS = {
    "key.registered": "registered key",
    "key.retired": "retired key",
    "key.revoked": "revoked key",
    "office.created": "created office",
    "office.document_type.added": "added document type",
    "workflow.registered": "registered workflow",
    "user.created": "enrolled user",
    "user.role.granted": "granted role",
    "user.role.revoked": "revoked role",
    "user.deactivated": "deactivated user",
    "document.created": "authored",
    "document.revision.created": "authored",
    "document.revision.filed": "filed",
    ADOPTED: "authored",
    REPLACED: "authored",
    "ingest.duplicate.set_aside": "set aside duplicate",
    "document.revision.superseded": "superseded",
    "audit.checkpoint.recorded": "recorded checkpoint",
    "nc.raised": "raised",
    "nc.action.added": "planned action",
    "nc.action.done": "implemented action",
    "nc.action.reassigned": "reassigned action",
    "nc.feedback.linked": "linked feedback",
    "internal_audit.planned": "planned audit",
    "internal_audit.finding": "recorded finding",
    "feedback.received": "imported feedback",
    "feedback.comments.erased": "erased comments",
    "custody.moved": "handed over",
    "district.station.joined": "joined station",
    "district.bundle.imported": "imported station bundle",
    "district.checkpoint.witnessed": "witnessed checkpoint",
    "district.sop.adopted": "adopted district SOP",
    **{action: meaning for action, (meaning, _name, _roles) in SERVICE_KINDS.items()},
}
NC_PREFIX = "nc."


def meaning_fits(action: object, meaning: object) -> bool:
    """§6 meaning check: the table, else ``nc.`` or ``document.revision.`` + meaning with ``_``
    for spaces."""
    if not isinstance(action, str) or not isinstance(meaning, str):
        return False
    if action in MEANINGS:
        return MEANINGS[action] == meaning
    if action.startswith(NC_PREFIX):
        return action == NC_PREFIX + meaning.replace(" ", "_")
    return action == "document.revision." + meaning.replace(" ", "_")


BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _damm32(text: str) -> int:
    """§8: r = 2·r ⊕ value(c) over the characters, 2·r taken in GF(2)[x]/(x⁵+x²+1)."""
    r = 0
    for character in text:
        r *= 2
        if r >= 32:
            r ^= 0b100101
        r ^= BASE32.index(character)
    return r


def _code_characters(head_hash: str) -> str:
    """§8: the first 65 bits of the head hash, 5 bits a character, most significant first."""
    bits, characters = int(head_hash[:17], 16) >> 3, ""
    for _ in range(13):
        bits, value = divmod(bits, 32)
        characters = BASE32[value] + characters
    return characters


def short_code(office: str, seq: int, head_hash: str) -> str:
    """``OFFICE#SEQ:CCCCC-CCCCC-CCCK`` (§8): K makes the check over SEQ and the code end at 0."""
    body = _code_characters(head_hash)
    checked = f"{BASE32[len(str(seq))]}{seq}{body}"
    body += next(k for k in BASE32 if _damm32(f"{checked}{k}") == 0)
    return f"{office}#{seq}:{body[:5]}-{body[5:10]}-{body[10:]}"


# §13: strict reading. Breaking rules 1–7 makes the bundle unreadable: verification stops.
MAX_DEPTH = 64
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_LIST_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_INTEGER = 2**53 - 1
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class Unreadable(Exception):
    """A reading rule of §13 (1–7) is broken: the bundle cannot be read."""


def _nesting(text: str) -> int:
    """How deep arrays and objects nest, counted outside strings, without parsing (rule 4)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        elif char in "]}":
            depth -= 1
    return deepest


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise Unreadable(f"duplicate member name {name!r}")
        found[name] = value
    return found


def _refuse_float(text: str) -> Any:
    raise Unreadable(f"{text} is not an integer")


def _refuse_constant(text: str) -> Any:
    raise Unreadable(f"{text} is not JSON")


def strict_json(data: bytes, what: str) -> Any:
    """Rule 4: UTF-8 without BOM, nesting ≤ 64, no duplicate names, integers only."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise Unreadable(f"{what}: begins with a byte-order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(f"{what}: not UTF-8") from None
    if _nesting(text) > MAX_DEPTH:
        raise Unreadable(f"{what}: nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_members,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
        )
    except Unreadable as exc:
        raise Unreadable(f"{what}: {exc}") from None
    except ValueError as exc:
        raise Unreadable(f"{what}: not JSON ({exc})") from None


def _integer(value: object, least: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and least <= value <= MAX_INTEGER


def _filled(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _real_timestamp(value: object) -> bool:
    """A timestamp (conventions) naming a real instant (rule 7)."""
    if not _is_timestamp(value):
        return False
    text = str(value)
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    days = _month_days(year, month)
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    return year >= 1 and 1 <= day <= days and hour < 24 and minute < 60 and second < 60


def _month_days(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 28 + leap if month == 2 else _DAYS[month - 1] if 1 <= month <= 12 else 0


def _real_date(text: str) -> bool:
    """``YYYY-MM-DD`` naming a day of the calendar (no month 13, no 30 February)."""
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    return year >= 1 and 1 <= day <= _month_days(year, month)


def _day_before(text: str) -> str:
    """The date before ``YYYY-MM-DD`` (a real date), in the same form."""
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10]) - 1
    if day == 0:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        day = _month_days(year, month)
    return f"{year:04d}-{month:02d}-{day:02d}"


def _day_after(text: str) -> str:
    """The date after ``YYYY-MM-DD`` (a real date), in the same form."""
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10]) + 1
    if day > _month_days(year, month):
        year, month, day = (year + 1, 1, 1) if month == 12 else (year, month + 1, 1)
    return f"{year:04d}-{month:02d}-{day:02d}"


def _ymd(text: str, years: int = 0) -> tuple[int, int, int]:
    """A real date ``YYYY-MM-DD`` as (year, month, day), ``years`` later (29 February: the
    28th), for comparing dates whose year may pass 9999."""
    year, month, day = int(text[0:4]) + years, int(text[5:7]), int(text[8:10])
    return (year, month, 28 if (month, day) == (2, 29) and years else day)


def _hex64(value: object) -> bool:
    return _is_hex(value, 64)


def _exactly(
    value: object,
    what: str,
    members: dict[str, Callable[[object], bool]],
    fixed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An object with exactly ``members`` (each passing its test), plus a ``fixed`` member
    only with its one allowed value (rules 6 and 7)."""
    if not isinstance(value, dict):
        raise Unreadable(f"{what}: not an object")
    for name in members:
        if name not in value:
            raise Unreadable(f"{what}: {name!r} missing")
    for name, item in value.items():
        if name in members:
            if not members[name](item):
                raise Unreadable(f"{what}: {name!r} is {item!r}")
        elif fixed is None or fixed.get(name) != item:
            raise Unreadable(f"{what}: member {name!r} not allowed here")
    return value


KEY_MEMBERS: dict[str, Callable[[object], bool]] = {
    "fingerprint": _hex64,
    "public_key": _hex64,
    "owner": _filled,
    "purpose": lambda v: v in ("user", "office"),
    "valid_from": _real_timestamp,
    "valid_until": lambda v: v is None or _real_timestamp(v),
    "revoked_reason": lambda v: v is None or isinstance(v, str),
}


# §5–§7: who may sign what. Keys, roles, document types and workflow definitions come only from
# the chain; nothing is read from an installation.
ADMIN = "admin"
KEY_HOLDER = "key holder"
REVISION_PREFIX = "document.revision."
CREATIONS = ("document.revision.created", "document.revision.filed")
SUPERSEDED = "document.revision.superseded"


def transition_action(meaning: str, moves: str = "revision") -> str:
    """The action a transition with this meaning is recorded as (§6), for a workflow moving
    revisions or nonconformities."""
    prefix = NC_PREFIX if moves == "nonconformity" else REVISION_PREFIX
    return prefix + meaning.replace(" ", "_")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_BODY_TEXT = ("office", "time", "actor", "action", "subject", "meaning", "prev")


def body_shape_problem(body: object) -> str | None:
    """§10 step 4.1: why ``body`` is malformed, or None when it is well-formed."""
    if not isinstance(body, dict):
        return "the body is not an object"
    if not _is_int(body.get("v")) or body["v"] != 1:
        return f"v {body.get('v')!r} is not 1"
    for name in _BODY_TEXT:
        if not isinstance(body.get(name), str):
            return f"{name!r} is missing or not a string"
    if not _is_int(body.get("seq")):
        return "'seq' is not an integer"
    if not isinstance(body.get("payload"), dict):
        return "'payload' is not an object"
    signer = body.get("signer")
    if not isinstance(signer, dict) or not all(
        _is_str(signer.get(n)) for n in ("name", "role", "key")
    ):
        return "'signer' is not an object with string name, role and key"
    if not _is_timestamp(body["time"]):
        return f"time {body['time']!r} is not a timestamp"
    return None


# §6 and §10 step 4.9: what each action's payload must hold for its effect and rules to apply.
PAYLOAD_NEEDS: dict[str, dict[str, Callable[[object], bool]]] = {
    "key.registered": {
        "fingerprint": _is_str,
        "owner": _is_str,
        "public_key": _is_str,
        "purpose": _is_str,
    },
    "key.retired": {"fingerprint": _is_str, "owner": _is_str},
    "key.revoked": {"fingerprint": _is_str, "owner": _is_str, "reason": _is_str},
    "office.document_type.added": {"creator_roles": _strings, "workflow": _is_str},
    "workflow.registered": {"definition": lambda v: isinstance(v, dict), "sha256": _is_str},
    "user.role.granted": {"role": _is_str},
    "user.role.revoked": {"role": _is_str},
    "document.created": {"type": _is_str},
    "document.revision.created": {"sha256": _is_str, "state": _is_str},
    "document.revision.filed": {"sha256": _is_str, "state": _is_str},
    REPLACED: {"sha256": _is_str, "previous_sha256": _is_str},
    SUPERSEDED: {"from": _is_str, "to": _is_str},
    "audit.checkpoint.recorded": {"seq": _is_int, "head": _is_str, "signature": _is_str},
}


def _is_source(value: object) -> bool:
    """§6 ``source``: strings claim, file and inbox, and optionally a non-empty author."""
    if not isinstance(value, dict):
        return False
    if not {"claim", "file", "inbox"} <= set(value) <= {"author", "claim", "file", "inbox"}:
        return False
    return all(_is_str(value[name]) for name in ("claim", "file", "inbox")) and (
        "author" not in value or _filled(value["author"])
    )


# §6 content payloads: exactly these members, each passing its test.
_FILE_MEMBERS: dict[str, Callable[[object], bool]] = {
    "sha256": _hex64,
    "size": _integer,
    "media_type": _is_str,
    "original_filename": _is_str,
    "reason": _is_str,
}
_CREATED_MEMBERS = {
    **_FILE_MEMBERS,
    "title": _is_str,
    "state": _is_str,
    "fields": lambda value: isinstance(value, dict),
}
CONTENT_PAYLOADS: dict[str, dict[str, Callable[[object], bool]]] = {
    "document.revision.created": _CREATED_MEMBERS,
    "document.revision.filed": {**_CREATED_MEMBERS, "source": _is_source},
    REPLACED: {**_FILE_MEMBERS, "previous_sha256": _hex64},
}


def _text(value: object) -> bool:
    """§6 CAPA payloads: "text" is a string that shows something: not only characters of
    the Unicode categories Cc, Cf, Zs, Zl and Zp (a zero-width space is no text)."""
    return isinstance(value, str) and _shows_something(value)


def _date(value: object) -> bool:
    """``YYYY-MM-DD`` written with decimal digits (its reality is a CAPA rule, §7)."""
    return (
        isinstance(value, str)
        and len(value) == 10
        and all(c == "-" if i in (4, 7) else c in "0123456789" for i, c in enumerate(value))
    )


def _response_id(value: object) -> bool:
    return _is_hex(value, 16)


def _array_of(test: Callable[[object], bool], *, filled: bool = False) -> Callable[[object], bool]:
    return lambda value: (
        isinstance(value, list) and (bool(value) or not filled) and all(map(test, value))
    )


def _object_of(members: dict[str, Callable[[object], bool]]) -> Callable[[object], bool]:
    return lambda value: (
        isinstance(value, dict)
        and set(value) == set(members)
        and all(test(value[name]) for name, test in members.items())
    )


def _one_of(*values: str) -> Callable[[object], bool]:
    return lambda value: isinstance(value, str) and value in values


_EVIDENCE = _array_of(
    _object_of(
        {"sha256": _hex64, "size": _integer, "media_type": _is_str, "original_filename": _is_str}
    )
)
_RATINGS = lambda value: (  # noqa: E731
    isinstance(value, dict)
    and bool(value)
    and all(_is_int(r) and 1 <= r <= 5 for r in value.values())
)
# §6 CAPA payloads: exactly these members, each passing its test.
CAPA_PAYLOADS: dict[str, dict[str, Callable[[object], bool]]] = {
    "nc.raised": {
        "title": _text,
        "description": _text,
        "source": _one_of(
            "internal_audit",
            "external_audit",
            "citizen_feedback",
            "complaint",
            "process_monitoring",
        ),
        "severity": _one_of("major", "minor", "observation"),
        "clause": _is_str,
        "finding": _is_str,
        "documents": _strings,
        "records": _strings,
        "evidence": _EVIDENCE,
        "responses": _array_of(_response_id),
        "workflow": _text,
        "state": _text,
    },
    NC_PREFIX: {"transition": _text, "from": _is_str, "to": _is_str, "comment": _is_str},
    "nc.action.added": {
        "type": _one_of("immediate", "corrective", "preventive", "improvement"),
        "description": _text,
        "owner": _text,
        "due": _date,
        "document": _is_str,
        "after_revno": lambda value: _integer(value, -1),
    },
    "nc.action.done": {"comment": _text, "evidence": _EVIDENCE},
    "nc.action.reassigned": {"owner": _text, "comment": _text},
    "nc.feedback.linked": {"responses": _array_of(_response_id, filled=True)},
    "internal_audit.planned": {
        "title": _text,
        "scope": _text,
        "date": _date,
        "auditors": _array_of(_text, filled=True),
        "items": _array_of(
            _object_of({"ref": _text, "auditor": _text, "area_owner": _is_str}), filled=True
        ),
    },
    "internal_audit.finding": {
        "result": _one_of("conforms", "observation", "nonconformity"),
        "note": _is_str,
        "nc": _is_str,
    },
    "feedback.received": {
        "file_sha256": _hex64,
        "file_name": _is_str,
        "poor": _object_of(
            {"rating": _text, "at_most": lambda v: v in (1, 2, 3, 4) and _is_int(v)}
        ),
        "responses": _array_of(
            _object_of(
                {
                    "id": _response_id,
                    "time": _is_str,
                    "ratings": _RATINGS,
                    "comment_sha256": _hex64,
                }
            ),
            filled=True,
        ),
    },
    "feedback.comments.erased": {
        "before": _date,
        "responses": _array_of(_response_id, filled=True),
    },
}


# §6 custody payloads.
CUSTODY_PAYLOADS: dict[str, dict[str, Callable[[object], bool]]] = {
    "custody.moved": {
        "from": _text,
        "to": _text,
        "received_by": _text,
        "seal_intact": lambda value: value is True or value is False,
        "expected_back": lambda value: value == "" or _date(value),
        "order": _is_str,
        "note": _is_str,
    }
}


# §6 district payloads.
def _seq(value: object) -> bool:
    return _integer(value, 1)


def _signature(value: object) -> bool:
    return _is_hex(value, 128)


DISTRICT_PAYLOADS: dict[str, dict[str, Callable[[object], bool]]] = {
    "district.station.joined": {"name": _text, "office_type": _text},
    "district.bundle.imported": {
        "name": _text,
        "office_type": _text,
        "timezone": _text,
        "from_seq": _seq,
        "to_seq": _seq,
        "head": _hex64,
    },
    "district.checkpoint.witnessed": {
        "seq": _seq,
        "head": _hex64,
        "recorded_at": _text,
        "key": _hex64,
        "signature": _signature,
        "witness_key": _hex64,
        "witness_signature": _signature,
    },
    "district.sop.adopted": {
        "district": _text,
        "revno": _integer,
        "sha256": _hex64,
        "title": _text,
    },
}


# §6 citizen-charter and record-room payloads.
def _service(value: object) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"code", "title", "days", "desk"}
        and _text(value["code"])
        and _text(value["title"])
        and _integer(value["days"], 1)
        and _text(value["desk"])
    )


def _record_class(value: object) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"code", "title", "retention_years"}
        and _text(value["code"])
        and _text(value["title"])
        and (value["retention_years"] is None or _integer(value["retention_years"]))
    )


_RECORDS = _array_of(_text, filled=True)
SERVICE_PAYLOADS: dict[str, dict[str, Callable[[object], bool]]] = {
    "service.charter.recorded": {
        "desks": _array_of(_object_of({"code": _text, "title": _text})),
        "services": _array_of(_service),
    },
    "record_room.schedule.recorded": {"classes": _array_of(_record_class)},
    "service.application.received": {
        "service": _text,
        "desk": _text,
        "applicant": _text,
        "received": _date,
        "due": _date,
    },
    "service.application.disposed": {
        "decision": _one_of("granted", "rejected"),
        "disposed": _date,
        "note": _is_str,
    },
    "record_room.record.deposited": {"class": _text, "closed": _date},
    "record_room.disposal.proposed": {"records": _RECORDS},
    "record_room.disposal.approved": {"comment": _is_str},
    "record_room.disposal.rejected": {"comment": _text},
    "record_room.records.weeded": {"on": _date, "records": _RECORDS},
}


def content_payload_problem(action: str, payload: dict[str, Any]) -> str | None:
    """§6 content and CAPA payloads: what is wrong with the payload (one problem), or None
    (``nc.`` stands for every NC transition)."""
    members = (
        CONTENT_PAYLOADS.get(action)
        or CAPA_PAYLOADS.get(action)
        or CUSTODY_PAYLOADS.get(action)
        or DISTRICT_PAYLOADS.get(action)
        or SERVICE_PAYLOADS.get(action)
    )
    if members is None:
        return None
    if set(payload) != set(members):
        return f"members {sorted(payload)}, not {sorted(members)}"
    wrong = [name for name, fits in members.items() if not fits(payload[name])]
    return f"{', '.join(wrong)} of the wrong type" if wrong else None


# §7 authorisation table: rule name and allowed roles of each fixed action (None: they depend on
# what is acted on, see SpecVerifier._allowed).
TABLE: dict[str, tuple[str, frozenset[str] | None]] = {
    "key.registered": ("key registration", frozenset({ADMIN, KEY_HOLDER})),
    "key.retired": ("key retirement", frozenset({ADMIN, KEY_HOLDER})),
    "key.revoked": ("key revocation", frozenset({ADMIN})),
    "office.created": ("office creation", frozenset({ADMIN})),
    "office.document_type.added": ("document types", None),
    "user.created": ("enrolment", frozenset({ADMIN})),
    "user.role.granted": ("role grants", frozenset({ADMIN})),
    "user.role.revoked": ("role revocation", frozenset({ADMIN})),
    "user.deactivated": ("deactivation", frozenset({ADMIN})),
    "document.created": ("document creation", None),
    "document.revision.created": ("revisions", None),
    "document.revision.filed": ("record filing", None),
    ADOPTED: ("adoption", None),
    REPLACED: ("file replacement", None),
    "ingest.duplicate.set_aside": ("duplicates", None),
    SUPERSEDED: ("supersession", None),
    "audit.checkpoint.recorded": ("checkpoints", frozenset({"quality_coordinator", ADMIN})),
    "workflow.registered": ("workflow registration", frozenset({ADMIN})),
    "nc.raised": (
        "raising nonconformities",
        frozenset(
            {"quality_coordinator", "approver", "auditor", "reviewer", "author", "clerk", ADMIN}
        ),
    ),
    "nc.action.added": ("planning actions", frozenset({"quality_coordinator", "approver"})),
    "nc.action.done": ("implementing actions", None),  # any role the signer holds
    "nc.action.reassigned": ("reassigning actions", frozenset({"quality_coordinator", "approver"})),
    "nc.feedback.linked": ("linking feedback", frozenset({"quality_coordinator"})),
    "internal_audit.planned": ("planning internal audits", frozenset({"quality_coordinator"})),
    "internal_audit.finding": ("audit findings", frozenset({"auditor"})),
    "feedback.received": ("citizen feedback", frozenset({"quality_coordinator"})),
    "feedback.comments.erased": ("erasing comments", frozenset({"quality_coordinator"})),
    "custody.moved": ("custody", None),  # its roles: see the custody rules
    "district.station.joined": ("district stations", frozenset({ADMIN})),
    "district.bundle.imported": ("station bundles", frozenset({"quality_coordinator", ADMIN})),
    "district.checkpoint.witnessed": (
        "witnessed checkpoints",
        frozenset({"quality_coordinator", ADMIN}),
    ),
    "district.sop.adopted": (
        "adopting district SOPs",
        frozenset({"quality_coordinator", "approver"}),
    ),
    **{action: (name, roles) for action, (_meaning, name, roles) in SERVICE_KINDS.items()},
}

# The format of a workflow definition (the header of workflows/sop-revision.toml).
_WORKFLOW_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")
_DEFINITION_KEYS = ("name", "title", "description", "subject", "initial", "states", "transitions")
_DEFINITION_REQUIRED = ("name", "initial", "states", "transitions")
_STATE_FLAGS = ("open", "terminal", "starts_review_clock", "in_force", "accepts_actions")
_STATE_KEYS = ("title", "description", "exclusive", *_STATE_FLAGS)
_TRANSITION_KEYS = (
    "title",
    "description",
    "from",
    "to",
    "roles",
    "meaning",
    "comment_required",
    "by",
    "not_by",
    "actions",
    "resets_actions",
)
_TRANSITION_REQUIRED = ("from", "to", "roles", "meaning")
SUBJECTS = ("revision", "nonconformity")
"""What a workflow moves (§7 "What a workflow moves"); ``revision`` when not stated."""
_PARTIES = {"revision": ("author",), "nonconformity": ("author", "implementer", "audited")}
ISO_CLAUSE = re.compile(r"[0-9]+(\.[0-9]+)*( ?[A-Za-z])?")
"""§6: an audit item's ref that is no document: digits and dots, optionally a letter."""


def _table_problem(
    table: object, where: str, allowed: tuple[str, ...], required: tuple[str, ...]
) -> str | None:
    if not isinstance(table, dict):
        return f"{where} is not a table"
    for key in table:
        if key not in allowed:
            return f"{where}: unknown key {key!r}"
    for key in required:
        if key not in table:
            return f"{where}: {key!r} missing"
    for key in ("title", "description"):
        if key in table and not isinstance(table[key], str):
            return f"{where}: {key!r} is not a string"
    return None


def _state_problem(name: str, state: object, states: dict[str, Any]) -> str | None:
    where = f"states.{name}"
    found = _table_problem(state, where, _STATE_KEYS, ())
    if found is not None:
        return found
    assert isinstance(state, dict)
    for flag in _STATE_FLAGS:
        if flag in state and not isinstance(state[flag], bool):
            return f"{where}.{flag} is not true or false"
    if "exclusive" in state and (
        not _is_str(state["exclusive"]) or state["exclusive"] not in states
    ):
        return f"{where}.exclusive {state['exclusive']!r} is not a state"
    if state.get("in_force") is True and "exclusive" not in state:
        return f"{where} is in force but not exclusive"
    return None


def _transition_problem(
    name: str, step: object, states: dict[str, Any], transitions: dict[str, Any], moves: str
) -> str | None:
    where = f"transitions.{name}"
    found = _table_problem(step, where, _TRANSITION_KEYS, _TRANSITION_REQUIRED)
    if found is not None:
        return found
    assert isinstance(step, dict)
    sources, target = step["from"], step["to"]
    if not _strings(sources) or not sources:
        return f"{where}.from is not a list of states"
    for source in sources:
        if source not in states:
            return f"{where}.from: {source!r} is not a state"
        if states[source].get("terminal") is True:
            return f"{where}.from: {source!r} is terminal; nothing leaves it"
    if not _is_str(target) or target not in states:
        return f"{where}.to {target!r} is not a state"
    if not _strings(step["roles"]) or not step["roles"]:
        return f"{where}.roles is not a list of roles"
    if not _filled(step["meaning"]) or not step["meaning"].strip():
        return f"{where}.meaning is not a non-empty string"
    if not isinstance(step.get("comment_required", False), bool):
        return f"{where}.comment_required is not true or false"
    for key in ("by", "not_by"):
        entries = step.get(key, [])
        if not _strings(entries):
            return f"{where}.{key} is not a list"
        for entry in entries:
            if entry not in _PARTIES[moves] and entry not in transitions:
                parties = " nor ".join(map(repr, _PARTIES[moves]))
                return f"{where}.{key}: {entry!r} is neither {parties} nor a transition"
    if set(step.get("by", [])) & set(step.get("not_by", [])):
        return f"{where}: by and not_by share an entry, so nobody may take it"
    if "actions" in step and (
        moves != "nonconformity" or step["actions"] not in ("planned", "done")
    ):
        return f"{where}.actions: only a nonconformity workflow has it, 'planned' or 'done'"
    if step.get("actions") == "planned" and not any(
        states[source].get("accepts_actions") is True for source in sources
    ):
        return f"{where}.actions: 'planned', but none of its from states accepts actions"
    if "resets_actions" in step and (
        moves != "nonconformity" or not isinstance(step["resets_actions"], bool)
    ):
        return f"{where}.resets_actions: only a nonconformity workflow has it, true or false"
    return None


def definition_problem(definition: object) -> str | None:
    """Why a registered workflow definition breaks the format of ``sop-revision.toml``'s header
    (the subset that document states), or None; role names are not checked (§7)."""
    found = _table_problem(definition, "definition", _DEFINITION_KEYS, _DEFINITION_REQUIRED)
    if found is not None:
        return found
    assert isinstance(definition, dict)
    name, initial = definition["name"], definition["initial"]
    if not _filled(name) or not set(name) <= _WORKFLOW_NAME_CHARS:
        return f"name {name!r} is not lowercase letters, digits and hyphens"
    states, transitions = definition["states"], definition["transitions"]
    if not isinstance(states, dict) or not isinstance(transitions, dict):
        return "states and transitions must be tables"
    if not _is_str(initial) or initial not in states:
        return f"initial {initial!r} is not a state"
    moves = definition.get("subject", "revision")
    if moves not in SUBJECTS:
        return f"subject {moves!r} is neither 'revision' nor 'nonconformity'"
    for state_name, state in states.items():
        if (found := _state_problem(state_name, state, states)) is not None:
            return found
        if moves != "nonconformity" and state.get("accepts_actions") is True:
            return f"states.{state_name}: only a nonconformity workflow accepts actions"
        if moves == "nonconformity" and (
            "exclusive" in state
            or state.get("starts_review_clock") is True
            or state.get("in_force") is True
        ):
            return (
                f"states.{state_name}: a nonconformity's state is never exclusive, in force or a "
                "review clock"
            )
        if state.get("accepts_actions") is True and state.get("terminal") is True:
            return f"states.{state_name}: a terminal state accepts no actions"
    in_force = [state_name for state_name, state in states.items() if state.get("in_force") is True]
    if len(in_force) > 1:
        return f"more than one state in force: {in_force}"
    for step_name, step in transitions.items():
        if (found := _transition_problem(step_name, step, states, transitions, moves)) is not None:
            return found
    reached, pending = {initial}, [initial]
    while pending:  # through transitions, and through the exclusive rule (which moves revisions)
        here = pending.pop()
        nexts = [step["to"] for step in transitions.values() if here in step["from"]]
        if "exclusive" in states[here]:
            nexts.append(states[here]["exclusive"])
        for there in nexts:
            if there not in reached:
                reached.add(there)
                pending.append(there)
    unreachable = [state_name for state_name in states if state_name not in reached]
    if unreachable:
        return f"state {unreachable[0]!r} is unreachable from {initial!r}"
    return None


def own_key_change(body: dict[str, Any], key_id: str) -> bool:
    """§5 rule 5: all a temporary key may sign: its owner's own change of key, as key holder
    (a ``key.registered`` of a different key, or a ``key.retired`` of itself)."""
    if body["signer"]["role"] != KEY_HOLDER or body["subject"] != body["actor"]:
        return False
    fingerprint: object = body["payload"].get("fingerprint")
    action: object = body["action"]
    if action == "key.registered":
        return fingerprint != key_id
    return action == "key.retired" and fingerprint == key_id


def _key_matches(payload: dict[str, Any]) -> bool:
    """§5: the fingerprint is the SHA-256 of the raw public key."""
    public = payload.get("public_key")
    return _is_hex(public, 64) and _sha256_hex(bytes.fromhex(str(public))) == payload.get(
        "fingerprint"
    )


class SpecVerifier:
    """Checks one bundle folder per the numbered algorithm of §10; ``problems`` lists findings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.office = ""
        self.problems: list[str] = []
        self.keys: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, set[str]] = {}
        self.inactive: set[str] = set()
        self.founder: str | None = None
        self.founded = False
        self.workflows: dict[str, dict[str, Any]] = {}
        """The definitions in force, by name: the last valid ``workflow.registered`` of each."""
        self.types: dict[str, tuple[str, frozenset[str]]] = {}
        """Document type code → (its workflow, its creator roles)."""
        self.registers: set[str] = set()  # type codes of kind "register"
        self.controlled: set[str] = set()  # type codes of kind "document"
        self.append_only: set[str] = set()  # type codes whose records are never revised
        self.named: dict[str, tuple[object, str]] = {}
        """NUMBER#REVNO → (the author a draft filed from the inbox names, its filer) (§7)."""
        self.revisions: dict[str, list[str]] = {}  # document number → revisions, as created
        self.files: dict[str, str] = {}  # NUMBER#REVNO → its current file (SHA-256)
        self.documents: dict[str, str] = {}  # document number → type code
        self.authors: dict[str, str] = {}  # NUMBER#REVNO → its author ("" while none)
        self.state: dict[str, Any] = {}  # NUMBER#REVNO → current state
        self.took: dict[tuple[str, str], set[str]] = {}  # (NUMBER#REVNO, transition) → actors
        self.exclusive: dict[str, str] | None = None
        """Set by a transition into an exclusive state, for the supersessions right after it."""
        self.blobs: set[str] = set()
        self.hash_at: dict[int, str] = {}
        self.head = GENESIS  # the last line's written hash
        self.link = GENESIS  # the last well-formed event's written hash (§10 step 4.4)
        self.latest = ""
        self.recorded: list[tuple[int, object, object, object]] = []
        self.count = 0
        self.signatures_checked = 0
        # §7 CAPA rules
        self.ncs: dict[str, dict[str, Any]] = {}
        """NC number → workflow, state, raiser, source, actions (subjects), implementers, took."""
        self.nc_actions: dict[str, dict[str, Any]] = {}
        """NC#An → nc, owner, document, after_revno, done."""
        self.received: dict[str, str] = {}  # response id → the NC it is linked to, or ""
        self.received_on: dict[str, str | None] = {}  # response id → UTC date (None: erased)
        self.poor: dict[str, str] = {}  # poor response id (its form's rule) → its event's `at`
        self.audit_dates: dict[str, str] = {}  # audit → its date, when a real one
        self.audit_items: dict[str, list[dict[str, Any]]] = {}
        """Audit → its items: ref, auditor, area_owner, recorded."""
        self.made_in_force: dict[str, tuple[str, set[str]]] = {}
        """Document → its revision in force and who made it so (§7 CAPA rules)."""
        self.last_taker: dict[str, str] = {}  # NUMBER#REVNO → who took its latest transition
        self.awaited: tuple[str, str] | None = None  # (finding, NC) whose nc.raised comes next
        self.awaited_by = ""  # who recorded that finding
        self.raising: tuple[str, str] | None = None  # the awaited finding this event raises
        # §7 register rules
        self.zone = "Asia/Kolkata"  # the office's time zone (office.created)
        self.time = ""  # the time of the event being applied
        self.books: dict[str, dict[str, Any]] = {}  # type code → its type's payload
        self.serials: dict[tuple[str, str], int] = {}  # (type, period) → last serial
        self.last_entries: dict[str, tuple[str, str]] = {}  # day book → (day, entry) of its last
        self.wanted_fields: dict[str, list[str]] = {}  # record → fields its revision 0 must give
        self.unfiled: tuple[str, int] | None = None  # register record whose revision 0 is next
        # §7 custody rules
        self.custody: dict[str, dict[str, Any]] = {}  # type code → its recorded custody
        self.places: dict[str, str] = {}  # record number → its current place, once moved
        # §7 district rules
        self.joined: set[str] = set()  # stations joined from the same database
        self.imported: dict[str, dict[str, Any]] = {}  # station → name, type, zone, held
        self.witnessed: set[tuple[str, object]] = set()  # (station, seq) witnessed
        self.adopted: dict[str, int] = {}  # district SOP → the revision adopted last
        # §7 citizen-charter and record-room rules
        self.charter: dict[str, tuple[int, str]] | None = None  # service → days, desk
        self.schedule: dict[str, int | None] | None = None  # class → years (None: permanent)
        self.applications: dict[str, dict[str, Any]] = {}  # number → received, disposed
        self.kept: dict[str, dict[str, Any]] = {}  # record → class, closed, years, weeded
        self.created_on: dict[str, str] = {}  # record → the local day it was created
        self.disposal_lists: dict[str, dict[str, Any]] = {}  # list → proposer, records, approved

    def problem(self, what: str) -> None:
        self.problems.append(what)

    def fatal(self, what: str) -> list[str]:
        """Steps 1–3 of §10: the bundle cannot be read, so verification stops here."""
        self.problems.append(what)
        return self.problems

    def run(self, check_blobs: bool = True) -> list[str]:
        try:
            manifest, events, keys, checkpoints = self._read()
        except Unreadable as exc:
            return self.fatal(str(exc))
        self.office = manifest["office"]["code"]
        for body, written_hash, signature in events:
            self._event(body, written_hash, signature)
        if self.awaited is not None:
            self.problem(
                f"event #{self.count}: finding {self.awaited[0]} has no nc.raised after it"
            )
        if self.unfiled is not None:
            self.problem(f"event #{self.unfiled[1] + 1}: {self.unfiled[0]} has no revision 0")
        for key, at in self.poor.items():  # §7: every poor response linked by the end
            if not self.received[key]:
                self.problem(f"{at}: poor response {key} is linked to no nonconformity")
        if manifest["events"]["head"] != self.head:
            self.problem("manifest head is not the last event's hash")
        self._key_list(keys)
        self._checkpoints(checkpoints)
        self._recorded_checkpoints(checkpoints)
        self._office(manifest["office"], [body for body, _, _ in events])
        if check_blobs:
            self._blobs(manifest["blobs"])
        return self.problems

    def _member(self, name: str, limit: int | None) -> bytes:
        """Rule 1 and 2: a regular file of that fixed name, never through a symbolic link."""
        path = self.path / name
        if path.is_symlink():
            raise Unreadable(f"{name}: a symbolic link")
        if not path.is_file():
            raise Unreadable(f"{name}: file missing")
        if limit is not None and path.stat().st_size > limit:
            raise Unreadable(f"{name}: larger than {limit} bytes")
        return path.read_bytes()

    def _read(self) -> tuple[dict[str, Any], list[tuple[Any, Any, Any]], list[Any], list[Any]]:
        """§10 steps 1–3 under the reading rules of §13."""
        manifest = strict_json(self._member("manifest.json", MAX_MANIFEST_BYTES), "manifest")
        if (
            not isinstance(manifest, dict)
            or manifest.get("format") != "qms-audit-bundle"
            or not _integer(manifest.get("version"))
            or manifest["version"] != 1
        ):
            raise Unreadable("manifest: not a qms-audit-bundle version 1")
        is_object: Callable[[object], bool] = lambda v: isinstance(v, dict)  # noqa: E731
        _exactly(
            manifest,
            "manifest",
            {
                "format": lambda v: True,
                "version": lambda v: True,
                "exported_at": _real_timestamp,
                "office": is_object,
                "events": is_object,
                "keys": is_object,
                "checkpoints": is_object,
                "blobs": lambda v: v is None or isinstance(v, dict),
            },
        )
        office = manifest["office"]
        _exactly(office, "manifest office", {"code": _filled, "name": _filled, "timezone": _filled})
        _exactly(
            manifest["events"],
            "manifest events",
            {"count": _integer, "head": _hex64, "sha256": _hex64},
            {"file": "events.jsonl"},
        )
        for section in ("keys", "checkpoints"):
            fixed = {"file": f"{section}.json"}
            _exactly(manifest[section], f"manifest {section}", {"sha256": _hex64}, fixed)
        if manifest["blobs"] is not None:
            _exactly(manifest["blobs"], "manifest blobs", {"count": _integer}, {"folder": "blobs"})
        folder = self.path / "blobs"
        present = folder.is_symlink() or folder.exists()
        if present != (manifest["blobs"] is not None):
            raise Unreadable("blobs: the folder and manifest.blobs disagree")
        if present and (folder.is_symlink() or not folder.is_dir()):
            raise Unreadable("blobs: not a folder")

        files = {}
        for section, name, limit in (
            ("events", "events.jsonl", None),
            ("keys", "keys.json", MAX_LIST_BYTES),
            ("checkpoints", "checkpoints.json", MAX_LIST_BYTES),
        ):
            files[section] = self._member(name, limit)
            if _sha256_hex(files[section]) != manifest[section]["sha256"]:
                raise Unreadable(f"{section}: SHA-256 differs from the manifest")

        keys = strict_json(files["keys"], "keys")
        if not isinstance(keys, list):
            raise Unreadable("keys: not an array")
        for number, entry in enumerate(keys, start=1):
            _exactly(entry, f"keys: entry {number}", KEY_MEMBERS)
        checkpoints = strict_json(files["checkpoints"], "checkpoints")
        if not isinstance(checkpoints, list):
            raise Unreadable("checkpoints: not an array")
        checkpoint_members: dict[str, Callable[[object], bool]] = {
            "office": lambda v: v == office["code"],
            "seq": lambda v: _integer(v, 1),
            "head_hash": _hex64,
            "recorded_at": _real_timestamp,
            "key_fingerprint": _hex64,
            "signature": lambda v: _is_hex(v, 128),
        }
        for number, entry in enumerate(checkpoints, start=1):
            _exactly(entry, f"checkpoints: entry {number}", checkpoint_members)

        lines = files["events"].split(b"\n")
        if lines[-1] != b"":
            raise Unreadable(f"events: line {len(lines)} does not end with a newline (truncated)")
        events = []
        for number, raw in enumerate(lines[:-1], start=1):
            what = f"events: line {number}"
            if len(raw) + 1 > MAX_LINE_BYTES:
                raise Unreadable(f"{what}: longer than {MAX_LINE_BYTES} bytes")
            line = strict_json(raw, what)
            if not isinstance(line, dict) or set(line) != {"body", "hash", "signature"}:
                raise Unreadable(f"{what} is not a whole event")
            if not _is_hex(line["hash"], 64) or not _is_hex(line["signature"], 128):
                raise Unreadable(f"{what}: hash or signature is not lowercase hex")
            try:
                canonical = spec_canonical(line)
            except ValueError as exc:
                raise Unreadable(f"{what}: cannot be encoded canonically ({exc})") from None
            if canonical != raw:
                raise Unreadable(f"{what} is not canonical")
            events.append((line["body"], line["hash"], line["signature"]))
        if len(events) != manifest["events"]["count"]:
            raise Unreadable("events: line count differs from the manifest")
        return manifest, events, keys, checkpoints

    def _event(self, body: object, written_hash: object, signature: object) -> None:
        """§10 step 4 for one event.  Problems come in the order of §10: links and order
        (steps 1–6), the content hash (10), keys and rules (7–9), the signature (11)."""
        self.count += 1
        n = self.count
        at = f"event #{n}"
        self.head = self.hash_at[n] = str(written_hash)
        malformed = body_shape_problem(body)
        if malformed is not None:  # nothing else is checked or applied; link and latest stay
            self.problem(f"{at}: malformed event: {malformed}")
            return
        assert isinstance(body, dict)
        if body["seq"] != n:
            self.problem(f"{at}: seq {body['seq']!r}")
        if body["office"] != self.office:
            self.problem(f"{at}: office {body['office']!r}")
        if body["prev"] != self.link:
            self.problem(f"{at}: prev does not link to the previous hash")
        self.link = str(written_hash)
        if body["time"] < self.latest:
            self.problem(f"{at}: time earlier than an earlier event's")
        self.latest = max(self.latest, body["time"])
        if not meaning_fits(body["action"], body["meaning"]):
            self.problem(f"{at}: meaning {body['meaning']!r} is not the action's")
        encoded: bytes | None = None
        try:
            encoded = spec_canonical(body)
        except ValueError as exc:
            self.problem(f"{at}: not canonical JSON ({exc})")
        if encoded is not None and _sha256_hex(encoded) != written_hash:
            self.problem(f"{at}: content does not match its hash")

        public = self._signing_key(at, body)
        usable = self._rules(at, body)

        if public is not None and usable and encoded is not None:
            self.signatures_checked += 1
            if not _ed25519_ok(str(public), str(signature), encoded):
                self.problem(f"{at}: signature does not verify")

    def _signing_key(self, at: str, body: dict[str, Any]) -> object:
        """§5 (step 7): the public key to verify the event with, after the key checks."""
        action, actor, payload = body["action"], body["actor"], body["payload"]
        key_id = body["signer"]["key"]
        if self.count == 1 and action == "key.registered" and payload.get("fingerprint") == key_id:
            if payload.get("owner") != actor:  # the founding rule
                self.problem(f"{at}: founding key registered for someone other than the actor")
            return payload.get("public_key")
        info = self.keys.get(key_id)
        if info is None:
            self.problem(f"{at}: signed with an unregistered key")
            return None
        if info["purpose"] != "user" or info["owner"] != actor:
            self.problem(f"{at}: key of {info['owner']!r} used by {actor!r}")
        if info["ended_at"] is not None:  # by chain position, never by time (§5 rule 3)
            self.problem(f"{at}: key used after it ended at event #{info['ended_at']}")
        if not info["own"] and not own_key_change(body, key_id):  # §5 rule 5
            self.problem(
                f"{at}: temporary key of {actor!r} (registered by someone else) signs only "
                "its owner's own change of key"
            )
        return info["public_key"]

    def _rules(self, at: str, body: dict[str, Any]) -> bool:
        """§7 (step 8) before the event's effect, then the effect (step 9).  False when the
        payload lacks what the action needs (the signature is then not checked)."""
        action, actor, subject = body["action"], body["actor"], body["subject"]
        role, payload = body["signer"]["role"], body["payload"]
        if self.count == 1:
            self.founder = actor
        founding = not self.founded
        pending, self.exclusive = self.exclusive, None
        if founding:
            if actor != self.founder:
                self.problem(
                    f"{at}: {actor!r} signed while the office was founded; "
                    f"only its founder {self.founder!r} may"
                )
            if subject != actor:
                self.problem(
                    f"{at}: during founding, the founder acts only for themselves, "
                    f"not about {subject!r}"
                )
        if actor in self.inactive:
            self.problem(f"{at}: {actor!r} acted after deactivation")
        if not founding and role != KEY_HOLDER and role not in self.roles.get(actor, set()):
            self.problem(f"{at}: {actor!r} signed as {role!r} without that role")
        self.raising, self.awaited = self.awaited, None
        if self.raising is not None and not (
            action == "nc.raised"
            and subject == self.raising[1]
            and payload.get("source") == "internal_audit"
            and payload.get("finding") == self.raising[0]
        ):
            self.problem(
                f"{at}: finding {self.raising[0]} must be followed by the nc.raised of "
                f"{self.raising[1]}"
            )
            self.raising = None
        lacking = [
            name for name, ok in PAYLOAD_NEEDS.get(action, {}).items() if not ok(payload.get(name))
        ]
        if lacking:
            self.problem(f"{at}: the payload of {action!r} lacks a usable {lacking[0]!r}")
            return False
        if action in TABLE:
            self._authorise(at, body, founding, pending)
            self._apply(at, body)
        elif action.startswith(REVISION_PREFIX):
            self._transition(at, body, founding)
            if subject in self.files and payload.get("sha256") != self.files[subject]:
                self.problem(f"{at}: {subject}: the transition names a file not its current one")
        elif action.startswith(NC_PREFIX):
            self._nc_transition(at, body)
        else:
            self.problem(f"{at}: no authorisation rule for {action!r}")
        return True

    def _allowed(
        self, action: str, subject: str, payload: dict[str, Any], pending: dict[str, str] | None
    ) -> tuple[frozenset[str] | None, list[str]]:
        """The allowed roles of the rows that depend on what is acted on; with the problems
        that leave them unknown."""
        if action == "office.document_type.added":
            return frozenset({ADMIN, *payload["creator_roles"]}), []
        if action == "document.created":
            if payload["type"] not in self.types:
                return None, [f"document type {payload['type']!r} was never added here"]
            return self.types[payload["type"]][1], []
        if action in (*CREATIONS, ADOPTED, REPLACED, "ingest.duplicate.set_aside"):
            number = subject.partition("#")[0]
            if number not in self.documents:
                return None, [f"document {number!r} was never created"]
            known = self.types.get(self.documents[number])
            return (known[1] if known else None), []
        if action == SUPERSEDED and pending is not None:
            return frozenset({pending["role"]}), []
        return None, []

    def _authorise(
        self, at: str, body: dict[str, Any], founding: bool, pending: dict[str, str] | None
    ) -> None:
        """One row of the authorisation table (§7), with the supersession rule."""
        action, actor, subject = body["action"], body["actor"], body["subject"]
        role, payload = body["signer"]["role"], body["payload"]
        name, allowed = TABLE[action]
        found: list[str] = []
        if allowed is None:
            allowed, found = self._allowed(action, subject, payload, pending)
        if allowed is not None and not founding and role not in allowed:
            found.append(f"signed as {role!r}; allowed: {', '.join(sorted(allowed))}")
        if action in ("key.registered", "key.retired", "key.revoked"):
            if payload["owner"] != subject:
                found.append(f"the key's owner {payload['owner']!r} is not the subject {subject!r}")
            if action != "key.revoked" and role == KEY_HOLDER and subject != actor:
                found.append(
                    f"as key holder, {actor!r} acts only on their own key, not {subject!r}'s"
                )
        if action == "key.registered":
            purpose = payload["purpose"]
            if purpose == "office":
                if subject != self.office or role != ADMIN:
                    found.append("only an admin registers an office key, and only this office's")
                valid = [
                    fp
                    for fp, i in self.keys.items()
                    if i["purpose"] == "office" and i["ended_at"] is None
                ]
                if _key_matches(payload) and payload["fingerprint"] not in self.keys and valid:
                    found.append("a second valid office key")
            elif purpose != "user":
                found.append(f"purpose {purpose!r} is neither 'user' nor 'office'")
        elif action == "user.created" and subject == actor and not founding:
            found.append(f"{actor!r} may not enrol themselves")
        elif action == "user.role.granted" and subject == actor:
            if not (founding and payload["role"] == ADMIN):
                found.append(f"{actor!r} may not grant a role to themselves")
        elif action == "user.deactivated" and subject == actor:
            found.append(f"{actor!r} may not deactivate themselves")
        elif action == "document.created" and subject in self.documents:
            found.append(f"document {subject!r} is created a second time")
        elif action == "workflow.registered":
            definition = payload["definition"]
            if definition.get("name") != subject:
                found.append(f"the definition is not named {subject!r}")
            try:
                digest = _sha256_hex(spec_canonical(definition))
            except ValueError as exc:
                found.append(f"the definition cannot be encoded canonically ({exc})")
            else:
                if digest != payload["sha256"]:
                    found.append("sha256 is not that of the definition's canonical encoding")
        elif action == SUPERSEDED:
            found += self._supersession(body, pending)
        malformed = content_payload_problem(action, payload)
        if malformed is not None:
            found.append(f"malformed payload: {malformed}")
        found += capa_row_problems(self.office, action, subject, payload, role)
        if action == "district.sop.adopted" and not subject.startswith(f"{payload['district']}/"):
            found.append("not a document of the district it names")
        if action == "custody.moved" and payload["from"] == payload["to"]:
            found.append("from and to are the same place")
        if action == REPLACED and payload["sha256"] == payload["previous_sha256"]:
            found.append("the new file is the one it replaces")
        for what in found:
            self.problem(f"{at}: rule {name!r}: {what}")

    def _supersession(self, body: dict[str, Any], pending: dict[str, str] | None) -> list[str]:
        """§7: a supersession only right after a transition of another revision of the same
        document into an exclusive state: same actor (and role), that state → its exclusive."""
        subject, payload = body["subject"], body["payload"]
        if (
            pending is None
            or pending["document"] != subject.partition("#")[0]
            or pending["revision"] == subject
        ):
            return [
                f"{subject} superseded, but no other revision of its document entered an "
                "exclusive state just before"
            ]
        self.exclusive = pending  # one supersession per other revision in that state
        found = []
        if body["actor"] != pending["actor"]:
            found.append(f"{subject} superseded by {body['actor']!r}, not {pending['actor']!r}")
        current = self.state.get(subject)
        if (payload["from"], current, payload["to"]) != (
            pending["state"],
            pending["state"],
            pending["moves_to"],
        ):
            found.append(
                f"{subject} recorded {payload['from']!r}→{payload['to']!r} while it was "
                f"{current!r}; the exclusive rule moves {pending['state']!r} to "
                f"{pending['moves_to']!r}"
            )
        return found

    def _workflow_of(self, subject: str) -> dict[str, Any] | None:
        """The definition in force for a revision: its document's type's workflow (§7)."""
        known = self.types.get(self.documents.get(subject.partition("#")[0], ""))
        return self.workflows.get(known[0]) if known else None

    def _transition(self, at: str, body: dict[str, Any], founding: bool) -> None:
        """§7 workflow rules for any other ``document.revision.*`` event: a named transition
        of the definition in force."""
        action, actor, subject = body["action"], body["actor"], body["subject"]
        role, payload = body["signer"]["role"], body["payload"]
        name = payload.get("transition")
        if not isinstance(name, str):
            self.problem(
                f"{at}: {subject}: {action!r} changes a revision's state without naming "
                "its transition"
            )
            return
        before, after, current = payload.get("from"), payload.get("to"), self.state.get(subject)
        if subject not in self.authors:
            self.problem(f"{at}: {subject}: {name!r} on a revision that was never created")
        else:
            if self.authors[subject] == "":
                self.problem(
                    f"{at}: {subject}: {name!r} before its named author "
                    f"{self.named[subject][0]!r} adopted it"
                )
            if before != current:
                self.problem(
                    f"{at}: {subject}: {name!r} from {before!r}, but the revision is {current!r}"
                )
        self.state[subject] = after
        workflow = self._workflow_of(subject)
        if workflow is None:
            self.problem(f"{at}: {subject}: no registered workflow governs this revision")
            return
        step = workflow["transitions"].get(name)
        if step is None:
            self.problem(
                f"{at}: {subject}: workflow {workflow['name']!r} has no transition {name!r}"
            )
            return
        found = []
        if action != transition_action(step["meaning"]):
            found.append(f"{name!r} is recorded as {transition_action(step['meaning'])!r}")
        if before not in step["from"]:
            found.append(f"{name!r} is not taken from {before!r}")
        if after != step["to"]:
            found.append(f"{name!r} leads to {step['to']!r}, not {after!r}")
        if not founding and role not in step["roles"]:
            found.append(f"{name!r} needs role {' or '.join(step['roles'])}, not {role!r}")
        comment = payload.get("comment")
        if step.get("comment_required") is True and not _text(comment):
            found.append(f"{name!r} needs a comment")
        by = step.get("by", [])
        if by and not any(
            self.authors.get(subject) == actor
            if entry == "author"
            else actor in self.took.get((subject, entry), set())
            for entry in by
        ):
            found.append(f"only {' or '.join(by)} may {name} it, not {actor!r}")
        for entry in step.get("not_by", []):
            if entry == "author" and self.authors.get(subject) == actor:
                found.append(f"segregation of duties: {actor!r} wrote it and may not {name} it")
            elif entry != "author" and actor in self.took.get((subject, entry), set()):
                found.append(
                    f"segregation of duties: {actor!r} took {entry!r} on it and may not "
                    f"also {name} it"
                )
        for what in found:
            self.problem(f"{at}: {subject}: {what}")
        self.took.setdefault((subject, name), set()).add(actor)
        entered = workflow["states"].get(after) if isinstance(after, str) else None
        self._revision_moved(
            subject, actor, isinstance(entered, dict) and entered.get("in_force") is True
        )
        target = workflow["states"][step["to"]]
        if "exclusive" in target:
            self.exclusive = {
                "document": subject.partition("#")[0],
                "revision": subject,
                "state": step["to"],
                "moves_to": target["exclusive"],
                "actor": actor,
                "role": role,
            }

    def _apply(self, at: str, body: dict[str, Any]) -> None:
        """Step 9: the effect of an event of the table."""
        action, actor, subject, payload = (
            body["action"],
            body["actor"],
            body["subject"],
            body["payload"],
        )
        if action in REGISTER_KINDS:
            self.time = body["time"]
            register_event(self, at, body)
        if action == "key.registered":
            if not _key_matches(payload):
                self.problem(f"{at}: fingerprint is not that of the key")
            elif payload["fingerprint"] not in self.keys:  # the first registration counts
                self.keys[payload["fingerprint"]] = {
                    "owner": payload["owner"],
                    "public_key": payload["public_key"],
                    "purpose": payload["purpose"],
                    "ended_at": None,
                    "own": actor == payload["owner"],  # else temporary (§5 rule 5)
                }
        elif action in ("key.retired", "key.revoked"):
            info = self.keys.get(payload["fingerprint"])
            if info is not None and info["ended_at"] is None:
                info["ended_at"] = self.count
        elif action == "audit.checkpoint.recorded":
            recorded = (payload["seq"], payload["head"], payload["signature"])
            self.recorded.append((self.count, *recorded))
        elif action == "user.role.granted":
            self.roles.setdefault(subject, set()).add(payload["role"])
            self.founded = self.founded or payload["role"] == ADMIN
        elif action == "user.role.revoked":
            self.roles.get(subject, set()).discard(payload["role"])
        elif action == "user.deactivated":
            self.inactive.add(subject)
        elif action in CAPA_KINDS:
            CAPA_KINDS[action](self, f"{at}: {subject}", body)
            for file in payload.get("evidence", []):  # an NC's or an action's evidence (§9)
                if isinstance(file, dict) and _hex64(file.get("sha256")):
                    self.blobs.add(file["sha256"])
        elif action == "custody.moved":
            custody_moved(self, f"{at}: {subject}", body)
        elif action in DISTRICT_PAYLOADS:
            district_event(self, f"{at}: {subject}", body)
        elif action in SERVICE_PAYLOADS:
            service_event(self, f"{at}: {subject}", body)
        elif action == "workflow.registered":
            self._register_workflow(at, subject, payload["definition"])
        elif action == "office.document_type.added":
            workflow = payload["workflow"]
            if workflow not in self.workflows:
                self.problem(f"{at}: {subject} uses workflow {workflow!r}, never registered here")
            elif self.workflows[workflow].get("subject", "revision") != "revision":
                self.problem(
                    f"{at}: {subject} uses workflow {workflow!r}, which moves no revisions"
                )
            self.types[subject.rpartition("/")[2]] = (workflow, frozenset(payload["creator_roles"]))
            code = subject.rpartition("/")[2]
            if payload.get("kind") == "register":
                self.registers.add(code)
            elif payload.get("kind") == "document":
                self.controlled.add(code)
            append_only = payload.get("append_only", payload.get("kind") == "register")
            if not isinstance(append_only, bool):
                self.problem(f"{at}: {subject}: append_only is neither true nor false")
            if append_only is not False:
                self.append_only.add(code)
            if "custody" in payload:
                custody_recorded(self, f"{at}: {code}", code, payload["custody"])
        elif action == "document.created":
            self.documents.setdefault(subject, payload["type"])
            self.created_on.setdefault(subject, _local_day(self))  # §7 service rules
        elif action in CREATIONS:
            if _hex64(payload["sha256"]):  # B holds SHA-256 digests only (§13 rule 9)
                self.blobs.add(payload["sha256"])
            self._created(at, action, actor, subject, payload)
            self.files.setdefault(subject, payload["sha256"])
        elif action == ADOPTED:
            self._adopted(at, actor, subject, payload)
        elif action == REPLACED:
            self._replaced(at, actor, subject, payload)
        elif action == SUPERSEDED:
            self.state[subject] = payload["to"]

    def _register_workflow(self, at: str, name: str, definition: dict[str, Any]) -> None:
        """A valid definition is in force from here on (§7); an invalid one is a problem, and so
        is one that changes what a workflow in force moves."""
        invalid = definition_problem(definition)
        if invalid is not None:
            self.problem(f"{at}: workflow {name!r} is not a valid definition: {invalid}")
            return
        moves = definition.get("subject", "revision")
        if name in self.workflows and self.workflows[name].get("subject", "revision") != moves:
            self.problem(f"{at}: workflow {name!r} would move {moves}s instead")
            return
        for step_name, step in definition["transitions"].items():
            if transition_action(step["meaning"], moves) in MEANINGS:
                self.problem(
                    f"{at}: workflow {name!r}: transition {step_name!r} would be recorded as "
                    f"{transition_action(step['meaning'], moves)!r}"
                )
        self.workflows[name] = definition

    def _created(
        self, at: str, action: str, actor: str, subject: str, payload: dict[str, Any]
    ) -> None:
        """§7: a revision is created once, in its workflow's initial state, by its author,
        numbered next, while no earlier revision of its document is open, with a new file, and
        never after revision 0 of an append-only type; a draft of a controlled document filed
        from the inbox has no author until the one it names (not its filer) adopts it."""
        state = payload["state"]
        if subject in self.authors:
            self.problem(f"{at}: {subject} is created a second time")
            return
        workflow = self._workflow_of(subject)
        if workflow is not None and state != workflow["initial"]:
            self.problem(
                f"{at}: {subject} created in state {state!r}; its workflow "
                f"{workflow['name']!r} starts in {workflow['initial']!r}"
            )
        number, _, revno = subject.partition("#")
        earlier = self.revisions.setdefault(number, [])
        if revno != str(len(earlier)):
            self.problem(f"{at}: {subject}: revision {len(earlier)} comes next")
        if revno != "0" and self.documents.get(number) in self.append_only:
            self.problem(f"{at}: {subject}: its type is append-only")
        flagged = workflow["states"] if workflow is not None else {}
        for other in earlier:
            if flagged.get(self.state.get(other), {}).get("open") is True:
                self.problem(f"{at}: {subject}: {other} is still open")
            if self.files.get(other) == payload["sha256"]:
                self.problem(f"{at}: {subject}: its file is {other}'s")
        earlier.append(subject)
        self.authors[subject] = actor
        self.state[subject] = state
        if action == "document.revision.filed" and self.documents.get(number) in self.controlled:
            source = payload.get("source")
            named = source.get("author") if isinstance(source, dict) else None
            self.named[subject] = (named, actor)
            self.authors[subject] = ""
            if not named:
                self.problem(f"{at}: {subject}: filed from the inbox naming no author")
            elif named == actor:
                self.problem(f"{at}: {subject}: its filer {actor!r} names themselves its author")

    def _adopted(self, at: str, actor: str, subject: str, payload: dict[str, Any]) -> None:
        """§7: the author a draft filed from the inbox names (not its filer) signs for it, and
        becomes its author."""
        if self.authors.get(subject) != "":
            self.problem(f"{at}: {subject}: adopted, but it awaits no author's signature")
            return
        named, filer = self.named[subject]
        if actor != named:
            self.problem(f"{at}: {subject}: adopted by {actor!r}, but it names {named!r}")
        elif actor == filer:
            self.problem(f"{at}: {subject}: adopted by its filer {actor!r}")
        else:
            if payload.get("author") != actor:
                self.problem(f"{at}: {subject}: {actor!r} adopted it naming another author")
            self.authors[subject] = actor

    def _replaced(self, at: str, actor: str, subject: str, payload: dict[str, Any]) -> None:
        """§7: a draft's file replaced by its author, in the initial state, never a register
        record's, by a file that is no other revision's."""
        number = subject.partition("#")[0]
        workflow = self._workflow_of(subject)
        found = []
        if subject not in self.authors:
            found.append("the revision was never created")
        elif self.documents.get(number) in self.registers | self.append_only:
            found.append("a register or append-only record's file is never replaced")
        else:
            if self.authors[subject] == "":
                found.append(f"its named author {self.named[subject][0]!r} has not adopted it")
            elif self.authors[subject] != actor:
                found.append(f"{actor!r} is not its author {self.authors[subject]!r}")
            if workflow is not None and self.state.get(subject) != workflow["initial"]:
                found.append(f"it is {self.state.get(subject)!r}, not {workflow['initial']!r}")
            if payload["previous_sha256"] != self.files.get(subject):
                found.append("previous_sha256 is not its current file")
            if any(
                sha == payload["sha256"]
                for other, sha in self.files.items()
                if other != subject and other.partition("#")[0] == number
            ):
                found.append("the new file is another revision's")
            self.files[subject] = payload["sha256"]
            self.blobs.add(payload["sha256"])
        for what in found:
            self.problem(f"{at}: {subject}: file replacement: {what}")

    def _key_list(self, listed: list[Any]) -> None:
        by_fingerprint = {entry["fingerprint"]: entry for entry in listed}
        for fingerprint, info in self.keys.items():
            entry = by_fingerprint.get(fingerprint)
            if entry is None:
                self.problem(f"key list: {fingerprint[:16]} missing")
            elif entry["public_key"] != info["public_key"] or entry["owner"] != info["owner"]:
                self.problem(f"key list: {fingerprint[:16]} differs from the chain")

    def _checkpoints(self, checkpoints: list[Any]) -> None:
        office_keys = {k: i["public_key"] for k, i in self.keys.items() if i["purpose"] == "office"}
        for c in checkpoints:
            statement = spec_canonical(
                {
                    "v": 1,
                    "type": "qms-checkpoint",
                    "office": c["office"],
                    "seq": c["seq"],
                    "head": c["head_hash"],
                    "time": c["recorded_at"],
                }
            )
            public = office_keys.get(c["key_fingerprint"])
            if public is None:
                self.problem(f"checkpoint #{c['seq']}: not signed by a registered office key")
            elif not _ed25519_ok(str(public), c["signature"], statement):
                self.problem(f"checkpoint #{c['seq']}: office signature does not verify")
            else:
                self.signatures_checked += 1
            if self.count < c["seq"]:
                self.problem(f"checkpoint #{c['seq']}: the chain's tail was removed")
            elif self.hash_at[c["seq"]] != c["head_hash"]:
                self.problem(f"checkpoint #{c['seq']}: the chain was rewritten")

    def _recorded_checkpoints(self, checkpoints: list[Any]) -> None:
        """§10 step 7: every checkpoint the chain recorded is still in the list, unaltered."""
        listed = {(c["seq"], c["head_hash"], c["signature"]) for c in checkpoints}
        for number, seq, head, signature in self.recorded:
            if (seq, head, signature) not in listed:
                self.problem(f"event #{number}: recorded checkpoint #{seq} missing from the list")

    def check_code(self, office: str, code: str) -> bool:
        """True if a short code from paper is valid and matches this chain (§8, §10 step 8)."""
        compact = "".join(code.split()).upper()
        code_office, _, rest = compact.partition("#")
        seq_text, _, body = rest.partition(":")
        body = body.replace("-", "")
        if not (seq_text.isascii() and seq_text.isdigit() and int(seq_text) > 0):
            return False
        seq = int(seq_text)
        if code_office != office or seq > self.count:
            return False
        if _is_hex(body.lower(), 16):  # an old code, without a check character
            return self.hash_at[seq].startswith(body.lower())
        body = body.replace("O", "0").replace("I", "1").replace("L", "1")
        return (
            len(body) == 14
            and all(c in BASE32 for c in body)
            and len(seq_text) < 32
            and _damm32(f"{BASE32[len(seq_text)]}{seq_text}{body}") == 0
            and body[:13] == _code_characters(self.hash_at[seq])
        )

    def _office(self, office: dict[str, Any], bodies: list[Any]) -> None:
        """§13 rule 8: the manifest's office name and time zone are the chain's."""
        founding = next(
            (
                body
                for body in bodies
                if isinstance(body, dict)
                and body.get("action") == "office.created"
                and body.get("subject") == office["code"]
            ),
            None,
        )
        payload = founding.get("payload") if founding is not None else None
        if not isinstance(payload, dict):
            self.problem("office: no office.created event covers the manifest's office")
            return
        for field in ("name", "timezone"):
            if office[field] != payload.get(field):
                self.problem(f"office: manifest {field} is not the chain's")

    def _blobs(self, listed: dict[str, Any] | None) -> None:
        """§13 rule 9: blobs/ holds exactly the blobs the chain names, each hashing to its name."""
        named = self.blobs
        if listed is None:
            if named:
                self.problem("blobs NOT checked: the bundle has no blobs")
            return
        folder = self.path / "blobs"
        present = set()
        for entry in sorted(folder.iterdir()):
            if entry.is_symlink() or not entry.is_file() or not _is_hex(entry.name, 64):
                self.problem(f"blobs/{entry.name}: not a blob")
            else:
                present.add(entry.name)
        for sha in sorted(named):
            if sha not in present:
                self.problem(f"blob {sha[:16]}: missing")
            elif _sha256_hex((folder / sha).read_bytes()) != sha:
                self.problem(f"blob {sha[:16]}: content does not hash to its name")
        for sha in sorted(present - named):
            self.problem(f"blob {sha[:16]}: not named by the chain")
        if listed["count"] != len(named):
            self.problem("manifest blobs count is not the number of blobs the chain names")

    # §7 CAPA rules ------------------------------------------------------------------------

    def _nc_workflow(self, nc: dict[str, Any]) -> dict[str, Any] | None:
        """The definition in force under an NC's workflow name, if it moves nonconformities."""
        found = self.workflows.get(nc["workflow"])
        return found if found is not None and found.get("subject") == "nonconformity" else None

    def _state_flag(self, nc: dict[str, Any], flag: str) -> bool:
        workflow = self._nc_workflow(nc)
        state = workflow["states"].get(nc["state"]) if workflow is not None else None
        return isinstance(state, dict) and state.get(flag) is True

    def _revision_moved(self, subject: str, actor: str, into_force: bool) -> None:
        """A revision's transition: who made it in force, and the document actions it fulfils
        (a later revision entering the in-force state)."""
        number, _, revno = subject.partition("#")
        before = self.last_taker.get(subject)
        self.last_taker[subject] = actor
        current = self.made_in_force.get(number)
        if not into_force:
            if current is not None and current[0] == subject:
                del self.made_in_force[number]
            return
        makers = set(current[1]) if current is not None and current[0] == subject else set()
        makers.add(actor)
        if before is not None:
            makers.add(before)
        self.made_in_force[number] = (subject, makers)
        for action in self.nc_actions.values():
            if (
                action["document"] == number
                and not action["done"]
                and revno.isascii()
                and revno.isdigit()
                and action["after_revno"] < int(revno)
            ):
                action["done"] = True
                author = self.authors.get(subject) or actor
                self.ncs[action["nc"]]["implementers"].update({author, actor})

    def _nc_raised(self, at: str, body: dict[str, Any]) -> None:
        payload, number = body["payload"], body["subject"]
        if number in self.ncs:
            self.problem(f"{at}: raised a second time")
            return
        name, state = payload.get("workflow"), payload.get("state")
        workflow = self.workflows.get(name) if isinstance(name, str) else None
        if workflow is None or workflow.get("subject") != "nonconformity":
            self.problem(f"{at}: no nonconformity workflow {name!r} is in force")
        elif state != workflow["initial"]:
            self.problem(f"{at}: raised in {state!r}, not in {workflow['initial']!r}")
        for member, kinds in (("documents", self.controlled), ("records", self.registers)):
            cited = payload.get(member)
            for document in cited if isinstance(cited, list) else []:
                if document not in self.documents:
                    self.problem(f"{at}: {member} names {document!r}, no document of this chain")
                elif self.documents[document] not in kinds:
                    self.problem(f"{at}: {member} names {document!r}, of another kind")
        finding = payload.get("finding")
        if finding and (self.raising is None or self.raising[0] != finding):
            self.problem(f"{at}: names finding {finding!r}, not recorded just before")
        if self.raising is not None:  # §7: the finding's auditor raises it, major or minor
            if body["actor"] != self.awaited_by:
                self.problem(f"{at}: raised by another than its finding's {self.awaited_by!r}")
            if payload.get("severity") not in ("major", "minor"):
                self.problem(f"{at}: a finding's NC of severity {payload.get('severity')!r}")
        responses = payload.get("responses")
        responses = (
            [r for r in responses if isinstance(r, str)] if isinstance(responses, list) else []
        )
        if responses and payload.get("source") != "citizen_feedback":
            self.problem(f"{at}: responses linked, but its source is {payload.get('source')!r}")
        self._claim(at, number, responses)
        audited = ""
        if self.raising is not None:  # the finding just before: its item's area owner
            audit, _, item = self.raising[0].rpartition("#")
            audited = self.audit_items[audit][int(item) - 1]["area_owner"]
        self.ncs[number] = {
            "workflow": name,
            "state": state,
            "raiser": body["actor"],
            "source": payload.get("source"),
            "audited": audited,
            "actions": [],
            "counted": 0,  # how many actions were added before the last reset
            "implementers": set(),
            "took": {},
        }

    def _claim(self, at: str, number: str, responses: list[str]) -> None:
        for response in responses:
            if response not in self.received:
                self.problem(f"{at}: response {response} was never received")
            elif self.received[response]:
                self.problem(f"{at}: response {response} is linked to {self.received[response]}")
            else:
                if response not in self.poor:
                    self.problem(f"{at}: response {response} is not poor")
                self.received[response] = number

    def _feedback_linked(self, at: str, body: dict[str, Any]) -> None:
        nc = self.ncs.get(body["subject"])
        if nc is None:
            self.problem(f"{at}: no such nonconformity was raised")
            return
        if nc["source"] != "citizen_feedback":
            self.problem(f"{at}: not raised from citizen feedback")
        if self._state_flag(nc, "terminal"):
            self.problem(f"{at}: it is {nc['state']!r}, no longer open")
        responses = body["payload"].get("responses")
        self._claim(
            at,
            body["subject"],
            [r for r in responses if isinstance(r, str)] if isinstance(responses, list) else [],
        )

    def _feedback_received(self, at: str, body: dict[str, Any]) -> None:
        responses, rule = body["payload"].get("responses"), body["payload"].get("poor")
        rule = rule if isinstance(rule, dict) else {}
        for response in responses if isinstance(responses, list) else []:
            key = response.get("id") if isinstance(response, dict) else None
            if not isinstance(key, str):
                continue
            if key in self.received:
                self.problem(f"{at}: response {key} was received before")
                continue
            self.received[key] = ""
            self.received_on[key] = str(response.get("time"))[:10]
            ratings = response.get("ratings")
            rated = ratings.get(rule.get("rating")) if isinstance(ratings, dict) else None
            limit = rule.get("at_most")
            if type(rated) is int and type(limit) is int and rated <= limit:
                self.poor[key] = at

    def _comments_erased(self, at: str, body: dict[str, Any]) -> None:
        """§7: each id received, not erased yet, its UTC date not after ``before``."""
        before, responses = body["payload"].get("before"), body["payload"].get("responses")
        if _date(before):  # §7: a real date, not after the erasure's own (a day's grace)
            if not _real_date(before):
                self.problem(f"{at}: before {before!r} is no date")
            elif before > _day_after(body["time"][:10]):
                self.problem(f"{at}: before {before} is after the erasure")
        for key in responses if isinstance(responses, list) else []:
            if not isinstance(key, str):
                continue
            if key not in self.received_on:
                self.problem(f"{at}: response {key} was never received")
            elif self.received_on[key] is None:
                self.problem(f"{at}: response {key} was erased before")
            elif isinstance(before, str) and str(self.received_on[key]) > before:
                self.problem(f"{at}: response {key} is not older than {before}")
            self.received_on[key] = None

    def _nc_transition(self, at: str, body: dict[str, Any]) -> None:
        """§7: an ``nc.<m>`` event is a transition of its NC's workflow."""
        action, actor, number = body["action"], body["actor"], body["subject"]
        role, payload = body["signer"]["role"], body["payload"]
        malformed = content_payload_problem(NC_PREFIX, payload)
        if malformed is not None:
            self.problem(f"{at}: {number}: malformed payload: {malformed}")
        name, nc = payload.get("transition"), self.ncs.get(number)
        if not isinstance(name, str) or nc is None:
            self.problem(f"{at}: {number}: {action!r} names no transition of a raised NC")
            return
        before, after = payload.get("from"), payload.get("to")
        if before != nc["state"]:
            self.problem(f"{at}: {number}: {name!r} from {before!r}, but it is {nc['state']!r}")
        nc["state"] = after
        workflow = self._nc_workflow(nc)
        step = workflow["transitions"].get(name) if workflow is not None else None
        if step is None:
            self.problem(f"{at}: {number}: no transition {name!r} in its workflow")
            return

        def took(entry: str) -> bool:
            if entry == "implementer":
                return actor in nc["implementers"]
            if entry == "audited":
                return bool(nc["audited"]) and actor == nc["audited"]
            return actor in nc["took"].get(entry, set())

        found = []
        if action != transition_action(step["meaning"], "nonconformity"):
            found.append(f"recorded as {action!r}")
        if before not in step["from"] or after != step["to"]:
            found.append(f"{name!r} goes {step['from']}→{step['to']}")
        if role not in step["roles"]:
            found.append(f"{name!r} needs role {' or '.join(step['roles'])}, not {role!r}")
        if step.get("comment_required") is True and not _text(payload.get("comment")):
            found.append(f"{name!r} needs a comment")
        by = step.get("by", [])
        if by and not any(nc["raiser"] == actor if e == "author" else took(e) for e in by):
            found.append(f"only {' or '.join(by)} may {name} it")
        for entry in step.get("not_by", []):
            if nc["raiser"] == actor if entry == "author" else took(entry):
                found.append(f"segregation of duties: {actor!r} is {entry!r} of it")
        actions = [self.nc_actions[key]["done"] for key in nc["actions"][nc["counted"] :]]
        if "actions" in step and not actions:
            found.append(f"{name!r} needs an action")
        elif step.get("actions") == "done" and not all(actions):
            found.append(f"{name!r} needs every action done")
        for what in found:
            self.problem(f"{at}: {number}: {what}")
        nc["took"].setdefault(name, set()).add(actor)
        if step.get("resets_actions") is True:
            nc["counted"] = len(nc["actions"])

    def _action_added(self, at: str, body: dict[str, Any]) -> None:
        key, payload = body["subject"], body["payload"]
        number, _, n = key.rpartition("#")
        nc = self.ncs.get(number)
        if nc is None:
            self.problem(f"{at}: its nonconformity was never raised")
            return
        expected = f"A{len(nc['actions']) + 1}"
        if n != expected:
            self.problem(f"{at}: {expected} comes next")
            if key in self.nc_actions:
                return
        if not self._state_flag(nc, "accepts_actions"):
            self.problem(f"{at}: the NC is {nc['state']!r}, which accepts no actions")
        owner = payload.get("owner")
        self._owner_able(at, owner)
        due = payload.get("due")
        if not _date(due):
            pass  # the payload's shape is its row's problem
        elif not _real_date(str(due)):
            self.problem(f"{at}: due {due!r} is no date")
        elif str(due) < _day_before(body["time"][:10]):  # dates compare as text
            self.problem(f"{at}: due {due} is past")
        elif _ymd(str(due)) > _ymd(_day_after(body["time"][:10]), 5):
            self.problem(f"{at}: due {due} is more than 5 years ahead")
        document, after = payload.get("document"), payload.get("after_revno")
        if document:
            if document not in self.documents:
                self.problem(f"{at}: {document!r} is no document of this chain")
            else:
                if self.documents[document] not in self.controlled:
                    self.problem(f"{at}: {document} is not of a controlled (document) type")
                current = self.made_in_force.get(document)
                in_force = int(current[0].rpartition("#")[2]) if current else -1
                if after != in_force:
                    self.problem(f"{at}: after_revno {after!r} is not {document}'s in force")
        nc["actions"].append(key)
        self.nc_actions[key] = {
            "nc": number,
            "owner": owner,
            "document": document or "",
            "after_revno": after if _is_int(after) else -1,
            "done": False,
        }

    def _owner_able(self, at: str, owner: object) -> None:
        if not self.roles.get(str(owner)) or owner in self.inactive:
            self.problem(f"{at}: owner {owner!r} is no active user with a role here")

    def _action_reassigned(self, at: str, body: dict[str, Any]) -> None:
        """§7: an action not done, of an NC accepting actions, to another able owner."""
        action = self.nc_actions.get(body["subject"])
        if action is None:
            self.problem(f"{at}: the action was never added")
            return
        if action["done"]:
            self.problem(f"{at}: the action is already done")
        nc = self.ncs[action["nc"]]
        if not self._state_flag(nc, "accepts_actions"):
            self.problem(f"{at}: the NC is {nc['state']!r}, which accepts no actions")
        owner = body["payload"].get("owner")
        if owner == action["owner"]:
            self.problem(f"{at}: {owner!r} already owns it")
        self._owner_able(at, owner)
        action["owner"] = owner

    def _own_work(self, document: str, auditor: object) -> bool:
        """§7: the auditor wrote a revision of ``document`` or made its revision in force so."""
        wrote = any(self.authors.get(r) == auditor for r in self.revisions.get(document, []))
        return wrote or auditor in self.made_in_force.get(document, ("", set()))[1]

    def _action_done(self, at: str, body: dict[str, Any]) -> None:
        action = self.nc_actions.get(body["subject"])
        if action is None:
            self.problem(f"{at}: the action was never added")
        elif action["document"]:
            self.problem(f"{at}: a document action is done by its revision, not by an event")
        elif action["done"]:
            self.problem(f"{at}: the action is already done")
        else:
            if body["actor"] != action["owner"]:
                self.problem(f"{at}: {body['actor']!r} is not its owner {action['owner']!r}")
            nc = self.ncs[action["nc"]]
            if not self._state_flag(nc, "accepts_actions"):
                self.problem(f"{at}: the NC is {nc['state']!r}, which accepts no actions")
            action["done"] = True
            nc["implementers"].add(body["actor"])

    def _audit_planned(self, at: str, body: dict[str, Any]) -> None:
        payload, number = body["payload"], body["subject"]
        if number in self.audit_items:
            self.problem(f"{at}: planned a second time")
            return
        day = payload.get("date")
        if _date(day):  # §7: a real date from 2000-01-01 to two years ahead (a day's grace)
            if not _real_date(day):
                self.problem(f"{at}: date {day!r} is no date")
            elif day < "2000-01-01":
                self.problem(f"{at}: dated {day}, before 2000")
            elif _ymd(day) > _ymd(_day_after(body["time"][:10]), 2):
                self.problem(f"{at}: dated {day}, more than 2 years ahead")
            else:
                self.audit_dates[number] = day
        auditors = payload.get("auditors")
        for auditor in auditors if isinstance(auditors, list) else []:
            if "auditor" not in self.roles.get(str(auditor), set()) or auditor in self.inactive:
                self.problem(f"{at}: {auditor!r} is no active auditor here")
        items = payload.get("items")
        items = (
            [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
        )
        for n, item in enumerate(items, 1):
            auditor, owner, ref = item.get("auditor"), item.get("area_owner"), item.get("ref")
            if owner and not self.roles.get(str(owner)):
                self.problem(f"{at}: item {n}: area owner {owner!r} holds no role here")
            if ref in self.documents:
                if self._own_work(ref, auditor):
                    self.problem(f"{at}: item {n}: {auditor!r} would audit their own work {ref}")
            elif _is_str(ref) and ref and not ISO_CLAUSE.fullmatch(ref):
                self.problem(f"{at}: item {n}: ref {ref!r} is no ISO clause nor a document here")
        self.audit_items[number] = [
            {
                "ref": item.get("ref"),
                "auditor": item.get("auditor"),
                "area_owner": item.get("area_owner") or "",
                "recorded": False,
            }
            for item in items
        ]

    def _finding(self, at: str, body: dict[str, Any]) -> None:
        subject, payload = body["subject"], body["payload"]
        number, _, n = subject.rpartition("#")
        items = self.audit_items.get(number)
        if items is None:
            self.problem(f"{at}: audit {number!r} was never planned")
            return
        if not (n.isascii() and n.isdigit() and not n.startswith("0") and int(n) <= len(items)):
            self.problem(f"{at}: no item {n!r}")
            return
        item = items[int(n) - 1]
        if body["time"][:10] < _day_before(self.audit_dates.get(number, "0001-01-02")):
            self.problem(f"{at}: recorded before the audit's date")
        if body["actor"] != item["auditor"]:
            self.problem(f"{at}: item {n} is {item['auditor']!r}'s to audit")
        elif item["ref"] in self.documents and self._own_work(item["ref"], item["auditor"]):
            self.problem(f"{at}: item {n}: {item['auditor']!r} is no longer independent of it")
        if item["recorded"]:
            self.problem(f"{at}: item {n} already has its finding")
        item["recorded"] = True
        if payload.get("result") == "nonconformity":
            self.awaited, self.awaited_by = (subject, str(payload.get("nc"))), body["actor"]


CAPA_KINDS: dict[str, Callable[[SpecVerifier, str, dict[str, Any]], None]] = {
    "nc.raised": SpecVerifier._nc_raised,
    "nc.action.added": SpecVerifier._action_added,
    "nc.action.done": SpecVerifier._action_done,
    "nc.action.reassigned": SpecVerifier._action_reassigned,
    "nc.feedback.linked": SpecVerifier._feedback_linked,
    "internal_audit.planned": SpecVerifier._audit_planned,
    "internal_audit.finding": SpecVerifier._finding,
    "feedback.received": SpecVerifier._feedback_received,
    "feedback.comments.erased": SpecVerifier._comments_erased,
}
"""§7 CAPA rules, per action: each checks the event against the chain so far, then applies it."""


def capa_row_problems(
    office: str, action: str, subject: str, payload: dict[str, Any], role: str
) -> list[str]:
    """§7 conditions of the CAPA rows besides their payloads' shape (at most one per event)."""
    if action == "nc.raised":
        if payload.get("responses") and role != "quality_coordinator":
            return ["only a quality coordinator links responses"]
    elif action == "nc.action.added":
        if payload.get("document") == "" and payload.get("after_revno") != -1:
            return ["an action that names no document has after_revno -1"]
    elif action == "internal_audit.planned":
        auditors, items = payload.get("auditors"), payload.get("items")
        for n, item in enumerate(items if isinstance(items, list) else [], 1):
            if not isinstance(item, dict) or not isinstance(auditors, list):
                continue
            if item.get("auditor") not in auditors:
                return [f"item {n}: its auditor is not one of the auditors"]
            if item.get("auditor") == item.get("area_owner"):
                return [f"item {n}: its auditor owns the area"]
    elif action == "internal_audit.finding":
        result = payload.get("result")
        if (result == "nonconformity") != _text(payload.get("nc")):
            return ["names an NC exactly when the result is 'nonconformity'"]
        if result != "conforms" and not _text(payload.get("note")):
            return [f"a finding of {result!r} needs a note"]
    elif action == "feedback.received":
        digest, responses = payload.get("file_sha256"), payload.get("responses")
        if isinstance(digest, str) and subject != f"{office}/FEEDBACK/{digest[:12]}":
            return ["subject is not OFFICE/FEEDBACK/ and the file's first 12 hex digits"]
        ids = (
            [r.get("id") for r in responses if isinstance(r, dict)]
            if isinstance(responses, list)
            else []
        )
        if len(ids) != len({repr(i) for i in ids}):
            return ["a response id occurs twice"]
        rule = payload.get("poor")
        rating = rule.get("rating") if isinstance(rule, dict) else None
        for r in responses if isinstance(responses, list) and rating is not None else []:
            ratings = r.get("ratings") if isinstance(r, dict) else None
            if isinstance(ratings, dict) and rating not in ratings:
                return [f"a response lacks the rating {rating!r}"]
    elif action == "feedback.comments.erased":
        before, responses = payload.get("before"), payload.get("responses")
        if isinstance(before, str) and subject != f"{office}/FEEDBACK/ERASED/{before}":
            return ["subject is not OFFICE/FEEDBACK/ERASED/ and payload.before"]
        if isinstance(responses, list) and len(responses) != len({repr(i) for i in responses}):
            return ["a response id occurs twice"]
    return []


# §6 and §7 custody rules -----------------------------------------------------------------------
_PLACE_LISTS = ("places", "returns", "final", "order_needed")


def custody_recorded(verifier: SpecVerifier, at: str, code: str, custody: object) -> None:
    """§6: a type's ``custody`` member; a malformed one is a problem, and no custody."""
    if not (
        isinstance(custody, dict)
        and set(custody) == {"home", *_PLACE_LISTS}
        and all(
            isinstance(custody[name], list)
            and all(isinstance(place, str) and place for place in custody[name])
            for name in _PLACE_LISTS
        )
        and custody["home"] in custody["places"]
        and custody["home"] not in custody["final"]
        and all(set(custody[name]) <= set(custody["places"]) for name in _PLACE_LISTS)
    ):
        verifier.problem(f"{at}: a malformed custody member")
        return
    verifier.custody[code] = custody


def custody_moved(verifier: SpecVerifier, at: str, body: dict[str, Any]) -> None:
    """§7 custody rules, in their order; then the record's current place is ``to``."""
    subject, payload, role = body["subject"], body["payload"], body["signer"]["role"]
    places = verifier.places
    code = verifier.documents.get(subject)
    if code is None or code not in verifier.custody:
        verifier.problem(f"{at}: not a record of a type with custody")
        return
    custody, found = verifier.custody[code], []
    if verifier.kept.get(subject, {}).get("weeded"):
        found.append("moved after it was weeded")
    movers = {*verifier.types[code][1], "quality_coordinator"}
    if role not in movers:
        found.append(f"signed as {role!r}, not one of {sorted(movers)}")
    current = places.get(subject, custody["home"])
    if payload["from"] != current:
        found.append(f"from {payload['from']!r}, but it is at {current!r}")
    if current in custody["final"]:
        found.append(f"it is at the final place {current!r}")
    to = payload["to"]
    if to not in custody["places"]:
        found.append(f"{to!r} is not one of its places")
    else:
        if to == current:
            found.append(f"it is at {to!r} already")
        if to in custody["order_needed"] and not _text(payload["order"]):
            found.append(f"a move to {to!r} without an order")
        back, day = payload["expected_back"], body["time"][:10]
        if to in custody["returns"]:
            if not (
                _date(back)
                and _real_date(back)
                and _day_before(day) <= back <= _day_after(_year_after(day))
            ):
                found.append(f"expected back {back!r}: not from the day before to a year on")
        elif back != "":
            found.append(f"expected back {back!r} from a place it does not return from")
        places[subject] = to
    for what in found:
        verifier.problem(f"{at}: {what}")


def _year_after(day: str) -> str:
    """The same day (``YYYY-MM-DD``) a year later; from 29 February, the 28th."""
    return "{:04d}-{:02d}-{:02d}".format(*_ymd(day, 1))


def _days_after(day: str, days: int) -> str:
    """``day`` (``YYYY-MM-DD``) and ``days`` more, by the calendar."""
    for _ in range(days):
        day = _day_after(day)
    return day


# §6 and §7 register rules ----------------------------------------------------------------------
REGISTER_KINDS = (
    "office.created",
    "office.document_type.added",
    "document.created",
    *CREATIONS,
)


def register_event(verifier: SpecVerifier, at: str, body: dict[str, Any]) -> None:
    """§7 register rules: the office's zone, each type's book rules, each record's facts, and
    the fields its revision 0 gives."""
    action, subject, payload = body["action"], body["subject"], body["payload"]
    if verifier.unfiled is not None:
        record, seq = verifier.unfiled
        verifier.unfiled = None
        if not (action in CREATIONS and subject == f"{record}#0" and verifier.count == seq + 1):
            verifier.wanted_fields.pop(record, None)
            verifier.problem(f"event #{seq + 1}: {record} has no revision 0")
    if action == "office.created":
        verifier.zone = payload.get("timezone") or "Asia/Kolkata"
    elif action == "office.document_type.added":
        code = subject.rpartition("/")[2]
        if code not in verifier.books:
            verifier.books[code] = _book_rules(verifier, f"{at}: {code}", payload)
    elif action == "document.created":
        book = verifier.books.get(payload["type"])
        if book is None or subject in verifier.documents:
            return
        wanted = list(book.get("required_fields") or {})
        ruled = "serial_period" in book or "day_book" in book or book.get("corrections") is True
        if ruled:
            wanted += _record_facts(verifier, at, subject, payload, book)
        if wanted:
            verifier.wanted_fields[subject] = wanted
        if ruled or wanted:
            verifier.unfiled = (subject, verifier.count)
    else:
        number, _, revno = subject.partition("#")
        awaited = verifier.wanted_fields.pop(number, None)
        if awaited is not None and revno == "0":
            given = payload["fields"] if isinstance(payload["fields"], dict) else {}
            lacking = [n for n in awaited if not _shows_something(given.get(n))]
            if lacking:
                verifier.problem(f"{at}: {subject} lacks {', '.join(lacking)}")


def _book_rules(verifier: SpecVerifier, at: str, payload: dict[str, Any]) -> dict[str, Any]:
    """§7: a type's register rules; a malformed member is a problem, and that rule absent."""
    members = ("serial_period", "corrections", "numbering")
    book: dict[str, Any] = {k: payload[k] for k in members if k in payload}
    if not _number_form(book.get("numbering", "")):
        verifier.problem(f"{at}: numbering {book.pop('numbering')!r} is no number form")
    if book.get("serial_period", "year") not in ("year", "day"):
        verifier.problem(f"{at}: serial_period is neither 'year' nor 'day'")
        del book["serial_period"]
    daybook = payload.get("day_book")
    if isinstance(daybook, dict) and all(
        isinstance(daybook.get(f"{name}_field"), str) for name in ("opening", "closing")
    ):
        book["day_book"] = daybook
    elif daybook is not None:
        verifier.problem(f"{at}: day_book lacks its opening and closing fields")
    required = payload.get("required_fields", {})
    if isinstance(required, dict):
        book["required_fields"] = required
    else:
        verifier.problem(f"{at}: required_fields is not an object")
    if not isinstance(book.get("corrections", False), bool):
        verifier.problem(f"{at}: corrections is neither true nor false")
    return book


def _record_facts(
    verifier: SpecVerifier, at: str, number: str, payload: dict[str, Any], book: dict[str, Any]
) -> list[str]:
    """The record's facts against its type's book; returns the day book field it must give."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    code, period, entry = payload["type"], payload.get("period"), payload.get("entry")
    if not isinstance(period, str) or not isinstance(entry, str):
        verifier.problem(f"{at}: {number} states no period and entry")
        return []
    moment = datetime.strptime(verifier.time, "%Y-%m-%dT%H:%M:%S.%f%z")
    today = moment.astimezone(ZoneInfo(verifier.zone)).date().isoformat()
    day, needs = today, []
    daybook = book.get("day_book")
    if not isinstance(daybook, dict):
        if entry != "entry":
            verifier.problem(f"{at}: {number} is a {entry!r} outside a day book")
    elif not (
        _date(payload.get("day"))
        and _real_date(payload["day"])
        and entry in ("opening", "entry", "closing")
    ):
        verifier.problem(f"{at}: {number} has no real day and kind")
    else:
        day = payload["day"]
        last = verifier.last_entries.get(code)
        open_day = last[0] if last and last[1] != "closing" else None
        if not (day == today or (entry == "closing" and day < today)):
            verifier.problem(f"{at}: {number} is dated {day}, written {today}")
        if entry == "opening" and (open_day is not None or (last and last[0] >= day)):
            verifier.problem(f"{at}: {number} opens {day} out of turn")
        elif entry != "opening" and open_day != day:
            verifier.problem(f"{at}: {number} is a {entry} of {day}, not open")
        verifier.last_entries[code] = (day, entry)
        if entry != "entry":
            needs.append(daybook[f"{entry}_field"])
    expect = {"year": day[:4], "day": day}.get(str(book.get("serial_period")), "")
    if period != expect:
        verifier.problem(f"{at}: {number} is in period {period!r}, not {expect!r}")
    serial = payload["serial"]
    if not _is_int(serial):
        verifier.problem(f"{at}: {number} has no whole serial")
    else:
        before = verifier.serials.get((code, period), 0)
        if serial != before + 1:
            verifier.problem(f"{at}: {number} has serial {serial} after {before}")
        verifier.serials[(code, period)] = max(before, serial)
        if "numbering" in book:
            parts = {"office": verifier.office, "type": code, "serial": serial}
            parts |= {"year": int(period[:4]) if period[:4].isdigit() else 0}
            parts |= {"day": period if len(period) == 10 else ""}
            if number != book["numbering"].format(**parts):
                verifier.problem(f"{at}: {number} is not serial {serial} in its numbering")
    if "corrects" in payload:
        named = payload["corrects"]
        if book.get("corrections") is not True or verifier.documents.get(str(named)) != code:
            verifier.problem(f"{at}: {number} corrects {named!r}, no earlier {code} entry here")
    return needs


def _shows_something(value: object) -> bool:
    """§7: a required field is given unless absent, null, or a string of nothing visible:
    only characters of the Unicode categories Cc, Cf, Zs, Zl and Zp."""
    import unicodedata

    if isinstance(value, str):
        return any(unicodedata.category(c) not in ("Cc", "Cf", "Zs", "Zl", "Zp") for c in value)
    return value is not None


def _number_form(form: object) -> bool:
    """§6: a ``numbering`` is a str.format form naming only office, type, serial, year and
    day, each with at most a three-character format (``{serial:04d}``)."""
    import string

    if not isinstance(form, str):
        return False
    try:
        fields = [(n, s, c) for _, n, s, c in string.Formatter().parse(form) if n is not None]
        form.format(office="O", type="T", serial=7, year=2026, day="2026-01-01")
    except (ValueError, TypeError):
        return False
    names = {"office", "type", "serial", "year", "day"}
    return all(n in names and c is None and len(s or "") <= 3 for n, s, c in fields)


def witness_bytes(district: str, station: str, payload: dict[str, Any]) -> bytes:
    """§8.1: the canonical statement the SP office key countersigns."""
    return spec_canonical(
        {
            "v": 1,
            "type": "qms-witness",
            "district": district,
            "station": station,
            "seq": payload["seq"],
            "head": payload["head"],
            "time": payload["recorded_at"],
            "signature": payload["signature"],
        }
    )


def district_event(verifier: SpecVerifier, at: str, body: dict[str, Any]) -> None:
    """§7 district rules: each failing condition is one problem."""
    action, station, payload = body["action"], body["subject"], body["payload"]
    found = []
    if action == "district.sop.adopted":
        revno, before = payload["revno"], verifier.adopted.get(station)
        if _integer(revno):
            if before is not None and revno <= before:
                found.append(f"revision {revno} adopted after revision {before}")
            verifier.adopted[station] = max(revno, before or 0)
    elif action == "district.station.joined":
        if station == verifier.office:
            found.append("the district joins itself")
        if station in verifier.joined or station in verifier.imported:
            found.append("joined again, or joined after an import")
        verifier.joined.add(station)
    elif action == "district.bundle.imported":
        if station in verifier.joined or station == verifier.office:
            found.append("imported, but it is a station of this database")
        else:
            earlier = verifier.imported.get(station)
            held = earlier["held"] if earlier else 0
            first, last = payload["from_seq"], payload["to_seq"]
            if first != held + 1 or not _integer(last) or last < held + 1:
                found.append(f"imports #{first}–#{last} while #{held} are held")
            facts = {k: payload[k] for k in ("name", "office_type", "timezone")}
            if earlier is not None and facts != {k: earlier[k] for k in facts}:
                found.append("name, office type or time zone changed")
            top = last if _integer(last) else 0
            verifier.imported[station] = {**facts, "held": max(held, top)}
    else:
        seq = payload["seq"]
        if station not in verifier.joined and station not in verifier.imported:
            found.append("not a station of this district")
        elif (
            station in verifier.imported
            and _integer(seq)
            and seq > verifier.imported[station]["held"]
        ):
            found.append(f"checkpoint #{seq} is beyond the events held")
        if (station, seq) in verifier.witnessed:
            found.append(f"checkpoint #{seq} witnessed again")
        verifier.witnessed.add((station, seq))
        key = verifier.keys.get(payload["witness_key"])
        if key is None or key["purpose"] != "office" or key["ended_at"] is not None:
            found.append("witness_key is not this office's key")
        elif not _ed25519_ok(
            key["public_key"],
            payload["witness_signature"],
            witness_bytes(verifier.office, station, payload),
        ):
            found.append("the witness signature does not verify")
    for what in found:
        verifier.problem(f"{at}: {what}")


def spec_verify(path: Path, *, check_blobs: bool = True) -> SpecVerifier:
    """Run the independent verifier over a bundle folder (blobs unless told otherwise)."""
    verifier = SpecVerifier(path)
    verifier.run(check_blobs)
    return verifier


# ---------------------------------------------------------------------------------------------
# The tests: a real bundle from the engine
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def real_bundle(
    qms_office: TestOffice, make_docx: Callable[..., Path], tmp_path: Path
) -> tuple[Path, str]:
    """A bundle exported by the engine, with blobs: an SOP returned once with a comment, then
    issued; its next revision, by another author, made effective (superseding the first); then
    a checkpoint (the last event).  The staff rotated the keys the admin issued them."""
    from qms_engine.audit.bundle import export_bundle
    from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key
    from qms_engine.documents.revisions import create_document, revise_document
    from qms_engine.documents.transitions import take_transition
    from qms_engine.testing import TEST_PASSPHRASE

    runtime, office, signers = qms_office.runtime, qms_office.office, qms_office.signers
    revision = create_document(
        runtime,
        office,
        actor=signers["author"],
        type_code="SOP",
        title='मालखाना "रजिस्टर" \\ upkeep 📒',
        path=make_docx("sop.docx", "Malkhana", "धारा 1: नकद शेष"),
    )
    for transition, who, comment in (
        ("submit", "author", ""),
        ("reject", "reviewer", "धारा 2 छूट गई"),
        ("submit", "author", ""),
        ("approve", "approver", ""),
        ("make_effective", "quality_coordinator", ""),
    ):
        take_transition(
            runtime,
            number=revision.number,
            transition=transition,
            actor=signers[who],
            comment=comment,
        )
    revise_document(
        runtime,
        actor=signers["author2"],
        number=revision.number,
        path=make_docx("sop-1.docx", "Malkhana", "धारा 1 और 2"),
        reason="धारा 2 जोड़ी गई",
    )
    for transition, who in (
        ("submit", "author2"),
        ("approve", "approver2"),
        ("make_effective", "approver"),  # supersedes revision 0, signed by the same approver
    ):
        take_transition(runtime, number=revision.number, transition=transition, actor=signers[who])
    checkpoint = record_checkpoint(
        runtime,
        office,
        actor=signers["quality_coordinator"],
        office_key=unlock_office_key(runtime, office, TEST_PASSPHRASE),
    )
    path = tmp_path / "bundle"
    export_bundle(runtime, office, path, include_blobs=True)
    return path, checkpoint.code


def _flip_payload_byte(path: Path) -> int:
    """Change ``"serial":1`` to ``2`` in the ``document.created`` line; returns its event number."""
    events = path / "events.jsonl"
    lines = events.read_bytes().split(b"\n")
    index = next(i for i, line in enumerate(lines) if b'"action":"document.created"' in line)
    marker = b'"serial":'
    at = lines[index].index(marker) + len(marker)
    assert lines[index][at : at + 1] == b"1"
    lines[index] = lines[index][:at] + b"2" + lines[index][at + 1 :]
    events.write_bytes(b"\n".join(lines))
    return index + 1


def _refresh_manifest_digest(path: Path) -> None:
    """What an informed forger does next: make the manifest agree with the edited events file."""
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    manifest["events"]["sha256"] = _sha256_hex((path / "events.jsonl").read_bytes())
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_independent_verifier_accepts_the_real_bundle(real_bundle: tuple[Path, str]) -> None:
    """Spec-only verifier accepts a real bundle: chain, keys, rules, workflows, checkpoints."""
    path, code = real_bundle
    verifier = spec_verify(path)
    assert verifier.problems == []
    lines = (path / "events.jsonl").read_bytes().splitlines()
    assert verifier.count == len(lines) > 10
    assert verifier.signatures_checked == len(lines) + 1  # every event plus the checkpoint
    assert len(verifier.blobs) == 2
    assert all((path / "blobs" / sha).is_file() for sha in verifier.blobs)
    assert verifier.founded and any(i["purpose"] == "office" for i in verifier.keys.values())
    # what the newer rules had to follow: registered workflows, temporary keys, supersession
    assert set(verifier.workflows) == {"sop-revision", "record-filing", "capa"}
    temporary = [i for i in verifier.keys.values() if i["purpose"] == "user" and not i["own"]]
    assert len(temporary) == 8 and all(i["ended_at"] is not None for i in temporary)
    assert sorted(verifier.state.values()) == ["effective", "superseded"]
    actions = [json.loads(raw)["body"]["action"] for raw in lines]
    assert {"workflow.registered", "document.revision.superseded"} <= set(actions)
    assert "document.revision.rejected" in actions
    office = json.loads((path / "manifest.json").read_text(encoding="utf-8"))["office"]["code"]
    assert verifier.check_code(office, code)
    seq = int(code.split("#")[1].split(":")[0])
    assert code == short_code(office, seq, verifier.hash_at[seq])
    old = verifier.hash_at[seq][:16]  # a code written before check characters
    assert verifier.check_code(
        office, f"{office}#{seq}:" + "-".join(old[i : i + 4] for i in (0, 4, 8, 12))
    )
    assert not verifier.check_code(office, code[:-1] + ("1" if code.endswith("0") else "0"))
    for raw in lines:  # every line is itself canonical, as §4 says
        assert spec_canonical(json.loads(raw)) == raw


def test_independent_verifier_rejects_one_altered_payload_byte(
    real_bundle: tuple[Path, str],
) -> None:
    """One changed payload byte is caught: by the manifest digest, then by hash and signature."""
    path, _ = real_bundle
    number = _flip_payload_byte(path)
    assert spec_verify(path).problems == ["events: SHA-256 differs from the manifest"]

    _refresh_manifest_digest(path)
    assert spec_verify(path).problems == [
        f"event #{number}: content does not match its hash",
        f"event #{number}: signature does not verify",
    ]


TRICKY_VALUES = [
    "कोतवाली सेक्टर 39 — मालखाना",
    "emoji 😀 𝄞 outside the BMP",
    "".join(chr(c) for c in range(0x20)) + "\x7f\x80\x9f\u2028\u2029\ufeff",
    'quotes " and \\ backslashes \\" and / slash',
    {
        "😀": 1,
        "\ufb01": 2,
        "\ue000": 3,
        "\uffff": 4,
        "\U00010000": 5,
        "z": 6,
        "é": 7,
        "": 8,
        "a\x00": 9,
        "a": 10,
        "ab": 11,
    },
    {"outer": {"b": [1, {"d": None, "c": True}], "a": {"ä": False, "a": []}}, "n": {}},
    [2**53 - 1, -(2**53 - 1), 0, -1, 36928],
    {"payload": {"title": 'धारा 3 "नकद"\n\tशेष', "size": 36928, "fields": {}}, "v": 1},
]


@pytest.mark.parametrize("value", TRICKY_VALUES, ids=range(len(TRICKY_VALUES)))
def test_independent_encoder_matches_the_engine_byte_for_byte(value: JsonValue) -> None:
    """The spec's canonical encoding equals ``canonical_bytes`` on tricky values."""
    from qms_engine.chain.canonical import canonical_bytes

    assert spec_canonical(value) == canonical_bytes(value)


def test_utf16_key_order_differs_from_code_point_order() -> None:
    """Keys outside the BMP sort before U+E000–U+FFFF, as RFC 8785 requires."""
    from qms_engine.chain.canonical import canonical_bytes

    value = {"\ufb01": 1, "😀": 2}
    expected = '{"😀":2,"ﬁ":1}'.encode()
    assert canonical_bytes(value) == spec_canonical(value) == expected
    assert json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True) != (
        expected.decode()
    )


def test_engine_refuses_integers_beyond_double_precision() -> None:
    """Integers outside ±(2^53 − 1), which JSON libraries print differently, are refused."""
    from qms_engine.chain.canonical import canonical_bytes

    for value in (2**53, -(2**64), 10**40):
        with pytest.raises(TypeError, match="outside"):
            canonical_bytes({"fields": {"n": value}})


def test_engine_refuses_a_body_with_a_float() -> None:
    """A float anywhere in a body is refused by the engine's encoder and hash."""
    from qms_engine.chain.canonical import canonical_bytes, canonical_sha256

    body: Any = {"v": 1, "payload": {"size": 1.0}}  # a float: outside JsonValue on purpose
    with pytest.raises(TypeError, match="floats are not allowed"):
        canonical_bytes(body)
    with pytest.raises(TypeError, match="floats are not allowed"):
        canonical_sha256(body)
    with pytest.raises(ValueError):
        spec_canonical(body)


# ---------------------------------------------------------------------------------------------
# Forgeries that only the newer rules catch: both verifiers must reject them
# ---------------------------------------------------------------------------------------------


def _signers_by_name(qms_office: TestOffice) -> dict[str, Signer]:
    return {signer.username: signer for signer in qms_office.signers.values()}


def _write_events(path: Path, lines: list[bytes]) -> None:
    """Write ``events.jsonl`` and make the manifest agree (count, head, digest), as a forger."""
    (path / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    last = json.loads(lines[-1])
    manifest["events"].update(
        count=len(lines),
        head=last["hash"],
        sha256=_sha256_hex((path / "events.jsonl").read_bytes()),
    )
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _signed_line(body: dict[str, Any], signer: Signer) -> bytes:
    """An events.jsonl line for ``body``: hashed and signed as the engine would."""
    message = spec_canonical(body)
    line = {"body": body, "hash": _sha256_hex(message), "signature": signer.sign(message).hex()}
    return spec_canonical(line)


def _resign_last(
    path: Path, signers: dict[str, Signer], edit: Callable[[dict[str, Any]], object]
) -> int:
    """Edit the last event's body, then re-hash and re-sign it with its actor's own key.

    The last event (the checkpoint's ``audit.checkpoint.recorded``) comes after the checkpointed
    head, so no link, hash, signature or checkpoint check notices; only the rule under test can.
    """
    lines = (path / "events.jsonl").read_bytes().splitlines()
    body = json.loads(lines[-1])["body"]
    edit(body)
    lines[-1] = _signed_line(body, signers[body["actor"]])
    _write_events(path, lines)
    return len(lines)


def _engine_problems(path: Path, qms_office: TestOffice) -> list[str]:
    from qms_engine.audit.verify import verify_bundle

    return verify_bundle(path).problems


def _one_second_before(text: str) -> str:
    from datetime import datetime, timedelta

    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_both_verifiers_reject_a_backdated_event(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """A re-signed event dated before its predecessor: times never decrease (§10 step 4.5)."""
    path, _ = real_bundle
    lines = (path / "events.jsonl").read_bytes().splitlines()
    before = json.loads(lines[-2])["body"]["time"]
    number = _resign_last(
        path, _signers_by_name(qms_office), lambda b: b.update(time=_one_second_before(before))
    )
    assert spec_verify(path).problems == [f"event #{number}: time earlier than an earlier event's"]
    engine = _engine_problems(path, qms_office)
    assert len(engine) == 1 and engine[0].startswith(f"event #{number}: time "), engine
    assert "earlier than the previous event's" in engine[0]


def test_both_verifiers_reject_a_non_canonical_timestamp(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """The same instant spelt ``+00:00`` instead of ``Z`` is not a timestamp (§0, §10 step 4.1)."""
    path, _ = real_bundle
    number = _resign_last(
        path,
        _signers_by_name(qms_office),
        lambda b: b.update(time=b["time"].replace("Z", "+00:00")),
    )
    time = json.loads((path / "events.jsonl").read_bytes().splitlines()[-1])["body"]["time"]
    assert spec_verify(path).problems == [
        f"event #{number}: malformed event: time {time!r} is not a timestamp"
    ]
    engine = _engine_problems(path, qms_office)
    assert engine and engine[0].startswith(f"event #{number}: malformed event: time "), engine


def test_both_verifiers_reject_a_changed_meaning(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """A re-signed event whose meaning is not its action's (§6 meaning check)."""
    path, _ = real_bundle
    number = _resign_last(
        path, _signers_by_name(qms_office), lambda b: b.update(meaning="approved")
    )
    assert spec_verify(path).problems == [
        f"event #{number}: meaning 'approved' is not the action's"
    ]
    engine = _engine_problems(path, qms_office)
    assert engine == [f"event #{number}: meaning 'approved' is not 'audit.checkpoint.recorded''s"]


def test_both_verifiers_reject_a_deleted_checkpoint(real_bundle: tuple[Path, str]) -> None:
    """checkpoints.json lost the entry the chain recorded; the manifest digest was fixed up."""
    from qms_engine.audit.verify import verify_bundle

    path, _ = real_bundle
    (path / "checkpoints.json").write_text("[]\n", encoding="utf-8")
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    manifest["checkpoints"]["sha256"] = _sha256_hex((path / "checkpoints.json").read_bytes())
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    number = manifest["events"]["count"]  # the audit.checkpoint.recorded event
    assert spec_verify(path).problems == [
        f"event #{number}: recorded checkpoint #{number - 1} missing from the list"
    ]
    engine = verify_bundle(path).problems
    assert engine == [
        f"event #{number} records a checkpoint at #{number - 1} that is missing from the "
        "checkpoint list: it was deleted or altered"
    ]


def test_self_rotation_verifies_and_the_retired_key_signs_nothing_more(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A user rotating their own key passes both verifiers; the old key then signs nothing,
    whatever time a forged event claims (key validity is by chain position, §5 rule 3)."""
    from qms_engine.audit.bundle import export_bundle
    from qms_engine.people.keys import rotate
    from qms_engine.testing import TEST_PASSPHRASE

    old = qms_office.signers["quality_coordinator"]
    rotate(
        qms_office.runtime,
        qms_office.office,
        actor=old,
        username=old.username,
        new_passphrase=TEST_PASSPHRASE,
    )
    path = tmp_path / "rotated"
    export_bundle(qms_office.runtime, qms_office.office, path)
    assert spec_verify(path).problems == []
    assert _engine_problems(path, qms_office) == []

    lines = (path / "events.jsonl").read_bytes().splitlines()
    retired = json.loads(lines[-1])
    assert retired["body"]["action"] == "key.retired"
    forged = dict(retired["body"], seq=len(lines) + 1, prev=retired["hash"])
    _write_events(path, [*lines, _signed_line(forged, old)])
    number = len(lines) + 1
    assert spec_verify(path).problems == [
        f"event #{number}: key used after it ended at event #{number - 1}"
    ]
    engine = _engine_problems(path, qms_office)
    assert len(engine) == 1 and f"retired at event #{number - 1}" in engine[0], engine


# ---------------------------------------------------------------------------------------------
# The rules of §5–§7 (keys, founding, roles, the authorisation table, workflows): forgeries
# built on real bundles and signed with real keys, which both verifiers must reject
# ---------------------------------------------------------------------------------------------


def _bodies(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw)["body"] for raw in (path / "events.jsonl").read_bytes().splitlines()]


def _full_name(path: Path, username: str) -> str:
    """The name printed beside ``username``'s signature: their ``user.created`` full name (in
    an office that did not enrol them, their user name: nothing checks it, §12)."""
    return str(
        next(
            (
                body["payload"]["full_name"]
                for body in _bodies(path)
                if body["action"] == "user.created" and body["subject"] == username
            ),
            username,
        )
    )


def _append(
    path: Path,
    signer: Signer,
    role: str,
    action: str,
    subject: str,
    payload: dict[str, Any],
    meaning: str | None = None,
) -> int:
    """Append one event signed with ``signer``'s real key in ``role``; returns its number."""
    lines = (path / "events.jsonl").read_bytes().splitlines()
    last = json.loads(lines[-1])
    body = {
        "action": action,
        "actor": signer.username,
        "meaning": MEANINGS[action] if meaning is None else meaning,
        "office": last["body"]["office"],
        "payload": payload,
        "prev": last["hash"],
        "seq": len(lines) + 1,
        "signer": {
            "key": signer.fingerprint,
            "name": _full_name(path, signer.username),
            "role": role,
        },
        "subject": subject,
        "time": last["body"]["time"],
        "v": 1,
    }
    _write_events(path, [*lines, _signed_line(body, signer)])
    return len(lines) + 1


def _both_accept(path: Path, qms_office: TestOffice) -> None:
    assert spec_verify(path).problems == []
    assert _engine_problems(path, qms_office) == []


def _both_reject(
    path: Path, qms_office: TestOffice, expected: list[str], *engine_says: str
) -> None:
    """The spec verifier finds exactly ``expected``; the engine as many problems, at the same
    events, saying ``engine_says``."""
    assert spec_verify(path).problems == expected
    engine = _engine_problems(path, qms_office)
    assert len(engine) == len(expected), engine
    for ours, theirs in zip(expected, engine, strict=True):
        assert theirs.startswith(ours.split(": ", 1)[0] + ": "), engine
    for words in engine_says:
        assert any(words in problem for problem in engine), (words, engine)


def _export(qms_office: TestOffice, path: Path, office: Any = None) -> Path:
    """A new bundle of the office's chain as it stands, with blobs."""
    from qms_engine.audit.bundle import export_bundle

    export_bundle(qms_office.runtime, office or qms_office.office, path, include_blobs=True)
    return path


def _sop(path: Path) -> str:
    """The number of the real bundle's SOP."""
    return str(next(b["subject"] for b in _bodies(path) if b["action"] == "document.created"))


def _created(path: Path, subject: str) -> dict[str, Any]:
    """The payload of the ``document.revision.created`` event of ``subject``."""
    return dict(
        next(
            b["payload"]
            for b in _bodies(path)
            if b["action"] == "document.revision.created" and b["subject"] == subject
        )
    )


def _registered_definition(path: Path, name: str) -> dict[str, Any]:
    """A fresh copy of the definition the chain registered last for workflow ``name``."""
    payloads = [
        b["payload"]
        for b in _bodies(path)
        if b["action"] == "workflow.registered" and b["subject"] == name
    ]
    return dict(json.loads(json.dumps(payloads[-1]["definition"])))


def _withdrawal(path: Path, subject: str) -> dict[str, Any]:
    """A ``withdraw`` transition payload for the effective revision ``subject``."""
    return {
        "comment": "Replaced by the station's new register",
        "from": "effective",
        "sha256": _created(path, subject)["sha256"],
        "to": "obsolete",
        "transition": "withdraw",
    }


def _list_key(path: Path, fingerprint: str, public_key: str, owner: str) -> None:
    """What an informed forger also does: list a key in keys.json and fix up the manifest."""
    keys = json.loads((path / "keys.json").read_text(encoding="utf-8"))
    keys.append(
        {
            "fingerprint": fingerprint,
            "owner": owner,
            "public_key": public_key,
            "purpose": "user",
            "revoked_reason": None,
            "valid_from": keys[-1]["valid_from"],
            "valid_until": None,
        }
    )
    (path / "keys.json").write_text(json.dumps(keys, indent=2) + "\n", encoding="utf-8")
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    manifest["keys"]["sha256"] = _sha256_hex((path / "keys.json").read_bytes())
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(
    ("role", "why", "engine_says"),
    [
        (
            "key holder",
            "as key holder, 'anita' acts only on their own key, not 'mohan''s",
            "'anita' may act as key holder only on their own key, not 'mohan''s",
        ),
        (
            "author",
            "signed as 'author'; allowed: admin, key holder",
            "signed as 'author'; allowed: admin, key holder",
        ),
    ],
)
def test_both_verifiers_reject_an_author_registering_a_key_for_another_user(
    real_bundle: tuple[Path, str], qms_office: TestOffice, role: str, why: str, engine_says: str
) -> None:
    """An author registers a key for another user, as key holder or as author (§7 key row)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path, _ = real_bundle
    public = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    fingerprint = _sha256_hex(bytes.fromhex(public))
    _list_key(path, fingerprint, public, "mohan")
    payload = {
        "fingerprint": fingerprint,
        "owner": "mohan",
        "public_key": public,
        "purpose": "user",
    }
    anita = _signers_by_name(qms_office)["anita"]
    number = _append(path, anita, role, "key.registered", "mohan", payload)
    _both_reject(
        path,
        qms_office,
        [f"event #{number}: rule 'key registration': {why}"],
        f"rule 'key registration': {engine_says}",
    )


def test_both_verifiers_reject_a_role_granted_to_oneself(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """An admin grants themselves a role: nobody grants a role to themselves (§7)."""
    path, _ = real_bundle
    admin = _signers_by_name(qms_office)["admin"]
    number = _append(path, admin, "admin", "user.role.granted", "admin", {"role": "approver"})
    _both_reject(
        path,
        qms_office,
        [f"event #{number}: rule 'role grants': 'admin' may not grant a role to themselves"],
        "rule 'role grants': 'admin' may not do this to themselves",
    )


def test_both_verifiers_reject_a_transition_that_does_not_name_itself(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """A withdrawal without ``payload.transition`` is refused; naming it, it passes (§7)."""
    path, _ = real_bundle
    signers = _signers_by_name(qms_office)
    subject = f"{_sop(path)}#1"
    number = _append(
        path,
        signers["priya"],
        "quality_coordinator",
        "document.revision.withdrawn",
        subject,
        _withdrawal(path, subject),
        meaning="withdrawn",
    )
    _both_accept(path, qms_office)

    _resign_last(path, signers, lambda body: body["payload"].pop("transition"))
    _both_reject(
        path,
        qms_office,
        [
            f"event #{number}: {subject}: 'document.revision.withdrawn' changes a revision's "
            "state without naming its transition"
        ],
        "without naming its transition",
    )


def test_both_verifiers_reject_a_revision_created_in_a_non_initial_state(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """A new revision recorded straight into ``effective``; in ``draft`` it passes (§7)."""
    path, _ = real_bundle
    signers = _signers_by_name(qms_office)
    sop = _sop(path)
    payload = dict(
        _created(path, f"{sop}#1"),
        reason="तीसरा संशोधन",
        state="draft",
        sha256=_add_blob(path, b"%PDF-1.4 rev 2"),
    )
    number = _append(
        path, signers["anita"], "author", "document.revision.created", f"{sop}#2", payload
    )
    _both_accept(path, qms_office)

    _resign_last(path, signers, lambda body: body["payload"].update(state="effective"))
    _both_reject(
        path,
        qms_office,
        [
            f"event #{number}: {sop}#2 created in state 'effective'; its workflow "
            "'sop-revision' starts in 'draft'"
        ],
        "created in state 'effective'",
    )


def test_both_verifiers_reject_a_supersession_without_an_exclusive_transition(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """The effective revision marked superseded with no revision made effective before (§7)."""
    path, _ = real_bundle
    subject = f"{_sop(path)}#1"
    number = _append(
        path,
        _signers_by_name(qms_office)["sks"],
        "approver",
        SUPERSEDED,
        subject,
        {"by_revision": 2, "from": "effective", "to": "superseded"},
    )
    _both_reject(
        path,
        qms_office,
        [
            f"event #{number}: rule 'supersession': {subject} superseded, but no other "
            "revision of its document entered an exclusive state just before"
        ],
        "no other revision of its document entered an exclusive state just before",
    )


@pytest.mark.parametrize("forgery", ["signed by a non-admin", "wrong sha256"])
def test_both_verifiers_reject_a_bad_workflow_registration(
    real_bundle: tuple[Path, str], qms_office: TestOffice, forgery: str
) -> None:
    """A ``workflow.registered`` signed by a quality coordinator, or whose sha256 is not its
    definition's (§7 workflow registration row)."""
    path, _ = real_bundle
    signers = _signers_by_name(qms_office)
    definition = _registered_definition(path, "sop-revision")
    digest = _sha256_hex(spec_canonical(definition))
    if forgery == "wrong sha256":
        signer, role = signers["admin"], "admin"
        digest = _sha256_hex(spec_canonical(_registered_definition(path, "record-filing")))
        why, engine_says = (
            "sha256 is not that of the definition's canonical encoding",
            "the payload's sha256 is not that of its definition",
        )
    else:
        signer, role = signers["priya"], "quality_coordinator"
        why = engine_says = "signed as 'quality_coordinator'; allowed: admin"
    number = _append(
        path,
        signer,
        role,
        "workflow.registered",
        "sop-revision",
        {"definition": definition, "sha256": digest},
    )
    _both_reject(
        path,
        qms_office,
        [f"event #{number}: rule 'workflow registration': {why}"],
        f"rule 'workflow registration': {engine_says}",
    )


def _add_limbo(definition: dict[str, Any]) -> None:
    states = definition["states"]
    states["limbo"] = dict(states["obsolete"], title="Limbo")


INVALID_DEFINITIONS: list[tuple[str, Callable[[dict[str, Any]], object], str, str]] = [
    (
        "from-state unknown",
        lambda d: d["transitions"]["approve"]["from"].append("limbo"),
        " is not a valid definition: transitions.approve.from: 'limbo' is not a state",
        "unknown state 'limbo'",
    ),
    (
        "leaves a terminal state",
        lambda d: d["transitions"]["reject"]["from"].append("archived"),
        " is not a valid definition: transitions.reject.from: 'archived' is terminal; "
        "nothing leaves it",
        "is a terminal state",
    ),
    (
        "state unreachable",
        _add_limbo,
        " is not a valid definition: state 'limbo' is unreachable from 'draft'",
        "unreachable",
    ),
    (
        "not_by names no transition",
        lambda d: d["transitions"]["approve"]["not_by"].append("review"),
        " is not a valid definition: transitions.approve.not_by: 'review' is neither "
        "'author' nor a transition",
        "unknown transition 'review'",
    ),
    (
        "unknown key",
        lambda d: d["transitions"]["approve"].update(approvers=["sks"]),
        " is not a valid definition: transitions.approve: unknown key 'approvers'",
        "unknown key 'approvers'",
    ),
    (
        "no meaning",
        lambda d: d["transitions"]["approve"].pop("meaning"),
        " is not a valid definition: transitions.approve: 'meaning' missing",
        "missing required key 'meaning'",
    ),
    (
        "meaning of a named action",
        lambda d: d["transitions"]["archive"].update(meaning="superseded"),
        ": transition 'archive' would be recorded as 'document.revision.superseded'",
        "which would be recorded as another kind of event",
    ),
]


@pytest.mark.parametrize(
    ("change", "why", "engine_says"),
    [case[1:] for case in INVALID_DEFINITIONS],
    ids=[case[0] for case in INVALID_DEFINITIONS],
)
def test_both_verifiers_reject_an_invalid_registered_definition(
    real_bundle: tuple[Path, str],
    qms_office: TestOffice,
    change: Callable[[dict[str, Any]], object],
    why: str,
    engine_says: str,
) -> None:
    """An admin registers, with its true sha256, a definition that breaks the file format or
    whose meaning would be recorded as a named action (§7)."""
    path, _ = real_bundle
    definition = _registered_definition(path, "sop-revision")
    change(definition)
    payload = {"definition": definition, "sha256": _sha256_hex(spec_canonical(definition))}
    admin = _signers_by_name(qms_office)["admin"]
    number = _append(path, admin, "admin", "workflow.registered", "sop-revision", payload)
    _both_reject(path, qms_office, [f"event #{number}: workflow 'sop-revision'{why}"], engine_says)


@pytest.mark.parametrize("issued_by", ["enrolment", "admin rotation"])
def test_both_verifiers_reject_a_temporary_key_signing_other_than_its_rotation(
    real_bundle: tuple[Path, str], qms_office: TestOffice, tmp_path: Path, issued_by: str
) -> None:
    """A key the admin issued (at enrolment, or by rotating it) signs a withdrawal its owner's
    role allows: only the owner's own change of key may be signed with it (§5 rule 5)."""
    from qms_engine.people.keys import rotate, unlock
    from qms_engine.people.users import add_user
    from qms_engine.testing import TEST_PASSPHRASE

    path, _ = real_bundle
    runtime, office, admin = qms_office.runtime, qms_office.office, qms_office.signers["admin"]
    if issued_by == "enrolment":
        username = "nisha"
        add_user(
            runtime,
            office,
            actor=admin,
            username=username,
            full_name="HC Nisha Rawat",
            roles=["quality_coordinator"],
            passphrase=TEST_PASSPHRASE,
        )
    else:
        username = qms_office.username("quality_coordinator")
        rotate(runtime, office, actor=admin, username=username, new_passphrase=TEST_PASSPHRASE)
    temporary = unlock(runtime, username, TEST_PASSPHRASE)
    issued = _export(qms_office, tmp_path / "issued")
    _both_accept(issued, qms_office)
    assert not spec_verify(issued).keys[temporary.fingerprint]["own"]

    subject = f"{_sop(path)}#1"
    number = _append(
        issued,
        temporary,
        "quality_coordinator",
        "document.revision.withdrawn",
        subject,
        _withdrawal(issued, subject),
        meaning="withdrawn",
    )
    _both_reject(
        issued,
        qms_office,
        [
            f"event #{number}: temporary key of {username!r} (registered by someone else) "
            "signs only its owner's own change of key"
        ],
        f"which someone else registered for {username!r}",
        "(a temporary key)",
    )


@pytest.fixture
def awaiting_issue(
    real_bundle: tuple[Path, str], qms_office: TestOffice, make_docx: Callable[..., Path]
) -> Path:
    """The real bundle's office after revision 2 of its SOP was written by Anita and approved
    by the SHO (sks): exported just before it is made effective (with blobs)."""
    from qms_engine.documents.revisions import revise_document
    from qms_engine.documents.transitions import take_transition

    path, _ = real_bundle
    runtime, signers = qms_office.runtime, qms_office.signers
    number = _sop(path)
    revise_document(
        runtime,
        actor=signers["author"],
        number=number,
        path=make_docx("sop-2.docx", "Malkhana", "धारा 3"),
        reason="धारा 3",
    )
    for transition, who in (("submit", "author"), ("approve", "approver")):
        take_transition(runtime, number=number, transition=transition, actor=signers[who])
    return _export(qms_office, path.parent / "awaiting-issue")


def _issue_by(
    path: Path, signer: Signer, role: str, superseder: Signer, superseder_role: str
) -> int:
    """Append revision 2's ``make_effective`` and revision 1's supersession; returns the
    number of the ``make_effective`` event."""
    sop = _sop(path)
    number = _append(
        path,
        signer,
        role,
        "document.revision.made_effective",
        f"{sop}#2",
        {
            "comment": "",
            "from": "approved",
            "sha256": _created(path, f"{sop}#2")["sha256"],
            "to": "effective",
            "transition": "make_effective",
        },
        meaning="made effective",
    )
    _append(
        path,
        superseder,
        superseder_role,
        SUPERSEDED,
        f"{sop}#1",
        {"by_revision": 2, "from": "effective", "to": "superseded"},
    )
    return number


def test_both_verifiers_reject_segregation_of_duties_broken_under_the_registered_definition(
    awaiting_issue: Path, qms_office: TestOffice, tmp_path: Path
) -> None:
    """The SHO who approved revision 2 makes it effective: allowed by the installed workflow,
    refused once the chain registered one where ``make_effective`` is ``not_by`` ``approve``
    (§7: the definition in force is the chain's last registration, never the installed one)."""
    import shutil

    signers = _signers_by_name(qms_office)
    sks = signers["sks"]
    control = tmp_path / "control"
    shutil.copytree(awaiting_issue, control)
    _issue_by(control, sks, "approver", sks, "approver")
    _both_accept(control, qms_office)

    path = awaiting_issue
    definition = _registered_definition(path, "sop-revision")
    definition["transitions"]["make_effective"]["not_by"] = ["approve"]
    payload = {"definition": definition, "sha256": _sha256_hex(spec_canonical(definition))}
    _append(path, signers["admin"], "admin", "workflow.registered", "sop-revision", payload)
    number = _issue_by(path, sks, "approver", sks, "approver")
    _both_reject(
        path,
        qms_office,
        [
            f"event #{number}: {_sop(path)}#2: segregation of duties: 'sks' took 'approve' "
            "on it and may not also make_effective it"
        ],
        "'sks' took 'approve' on this revision and may not also make_effective it",
    )


def test_both_verifiers_reject_a_supersession_signed_by_someone_else(
    awaiting_issue: Path, qms_office: TestOffice
) -> None:
    """Right after the SHO makes revision 2 effective, the quality coordinator signs the
    supersession of revision 1: it must be the same actor in the same role (§7)."""
    signers = _signers_by_name(qms_office)
    number = _issue_by(
        awaiting_issue, signers["sks"], "approver", signers["priya"], "quality_coordinator"
    )
    subject = f"{_sop(awaiting_issue)}#1"
    _both_reject(
        awaiting_issue,
        qms_office,
        [
            f"event #{number + 1}: rule 'supersession': signed as 'quality_coordinator'; "
            "allowed: approver",
            f"event #{number + 1}: rule 'supersession': {subject} superseded by 'priya', not 'sks'",
        ],
        "rule 'supersession': signed as 'quality_coordinator'; allowed: approver",
        "superseded by 'priya', not 'sks'",
    )


def test_both_verifiers_reject_a_role_the_signer_does_not_hold(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """An author withdraws the effective SOP as quality coordinator, a role never granted
    to her (§7 rule 2: roles come only from the chain)."""
    path, _ = real_bundle
    subject = f"{_sop(path)}#1"
    number = _append(
        path,
        _signers_by_name(qms_office)["anita"],
        "quality_coordinator",
        "document.revision.withdrawn",
        subject,
        _withdrawal(path, subject),
        meaning="withdrawn",
    )
    _both_reject(
        path,
        qms_office,
        [f"event #{number}: 'anita' signed as 'quality_coordinator' without that role"],
        "'anita' signed as 'quality_coordinator' without holding that role",
    )


def test_both_verifiers_reject_a_document_type_with_an_unregistered_workflow(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """An admin adds a document type whose workflow the chain never registered (§7)."""
    path, _ = real_bundle
    office = _bodies(path)[0]["office"]
    number = _append(
        path,
        _signers_by_name(qms_office)["admin"],
        "admin",
        "office.document_type.added",
        f"{office}/MEMO",
        {
            "creator_roles": ["author"],
            "kind": "document",
            "review_period_days": 365,
            "title": "Office memo",
            "workflow": "memo-flow",
        },
    )
    _both_reject(
        path,
        qms_office,
        [f"event #{number}: {office}/MEMO uses workflow 'memo-flow', never registered here"],
        "uses workflow 'memo-flow', never registered in this chain",
    )


def test_both_verifiers_accept_a_busy_office_and_one_added_later(
    desk: Desk, qms_office: TestOffice, tmp_path: Path
) -> None:
    """Both accept the engine's bundles of a busy office and of an office added later (founded
    by `office add`): filing from the inbox, a duplicate, rejection, supersession, withdrawal,
    archiving, roles granted and revoked, keys issued, rotated and revoked, a deactivation."""
    from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key
    from qms_engine.documents.revisions import create_document
    from qms_engine.documents.transitions import take_transition
    from qms_engine.people.keys import revoke, rotate, unlock
    from qms_engine.people.offices import add_office
    from qms_engine.people.users import deactivate_user, grant_roles, revoke_roles
    from qms_engine.testing import TEST_PASSPHRASE, staff_member
    from tests.ingest_fixtures import IngestDesk, add_ingest_user, pdf_bytes

    runtime, home, s = qms_office.runtime, qms_office.office, qms_office.signers
    admin = s["admin"]
    number = desk.new_sop("रात्रि गश्त")
    desk.act(number, "submit")
    desk.act(number, "reject", comment="Beat map missing")
    desk.issue(number)
    desk.revise(number, who="author2")
    desk.act(number, "submit", who="author2")
    desk.act(number, "approve", who="approver2")
    desk.act(number, "make_effective")  # supersedes revision 0
    qc = s["quality_coordinator"]
    take_transition(runtime, number=number, transition="archive", actor=qc, revno=0)
    desk.act(number, "withdraw", comment="Patrols now follow the district SOP")
    take_transition(runtime, number=number, transition="archive", actor=qc, revno=1)

    scan = tmp_path / "gd-5.pdf"
    scan.write_bytes(pdf_bytes("GD 5"))
    gd = create_document(
        runtime,
        home,
        actor=s["clerk"],
        type_code="GD",
        title="GD entry 5: night patrol",
        path=scan,
        fields={"entry_number": "5", "officer": "HC Mohan Lal"},
    )
    take_transition(runtime, number=gd.number, transition="verify", actor=s["reviewer"])
    add_ingest_user(qms_office)
    inbox = IngestDesk(qms_office)
    inbox.drop("GD", "GD_17_2026-11-24.pdf")
    same = pdf_bytes("the same scan, dropped twice")
    inbox.drop("GD", "scan-a.pdf", same)
    assert [o.status for o in inbox.run()] == ["filed", "filed"]
    inbox.drop("GD", "scan-b.pdf", same)
    assert [o.status for o in inbox.run()] == ["duplicate"]

    staff_member(runtime, home, admin, "vikram", "SI Vikram Rathore", ["reviewer"])
    grant_roles(runtime, home, actor=admin, username="vikram", roles=["approver"])
    revoke_roles(runtime, home, actor=admin, username="vikram", roles=["reviewer"])
    rotate(runtime, home, actor=admin, username="sks", new_passphrase="issued-by-the-admin")
    revoke(runtime, home, actor=admin, username="rakesh", reason="Phone lost")
    deactivate_user(runtime, home, actor=admin, username="mohan", reason="Transferred")
    record_checkpoint(
        runtime, home, actor=qc, office_key=unlock_office_key(runtime, home, TEST_PASSPHRASE)
    )

    second = add_office(
        runtime,
        actor=admin,
        from_office=home,
        code="PS-TEST2",
        name="थाना दूसरा",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )
    kavita = staff_member(runtime, second, admin, "kavita", "ASI Kavita Singh", ["author"])
    grant_roles(runtime, second, actor=admin, username="sks", roles=["approver"])
    issued = unlock(runtime, "sks", "issued-by-the-admin")  # temporary in both chains
    rotate(runtime, second, actor=issued, username="sks", new_passphrase="sho-own-key")
    sho = unlock(runtime, "sks", "sho-own-key")
    there = create_document(
        runtime, second, actor=kavita, type_code="SOP", title="Dak handling", path=desk.docx()
    )
    take_transition(runtime, number=there.number, transition="submit", actor=kavita)
    take_transition(runtime, number=there.number, transition="approve", actor=sho)

    for office in (home, second):
        path = _export(qms_office, tmp_path / office.code, office)
        verifier = spec_verify(path)
        assert verifier.problems == []
        assert _engine_problems(path, qms_office) == []
        assert verifier.signatures_checked >= verifier.count > 10
    actions = {body["action"] for body in _bodies(tmp_path / home.code)}
    assert {
        "document.revision.filed",
        "ingest.duplicate.set_aside",
        "document.revision.superseded",
        "document.revision.archived",
        "user.role.revoked",
        "key.revoked",
        "user.deactivated",
    } <= actions
    founding = [(b["action"], b["subject"]) for b in _bodies(tmp_path / "PS-TEST2")[:3]]
    assert founding == [
        ("key.registered", "admin"),
        ("user.role.granted", "admin"),
        ("office.created", "PS-TEST2"),
    ]


# ---------------------------------------------------------------------------------------------
# Corrected and discarded drafts (§6 document.revision.replaced, §7 file replacement and `by`)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def corrected(
    qms_office: TestOffice, make_docx: Callable[..., Path], tmp_path: Path
) -> tuple[Path, str, str]:
    """A bundle where Anita's SOP draft was returned, corrected (its file replaced twice) and
    submitted, and her second SOP discarded, all by the engine: (bundle, SOP 1, SOP 2)."""
    from qms_engine.documents.revisions import create_document, replace_revision_file
    from qms_engine.documents.transitions import take_transition

    runtime, office, signers = qms_office.runtime, qms_office.office, qms_office.signers
    anita = signers["author"]
    first, second = (
        create_document(
            runtime, office, actor=anita, type_code="SOP", title=title, path=make_docx(name)
        ).number
        for name, title in (("a.docx", "मालखाना"), ("b.docx", "डाक"))
    )
    take_transition(runtime, number=first, transition="submit", actor=anita)
    take_transition(
        runtime, number=first, transition="reject", actor=signers["reviewer"], comment="धारा 2"
    )
    for name in ("a2.docx", "a3.docx"):
        replace_revision_file(
            runtime, actor=anita, number=first, path=make_docx(name, "SOP", name), reason="धारा 2"
        )
    take_transition(runtime, number=first, transition="submit", actor=anita)
    take_transition(runtime, number=second, transition="discard", actor=anita, comment="दोहराव")
    return _export(qms_office, tmp_path / "corrected"), first, second


def _add_blob(path: Path, data: bytes) -> str:
    """What a forger adds with a replacement: the new file in blobs/, the manifest's count."""
    sha = _sha256_hex(data)
    (path / "blobs" / sha).write_bytes(data)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    manifest["blobs"]["count"] += 1
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return sha


def _current_file(path: Path, subject: str) -> str:
    """The SHA-256 of a revision's newest file, from its creation and replacements."""
    return str(
        [
            b["payload"]["sha256"]
            for b in _bodies(path)
            if b["subject"] == subject and b["action"] in (*CREATIONS, REPLACED)
        ][-1]
    )


def _replaced(path: Path, signer: Signer, subject: str, data: bytes) -> int:
    """Append a replacement of ``subject``'s current file by ``data``, signed by ``signer``."""
    payload = {
        "media_type": "application/pdf",
        "original_filename": "new.pdf",
        "previous_sha256": _current_file(path, subject),
        "reason": "सुधार",
        "sha256": _add_blob(path, data),
        "size": len(data),
    }
    return _append(path, signer, "author", REPLACED, subject, payload)


def _return_to_draft(path: Path, signers: dict[str, Signer], subject: str) -> dict[str, Any]:
    """The reviewer Rakesh returns ``subject`` (in review) to draft; returns the payload."""
    payload = {
        "comment": "फिर से",
        "from": "in_review",
        "sha256": _current_file(path, subject),
        "to": "draft",
        "transition": "reject",
    }
    _append(
        path,
        signers["rakesh"],
        "reviewer",
        "document.revision.rejected",
        subject,
        payload,
        meaning="rejected",
    )
    return payload


def test_both_verifiers_accept_corrected_and_discarded_drafts(
    corrected: tuple[Path, str, str], qms_office: TestOffice
) -> None:
    """Replacements and a discard written by the engine pass both verifiers; every replaced
    file is in blobs/ (§9), and a further replacement by the author of a draft passes too."""
    path, first, _second = corrected
    actions = [b["action"] for b in _bodies(path)]
    assert actions.count(REPLACED) == 2
    (resubmitted,) = [b for b in _bodies(path) if b["action"] == "document.revision.authored"][1:]
    assert resubmitted["payload"]["sha256"] == _current_file(path, f"{first}#0")
    assert "document.revision.discarded" in actions
    assert len(list((path / "blobs").iterdir())) == 4  # a.docx, its two corrections, b.docx
    _both_accept(path, qms_office)
    signers = _signers_by_name(qms_office)
    _return_to_draft(path, signers, f"{first}#0")
    _replaced(path, signers["anita"], f"{first}#0", b"%PDF-1.4 corrected again")
    _both_accept(path, qms_office)


@pytest.mark.parametrize(
    ("forgery", "why", "engine_says"),
    [
        (
            "another author",
            "'mohan' is not its author 'anita'",
            "only its author 'anita' may replace its file, not 'mohan'",
        ),
        ("after submission", "it is 'in_review', not 'draft'", "file replaced while 'in_review'"),
        (
            "not its current file",
            "previous_sha256 is not its current file",
            "replaces a file that is not its current one",
        ),
    ],
)
def test_both_verifiers_reject_a_replacement_against_the_rules(
    corrected: tuple[Path, str, str],
    qms_office: TestOffice,
    forgery: str,
    why: str,
    engine_says: str,
) -> None:
    """A file replaced by someone other than the author, after submission, or naming a file
    the revision no longer has (§7 file replacement)."""
    path, first, second = corrected
    signers = _signers_by_name(qms_office)
    subject = f"{first}#0"  # in review, with its file replaced twice
    if forgery == "another author":
        _return_to_draft(path, signers, subject)
        number = _replaced(path, signers["mohan"], subject, b"%PDF-1.4 mohan's")
    elif forgery == "after submission":
        number = _replaced(path, signers["anita"], subject, b"%PDF-1.4 late")
    else:
        created = {
            **_created(path, subject),
            "reason": "नया संशोधन",
            "sha256": _add_blob(path, b"%PDF-1.4 rev 1"),
        }
        _append(
            path, signers["anita"], "author", "document.revision.created", f"{second}#1", created
        )
        number = _append(
            path,
            signers["anita"],
            "author",
            REPLACED,
            f"{second}#1",
            {
                "media_type": "application/pdf",
                "original_filename": "new.pdf",
                "previous_sha256": _current_file(path, f"{second}#0"),
                "reason": "सुधार",
                "sha256": _add_blob(path, b"%PDF-1.4 rev 1, corrected"),
                "size": 25,
            },
        )
        subject = f"{second}#1"
    _both_reject(
        path, qms_office, [f"event #{number}: {subject}: file replacement: {why}"], engine_says
    )


def test_both_verifiers_reject_a_draft_discarded_by_another_author(
    corrected: tuple[Path, str, str], qms_office: TestOffice
) -> None:
    """Mohan discards Anita's returned draft: ``discard`` is ``by = ["author"]`` (§7)."""
    path, first, _second = corrected
    signers = _signers_by_name(qms_office)
    subject = f"{first}#0"
    take_back = _return_to_draft(path, signers, subject)
    discard = {**take_back, "from": "draft", "to": "discarded", "transition": "discard"}
    number = _append(
        path,
        signers["mohan"],
        "author",
        "document.revision.discarded",
        subject,
        discard,
        meaning="discarded",
    )
    _both_reject(
        path,
        qms_office,
        [f"event #{number}: {subject}: only author may discard it, not 'mohan'"],
        "only its author may discard this revision, not 'mohan'",
    )


@pytest.mark.parametrize("named", ["the file before the replacements", "an arbitrary hash"])
def test_both_verifiers_reject_an_approval_of_a_file_other_than_the_current_one(
    corrected: tuple[Path, str, str], qms_office: TestOffice, named: str
) -> None:
    """The SHO signs the approval of Anita's corrected draft naming another file than the one
    in review (§7, the file acted on): his signature would not bind what he approved."""
    path, first, _second = corrected
    subject = f"{first}#0"
    sha256 = (
        _created(path, subject)["sha256"]
        if named == "the file before the replacements"
        else _sha256_hex(b"never filed")
    )
    approval = {
        "comment": "",
        "from": "in_review",
        "sha256": sha256,
        "to": "approved",
        "transition": "approve",
    }
    sks = _signers_by_name(qms_office)["sks"]
    number = _append(
        path, sks, "approver", "document.revision.approved", subject, approval, meaning="approved"
    )
    _both_reject(
        path,
        qms_office,
        [f"event #{number}: {subject}: the transition names a file not its current one"],
        f"'approve' names the file {sha256[:16]}…, but its current file is "
        f"{_current_file(path, subject)[:16]}…",
    )


# ---------------------------------------------------------------------------------------------
# Drafts from the inbox, adopted by their author (§6 document.revision.adopted, §7 adoption)
# ---------------------------------------------------------------------------------------------


def _file_from_inbox(qms_office: TestOffice, make_docx: Callable[..., Path], who: str) -> str:
    """The inbox service files an SOP draft dropped in ``who``'s folder; its NUMBER#REVNO."""
    from tests.ingest_fixtures import IngestDesk, add_ingest_user

    add_ingest_user(qms_office)
    desk = IngestDesk(qms_office)
    draft = make_docx("patrol.docx", "गश्त", "रात्रि गश्त का रजिस्टर")
    desk.drop("SOP-DRAFTS", f"{who}/patrol.docx", draft.read_bytes())
    (outcome,) = desk.run()
    assert outcome.status == "filed", outcome
    return f"{outcome.number}#0"


def test_both_verifiers_accept_an_adopted_draft_corrected_and_approved(
    qms_office: TestOffice, make_docx: Callable[..., Path], tmp_path: Path
) -> None:
    """A draft the inbox filed naming Anita, signed for by her, returned, corrected and
    approved, all by the engine, passes both verifiers; every transition names the file."""
    from qms_engine.documents.revisions import adopt_revision, replace_revision_file
    from qms_engine.documents.transitions import take_transition

    runtime, signers = qms_office.runtime, qms_office.signers
    subject = _file_from_inbox(qms_office, make_docx, "anita")
    number = subject.partition("#")[0]
    adopt_revision(runtime, number=number, actor=signers["author"])
    for transition, who in (("submit", "author"), ("reject", "reviewer")):
        take_transition(
            runtime, number=number, transition=transition, actor=signers[who], comment="धारा 4"
        )
    replace_revision_file(
        runtime,
        actor=signers["author"],
        number=number,
        path=make_docx("patrol-2.docx", "गश्त", "रात्रि गश्त, धारा 4 जोड़ी"),
        reason="धारा 4",
    )
    for transition, who in (("submit", "author"), ("approve", "approver")):
        take_transition(runtime, number=number, transition=transition, actor=signers[who])
    path = _export(qms_office, tmp_path / "adopted")
    _both_accept(path, qms_office)
    mine = [b for b in _bodies(path) if b["subject"] == subject]
    assert [b["action"] for b in mine][:2] == ["document.revision.filed", ADOPTED]
    assert (mine[1]["actor"], mine[1]["payload"]) == ("anita", {"author": "anita"})
    assert mine[-1]["action"] == "document.revision.approved"
    assert (
        mine[-1]["payload"]["sha256"]
        == _current_file(path, subject)
        != mine[0]["payload"]["sha256"]
    )


@pytest.mark.parametrize("forgery", ["signed by another author", "naming another author"])
def test_both_verifiers_reject_a_forged_adoption(
    qms_office: TestOffice, make_docx: Callable[..., Path], tmp_path: Path, forgery: str
) -> None:
    """Mohan signs for the draft the inbox filed naming Anita (the draft still awaits her, and
    her own adoption then passes); or Anita signs for it naming Mohan as its author (§7)."""
    subject = _file_from_inbox(qms_office, make_docx, "anita")
    path = _export(qms_office, tmp_path / "filed")
    signers = _signers_by_name(qms_office)
    if forgery == "signed by another author":
        number = _append(path, signers["mohan"], "author", ADOPTED, subject, {"author": "mohan"})
        _append(path, signers["anita"], "author", ADOPTED, subject, {"author": "anita"})
        expected = "adopted by 'mohan', but it names 'anita'"
        engine_says = "the draft names 'anita', but 'mohan' signed for it"
    else:
        number = _append(path, signers["anita"], "author", ADOPTED, subject, {"author": "mohan"})
        expected = "'anita' adopted it naming another author"
        engine_says = "'anita' signed for it naming 'mohan'"
    _both_reject(path, qms_office, [f"event #{number}: {subject}: {expected}"], engine_says)


# ---------------------------------------------------------------------------------------------
# What a revision's events must hold (§6 content payloads, §7 revisions and inbox drafts)
# ---------------------------------------------------------------------------------------------


def test_both_verifiers_reject_a_replacement_without_its_size(
    corrected: tuple[Path, str, str], qms_office: TestOffice
) -> None:
    """Anita replaces her returned draft's file with a payload lacking ``size`` (§6 content
    payloads): nothing the tables or blobs are compared with may be missing."""
    path, first, _second = corrected
    signers = _signers_by_name(qms_office)
    subject = f"{first}#0"
    _return_to_draft(path, signers, subject)
    payload = {
        "media_type": "application/pdf",
        "original_filename": "new.pdf",
        "previous_sha256": _current_file(path, subject),
        "reason": "सुधार",
        "sha256": _add_blob(path, b"%PDF-1.4 no size"),
    }
    number = _append(path, signers["anita"], "author", REPLACED, subject, payload)
    _both_reject(
        path,
        qms_office,
        [
            f"event #{number}: rule 'file replacement': malformed payload: members "
            f"{sorted(payload)}, not {sorted(CONTENT_PAYLOADS[REPLACED])}"
        ],
        "malformed payload: lacks 'size'",
    )


@pytest.mark.parametrize(
    ("changes", "wrong", "engine_says"),
    [
        ({"sha256": ""}, "sha256", "'sha256' must be a SHA-256 (64 lowercase hex digits), not ''"),
        ({"sha256": "AB" * 32}, "sha256", "'sha256' must be a SHA-256"),
        ({"size": -1}, "size", "'size' must be an integer ≥ 0, not -1"),
        ({"size": True}, "size", "'size' must be an integer ≥ 0, not True"),
        ({"fields": []}, "fields", "'fields' must be an object, not []"),
    ],
    ids=["empty-sha256", "upper-case", "negative-size", "bool-size", "fields"],
)
def test_both_verifiers_reject_a_revision_with_a_malformed_payload(
    real_bundle: tuple[Path, str],
    qms_office: TestOffice,
    changes: dict[str, Any],
    wrong: str,
    engine_says: str,
) -> None:
    """A new revision naming no file (``sha256`` ``""``: every approval of it would bind
    nothing), or otherwise not of its shape (§6 content payloads)."""
    path, _ = real_bundle
    sop = _sop(path)
    payload = {
        **_created(path, f"{sop}#1"),
        "reason": "तीसरा",
        "sha256": _add_blob(path, b"%PDF-1.4 rev 2"),
        **changes,
    }
    if payload["sha256"] != _sha256_hex(b"%PDF-1.4 rev 2"):  # the blob names no file now
        (path / "blobs" / _sha256_hex(b"%PDF-1.4 rev 2")).unlink()
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        manifest["blobs"]["count"] -= 1
        (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    anita = _signers_by_name(qms_office)["anita"]
    number = _append(path, anita, "author", "document.revision.created", f"{sop}#2", payload)
    _both_reject(
        path,
        qms_office,
        [f"event #{number}: rule 'revisions': malformed payload: {wrong} of the wrong type"],
        engine_says,
    )


@pytest.mark.parametrize("forgery", ["second open", "same file", "numbering gap"])
def test_both_verifiers_reject_a_revision_against_its_document(
    real_bundle: tuple[Path, str], qms_office: TestOffice, forgery: str
) -> None:
    """A revision created while another of its document is open, one with an earlier
    revision's file, one whose number skips one (§7 revisions)."""
    path, _ = real_bundle
    sop = _sop(path)
    anita = _signers_by_name(qms_office)["anita"]

    def revision(revno: int, sha256: str) -> int:
        payload = {**_created(path, f"{sop}#1"), "reason": f"संशोधन {revno}", "sha256": sha256}
        return _append(
            path, anita, "author", "document.revision.created", f"{sop}#{revno}", payload
        )

    if forgery == "second open":
        revision(2, _add_blob(path, b"%PDF-1.4 rev 2"))
        number = revision(3, _add_blob(path, b"%PDF-1.4 rev 3"))
        expected = f"{sop}#3: {sop}#2 is still open"
        engine_says = f"created while {sop}#2 is still 'draft'"
    elif forgery == "same file":
        number = revision(2, _current_file(path, f"{sop}#1"))
        expected = f"{sop}#2: its file is {sop}#1's"
        engine_says = "(a revision changes the file)"
    else:
        number = revision(3, _add_blob(path, b"%PDF-1.4 rev 3"))
        expected = f"{sop}#3: revision 2 comes next"
        engine_says = "numbered '3', but revision 2 comes next"
    _both_reject(path, qms_office, [f"event #{number}: {expected}"], engine_says)


def test_both_verifiers_reject_a_register_record_revised(
    real_bundle: tuple[Path, str], qms_office: TestOffice
) -> None:
    """The clerk files a GD entry, then gives it a revision 1: GD is append-only, as its
    ``office.document_type.added`` says (§6, §7 revisions)."""
    path, _ = real_bundle
    (added,) = [
        b["payload"]
        for b in _bodies(path)
        if b["action"] == "office.document_type.added" and b["subject"].endswith("/GD")
    ]
    assert added["append_only"] is True
    ramesh = _signers_by_name(qms_office)["ramesh"]
    gd = f"{_sop(path).partition('/')[0]}/GD/2026/00001"
    _append(
        path,
        ramesh,
        "clerk",
        "document.created",
        gd,
        {"serial": 1, "title": "GD", "type": "GD", "period": "2026", "entry": "entry"},
    )  # GD numbers per year (its type's serial_period): its period and kind (§6)
    entry = {
        **_created(path, f"{_sop(path)}#1"),
        "state": "filed",
        "sha256": _add_blob(path, b"%PDF-1.4 GD 1"),
    }
    _append(path, ramesh, "clerk", "document.revision.created", f"{gd}#0", entry)
    _both_accept(path, qms_office)
    changed = {**entry, "sha256": _add_blob(path, b"%PDF-1.4 GD 1, changed")}
    number = _append(path, ramesh, "clerk", "document.revision.created", f"{gd}#1", changed)
    _both_reject(
        path,
        qms_office,
        [f"event #{number}: {gd}#1: its type is append-only"],
        "GD records are append-only, never revised",
    )


@pytest.fixture
def drafted_elsewhere(qms_office: TestOffice) -> tuple[Any, str]:
    """PS-TEST2, added by `office add`, where the inbox service filed a draft naming Anita:
    (the office, the draft's NUMBER#REVNO)."""
    from tests.ingest_fixtures import draft_in_an_office_added_later

    second, number, _service = draft_in_an_office_added_later(qms_office)
    return second, f"{number}#0"


def test_both_verifiers_accept_a_draft_adopted_in_an_office_added_later(
    drafted_elsewhere: tuple[Any, str], qms_office: TestOffice, tmp_path: Path
) -> None:
    """Anita signs for the inbox draft in PS-TEST2, whose chain never says who is a service
    (§7 drafts filed from the inbox), and submits it: both verifiers accept."""
    from qms_engine.documents.revisions import adopt_revision
    from qms_engine.documents.transitions import take_transition
    from qms_engine.people.keys import unlock
    from qms_engine.testing import TEST_PASSPHRASE

    second, subject = drafted_elsewhere
    number, runtime = subject.partition("#")[0], qms_office.runtime
    anita = unlock(runtime, "anita", TEST_PASSPHRASE)
    adopt_revision(runtime, number=number, actor=anita)
    take_transition(runtime, number=number, transition="submit", actor=anita)
    path = _export(qms_office, tmp_path / "second", second)
    assert "user.created" not in {b["action"] for b in _bodies(path)}
    _both_accept(path, qms_office)


@pytest.mark.parametrize("forgery", ["replaced by the service", "filed naming the filer"])
def test_both_verifiers_reject_the_service_acting_for_a_draft_s_author(
    drafted_elsewhere: tuple[Any, str], qms_office: TestOffice, tmp_path: Path, forgery: str
) -> None:
    """In PS-TEST2 the inbox service replaces the file of the draft it filed for Anita; or it
    files a draft naming itself and signs for it (§7 drafts filed from the inbox, adoption)."""
    from qms_engine.people.keys import unlock
    from qms_engine.testing import TEST_PASSPHRASE

    second, subject = drafted_elsewhere
    path = _export(qms_office, tmp_path / "second", second)
    service = unlock(qms_office.runtime, "ingest", TEST_PASSPHRASE)
    if forgery == "replaced by the service":
        number = _replaced(path, service, subject, b"%PDF-1.4 the service's own")
        expected = [
            f"event #{number}: {subject}: file replacement: its named author 'anita' "
            "has not adopted it"
        ]
        engine_says = "file replaced before the draft's named author 'anita' signed for it"
    else:
        ghost = "PS-TEST2/SOP/002"
        created = {"serial": 2, "title": "Ghost", "type": "SOP"}
        _append(path, service, "author", "document.created", ghost, created)
        (filed,) = [b["payload"] for b in _bodies(path) if b["subject"] == subject]
        payload = {
            **filed,
            "sha256": _add_blob(path, b"%PDF-1.4 nobody wrote this"),
            "source": {**filed["source"], "author": "ingest"},
        }
        number = _append(path, service, "author", "document.revision.filed", f"{ghost}#0", payload)
        adopted = _append(path, service, "author", ADOPTED, f"{ghost}#0", {"author": "ingest"})
        expected = [
            f"event #{number}: {ghost}#0: its filer 'ingest' names themselves its author",
            f"event #{adopted}: {ghost}#0: adopted by its filer 'ingest'",
        ]
        engine_says = "'ingest' filed the draft, and cannot also sign as its author"
    _both_reject(path, qms_office, expected, engine_says)


# ---------------------------------------------------------------------------------------------
# §6–§7 CAPA: nonconformities, actions, internal audits and citizens' feedback
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def capa_bundle(qms_office: TestOffice, tmp_path: Path) -> tuple[Path, Any, str]:
    """A bundle of the CAPA history of ``test_capa_attacks`` (an NC closed with an action done
    by hand and one done by a revision of SOP 001, an audit raising an NC, feedback raising an
    NC), then the feedback NC planned and implemented with Inspector Singh's own action (first
    Anita's, reassigned to him), and a second audit with its item open.  Returns the bundle,
    the history's names and the audit."""
    from datetime import timedelta

    from qms_engine.capa.actions import add_action, complete_action, reassign_action
    from qms_engine.capa.internal_audits import AuditItem, plan_audit
    from qms_engine.capa.nonconformities import take_nc_transition
    from tests.test_audit_attacks import build_history
    from tests.test_capa_attacks import _today, build_capa

    runtime, office, s = qms_office.runtime, qms_office.office, qms_office.signers
    build_history(runtime, office, s, tmp_path / "files")
    names = build_capa(runtime, office, s, tmp_path / "files")
    for transition, who, comment in (
        ("contain", "quality_coordinator", "Told"),
        ("analyse", "approver", "Cause"),
    ):
        take_nc_transition(
            runtime, number=names.feedback, transition=transition, actor=s[who], comment=comment
        )
    add_action(
        runtime,
        number=names.feedback,
        actor=s["quality_coordinator"],
        type="corrective",
        description="Night desk roster",
        owner="anita",
        due=_today(office) + timedelta(days=7),
    )
    reassign_action(
        runtime,
        action=f"{names.feedback}#A1",
        actor=s["quality_coordinator"],
        owner="sks",
        comment="The SHO keeps the roster",
    )
    take_nc_transition(
        runtime, number=names.feedback, transition="plan", actor=s["quality_coordinator"]
    )
    complete_action(runtime, action=f"{names.feedback}#A1", actor=s["approver"], comment="Done")
    take_nc_transition(
        runtime, number=names.feedback, transition="implement", actor=s["quality_coordinator"]
    )
    audit = plan_audit(
        runtime,
        office=office,
        actor=s["quality_coordinator"],
        title="Records audit",
        scope="Clause 7.5.3",
        date=_today(office),
        auditors=["audit", "rakesh"],
        items=[AuditItem("7.5.3", "audit")],
    ).number
    return _export(qms_office, tmp_path / "capa"), names, audit


def test_both_verifiers_accept_the_capa_history(
    capa_bundle: tuple[Path, Any, str], qms_office: TestOffice
) -> None:
    """Every CAPA event the engine wrote passes both verifiers (§6 CAPA payloads, §7 rules),
    and the online check, which holds the six CAPA tables to the chain."""
    from qms_engine.audit.verify import verify_office

    path, _, _ = capa_bundle
    _both_accept(path, qms_office)
    online = verify_office(qms_office.runtime, qms_office.office)  # the tables too
    assert online.ok, online.problems
    actions = {body["action"] for body in _bodies(path)}
    assert {*CAPA_KINDS, "nc.effectiveness_verified", "nc.closed"} <= actions


def _raised(number: str, state: str = "raised", **changes: Any) -> dict[str, Any]:
    return {
        "title": "Forged",
        "description": "Forged",
        "source": "complaint",
        "severity": "minor",
        "clause": "",
        "documents": [],
        "records": [],
        "evidence": [],
        "responses": [],
        "finding": "",
        "workflow": "capa",
        "state": state,
        **changes,
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "self-verified",
        "raised later",
        "skipped a state",
        "document action done by hand",
        "response twice",
        "erasure of a response never received",
        "erasure of a young response",
        "finding by another auditor",
        "own SOP audited",
        "finding without its NC",
    ],
)
def test_both_verifiers_reject_a_forged_capa_step(
    capa_bundle: tuple[Path, Any, str], qms_office: TestOffice, forgery: str
) -> None:
    """Each forged CAPA step, signed with a real key in a role its signer holds, breaks one
    rule of §7 that only the chain's history shows."""
    path, names, audit = capa_bundle
    s = qms_office.signers
    n = len(_bodies(path)) + 1
    if forgery == "self-verified":
        step = {"transition": "verify", "from": "implemented", "to": "verified", "comment": "ok"}
        _append(
            path,
            s["approver"],
            "approver",
            "nc.effectiveness_verified",
            names.feedback,
            step,
            "effectiveness verified",
        )
        expected = f"{names.feedback}: segregation of duties: 'sks' is 'implementer' of it"
        engine_says = "'sks' implemented one of its actions and may not also verify it"
    elif forgery == "raised later":
        number = names.feedback.replace("/003", "/009")
        _append(
            path,
            s["quality_coordinator"],
            "quality_coordinator",
            "nc.raised",
            number,
            _raised(number, "verified"),
        )
        expected = f"{number}: raised in 'verified', not in 'raised'"
        engine_says = "raised in state 'verified'"
    elif forgery == "skipped a state":
        step = {"transition": "analyse", "from": "raised", "to": "analysed", "comment": "Cause"}
        _append(
            path,
            s["approver"],
            "approver",
            "nc.cause_analysed",
            names.found,
            step,
            "cause analysed",
        )
        expected = f"{names.found}: 'analyse' goes ['contained']→analysed"
        engine_says = "'analyse' goes ('contained',)→analysed"
    elif forgery == "document action done by hand":
        _append(
            path,
            s["author2"],
            "author",
            "nc.action.done",
            f"{names.closed}#A2",
            {"comment": "Done", "evidence": []},
        )
        expected = f"{names.closed}#A2: a document action is done by its revision, not by an event"
        engine_says = "a document action is done only when a revision of"
    elif forgery == "response twice":
        digest = "cd" * 32
        again = {
            "id": names.responses[0],
            "time": "2025-11-24T05:10:46.000000Z",
            "ratings": {"overall": 1},
            "comment_sha256": "00" * 32,
        }
        subject = f"{qms_office.office.code}/FEEDBACK/{digest[:12]}"
        _append(
            path,
            s["quality_coordinator"],
            "quality_coordinator",
            "feedback.received",
            subject,
            {
                "file_sha256": digest,
                "file_name": "x.csv",
                "poor": {"rating": "overall", "at_most": 2},
                "responses": [again],
            },
        )
        expected = f"{subject}: response {names.responses[0]} was received before"
        engine_says = "was already received in this chain"
    elif forgery in ("erasure of a response never received", "erasure of a young response"):
        response = "0123456789abcdef" if "never" in forgery else names.responses[1]
        subject = f"{qms_office.office.code}/FEEDBACK/ERASED/2025-01-01"
        _append(
            path,
            s["quality_coordinator"],
            "quality_coordinator",
            "feedback.comments.erased",
            subject,
            {"before": "2025-01-01", "responses": [response]},
        )
        if "never" in forgery:
            expected = f"{subject}: response {response} was never received"
            engine_says = f"erases response {response}, never received in this chain"
        else:
            expected = f"{subject}: response {response} is not older than 2025-01-01"
            engine_says = "of 2025-11-24, not older than 2025-01-01"
    elif forgery == "finding by another auditor":
        finding = {"result": "conforms", "note": "", "nc": ""}
        _append(path, s["reviewer"], "auditor", "internal_audit.finding", f"{audit}#1", finding)
        expected = f"{audit}#1: item 1 is 'audit''s to audit"
        engine_says = "item 1 is 'audit''s to audit, not 'rakesh''s"
    elif forgery == "own SOP audited":
        plan = {
            "title": "Own work",
            "scope": "SOP 002",
            "date": "2026-01-05",
            "auditors": ["mohan"],
            "items": [{"ref": "PS-TEST1/SOP/002", "auditor": "mohan", "area_owner": ""}],
        }
        _append(
            path,
            s["quality_coordinator"],
            "quality_coordinator",
            "internal_audit.planned",
            f"{audit}9",
            plan,
        )
        expected = f"{audit}9: item 1: 'mohan' would audit their own work PS-TEST1/SOP/002"
        engine_says = "item 1: 'mohan' would audit PS-TEST1/SOP/002, having written"
    else:
        named = names.feedback.replace("/003", "/004")
        finding = {"result": "nonconformity", "note": "Register open", "nc": named}
        _append(path, s["auditor"], "auditor", "internal_audit.finding", f"{audit}#1", finding)
        expected = f"finding {audit}#1 has no nc.raised after it"
        engine_says = f"a nonconformity finding naming {named}, never raised after it"
    _both_reject(path, qms_office, [f"event #{n}: {expected}"], engine_says)


def test_both_verifiers_accept_reassignment_reopening_and_an_audited_area(
    capa_bundle: tuple[Path, Any, str], qms_office: TestOffice, tmp_path: Path
) -> None:
    """Through the engine: an action handed to another owner who does it, a reopening
    followed by a new action, and an NC raised against priya's area taken on by others —
    both verifiers accept the bundle, and the online check the tables."""
    from datetime import timedelta

    from qms_engine.audit.verify import verify_office
    from qms_engine.capa.actions import add_action, complete_action, reassign_action
    from qms_engine.capa.internal_audits import AuditItem, plan_audit, record_finding
    from qms_engine.capa.nonconformities import take_nc_transition
    from tests.test_capa_attacks import _today

    runtime, office, s = qms_office.runtime, qms_office.office, qms_office.signers
    _, names, _ = capa_bundle

    def act(number: str, transition: str, who: str, comment: str = "") -> None:
        take_nc_transition(
            runtime, number=number, transition=transition, actor=s[who], comment=comment
        )

    act(names.feedback, "reopen", "auditor", "Night desk still unanswered")
    second = add_action(
        runtime,
        number=names.feedback,
        actor=s["quality_coordinator"],
        type="corrective",
        description="Second phone at the night desk",
        owner="anita",
        due=_today(office) + timedelta(days=7),
    ).subject
    reassign_action(
        runtime, action=second, actor=s["approver"], owner="mohan", comment="Anita on leave"
    )
    complete_action(runtime, action=second, actor=s["author2"], comment="Installed")
    act(names.feedback, "implement", "quality_coordinator")
    act(names.feedback, "verify", "auditor", "Answered every night for a week")
    audit = plan_audit(
        runtime,
        office=office,
        actor=s["quality_coordinator"],
        title="Notice board",
        scope="Clause 7.5.3",
        date=_today(office),
        auditors=["audit"],
        items=[AuditItem("8.5.1 a", "audit", "priya")],
    ).number
    found = record_finding(
        runtime, audit=audit, item=1, actor=s["auditor"], result="nonconformity", note="Old SOP"
    ).nc
    act(found, "cancel", "approver", "Recorded twice")
    path = _export(qms_office, tmp_path / "more")
    _both_accept(path, qms_office)
    online = verify_office(runtime, office)
    assert online.ok, online.problems
    assert "nc.action.reassigned" in {body["action"] for body in _bodies(path)}


@pytest.mark.parametrize(
    "forgery",
    [
        "reassigned when done",
        "done by the former owner",
        "implemented on actions before a reopening",
        "cancelled by the area audited",
        "a controlled document as a record",
        "a ref neither clause nor document",
        "a finding after writing the SOP",
    ],
)
def test_both_verifiers_reject_the_new_capa_forgeries(
    capa_bundle: tuple[Path, Any, str], qms_office: TestOffice, tmp_path: Path, forgery: str
) -> None:
    """Each forgery, signed with a real key in a role its signer holds, breaks one of the
    rules §7 gained: reassignment, actions reset by a reopening, the "audited" party, the kind
    of what an NC names, an item's ref, and independence at the finding."""
    from tests.test_audit_attacks import SOP1
    from tests.test_capa_attacks import _today

    path, names, audit = capa_bundle
    s = qms_office.signers
    qc = (s["quality_coordinator"], "quality_coordinator")
    number = names.feedback.replace("/003", "/009")
    engine_says: tuple[str, ...]
    if forgery == "reassigned when done":
        action = f"{names.feedback}#A1"
        n = _append(path, *qc, "nc.action.reassigned", action, {"owner": "anita", "comment": "x"})
        expected = [
            f"event #{n}: {action}: the action is already done",
            f"event #{n}: {action}: the NC is 'implemented', which accepts no actions",
        ]
        engine_says = ("reassigned, but the action is already done", "which takes no actions")
    elif forgery == "done by the former owner":
        step = {"transition": "reopen", "from": "implemented", "to": "planned", "comment": "No"}
        _append(path, s["auditor"], "auditor", "nc.reopened", names.feedback, step, "reopened")
        action = f"{names.feedback}#A2"
        added = {
            "type": "corrective",
            "description": "Second phone",
            "owner": "anita",
            "due": _today(qms_office.office).isoformat(),
            "document": "",
            "after_revno": -1,
        }
        _append(path, *qc, "nc.action.added", action, added)
        _append(path, *qc, "nc.action.reassigned", action, {"owner": "mohan", "comment": "Leave"})
        done = {"comment": "Done", "evidence": []}
        n = _append(path, s["author"], "author", "nc.action.done", action, done)
        expected = [f"event #{n}: {action}: 'anita' is not its owner 'mohan'"]
        engine_says = ("only its owner 'mohan' marks it done, not 'anita'",)
    elif forgery == "implemented on actions before a reopening":
        step = {"transition": "reopen", "from": "implemented", "to": "planned", "comment": "No"}
        _append(path, s["auditor"], "auditor", "nc.reopened", names.feedback, step, "reopened")
        step = {"transition": "implement", "from": "planned", "to": "implemented", "comment": ""}
        meaning = "implementation confirmed"
        n = _append(path, *qc, "nc.implementation_confirmed", names.feedback, step, meaning)
        expected = [f"event #{n}: {names.feedback}: 'implement' needs an action"]
        engine_says = ("'implement' needs at least one action",)
    elif forgery == "cancelled by the area audited":
        plan = {
            "title": "Notice board",
            "scope": "7.5.3",
            "date": "2026-01-05",
            "auditors": ["audit"],
            "items": [{"ref": "7.5.3", "auditor": "audit", "area_owner": "priya"}],
        }
        _append(path, *qc, "internal_audit.planned", f"{audit}9", plan)
        finding = {"result": "nonconformity", "note": "Old SOP", "nc": number}
        _append(path, s["auditor"], "auditor", "internal_audit.finding", f"{audit}9#1", finding)
        raised = _raised(number, source="internal_audit", finding=f"{audit}9#1")
        _append(path, s["auditor"], "auditor", "nc.raised", number, raised)
        step = {"transition": "cancel", "from": "raised", "to": "cancelled", "comment": "No"}
        n = _append(path, *qc, "nc.cancelled", number, step, "cancelled")
        expected = [f"event #{n}: {number}: segregation of duties: 'priya' is 'audited' of it"]
        engine_says = ("'priya' owns the area audited, whose finding raised it,",)
    elif forgery == "a controlled document as a record":
        n = _append(path, *qc, "nc.raised", number, _raised(number, records=[SOP1]))
        expected = [f"event #{n}: {number}: records names {SOP1!r}, of another kind"]
        engine_says = (f"its records name {SOP1!r}, a SOP of kind 'document', not 'register'",)
    elif forgery == "a ref neither clause nor document":
        plan = {
            "title": "Short numbers",
            "scope": "SOP 001",
            "date": "2026-01-05",
            "auditors": ["rakesh"],
            "items": [{"ref": "SOP/001", "auditor": "rakesh", "area_owner": ""}],
        }
        n = _append(path, *qc, "internal_audit.planned", f"{audit}9", plan)
        expected = [
            f"event #{n}: {audit}9: item 1: ref 'SOP/001' is no ISO clause nor a document here"
        ]
        engine_says = ("item 1: ref 'SOP/001' is neither an ISO clause",)
    else:
        from qms_engine.capa.internal_audits import AuditItem, plan_audit
        from qms_engine.documents.revisions import revise_document
        from qms_engine.people.users import grant_roles
        from tests.test_audit_attacks import _docx

        runtime, office = qms_office.runtime, qms_office.office
        grant_roles(runtime, office, actor=s["admin"], username="rakesh", roles=["author"])
        planned = plan_audit(
            runtime,
            office=office,
            actor=s["quality_coordinator"],
            title="SOP audit",
            scope="SOP 001",
            date=_today(office),
            auditors=["rakesh"],
            items=[AuditItem(SOP1, "rakesh")],
        ).number
        revise_document(
            runtime,
            actor=s["reviewer"],
            number=SOP1,
            path=_docx(tmp_path, "mine.docx", "Station office procedure"),
            reason="My corrections",
        )
        path = _export(qms_office, tmp_path / "after-writing")
        finding = {"result": "conforms", "note": "", "nc": ""}
        n = _append(
            path, s["reviewer"], "auditor", "internal_audit.finding", f"{planned}#1", finding
        )
        expected = [f"event #{n}: {planned}#1: item 1: 'rakesh' is no longer independent of it"]
        engine_says = (f"item 1: 'rakesh' may no longer audit {SOP1}, having written",)
    _both_reject(path, qms_office, expected, *engine_says)


def _poor_received(path: Path, signer: Signer, office: str, key: str, overall: int) -> int:
    """Append a feedback.received of one response ``key`` rated ``overall`` (poor at 2 or
    less by the police station form's rule, which the payload states)."""
    digest = (key * 4)[:64]
    response = {
        "id": key,
        "time": _bodies(path)[-1]["time"],
        "ratings": {"behaviour": 3, "action_taken": 3, "timeliness": 3, "overall": overall},
        "comment_sha256": "00" * 32,
    }
    payload = {
        "file_sha256": digest,
        "file_name": "week.csv",
        "poor": {"rating": "overall", "at_most": 2},
        "responses": [response],
    }
    subject = f"{office}/FEEDBACK/{digest[:12]}"
    return _append(path, signer, "quality_coordinator", "feedback.received", subject, payload)


@pytest.mark.parametrize(
    "forgery",
    [
        "poor response never linked",
        "good response linked",
        "responses linked by the clerk",
        "finding before the audit",
        "finding's NC by another, an observation",
        "item in Arabic-Indic digits",
        "erasure after itself",
        "erasure before no date",
        "due in 9999",
        "audit before 2000",
        "audit three years ahead",
    ],
)
def test_both_verifiers_reject_the_forgeries_of_review_r3(
    capa_bundle: tuple[Path, Any, str], qms_office: TestOffice, forgery: str
) -> None:
    """Each forgery, signed with a real key in a role its signer holds, breaks a rule §7
    gained after review r3: poor responses held to an NC (and only they), linking by a
    quality coordinator, a finding's date and its NC, ASCII item numbers, the erasure's date,
    and the bounds of an action's due date and an audit's date."""
    from datetime import date, timedelta

    path, names, audit = capa_bundle
    s, office = qms_office.signers, qms_office.office.code
    qc = (s["quality_coordinator"], "quality_coordinator")
    number = names.feedback.replace("/003", "/009")
    today = _bodies(path)[-1]["time"][:10]
    poor = "0011223344556677"
    engine_says: tuple[str, ...]

    def plan(day: str) -> int:
        items = [{"ref": "7.5.3", "auditor": "audit", "area_owner": ""}]
        payload = {"title": "t", "scope": "s", "date": day, "auditors": ["audit"], "items": items}
        return _append(path, *qc, "internal_audit.planned", f"{audit}9", payload)

    if forgery == "poor response never linked":
        n = _poor_received(path, s["quality_coordinator"], office, poor, 1)
        _poor_received(path, s["quality_coordinator"], office, "8899aabbccddeeff", 3)
        expected = [
            f"event #{n}: {office}/FEEDBACK/{(poor * 4)[:12]}: poor response {poor} is "
            "linked to no nonconformity"
        ]
        engine_says = (f"response {poor} is poor by its form's rule, but no nonconformity",)
    elif forgery == "good response linked":
        good = names.responses[0]
        n = _append(path, *qc, "nc.feedback.linked", names.feedback, {"responses": [good]})
        expected = [f"event #{n}: {names.feedback}: response {good} is not poor"]
        engine_says = (f"response {good} is not poor by its form's rule",)
    elif forgery == "responses linked by the clerk":
        _poor_received(path, s["quality_coordinator"], office, poor, 1)
        raised = _raised(number, source="citizen_feedback", responses=[poor])
        n = _append(path, s["clerk"], "clerk", "nc.raised", number, raised)
        expected = [
            f"event #{n}: rule 'raising nonconformities': only a quality coordinator links "
            "responses"
        ]
        engine_says = ("only a quality coordinator raises an NC linking citizens' responses",)
    elif forgery == "finding before the audit":
        plan((date.fromisoformat(today) + timedelta(days=60)).isoformat())
        finding = {"result": "conforms", "note": "", "nc": ""}
        n = _append(path, s["auditor"], "auditor", "internal_audit.finding", f"{audit}9#1", finding)
        expected = [f"event #{n}: {audit}9#1: recorded before the audit's date"]
        engine_says = ("before the audit's date",)
    elif forgery == "finding's NC by another, an observation":
        finding = {"result": "nonconformity", "note": "Open register", "nc": number}
        _append(path, s["auditor"], "auditor", "internal_audit.finding", f"{audit}#1", finding)
        raised = _raised(number, source="internal_audit", severity="observation")
        raised["finding"] = f"{audit}#1"
        n = _append(path, s["clerk"], "clerk", "nc.raised", number, raised)
        expected = [
            f"event #{n}: {number}: raised by another than its finding's 'audit'",
            f"event #{n}: {number}: a finding's NC of severity 'observation'",
        ]
        engine_says = ("raised by 'ramesh'", "a finding's nonconformity is major or minor")
    elif forgery == "item in Arabic-Indic digits":
        finding = {"result": "conforms", "note": "", "nc": ""}
        n = _append(path, s["auditor"], "auditor", "internal_audit.finding", f"{audit}#١", finding)
        expected = [f"event #{n}: {audit}#١: no item '١'"]
        engine_says = ("the audit has no item '١'",)
    elif forgery in ("erasure after itself", "erasure before no date"):
        before = "2099-12-31" if "after" in forgery else "2025-12-32"
        subject = f"{office}/FEEDBACK/ERASED/{before}"
        erased = {"before": before, "responses": [names.responses[1]]}
        n = _append(path, *qc, "feedback.comments.erased", subject, erased)
        if "after" in forgery:
            expected = [f"event #{n}: {subject}: before {before} is after the erasure"]
            engine_says = (f"erases before {before}, later than the erasure itself",)
        else:
            expected = [f"event #{n}: {subject}: before {before!r} is no date"]
            engine_says = (f"erases before {before!r}, which is not a date",)
    elif forgery == "due in 9999":
        step = {"transition": "reopen", "from": "implemented", "to": "planned", "comment": "No"}
        _append(path, s["auditor"], "auditor", "nc.reopened", names.feedback, step, "reopened")
        added = {
            "type": "corrective",
            "description": "Some day",
            "owner": "anita",
            "due": "9999-12-31",
            "document": "",
            "after_revno": -1,
        }
        n = _append(path, *qc, "nc.action.added", f"{names.feedback}#A2", added)
        expected = [f"event #{n}: {names.feedback}#A2: due 9999-12-31 is more than 5 years ahead"]
        engine_says = ("due 9999-12-31, more than 5 years after it was added",)
    elif forgery == "audit before 2000":
        n = plan("1999-12-31")
        expected = [f"event #{n}: {audit}9: dated 1999-12-31, before 2000"]
        engine_says = ("dated 1999-12-31, before 2000-01-01",)
    else:
        far = (date.fromisoformat(today) + timedelta(days=3 * 366)).isoformat()
        n = plan(far)
        expected = [f"event #{n}: {audit}9: dated {far}, more than 2 years ahead"]
        engine_says = ("more than 2 years after it was planned",)
    _both_reject(path, qms_office, expected, *engine_says)


# --------------------------------------------------------------------------- custody (§6, §7)


@pytest.fixture
def custody_bundle(qms_office: TestOffice, desk: Desk, tmp_path: Path) -> tuple[Path, str, str]:
    """A bundle whose malkhana entries moved through the engine: the first to court and
    back, the second disposed of by an order; an SOP filed before them (its first record,
    :func:`_sop`).  Returns the bundle and both numbers."""
    from datetime import timedelta

    from qms_engine.clock import local_today
    from qms_engine.custody import move

    fields = {
        "case_number": "112/2026",
        "items": "मोटरसाइकिल",
        "seal_number": "S-0457",
        "depositing_officer": "SI Rakesh Verma",
    }
    desk.new_sop("मालखाना प्रबंधन")
    returned, disposed = (
        desk.file_record(title, type_code="MALKHANA", fields=fields)
        for title in ("जब्त मोटरसाइकिल", "जब्त शराब")
    )
    runtime, signers = qms_office.runtime, qms_office.signers
    back = local_today(qms_office.office.timezone) + timedelta(days=7)
    for to, day in (("court", back), ("malkhana", None)):
        move(
            runtime,
            number=returned,
            actor=signers["clerk"],
            to=to,
            received_by="Court moharrir",
            seal_intact=True,
            expected_back=day,
        )
    move(
        runtime,
        number=disposed,
        actor=signers["clerk"],
        to="disposed",
        received_by="नीलामी समिति",
        seal_intact=False,
        order="CJM order 45/2026",
    )
    return _export(qms_office, tmp_path / "custody"), returned, disposed


def _moved(source: str, to: str, **changes: Any) -> dict[str, Any]:
    return {
        "from": source,
        "to": to,
        "received_by": "HC Ramesh",
        "seal_intact": True,
        "expected_back": "",
        "order": "",
        "note": "",
        **changes,
    }


def test_both_verifiers_accept_the_custody_history(
    custody_bundle: tuple[Path, str, str], qms_office: TestOffice
) -> None:
    """Every hand-over the engine wrote passes both verifiers (§6 custody payloads, §7
    custody rules), and the malkhana type's recorded custody is read from its event."""
    path, _, _ = custody_bundle
    _both_accept(path, qms_office)
    verifier = spec_verify(path)
    assert verifier.custody["MALKHANA"]["order_needed"] == ["disposed"]
    assert sum(body["action"] == "custody.moved" for body in _bodies(path)) == 3


@pytest.mark.parametrize(
    ("which", "payload", "spec_says", "engine_says"),
    [
        ("returned", _moved("malkhana", "disposed"), "without an order", "needs the reference"),
        (
            "returned",
            _moved("malkhana", "disposed", order="\u200b", received_by="नीलामी समिति"),
            "without an order",
            "needs the reference",
        ),
        (
            "returned",
            _moved("malkhana", "court", received_by=" \u200b\u2060 "),
            "received_by of the wrong type",
            "'received_by' must be who received it, not empty",
        ),
        ("returned", _moved("fsl", "court"), "but it is at 'malkhana'", "moved from 'fsl'"),
        ("disposed", _moved("disposed", "court"), "final place", "nothing moves after it"),
        ("returned", _moved("malkhana", "court"), "signed as 'author'", "handed over as 'author'"),
        (
            "returned",
            _moved("malkhana", "fsl", expected_back="a year and two days"),
            "not from the day before to a year on",
            "more than a year after it went",
        ),
        ("returned", _moved("malkhana", "thana"), "'thana' is not one of its places", "'thana'"),
        ("sop", _moved("malkhana", "court"), "not a record of a type with custody", "keeps no"),
    ],
    ids=[
        "disposal without an order",
        "disposal with a zero-width order",
        "received by nobody visible",
        "from the wrong place",
        "after disposal",
        "wrong role",
        "due back after a year",
        "unknown place",
        "a type without custody",
    ],
)
def test_both_verifiers_reject_a_forged_hand_over(
    custody_bundle: tuple[Path, str, str],
    qms_office: TestOffice,
    which: str,
    payload: dict[str, Any],
    spec_says: str,
    engine_says: str,
) -> None:
    """A real key signs a disposal without an order (or with one of zero-width characters:
    blank, as ``rules.text.is_blank`` says), one received by nobody visible, a move from where
    the item is not, a move of disposed property, a move by an author, one due back more than
    a year on, one to a place the register lacks, or one of an SOP: both verifiers reject it,
    at that event."""
    path, returned, disposed = custody_bundle
    from datetime import UTC, datetime, timedelta

    from qms_engine.clock import years_after

    subject = {"returned": returned, "disposed": disposed, "sop": _sop(path)}[which]
    today = datetime.now(UTC).date()
    if payload["to"] == "court":  # due back in five days: the one rule it keeps
        payload = {**payload, "expected_back": (today + timedelta(days=5)).isoformat()}
    if payload["expected_back"] == "a year and two days":  # beyond a day's grace
        late = years_after(today, 1) + timedelta(days=2)
        payload = {**payload, "expected_back": late.isoformat()}
    role = "author" if spec_says.startswith("signed as") else "clerk"
    signer = _signers_by_name(qms_office)["anita" if role == "author" else "ramesh"]
    n = _append(path, signer, role, "custody.moved", subject, payload)
    problems = spec_verify(path).problems
    assert len(problems) == 1 and spec_says in problems[0], problems
    _both_reject(path, qms_office, [problems[0]], engine_says)
    assert problems[0].startswith(f"event #{n}: "), problems


# --------------------------------------------------------------------------- district (§7, §8.1)


@pytest.fixture
def district_bundle(qms_office: TestOffice, desk: Desk, tmp_path: Path) -> tuple[Path, Any]:
    """An SP office added to the station's database, the station joined, a station checkpoint
    witnessed by the SP office key; the SP office's bundle and its office key (unlocked)."""
    from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key
    from qms_engine.district.stations import join_station
    from qms_engine.district.witness import witness_checkpoints
    from qms_engine.people.offices import add_office
    from qms_engine.testing import TEST_PASSPHRASE

    runtime, signers = qms_office.runtime, qms_office.signers
    sp = add_office(
        runtime,
        actor=signers["admin"],
        from_office=qms_office.office,
        code="SP-SPEC",
        name="पुलिस अधीक्षक कार्यालय",
        office_type="sp_office",
        office_passphrase=TEST_PASSPHRASE,
    )
    join_station(runtime, sp, actor=signers["admin"], station_code=qms_office.office.code)
    desk.new_sop()
    record_checkpoint(
        runtime,
        qms_office.office,
        actor=signers["quality_coordinator"],
        office_key=unlock_office_key(runtime, qms_office.office, TEST_PASSPHRASE),
    )
    office_key = unlock_office_key(runtime, sp, TEST_PASSPHRASE)
    assert witness_checkpoints(runtime, sp, actor=signers["admin"], office_key=office_key)
    return _export(qms_office, tmp_path / "district", sp), office_key


def _witness(path: Path, key: Signer, station: str, seq: int, **changes: Any) -> dict[str, Any]:
    """A witness payload for ``station``'s checkpoint at ``seq``, countersigned by ``key``."""
    payload = {
        "seq": seq,
        "head": "ab" * 32,
        "recorded_at": "2026-11-29T05:00:00.000000Z",
        "key": "cd" * 32,
        "signature": "ef" * 64,
        "witness_key": key.fingerprint,
        **changes,
    }
    office = _bodies(path)[0]["office"]
    payload["witness_signature"] = key.sign(witness_bytes(office, station, payload)).hex()
    return payload


def _imported(first: int, last: int, **changes: Any) -> dict[str, Any]:
    return {
        "name": "थाना दूरस्थ",
        "office_type": "police_station",
        "timezone": "Asia/Kolkata",
        "from_seq": first,
        "to_seq": last,
        "head": "ab" * 32,
        **changes,
    }


def test_both_verifiers_accept_a_district_and_its_witness(
    district_bundle: tuple[Path, Any], qms_office: TestOffice
) -> None:
    """The joined station and the witness the engine wrote pass both verifiers; the witness
    statement of §8.1, rebuilt from the payload alone, verifies with the SP office key."""
    path, office_key = district_bundle
    _both_accept(path, qms_office)
    (witness,) = [b for b in _bodies(path) if b["action"] == "district.checkpoint.witnessed"]
    statement = witness_bytes(witness["office"], witness["subject"], witness["payload"])
    public = office_key.private_key.public_key().public_bytes_raw().hex()
    assert _ed25519_ok(public, witness["payload"]["witness_signature"], statement)
    assert witness["payload"]["witness_key"] == office_key.fingerprint


def test_both_verifiers_accept_imports_that_extend_what_is_held(
    district_bundle: tuple[Path, Any], qms_office: TestOffice
) -> None:
    path, office_key = district_bundle
    admin = qms_office.signers["admin"]
    _append(path, admin, "admin", "district.bundle.imported", "PS-FAR1", _imported(1, 5))
    _append(path, admin, "admin", "district.bundle.imported", "PS-FAR1", _imported(6, 9))
    witness = _witness(path, office_key, "PS-FAR1", 9)
    _append(path, admin, "admin", "district.checkpoint.witnessed", "PS-FAR1", witness)
    _both_accept(path, qms_office)


@pytest.mark.parametrize(
    ("forgery", "engine_says"),
    [
        ("rewinding import", "an import extends what is held"),
        ("witness beyond the held", "the district holds only #5"),
        ("personal countersignature", "not the office key of"),
        ("unknown station", "not a station of this district"),
        ("witnessed twice", "witnessed a second time"),
        ("import of a joined station", "a bundle imported for a station of this database"),
    ],
)
def test_both_verifiers_reject_a_forged_district_event(
    district_bundle: tuple[Path, Any], qms_office: TestOffice, forgery: str, engine_says: str
) -> None:
    """Each forgery, signed with the SP admin's valid key, breaks one district rule (§7)."""
    path, office_key = district_bundle
    admin = qms_office.signers["admin"]
    station = qms_office.office.code
    joined_seq = next(
        b["payload"]["seq"] for b in _bodies(path) if b["action"] == "district.checkpoint.witnessed"
    )
    _append(path, admin, "admin", "district.bundle.imported", "PS-FAR1", _imported(1, 5))
    action, subject, payload = {
        "rewinding import": ("district.bundle.imported", "PS-FAR1", _imported(1, 7)),
        "witness beyond the held": (
            "district.checkpoint.witnessed",
            "PS-FAR1",
            _witness(path, office_key, "PS-FAR1", 6),
        ),
        "personal countersignature": (
            "district.checkpoint.witnessed",
            "PS-FAR1",
            _witness(path, admin, "PS-FAR1", 5),
        ),
        "unknown station": (
            "district.checkpoint.witnessed",
            "PS-NONE",
            _witness(path, office_key, "PS-NONE", 1),
        ),
        "witnessed twice": (
            "district.checkpoint.witnessed",
            station,
            _witness(path, office_key, station, joined_seq),
        ),
        "import of a joined station": ("district.bundle.imported", station, _imported(1, 3)),
    }[forgery]
    seq = _append(path, admin, "admin", action, subject, payload)
    (problem,) = spec_verify(path).problems
    assert problem.startswith(f"event #{seq}: "), problem
    _both_reject(path, qms_office, [problem], engine_says)


# §7 citizen-charter and record-room rules -----------------------------------------------------


def _within_days(day: object, of: str, before: int | None) -> bool:
    """A real ``YYYY-MM-DD`` ``day`` from ``before`` days before ``of`` (None: any day
    before) to ``of``."""
    return (
        _date(day)
        and _real_date(str(day))
        and (before is None or _days_after(str(day), before) >= of)
        and str(day) <= of
    )


def _local_day(verifier: SpecVerifier) -> str:
    """The event's local day: the date of its ``time`` in the office's zone (§7)."""
    return _office_day(verifier.time, verifier.zone)


def _office_day(time: str, zone: str = "Asia/Kolkata") -> str:
    """The date of UTC ``time`` in ``zone``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime.strptime(time, "%Y-%m-%dT%H:%M:%S.%f%z")
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()


def _kept_until(closed: str, years: int) -> tuple[int, int, int]:
    """``closed`` plus ``years`` years: a 29 February's retention ends on 1 March."""
    import calendar

    year, month, day = _ymd(closed, years)
    if closed[5:] == "02-29" and years:
        return (year, 2, 29) if calendar.isleap(year) else (year, 3, 1)
    return (year, month, day)


def _service_charter(verifier: SpecVerifier, body: dict[str, Any]) -> list[str]:
    payload, found = body["payload"], []
    if body["subject"] != verifier.office:
        found.append("the subject is not the office's code")
    services = [s for s in payload.get("services", []) if _service(s)]
    desks = {d.get("code") for d in payload.get("desks", []) if isinstance(d, dict)}
    found += [
        f"service {s['code']} at an unlisted desk" for s in services if s["desk"] not in desks
    ]
    verifier.charter = {s["code"]: (s["days"], s["desk"]) for s in services}
    return found


def _retention_schedule(verifier: SpecVerifier, body: dict[str, Any]) -> list[str]:
    classes = [c for c in body["payload"].get("classes", []) if _record_class(c)]
    verifier.schedule = {c["code"]: c["retention_years"] for c in classes}
    for kept in verifier.kept.values():  # never shorter than at its deposit
        if not kept["weeded"] and kept["class"] in verifier.schedule:
            given = verifier.schedule[kept["class"]]
            held = kept["years"]
            kept["years"] = None if held is None or given is None else max(held, given)
    return [] if body["subject"] == verifier.office else ["the subject is not the office's code"]


def _application_received(verifier: SpecVerifier, body: dict[str, Any]) -> list[str]:
    number, payload, day = body["subject"], body["payload"], _local_day(verifier)
    if number in verifier.applications:
        return ["received a second time"]
    received = payload.get("received")
    verifier.applications[number] = {"received": received, "disposed": False}
    service = (verifier.charter or {}).get(payload.get("service"))
    if service is None:
        return ["a service of no charter recorded before it"]
    found = []
    days, desk = service
    if payload.get("desk") != desk:
        found.append(f"desk {payload.get('desk')!r}, not the service's {desk!r}")
    if not _within_days(received, day, 30):
        found.append("received is not a day from 30 days before the event's local day to it")
    elif payload.get("due") != _days_after(str(received), days):
        found.append(f"due is not received plus {days} days")
    return found


def _application_disposed(verifier: SpecVerifier, body: dict[str, Any]) -> list[str]:
    application = verifier.applications.get(body["subject"])
    if application is None:
        return ["never received"]
    if application["disposed"]:
        return ["disposed of a second time"]
    application["disposed"] = True
    disposed, day = body["payload"].get("disposed"), _local_day(verifier)
    if disposed != day or str(application["received"]) > disposed:
        return ["disposed is not the event's local day, or is before its receipt"]
    return []


def _record_deposited(verifier: SpecVerifier, body: dict[str, Any]) -> list[str]:
    number, payload = body["subject"], body["payload"]
    if number in verifier.kept:
        return ["deposited a second time"]
    closed, record_class = payload.get("closed"), payload.get("class")
    years = (verifier.schedule or {}).get(record_class)
    verifier.kept[number] = {"class": record_class, "closed": closed, "years": years}
    verifier.kept[number]["weeded"] = False
    found = []
    type_code = verifier.documents.get(number)
    if type_code is None:
        found.append("no document of this chain")
    elif type_code not in verifier.registers:
        found.append("not a register record")
    elif type_code in verifier.custody:
        place = verifier.places.get(number, verifier.custody[type_code]["home"])
        if place != "record_room":
            found.append(f"its custody place is {place!r}, not 'record_room'")
    if record_class not in (verifier.schedule or {}):
        found.append(f"class {record_class!r} is in no schedule recorded before it")
    created = verifier.created_on.get(number, "0000-00-00")
    if not _within_days(closed, _local_day(verifier), None) or str(closed) < created:
        found.append("closed is no real date, before the record's creation or after the event")
    return found


def _unique(records: object) -> list[str]:
    listed = [r for r in records if isinstance(r, str)] if isinstance(records, list) else []
    return [] if len(set(listed)) == len(listed) else ["a record is listed twice"]


def _disposal_proposed(verifier: SpecVerifier, body: dict[str, Any]) -> list[str]:
    number, records = body["subject"], body["payload"].get("records")
    if number in verifier.disposal_lists:
        return ["proposed a second time"]
    listed = [r for r in records if isinstance(r, str)] if isinstance(records, list) else []
    kept = verifier.kept
    open_lists = {
        r
        for other in verifier.disposal_lists.values()
        if not other["rejected"]
        for r in other["records"]
        if r in kept and not kept[r]["weeded"]
    }
    verifier.disposal_lists[number] = {
        "proposer": body["actor"],
        "records": set(listed),
        "approved": False,
        "rejected": False,
    }
    absent = [r for r in listed if r not in kept or kept[r]["weeded"]]
    return (
        _unique(records)
        + [f"{r} is not in the record room" for r in absent]
        + [f"{r} is on another open list" for r in listed if r in open_lists and r not in absent]
    )


def _disposal_approved(verifier: SpecVerifier, body: dict[str, Any]) -> list[str]:
    listed = verifier.disposal_lists.get(body["subject"])
    if listed is None:
        return ["no such list was proposed"]
    found = ["decided a second time"] if listed["approved"] or listed["rejected"] else []
    if body["actor"] == listed["proposer"]:
        found.append("decided by its proposer")
    listed["rejected" if body["action"].endswith("rejected") else "approved"] = True
    return found


def _records_weeded(verifier: SpecVerifier, body: dict[str, Any]) -> list[str]:
    payload, listed = body["payload"], verifier.disposal_lists.get(body["subject"])
    on, records = payload.get("on"), payload.get("records")
    found = _unique(records)
    if listed is None or not listed["approved"] or listed["rejected"]:
        found.append("no approved list")
    if on != _local_day(verifier):
        found.append("on is not the event's local day")
    for record in [r for r in records if isinstance(r, str)] if isinstance(records, list) else []:
        kept = verifier.kept.get(record)
        if listed is not None and record not in listed["records"]:
            found.append(f"{record} is not on the list")
        if kept is None or kept["weeded"]:
            found.append(f"{record} is not in the record room")
            continue
        kept["weeded"] = True
        years = kept["years"]
        if years is None:
            found.append(f"{record} is of a permanent class")
        elif not (_date(on) and _date(kept["closed"]) and _real_date(str(kept["closed"]))) or (
            _ymd(str(on)) < _kept_until(str(kept["closed"]), years)
        ):
            found.append(f"{record}: its {years} years from {kept['closed']} have not run out")
    return found


SERVICE_RULES: dict[str, Callable[[SpecVerifier, dict[str, Any]], list[str]]] = {
    "service.charter.recorded": _service_charter,
    "record_room.schedule.recorded": _retention_schedule,
    "service.application.received": _application_received,
    "service.application.disposed": _application_disposed,
    "record_room.record.deposited": _record_deposited,
    "record_room.disposal.proposed": _disposal_proposed,
    "record_room.disposal.approved": _disposal_approved,
    "record_room.disposal.rejected": _disposal_approved,
    "record_room.records.weeded": _records_weeded,
}


def service_event(verifier: SpecVerifier, at: str, body: dict[str, Any]) -> None:
    """§7 citizen-charter and record-room rules: each failing condition is one problem."""
    verifier.time = body["time"]
    for what in SERVICE_RULES[body["action"]](verifier, body):
        verifier.problem(f"{at}: {what}")


# --------------------------------------------------------------------------- services (§7)


@pytest.fixture
def collectorate(qms_database_url: str | None, tmp_path: Path) -> Iterator[Collectorate]:
    """A collectorate's workspace (see tests/collectorate_fixtures.py), imported when used."""
    from tests.collectorate_fixtures import open_collectorate

    yield from open_collectorate(qms_database_url, tmp_path)


@pytest.fixture
def service_bundle(
    collectorate: Collectorate, tmp_path: Path, make_docx: Callable[..., Path]
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A collectorate's bundle, a year and a day on: files of classes E (three), D and A
    deposited a year ago, the first class E one weeded through an approved list; a file
    handed to the record room but not deposited, one still at the dak desk, a draft SOP; an
    application received a year ago and still open, one received and disposed of.  The
    quality coordinator holds the approver role too.  Yields the bundle (inside the time
    travel) and the numbers, by name."""
    from qms_engine.clock import local_today
    from qms_engine.people.users import grant_roles
    from qms_engine.record_room.room import approve, deposit, propose, weed
    from qms_engine.services.applications import dispose_application, receive_application
    from tests.collectorate_fixtures import later

    col, s = collectorate, collectorate.signers
    names: dict[str, str] = {}
    classes = (
        ("yearly", "E"), ("spare", "E"), ("spare2", "E"), ("three_years", "D"), ("permanent", "A")
    )  # fmt: skip
    names["undeposited"] = col.closed_file(tmp_path, "नस्ती undeposited")
    names["at_desk"] = col.file(tmp_path, "नस्ती at_desk")
    names["sop"] = col.sop(make_docx("sop.docx", "Office procedure"))
    waiting = receive_application(
        col.runtime, office=col.office, actor=s["clerk"], service="INCOME_CERT", applicant="y"
    )
    names |= {"open_application": waiting.number, "open_received": waiting.received.isoformat()}
    for name, record_class in classes:
        names[name] = col.closed_file(tmp_path, f"नस्ती {name}")
        deposit(
            col.runtime,
            office=col.office,
            actor=s["clerk2"],
            number=names[name],
            record_class=record_class,
            closed=local_today(col.office.timezone),
        )
    grant_roles(col.runtime, col.office, actor=s["admin"], username="qc", roles=["approver"])
    with later(years=1, days=1):
        application = receive_application(
            col.runtime, office=col.office, actor=s["clerk"], service="GRIEVANCE", applicant="x"
        ).number
        dispose_application(col.runtime, number=application, actor=s["clerk"], decision="granted")
        listed = propose(
            col.runtime, office=col.office, actor=s["clerk2"], records=[names["yearly"]]
        )
        approve(col.runtime, number=listed.number, actor=s["approver"])
        weed(col.runtime, number=listed.number, actor=s["clerk2"])
        names |= {"application": application, "list": listed.number}
        from qms_engine.audit.bundle import export_bundle

        path = tmp_path / "collectorate-bundle"
        export_bundle(col.runtime, col.office, path, include_blobs=True)
        yield path, names


def test_both_verifiers_accept_the_collectorate_history(
    service_bundle: tuple[Path, dict[str, str]],
) -> None:
    """The charter, the schedule and every step the engine wrote pass both verifiers (§6
    service payloads, §7 service rules), and the spec verifier reads the charter's days."""
    from qms_engine.audit.verify import verify_bundle

    path, names = service_bundle
    verifier = spec_verify(path)
    assert verifier.problems == []
    assert verify_bundle(path).problems == []
    assert verifier.charter is not None and verifier.charter["INCOME_CERT"] == (15, "revenue")
    assert verifier.kept[names["yearly"]]["weeded"] is True


_Forged = tuple[str, str, str, dict[str, Any]]
"""A forged event: the signer's key (of the collectorate's staff), action, subject, payload."""
_LIST = "COL-BSR/DL/2027/099"


def _proposal(records: list[str], who: str = "clerk2", number: str = _LIST) -> _Forged:
    return (who, "record_room.disposal.proposed", number, {"records": records})


def _approval(who: str = "approver", number: str = _LIST) -> _Forged:
    return (who, "record_room.disposal.approved", number, {"comment": ""})


def _rejection(who: str = "approver", comment: str = "फ़ाइल 7 वाद में है") -> _Forged:
    return (who, "record_room.disposal.rejected", _LIST, {"comment": comment})


def _weeding(records: list[str], day: str) -> _Forged:
    return ("clerk2", "record_room.records.weeded", _LIST, {"on": day, "records": records})


def _deposit(number: str, closed: str) -> _Forged:
    return ("clerk2", "record_room.record.deposited", number, {"class": "E", "closed": closed})


def _service_forgeries(names: dict[str, str], day: str) -> dict[str, list[_Forged]]:
    """Forged event sequences; the last event of each breaks one rule."""
    kept, spare, permanent = names["three_years"], names["spare"], names["permanent"]
    application = {
        "service": "INCOME_CERT",
        "desk": "revenue",
        "applicant": "x",
        "received": day,
        "due": _days_after(day, 60),
    }
    disposal = {"decision": "rejected", "disposed": day, "note": ""}
    received = names["open_application"]
    shortened = {"classes": [{"code": "D", "title": "d", "retention_years": 0}]}
    hand_over = _moved("record_room", "revenue")
    return {
        "weeded before its retention": [
            _proposal([kept]),
            _approval(),
            _weeding([kept], day),
        ],
        "weeded without approval": [_proposal([spare]), _weeding([spare], day)],
        "a permanent record weeded": [
            _proposal([permanent]),
            _approval(),
            _weeding([permanent], day),
        ],
        "approved by its proposer": [
            _proposal([kept], who="coordinator"),
            _approval(who="coordinator"),
        ],
        "due beyond the charter": [
            ("clerk", "service.application.received", "COL-BSR/SVC/2027/00099", application)
        ],
        "disposed of twice": [
            ("approver", "service.application.disposed", names["application"], disposal)
        ],
        "a weeded file handed over": [("clerk", "custody.moved", names["yearly"], hand_over)],
        "closed before its creation": [_deposit(names["undeposited"], "2000-01-01")],
        "deposited from a desk": [_deposit(names["at_desk"], day)],
        "an SOP deposited": [_deposit(names["sop"], day)],
        "a record of no document": [_deposit("COL-BSR/FILE/2026/09999", day)],
        "a backdated disposal": [
            (
                "clerk",
                "service.application.disposed",
                received,
                disposal | {"disposed": names["open_received"]},
            )
        ],
        "weeded on the next day": [
            _proposal([spare]),
            _approval(),
            _weeding([spare], _days_after(day, 1)),
        ],
        "a shortened schedule": [
            ("admin", "record_room.schedule.recorded", "COL-BSR", shortened),
            _proposal([kept]),
            _approval(),
            _weeding([kept], day),
        ],
        "on two open lists": [_proposal([spare]), _proposal([spare], number=_LIST + "0")],
        "rejected by its proposer": [
            _proposal([kept], who="coordinator"),
            _rejection(who="coordinator"),
        ],
        "weeded after a rejection": [_proposal([spare]), _rejection(), _weeding([spare], day)],
        "a rejection without a reason": [_proposal([spare]), _rejection(comment=" ")],
        "weeds a record not on the list": [
            _proposal([spare]),
            _approval(),
            _weeding([spare, names["spare2"]], day),
        ],
        "approved twice": [_proposal([spare]), _approval(), _approval()],
    }


@pytest.mark.parametrize(
    ("case", "engine_says"),
    [
        ("weeded before its retention", "before its retention of 3 years ends"),
        ("weeded without approval", "without an approved disposal list"),
        ("a permanent record weeded", "which is kept permanently"),
        ("approved by its proposer", "'qc' proposed this disposal list"),
        ("due beyond the charter", "the charter gives INCOME_CERT 15 days"),
        ("disposed of twice", "disposed of a second time"),
        ("a weeded file handed over", "moved after the record room weeded it"),
        ("closed before its creation", "not from the day it was created"),
        ("deposited from a desk", "its custody says it is at dak"),
        ("an SOP deposited", "a controlled document of type SOP"),
        ("a record of no document", "no document of this chain has that number"),
        ("a backdated disposal", "disposed of on the day it is recorded"),
        ("weeded on the next day", "the day weeded is the day recorded"),
        ("a shortened schedule", "before its retention of 3 years ends"),
        ("on two open lists", "which is on open disposal list"),
        ("rejected by its proposer", "'qc' proposed this disposal list"),
        ("weeded after a rejection", "without an approved disposal list"),
        ("a rejection without a reason", "the reason, not empty"),
        ("weeds a record not on the list", "not on the list"),
        ("approved twice", "already approved or rejected"),
    ],
)
def test_both_verifiers_reject_a_forged_service_step(
    service_bundle: tuple[Path, dict[str, str]],
    collectorate: Collectorate,
    case: str,
    engine_says: str,
) -> None:
    """Each forgery, signed with the real keys of the people it names, is one problem at its
    last event for both verifiers."""
    from qms_engine.audit.verify import verify_bundle

    path, names = service_bundle
    day = _office_day(_bodies(path)[-1]["time"])
    roles = {
        "admin": "admin",
        "clerk": "clerk",
        "clerk2": "clerk",
        "approver": "approver",
        "coordinator": "quality_coordinator",
    }
    for who, action, subject, payload in _service_forgeries(names, day)[case]:
        role = "approver" if action.endswith((".approved", ".rejected")) else roles[who]
        n = _append(path, collectorate.signers[who], role, action, subject, payload)
    problems = spec_verify(path).problems
    assert len(problems) == 1 and problems[0].startswith(f"event #{n}: "), problems
    engine = verify_bundle(path).problems
    assert len(engine) == 1 and engine[0].startswith(f"event #{n}: "), engine
    assert engine_says in engine[0], engine


# --------------------------------------------------------------------------- registers (§6, §7)


@pytest.fixture
def register_bundle(
    qms_office: TestOffice, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[Path, Signer]]:
    """A day-book station's bundle: a day opened, an entry corrected, the day closed, a
    malkhana entry with its required fields, an FIR and a cyber complaint; and its clerk."""
    from tests.test_registers import day_book_station

    for station in day_book_station(qms_office, monkeypatch):
        yield _register_history(station, tmp_path / "registers"), station.clerk


def _register_history(station: Any, path: Path) -> Path:
    """Write the register history through the engine, then export it to ``path``."""
    from qms_engine.audit.bundle import export_bundle
    from qms_engine.registers.entries import write_entry
    from tests.test_registers import MALKHANA_FIELDS

    def write(code: str, text: str, **options: Any) -> str:
        entry = write_entry(
            station.runtime,
            station.office,
            actor=station.clerk,
            type_code=code,
            text=text,
            **options,
        )
        return entry.number

    write("GD", "रोज़नामचा खुला", kind="opening", fields={"custody": "कोई नहीं"})
    wrong = write("GD", "गश्त पर दो सिपाही")
    write("GD", "सुधार: तीन सिपाही", corrects=wrong)
    write("MALKHANA", "जब्त मोटरसाइकिल", fields=MALKHANA_FIELDS)
    write("FIR", "मोटरसाइकिल चोरी")
    write("CYBER", "ऑनलाइन ठगी")
    write("GD", "रोज़नामचा बंद", kind="closing", fields={"cash_balance": "1200"})
    export_bundle(station.runtime, station.office, path, include_blobs=True)
    return path


UNSEALED = {"case_number": "1/2026", "items": "चाकू", "depositing_officer": "HC Yadav"}
"""A malkhana record's fields without a seal number."""


def unsealed_revision(path: Path) -> dict[str, Any]:
    """A malkhana record's revision 0 without a seal number (its file added to ``blobs/``)."""
    memo = "चाकू, मुहर नहीं".encode()
    return {
        "sha256": _add_blob(path, memo),
        "size": len(memo),
        "media_type": "text/plain; charset=utf-8",
        "original_filename": "malkhana-entry.txt",
        "title": "x",
        "reason": "Typed entry",
        "fields": UNSEALED,
        "state": "filed",
    }


def _register_forgeries(path: Path) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """Each forgery: the events (action, subject, payload) the clerk signs (a revision's
    payload over :func:`unsealed_revision`'s); a record is followed by its revision 0, as the
    engine writes it, unless the forgery is its absence."""
    created = [b for b in _bodies(path) if b["action"] == "document.created"]
    gd = next(b for b in created if b["payload"]["type"] == "GD")
    office, _, year, _ = gd["subject"].split("/")
    day = gd["payload"]["day"]

    def record(code: str, short: str, serial: int, **more: Any) -> tuple[str, str, dict[str, Any]]:
        payload = {"type": code, "title": "x", "serial": serial, "period": year, "entry": "entry"}
        return ("document.created", f"{office}/{short}/{year}/{serial:04d}", {**payload, **more})

    def filed(created: tuple[str, str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
        return [created, ("document.revision.created", f"{created[1]}#0", {"fields": {}})]

    return {
        "a gap": filed(record("FIR", "FIR", 3)),
        "a repeated serial": [record("FIR", "FIR", 1)],
        "another year's period": filed(
            (
                "document.created",
                f"{office}/FIR/2019/0001",
                record("FIR", "FIR", 1, period="2019")[2],
            )
        ),
        "an entry after the closing": filed(
            (
                "document.created",
                f"{office}/GD/{year}/00005",
                {**record("GD", "GD", 5)[2], "day": day},
            )
        ),
        "a correction of a later entry": filed(
            record("CYBER", "CYB", 2, corrects=f"{office}/CYB/{year}/0003")
        ),
        "a correction of another register's entry": filed(
            record("CYBER", "CYB", 2, corrects=gd["subject"])
        ),
        "a malkhana entry without its seal": [
            record("MALKHANA", "MAL", 2),
            ("document.revision.created", f"{office}/MAL/{year}/0002#0", {}),
        ],
        "a malkhana seal of zero-width spaces": [
            record("MALKHANA", "MAL", 2),
            (
                "document.revision.created",
                f"{office}/MAL/{year}/0002#0",
                {"fields": {**UNSEALED, "seal_number": " \u200b\u2060 "}},
            ),
        ],
        "a number not its serial": filed(
            ("document.created", f"{office}/FIR/{year}/0099", record("FIR", "FIR", 2)[2])
        ),
        "another register's number": filed(
            ("document.created", f"{office}/CYB/{year}/0002", record("FIR", "FIR", 2)[2])
        ),
        "a record without its revision 0": [
            record("MALKHANA", "MAL", 2),
            *filed(record("FIR", "FIR", 2)),
        ],
        "a record without its revision 0, last": [record("MALKHANA", "MAL", 2)],
    }


@pytest.mark.parametrize(
    ("case", "at", "engine_says"),
    [
        ("a gap", -2, "skips serials 2–2"),
        ("a repeated serial", -1, "created a second time"),
        ("another year's period", -2, "numbered in period '2019'"),
        ("an entry after the closing", -2, "which is not open"),
        ("a correction of a later entry", -2, "no earlier CYBER entry of this office"),
        ("a correction of another register's entry", -2, "no earlier CYBER entry of this office"),
        ("a malkhana entry without its seal", -1, "required field(s) seal_number"),
        ("a malkhana seal of zero-width spaces", -1, "required field(s) seal_number"),
        ("a number not its serial", -2, "is numbered PS-GD1/FIR/"),
        ("another register's number", -2, "is numbered PS-GD1/FIR/"),
        ("a record without its revision 0", -2, "created without its revision 0"),
        ("a record without its revision 0, last", 0, "created without its revision 0"),
    ],
)
def test_both_verifiers_reject_a_forged_register_entry(
    register_bundle: tuple[Path, Signer],
    qms_office: TestOffice,
    case: str,
    at: int,
    engine_says: str,
) -> None:
    """The history the engine wrote passes both verifiers; each forgery, signed with the
    clerk's real key, is one problem for both, at the event it forged (``at``: its index in
    the forgery; 0 after the last: the event that should have followed) (§7 register rules)."""
    path, clerk = register_bundle
    _both_accept(path, qms_office)
    seqs = []
    for action, subject, payload in _register_forgeries(path)[case]:
        if action != "document.created":
            payload = {**unsealed_revision(path), **payload}
        seqs.append(_append(path, clerk, "clerk", action, subject, payload))
    n = seqs[at] if at else seqs[-1] + 1
    problems = spec_verify(path).problems
    assert len(problems) == 1 and problems[0].startswith(f"event #{n}: "), problems
    _both_reject(path, qms_office, problems, engine_says)


def _adoption(revno: int, district: str = "SP-SPEC") -> dict[str, Any]:
    return {"district": district, "revno": revno, "sha256": "ab" * 32, "title": "रात्रि गश्त"}


@pytest.mark.parametrize(
    ("subject", "second", "spec_says", "engine_says"),
    [
        ("SP-SPEC/SOP/001", _adoption(0), "adopted after revision 1", "never an older one"),
        ("SP-SPEC/SOP/001", _adoption(1), "adopted after revision 1", "never an older one"),
        ("PS-ELSE/SOP/001", _adoption(2), "not a document of the district", "is not a document"),
    ],
)
def test_both_verifiers_hold_a_station_to_its_sop_adoptions(
    qms_office: TestOffice,
    tmp_path: Path,
    subject: str,
    second: dict[str, Any],
    spec_says: str,
    engine_says: str,
) -> None:
    """A station adopts a district SOP's revision once and never goes back (§7 district
    rules); an adoption must name a document of the district it names."""
    path = _export(qms_office, tmp_path / "station")
    qc = qms_office.signers["quality_coordinator"]
    adopt = "district.sop.adopted"
    _append(path, qc, "quality_coordinator", adopt, "SP-SPEC/SOP/001", _adoption(1))
    _both_accept(path, qms_office)
    seq = _append(path, qc, "quality_coordinator", adopt, subject, second)
    (problem,) = spec_verify(path).problems
    assert problem.startswith(f"event #{seq}: ") and spec_says in problem, problem
    _both_reject(path, qms_office, [problem], engine_says)
