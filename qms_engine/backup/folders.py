"""Folders that appear whole or not at all, and files copied with their hash.

A backup, or a restored workspace, is written into a hidden folder beside its destination and
renamed into place at the end: a failure (or Ctrl-C) removes it, so the user never finds half
of one where they looked.  A destination is never overwritten: it must be new or empty (else a
usage error, as for `doc get -o` onto an existing file), and never inside a folder whose
contents something else moves or owns (a workspace's inbox or blob store, the backup itself).
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from document_store.hashing import copy_hashing
from qms_engine.errors import InvalidInput
from qms_engine.files import fsync_dir
from qms_engine.i18n import _

Progress = Callable[[str, int, int | None], None]
"""Called as ``progress(stage, done, total)`` on long work; ``total`` is None while unknown."""


def check_destination(destination: Path, what: str) -> None:
    """Refuse a destination that is not a new or empty folder inside an existing one (nor the
    current folder, which the final rename would swap from under the shell)."""
    destination = Path(os.path.abspath(destination))
    if Path.cwd().is_relative_to(destination):
        raise InvalidInput(
            _("{destination} is the current folder (or holds it)").format(destination=destination),
            hint=_("give a new folder for {what}, e.g. beside this one").format(what=what),
        )
    if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
        raise InvalidInput(
            _("{destination} is not a folder").format(destination=destination),
            hint=_("give a new folder for {what}").format(what=what),
        )
    if not destination.parent.is_dir():  # never make folders nobody asked for
        raise InvalidInput(
            _("{parent} does not exist").format(parent=destination.parent),
            hint=_("give a folder that exists, or make it"),
        )
    if destination.exists() and any(destination.iterdir()):
        raise InvalidInput(
            _("{destination} exists and is not empty: nothing is ever overwritten").format(
                destination=destination
            ),
            hint=_("give a new or empty folder for {what}").format(what=what),
        )


def refuse_inside(destination: Path, places: Iterable[tuple[Path, str]], hint: str) -> None:
    """Refuse a destination inside one of ``places`` (a folder, and what it is: "the
    workspace's inbox (…)"): the watcher would carry a folder in an inbox off to quarantine,
    and a backup inside itself would be restored into what it restores from."""
    where = destination.resolve()
    for place, what in places:
        if where.is_relative_to(place.resolve()):
            raise InvalidInput(
                _("{destination} lies inside {what}").format(destination=destination, what=what),
                hint=hint,
            )


@contextmanager
def staged_folder(destination: Path, what: str, *, private: bool = False) -> Iterator[Path]:
    """A new hidden folder beside ``destination``, renamed to it when the block succeeds and
    removed when it fails.  ``private``: only its owner may read it (a backup holds sealed
    keys and the database's address)."""
    check_destination(destination, what)
    destination = Path(os.path.abspath(destination))
    staging = destination.parent / f".{destination.name}.{uuid.uuid4().hex[:8]}.partial"
    staging.mkdir()
    try:
        if private:
            staging.chmod(0o700)
        yield staging
        sync_tree(staging)
        try:
            os.rename(staging, destination)  # replaces an empty folder, never a full one
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            raise InvalidInput(
                _(
                    "{destination} was filled by someone else meanwhile: nothing is "
                    "ever overwritten"
                ).format(destination=destination),
                hint=_("give a new or empty folder for {what}").format(what=what),
            ) from None
        fsync_dir(destination.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def sync_tree(root: Path) -> None:
    """fsync every folder under ``root`` (files are synced as they are written)."""
    for folder, _subfolders, _files in os.walk(root):
        fsync_dir(Path(folder))


def copy_file(source: Path, target: Path) -> str:
    """Copy ``source`` to a new file ``target`` (never overwriting), synced; returns its
    SHA-256, computed from the bytes written."""
    with source.open("rb") as reading:
        return copy_from(reading, target)


def copy_from(reading: BinaryIO, target: Path) -> str:
    """Copy what ``reading`` holds to a new file ``target``, synced; returns its SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("xb") as writing:
        digest, _size = copy_hashing(reading, writing.write)
        writing.flush()
        os.fsync(writing.fileno())
    return digest
