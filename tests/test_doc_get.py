"""``qms doc get`` says what it hands out, and hands out a draft or an old text only on request.

By default the revision in force; a document with none in force (a draft not yet issued, a
withdrawn SOP) is refused with its revisions listed and ``--rev`` named; ``--rev N`` hands out
any revision and says when it is not the one in force.  A register record (no in-force state in
its workflow) hands out its one revision.  ``-o`` makes no folder and replaces no file without
``--force``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qms_engine.documents.revisions import export_revision
from qms_engine.errors import InvalidInput, RuleViolation
from qms_engine.testing import TestOffice
from tests.test_cli import invoke, run

if TYPE_CHECKING:
    from tests.conftest import Desk


@pytest.fixture
def issued_and_draft(desk: Desk) -> tuple[str, Path, Path]:
    """An SOP whose revision 0 is effective and revision 1 a draft: (number, file 0, file 1)."""
    first, second = desk.docx("SOP", "in force"), desk.docx("SOP", "draft")
    number = desk.new_sop(path=first)
    desk.issue(number)
    desk.revise(number, path=second)
    return number, first, second


def test_default_is_the_revision_in_force_and_says_so(
    qms_office: TestOffice, issued_and_draft: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """Without --rev the effective revision is written, and its state is printed."""
    number, first, _second = issued_and_draft
    out = tmp_path / "current.docx"
    shown = invoke("-w", qms_office.root, "doc", "get", number, "-o", out)
    assert f"{number} revision 0 (effective), sha256 verified" in shown
    assert out.read_bytes() == first.read_bytes()


def test_a_draft_on_request_is_marked_not_in_force(
    qms_office: TestOffice, issued_and_draft: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """``--rev 1`` hands out the draft, saying it is not the revision in force; --json tells a
    script the same (state, current)."""
    number, _first, second = issued_and_draft
    out = tmp_path / "draft.docx"
    shown = invoke("-w", qms_office.root, "doc", "get", number, "--rev=1", "-o", out)
    assert f"{number} revision 1 (draft, NOT the revision in force)" in shown
    assert out.read_bytes() == second.read_bytes()
    data = json.loads(
        invoke(
            "-w", qms_office.root, "doc", "get", number, "--rev=0", "-o", tmp_path / "a", "--json"
        )
    )
    assert (data["revno"], data["state"], data["current"], data["path"]) == (
        0,
        "effective",
        True,
        str(tmp_path / "a"),
    )


def test_a_document_never_issued_is_refused_by_default(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """Only a draft: exit 5, naming its revisions and --rev; nothing is written."""
    number = desk.new_sop()
    out = tmp_path / "x.docx"
    result = run("-w", qms_office.root, "doc", "get", number, "-o", out)
    assert result.returncode == 5, result.stderr
    assert f"{number} has no effective revision (revision 0 is draft)" in result.stderr
    assert "--rev N" in result.stderr
    assert not out.exists()


def test_a_withdrawn_document_is_refused_by_default(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """Withdrawn (obsolete, nothing in force): refused; asked for explicitly, handed out."""
    number = desk.new_sop()
    desk.issue(number)
    desk.act(number, "withdraw", comment="नियम बदल गया")
    with pytest.raises(RuleViolation, match=r"no effective revision \(revision 0 is obsolete\)"):
        export_revision(qms_office.runtime, number=number, destination=tmp_path / "x")
    handed = export_revision(qms_office.runtime, number=number, destination=tmp_path / "x", revno=0)
    assert (handed.state, handed.current) == ("obsolete", False)


def test_a_register_record_hands_out_its_revision(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """A GD entry has no in-force state: its revision is handed out, filed or verified."""
    path = desk.docx("GD 4")
    number = desk.file_record("रोजनामचा 4", path=path)
    handed = export_revision(qms_office.runtime, number=number, destination=tmp_path / "a")
    assert (handed.revno, handed.state, handed.current) == (0, "filed", True)
    desk.act(number, "verify", who="reviewer")
    shown = invoke("-w", qms_office.root, "doc", "get", number, "-o", tmp_path / "b")
    assert f"{number} revision 0 (verified), sha256 verified" in shown
    assert (tmp_path / "b").read_bytes() == path.read_bytes()


def test_an_existing_file_is_kept_without_force(
    qms_office: TestOffice, issued_and_draft: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """The engine refuses to replace a file unless ``force``, naming the way out."""
    number, first, _second = issued_and_draft
    out = tmp_path / "kept.docx"
    out.write_bytes(b"precious")
    with pytest.raises(InvalidInput, match="the file exists") as refused:
        export_revision(qms_office.runtime, number=number, destination=out)
    assert "--force" in str(refused.value.hint)
    assert out.read_bytes() == b"precious"
    export_revision(qms_office.runtime, number=number, destination=out, force=True)
    assert out.read_bytes() == first.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".qms-get-")] == []


def test_no_folder_is_made(
    qms_office: TestOffice, issued_and_draft: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """``-o`` into a folder that does not exist is a usage error and makes no folder."""
    number, _first, _second = issued_and_draft
    with pytest.raises(InvalidInput, match="does not exist"):
        export_revision(qms_office.runtime, number=number, destination=tmp_path / "new" / "x")
    assert not (tmp_path / "new").exists()
