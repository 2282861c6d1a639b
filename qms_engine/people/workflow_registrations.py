"""The workflow definitions in force in an office: registered, signed, in its own chain.

The verifier holds every event to the definition its chain registered last, never to the files
installed on the machine that verifies.  So the engine registers each definition an office uses
when the office is founded, an admin registers a changed one (``qms wf register``), and the
write path refuses to run a workflow whose installed definition is not the one registered:
what the engine enforces and what the verifier checks can never drift apart.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, bindparam, delete, insert, select

from qms_engine.chain import events
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.errors import NotFound, RuleViolation
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.rules import roles
from qms_engine.rules.workflows import WorkflowDefinition
from qms_engine.runtime import Runtime
from qms_engine.storage.database import Prepared
from qms_engine.storage.models import WORKFLOW_TABLE

_REGISTERED = Prepared(
    select(WORKFLOW_TABLE.c.sha256).where(
        WORKFLOW_TABLE.c.office_id == bindparam("office_id"),
        WORKFLOW_TABLE.c.name == bindparam("name"),
    )
)


def registered_digest(connection: Connection, office: OfficeRef, name: str) -> str | None:
    """The SHA-256 of the definition of ``name`` in force in ``office`` (None: never registered)."""
    rows = _REGISTERED.rows(connection, office_id=office.id, name=name)
    return str(rows[0][0]) if rows else None


def register_workflow(
    work: UnitOfWork, office: OfficeRef, definition: WorkflowDefinition, digest: str, *, by: Actor
) -> bool:
    """Record ``definition`` (whose canonical SHA-256 is ``digest``) in the office's chain,
    signed by an admin, unless it is already the one in force; returns whether it was new."""
    work.lock(office)
    if registered_digest(work.connection, office, definition.name) == digest:
        return False
    record = work.append(
        office,
        by,
        events.WORKFLOW_REGISTERED,
        definition.name,
        {"definition": definition.record(), "sha256": digest},
        role=roles.ADMIN,
    )
    work.connection.execute(
        delete(WORKFLOW_TABLE).where(
            WORKFLOW_TABLE.c.office_id == office.id, WORKFLOW_TABLE.c.name == definition.name
        )
    )
    work.connection.execute(
        insert(WORKFLOW_TABLE),
        {
            "office_id": office.id,
            "name": definition.name,
            "sha256": digest,
            "event_seq": record.seq,
        },
    )
    return True


def require_registered(connection: Connection, office: OfficeRef, name: str, digest: str) -> None:
    """Refuse to run workflow ``name`` in ``office`` unless the installed definition (``digest``)
    is the one its chain registered."""
    registered = registered_digest(connection, office, name)
    if registered == digest:
        return
    why = (
        "is not registered in its audit trail"
        if registered is None
        else "differs from the one registered in its audit trail (the installed workflow "
        "files or a plugin changed)"
    )
    raise RuleViolation(
        _("workflow {name} {why} for office {code}").format(
            name=repr(name), why=why, code=office.code
        ),
        hint=_("an admin reviews and registers it: qms wf register {name} --as ADMIN").format(
            name=name
        ),
    )


def office_workflows(runtime: Runtime, office: OfficeRef) -> set[str]:
    """The workflows ``office`` runs: its document types' and its nonconformities'."""
    office_type = runtime.plugins.registry.office_type(office.office_type)
    return {spec.workflow for spec in office_type.document_types} | {office_type.nc_workflow}


def register_workflows(
    runtime: Runtime, office: OfficeRef, *, actor: Signer, names: Collection[str] = ()
) -> list[str]:
    """An admin registers the installed definitions of ``names`` (default: every workflow the
    office uses: its document types' and its nonconformities') where they differ from the ones
    in force; returns those that were registered.  The change is then on the record, signed,
    for every auditor to see."""
    plugins = runtime.plugins
    used = office_workflows(runtime, office)
    wanted = sorted(names or used)
    unknown = [name for name in wanted if name not in plugins.workflows]
    if unknown:
        raise NotFound(
            _("no installed workflow {items}").format(items=", ".join(map(repr, unknown))),
            hint=_("installed: {workflows}").format(workflows=", ".join(sorted(plugins.workflows))),
        )
    with runtime.unit_of_work() as work:
        work.lock(office)
        admin = load_actor(work.connection, actor, office)
        require_role(admin, {roles.ADMIN}, office, _("register workflows"))
        return [
            name
            for name in wanted
            if register_workflow(
                work, office, plugins.workflows[name], plugins.workflow_digest(name), by=admin
            )
        ]
