"""Canonical JSON (RFC 8785, JCS) for hashing and signing events.

Only the JSON values the engine writes are allowed: objects with string keys, arrays, strings,
integers within ±(2^53 − 1), booleans and null.  Floats and larger integers are refused, so the
number-formatting part of RFC 8785 is never needed (such integers print the same in every JSON
library) and an independent verifier can use any JSON library.  Keys are sorted by UTF-16
code units as RFC 8785 requires; strings are emitted as UTF-8 with only the mandatory escapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1

JsonValue = None | bool | int | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"]


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


def _check(value: Any, where: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        raise TypeError(f"{where}: integer {value} is outside ±(2^53 - 1)")
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, str):
            value.encode("utf-8")  # refuses lone surrogates with a UnicodeEncodeError
        return
    if isinstance(value, float):
        raise TypeError(f"{where}: floats are not allowed in canonical JSON")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: object keys must be strings, got {key!r}")
            _check(item, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]")
        return
    raise TypeError(f"{where}: {type(value).__name__} is not a canonical JSON value")


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value, key=_utf16_key)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


def canonical_bytes(value: JsonValue) -> bytes:
    """The RFC 8785 encoding of ``value`` as UTF-8 bytes."""
    _check(value, "$")
    text = json.dumps(_sorted(value), ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    return text.encode("utf-8")


def canonical_text(value: JsonValue) -> str:
    """:func:`canonical_bytes` as text, for storing in a column."""
    return canonical_bytes(value).decode("utf-8")
