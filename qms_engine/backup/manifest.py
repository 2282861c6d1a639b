"""``manifest.json``: what a backup holds, and the SHA-256 of every file in it.

Written last, so a folder with a manifest is a finished backup (a folder without one is no
backup: a usage error naming it).  Read back strictly before a restore writes anything: every
field typed, every file name one a backup can hold (so a hostile manifest cannot name a path
outside the folder), and every listed file present with its size and hash.  A problem is an
:class:`IntegrityError` naming the file.

The workspace's own files (the inbox, claims in progress, quarantine, duplicates, processed,
logs) are kept under ``files/`` by their path in the workspace; the ones that could not be
copied are listed in ``notes``, each with why.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from document_store.hashing import sha256_file
from qms_engine.backup.folders import Progress
from qms_engine.clock import is_utc_text
from qms_engine.errors import IntegrityError, InvalidInput
from qms_engine.i18n import _

FORMAT = "qms-backup"
VERSION = 1
MANIFEST = "manifest.json"
CONFIG = "qms.toml"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
BACKENDS = {"sqlite": SQLITE_FILE, "postgresql": POSTGRES_FILE}
"""Each database backend and the file its copy is kept in."""
MAX_MANIFEST_BYTES = 256 * 1024 * 1024

_SHA256 = re.compile(r"[0-9a-f]{64}")
_FILE = re.compile(
    r"qms\.toml|database\.sqlite3|database\.pgdump|blobs/([0-9a-f]{2})/([0-9a-f]{2})/(\1\2[0-9a-f]{60})"
)
WORKSPACE_FILES = "files/"
"""Where the workspace's own files are kept in a backup, by their path in the workspace."""
T = TypeVar("T")


def blob_file(sha256: str) -> str:
    """Where a blob is kept in a backup, fanned out as in the blob store."""
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def workspace_file(relative: str) -> str:
    """Where the workspace's file ``relative`` (``inbox/PS-KOT39/GD/scan.pdf``) is kept."""
    return WORKSPACE_FILES + relative


def in_workspace(name: str) -> str | None:
    """The workspace path of a backup's file ``name``, or None for the database, blobs …"""
    return name.removeprefix(WORKSPACE_FILES) if name.startswith(WORKSPACE_FILES) else None


@dataclass(frozen=True)
class OfficeHead:
    """An office and the last event of its chain in the snapshot."""

    code: str
    name: str
    seq: int
    hash: str


@dataclass(frozen=True)
class DatabaseCopy:
    """How the database was copied.  ``path``: where a SQLite file lies in the workspace;
    ``server_version``: the PostgreSQL server's; ``schema``: the migration it was at."""

    backend: str
    file: str
    schema: str | None
    path: str | None = None
    server_version: str | None = None


@dataclass(frozen=True)
class FileEntry:
    """A file of the backup: its SHA-256 and size."""

    sha256: str
    size: int


@dataclass(frozen=True)
class FileNote:
    """A workspace file that is not in the backup as it was, and why (it vanished while being
    copied, it is a symbolic link, its name is not UTF-8 …)."""

    path: str
    note: str


@dataclass(frozen=True)
class Manifest:
    """Everything ``manifest.json`` says."""

    engine_version: str
    created_at: str
    """The UTC time of the database snapshot."""
    taken_by: str
    database: DatabaseCopy
    offices: tuple[OfficeHead, ...]
    named_blobs: tuple[str, ...]
    """Blobs the snapshot's events name: a restore needs every one."""
    extra_blobs: tuple[str, ...]
    """Blobs stored after the snapshot (or named by nothing): copied, harmless."""
    inbox_per_office: bool
    """Whether the inbox kept one folder per office (its mark file was there)."""
    files: Mapping[str, FileEntry]
    notes: tuple[FileNote, ...]
    """Workspace files not copied as they were, each with why."""

    def workspace_files(self) -> dict[str, FileEntry]:
        """The workspace's own files (inbox, quarantine …) by their path in the workspace."""
        return {
            relative: entry
            for name, entry in self.files.items()
            if (relative := in_workspace(name)) is not None
        }

    def write(self, folder: Path) -> None:
        """Write ``folder/manifest.json`` (synced)."""
        document = {
            "format": FORMAT,
            "version": VERSION,
            **asdict(self),
            "blobs": {"named": list(self.named_blobs), "extra": list(self.extra_blobs)},
        }
        del document["named_blobs"], document["extra_blobs"]
        with (folder / MANIFEST).open("x", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """Read ``folder/manifest.json`` strictly (see the module docstring)."""
        path = folder / MANIFEST
        if path.is_symlink() or not path.is_file():
            raise InvalidInput(
                _("{folder} is not a backup: it has no {manifest}").format(
                    folder=folder, manifest=MANIFEST
                ),
                hint=_("give the folder `qms backup` wrote (a backup that failed leaves none)"),
            )
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise IntegrityError(_("{path}: larger than any manifest (damaged)").format(path=path))
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise IntegrityError(
                _("{path}: not a valid manifest ({exc})").format(path=path, exc=exc)
            ) from None
        return _Reader(path).manifest(data)

    def check_files(self, folder: Path, progress: Progress | None = None) -> None:
        """Every listed file present, of its size and hash; else an error naming each bad one."""
        problems = []
        for done, (name, entry) in enumerate(sorted(self.files.items()), start=1):
            path = folder / name
            if path.is_symlink() or not path.is_file():
                problems.append(f"{path}: missing (the manifest lists it)")
            elif path.stat().st_size != entry.size:
                problems.append(
                    f"{path}: {path.stat().st_size} bytes, the manifest says {entry.size}: "
                    "damaged or replaced"
                )
            else:
                actual = sha256_file(path)
                if actual != entry.sha256:
                    problems.append(
                        f"{path}: hashes to {actual[:16]}…, the manifest says "
                        f"{entry.sha256[:16]}…: damaged or replaced"
                    )
            if progress:
                progress("checking", done, len(self.files))
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise IntegrityError(
                _("the backup is damaged: {value}{more}; nothing was restored").format(
                    value=problems[0], more=more
                ),
                hint=_("restore from another copy of the backup"),
            )


class _Reader:
    """Reads the manifest's JSON into a :class:`Manifest`; every flaw names the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, wanted: str) -> IntegrityError:
        return IntegrityError(
            _("{path}: {field} must be {wanted}").format(path=self.path, field=field, wanted=wanted)
        )

    def get(self, data: object, field: str, kind: type[T], *, optional: bool = False) -> T:
        where = field.rsplit(".", 1)
        value = data.get(where[-1]) if isinstance(data, dict) else None
        if value is None and optional:
            return value  # type: ignore[return-value]
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise self.fail(field, f"a {kind.__name__}")
        return value

    def names(
        self, data: object, field: str, check: Callable[[str], bool], wanted: str
    ) -> tuple[str, ...]:
        values = self.get(data, field, list)
        if not all(isinstance(v, str) and check(v) for v in values):
            raise self.fail(field, f"a list of {wanted}")
        return tuple(values)

    def manifest(self, data: object) -> Manifest:
        if self.get(data, "format", str) != FORMAT or self.get(data, "version", int) != VERSION:
            raise self.fail("format and version", f"{FORMAT!r} and {VERSION} (is this a backup?)")
        created_at = self.get(data, "created_at", str)
        if not is_utc_text(created_at):
            raise self.fail("created_at", "a UTC time such as 2026-11-24T04:40:46.123456Z")
        files = {
            name: FileEntry(
                self.get(entry, f"files.{name}.sha256", str),
                self.get(entry, f"files.{name}.size", int),
            )
            for name, entry in self.get(data, "files", dict).items()
        }
        for name, entry in files.items():
            relative = in_workspace(name)
            if _FILE.fullmatch(name) is None and not (relative and is_inside(relative)):
                raise self.fail(f"files.{name[:80]!r}", "a file a backup holds (qms.toml, …)")
            if not _is_digest(entry.sha256) or entry.size < 0:
                raise self.fail(f"files.{name}", "a SHA-256 digest and a size")
        database = self.database(self.get(data, "database", dict))
        blobs = self.get(data, "blobs", dict)
        named = self.names(blobs, "blobs.named", _is_digest, "SHA-256 digests")
        extra = self.names(blobs, "blobs.extra", _is_digest, "SHA-256 digests")
        for name in (CONFIG, database.file, *map(blob_file, named + extra)):
            if name not in files:
                raise self.fail("files", f"a list naming {name} (the backup is incomplete)")
        return Manifest(
            engine_version=self.get(data, "engine_version", str),
            created_at=created_at,
            taken_by=self.get(data, "taken_by", str),
            database=database,
            offices=tuple(self.office(o) for o in self.get(data, "offices", list)),
            named_blobs=named,
            extra_blobs=extra,
            inbox_per_office=self.get(data, "inbox_per_office", bool),
            files=files,
            notes=tuple(
                FileNote(self.get(n, "notes.path", str), self.get(n, "notes.note", str))
                for n in self.get(data, "notes", list)
            ),
        )

    def database(self, data: dict[str, Any]) -> DatabaseCopy:
        backend = self.get(data, "database.backend", str)
        if BACKENDS.get(backend) != self.get(data, "database.file", str):
            raise self.fail(
                "database", "sqlite in database.sqlite3 or postgresql in database.pgdump"
            )
        path = self.get(data, "database.path", str, optional=True)
        if backend == "sqlite" and (path is None or not is_relative(path)):
            raise self.fail("database.path", "the SQLite file's path inside the workspace")
        return DatabaseCopy(
            backend,
            BACKENDS[backend],
            self.get(data, "database.schema", str, optional=True),
            path,
            self.get(data, "database.server_version", str, optional=True),
        )

    def office(self, data: object) -> OfficeHead:
        head = OfficeHead(
            self.get(data, "offices.code", str),
            self.get(data, "offices.name", str),
            self.get(data, "offices.seq", int),
            self.get(data, "offices.hash", str),
        )
        if head.seq < 0 or not _is_digest(head.hash):
            raise self.fail("offices", "chain heads: a sequence number and a SHA-256 hash")
        return head


def _is_digest(text: str) -> bool:
    return _SHA256.fullmatch(text) is not None


def is_relative(name: str) -> bool:
    """Whether ``name`` is a plain relative path (no ``..``, no root, no hidden part)."""
    hidden = any(part.startswith(".") for part in name.split("/"))
    return "\\" not in name and is_inside(name) and not hidden


def is_inside(name: str) -> bool:
    """Whether ``name`` is a relative path that stays inside its folder: no root, no ``..``,
    no empty or ``.`` part (hidden names and any other character a file name holds allowed)."""
    return (
        bool(name)
        and "\x00" not in name
        and not name.startswith("/")
        and all(part not in ("", ".", "..") for part in name.split("/"))
    )
