"""The built-in roles, and the pseudo-roles the engine signs in for itself.

Named once here: the write path and the verifier both use these names, so a rule the engine
enforces is the same rule ``qms audit verify`` checks.
"""

from __future__ import annotations

from collections.abc import Mapping

ADMIN = "admin"
AUTHOR = "author"
REVIEWER = "reviewer"
APPROVER = "approver"
QUALITY_COORDINATOR = "quality_coordinator"
CLERK = "clerk"
AUDITOR = "auditor"

KEY_HOLDER = "key holder"
"""Not a granted role: the role a user signs in when registering or retiring their own key."""

BUILTIN_ROLES: Mapping[str, str] = {
    ADMIN: "manages users, roles and offices",
    AUTHOR: "drafts documents and revisions",
    REVIEWER: "reviews drafts and may reject them",
    APPROVER: "approves revisions and makes them effective (e.g. the SHO)",
    QUALITY_COORDINATOR: "keeps the master list; makes documents effective, withdraws, archives",
    CLERK: "files register records",
    AUDITOR: "reads everything and verifies the audit trail",
}
