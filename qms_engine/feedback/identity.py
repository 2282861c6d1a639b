"""A citizen's response's id: the same response has the same id however an export spells it,
and the id tells nothing the chain does not already state.

The id is the first 16 hex digits of the SHA-256 of the canonical JSON of what is kept and
signed of the response — its station's office code, its time in UTC (``to_utc_text``), its
ratings — and of its occurrence among the file's rows identical in all three (1, 2 …), so two
citizens who gave the same ratings at the same station in the same second stay two responses.
Never a raw cell: the form's own download (``2026/11/16 10:00:00 am GMT+5:30``) and a Google
Sheets export (``16/11/2026 10:00:00``) of the same response give one id, as do a station
written by name or by code.  Never a comment either, nor any column the form drops: so a
comment column mapped later, a comment cut or scrubbed differently by a newer version, or
one in NFD rather than NFC, does not make an old response new again; and nothing removed from
a row (a phone number) can be recovered by hashing guesses against the id.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from qms_engine.chain.canonical import JsonValue, canonical_bytes
from qms_engine.clock import to_utc_text

ID_HEX_DIGITS = 16


class ResponseIds:
    """The ids of one file's responses, in file order (occurrences are counted per file)."""

    def __init__(self) -> None:
        self._seen: Counter[bytes] = Counter()

    def next(self, station: str, time: datetime, ratings: Mapping[str, int]) -> str:
        """The id of the next response of ``station`` at ``time`` (aware) with ``ratings``."""
        kept: list[JsonValue] = [station, to_utc_text(time), dict(ratings)]
        key = hashlib.sha256(canonical_bytes(kept)).digest()
        self._seen[key] += 1
        digest = hashlib.sha256(canonical_bytes([*kept, self._seen[key]]))
        return digest.hexdigest()[:ID_HEX_DIGITS]
