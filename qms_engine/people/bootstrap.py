"""A new workspace: its schema (by migration), founding office and key, first admin, folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from document_store import BlobStore
from qms_engine.chain.signing import generate_key
from qms_engine.chain.unit_of_work import Actor, OfficeRef
from qms_engine.clock import DEFAULT_TIMEZONE
from qms_engine.errors import ConfigurationError
from qms_engine.people.offices import create_office
from qms_engine.people.users import enroll
from qms_engine.registry.plugin_set import PluginSet
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.database import create_db_engine, upgrade
from qms_engine.storage.workspace import (
    CONFIG_NAME,
    DEFAULT_DATABASE,
    Workspace,
    resolve_database_url,
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
    plugins: PluginSet,
) -> InitResult:
    """Create a workspace: schema (by migration), office and its key, admin, blobs, inbox.

    ``qms.toml`` is written last, so a failed init never leaves a folder that looks like a
    workspace.
    """
    root = root.resolve()
    if (root / CONFIG_NAME).exists():
        raise ConfigurationError(f"{root} is already a workspace ({CONFIG_NAME} exists)")
    spec = plugins.registry.office_type(office_type)
    root.mkdir(parents=True, exist_ok=True)
    url = resolve_database_url(database_url or DEFAULT_DATABASE, root)
    staged = Workspace(root, office_code, url, root / "blobs", root / "inbox")
    engine = create_db_engine(url)
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

            office = create_office(
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
    folders = [staged.inbox_dir / t.inbox_folder for t in spec.document_types if t.inbox_folder]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    workspace = Workspace.write_config(root, office_code, database_url)
    return InitResult(workspace, office, folders)
