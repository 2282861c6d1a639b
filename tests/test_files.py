"""Files are checked before they become revisions: present, not empty, an accepted and real type.

Each refusal names the file, so a clerk knows which one to fix, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qms_engine.documents.revisions import create_document, revise_document
from qms_engine.errors import RuleViolation
from qms_engine.testing import TestOffice

if TYPE_CHECKING:
    from tests.conftest import Desk, Stored


def missing(folder: Path) -> Path:
    """A path where no file exists."""
    return folder / "not-there.docx"


def empty(folder: Path) -> Path:
    """A zero-byte .docx."""
    path = folder / "empty.docx"
    path.write_bytes(b"")
    return path


def a_folder(folder: Path) -> Path:
    """A folder whose name looks like a file."""
    path = folder / "folder.docx"
    path.mkdir()
    return path


def exe(folder: Path) -> Path:
    """A Windows program."""
    path = folder / "setup.exe"
    path.write_bytes(b"MZ\x90\x00" + b"\x00" * 60)
    return path


def text(folder: Path) -> Path:
    """A plain text file."""
    path = folder / "notes.txt"
    path.write_text("Station office procedure\n", encoding="utf-8")
    return path


def fake_docx(folder: Path) -> Path:
    """Plain text renamed to .docx."""
    path = folder / "renamed.docx"
    path.write_text("This is not a Word document\n", encoding="utf-8")
    return path


BAD_FILES = {
    "missing": (missing, "not-there.docx: no such file"),
    "empty": (empty, r"empty.docx: the file is empty \(0 bytes\)"),
    "folder": (a_folder, "folder.docx: not a regular file"),
    "exe": (exe, "setup.exe: .exe files are not accepted for Standard operating procedure"),
    "txt": (text, "notes.txt: .txt files are not accepted"),
    "fake_docx": (fake_docx, "renamed.docx: the content is not a real .docx file"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_is_refused_for_a_new_sop(
    qms_office: TestOffice, stored: Callable[[], Stored], tmp_path: Path, kind: str
) -> None:
    """Each bad file is refused for a new SOP, naming the file, and nothing is written."""
    make, message = BAD_FILES[kind]
    path = make(tmp_path)
    before = stored()
    with pytest.raises(RuleViolation, match=message):
        create_document(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["author"],
            type_code="SOP",
            title="Station office procedure",
            path=path,
        )
    assert before == stored()


@pytest.mark.parametrize("kind", ["empty", "txt", "fake_docx"])
def test_bad_file_is_refused_as_a_revision(
    qms_office: TestOffice, desk: Desk, stored: Callable[[], Stored], tmp_path: Path, kind: str
) -> None:
    """The same checks hold for a new revision of an existing SOP."""
    number = desk.new_sop()
    desk.issue(number)
    make, message = BAD_FILES[kind]
    path = make(tmp_path)
    before = stored()
    with pytest.raises(RuleViolation, match=message):
        revise_document(
            qms_office.runtime,
            actor=qms_office.signers["author"],
            number=number,
            path=path,
            reason="Update",
        )
    assert before == stored()


def test_upper_case_extension_is_accepted(qms_office: TestOffice, desk: Desk) -> None:
    """A real Word file named ``.DOCX`` is accepted; the extension check ignores case."""
    path = desk.docx()
    upper = path.rename(path.with_name("SCANNED.DOCX"))
    revision = create_document(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["author"],
        type_code="SOP",
        title="Upper case",
        path=upper,
    )
    assert revision.state == "draft"
