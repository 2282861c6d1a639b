"""Offices and workspaces: creating an office starts its audit chain and its document types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sqlmodel
from sqlalchemy import insert, select
from sqlmodel import Session

from document_store import BlobStore
from qms_engine import events
from qms_engine.audit import OfficeRef, UnitOfWork, genesis_head
from qms_engine.clock import DEFAULT_TIMEZONE, utc_now, zone
from qms_engine.database import create_db_engine, upgrade
from qms_engine.errors import ConfigurationError, RuleViolation
from qms_engine.models import OFFICE_TABLE, TYPE_TABLE, USER_TABLE, Office
from qms_engine.plugins import PluginSet
from qms_engine.registry import DocumentTypeSpec
from qms_engine.runtime import Runtime
from qms_engine.users import ADMIN_ROLE, SYSTEM_USER, create_user
from qms_engine.workspace import CONFIG_NAME, DEFAULT_DATABASE, Workspace, resolve_database_url

_OFFICE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")


def create_office(
    work: UnitOfWork,
    plugins: PluginSet,
    *,
    code: str,
    name: str,
    office_type: str,
    timezone: str = DEFAULT_TIMEZONE,
    actor: str = SYSTEM_USER,
) -> OfficeRef:
    """Insert an office, its chain's genesis, its document types and the events for them."""
    if not _OFFICE_CODE.match(code):
        raise RuleViolation(
            f"office code {code!r} is not allowed: use 2–32 capitals, digits and '-', e.g. PS-KOT39"
        )
    if not name.strip():
        raise RuleViolation("the office name is empty")
    spec = plugins.registry.office_type(office_type)
    zone(timezone)
    connection = work.connection
    if connection.execute(select(OFFICE_TABLE.c.id).where(OFFICE_TABLE.c.code == code)).first():
        raise RuleViolation(f"office {code!r} already exists")
    office_id = connection.execute(
        insert(OFFICE_TABLE).returning(OFFICE_TABLE.c.id),
        {
            "code": code,
            "name": name,
            "office_type": office_type,
            "timezone": timezone,
            "created_at": utc_now(),
        },
    ).scalar_one()
    genesis_head(connection, office_id)
    office = OfficeRef(office_id, code, name, office_type, timezone)
    work.append(
        office,
        actor,
        events.OFFICE_CREATED,
        code,
        {"name": name, "office_type": office_type, "timezone": timezone},
    )
    for doc_type in spec.document_types:
        document_type_id(work, office, doc_type, actor=actor)
    return office


def document_type_id(
    work: UnitOfWork, office: OfficeRef, spec: DocumentTypeSpec, *, actor: str = SYSTEM_USER
) -> int:
    """The office's row for a document type, added (with its event) if a plugin added it later."""
    found = work.connection.execute(
        select(TYPE_TABLE.c.id).where(
            TYPE_TABLE.c.office_id == office.id, TYPE_TABLE.c.code == spec.code
        )
    ).scalar()
    if found is not None:
        return int(found)
    new_id = work.connection.execute(
        insert(TYPE_TABLE).returning(TYPE_TABLE.c.id),
        {
            "office_id": office.id,
            "code": spec.code,
            "title": spec.title,
            "kind": spec.kind,
            "workflow": spec.workflow,
            "review_period_days": spec.review_period_days,
        },
    ).scalar_one()
    work.append(
        office,
        actor,
        events.DOCUMENT_TYPE_ADDED,
        f"{office.code}/{spec.code}",
        {"title": spec.title, "kind": spec.kind, "workflow": spec.workflow},
    )
    return int(new_id)


def ensure_system_user(work: UnitOfWork, office: OfficeRef) -> None:
    """The service actor that records what the engine itself does (created once per deployment)."""
    found = work.connection.execute(
        select(USER_TABLE.c.id).where(USER_TABLE.c.username == SYSTEM_USER)
    ).first()
    if found is None:
        create_user(
            work,
            office,
            actor=SYSTEM_USER,
            username=SYSTEM_USER,
            full_name="qms-engine (system)",
            roles=(),
            kind="service",
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
    timezone: str = DEFAULT_TIMEZONE,
    database_url: str | None = None,
    plugins: PluginSet | None = None,
) -> InitResult:
    """Create a workspace: schema (by migration), office, admin, blob store and inbox folders.

    ``qms.toml`` is written last, so a failed init never leaves a folder that looks like a
    workspace.
    """
    root = root.resolve()
    if (root / CONFIG_NAME).exists():
        raise ConfigurationError(f"{root} is already a workspace ({CONFIG_NAME} exists)")
    plugins = plugins or PluginSet.load()
    spec = plugins.registry.office_type(office_type)
    root.mkdir(parents=True, exist_ok=True)
    url = resolve_database_url(database_url or DEFAULT_DATABASE, root)
    staged = Workspace(root, office_code, url, root / "blobs", root / "inbox")
    engine = create_db_engine(url)
    try:
        upgrade(engine)
        runtime = Runtime(staged, engine, BlobStore(staged.blob_dir), plugins)
        with runtime.unit_of_work() as work:
            system_office = create_office(
                work,
                plugins,
                code=office_code,
                name=office_name,
                office_type=office_type,
                timezone=timezone,
            )
            ensure_system_user(work, system_office)
            create_user(
                work,
                system_office,
                actor=SYSTEM_USER,
                username=admin,
                full_name=admin_name,
                roles=[ADMIN_ROLE],
            )
    finally:
        engine.dispose()
    folders = [staged.inbox_dir / t.inbox_folder for t in spec.document_types if t.inbox_folder]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    workspace = Workspace.write_config(root, office_code, database_url)
    return InitResult(workspace, system_office, folders)


def list_offices(runtime: Runtime) -> list[Office]:
    """Every office in the deployment, by code."""
    with Session(runtime.engine) as session:
        return list(session.exec(sqlmodel.select(Office).order_by(Office.code)).all())
