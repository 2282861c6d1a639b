"""Handing a stored file out exactly: a revision (``qms doc get``) or an NC's evidence (``qms nc
evidence``).

The bytes are checked against the SHA-256 the record names on their way out of the blob store,
and written only once they matched: to a new file (an existing one replaced only when asked,
never a link, a device or a folder; no folder made), or to a stream.  A missing or altered blob
is an :class:`~qms_engine.errors.IntegrityError` naming what was asked for, and leaves nothing
behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, BinaryIO

from document_store import BlobNotFound
from document_store.hashing import copy_hashing
from qms_engine.errors import IntegrityError, InvalidInput
from qms_engine.i18n import _
from qms_engine.runtime import Runtime

STREAM_IN_MEMORY = 16 * 1024 * 1024
"""Bytes of a file :func:`stream_verified` holds in memory while checking it (more: on disk)."""


def _exists(destination: Path) -> InvalidInput:
    return InvalidInput(
        _("{destination}: the file exists").format(destination=destination),
        hint=_("choose another name, or add --force to replace it"),
    )


def check_destination(destination: Path, force: bool) -> None:
    """Where a file may be written: a new file (or, with ``force``, an ordinary existing
    one) in a folder that exists."""
    if destination.is_dir():
        raise InvalidInput(
            _("{destination} is a folder").format(destination=destination),
            hint=_("give a file name with -o"),
        )
    if destination.is_symlink() or (destination.exists() and not destination.is_file()):
        raise InvalidInput(  # never replace a link, a device or a pipe by the exported file
            _("{destination} is not a regular file").format(destination=destination),
            hint=_("give the name of a new (or an ordinary existing) file"),
        )
    if not destination.parent.is_dir():  # never make folders the user did not ask for
        raise InvalidInput(
            _("{parent} does not exist").format(parent=destination.parent),
            hint=_("give a folder that exists, or make it"),
        )
    if destination.exists() and not force:
        raise _exists(destination)


def _verified_copy(runtime: Runtime, sha256: str, what: str, out: IO[bytes]) -> None:
    """Copy the stored file ``sha256`` to ``out``; IntegrityError if it is missing or its
    bytes do not hash to it (``what`` names it in the error)."""
    try:
        blob = runtime.store.open(sha256)
    except BlobNotFound:
        raise IntegrityError(
            _("{what}: its content ({value}…) is missing from the blob store").format(
                what=what, value=sha256[:16]
            ),
            hint=_("restore the blob store from backup and run `qms audit verify`"),
        ) from None
    with blob:
        actual, _size = copy_hashing(blob, out.write)
    if actual != sha256:
        raise IntegrityError(
            _(
                "{what}: stored content hashes to {actual}, expected {sha256}: "
                "the blob store was altered"
            ).format(what=what, actual=actual, sha256=sha256),
            hint=_("restore the blob store from backup and run `qms audit verify`"),
        )


def _place(temp: Path, destination: Path, force: bool) -> None:
    """Move the verified file to ``destination``; without ``force`` never over a file, even
    one made meanwhile (a hard link fails if the name is taken; on a file system without hard
    links, such as FAT, the name is checked just before)."""
    if force:
        os.replace(temp, destination)
        return
    try:
        os.link(temp, destination)
    except FileExistsError:
        raise _exists(destination) from None
    except OSError:  # no hard links here
        if destination.exists() or destination.is_symlink():
            raise _exists(destination) from None
        os.replace(temp, destination)
        return
    temp.unlink()


def write_verified(
    runtime: Runtime, sha256: str, what: str, destination: Path, *, force: bool = False
) -> None:
    """Write the stored file ``sha256`` (``what``: how errors name it) to ``destination``,
    which appears only once the bytes hashed to ``sha256`` (see :func:`check_destination`)."""
    check_destination(destination, force)
    handle, temp_name = tempfile.mkstemp(dir=destination.parent, prefix=".qms-get-")
    try:
        with os.fdopen(handle, "wb") as out:
            _verified_copy(runtime, sha256, what, out)
            out.flush()
            os.fsync(out.fileno())
        _place(Path(temp_name), destination, force)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def stream_verified(runtime: Runtime, sha256: str, what: str, out: BinaryIO) -> None:
    """Write the stored file ``sha256`` to ``out`` (standard output, ``-o -``) once its bytes
    hashed to it: a damaged file writes nothing."""
    with tempfile.SpooledTemporaryFile(max_size=STREAM_IN_MEMORY) as checked:
        _verified_copy(runtime, sha256, what, checked)
        checked.seek(0)
        shutil.copyfileobj(checked, out)
    out.flush()
