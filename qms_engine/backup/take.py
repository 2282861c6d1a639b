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

The workspace's own files come first, before the snapshot: files waiting in the inbox, claims
being filed, quarantine (with each .error.txt), duplicates, processed originals and receipts,
and the logs, walked in the order a file moves through them, so a file moved on meanwhile is
found again further on (only a `qms inbox retry` at that moment, moving files back, can slip
past).  A file filed after being copied from the inbox is in the snapshot too: restored, it is
set aside as a duplicate of its record, never lost.  A file being written is copied as it is
then; one that vanishes before it is copied, a link, or a file that cannot be read is listed
in the manifest's notes instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, bindparam, select

from document_store import BlobStore
from document_store.hashing import sha256_file
from qms_engine import __version__
from qms_engine.audit.bundle import is_sha256
from qms_engine.backup.folders import (
    Progress,
    copy_file,
    copy_from,
    refuse_inside,
    staged_folder,
)
from qms_engine.backup.manifest import (
    CONFIG,
    POSTGRES_FILE,
    SQLITE_FILE,
    DatabaseCopy,
    FileEntry,
    FileNote,
    Manifest,
    OfficeHead,
    blob_file,
    workspace_file,
)
from qms_engine.backup.postgres import find_tool, run_tool, server_version
from qms_engine.chain import events
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import to_utc_text, utc_now
from qms_engine.errors import IntegrityError, PermissionDenied
from qms_engine.files import NotRegularFile, open_regular
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.database import read_snapshot
from qms_engine.storage.inbox_layout import LAYOUT_MARK, is_per_office
from qms_engine.storage.models import (
    EVENT_TABLE,
    HEAD_TABLE,
    KEY_REGISTRATION_TABLE,
    OFFICE_TABLE,
    ROLE_TABLE,
    USER_TABLE,
)
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
_ROLES_THERE = (
    select(ROLE_TABLE.c.role)
    .join(USER_TABLE, USER_TABLE.c.id == ROLE_TABLE.c.user_id)
    .where(
        USER_TABLE.c.username == bindparam("username"),
        ROLE_TABLE.c.office_id == bindparam("office_id"),
    )
)
_NAMING_BLOBS = select(EVENT_TABLE.c.action, EVENT_TABLE.c.payload).where(
    EVENT_TABLE.c.action.in_(sorted(events.FILE_KINDS))
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
    workspace_files: int
    """Files of the inbox and its folders (quarantine, duplicates, processed …) and the logs."""
    notes: tuple[FileNote, ...]
    """Workspace files not copied as they were, each with why."""
    files: int
    bytes: int


def file_trees(workspace: Workspace) -> tuple[Path, ...]:
    """The workspace's folders of files that exist nowhere else, in the order a file moves
    through them (inbox, claimed, quarantine, duplicates, processed), then the logs."""
    return (
        workspace.inbox_dir,
        workspace.claimed_dir,
        workspace.quarantine_dir,
        workspace.duplicates_dir,
        workspace.processed_dir,
        workspace.logs_dir,
    )


def kept_places(workspace: Workspace) -> list[tuple[Path, str]]:
    """The folders a backup or a restored workspace must not be put in: the file trees and the
    blob store, each with the words that name it."""
    where = f"the workspace {workspace.root}"
    return [
        *((tree, f"{tree.name}/ of {where}") for tree in file_trees(workspace)),
        (workspace.blob_dir, f"the blob store of {where}"),
    ]


def chain_heads(connection: Connection) -> tuple[OfficeHead, ...]:
    """Every office and the last event of its chain, by office code."""
    return tuple(OfficeHead(*row) for row in connection.execute(_HEADS))


def authorise_backup(runtime: Runtime, actor: Signer) -> None:
    """Refuse unless ``actor`` is an admin or quality coordinator of every office, acting there
    with their own key; the refusal says exactly what to type to put it right."""
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
            _authorise_in(connection, actor, OfficeRef(*row))


def _authorise_in(connection: Connection, actor: Signer, office: OfficeRef) -> None:
    """``actor`` holds a backup role in ``office`` with a key of their own there."""
    own = connection.execute(
        select(KEY_REGISTRATION_TABLE.c.own).where(
            KEY_REGISTRATION_TABLE.c.fingerprint == actor.fingerprint,
            KEY_REGISTRATION_TABLE.c.office_id == office.id,
        )
    ).scalar()
    if own is None:  # the key was never announced there (load_actor would only refuse)
        held = set(
            connection.execute(
                _ROLES_THERE, {"username": actor.username, "office_id": office.id}
            ).scalars()
        )
    else:  # a deactivated user or a revoked key is refused here, with its own hint
        held = set(load_actor(connection, actor, office, own_key_change=True).roles)
    lacks_role = not held & BACKUP_ROLES
    if not lacks_role and own:
        return
    user, code = actor.username, office.code
    rotate = f"qms --office {code} key rotate {user} --as {user}"
    if lacks_role:
        why = f"{user!r} holds no such role there (has: {', '.join(sorted(held)) or 'none'})"
        hint = f"an admin of {code} types: qms --office {code} user grant {user} "
        hint += f"{roles.QUALITY_COORDINATOR} --as ADMIN"
        if not own:
            hint += f"; then {user} chooses their own key there (the grant announces an "
            hint += f"admin-issued one): {rotate}"
    else:
        why = f"{user!r}'s key there was issued by an admin and signs nothing until replaced"
        hint = f"{user} chooses their own key there: {rotate}"
    raise PermissionDenied(
        _(
            "{user} may not take a backup in {code}: a backup copies every "
            "office's records, so it needs an admin or quality coordinator "
            "of every office; {why}"
        ).format(user=repr(user), code=code, why=why),
        hint=hint,
    )


def take_backup(
    runtime: Runtime, *, actor: Signer, destination: Path, progress: Progress | None = None
) -> BackupSummary:
    """Write a backup of the workspace to ``destination`` (a new or empty folder), readable by
    its owner only; nothing of it is left if anything fails."""
    workspace = runtime.workspace
    refuse_inside(
        destination,
        kept_places(workspace),
        hint="keep backups outside the workspace, best on another disk",
    )
    authorise_backup(runtime, actor)
    tell = progress or _quiet
    with staged_folder(destination, "the backup", private=True) as staging:
        per_office = is_per_office(workspace)
        files, notes = _copy_workspace_files(workspace, staging, tell)
        with read_snapshot(runtime.engine) as connection:
            offices = chain_heads(connection)  # the first read fixes the snapshot
            created_at = to_utc_text(utc_now())
            named = _named_blobs(connection)
            tell("database", 0, None)
            if connection.dialect.name == "sqlite":
                database = _copy_sqlite(connection, workspace, staging, tell)
            else:
                database = _dump_postgres(connection, staging, tell)
        workspace_files = len(files)
        files[CONFIG] = _entry(staging / CONFIG, copy_file(workspace.config_path, staging / CONFIG))
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
            inbox_per_office=per_office,
            files=files,
            notes=notes,
        ).write(staging)
    return BackupSummary(
        destination,
        database.backend,
        created_at,
        actor.username,
        offices,
        len(named),
        len(extra),
        workspace_files,
        notes,
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
    """Every blob the snapshot's chain names: each revision's file and each evidence file
    (:func:`~qms_engine.chain.events.named_files`)."""
    named: set[str] = set()
    for action, payload in connection.execute(_NAMING_BLOBS.execution_options(yield_per=1000)):
        value = json.loads(payload)
        if isinstance(value, dict):
            named.update(str(sha) for sha in events.named_files(action, value) if is_sha256(sha))
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
            _(
                "blob {value} (and {value2} more), which the audit trail names, "
                "is missing from the blob store {objects_dir}: no backup was "
                "written"
            ).format(value=missing[0], value2=len(missing) - 1, objects_dir=store.objects_dir),
            hint=_("run `qms audit verify` to see what the workspace lacks"),
        )
    files = {}
    for done, sha in enumerate(present, start=1):
        name = blob_file(sha)
        digest = copy_file(store.path(sha), staging / name)
        if digest != sha:
            raise IntegrityError(
                _(
                    "{path}: its content hashes to {value}…: the blob is damaged, "
                    "and no backup was written"
                ).format(path=store.path(sha), value=digest[:16]),
                hint=_("run `qms audit verify` to see what the workspace lacks"),
            )
        files[name] = _entry(staging / name, digest)
        tell("blobs", done, len(present))
    return files


def _copy_workspace_files(
    workspace: Workspace, staging: Path, tell: Progress
) -> tuple[dict[str, FileEntry], tuple[FileNote, ...]]:
    """Copy every file of :func:`file_trees` as it is now; what could not be, as notes."""
    found = _workspace_files(workspace)
    files: dict[str, FileEntry] = {}
    notes: list[FileNote] = []
    for done, (path, relative) in enumerate(found, start=1):
        tell("files", done, len(found))
        name = workspace_file(relative)
        renamed = os.fsencode(path.relative_to(workspace.root)) != relative.encode()
        if name in files:  # two names whose undecodable bytes differ (or nested trees)
            if renamed:
                notes.append(FileNote(relative, f"{_NOT_UTF8}, which another file has"))
            continue
        try:
            with open_regular(path) as reading:
                digest = copy_from(reading, staging / name)
        except FileNotFoundError:
            notes.append(FileNote(relative, _VANISHED))
            continue
        except NotRegularFile:
            kind = "a link" if path.is_symlink() else "not a regular file"
            notes.append(FileNote(relative, f"{kind}: not copied"))
            continue
        except OSError as exc:
            notes.append(FileNote(relative, f"could not be read ({exc.strerror}): not copied"))
            continue
        files[name] = _entry(staging / name, digest)
        if renamed:
            notes.append(FileNote(relative, f"{_NOT_UTF8}: copied under this name"))
    return files, tuple(notes)


_NOT_UTF8 = "its name is not UTF-8 text, so U+FFFD stands for the undecodable bytes"
_VANISHED = "vanished while being copied (filed, moved or deleted meanwhile): not copied"


def _workspace_files(workspace: Workspace) -> list[tuple[Path, str]]:
    """Every file of :func:`file_trees` (and every link, never followed) with its path in the
    workspace as UTF-8 text; the inbox's layout mark is left out (a restore writes it)."""
    found: list[tuple[Path, str]] = []
    mark = workspace.inbox_dir / LAYOUT_MARK
    for tree in file_trees(workspace):
        if tree.is_symlink() or not tree.is_dir():
            continue
        for folder, subfolders, names in os.walk(tree):
            here = Path(folder)
            subfolders.sort()
            links = [d for d in subfolders if (here / d).is_symlink()]
            for path in (here / name for name in sorted(names) + links):
                if path != mark:
                    relative = os.fsencode(path.relative_to(workspace.root).as_posix())
                    found.append((path, relative.decode("utf-8", "replace")))
    return found
