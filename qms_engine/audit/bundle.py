"""Audit bundles: an office's chain, keys and checkpoints (optionally blobs) in a folder.

``docs/audit-bundle.md`` specifies the format precisely enough for an independent verifier
using only a JSON parser, SHA-256 and Ed25519.  An export reads everything from one database
snapshot, so a bundle is consistent even while others write.  A bundle is read back strictly
(§2 and "Strict reading" of that document): fixed file names, no symbolic links, every line of
``events.jsonl`` exactly its canonical bytes, JSON without duplicate member names, floats or
constants, and bounded sizes and nesting.  Anything else is an :class:`IntegrityError` naming
the file (and the line), never a traceback.  Events are streamed, never held all at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from document_store.hashing import sha256_file
from qms_engine.audit.checkpoints import CheckpointRecord, checkpoints_of
from qms_engine.chain import events
from qms_engine.chain.canonical import MAX_SAFE_INTEGER, JsonValue, canonical_bytes
from qms_engine.chain.encoding import ChainEvent, event_body
from qms_engine.chain.reader import load_events
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import is_utc_text, to_utc_text, utc_now
from qms_engine.errors import IntegrityError, InvalidInput, RuleViolation
from qms_engine.i18n import N_, _
from qms_engine.runtime import Runtime
from qms_engine.storage.database import read_snapshot
from qms_engine.storage.models import KEY_TABLE, USER_TABLE

FORMAT = "qms-audit-bundle"
VERSION = 1
MANIFEST, EVENTS, KEYS, CHECKPOINTS, BLOBS = (
    "manifest.json",
    "events.jsonl",
    "keys.json",
    "checkpoints.json",
    "blobs",
)

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects in any JSON of a bundle (an event line is 4 or 5)."""
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_LIST_BYTES = 64 * 1024 * 1024
"""Largest ``keys.json`` or ``checkpoints.json``."""
MAX_LINE_BYTES = 16 * 1024 * 1024
"""Longest line of ``events.jsonl``, its newline included."""

_BATCH = 1000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")


def _write_json(path: Path, value: Any) -> None:
    path.write_text(
        json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    path: Path
    events: int
    keys: int
    checkpoints: int
    blobs: int


def is_sha256(value: object) -> bool:
    """Whether ``value`` is a SHA-256 digest as the bundle writes one: 64 lowercase hex digits."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def export_bundle(
    runtime: Runtime,
    office: OfficeRef,
    destination: Path,
    *,
    include_blobs: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write the office's audit bundle to a new folder (refuses to overwrite one).

    The events, keys and checkpoints come from one read-only snapshot of the database, so the
    bundle holds the chain exactly as it stood at one moment, whatever is committed meanwhile.
    ``progress`` is called with the number of events written, batch by batch.
    """
    if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
        raise InvalidInput(
            _("{destination} is not a folder").format(destination=destination),
            hint=_("choose a new --out"),
        )
    if not destination.parent.is_dir():  # never make folders the auditor did not ask for
        raise InvalidInput(
            _("{parent} does not exist").format(parent=destination.parent),
            hint=_("give a folder that exists, or make it"),
        )
    if destination.exists() and any(destination.iterdir()):
        raise RuleViolation(
            _("{destination} exists and is not empty").format(destination=destination),
            hint=_("choose a new --out"),
        )
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    count, head = 0, "0" * 64
    blobs: set[str] = set()
    with read_snapshot(runtime.engine) as connection:
        with (staging / EVENTS).open("wb") as out:
            for event in load_events(connection, office.id):
                body = event_body(event, office.code)
                line: dict[str, JsonValue] = {
                    "body": body,
                    "hash": event.hash,
                    "signature": event.signature,
                }
                out.write(canonical_bytes(line) + b"\n")
                count, head = count + 1, event.hash
                payload = body["payload"]
                if include_blobs and isinstance(payload, Mapping):
                    named = events.named_files(event.action, payload)
                    blobs.update(str(sha) for sha in named if is_sha256(sha))
                if progress and count % _BATCH == 0:
                    progress(_BATCH)
            out.flush()
            os.fsync(out.fileno())
        if progress and count % _BATCH:
            progress(count % _BATCH)
        keys = connection.execute(
            select(KEY_TABLE, USER_TABLE.c.username)
            .outerjoin(USER_TABLE, USER_TABLE.c.id == KEY_TABLE.c.user_id)
            .order_by(KEY_TABLE.c.id)
        ).all()
        checkpoints = checkpoints_of(connection, office)
    key_list = [
        {
            "fingerprint": k.fingerprint,
            "public_key": k.public_key,
            "owner": k.username or office.code,
            "purpose": "user" if k.user_id else "office",
            "valid_from": to_utc_text(k.valid_from),
            "valid_until": to_utc_text(k.valid_until) if k.valid_until else None,
            "revoked_reason": k.revoked_reason,
        }
        for k in keys
        if k.user_id is not None or k.office_id == office.id
    ]
    _write_json(staging / KEYS, key_list)
    _write_json(staging / CHECKPOINTS, [asdict(c) for c in checkpoints])
    if include_blobs:
        (staging / BLOBS).mkdir()
        for sha in sorted(blobs):
            source = runtime.store.path(sha)
            if source.is_file():  # one the store lost is left out: verification reports it
                shutil.copyfile(source, staging / BLOBS / sha)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": to_utc_text(utc_now()),
        "office": {"code": office.code, "name": office.name, "timezone": office.timezone},
        "events": {"count": count, "head": head, "sha256": sha256_file(staging / EVENTS)},
        "keys": {"sha256": sha256_file(staging / KEYS)},
        "checkpoints": {"sha256": sha256_file(staging / CHECKPOINTS)},
        "blobs": {"count": len(blobs)} if include_blobs else None,
    }
    _write_json(staging / MANIFEST, manifest)
    if destination.exists():
        destination.rmdir()
    staging.rename(destination)
    return ExportSummary(destination, count, len(key_list), len(checkpoints), len(blobs))


# --------------------------------------------------------------------------- strict JSON


class _Refused(ValueError):
    """Raised by the parser's hooks: JSON that a bundle may not hold."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise _Refused(_("member name {name!r} occurs twice in one object").format(name=name))
        found[name] = value
    return found


def _no_float(text: str) -> Any:
    raise _Refused(
        _("number {text} is not an integer (a bundle holds no floats)").format(text=text)
    )


def _no_constant(text: str) -> Any:
    raise _Refused(_("{text} is not JSON").format(text=text))


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_float=_no_float, parse_constant=_no_constant
)
_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text``, counted without parsing it (so a hostile
    file cannot exhaust the parser's recursion); never less than the parser would reach."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _text(data: bytes, where: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntegrityError(
            _("{where}: not UTF-8 (byte {start})").format(where=where, start=exc.start + 1)
        ) from None
    if text.startswith("\ufeff"):
        raise IntegrityError(
            _("{where}: begins with a byte-order mark; bundle files have none").format(where=where)
        )
    return text


def _check_depth(text: str, where: str) -> None:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # every bracket, even those in strings, could not nest deeper than allowed
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise IntegrityError(
            _("{where}: JSON nested {depth} levels deep (at most {MAX_DEPTH})").format(
                where=where, depth=depth, MAX_DEPTH=MAX_DEPTH
            )
        )


def _decode(text: str, where: str, position: int = 0) -> tuple[Any, int]:
    """One JSON value starting at ``position`` (depth already checked); (value, end)."""
    try:
        return _DECODER.raw_decode(text, position)
    except json.JSONDecodeError as exc:
        raise IntegrityError(
            _("{where}: not valid JSON: {msg} (line {lineno}, column {colno})").format(
                where=where, msg=exc.msg, lineno=exc.lineno, colno=exc.colno
            )
        ) from None
    except (_Refused, ValueError, RecursionError) as exc:  # ValueError: a 5,000-digit integer
        raise IntegrityError(f"{where}: {exc}") from None


def _skip_space(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _json_file(data: bytes, where: str) -> Any:
    """A whole JSON document, strictly."""
    text = _text(data, where)
    _check_depth(text, where)
    value, end = _decode(text, where, _skip_space(text, 0))
    if _skip_space(text, end) != len(text):
        line = text.count("\n", 0, end) + 1
        raise IntegrityError(
            _("{where}: line {line}: more data after the JSON value").format(where=where, line=line)
        )
    return value


def _json_entries(data: bytes, where: str) -> Iterator[tuple[str, Any]]:
    """The entries of a JSON array, strictly, each with ``"FILE: entry N (line L)"``."""
    text = _text(data, where)
    _check_depth(text, where)
    position = _skip_space(text, 0)
    if not text.startswith("[", position):
        raise IntegrityError(_("{where}: not a JSON array").format(where=where))
    position, number, line, counted = _skip_space(text, position + 1), 0, 1, 0
    if text.startswith("]", position):
        position += 1
    else:
        while True:
            number += 1
            line, counted = line + text.count("\n", counted, position), position
            entry = _("{where}: entry {number} (line {line})").format(
                where=where, number=number, line=line
            )
            value, position = _decode(text, entry, position)
            yield entry, value
            position = _skip_space(text, position)
            if text.startswith(",", position):
                position = _skip_space(text, position + 1)
            elif text.startswith("]", position):
                position += 1
                break
            else:
                line = text.count("\n", 0, position) + 1
                raise IntegrityError(
                    _("{where}: line {line}: expected ',' or ']' after {entry}").format(
                        where=where, line=line, entry=entry
                    )
                )
    if _skip_space(text, position) != len(text):
        line = text.count("\n", 0, position) + 1
        raise IntegrityError(
            _("{where}: line {line}: more data after the JSON array").format(where=where, line=line)
        )


# --------------------------------------------------------------------------- field rules


def _is_int(value: object, least: int = 0) -> bool:
    return type(value) is int and least <= value <= MAX_SAFE_INTEGER


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _is_time(value: object) -> bool:
    return isinstance(value, str) and is_utc_text(value)


def _is_hex128(value: object) -> bool:
    return isinstance(value, str) and _HEX128.fullmatch(value) is not None


_Rule = tuple[Callable[[object], bool], str]
_SHA256: _Rule = (is_sha256, N_("64 lowercase hex digits"))
_TEXT: _Rule = (_is_text, N_("a non-empty string"))
_TIME: _Rule = (_is_time, N_("a timestamp like 2026-11-24T05:04:46.469396Z"))
_COUNT: _Rule = (_is_int, N_("an integer ≥ 0"))
_OBJECT: _Rule = (lambda v: isinstance(v, dict), N_("an object"))


def _fields(
    value: object,
    where: str,
    rules: Mapping[str, _Rule],
    *,
    optional: Mapping[str, object] | None = None,
) -> Mapping[str, Any]:
    """``value`` is an object with exactly the members of ``rules``, each obeying its rule;
    a member of ``optional`` may also be present, but only with the value given there."""
    optional = optional or {}
    if not isinstance(value, dict):
        raise IntegrityError(_("{where}: not a JSON object").format(where=where))
    missing = sorted(set(rules) - set(value))
    if missing:
        raise IntegrityError(
            _("{where}: member {missing!r} is missing").format(where=where, missing=missing[0])
        )
    for name, item in value.items():
        if name in rules:
            check, meaning = rules[name]
            if not check(item):
                raise IntegrityError(
                    _("{where}: {name!r} must be {meaning}, not {item!r:.80}").format(
                        where=where, name=name, meaning=_(meaning), item=item
                    )
                )
        elif name in optional:
            if item != optional[name]:
                raise IntegrityError(
                    _(
                        "{where}: {name!r} is {item!r:.80}; a bundle's names are fixed, and it "
                        "may only be {optional!r} (nothing outside the bundle is read)"
                    ).format(where=where, name=name, item=item, optional=optional[name])
                )
        else:
            raise IntegrityError(
                _("{where}: unknown member {name!r}").format(where=where, name=name)
            )
    return value


_KEY_RULES: dict[str, _Rule] = {
    "fingerprint": _SHA256,
    "public_key": _SHA256,
    "owner": _TEXT,
    "purpose": (lambda v: v in ("user", "office"), N_('"user" or "office"')),
    "valid_from": _TIME,
    "valid_until": (lambda v: v is None or _is_time(v), N_("null or a timestamp")),
    "revoked_reason": (lambda v: v is None or isinstance(v, str), N_("null or a string")),
}


# --------------------------------------------------------------------------- reading


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = (
    os.O_RDONLY
    | _NOFOLLOW
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO planted in the bundle must not hang the reader
    | _CLOEXEC
    | getattr(os, "O_BINARY", 0)
)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BY_FOLDER = bool(_DIRECTORY and _NOFOLLOW) and os.open in os.supports_dir_fd


def _open_regular(path: Path, *, folder: int | None = None) -> BinaryIO:
    """Open a bundle member for reading: a regular file, never through a symbolic link."""
    if folder is None and path.is_symlink():
        raise IntegrityError(
            _(
                "{path}: a symbolic link; a bundle holds only regular files (nothing "
                "outside the bundle folder is read)"
            ).format(path=path)
        )
    try:
        if folder is not None:
            descriptor = os.open(path.name, _READ_FLAGS, dir_fd=folder)
        else:
            descriptor = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        raise IntegrityError(_("{path}: missing from the bundle").format(path=path)) from None
    except OSError as exc:  # ELOOP: a symbolic link (O_NOFOLLOW)
        raise IntegrityError(
            _(
                "{path}: cannot be read as a regular file ({value}); a bundle holds "
                "only regular files, no symbolic links"
            ).format(path=path, value=exc.strerror or exc)
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise IntegrityError(_("{path}: not a regular file").format(path=path))
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _read_capped(path: Path, limit: int) -> bytes:
    with _open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise IntegrityError(
            _("{path}: larger than {limit:,} bytes, the most a bundle allows").format(
                path=path, limit=limit
            )
        )
    return data


def _digest(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``, checked member by member."""

    office: str
    office_name: str
    timezone: str
    exported_at: str
    events: int
    head: str
    events_sha256: str
    keys_sha256: str
    checkpoints_sha256: str
    blobs: int | None
    """How many blobs ``blobs/`` holds, or None when the bundle was exported without them."""


def read_manifest(path: Path) -> Manifest:
    """Parse and check ``manifest.json`` (docs/audit-bundle.md §2)."""
    where = str(path)
    value = _json_file(_read_capped(path, MAX_MANIFEST_BYTES), where)
    if not isinstance(value, dict):
        raise IntegrityError(_("{where}: not a JSON object").format(where=where))
    if value.get("format") != FORMAT or not (
        type(value.get("version")) is int and value["version"] == VERSION
    ):
        raise IntegrityError(
            _("{where}: not a {FORMAT} version {VERSION} manifest").format(
                where=where, FORMAT=FORMAT, VERSION=VERSION
            )
        )
    top = _fields(
        value,
        where,
        {
            "format": (lambda v: v == FORMAT, repr(FORMAT)),
            "version": (lambda v: v == VERSION, str(VERSION)),
            "exported_at": _TIME,
            "office": _OBJECT,
            "events": _OBJECT,
            "keys": _OBJECT,
            "checkpoints": _OBJECT,
            "blobs": (lambda v: v is None or isinstance(v, dict), _("null or an object")),
        },
    )
    office = _fields(
        top["office"], f"{where}: office", {"code": _TEXT, "name": _TEXT, "timezone": _TEXT}
    )
    chain = _fields(
        top["events"],
        f"{where}: events",
        {"count": _COUNT, "head": _SHA256, "sha256": _SHA256},
        optional={"file": EVENTS},
    )
    keys = _fields(top["keys"], f"{where}: keys", {"sha256": _SHA256}, optional={"file": KEYS})
    checkpoints = _fields(
        top["checkpoints"],
        f"{where}: checkpoints",
        {"sha256": _SHA256},
        optional={"file": CHECKPOINTS},
    )
    blobs = None
    if top["blobs"] is not None:
        blobs = _fields(
            top["blobs"], f"{where}: blobs", {"count": _COUNT}, optional={"folder": BLOBS}
        )["count"]
    return Manifest(
        office=office["code"],
        office_name=office["name"],
        timezone=office["timezone"],
        exported_at=top["exported_at"],
        events=chain["count"],
        head=chain["head"],
        events_sha256=chain["sha256"],
        keys_sha256=keys["sha256"],
        checkpoints_sha256=checkpoints["sha256"],
        blobs=blobs,
    )


def _event_line(raw: bytes, where: str) -> ChainEvent:
    """One line of ``events.jsonl``: exactly the canonical bytes of {body, hash, signature}."""
    if len(raw) > MAX_LINE_BYTES:
        raise IntegrityError(
            _("{where}: longer than {MAX_LINE_BYTES:,} bytes").format(
                where=where, MAX_LINE_BYTES=MAX_LINE_BYTES
            )
        )
    if not raw.endswith(b"\n"):
        raise IntegrityError(
            _(
                "{where} is not a whole event (no newline at its end): the file is "
                "truncated or damaged"
            ).format(where=where)
        )
    data = raw[:-1]
    text = _text(data, where)
    _check_depth(text, where)
    try:
        value, end = _DECODER.raw_decode(text)
    except json.JSONDecodeError as exc:
        raise IntegrityError(
            _(
                "{where} is not a whole event ({msg}, column {colno}): the file is "
                "truncated or damaged"
            ).format(where=where, msg=exc.msg, colno=exc.colno)
        ) from None
    except (_Refused, ValueError, RecursionError) as exc:
        raise IntegrityError(f"{where}: {exc}") from None
    if end != len(text):
        raise IntegrityError(
            _(
                "{where}: {text!r} after the event (column {end}): a line holds one "
                "event in canonical form, with no spaces and no CR before its newline"
            ).format(where=where, text=text[end], end=end + 1)
        )
    if not isinstance(value, dict) or set(value) != {"body", "hash", "signature"}:
        members = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise IntegrityError(
            _(
                "{where}: an event line is an object with exactly body, hash and "
                "signature, not {members}"
            ).format(where=where, members=members)
        )
    if not is_sha256(value["hash"]):
        raise IntegrityError(
            _("{where}: 'hash' must be 64 lowercase hex digits").format(where=where)
        )
    if not _is_hex128(value["signature"]):
        raise IntegrityError(
            _("{where}: 'signature' must be 128 lowercase hex digits").format(where=where)
        )
    try:
        canonical = canonical_bytes(value)
    except (TypeError, ValueError) as exc:
        raise IntegrityError(
            _("{where}: cannot be encoded canonically ({exc})").format(where=where, exc=exc)
        ) from None
    if canonical != data:
        at = next(
            (i for i, (a, b) in enumerate(zip(canonical, data, strict=False)) if a != b),
            min(len(canonical), len(data)),
        )
        raise IntegrityError(
            _(
                "{where}: not in canonical form (first difference at byte {at}): each "
                "line must be exactly the canonical encoding of its event"
            ).format(where=where, at=at + 1)
        )
    return ChainEvent(value["body"], value["hash"], value["signature"])


class BlobFolder:
    """``blobs/``, read without following symbolic links (closed with :meth:`close`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None
        if _BY_FOLDER:
            try:
                self._descriptor = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
            except OSError as exc:  # ELOOP: swapped for a symbolic link since it was checked
                raise IntegrityError(
                    _(
                        "{path}: cannot be opened as a folder ({strerror}); a bundle holds no "
                        "symbolic links"
                    ).format(path=path, strerror=exc.strerror)
                ) from None

    def close(self) -> None:
        """Release the folder."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def __enter__(self) -> BlobFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def listing(self) -> tuple[set[str], list[str]]:
        """(names of the blob files, problems with anything else found in the folder)."""
        names: set[str] = set()
        problems: list[str] = []
        with os.scandir(self.path if self._descriptor is None else self._descriptor) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                where = self.path / entry.name
                if entry.is_symlink():
                    problems.append(
                        _("{where}: a symbolic link, not a blob (it is not followed)").format(
                            where=where
                        )
                    )
                elif not entry.is_file(follow_symlinks=False):
                    problems.append(
                        _("{where}: not a regular file, so not a blob").format(where=where)
                    )
                elif not is_sha256(entry.name):
                    problems.append(
                        _("{where}: not named by a SHA-256, so not a blob").format(where=where)
                    )
                else:
                    names.add(entry.name)
        return names, problems

    def digest(self, sha256: str) -> str:
        """The SHA-256 of the file named ``sha256`` (an :class:`IntegrityError` if unreadable)."""
        assert is_sha256(sha256)
        with _open_regular(self.path / sha256, folder=self._descriptor) as handle:
            return _digest(handle)


class BundleReader:
    """Reads a bundle folder strictly; every flaw is an :class:`IntegrityError` naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_dir():
            raise IntegrityError(
                _("{path}: not a folder, so not an audit bundle").format(path=path)
            )
        if not (path / MANIFEST).exists() and not (path / MANIFEST).is_symlink():
            raise IntegrityError(
                _("{path}: no {MANIFEST}: not an audit bundle, or it is incomplete").format(
                    path=path, MANIFEST=MANIFEST
                )
            )
        self.manifest = read_manifest(path / MANIFEST)
        self.office = self.manifest.office
        blobs = path / BLOBS
        present = blobs.exists() or blobs.is_symlink()
        if present and (blobs.is_symlink() or not blobs.is_dir()):
            raise IntegrityError(
                _("{blobs}: not a folder (a bundle holds no symbolic links)").format(blobs=blobs)
            )
        if self.manifest.blobs is None and present:
            raise IntegrityError(
                _("{path}: says the bundle holds no blobs, but {blobs} is present").format(
                    path=path / MANIFEST, blobs=blobs
                )
            )
        if self.manifest.blobs is not None and not present:
            raise IntegrityError(
                _("{blobs}: missing from the bundle (the manifest says {blobs2} blobs)").format(
                    blobs=blobs, blobs2=self.manifest.blobs
                )
            )

    def _checked(self, name: str, expected: str, limit: int) -> bytes:
        path = self.path / name
        data = _read_capped(path, limit)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise IntegrityError(
                _(
                    "{path}: SHA-256 is {actual}…, the manifest says {expected}…: the file "
                    "was altered or truncated"
                ).format(path=path, actual=actual[:16], expected=expected[:16])
            )
        return data

    def events(self) -> Iterator[ChainEvent]:
        """The events, streamed line by line, each checked to be exactly canonical."""
        path = self.path / EVENTS
        expected = self.manifest.events_sha256
        with _open_regular(path) as handle:
            actual = _digest(handle)
            if actual != expected:
                raise IntegrityError(
                    _(
                        "{path}: SHA-256 is {actual}…, the manifest says {expected}…: the file "
                        "was altered or truncated"
                    ).format(path=path, actual=actual[:16], expected=expected[:16])
                )
            handle.seek(0)
            digest, count = hashlib.sha256(), 0
            while raw := handle.readline(MAX_LINE_BYTES + 1):
                count += 1
                digest.update(raw)
                yield _event_line(raw, _("{path}: line {count}").format(path=path, count=count))
        if digest.hexdigest() != expected:
            raise IntegrityError(_("{path}: changed while it was being read").format(path=path))
        if count != self.manifest.events:
            raise IntegrityError(
                _("{path}: {count} events, the manifest says {events}: truncated").format(
                    path=path, count=count, events=self.manifest.events
                )
            )

    def keys(self) -> list[dict[str, Any]]:
        """The key list (cross-checked against the chain by the verifier)."""
        data = self._checked(KEYS, self.manifest.keys_sha256, MAX_LIST_BYTES)
        return [
            dict(_fields(value, where, _KEY_RULES))
            for where, value in _json_entries(data, str(self.path / KEYS))
        ]

    def checkpoints(self) -> list[CheckpointRecord]:
        """The checkpoints recorded for the office."""
        data = self._checked(CHECKPOINTS, self.manifest.checkpoints_sha256, MAX_LIST_BYTES)
        office: _Rule = (
            lambda v: v == self.office,
            _("this bundle's office {office!r}").format(office=self.office),
        )
        rules: dict[str, _Rule] = {
            "office": office,
            "seq": ((lambda v: _is_int(v, 1)), "an integer ≥ 1"),
            "head_hash": _SHA256,
            "recorded_at": _TIME,
            "key_fingerprint": _SHA256,
            "signature": (_is_hex128, "128 lowercase hex digits"),
        }
        return [
            CheckpointRecord(**_fields(value, where, rules))
            for where, value in _json_entries(data, str(self.path / CHECKPOINTS))
        ]

    def blob_folder(self) -> BlobFolder | None:
        """``blobs/``, or None when the bundle was exported without blobs."""
        if self.manifest.blobs is None:
            return None
        return BlobFolder(self.path / BLOBS)
