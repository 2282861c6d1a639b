"""Long lists of values in SQL statements, a bounded slice at a time.

A statement's ``IN (…)`` or an ``executemany`` row holds one bind parameter per value, and
PostgreSQL refuses a statement with more than 65,535 of them (SQLite more than 32,766): a
feedback export of a busy district holds more responses than that.  So such lists go to the
database in slices of :data:`VALUES_PER_STATEMENT`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

VALUES_PER_STATEMENT = 1_000

T = TypeVar("T")


def batches(values: Sequence[T], size: int = VALUES_PER_STATEMENT) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
