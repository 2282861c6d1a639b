"""Exact retrieval (ISO 9001 clause 7.5.3.2): any revision comes back byte for byte, verified."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qms_engine.documents.revisions import export_revision
from qms_engine.errors import IntegrityError, InvalidInput, NotFound
from qms_engine.testing import TestOffice

if TYPE_CHECKING:
    from tests.conftest import Desk


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def two_revisions(qms_office: TestOffice, desk: Desk) -> tuple[str, Path, Path]:
    """An SOP whose revision 1 is effective: (number, file of rev 0, file of rev 1)."""
    rev0 = desk.docx("SOP", "First issue")
    rev1 = desk.docx("SOP", "Second issue")
    number = desk.new_sop(path=rev0)
    desk.issue(number)
    desk.revise(number, path=rev1)
    desk.issue(number)
    return number, rev0, rev1


def test_each_revision_exports_byte_identical(
    qms_office: TestOffice, two_revisions: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """Revision 0 and revision 1 come back with exactly the bytes that were filed."""
    number, rev0, rev1 = two_revisions
    for revno, original in ((0, rev0), (1, rev1)):
        out = tmp_path / f"rev{revno}.docx"
        revision = export_revision(qms_office.runtime, number=number, destination=out, revno=revno)
        assert original.read_bytes() == out.read_bytes()
        assert (sha256(original), sha256(original)) == (revision.sha256, sha256(out))


def test_default_export_is_the_effective_revision(
    qms_office: TestOffice, desk: Desk, two_revisions: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """Without a revision number, the effective revision is exported — not a newer draft."""
    number, _rev0, rev1 = two_revisions
    desk.revise(number)  # revision 2, a draft
    out = tmp_path / "current.docx"
    revision = export_revision(qms_office.runtime, number=number, destination=out)
    assert (revision.revno, revision.state) == (1, "effective")
    assert rev1.read_bytes() == out.read_bytes()


def test_tampered_blob_is_refused_and_leaves_no_file(
    qms_office: TestOffice, two_revisions: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """A flipped byte in the stored object is an IntegrityError and nothing is written out."""
    number, rev0, _rev1 = two_revisions
    blob = qms_office.runtime.store.path(sha256(rev0))
    blob.chmod(stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(IntegrityError, match=f"{number} revision 0: stored content hashes to"):
        export_revision(qms_office.runtime, number=number, destination=out_dir / "x", revno=0)
    assert os.listdir(out_dir) == []


def test_missing_blob_is_an_integrity_error(
    qms_office: TestOffice, two_revisions: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """A blob deleted from the store is reported as an IntegrityError, leaving no file."""
    number, rev0, _rev1 = two_revisions
    qms_office.runtime.store.path(sha256(rev0)).unlink()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    try:
        with pytest.raises(IntegrityError):
            export_revision(qms_office.runtime, number=number, destination=out_dir / "x", revno=0)
    finally:
        assert os.listdir(out_dir) == []


def test_unknown_number_is_not_found(qms_office: TestOffice, tmp_path: Path) -> None:
    """Asking for a document that does not exist is NotFound, naming it."""
    with pytest.raises(NotFound, match="no document numbered 'PS-TEST1/SOP/999'"):
        export_revision(qms_office.runtime, number="PS-TEST1/SOP/999", destination=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_unknown_revision_is_not_found(
    qms_office: TestOffice, two_revisions: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """Asking for a revision that does not exist is NotFound, listing the ones that do."""
    number, _rev0, _rev1 = two_revisions
    with pytest.raises(NotFound, match=r"has no revision 7 \(revisions: 0, 1\)"):
        export_revision(qms_office.runtime, number=number, destination=tmp_path / "x", revno=7)
    assert not (tmp_path / "x").exists()


def test_folder_as_destination_is_refused(
    qms_office: TestOffice, two_revisions: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """Exporting onto an existing folder is refused (bad input) rather than writing inside it."""
    number, _rev0, _rev1 = two_revisions
    with pytest.raises(InvalidInput, match="is a folder"):
        export_revision(qms_office.runtime, number=number, destination=tmp_path)
