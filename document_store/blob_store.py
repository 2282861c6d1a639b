"""Content-addressed, write-once blob store.

Design notes (the *why*):

* The name of an object is the SHA-256 of its bytes, so identical uploads are
  stored once and any later corruption or tampering is detectable (``verify``).
* Uploads are streamed in fixed-size chunks into a private temp file under
  ``<root>/tmp`` while hashing, so memory stays bounded for any size and a
  half-written upload never appears under a content hash.
* Committing publishes the temp file with ``os.link`` which fails if the target
  exists; an existing object is therefore never overwritten, even when two
  processes race to store the same content (write-once).
* Hash arguments are validated as 64 lowercase hex characters before they are
  ever turned into a path, which also rules out path traversal.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from document_store.errors import BlobNotFound, StoreError
from document_store.hashing import CHUNK_SIZE, copy_hashing

__all__ = ["CHUNK_SIZE", "BlobInfo", "BlobStore", "StagedBlob"]

#: Read/hash granularity; bounds the memory used per upload or verification.

_OBJECT_MODE = 0o444
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX2 = re.compile(r"[0-9a-f]{2}")

# errno values meaning "this filesystem cannot make hard links" (FAT, some
# network/FUSE mounts). Anything else from os.link is a real error.
_NO_HARDLINK_ERRNOS = frozenset(
    e
    for e in (
        getattr(errno, "EPERM", None),
        getattr(errno, "ENOTSUP", None),
        getattr(errno, "EOPNOTSUPP", None),
        getattr(errno, "ENOSYS", None),
        getattr(errno, "EMLINK", None),
    )
    if e is not None
)


def _check_hash(sha256: str) -> str:
    """Reject anything that is not a canonical digest so it can never act as a path."""
    if not isinstance(sha256, str) or _HEX64.fullmatch(sha256) is None:
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


def _fsync_dir(directory: Path) -> None:
    """Make directory entries (new names) durable; a file fsync alone does not."""
    if os.name == "nt":  # Windows cannot open directories for fsync.
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    """Remove a temp file that may already be gone.

    Never chmods first on POSIX: after a successful ``os.link`` the temp name
    shares its inode with the published object, and a chmod would make the
    object writable again.
    """
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except PermissionError:
        if os.name != "nt":
            raise
        # Windows refuses to delete read-only files.
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, stat.S_IWRITE | stat.S_IREAD)
            os.unlink(path)


@dataclass(frozen=True)
class BlobInfo:
    """Outcome of storing a blob; ``created`` tells callers whether it was new."""

    sha256: str
    size: int
    created: bool


class StagedBlob:
    """A fully written and hashed upload that is not yet visible in ``objects/``.

    Staging first lets callers inspect the hash/size (e.g. to reject duplicates
    or check a quota) before publishing. Used as a context manager, leaving the
    ``with`` block without ``commit()`` discards the temp file, so failures never
    leave debris behind.
    """

    def __init__(self, store: BlobStore, tmp_path: Path, sha256: str, size: int) -> None:
        self._store = store
        self._tmp_path = tmp_path
        self._sha256 = sha256
        self._size = size
        self._info: BlobInfo | None = None
        self._discarded = False

    @property
    def sha256(self) -> str:
        """Hex digest of the staged content (read-only: it *is* the identity)."""
        return self._sha256

    @property
    def size(self) -> int:
        """Number of bytes staged."""
        return self._size

    def open(self) -> BinaryIO:
        """Read the staged bytes: exactly what was hashed, whatever became of the source since.

        Before ``commit()`` this is the private temp file; after it, the published object.
        """
        if self._info is not None:
            return self._store.open(self._sha256)
        if self._discarded:
            raise StoreError(f"staged blob {self._sha256} was discarded and cannot be read")
        return self._tmp_path.open("rb")

    def commit(self) -> BlobInfo:
        """Publish the staged bytes under their hash without ever overwriting.

        Idempotent: calling again returns the same ``BlobInfo``.
        """
        if self._info is not None:
            return self._info
        if self._discarded:
            raise StoreError(f"staged blob {self._sha256} was discarded and cannot be committed")

        final = self._store.path(self._sha256)
        new_dirs = self._store._ensure_object_dir(final)
        # Read-only before publication, so the object is never visible writable.
        os.chmod(self._tmp_path, _OBJECT_MODE)
        created = self._publish(final)
        _unlink_quietly(self._tmp_path)
        self._discarded = True  # the temp file is gone either way
        if created:
            # Re-assert read-only in case cleanup touched the shared inode (Windows).
            os.chmod(final, _OBJECT_MODE)
            _fsync_dir(final.parent)
            for d in new_dirs:
                _fsync_dir(d.parent)
        self._info = BlobInfo(sha256=self._sha256, size=self._size, created=created)
        return self._info

    def _publish(self, final: Path) -> bool:
        """Create ``final`` from the temp file; False if it already existed."""
        try:
            os.link(self._tmp_path, final)
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_HARDLINK_ERRNOS:
                raise
        # No hard-link support: replace only when absent. This check-then-replace
        # is not atomic against a concurrent writer, but both writers hold the
        # same bytes (same hash), so the worst case is an identical rewrite.
        if final.exists():
            return False
        os.replace(self._tmp_path, final)
        return True

    def discard(self) -> None:
        """Drop the temp file; a no-op after ``commit()`` or a previous discard."""
        if self._info is not None or self._discarded:
            return
        self._discarded = True
        _unlink_quietly(self._tmp_path)

    def __enter__(self) -> StagedBlob:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()

    def __repr__(self) -> str:
        state = "committed" if self._info else ("discarded" if self._discarded else "staged")
        return f"StagedBlob(sha256={self._sha256!r}, size={self._size}, {state})"


class BlobStore:
    """Write-once store of byte blobs addressed by their SHA-256 digest."""

    def __init__(self, root: Path) -> None:
        """Create ``objects/`` and ``tmp/`` under ``root`` so the store is usable at once.

        ``tmp/`` sits on the same filesystem as ``objects/`` so publishing is a
        link/rename, never a copy.
        """
        self.root = Path(root)
        self.objects_dir = self.root / "objects"
        self.tmp_dir = self.root / "tmp"
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ writing

    def stage(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StagedBlob:
        """Stream ``stream`` into a temp file while hashing, without publishing it.

        Memory use is bounded by ``CHUNK_SIZE`` regardless of input size. If more
        than ``max_bytes`` arrive, the temp file is removed and ``BlobTooLarge``
        is raised; at most ``max_bytes + 1`` bytes are read from the stream.
        """
        if max_bytes is not None and max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        fd, name = tempfile.mkstemp(prefix="stage-", suffix=".part", dir=self.tmp_dir)
        tmp_path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                sha256, size = copy_hashing(stream, out.write, max_bytes=max_bytes)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            _unlink_quietly(tmp_path)
            raise
        return StagedBlob(self, tmp_path, sha256, size)

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> BlobInfo:
        """Stage and commit in one step; the common path for callers."""
        with self.stage(stream, max_bytes=max_bytes) as staged:
            return staged.commit()

    def put_file(self, path: Path, *, max_bytes: int | None = None) -> BlobInfo:
        """Store the contents of a file on disk (any file name, including non-ASCII)."""
        with open(path, "rb") as fh:
            return self.put(fh, max_bytes=max_bytes)

    # ------------------------------------------------------------------ reading

    def path(self, sha256: str) -> Path:
        """Location of an object; fanned out ``ab/cd/`` to keep directories small."""
        _check_hash(sha256)
        return self.objects_dir / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether an object with this hash has been committed."""
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """Open an object for binary reading; the caller must close it."""
        p = self.path(sha256)
        try:
            return open(p, "rb")
        except FileNotFoundError:
            raise BlobNotFound(f"blob not found: {sha256}") from None

    def size(self, sha256: str) -> int:
        """Size in bytes of a stored object, without reading it."""
        p = self.path(sha256)
        try:
            return p.stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(f"blob not found: {sha256}") from None

    def remove(self, sha256: str) -> bool:
        """Delete an object that nothing refers to (the caller knows; this store cannot).

        For undoing a publish whose database transaction then failed, and for garbage
        collection: never for an object a record still names.  Returns whether it existed.
        """
        path = self.path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def verify(self, sha256: str) -> bool:
        """Re-hash an object to detect bit rot or tampering since it was stored."""
        with self.open(sha256) as fh:
            return copy_hashing(fh)[0] == sha256

    def iter_hashes(self) -> Iterator[str]:
        """Yield every stored hash in sorted order, lazily.

        Because the fan-out directories are hash prefixes, sorting each level
        yields a globally sorted sequence without loading the whole listing.
        Stray entries that do not fit the layout are ignored.
        """
        for d1 in sorted(self.objects_dir.iterdir()):
            if not (d1.is_dir() and _HEX2.fullmatch(d1.name)):
                continue
            for d2 in sorted(d1.iterdir()):
                if not (d2.is_dir() and _HEX2.fullmatch(d2.name)):
                    continue
                prefix = d1.name + d2.name
                for obj in sorted(d2.iterdir()):
                    name = obj.name
                    if _HEX64.fullmatch(name) and name.startswith(prefix) and obj.is_file():
                        yield name

    # ---------------------------------------------------------------- internals

    def _ensure_object_dir(self, final: Path) -> list[Path]:
        """Create the fan-out directories for ``final``; return those newly made."""
        created: list[Path] = []
        for d in (final.parent.parent, final.parent):
            try:
                d.mkdir()
                created.append(d)
            except FileExistsError:
                pass
        return created

    def __repr__(self) -> str:
        return f"BlobStore(root={str(self.root)!r})"
