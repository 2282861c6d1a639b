"""Streaming SHA-256: the one place content is hashed chunk by chunk (store, verify, export).

Memory use is bounded by :data:`CHUNK_SIZE` whatever the size of the content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from document_store.errors import BlobTooLarge, StoreError

CHUNK_SIZE = 1 << 20


def copy_hashing(
    source: BinaryIO,
    sink: Callable[[bytes], object] | None = None,
    *,
    max_bytes: int | None = None,
) -> tuple[str, int]:
    """Read ``source`` to its end, hashing every chunk and handing it to ``sink`` (if given).

    Returns (SHA-256 hex, size).  Past ``max_bytes`` it raises :class:`BlobTooLarge`, having
    read at most ``max_bytes + 1`` bytes.
    """
    digest = hashlib.sha256()
    size = 0
    while True:
        want = CHUNK_SIZE if max_bytes is None else min(CHUNK_SIZE, max_bytes - size + 1)
        chunk = source.read(want)
        if chunk is None:  # a non-blocking raw stream with no data ready
            raise StoreError("stream returned None (non-blocking streams unsupported)")
        if not chunk:
            return digest.hexdigest(), size
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise BlobTooLarge(f"blob exceeds the limit of {max_bytes} bytes")
        digest.update(chunk)
        if sink is not None:
            sink(chunk)


def sha256_file(path: Path) -> str:
    """The SHA-256 (hex) of a file's content."""
    with path.open("rb") as handle:
        return copy_hashing(handle)[0]
