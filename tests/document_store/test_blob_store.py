"""Tests for the content-addressed blob store, using real files under ``tmp_path``."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from document_store import BlobInfo, BlobNotFound, BlobStore, BlobTooLarge, StagedBlob, StoreError

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


class GeneratedReader(io.RawIOBase):
    """A readable stream backed by a generator, so large inputs never sit in memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = next(self._chunks, b"")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def generated_chunks(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """Deterministic, non-repeating-per-chunk data of exactly ``total`` bytes."""
    i = 0
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        block = hashlib.sha256(i.to_bytes(8, "big")).digest() * (chunk // 32 + 1)
        yield block[:n]
        sent += n
        i += 1


def tree_files(directory: Path) -> list[Path]:
    """Every regular file below ``directory``."""
    return [p for p in directory.rglob("*") if p.is_file()]


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "store")


def test_init_creates_layout(tmp_path: Path) -> None:
    """The constructor creates objects/ and tmp/ including missing parents."""
    root = tmp_path / "a" / "b" / "store"
    BlobStore(root)
    assert (root / "objects").is_dir()
    assert (root / "tmp").is_dir()


def test_put_open_round_trip(store: BlobStore) -> None:
    """Bytes read back via open() are identical to what was put, under the right hash."""
    data = b"ISO 9001 \x00\xff control copy\n" * 1000
    info = store.put(io.BytesIO(data))
    assert info == BlobInfo(hashlib.sha256(data).hexdigest(), len(data), True)
    with store.open(info.sha256) as fh:
        assert fh.read() == data
    assert store.exists(info.sha256)
    assert store.size(info.sha256) == len(data)
    assert store.verify(info.sha256)


def test_path_layout(store: BlobStore) -> None:
    """Objects are fanned out as objects/ab/cd/<hash>."""
    info = store.put(io.BytesIO(b"layout"))
    h = info.sha256
    assert store.path(h) == store.root / "objects" / h[:2] / h[2:4] / h
    assert store.path(h).is_file()


def test_same_content_stored_once(store: BlobStore) -> None:
    """Putting identical content twice yields one object and created=False the second time."""
    first = store.put(io.BytesIO(b"same"))
    second = store.put(io.BytesIO(b"same"))
    assert first.created is True
    assert second.created is False
    assert first.sha256 == second.sha256
    assert list(store.iter_hashes()) == [first.sha256]
    assert tree_files(store.root / "tmp") == []


def test_existing_object_never_overwritten(store: BlobStore) -> None:
    """A second put of the same content leaves a (tampered) existing object untouched."""
    original = b"original controlled document"
    info = store.put(io.BytesIO(original))
    obj = store.path(info.sha256)
    obj.chmod(0o644)
    obj.write_bytes(b"hand-made tampered bytes")

    again = store.put(io.BytesIO(original))

    assert again.created is False
    assert obj.read_bytes() == b"hand-made tampered bytes"
    assert store.verify(info.sha256) is False
    assert tree_files(store.root / "tmp") == []


def test_stage_is_invisible_until_commit(store: BlobStore) -> None:
    """A staged blob exposes hash/size but is not in objects/ until commit()."""
    data = b"staged"
    with store.stage(io.BytesIO(data)) as staged:
        assert staged.sha256 == hashlib.sha256(data).hexdigest()
        assert staged.size == len(data)
        assert not store.exists(staged.sha256)
        assert tree_files(store.root / "objects") == []
        info = staged.commit()
    assert info.created
    assert store.exists(info.sha256)


def test_commit_is_idempotent(store: BlobStore) -> None:
    """A second commit() returns the same info, and discard() after commit is a no-op."""
    staged = store.stage(io.BytesIO(b"twice"))
    first = staged.commit()
    assert staged.commit() == first
    staged.discard()
    assert store.exists(first.sha256)
    assert tree_files(store.root / "tmp") == []


def test_discarded_stage_leaves_nothing(store: BlobStore) -> None:
    """discard() removes the temp file and nothing ever reaches objects/."""
    staged = store.stage(io.BytesIO(b"discard me"))
    assert isinstance(staged, StagedBlob)
    assert len(tree_files(store.root / "tmp")) == 1
    staged.discard()
    staged.discard()
    assert tree_files(store.root / "tmp") == []
    assert tree_files(store.root / "objects") == []
    with pytest.raises(StoreError):
        staged.commit()


def test_with_block_exit_without_commit_discards(store: BlobStore) -> None:
    """Leaving the with block without commit() (normally) discards the staged blob."""
    with store.stage(io.BytesIO(b"forgotten")):
        pass
    assert tree_files(store.root / "tmp") == []
    assert tree_files(store.root / "objects") == []


def test_with_block_raising_discards(store: BlobStore) -> None:
    """An exception inside the with block leaves nothing in objects/ or tmp/."""
    with pytest.raises(RuntimeError), store.stage(io.BytesIO(b"boom")):
        raise RuntimeError("caller failed")
    assert tree_files(store.root / "tmp") == []
    assert tree_files(store.root / "objects") == []


def test_max_bytes_exceeded(store: BlobStore) -> None:
    """Exceeding max_bytes raises BlobTooLarge naming the limit and leaves no files."""
    with pytest.raises(BlobTooLarge, match="1000"):
        store.put(io.BytesIO(b"x" * 1001), max_bytes=1000)
    assert tree_files(store.root / "tmp") == []
    assert tree_files(store.root / "objects") == []


def test_max_bytes_exact_limit_allowed(store: BlobStore) -> None:
    """Exactly max_bytes bytes are accepted; the limit is inclusive."""
    info = store.put(io.BytesIO(b"x" * 1000), max_bytes=1000)
    assert info.size == 1000


def test_max_bytes_stops_reading_early(store: BlobStore) -> None:
    """An oversized infinite-ish stream is rejected after ~max_bytes, not read to the end."""
    reader = GeneratedReader(generated_chunks(10**12))
    with pytest.raises(BlobTooLarge):
        store.put(reader, max_bytes=3 * 1024 * 1024)  # type: ignore[arg-type]
    assert tree_files(store.root / "tmp") == []


def test_large_stream_bounded_memory(store: BlobStore) -> None:
    """A 50 MB generated stream is stored with correct hash/size using only a few MB of memory."""
    total = 50 * 1024 * 1024
    expected = hashlib.sha256()
    for block in generated_chunks(total):
        expected.update(block)

    tracemalloc.start()
    try:
        info = store.put(GeneratedReader(generated_chunks(total)))  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert info.sha256 == expected.hexdigest()
    assert info.size == total
    assert store.size(info.sha256) == total
    assert peak < 5 * 1024 * 1024, f"peak traced memory {peak} bytes"


def test_verify_detects_flipped_byte(store: BlobStore) -> None:
    """verify() returns False once a single byte of a stored object is flipped."""
    info = store.put(io.BytesIO(b"abcdefgh" * 4096))
    obj = store.path(info.sha256)
    assert store.verify(info.sha256)
    obj.chmod(0o644)
    raw = bytearray(obj.read_bytes())
    raw[12345] ^= 0x01
    obj.write_bytes(bytes(raw))
    assert store.verify(info.sha256) is False


def test_missing_blob_raises_not_found(store: BlobStore) -> None:
    """open/size/verify on an absent hash raise BlobNotFound naming the hash."""
    missing = "0" * 64
    assert not store.exists(missing)
    with pytest.raises(BlobNotFound, match=missing):
        store.open(missing)
    with pytest.raises(BlobNotFound, match=missing):
        store.size(missing)
    with pytest.raises(BlobNotFound, match=missing):
        store.verify(missing)


@pytest.mark.parametrize(
    "bad",
    [
        "../etc/passwd",
        "../../" + "a" * 58,
        EMPTY_SHA256.upper(),
        "abc123",
        "",
        EMPTY_SHA256 + "0",
        EMPTY_SHA256[:-1] + "g",
        EMPTY_SHA256[:-1] + "\n",
    ],
)
def test_bad_hash_rejected(store: BlobStore, bad: str) -> None:
    """Anything but 64 lowercase hex chars is a ValueError, so hashes cannot traverse paths."""
    for call in (store.path, store.exists, store.open, store.size, store.verify):
        with pytest.raises(ValueError, match="not a SHA-256 hex digest"):
            call(bad)


def test_objects_are_read_only(store: BlobStore) -> None:
    """Committed objects have mode 0o444."""
    info = store.put(io.BytesIO(b"read only"))
    assert stat.S_IMODE(os.stat(store.path(info.sha256)).st_mode) == 0o444


def test_iter_hashes_lists_stored_sorted(store: BlobStore) -> None:
    """iter_hashes() yields exactly the stored hashes, in sorted order."""
    assert list(store.iter_hashes()) == []
    hashes = {store.put(io.BytesIO(f"doc {i}".encode())).sha256 for i in range(20)}
    staged = store.stage(io.BytesIO(b"not committed"))
    try:
        assert list(store.iter_hashes()) == sorted(hashes)
    finally:
        staged.discard()


def test_put_file_devanagari_name(store: BlobStore, tmp_path: Path) -> None:
    """put_file works for a file whose name is in Devanagari."""
    src = tmp_path / "प्रथम_सूचना_रिपोर्ट.txt"
    data = "थाना रजिस्टर — पृष्ठ १".encode()
    src.write_bytes(data)
    info = store.put_file(src)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    with store.open(info.sha256) as fh:
        assert fh.read() == data


def test_empty_stream(store: BlobStore) -> None:
    """An empty stream stores the SHA-256 of empty input with size 0."""
    info = store.put(io.BytesIO(b""))
    assert info == BlobInfo(EMPTY_SHA256, 0, True)
    assert store.size(EMPTY_SHA256) == 0
    assert store.verify(EMPTY_SHA256)
