"""Offices and workspaces: creating an office starts its audit chain and its document types."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import sqlmodel
from sqlalchemy import insert, select
from sqlmodel import Session

from document_store import BlobStore
from qms_engine import events
from qms_engine.audit import Actor, OfficeRef, UnitOfWork, genesis_head
from qms_engine.clock import DEFAULT_TIMEZONE, utc_now, zone
from qms_engine.database import create_db_engine, upgrade
from qms_engine.errors import ConfigurationError, RuleViolation
from qms_engine.keys import register_key
from qms_engine.models import OFFICE_TABLE, TYPE_TABLE, Office
from qms_engine.permissions import ADMIN_ROLE, load_actor, require_role
from qms_engine.plugins import PluginSet
from qms_engine.registry import DocumentTypeSpec
from qms_engine.runtime import Runtime
from qms_engine.signing import NewKey, Signer, generate_key
from qms_engine.users import enroll, grant
from qms_engine.workspace import CONFIG_NAME, DEFAULT_DATABASE, Workspace, resolve_database_url

_OFFICE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")


def create_office(
    work: UnitOfWork,
    plugins: PluginSet,
    *,
    code: str,
    name: str,
    office_type: str,
    timezone: str,
    founder: Callable[[OfficeRef], Actor],
    office_key: NewKey,
) -> OfficeRef:
    """Insert an office with its chain, key and document types, all signed by its founder.

    ``founder`` is called once the office exists and returns the admin who signs its founding
    events (at ``qms init`` that admin is enrolled there and then, signing their own enrolment).
    """
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
    admin = founder(office)
    work.append(
        office,
        admin,
        events.OFFICE_CREATED,
        code,
        {"name": name, "office_type": office_type, "timezone": timezone},
        role=ADMIN_ROLE,
    )
    register_key(work, office, by=admin, owner=code, user_id=None, key=office_key, purpose="office")
    for doc_type in spec.document_types:
        document_type_id(work, office, doc_type, by=admin)
    return office


def document_type_id(
    work: UnitOfWork,
    office: OfficeRef,
    spec: DocumentTypeSpec,
    *,
    by: Actor,
    role: str = ADMIN_ROLE,
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
        by,
        events.DOCUMENT_TYPE_ADDED,
        f"{office.code}/{spec.code}",
        {"title": spec.title, "kind": spec.kind, "workflow": spec.workflow},
        role=role,
    )
    return int(new_id)


def add_office(
    runtime: Runtime,
    *,
    actor: Signer,
    from_office: OfficeRef,
    code: str,
    name: str,
    office_type: str,
    office_passphrase: str,
    timezone: str = DEFAULT_TIMEZONE,
) -> OfficeRef:
    """An admin of an existing office adds another office to the deployment (e.g. a station
    under an SP office); they become its first admin and sign its founding events."""
    office_key = generate_key(office_passphrase)
    with runtime.unit_of_work() as work:
        work.lock(from_office)
        admin = load_actor(work.connection, actor, from_office)
        require_role(admin, {ADMIN_ROLE}, from_office, "add offices")

        def founder(office: OfficeRef) -> Actor:
            grant(
                work, office, by=admin, user_id=admin.id, username=admin.username, role=ADMIN_ROLE
            )
            return replace(admin, roles=frozenset({ADMIN_ROLE}))

        return create_office(
            work,
            runtime.plugins,
            code=code,
            name=name,
            office_type=office_type,
            timezone=timezone,
            founder=founder,
            office_key=office_key,
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
    plugins: PluginSet | None = None,
) -> InitResult:
    """Create a workspace: schema (by migration), office and its key, admin, blobs, inbox.

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
                    roles=[ADMIN_ROLE],
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


def list_offices(runtime: Runtime) -> list[Office]:
    """Every office in the deployment, by code."""
    with Session(runtime.engine) as session:
        return list(session.exec(sqlmodel.select(Office).order_by(Office.code)).all())
