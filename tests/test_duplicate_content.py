"""``qms doc new`` with content already filed under that type says which record it repeats.

The engine refuses it (a document-control rule, exit 5) unless the caller allows a duplicate,
the way the inbox sets such files aside.  The same bytes under another type, or in a new
revision of another document, are no duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qms_engine.documents.revisions import RevisionRef, create_document
from qms_engine.errors import RuleViolation
from qms_engine.testing import TestOffice
from tests.test_cli import invoke, run

if TYPE_CHECKING:
    from tests.conftest import Stored


def file_record(
    office: TestOffice, path: Path, type_code: str = "GD", *, allow_duplicate: bool = False
) -> RevisionRef:
    """File ``path`` as a register record by the clerk."""
    return create_document(
        office.runtime,
        office.office,
        actor=office.signers["clerk"],
        type_code=type_code,
        title="रोजनामचा प्रविष्टि",
        path=path,
        allow_duplicate=allow_duplicate,
    )


def test_the_same_record_twice_is_refused_naming_the_first(
    qms_office: TestOffice, make_docx: Callable[..., Path], stored: Callable[[], Stored]
) -> None:
    """Refused with the number and revision it repeats; nothing written; allowed explicitly."""
    scan = make_docx("gd-21.docx", "GD 21")
    first = file_record(qms_office, scan)
    before = stored()
    with pytest.raises(RuleViolation) as refused:
        file_record(qms_office, scan)
    assert str(refused.value) == (
        f"gd-21.docx repeats {first.number} revision 0 (filed): the same content is already "
        "filed as a General Diary entry (roznamcha)"
    )
    assert refused.value.hint == "to file it again all the same, add --allow-duplicate"
    assert stored() == before
    again = file_record(qms_office, scan, allow_duplicate=True)
    assert again.number != first.number


def test_another_register_is_no_duplicate(
    qms_office: TestOffice, make_docx: Callable[..., Path]
) -> None:
    """The same bytes filed in the dak register after the GD are a dak record of their own."""
    scan = make_docx("letter.docx", "Letter")
    file_record(qms_office, scan)
    assert file_record(qms_office, scan, type_code="DAK").number.startswith("PS-TEST1/DAK/")


def test_duplicates_through_the_cli(qms_office: TestOffice, make_docx: Callable[..., Path]) -> None:
    """``qms doc new`` exits 5 naming the SOP it repeats; --allow-duplicate files it (--json)."""
    ws = qms_office.root
    path = make_docx("sop.docx", "SOP", "एक ही पाठ")
    invoke("-w", ws, "doc", "new", path, "--type=SOP", "--title=पहला", "--as=anita")
    refused = run("-w", ws, "doc", "new", path, "--type=SOP", "--title=दूसरा", "--as=mohan")
    assert refused.returncode == 5, refused.stderr
    assert "sop.docx repeats PS-TEST1/SOP/001 revision 0 (draft)" in refused.stderr
    assert "--allow-duplicate" in refused.stderr
    filed = json.loads(
        invoke(
            "-w",
            ws,
            "doc",
            "new",
            path,
            "--type=SOP",
            "--title=दूसरा",
            "--as=mohan",
            "--allow-duplicate",
            "--json",
        )
    )
    assert filed["number"] == "PS-TEST1/SOP/002"
