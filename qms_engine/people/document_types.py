"""An office's document and register types: a row each, added with a signed event.

Used when an office is founded and on the document write path, when a plugin installed later
adds a type the office did not have yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from qms_engine.chain import events
from qms_engine.chain.authorisation import type_adders
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.registry.office_types import DocumentTypeSpec
from qms_engine.rules import roles
from qms_engine.storage.models import TYPE_TABLE


def register_rules(spec: DocumentTypeSpec) -> dict[str, Any]:
    """The register rules of ``spec`` its ``office.document_type.added`` event records, where
    they differ from the defaults (so types without them record what they always did); the
    verifier holds the type's records to these (a register's ``numbering`` among them: each
    record's number is its serial and period in that form)."""
    rules: dict[str, Any] = {"numbering": spec.numbering} if spec.register_rules else {}
    if spec.serial_period is not None:
        rules["serial_period"] = spec.serial_period
    if spec.day_book is not None:
        rules["day_book"] = {
            "opening_field": spec.day_book.opening_field,
            "closing_field": spec.day_book.closing_field,
        }
    if spec.corrections:
        rules["corrections"] = True
    if spec.required_fields:
        rules["required_fields"] = dict(spec.required_fields)
    return rules


def document_type_id(
    work: UnitOfWork,
    office: OfficeRef,
    spec: DocumentTypeSpec,
    *,
    by: Actor,
    role: str = roles.ADMIN,
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
    payload = {
        "title": spec.title,
        "kind": spec.kind,
        "workflow": spec.workflow,
        "review_period_days": spec.review_period_days,
        "creator_roles": sorted(spec.creator_roles),
        "append_only": spec.append_only,
        **register_rules(spec),
        **({"custody": spec.custody.record()} if spec.custody else {}),
    }
    work.append(
        office,
        by,
        events.DOCUMENT_TYPE_ADDED,
        f"{office.code}/{spec.code}",
        payload,
        role=role,
        allowed_roles=type_adders(payload),
    )
    return int(new_id)
