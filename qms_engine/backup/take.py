"""``qms backup``: a consistent copy of a live workspace, taken while others keep working.

Who may: an admin or quality coordinator of every office of the deployment, acting with their
own current key.  A backup copies every office's records and everyone's sealed private keys
(copied as they are, never decrypted), so someone in charge of one office of a district
cannot take one.  The key only proves who asks: a backup changes nothing and signs nothing.

How it stays consistent: everything about the database comes from one read-only snapshot.  On
SQLite the backup API copies the pages of a read transaction held open on the source
connection (in WAL mode writers carry on, and a copy made in steps never restarts); on
PostgreSQL ``pg_dump`` imports the snapshot that transaction exported.  The offices' chain
heads and the blobs the events name are read in the same snapshot.  The blobs are copied
after it, so every blob it names is there (a blob is published before the transaction naming
it commits); a named blob that is missing or damaged stops the backup.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from document_store import BlobStore
from document_store.hashing import sha256_file
from qms_engine import __version__
from qms_engine.audit.bundle import is_sha256
from qms_engine.backup.folders import Progress, copy_file, staged_folder
from qms_engine.backup.manifest import (
    CONFIG,
    POSTGRES_FILE,
    SQLITE_FILE,
    DatabaseCopy,
    FileEntry,
    Manifest,
    OfficeHead,
    blob_file,
    is_relative,
)
from qms_engine.backup.postgres import find_tool, run_tool, server_version
from qms_engine.chain import events
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import to_utc_text, utc_now
from qms_engine.errors import IntegrityError, InvalidInput
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.database import read_snapshot
from qms_engine.storage.models import EVENT_TABLE, HEAD_TABLE, OFFICE_TABLE
from qms_engine.storage.workspace import Workspace, sqlite_path

BACKUP_ROLES = frozenset({roles.ADMIN, roles.QUALITY_COORDINATOR})
"""Roles that may take a backup; one of them is needed in every office."""
PAGES_PER_STEP = 256
"""SQLite pages copied per step of the backup API (1 MiB of 4 KiB pages): the progress bar."""

_HEADS = (
    select(OFFICE_TABLE.c.code, OFFICE_TABLE.c.name, HEAD_TABLE.c.seq, HEAD_TABLE.c.hash)
    .join(HEAD_TABLE, HEAD_TABLE.c.office_id == OFFICE_TABLE.c.id)
    .order_by(OFFICE_TABLE.c.code)
)
_NAMING_BLOBS = select(EVENT_TABLE.c.payload).where(
    EVENT_TABLE.c.action.in_(sorted(events.CONTENT_KINDS))
)


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds."""

    path: Path
    backend: str
    created_at: str
    taken_by: str
    offices: tuple[OfficeHead, ...]
    named_blobs: int
    extra_blobs: int
    files: int
    bytes: int


def chain_heads(connection: Connection) -> tuple[OfficeHead, ...]:
    """Every office and the last event of its chain, by office code."""
    return tuple(OfficeHead(*row) for row in connection.execute(_HEADS))


def authorise_backup(runtime: Runtime, actor: Signer) -> None:
    """Refuse unless ``actor`` is an admin or quality coordinator of every office."""
    with read_snapshot(runtime.engine) as connection:
        offices = connection.execute(
            select(
                OFFICE_TABLE.c.id,
                OFFICE_TABLE.c.code,
                OFFICE_TABLE.c.name,
                OFFICE_TABLE.c.office_type,
                OFFICE_TABLE.c.timezone,
            ).order_by(OFFICE_TABLE.c.code)
        ).all()
        for row in offices:
            office = OfficeRef(*row)
            require_role(
                load_actor(connection, actor, office),
                BACKUP_ROLES,
                office,
                "take a backup",
            )


def take_backup(
    runtime: Runtime, *, actor: Signer, destination: Path, progress: Progress | None = None
) -> BackupSummary:
    """Write a backup of the workspace to ``destination`` (a new or empty folder), readable by
    its owner only; nothing of it is left if anything fails."""
    workspace = runtime.workspace
    for place, what in ((workspace.inbox_dir, "inbox"), (workspace.blob_dir, "blob store")):
        if destination.resolve().is_relative_to(place):
            raise InvalidInput(
                f"{destination} lies inside the workspace's {what} ({place})",
                hint="keep backups outside the workspace, best on another disk",
            )
    authorise_backup(runtime, actor)
    tell = progress or _quiet
    with staged_folder(destination, "the backup", private=True) as staging:
        with read_snapshot(runtime.engine) as connection:
            offices = chain_heads(connection)  # the first read fixes the snapshot
            created_at = to_utc_text(utc_now())
            named = _named_blobs(connection)
            tell("database", 0, None)
            if connection.dialect.name == "sqlite":
                database = _copy_sqlite(connection, workspace, staging, tell)
            else:
                database = _dump_postgres(connection, staging, tell)
        files = {
            CONFIG: _entry(staging / CONFIG, copy_file(workspace.config_path, staging / CONFIG))
        }
        files[database.file] = _entry(staging / database.file)
        copied = _copy_blobs(runtime.store, staging, named, tell)
        files.update(copied)
        extra = sorted({name.rsplit("/", 1)[1] for name in copied} - named)
        Manifest(
            engine_version=__version__,
            created_at=created_at,
            taken_by=actor.username,
            database=database,
            offices=offices,
            named_blobs=tuple(sorted(named)),
            extra_blobs=tuple(extra),
            inbox_folders=tuple(_inbox_folders(workspace.inbox_dir)),
            files=files,
        ).write(staging)
    return BackupSummary(
        destination,
        database.backend,
        created_at,
        actor.username,
        offices,
        len(named),
        len(extra),
        len(files),
        sum(entry.size for entry in files.values()),
    )


def _quiet(_stage: str, _done: int, _total: int | None) -> None:
    """No progress shown."""


def _entry(path: Path, sha256: str | None = None) -> FileEntry:
    """``path``'s manifest entry (its hash computed unless already known from copying it)."""
    return FileEntry(sha256 or sha256_file(path), path.stat().st_size)


def _schema(connection: Connection) -> str | None:
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _named_blobs(connection: Connection) -> set[str]:
    """Every blob the snapshot's chain names: the ``sha256`` of each event that stores a file."""
    named = set()
    for (payload,) in connection.execute(_NAMING_BLOBS.execution_options(yield_per=1000)):
        value = json.loads(payload)
        sha = value.get("sha256") if isinstance(value, dict) else None
        if is_sha256(sha):
            named.add(str(sha))
    return named


def _copy_sqlite(
    connection: Connection, workspace: Workspace, staging: Path, tell: Progress
) -> DatabaseCopy:
    """Copy the snapshot's pages with the online backup API, in steps (a progress bar)."""
    source: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
    copy = sqlite3.connect(staging / SQLITE_FILE)
    try:
        source.backup(
            copy,
            pages=PAGES_PER_STEP,
            progress=lambda _status, left, total: tell("database", total - left, total),
        )
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, not WAL
    finally:
        copy.close()
    where = sqlite_path(workspace.database_url)
    assert where is not None  # a workspace's SQLite database is a file
    where = where.resolve()
    inside = where.is_relative_to(workspace.root)
    path = where.relative_to(workspace.root).as_posix() if inside else where.name
    return DatabaseCopy("sqlite", SQLITE_FILE, _schema(connection), path=path)


def _dump_postgres(connection: Connection, staging: Path, tell: Progress) -> DatabaseCopy:
    """``pg_dump`` (custom format) of exactly this transaction's snapshot."""
    major, version = server_version(connection)
    tool = find_tool("pg_dump", major)
    snapshot = str(connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
    run_tool(
        tool,
        connection.engine.url.render_as_string(hide_password=False),
        "--format=custom",
        f"--snapshot={snapshot}",
        "--no-owner",
        "--no-privileges",
        f"--file={staging / POSTGRES_FILE}",
    )
    tell("database", 1, 1)
    return DatabaseCopy("postgresql", POSTGRES_FILE, _schema(connection), server_version=version)


def _copy_blobs(
    store: BlobStore, staging: Path, named: set[str], tell: Progress
) -> dict[str, FileEntry]:
    """Copy every blob in the store now (a superset of those the snapshot names)."""
    present = list(store.iter_hashes())
    missing = sorted(named - set(present))
    if missing:
        raise IntegrityError(
            f"blob {missing[0]} (and {len(missing) - 1} more), which the audit trail names, is "
            f"missing from the blob store {store.objects_dir}: no backup was written",
            hint="run `qms audit verify` to see what the workspace lacks",
        )
    files = {}
    for done, sha in enumerate(present, start=1):
        name = blob_file(sha)
        digest = copy_file(store.path(sha), staging / name)
        if digest != sha:
            raise IntegrityError(
                f"{store.path(sha)}: its content hashes to {digest[:16]}…: the blob is "
                "damaged, and no backup was written",
                hint="run `qms audit verify` to see what the workspace lacks",
            )
        files[name] = _entry(staging / name, digest)
        tell("blobs", done, len(present))
    return files


def _inbox_folders(inbox: Path) -> list[str]:
    """The inbox's folders (not its files, which are not filed yet), to be made again."""
    found = []
    for folder, subfolders, _files in os.walk(inbox):
        subfolders[:] = sorted(
            d for d in subfolders if not d.startswith(".") and not (Path(folder) / d).is_symlink()
        )
        for name in subfolders:
            relative = (Path(folder) / name).relative_to(inbox).as_posix()
            if is_relative(relative) and relative.isprintable():
                found.append(relative)
    return found
