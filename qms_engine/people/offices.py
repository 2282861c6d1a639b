"""Offices: creating one starts its audit chain, registers its key and its document types."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import sqlmodel
from sqlalchemy import insert, select
from sqlmodel import Session

from qms_engine.chain import events
from qms_engine.chain.signing import NewKey, Signer, generate_key
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork, genesis_head
from qms_engine.clock import DEFAULT_TIMEZONE, utc_now, zone
from qms_engine.errors import InvalidInput, RuleViolation
from qms_engine.people.document_types import document_type_id
from qms_engine.people.keys import register_key
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.people.users import grant
from qms_engine.people.workflow_registrations import register_workflow
from qms_engine.registry.plugin_set import PluginSet
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import OFFICE_TABLE, Office

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
        raise InvalidInput(
            f"office code {code!r} is not allowed: use 2–32 capitals, digits and '-', e.g. PS-KOT39"
        )
    if not name.strip():
        raise InvalidInput("the office name is empty")
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
        role=roles.ADMIN,
    )
    register_key(work, office, by=admin, owner=code, user_id=None, key=office_key, purpose="office")
    for name in sorted({doc_type.workflow for doc_type in spec.document_types}):
        register_workflow(
            work, office, plugins.workflows[name], plugins.workflow_digest(name), by=admin
        )
    for doc_type in spec.document_types:
        document_type_id(work, office, doc_type, by=admin)
    return office


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
        require_role(admin, {roles.ADMIN}, from_office, "add offices")

        def founder(office: OfficeRef) -> Actor:
            grant(
                work,
                office,
                by=admin,
                user_id=admin.id,
                username=admin.username,
                role=roles.ADMIN,
                founding=True,
            )
            return replace(admin, roles=frozenset({roles.ADMIN}))

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


def list_offices(runtime: Runtime) -> list[Office]:
    """Every office in the deployment, by code."""
    with Session(runtime.engine) as session:
        return list(session.exec(sqlmodel.select(Office).order_by(Office.code)).all())
