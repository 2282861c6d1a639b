"""Every kind of audit event, declared in one place; names read as sentences."""

from __future__ import annotations

OFFICE_CREATED = "office.created"
DOCUMENT_TYPE_ADDED = "office.document_type.added"
USER_CREATED = "user.created"
USER_ROLE_GRANTED = "user.role.granted"
USER_ROLE_REVOKED = "user.role.revoked"
USER_DEACTIVATED = "user.deactivated"
DOCUMENT_CREATED = "document.created"
REVISION_CREATED = "document.revision.created"
REVISION_SUPERSEDED = "document.revision.superseded"


def revision_transition(meaning: str) -> str:
    """The event for a workflow transition, named by its meaning: ``document.revision.approved``."""
    return "document.revision." + meaning.replace(" ", "_")
