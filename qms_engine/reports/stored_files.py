"""Records an auditor cannot rely on (ISO 9001 7.5.2, 7.5.3): revisions whose stored file is
gone or no longer hashes to the SHA-256 the chain signed, and drafts the inbox filed that their
named author has not yet signed for."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

from sqlalchemy import ColumnElement, Connection, and_, false, or_, select

from qms_engine.audit.bundle import is_sha256
from qms_engine.backup.manifest import blob_file
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import as_utc, zone
from qms_engine.documents.revisions import awaits_adoption, named_author
from qms_engine.i18n import N_, _
from qms_engine.reports.findings import Finding
from qms_engine.rules.workflows import WorkflowDefinition
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    REVISION_TABLE,
    STATE_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)

_MISSING = N_("the file of {number} rev {revno} is gone from the blob store")
_DAMAGED = N_("the file of {number} rev {revno} no longer hashes to its SHA-256")


def unverified_files(
    runtime: Runtime, connection: Connection, office: OfficeRef
) -> Iterable[Finding]:
    """Each revision of the office whose file is missing from the blob store, or whose bytes
    no longer hash to its SHA-256 (each stored file hashed once, however many revisions share
    it); the command puts the file back from a backup (``qms backup`` keeps it there)."""
    rows = connection.execute(
        select(DOCUMENT_TABLE.c.number, REVISION_TABLE.c.revno, REVISION_TABLE.c.sha256)
        .join(REVISION_TABLE, REVISION_TABLE.c.document_id == DOCUMENT_TABLE.c.id)
        .where(DOCUMENT_TABLE.c.office_id == office.id)
        .order_by(DOCUMENT_TABLE.c.number, REVISION_TABLE.c.revno)
    ).all()
    store = runtime.store
    checked: dict[str, str | None] = {}
    for number, revno, sha in rows:
        if sha not in checked:
            checked[sha] = _file_problem(runtime, sha)
        kind = checked[sha]
        if kind is None:
            continue
        what = _MISSING if kind == "file_missing" else _DAMAGED
        command = (
            shlex.join(("cp", "-f", f"BACKUP/{blob_file(sha)}", str(store.path(sha))))
            if is_sha256(sha)
            else shlex.join(("qms", "--office", office.code, "audit", "verify"))
        )
        subject = f"{number}#{revno}"
        yield Finding(kind, "7.5.3", subject, _(what).format(number=number, revno=revno), command)


def _file_problem(runtime: Runtime, sha: str) -> str | None:
    """``file_missing``, ``file_damaged`` or None (the file is there, byte for byte)."""
    store = runtime.store
    if not is_sha256(sha) or not store.exists(sha):
        return "file_missing"
    return None if store.verify(sha) else "file_damaged"


def in_initial_state(workflows: Mapping[str, WorkflowDefinition]) -> ColumnElement[bool]:
    """A condition on a query joining types and states: the revision is in the initial state of
    its type's workflow (a draft, a record filed), where it waits for someone."""
    return or_(
        false(),
        *(
            and_(TYPE_TABLE.c.workflow == name, STATE_TABLE.c.state == workflow.initial)
            for name, workflow in sorted(workflows.items())
        ),
    )


def drafts_to_adopt(
    runtime: Runtime, connection: Connection, office: OfficeRef
) -> Iterable[Finding]:
    """Drafts the inbox filed naming their author, who has not yet signed for them: nobody
    may move them on, and until then the office cannot say who wrote them."""
    rows = connection.execute(
        select(
            DOCUMENT_TABLE.c.number,
            REVISION_TABLE.c.revno,
            REVISION_TABLE.c.created_at,
            USER_TABLE.c.kind.label("author_kind"),
            TYPE_TABLE.c.kind,
        )
        .join(REVISION_TABLE, REVISION_TABLE.c.document_id == DOCUMENT_TABLE.c.id)
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
        .join(USER_TABLE, USER_TABLE.c.id == REVISION_TABLE.c.author_id)
        .where(DOCUMENT_TABLE.c.office_id == office.id, in_initial_state(runtime.plugins.workflows))
        .order_by(DOCUMENT_TABLE.c.number, REVISION_TABLE.c.revno)
    ).all()
    for row in rows:
        if not awaits_adoption(row.author_kind, row.kind):
            continue
        subject = f"{row.number}#{row.revno}"
        author = named_author(connection, office, subject) or "AUTHOR"
        filed = as_utc(row.created_at).astimezone(zone(office.timezone)).date()
        what = _("filed from the inbox on {day}; {author} has not yet signed for it as its author")
        yield Finding(
            "draft_not_adopted",
            "7.5.2",
            subject,
            what.format(day=filed.isoformat(), author=author),
            shlex.join(("qms", "doc", "adopt", row.number, "--as", author)),
        )
