"""Canonical JSON (RFC 8785, JCS) for hashing and signing events.

Only the JSON values the engine writes are allowed: objects with string keys, arrays, strings,
integers within ±(2^53 − 1), booleans and null.  Floats and larger integers are refused, so the
number-formatting part of RFC 8785 is never needed (such integers print the same in every JSON
library) and an independent verifier can use any JSON library.  Keys are sorted by UTF-16
code units as RFC 8785 requires; strings are emitted as UTF-8 with only the mandatory escapes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1

JsonValue = None | bool | int | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"]


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


class _Refused(TypeError):
    """A value canonical JSON cannot hold; the path to it is added on the way out."""

    def __init__(self, problem: str, path: str = "") -> None:
        super().__init__(f"${path}: {problem}")
        self.problem, self.path = problem, path

    def within(self, step: str) -> _Refused:
        return _Refused(self.problem, step + self.path)


def _check(value: Any) -> bool:
    """Refuse what canonical JSON cannot hold; True if some key needs UTF-16 ordering.

    Code-point order (Python's) and UTF-16 order (RFC 8785's) differ only when a key holds a
    character above U+D7FF, so only then is the slower UTF-16 sort needed.
    """
    if isinstance(value, str):
        value.encode("utf-8")  # refuses lone surrogates with a UnicodeEncodeError
        return False
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise _Refused(f"integer {value} is outside ±(2^53 - 1)")
        return False
    if isinstance(value, float):
        raise _Refused("floats are not allowed in canonical JSON")
    if isinstance(value, Mapping):
        needs_utf16 = False
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Refused(f"object keys must be strings, got {key!r}")
            key.encode("utf-8")
            try:
                needs_utf16 |= _check(item)
            except _Refused as refused:
                raise refused.within(f".{key}") from None
            needs_utf16 |= bool(key) and max(key) > "\ud7ff"
        return needs_utf16
    if isinstance(value, list | tuple):
        needs_utf16 = False
        for index, item in enumerate(value):
            try:
                needs_utf16 |= _check(item)
            except _Refused as refused:
                raise refused.within(f"[{index}]") from None
        return needs_utf16
    raise _Refused(f"{type(value).__name__} is not a canonical JSON value")


def _utf16_sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _utf16_sorted(value[key]) for key in sorted(value, key=_utf16_key)}
    if isinstance(value, list | tuple):
        return [_utf16_sorted(item) for item in value]
    return value


def canonical_bytes(value: JsonValue) -> bytes:
    """The RFC 8785 encoding of ``value`` as UTF-8 bytes."""
    if _check(value):
        value, sort_keys = _utf16_sorted(value), False
    else:
        sort_keys = True
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    return text.encode("utf-8")


def canonical_sha256(value: JsonValue) -> str:
    """SHA-256 (hex) of :func:`canonical_bytes`: an event body's hash, a workflow's digest."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def canonical_text(value: JsonValue) -> str:
    """:func:`canonical_bytes` as text, for storing in a column."""
    return canonical_bytes(value).decode("utf-8")
