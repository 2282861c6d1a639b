"""Hindi (Devanagari) titles, file names and office names survive every step unchanged."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner

from qms_engine.cli import cli
from qms_engine.documents.master_list import document_detail, list_documents
from qms_engine.documents.revisions import create_document, export_revision
from qms_engine.testing import TEST_PASSPHRASE, TestOffice

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TITLE = "मालखाना (केस प्रॉपर्टी) प्रबंधन"
FILE_NAME = "मालखाना-प्रबंधन.docx"


def file_hindi_sop(office: TestOffice, make_docx: Callable[..., Path]) -> tuple[str, Path]:
    """Create an SOP with a Hindi title from a Hindi-named file: (number, file)."""
    path = make_docx(FILE_NAME, TITLE, "ज़ब्त माल की प्रविष्टि रजिस्टर नंबर 19 में करें।")
    revision = create_document(
        office.runtime,
        office.office,
        actor=office.signers["author"],
        type_code="SOP",
        title=TITLE,
        path=path,
        reason="प्रथम जारी",
    )
    return revision.number, path


def test_hindi_title_and_file_name_round_trip(
    qms_office: TestOffice, make_docx: Callable[..., Path], tmp_path: Path
) -> None:
    """Title, file name and bytes come back exactly from the master list, detail, export, events."""
    number, path = file_hindi_sop(qms_office, make_docx)
    (summary,) = list_documents(qms_office.runtime, office=qms_office.office)
    detail = document_detail(qms_office.runtime, number)
    (revision,) = detail.revisions
    assert (
        summary.title,
        revision.title,
        revision.original_filename,
        revision.change_reason,
    ) == (TITLE, TITLE, FILE_NAME, "प्रथम जारी")
    (tmp_path / "निर्यात").mkdir()
    out = tmp_path / "निर्यात" / FILE_NAME
    export_revision(qms_office.runtime, number=number, destination=out, revno=0)
    assert path.read_bytes() == out.read_bytes()
    (created,) = [e for e in detail.history if e.action == "document.revision.created"]
    assert (created.payload["original_filename"], created.payload["title"]) == (FILE_NAME, TITLE)


def test_hindi_office_name_is_kept(qms_office: TestOffice) -> None:
    """The office's Devanagari name is stored and signed into its founding event unchanged."""
    assert qms_office.runtime.office().name == "कोतवाली परीक्षण"
    (founded,) = [e for e in office_events(qms_office) if e["action"] == "office.created"]
    assert founded["payload"]["name"] == "कोतवाली परीक्षण"


def office_events(office: TestOffice) -> list[dict[str, Any]]:
    """The office's events, with payloads decoded, via ``qms log --json``."""
    result = CliRunner().invoke(
        cli, ["--workspace", str(office.root), "log", "-n", "1000", "--json"]
    )
    assert result.exit_code == 0, result.output
    events: list[dict[str, Any]] = json.loads(result.stdout)
    return events


def test_cli_json_prints_devanagari_unescaped(
    qms_office: TestOffice, make_docx: Callable[..., Path]
) -> None:
    """``qms doc list --json`` writes Devanagari as UTF-8 text, not as \\u escapes."""
    file_hindi_sop(qms_office, make_docx)
    result = CliRunner().invoke(
        cli,
        ["--workspace", str(qms_office.root), "doc", "list", "--json"],
        env={"QMS_PASSPHRASE": TEST_PASSPHRASE},
    )
    assert result.exit_code == 0, result.output
    assert TITLE in result.stdout
    assert "\\u" not in result.stdout
    assert [d["title"] for d in json.loads(result.stdout)] == [TITLE]
