"""A write either happens completely or not at all: no half-written rows, events or blobs.

Failures are injected with a real SQLite trigger on the workspace database, so the engine fails
exactly where a full disk or a crash mid-transaction would make it fail.  Validation failures
from plugins refuse the request before anything is written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy.exc

from qms_engine.api import hookimpl
from qms_engine.chain.reader import verify_chain
from qms_engine.documents.master_list import document_detail
from qms_engine.documents.revisions import create_document
from qms_engine.errors import RuleViolation
from qms_engine.extension.manager import get_plugin_manager, load_plugins
from qms_engine.registry.hook_values import Submission
from qms_engine.runtime import Runtime
from qms_engine.testing import TestOffice

if TYPE_CHECKING:
    from tests.conftest import Desk, Stored

# The trigger's abort, as the driver raises it (bare, or wrapped by SQLAlchemy).
INJECTED = (sqlite3.IntegrityError, sqlalchemy.exc.IntegrityError)
sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)


def fail_on(action: str) -> str:
    """SQL for a trigger that aborts the insert of any event with ``action``."""
    return (
        "CREATE TRIGGER fail BEFORE INSERT ON event "
        f"WHEN NEW.action = '{action}' BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )


def chain_verifies(office: TestOffice) -> int:
    """Verify the office's chain (raises if it is broken)."""
    with office.runtime.engine.connect() as connection:
        return verify_chain(connection, office.office)


def pdf(path: Path) -> Path:
    """A minimal file that passes as a PDF."""
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")
    return path


@sqlite_only
def test_failed_creation_leaves_no_rows_and_no_blob(
    qms_office: TestOffice,
    desk: Desk,
    stored: Callable[[], Stored],
    raw_sqlite: Callable[[str], None],
) -> None:
    """A failure while writing the revision event rolls back the document and discards the blob."""
    path = desk.docx("Doomed SOP")
    raw_sqlite(fail_on("document.revision.created"))
    before = stored()
    with pytest.raises(INJECTED, match="injected"):
        create_document(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["author"],
            type_code="SOP",
            title="Doomed SOP",
            path=path,
        )
    after = stored()
    assert before == after
    assert (after.documents, after.revisions, after.blobs) == (0, 0, ())
    assert list(qms_office.runtime.store.tmp_dir.iterdir()) == []
    assert before.events == chain_verifies(qms_office)


# A row that only fails the deferred foreign key check, i.e. at COMMIT, after every statement ran.
FAIL_AT_COMMIT = """
CREATE TABLE injected (office_id INTEGER REFERENCES office(id) DEFERRABLE INITIALLY DEFERRED);
CREATE TRIGGER fail AFTER INSERT ON event WHEN NEW.action = 'document.revision.created'
BEGIN INSERT INTO injected VALUES (999999); END;
"""


@sqlite_only
def test_failure_at_commit_leaves_no_rows(
    qms_office: TestOffice,
    desk: Desk,
    stored: Callable[[], Stored],
    raw_sqlite: Callable[[str], None],
) -> None:
    """When the COMMIT itself fails, no document, revision or event is left behind."""
    path = desk.docx("Doomed SOP")
    raw_sqlite(FAIL_AT_COMMIT)
    before = stored()
    with pytest.raises(INJECTED, match="FOREIGN KEY constraint failed"):
        create_document(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["author"],
            type_code="SOP",
            title="Doomed SOP",
            path=path,
        )
    after = stored()
    assert (before.events, before.documents, before.revisions) == (
        after.events,
        after.documents,
        after.revisions,
    )
    assert before.events == chain_verifies(qms_office)


@sqlite_only
def test_failure_at_commit_leaves_no_blob(
    qms_office: TestOffice,
    desk: Desk,
    stored: Callable[[], Stored],
    raw_sqlite: Callable[[str], None],
) -> None:
    """When the COMMIT itself fails, the file's blob is not left in the store either."""
    path = desk.docx("Doomed SOP")
    raw_sqlite(FAIL_AT_COMMIT)
    with pytest.raises(INJECTED):
        create_document(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["author"],
            type_code="SOP",
            title="Doomed SOP",
            path=path,
        )
    assert stored().blobs == ()


@sqlite_only
def test_failed_transition_leaves_state_unchanged(
    qms_office: TestOffice,
    desk: Desk,
    stored: Callable[[], Stored],
    raw_sqlite: Callable[[str], None],
) -> None:
    """A failure while writing the approval event leaves the revision in review, no action row."""
    number = desk.new_sop()
    desk.act(number, "submit")
    raw_sqlite(fail_on("document.revision.approved"))
    before = stored()
    with pytest.raises(INJECTED, match="injected"):
        desk.act(number, "approve")
    assert before == stored()
    assert [r.state for r in document_detail(qms_office.runtime, number).revisions] == ["in_review"]
    assert before.events == chain_verifies(qms_office)
    raw_sqlite("DROP TRIGGER fail")
    assert desk.act(number, "approve").to_state == "approved"


class Objector:
    """A plugin that objects to every submission."""

    @hookimpl
    def qms_validate_submission(self, submission: Submission) -> list[str]:
        """Refuse, naming the file."""
        return [f"{submission.original_filename}: the district office wants a cover page"]


def test_plugin_validation_failure_refuses_with_its_message(
    qms_office: TestOffice, desk: Desk, stored: Callable[[], Stored]
) -> None:
    """A problem returned by a plugin's validator refuses the submission with that sentence."""
    manager = get_plugin_manager(extra_plugins=[("objector", Objector())])
    runtime = Runtime.open(qms_office.runtime.workspace, load_plugins(manager))
    path = desk.docx()
    before = stored()
    try:
        with pytest.raises(RuleViolation, match=f"{path.name}: the district office wants a cover"):
            create_document(
                runtime,
                qms_office.office,
                actor=qms_office.signers["author"],
                type_code="SOP",
                title="SOP",
                path=path,
            )
    finally:
        runtime.close()
    assert before == stored()


DEPOSIT = {"items": "मोटरसाइकिल", "depositing_officer": "SI Verma"}
"""What a malkhana entry needs besides its case and seal numbers."""


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        (DEPOSIT, ["case_number", "seal_number"]),
        ({**DEPOSIT, "case_number": "112/2026"}, ["seal_number"]),
        ({**DEPOSIT, "case_number": "  ", "seal_number": "S-77"}, ["case_number"]),
    ],
)
def test_malkhana_record_needs_case_and_seal_number(
    qms_office: TestOffice,
    stored: Callable[[], Stored],
    tmp_path: Path,
    fields: dict[str, str],
    missing: list[str],
) -> None:
    """The police station plugin refuses a malkhana entry without case or seal number, naming it."""
    path = pdf(tmp_path / "seizure-memo.pdf")
    before = stored()
    with pytest.raises(RuleViolation) as refused:
        create_document(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["clerk"],
            type_code="MALKHANA",
            title="Seized motorcycle",
            path=path,
            fields=fields,
        )
    named = [
        name for name in ("case_number", "seal_number") if f"field {name} " in str(refused.value)
    ]
    assert missing == named
    assert "seizure-memo.pdf" in str(refused.value)
    assert before == stored()


def test_complete_malkhana_record_is_filed(qms_office: TestOffice, tmp_path: Path) -> None:
    """With case and seal number, a clerk files the entry, numbered per year."""
    revision = create_document(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["clerk"],
        type_code="MALKHANA",
        title="Seized motorcycle",
        path=pdf(tmp_path / "seizure-memo.pdf"),
        fields={**DEPOSIT, "case_number": "112/2026", "seal_number": "S-77"},
    )
    assert revision.number.startswith("PS-TEST1/MAL/")
    assert revision.number.endswith("/0001")
