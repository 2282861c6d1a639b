"""A new workspace: its schema (by migration), founding office and key, first admin, folders."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from document_store import BlobStore
from qms_engine.chain.signing import generate_key
from qms_engine.chain.unit_of_work import Actor, OfficeRef
from qms_engine.clock import DEFAULT_TIMEZONE
from qms_engine.errors import ConfigurationError
from qms_engine.i18n import LANGUAGES, _
from qms_engine.people.offices import create_office
from qms_engine.people.users import enroll
from qms_engine.registry.plugin_set import PluginSet
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.database import create_db_engine, upgrade
from qms_engine.storage.inbox_layout import office_folders, upgrade_layout
from qms_engine.storage.workspace import (
    CONFIG_NAME,
    DEFAULT_DATABASE,
    Workspace,
    resolve_database_url,
    sqlite_path,
)


@dataclass(frozen=True)
class InitResult:
    """What ``qms init`` made."""

    workspace: Workspace
    office: OfficeRef
    inbox_folders: list[Path]


def init_workspace(
    root: Path,
    *,
    office_type: str,
    office_code: str,
    office_name: str,
    admin: str,
    admin_name: str,
    admin_passphrase: str,
    office_passphrase: str,
    timezone: str = DEFAULT_TIMEZONE,
    database_url: str | None = None,
    language: str | None = None,
    plugins: PluginSet,
) -> InitResult:
    """Create a workspace: schema (by migration), office and its key, admin, blobs, inbox.

    ``qms.toml`` is written last, so a failed init never leaves a folder that looks like a
    workspace.
    """
    root = root.resolve()
    if (root / CONFIG_NAME).exists():
        raise ConfigurationError(
            _("{root} is already a workspace ({config_name} exists)").format(
                root=root, config_name=CONFIG_NAME
            )
        )
    if language is not None and language not in LANGUAGES:
        raise ConfigurationError(
            _("unknown language {language}").format(language=repr(language)),
            hint=_("choose one of: {languages}").format(languages=", ".join(LANGUAGES)),
        )
    spec = plugins.registry.office_type(office_type)
    url = resolve_database_url(database_url or DEFAULT_DATABASE, root)
    staged = Workspace(root, office_code, url, root / "blobs", root / "inbox")
    database = sqlite_path(url)
    if database is not None and not database.resolve().is_relative_to(root):
        raise ConfigurationError(
            _("the SQLite database {database} would lie outside the workspace {root}").format(
                database=database, root=root
            ),
            hint=_("keep it inside, e.g. sqlite:///qms.sqlite3 (the default), or use PostgreSQL"),
        )
    if database is not None and database.exists():
        raise ConfigurationError(
            _("{database} already exists: `qms init` makes a new database").format(
                database=database
            ),
            hint=_("choose another folder or --database-url, or remove the old file"),
        )
    # What this init makes, so that a failure removes it again and leaves no half-made
    # workspace (a database, a blob store) behind.
    made = _Made(root)
    try:
        made.folder(root)
        root.mkdir(parents=True, exist_ok=True)
        if database is not None:
            made.folder(database.parent)
            database.parent.mkdir(parents=True, exist_ok=True)
            made.file(database)
        made.folder(staged.blob_dir)
        made.folder(staged.inbox_dir)
        office = _found(
            staged,
            plugins,
            office_type=office_type,
            office_code=office_code,
            office_name=office_name,
            admin=admin,
            admin_name=admin_name,
            admin_passphrase=admin_passphrase,
            office_passphrase=office_passphrase,
            timezone=timezone,
        )
        upgrade_layout(staged)  # an empty inbox: only marked as one folder per office
        folders = office_folders(staged, office_code, spec.inbox_folders)
        workspace = Workspace.write_config(root, office_code, database_url, language)
    except BaseException:
        made.undo()
        raise
    return InitResult(workspace, office, folders)


def _found(
    staged: Workspace,
    plugins: PluginSet,
    *,
    office_type: str,
    office_code: str,
    office_name: str,
    admin: str,
    admin_name: str,
    admin_passphrase: str,
    office_passphrase: str,
    timezone: str,
) -> OfficeRef:
    """Migrate the new database and found the office with its first admin."""
    engine = create_db_engine(staged.database_url, create=True)
    try:
        upgrade(engine)
        runtime = Runtime(staged, engine, BlobStore(staged.blob_dir), plugins)
        admin_key, office_key = generate_key(admin_passphrase), generate_key(office_passphrase)
        with runtime.unit_of_work() as work:

            def founder(office: OfficeRef) -> Actor:
                return enroll(
                    work,
                    office,
                    by=None,
                    username=admin,
                    full_name=admin_name,
                    key=admin_key,
                    roles=[roles.ADMIN],
                )

            return create_office(
                work,
                plugins,
                code=office_code,
                name=office_name,
                office_type=office_type,
                timezone=timezone,
                founder=founder,
                office_key=office_key,
            )
    finally:
        engine.dispose()


class _Made:
    """Folders and files an init is about to create, removed again if it fails."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths: list[Path] = []

    def folder(self, path: Path) -> None:
        """Remember ``path`` (and any missing parents) if it does not exist yet."""
        missing = [p for p in (path, *path.parents) if not p.exists()]
        self.paths.extend(reversed(missing))

    def file(self, path: Path) -> None:
        """Remember a SQLite file about to be made, with its journal and WAL files."""
        self.paths.extend(path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm"))

    def undo(self) -> None:
        """Remove, newest first, what was made."""
        for path in reversed(self.paths):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
