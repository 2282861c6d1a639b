"""``qms restore``: a workspace rebuilt from a backup, which must verify before it is handed over.

Every file's hash is checked against the manifest before anything is written.  The workspace
is built in a hidden folder beside its destination: ``qms.toml`` (its ``database_url`` pointing
at the restored database), the SQLite file or, for PostgreSQL, the archive restored by
``pg_restore`` into an empty database the user names, and the blobs.  Then the chain heads must
be those the manifest recorded; the inbox is laid out one folder per office, as
:mod:`qms_engine.storage.inbox_layout` makes it, for the offices of the restored database (not
from folders the backup saw: a stray one stays gone); the workspace's files (inbox,
quarantine, duplicates, processed, logs) go back where they were; and every office must pass
the same verification as ``qms audit verify``.  Only then is the folder renamed into place; if
anything fails, the folder is removed and the PostgreSQL database emptied again.  No actor is
needed: the verification, not a person, vouches for what is restored.

The destination must be new or empty, outside the backup, and outside the inbox, its folders
and the blob store of any workspace around it.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from document_store import BlobStore
from qms_engine.audit.verify import AuditResult, verify_office
from qms_engine.backup.folders import (
    Progress,
    check_destination,
    copy_file,
    refuse_inside,
    staged_folder,
)
from qms_engine.backup.manifest import (
    CONFIG,
    MANIFEST,
    FileNote,
    Manifest,
    blob_file,
    workspace_file,
)
from qms_engine.backup.postgres import (
    empty_database,
    find_tool,
    require_empty,
    run_tool,
    server_version,
)
from qms_engine.backup.take import chain_heads, file_trees, kept_places
from qms_engine.errors import ConfigurationError, IntegrityError, InvalidInput, QmsError
from qms_engine.i18n import _
from qms_engine.registry.plugin_set import PluginSet
from qms_engine.runtime import Runtime
from qms_engine.storage.database import create_db_engine, read_snapshot
from qms_engine.storage.inbox_layout import office_folders, upgrade_layout
from qms_engine.storage.models import OFFICE_TABLE
from qms_engine.storage.workspace import (
    CONFIG_NAME,
    Workspace,
    resolve_database_url,
    sqlite_path,
)

_URL_LINE = re.compile(r"^[ \t]*database_url[ \t]*=.*$", re.MULTILINE)
_WORKSPACE_TABLE = re.compile(r"^[ \t]*\[workspace\][ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class RestoreSummary:
    """What was restored, and the verification of every office."""

    path: Path
    backend: str
    database: str
    """The restored database (a SQLite path, or a URL shown without its password)."""
    created_at: str
    """When the backup's snapshot was taken (UTC)."""
    timezone: str
    """The time zone of the workspace's own office, to show times in."""
    blobs: int
    workspace_files: int
    """Files put back in the inbox and its folders (quarantine, duplicates, processed …)."""
    notes: tuple[FileNote, ...]
    """Workspace files the backup could not copy as they were, each with why."""
    moved: tuple[str, ...]
    """A shared inbox backed up before it was moved to one folder per office, moved now."""
    verification: tuple[AuditResult, ...]


@dataclass(frozen=True)
class _Rebuilt:
    """What the rebuilt workspace holds besides the database, and its verification."""

    timezone: str
    moved: tuple[str, ...]
    verification: tuple[AuditResult, ...]


def restore_backup(
    source: Path,
    destination: Path,
    *,
    plugins: PluginSet,
    database_url: str | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> RestoreSummary:
    """Rebuild the workspace backed up in ``source`` at ``destination`` (new or empty); a
    PostgreSQL backup goes into the empty database at ``database_url``."""
    tell = progress or _quiet
    manifest = Manifest.read(source)
    engine = _target(manifest, database_url)
    try:
        check_destination(destination, "the restored workspace")
        refuse_inside(
            destination,
            [(source, f"the backup it restores ({source})"), *_live_places(destination)],
            hint="give a new folder beside the others, e.g. ../thana-restored",
        )
        manifest.check_files(source, tell)
        tool = None
        if engine is not None:
            require_empty(engine)
            with engine.connect() as connection:
                tool = find_tool("pg_restore", server_version(connection)[0])
        with staged_folder(destination, "the restored workspace") as staging:
            workspace = _lay_out(source, staging, manifest, database_url, tell)
            try:
                if engine is not None and tool is not None:
                    tell("database", 0, None)
                    run_tool(
                        tool,
                        engine.url.render_as_string(hide_password=False),
                        "--no-owner",
                        "--no-privileges",
                        "--exit-on-error",
                        "--single-transaction",
                        str(source / manifest.database.file),
                    )
                    tell("database", 1, 1)
                rebuilt = _rebuild(source, workspace, plugins, manifest, jobs, tell)
            except BaseException:
                if engine is not None:
                    empty_database(engine)
                raise
    finally:
        if engine is not None:
            engine.dispose()
    shown = engine.url.render_as_string(hide_password=True) if engine else None
    return RestoreSummary(
        destination,
        manifest.database.backend,
        shown or str(destination / str(manifest.database.path)),
        manifest.created_at,
        rebuilt.timezone,
        len(manifest.named_blobs) + len(manifest.extra_blobs),
        len(manifest.workspace_files()),
        manifest.notes,
        rebuilt.moved,
        rebuilt.verification,
    )


def _live_places(destination: Path) -> list[tuple[Path, str]]:
    """The inbox, its folders and the blob store of every workspace around ``destination``."""
    places = []
    for folder in Path(os.path.abspath(destination)).parents:
        if (folder / CONFIG_NAME).is_file():
            try:
                places += kept_places(Workspace.load(folder))
            except ConfigurationError:  # where its folders are cannot be told: none of it
                places.append((folder, f"the workspace {folder}, whose qms.toml is unreadable"))
    return places


def _quiet(_stage: str, _done: int, _total: int | None) -> None:
    """No progress shown."""


def _target(manifest: Manifest, database_url: str | None) -> Engine | None:
    """The PostgreSQL database to restore into (None for SQLite), checked against the backup."""
    if manifest.database.backend == "sqlite":
        if database_url:
            raise InvalidInput(
                _(
                    "this backup holds a SQLite database, which is restored inside "
                    "the workspace: --database-url is for PostgreSQL backups"
                ),
                hint=_("leave out --database-url"),
            )
        return None
    if not database_url:
        raise InvalidInput(
            _(
                "this backup holds a PostgreSQL database: give --database-url, "
                "the URL of an empty database to restore it into"
            ),
            hint=_(
                "createdb qms_restored, then: qms restore DIR PATH "
                "--database-url postgresql+psycopg://USER@HOST/qms_restored"
            ),
        )
    try:
        backend = make_url(database_url).get_backend_name()
    except ArgumentError:
        backend = None
    if backend != "postgresql":
        raise InvalidInput(
            _("--database-url names no PostgreSQL database, and this backup holds one"),
            hint=_("give postgresql+psycopg://USER@HOST/DATABASE of an empty database"),
        )
    engine = create_db_engine(database_url)
    return engine


def _lay_out(
    source: Path, staging: Path, manifest: Manifest, database_url: str | None, tell: Progress
) -> Workspace:
    """``qms.toml``, a SQLite database and the blobs, in ``staging``."""
    url = database_url or f"sqlite:///{manifest.database.path}"
    config = (source / CONFIG).read_text(encoding="utf-8")
    (staging / CONFIG).write_text(_with_database_url(config, url, source / CONFIG), "utf-8")
    # The URL written, not $QMS_DATABASE_URL: the restored database is the one to verify.
    workspace = replace(Workspace.load(staging), database_url=resolve_database_url(url, staging))
    if database_url is None:
        name = manifest.database.file
        target = staging / str(manifest.database.path)
        if copy_file(source / name, target) != manifest.files[name].sha256:
            raise IntegrityError(
                _("{value}: changed while it was being restored").format(value=source / name)
            )
    store = BlobStore(workspace.blob_dir)
    blobs = sorted(manifest.named_blobs + manifest.extra_blobs)
    for done, sha in enumerate(blobs, start=1):
        if store.put_file(source / blob_file(sha)).sha256 != sha:
            raise IntegrityError(
                _("{value}: changed while it was being restored").format(
                    value=source / blob_file(sha)
                )
            )
        tell("blobs", done, len(blobs))
    return workspace


def _restore_files(runtime: Runtime, source: Path, manifest: Manifest, tell: Progress) -> list[str]:
    """The inbox, one folder per office, and the workspace's files where they were; returns
    what was moved if the backed-up inbox was still shared (as its next inbox command would)."""
    workspace = runtime.workspace
    if manifest.inbox_per_office:
        upgrade_layout(workspace)  # the empty inbox: only marked, as the backed-up one was
    trees = file_trees(workspace)
    database = sqlite_path(workspace.database_url)
    files = sorted(manifest.workspace_files().items())
    for done, (relative, entry) in enumerate(files, start=1):
        target = workspace.root / relative
        inside = any(target.is_relative_to(tree) for tree in trees) and target != database
        if not inside or os.path.lexists(target):  # or where the layout put its own file
            raise IntegrityError(
                _(
                    "{value}: {workspace_file} cannot be restored to {relative}: the "
                    "manifest is not one `qms backup` wrote"
                ).format(
                    value=source / MANIFEST,
                    workspace_file=workspace_file(relative),
                    relative=relative,
                ),
                hint=_("restore from another copy of the backup"),
            )
        if copy_file(source / workspace_file(relative), target) != entry.sha256:
            raise IntegrityError(
                _("{value}: changed while restored").format(value=source / workspace_file(relative))
            )
        tell("files", done, len(files))
    moved = upgrade_layout(workspace)  # nothing to do once marked
    with runtime.engine.connect() as connection:
        offices = connection.execute(
            select(OFFICE_TABLE.c.code, OFFICE_TABLE.c.office_type).order_by(OFFICE_TABLE.c.code)
        ).all()
    for code, office_type in offices:
        try:
            spec = runtime.plugins.registry.office_type(office_type)
        except QmsError:  # its plugin is not installed: the inbox makes them once it is
            continue
        office_folders(workspace, code, spec.inbox_folders)
    return moved


def _with_database_url(config: str, url: str, where: Path) -> str:
    """``config`` (the text of a qms.toml) with ``workspace.database_url`` set to ``url``;
    comments and everything else are kept."""
    line = f"database_url = {json.dumps(url)}"
    text, found = _URL_LINE.subn(lambda _match: line, config, count=1)
    if not found:
        text = _WORKSPACE_TABLE.sub(lambda match: f"{match.group(0)}\n{line}", config, count=1)
    try:
        table = tomllib.loads(text).get("workspace")
    except tomllib.TOMLDecodeError:
        table = None
    if not isinstance(table, dict) or table.get("database_url") != url:
        raise ConfigurationError(
            _("{where}: cannot point its workspace.database_url at the restored database").format(
                where=where
            ),
            hint=_("the backup's qms.toml is laid out unusually; restore it by hand"),
        )
    return text


def _rebuild(
    source: Path,
    workspace: Workspace,
    plugins: PluginSet,
    manifest: Manifest,
    jobs: int,
    tell: Progress,
) -> _Rebuilt:
    """The chain heads the manifest recorded, the workspace's files laid out again, and every
    office verified as by `qms audit verify`."""
    try:
        runtime = Runtime.open(workspace, plugins)
    except ConfigurationError as exc:
        raise ConfigurationError(
            _(
                "{exc}; the backup was taken by qms-engine {engine_version} "
                "(schema {schema}); nothing was restored"
            ).format(
                exc=exc, engine_version=manifest.engine_version, schema=manifest.database.schema
            ),
            hint=_(
                "restore it with qms-engine {engine_version}, then upgrade the "
                "restored workspace with `qms db upgrade`"
            ).format(engine_version=manifest.engine_version),
        ) from exc
    try:
        with read_snapshot(runtime.engine) as connection:
            heads = chain_heads(connection)
        if heads != manifest.offices:
            raise IntegrityError(
                _(
                    "the restored database's offices and chain heads are not those "
                    "the manifest recorded: the database file does not belong to "
                    "this backup; nothing was restored"
                ),
                hint=_("restore from another copy of the backup"),
            )
        moved = _restore_files(runtime, source, manifest, tell)
        results = tuple(_verify_office(runtime, head.code, jobs, tell) for head in manifest.offices)
        timezone = runtime.office().timezone
    finally:
        runtime.close()
    failed = [result for result in results if not result.ok]
    if failed:
        first = "; ".join(f"{r.office}: {r.problems[0]}" for r in failed)
        raise IntegrityError(
            _("the restored workspace does not verify, so nothing was restored: {first}").format(
                first=first
            ),
            hint=_(
                "the workspace did not verify when the backup was taken (`qms "
                "audit verify` there says why); restore an earlier backup"
            ),
        )
    return _Rebuilt(timezone, tuple(moved), results)


def _verify_office(runtime: Runtime, code: str, jobs: int, tell: Progress) -> AuditResult:
    stage, done, total = f"verifying {code}", 0, None

    def head(seq: int) -> None:
        nonlocal total
        total = seq
        tell(stage, 0, total)

    def advance(count: int) -> None:
        nonlocal done
        done += count
        tell(stage, done, total)

    return verify_office(runtime, runtime.office(code), jobs=jobs, progress=advance, on_head=head)
