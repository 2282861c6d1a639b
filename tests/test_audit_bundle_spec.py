"""An independent audit-bundle verifier, written from ``docs/audit-bundle.md`` alone.

The verifier section below may use only ``json``, ``hashlib``, ``pathlib`` and the Ed25519 public
key of ``cryptography``; it never imports the engine's canonical encoder or verifier.  The tests
build a real bundle with the engine and check it with this verifier, so the document, not the
engine's own code, is what is being tested.  (``qms_engine.chain.canonical`` is imported only to
compare encoders byte for byte.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

if TYPE_CHECKING:  # for annotations only: the verifier imports nothing of the engine
    from qms_engine.chain.canonical import JsonValue
    from qms_engine.chain.signing import Signer
    from qms_engine.testing import TestOffice

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
    "ingest.duplicate.set_aside": "set aside duplicate",
    "document.revision.superseded": "superseded",
    "audit.checkpoint.recorded": "recorded checkpoint",
}


def meaning_fits(action: object, meaning: object) -> bool:
    """§6 meaning check: the table, else ``document.revision.`` + meaning with ``_`` for spaces."""
    if not isinstance(action, str) or not isinstance(meaning, str):
        return False
    if action in MEANINGS:
        return MEANINGS[action] == meaning
    return action == "document.revision." + meaning.replace(" ", "_")


def short_code(office: str, seq: int, head_hash: str) -> str:
    """``OFFICE#SEQ:hhhh-hhhh-hhhh-hhhh`` (§8)."""
    prefix = head_hash[:16]
    return f"{office}#{seq}:" + "-".join(prefix[i : i + 4] for i in range(0, 16, 4))


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
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 28 + leap if month == 2 else _DAYS[month - 1] if 1 <= month <= 12 else 0
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    return year >= 1 and 1 <= day <= days and hour < 24 and minute < 60 and second < 60


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


class SpecVerifier:
    """Checks one bundle folder per the numbered algorithm of §10; ``problems`` lists findings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self.keys: dict[str, dict[str, object]] = {}
        self.roles: dict[str, set[str]] = {}
        self.inactive: set[str] = set()
        self.founded = False
        self.state: dict[str, str] = {}
        self.blobs: set[str] = set()
        self.hash_at: dict[int, str] = {}
        self.head = GENESIS
        self.latest = ""
        self.recorded: list[tuple[int, object, object, object]] = []
        self.count = 0
        self.signatures_checked = 0

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
        office = manifest["office"]["code"]
        for body, written_hash, signature in events:
            self._event(office, body, written_hash, signature)
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

    def _event(self, office: str, body: object, written_hash: object, signature: object) -> None:
        self.count += 1
        n = self.count
        at = f"event #{n}"
        if not isinstance(body, dict):
            self.problem(f"{at}: body is not an object")
            body = {}
        seq = body.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq != n:
            self.problem(f"{at}: seq {seq!r}")
        version = body.get("v")
        if not isinstance(version, int) or isinstance(version, bool) or version != 1:
            self.problem(f"{at}: v {version!r} is not 1")
        if body.get("office") != office:
            self.problem(f"{at}: office {body.get('office')!r}")
        if body.get("prev") != self.head:
            self.problem(f"{at}: prev does not link to the previous hash")
        try:
            encoded: bytes | None = spec_canonical(body)
        except ValueError as exc:
            self.problem(f"{at}: not canonical JSON ({exc})")
            encoded = None
        if encoded is None or _sha256_hex(encoded) != written_hash:
            self.problem(f"{at}: content does not match its hash")
        time = body.get("time")
        if not _is_timestamp(time):
            self.problem(f"{at}: time {time!r}")
        time = str(time)
        if time < self.latest:
            self.problem(f"{at}: time earlier than an earlier event's")
        self.latest = max(self.latest, time)
        if not meaning_fits(body.get("action"), body.get("meaning")):
            self.problem(f"{at}: meaning {body.get('meaning')!r} is not the action's")
        signer_field, payload_field = body.get("signer"), body.get("payload")
        signer = signer_field if isinstance(signer_field, dict) else {}
        key_id, role = signer.get("key"), signer.get("role")
        action, actor, subject = body.get("action"), body.get("actor"), body.get("subject")
        payload = payload_field if isinstance(payload_field, dict) else {}

        # §5: which key verifies this event
        public: object = None
        if n == 1 and action == "key.registered" and payload.get("fingerprint") == key_id:
            public = payload.get("public_key")  # the founding rule
            if payload.get("owner") != actor:
                self.problem(f"{at}: founding key registered for someone other than the actor")
        elif key_id not in self.keys:
            self.problem(f"{at}: signed with an unregistered key")
        else:
            info = self.keys[key_id]
            public = info["public_key"]
            if info["purpose"] != "user" or info["owner"] != actor:
                self.problem(f"{at}: key of {info['owner']!r} used by {actor!r}")
            if info["ended_at"] is not None:  # by chain position, never by time (§5 rule 3)
                self.problem(f"{at}: key used after it ended at event #{info['ended_at']}")

        # §7: roles, before the event's own effect
        if actor in self.inactive:
            self.problem(f"{at}: {actor!r} acted after deactivation")
        exempt = (
            role == "key holder"
            and action in ("key.registered", "key.retired")
            and subject == actor
        )
        if self.founded and not exempt and role not in self.roles.get(str(actor), set()):
            self.problem(f"{at}: {actor!r} signed as {role!r} without that role")

        self._apply(at, str(action), str(subject), payload)

        if public is not None:
            self.signatures_checked += 1
            if encoded is None or not _ed25519_ok(str(public), str(signature), encoded):
                self.problem(f"{at}: signature does not verify")
        self.head = str(written_hash)
        self.hash_at[n] = self.head

    def _apply(self, at: str, action: str, subject: str, payload: dict[str, Any]) -> None:
        if action == "key.registered":
            fingerprint, public = payload.get("fingerprint"), payload.get("public_key")
            if not _is_hex(public, 64) or _sha256_hex(bytes.fromhex(str(public))) != fingerprint:
                self.problem(f"{at}: fingerprint is not that of the key")
            elif fingerprint not in self.keys:
                self.keys[str(fingerprint)] = {
                    "owner": payload.get("owner"),
                    "public_key": public,
                    "purpose": payload.get("purpose"),
                    "ended_at": None,
                }
        elif action in ("key.retired", "key.revoked"):
            info = self.keys.get(str(payload.get("fingerprint")))
            if info is not None and info["ended_at"] is None:
                info["ended_at"] = self.count
        elif action == "audit.checkpoint.recorded":
            recorded = (payload.get("seq"), payload.get("head"), payload.get("signature"))
            self.recorded.append((self.count, *recorded))
        elif action == "user.role.granted":
            self.roles.setdefault(subject, set()).add(str(payload.get("role")))
            self.founded = self.founded or payload.get("role") == "admin"
        elif action == "user.role.revoked":
            self.roles.get(subject, set()).discard(str(payload.get("role")))
        elif action == "user.deactivated":
            self.inactive.add(subject)
        elif action in ("document.revision.created", "document.revision.filed"):
            self.state[subject] = str(payload.get("state"))
            if payload.get("sha256"):
                self.blobs.add(str(payload["sha256"]))
        elif action == "document.revision.superseded":
            self.state[subject] = str(payload.get("to"))
        elif action.startswith("document.revision.") and "transition" in payload:
            if self.state.get(subject) != payload.get("from"):
                self.problem(f"{at}: transition from a state the revision was not in")
            self.state[subject] = str(payload.get("to"))

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
        """True if a short code from paper matches this chain (§10 step 8)."""
        where, _, digits = code.strip().partition(":")
        code_office, _, seq_text = where.partition("#")
        groups = digits.split("-")
        if not (seq_text.isdigit() and len(groups) == 4 and all(_is_hex(g, 4) for g in groups)):
            return False
        seq = int(seq_text)
        return (
            code_office == office
            and seq <= self.count
            and self.hash_at[seq].startswith("".join(groups))
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
        named = {sha for sha in self.blobs if _is_hex(sha, 64)}
        for sha in sorted(self.blobs - named):
            self.problem(f"blob {sha!r}: not a SHA-256")
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
    """A bundle exported by the engine: an SOP created and approved, a checkpoint, blobs."""
    from qms_engine.audit.bundle import export_bundle
    from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key
    from qms_engine.documents.revisions import create_document
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
    for transition, who in (
        ("submit", "author"),
        ("approve", "approver"),
        ("make_effective", "quality_coordinator"),
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
    """Spec-only verifier accepts a real bundle: chain, signatures, checkpoint, keys, blobs."""
    path, code = real_bundle
    verifier = spec_verify(path)
    assert verifier.problems == []
    lines = (path / "events.jsonl").read_bytes().splitlines()
    assert verifier.count == len(lines) > 10
    assert verifier.signatures_checked == len(lines) + 1  # every event plus the checkpoint
    assert len(verifier.blobs) == 1
    assert (path / "blobs" / next(iter(verifier.blobs))).is_file()
    assert verifier.founded and any(i["purpose"] == "office" for i in verifier.keys.values())
    office = json.loads((path / "manifest.json").read_text(encoding="utf-8"))["office"]["code"]
    assert verifier.check_code(office, code)
    seq = int(code.split("#")[1].split(":")[0])
    assert code == short_code(office, seq, verifier.hash_at[seq])
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

    return verify_bundle(path, workflows=qms_office.runtime.plugins.workflows).problems


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
    problems = spec_verify(path).problems
    assert len(problems) == 1 and problems[0].startswith(f"event #{number}: time "), problems
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
