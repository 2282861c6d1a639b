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
from qms_engine.i18n import _
from qms_engine.people.document_types import document_type_id
from qms_engine.people.keys import register_key
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.people.users import grant
from qms_engine.people.workflow_registrations import register_workflow
from qms_engine.registry.charter import declared_events
from qms_engine.registry.plugin_set import PluginSet
from qms_engine.rules import roles
from qms_engine.rules.text import is_blank
from qms_engine.runtime import Runtime
from qms_engine.storage.inbox_layout import office_folders, upgrade_layout
from qms_engine.storage.models import OFFICE_TABLE, ROLE_TABLE, USER_TABLE, Office

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
            _(
                "office code {code} is not allowed: use 2–32 capitals, digits "
                "and '-', e.g. PS-KOT39"
            ).format(code=repr(code))
        )
    if is_blank(name):
        raise InvalidInput(_("the office name is empty"))
    spec = plugins.registry.office_type(office_type)
    zone(timezone)
    connection = work.connection
    if connection.execute(select(OFFICE_TABLE.c.id).where(OFFICE_TABLE.c.code == code)).first():
        raise RuleViolation(_("office {code} already exists").format(code=repr(code)))
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
    for name in sorted(
        {doc_type.workflow for doc_type in spec.document_types} | {spec.nc_workflow}
    ):
        register_workflow(
            work, office, plugins.workflows[name], plugins.workflow_digest(name), by=admin
        )
    for doc_type in spec.document_types:
        document_type_id(work, office, doc_type, by=admin)
    # issue 13: the citizen charter and the retention schedule the office type declares
    for kind, payload in declared_events(spec.desks, spec.services, spec.record_classes):
        work.append(office, admin, kind, code, payload, role=roles.ADMIN)
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
    say: Callable[[str], None] | None = None,
    also: Callable[[UnitOfWork, OfficeRef], object] | None = None,
) -> OfficeRef:
    """An admin of an existing office adds another office to the deployment (e.g. a station
    under an SP office); they become its first admin and sign its founding events.

    The new office gets its own inbox folders (``inbox/<CODE>/<REGISTER>/``), and the inbox
    service users of ``from_office`` are enrolled there with the same roles, so ``qms watch``
    can serve it once each has chosen its own key there (the key an admin announced for them
    signs nothing else) and the watcher is restarted.  ``say`` hears, as lines for the person
    at the terminal, what was moved, made and enrolled.  ``also`` is called in the same
    transaction once the office exists (e.g. to make it a district's station): if it fails,
    no office is added.
    """
    tell = say or (lambda _line: None)
    for line in upgrade_layout(runtime.workspace):  # before a second office's folder appears
        tell(line)
    office_key = generate_key(office_passphrase)
    with runtime.unit_of_work() as work:
        work.lock(from_office)
        admin = load_actor(work.connection, actor, from_office)
        require_role(admin, {roles.ADMIN}, from_office, _("add offices"))
        its_admin = replace(admin, roles=frozenset({roles.ADMIN}))

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
            return its_admin

        office = create_office(
            work,
            runtime.plugins,
            code=code,
            name=name,
            office_type=office_type,
            timezone=timezone,
            founder=founder,
            office_key=office_key,
        )
        services = _enrol_services(work, from_office, office, its_admin)
        if also is not None:
            also(work, office)
    spec = runtime.plugins.registry.office_type(office_type)
    made = office_folders(runtime.workspace, code, spec.inbox_folders)
    if made:
        tell(
            _("inbox folders: inbox/{code}/ ({items})").format(
                code=code, items=", ".join(p.name for p in made)
            )
        )
    for username, held in services.items():
        tell(
            _(
                "inbox service {username} enrolled in {code} as {held}; to file "
                "here it chooses its own key (qms key rotate {username} --as "
                "{username}), then `qms watch` is restarted"
            ).format(username=username, code=code, held=", ".join(held))
        )
    return office


_SERVICES = (
    select(USER_TABLE.c.id, USER_TABLE.c.username, ROLE_TABLE.c.role)
    .join(ROLE_TABLE, ROLE_TABLE.c.user_id == USER_TABLE.c.id)
    .where(USER_TABLE.c.kind == "service", USER_TABLE.c.active.is_(True))
    .order_by(USER_TABLE.c.username, ROLE_TABLE.c.role)
)


def _enrol_services(
    work: UnitOfWork, from_office: OfficeRef, office: OfficeRef, admin: Actor
) -> dict[str, list[str]]:
    """Give each inbox service of ``from_office`` its roles there in the new ``office`` too
    (which registers its key in the new chain); the roles given, by user name."""
    given: dict[str, list[str]] = {}
    for row in work.connection.execute(_SERVICES.where(ROLE_TABLE.c.office_id == from_office.id)):
        grant(work, office, by=admin, user_id=row.id, username=row.username, role=row.role)
        given.setdefault(row.username, []).append(row.role)
    return given


def list_offices(runtime: Runtime) -> list[Office]:
    """Every office in the deployment, by code."""
    with Session(runtime.engine) as session:
        return list(session.exec(sqlmodel.select(Office).order_by(Office.code)).all())
