"""Recording the citizen charter and the retention schedule in an office's chain.

An office records both when it is created (:func:`qms_engine.people.offices.create_office`).
When the plugin's declaration changes (a service's time limit, a new record class), or for an
office created before its type declared them, an admin records them again: from then on the
engine and ``qms audit verify`` hold applications and weeding to the new one; what was done
before stays held to the one in force then.
"""

from __future__ import annotations

from qms_engine.chain.service_rules import recorded
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.errors import RuleViolation
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.registry.charter import declared_events
from qms_engine.rules.roles import ADMIN
from qms_engine.runtime import Runtime


def record_declarations(runtime: Runtime, *, office: OfficeRef, actor: Signer) -> list[str]:
    """An admin records the office type's charter and retention schedule where they differ
    from what the chain recorded last; the actions recorded (none: both are current)."""
    spec = runtime.plugins.registry.office_type(office.office_type)
    declared = declared_events(spec.desks, spec.services, spec.record_classes)
    if not declared:
        raise RuleViolation(
            _("office type {type} declares no citizen charter or retention schedule").format(
                type=office.office_type
            )
        )
    done = []
    with runtime.unit_of_work() as work:
        work.lock(office)
        admin = load_actor(work.connection, actor, office)
        require_role(admin, {ADMIN}, office, _("record the citizen charter"))
        for kind, payload in declared:
            if recorded(work.connection, office.id, kind) != payload:
                work.append(office, admin, kind, office.code, payload, role=ADMIN)
                done.append(kind.action)
    return done
