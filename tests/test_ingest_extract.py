"""Metadata extraction for ingestion: register fields from real .docx files, hostile input refused.

Every document here is a real file: .docx written by python-docx, hostile ZIP packages built with
:mod:`zipfile` (sizes forged through the ``ZipInfo`` entries zipfile writes into the central
directory), a Word lock file laid out as Word writes it, the real Word and LibreOffice files of
``tests/corpus/permissive``, and the extended corpus ``../shared/corpus`` where it is present.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tracemalloc
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.styles.style import ParagraphStyle

from qms_engine.ingest.extract import (
    Extracted,
    ExtractionError,
    ZipLimits,
    extract_docx,
    filename_fields,
    normalise_label,
    sidecar_fields,
)
from qms_engine.registry.office_types import DocumentTypeSpec
from tests.corpora import (
    PERMISSIVE,
    Corpus,
    corpora,
    corpus_files,
    extended_file,
    is_package,
    is_strict,
    producer,
    provenance,
    readable,
    word_lock_file,
)
from tests.ingest_fixtures import counting_inflation

MiB = 1024 * 1024
MALKHANA_LABELS = {
    "मुकदमा संख्या": "case_number",
    "सील संख्या": "seal_number",
    "Case No.": "case_number",
}
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument"/></Relationships>'
)


def _table(document: docx.document.Document, rows: list[tuple[str, str]]) -> None:
    table = document.add_table(rows=0, cols=2)
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value


def _save(document: docx.document.Document, path: Path) -> Path:
    document.save(str(path))
    return path


@pytest.fixture
def gd_entry(tmp_path: Path) -> Path:
    """A General Diary entry: core title, a heading and a two-column register table."""
    document = docx.Document()
    document.core_properties.title = "GD Entry 17, PS Kotwali"
    document.add_heading("General Diary", level=1)
    _table(
        document,
        [
            ("Entry number", "17"),
            ("Date", "2026-11-24"),
            ("Time", "10:30"),
            ("Officer", "SI Rakesh"),
        ],
    )
    return _save(document, tmp_path / "gd_17.docx")


@pytest.fixture
def malkhana_entry(tmp_path: Path) -> Path:
    """A malkhana (case property) entry with Hindi labels, later repeating the case number."""
    document = docx.Document()
    document.core_properties.title = ""
    document.add_heading("मालखाना रजिस्टर प्रविष्टि", level=1)
    _table(document, [("मुकदमा संख्या", "123/2026"), ("सील संख्या", "S-45")])
    document.add_paragraph("Case No.: 999/2026")  # same field again: the table came first
    document.add_paragraph("Property description: one Nokia mobile phone")
    document.add_paragraph("जब्ती का स्थान। ग्राम रामपुर")
    document.add_paragraph("Depositing officer：HC Suresh")
    return _save(document, tmp_path / "malkhana.docx")


def _plain_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _refused(
    path: Path, limits: ZipLimits | None = None, *, max_inflated: int | None = None
) -> ExtractionError:
    """Extract, expecting refusal, within 50 MB of traced Python memory.

    With ``max_inflated``, also at most that many bytes decompressed on the way: a bomb must be
    refused before it is inflated, not after (how long that takes is for bench/, not tests).
    """
    tracemalloc.start()
    try:
        with counting_inflation() as inflated, pytest.raises(ExtractionError) as caught:
            if limits is None:
                extract_docx(path)
            else:
                extract_docx(path, limits=limits)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 50 * MiB, f"peak {peak / MiB:.1f} MiB"
    if max_inflated is not None:
        assert inflated.bytes <= max_inflated, f"{inflated.bytes:,} bytes inflated"
    error = caught.value
    assert str(error) == error.problem
    assert error.problem and error.advice
    return error


# ------------------------------------------------------------------------------ fields, title


def test_gd_entry_table_fields(gd_entry: Path) -> None:
    """A two-column GD table gives exactly its rows as normalised fields."""
    extracted = extract_docx(gd_entry)
    assert extracted.fields == {
        "entry_number": "17",
        "date": "2026-11-24",
        "time": "10:30",
        "officer": "SI Rakesh",
    }
    assert extracted.headings == ["General Diary"]


def test_malkhana_hindi_labels_and_label_paragraphs(malkhana_entry: Path) -> None:
    """Hindi labels map through the plugin's labels; Label: value paragraphs add fields."""
    extracted = extract_docx(malkhana_entry, MALKHANA_LABELS)
    assert extracted.fields == {
        "case_number": "123/2026",
        "seal_number": "S-45",
        "property_description": "one Nokia mobile phone",
        "जब्ती_का_स्थान": "ग्राम रामपुर",
        "depositing_officer": "HC Suresh",
    }


def test_without_labels_keeps_normalised_labels(malkhana_entry: Path) -> None:
    """Unmapped labels stay as normalised Devanagari, and the English one stays separate."""
    fields = extract_docx(malkhana_entry).fields
    assert fields["मुकदमा_संख्या"] == "123/2026"
    assert fields["सील_संख्या"] == "S-45"
    assert fields["case_no"] == "999/2026"


def test_first_occurrence_wins(tmp_path: Path) -> None:
    """A label repeated later (table or paragraph, any spelling) keeps its first value."""
    document = docx.Document()
    document.add_paragraph("Officer: SI Rakesh")
    _table(document, [("OFFICER", "HC Mohan"), ("Case No.", "12/2026")])
    document.add_paragraph("case no : 13/2026")
    document.add_paragraph("मुकदमा संख्या: 14/2026")
    fields = extract_docx(_save(document, tmp_path / "twice.docx"), MALKHANA_LABELS).fields
    assert fields == {"officer": "SI Rakesh", "case_number": "12/2026"}


def test_merged_label_cell_and_empty_values(tmp_path: Path) -> None:
    """A label cell merged across columns is not its own value; empty values are skipped."""
    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    first = table.rows[0].cells
    first[0].merge(first[1]).text = "Seal number"
    first[2].text = "S-45"
    second = table.rows[1].cells
    second[0].text, second[1].text = "Remarks", ""
    third = table.rows[2].cells
    third[1].text, third[2].text = "Time", "10:30"  # first cell empty: label is the next one
    fields = extract_docx(_save(document, tmp_path / "merged.docx")).fields
    assert fields == {"seal_number": "S-45", "time": "10:30"}


def test_field_caps(tmp_path: Path) -> None:
    """At most 500 fields, each value cut to 2,000 characters."""
    document = docx.Document()
    document.add_paragraph("Long: " + "x" * 5_000)
    for number in range(600):
        document.add_paragraph(f"Field {number}: {number}")
    fields = extract_docx(_save(document, tmp_path / "many.docx")).fields
    assert len(fields) == 500
    assert fields["long"] == "x" * 2_000
    assert "field_498" in fields and "field_499" not in fields


def test_title_from_core_properties(gd_entry: Path) -> None:
    """The core-properties title wins over the first heading."""
    extracted = extract_docx(gd_entry)
    assert extracted.title == "GD Entry 17, PS Kotwali"
    assert extracted.properties["title"] == "GD Entry 17, PS Kotwali"


def test_title_from_heading_then_paragraph(tmp_path: Path) -> None:
    """Without a core title, the first heading; without a heading, the first paragraph."""
    document = docx.Document()
    document.add_paragraph("   ")
    document.add_paragraph("Dak received from SP office")
    document.add_heading("Dak register", level=2)
    assert extract_docx(_save(document, tmp_path / "h.docx")).title == "Dak register"
    plain = docx.Document()
    plain.add_paragraph("")
    plain.add_paragraph("  Passport verification   report\tfor applicant  " + "y" * 400)
    title = extract_docx(_save(plain, tmp_path / "p.docx")).title
    assert title is not None and len(title) == 300
    assert title.startswith("Passport verification report for applicant yyy")


def test_devanagari_title(malkhana_entry: Path, tmp_path: Path) -> None:
    """A Devanagari heading, or core title, is the title unchanged."""
    assert extract_docx(malkhana_entry).title == "मालखाना रजिस्टर प्रविष्टि"
    document = docx.Document()
    document.core_properties.title = "सामान्य दैनिकी प्रविष्टि संख्या 17"
    extracted = extract_docx(_save(document, tmp_path / "gd_hi.docx"))
    assert extracted.title == "सामान्य दैनिकी प्रविष्टि संख्या 17"


def test_empty_document_has_no_title(tmp_path: Path) -> None:
    """An empty document gives no title, fields or headings rather than failing."""
    extracted = extract_docx(_save(docx.Document(), tmp_path / "empty.docx"))
    assert extracted == Extracted(
        title=None, fields={}, headings=[], properties=extracted.properties
    )


def test_core_properties_in_utc(tmp_path: Path) -> None:
    """Set core properties are reported, dates as ISO UTC (offsets converted); unset left out."""
    document = docx.Document()
    core = document.core_properties
    core.title, core.subject, core.author = "Arms licence", "Renewal", "ASI Meena"
    core.keywords, core.last_modified_by = "arms, licence", "HC Suresh"
    core.created = datetime(2026, 11, 24, 10, 30)
    core.modified = datetime(2026, 11, 24, 16, 0)
    written = _save(document, tmp_path / "written.docx")

    def in_ist(name: str, data: bytes) -> bytes:  # as a producer writing local time would
        if name != "docProps/core.xml":
            return data
        return data.replace(b"2026-11-24T16:00:00Z", b"2026-11-24T16:00:00+05:30")

    properties = extract_docx(_stored_copy(written, tmp_path / "arms.docx", in_ist)).properties
    assert properties == {
        "title": "Arms licence",
        "subject": "Renewal",
        "author": "ASI Meena",
        "keywords": "arms, licence",
        "last_modified_by": "HC Suresh",
        "created": "2026-11-24T10:30:00+00:00",
        "modified": "2026-11-24T10:30:00+00:00",
    }


def test_localised_and_outline_level_headings(tmp_path: Path) -> None:
    """German-named heading styles and styles with an outline level count as headings."""
    document = docx.Document()
    german = document.styles.add_style("Überschrift 1", WD_STYLE_TYPE.PARAGRAPH)
    german.font.size = Pt(16)
    section = document.styles.add_style("GD Abschnitt", WD_STYLE_TYPE.PARAGRAPH)
    assert isinstance(section, ParagraphStyle)
    p_pr = section.element.get_or_add_pPr()
    level = OxmlElement("w:outlineLvl")
    level.set(qn("w:val"), "1")
    p_pr.append(level)
    document.add_paragraph("Eintrag", style="Überschrift 1")
    document.add_paragraph("Abschnitt", style="GD Abschnitt")
    document.add_paragraph("Body text: not a heading")
    document.add_heading("Title style", level=0)
    extracted = extract_docx(_save(document, tmp_path / "german.docx"))
    assert extracted.headings == ["Eintrag", "Abschnitt", "Title style"]
    assert extracted.fields == {"body_text": "not a heading"}


def test_normalise_label() -> None:
    """Case, surrounding punctuation and inner spacing vanish; Devanagari is kept."""
    assert normalise_label("  Case No.: ") == "case_no"
    assert normalise_label("ENTRY   Number") == "entry_number"
    assert normalise_label("मुकदमा संख्या।") == "मुकदमा_संख्या"
    assert normalise_label("(सील संख्या)") == "सील_संख्या"
    assert normalise_label("：Date\t") == "date"
    assert normalise_label("...") == ""


# ---------------------------------------------------------------------------- hostile input


def test_not_a_zip(tmp_path: Path) -> None:
    """Plain text named .docx is refused as not a ZIP package, with save-as advice."""
    path = tmp_path / "gd.docx"
    path.write_text("GD entry 17 typed in Notepad\n")
    error = _refused(path)
    assert error.problem == (
        "gd.docx is not a Word .docx document (it is not a ZIP package; it may be a renamed "
        ".doc, a PDF, or damaged)"
    )
    assert "save it as Word Document (.docx)" in error.advice
    empty = tmp_path / "empty.docx"
    empty.write_bytes(b"")
    assert "it is not a ZIP package" in _refused(empty).problem


def test_word_lock_file(tmp_path: Path) -> None:
    """Word's ~$ owner file is refused as a lock file, not a document."""
    lock = tmp_path / "~$xample.docx"
    lock.write_bytes(word_lock_file("SI Rakesh Verma"))
    error = _refused(lock)
    assert error.problem.startswith("~$xample.docx is not a Word .docx document")
    assert "lock file" in error.problem
    assert "close the document" in error.advice


def test_made_lock_file_is_byte_for_byte_what_word_writes() -> None:
    """The lock file the tests make equals the real one Word left in the extended corpus."""
    real = extended_file("odd", "~$xample.docx")
    assert word_lock_file("angus parsonson") == real.read_bytes()


def test_old_doc_and_word_encrypted(tmp_path: Path) -> None:
    """An OLE file is a renamed .doc, or password-protected if it holds an EncryptedPackage."""
    signature = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    old = tmp_path / "old.docx"
    old.write_bytes(signature + bytes(4_000))
    assert ".doc" in _refused(old).problem
    encrypted = tmp_path / "locked.docx"
    encrypted.write_bytes(signature + bytes(70_000) + "EncryptedPackage".encode("utf-16-le"))
    error = _refused(encrypted)
    assert "password-protected" in error.problem
    assert "password" in error.advice


def test_truncated_docx(tmp_path: Path) -> None:
    """The first half of a real docx (an interrupted copy) is refused as incomplete."""
    data = (PERMISSIVE / "mammoth_tables.docx").read_bytes()
    path = tmp_path / "half.docx"
    path.write_bytes(data[: len(data) // 2])
    error = _refused(path)
    assert "incomplete or damaged" in error.problem
    assert "copy" in error.advice


def test_zip_without_content_types(tmp_path: Path) -> None:
    """A ZIP without [Content_Types].xml is some other ZIP renamed to .docx."""
    path = _plain_zip(tmp_path / "photos.docx", {"photo.txt": "not a document"})
    error = _refused(path)
    assert error.problem.startswith("photos.docx is not a Word .docx document")
    assert "[Content_Types].xml" in error.problem


def test_encrypted_member_flag(tmp_path: Path) -> None:
    """A member with the encryption flag set (as written to the central directory) is refused."""
    path = tmp_path / "secret.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", "<w:document/>")
        archive.filelist[-1].flag_bits |= 0x1
    error = _refused(path)
    assert error.problem == "secret.docx is password-protected (encrypted ZIP)"
    assert "password" in error.advice


@pytest.mark.skipif(shutil.which("zip") is None, reason="the zip tool is not installed")
def test_encrypted_by_zip_tool(tmp_path: Path) -> None:
    """A package encrypted with a password by the zip tool is refused as password-protected."""
    source = tmp_path / "src"
    (source / "word").mkdir(parents=True)
    (source / "[Content_Types].xml").write_text(CONTENT_TYPES)
    (source / "word" / "document.xml").write_text("<w:document/>")
    subprocess.run(
        ["zip", "-q", "-r", "-P", "secret", str(tmp_path / "zipped.docx"), "."],
        cwd=source,
        check=True,
    )
    assert "password-protected" in _refused(tmp_path / "zipped.docx").problem


def test_inflation_counter_sees_what_zipfile_inflates(gd_entry: Path) -> None:
    """Reading a real .docx is counted in full, so "nothing inflated" below means just that."""
    with zipfile.ZipFile(gd_entry) as archive:
        deflated = sum(
            info.file_size
            for info in archive.infolist()
            if info.compress_type == zipfile.ZIP_DEFLATED
        )
    with counting_inflation() as inflated:
        assert extract_docx(gd_entry).fields
    assert deflated > 0 and inflated.bytes >= deflated


def test_declared_terabyte_member(tmp_path: Path) -> None:
    """A member declaring 1 TB is refused from the headers: nothing inflated, little memory."""
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", "<w:document/>")
        archive.filelist[-1].file_size = 10**12  # written to the central directory (zip64)
    assert path.stat().st_size < 2_000
    error = _refused(path, max_inflated=0)
    assert error.problem == (
        "bomb.docx looks like a ZIP bomb: part 'word/document.xml' declares "
        "1,000,000,000,000 bytes uncompressed (limit per part 67,108,864 bytes)"
    )
    assert "system administrator" in error.advice


def _zeros_member(archive: zipfile.ZipFile, name: str, size: int) -> None:
    chunk = bytes(MiB)
    with archive.open(name, "w", force_zip64=True) as member:
        for _ in range(size // MiB):
            member.write(chunk)


def test_real_300_mb_of_zeros(tmp_path: Path) -> None:
    """300 MB of compressed zeros is refused without being decompressed."""
    path = tmp_path / "zeros.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        _zeros_member(archive, "word/document.xml", 300 * MiB)
    assert path.stat().st_size < 2 * MiB
    error = _refused(path, max_inflated=0)
    assert "looks like a ZIP bomb: part 'word/document.xml' declares 314,572,800 bytes" in (
        error.problem
    )


def test_high_ratio_member(tmp_path: Path) -> None:
    """A part expanding more than 200 times (and over 1 MiB) is refused for its ratio."""
    path = tmp_path / "ratio.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        _zeros_member(archive, "word/media/image1.png", 4 * MiB)
    error = _refused(path, max_inflated=0)
    assert "looks like a ZIP bomb: part 'word/media/image1.png' expands" in error.problem
    assert "limit on compression ratio 200" in error.problem


def test_headers_that_lie(tmp_path: Path) -> None:
    """A part declaring 1,000 bytes but holding 70 MB is caught having inflated a few KiB."""
    path = tmp_path / "liar.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        _zeros_member(archive, "word/document.xml", 70 * MiB)
        archive.filelist[-1].file_size = 1_000  # the central directory now lies
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("word/document.xml").file_size == 1_000
    error = _refused(path, max_inflated=64 * 1024)  # stops just past the declared size
    assert error.problem == (
        "liar.docx looks like a ZIP bomb: part 'word/document.xml' declares 1,000 bytes "
        "uncompressed but holds more (its headers lie)"
    )


def test_too_many_entries(tmp_path: Path) -> None:
    """5,001 entries exceed the default limit; a forged end record is refused before parsing."""
    path = tmp_path / "many.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        for number in range(5_000):
            archive.writestr(f"x/{number}", b"")
    assert "it has 5,001 entries (limit 5,000)" in _refused(path).problem
    forged = tmp_path / "forged.docx"
    data = bytearray(_plain_zip(tmp_path / "one.zip", {"[Content_Types].xml": "x"}).read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = (60_000).to_bytes(2, "little") * 2
    forged.write_bytes(bytes(data))
    assert "it has 60,000 entries" in _refused(forged).problem


def test_lowered_limits_on_an_honest_file(gd_entry: Path) -> None:
    """Each limit names itself when a real document exceeds it."""
    per_part = _refused(gd_entry, ZipLimits(max_member_uncompressed=1_000)).problem
    assert "limit per part 1,000 bytes" in per_part
    total = _refused(gd_entry, ZipLimits(max_total_uncompressed=10_000)).problem
    assert "uncompressed in total (limit 10,000 bytes)" in total
    entries = _refused(gd_entry, ZipLimits(max_entries=3)).problem
    assert "entries (limit 3)" in entries
    assert extract_docx(gd_entry, limits=ZipLimits(max_ratio=1)).fields  # small parts exempt


def _stored_copy(source: Path, target: Path, change: Callable[[str, bytes], bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, change(info.filename, old.read(info)))
    return target


def test_corrupted_part(gd_entry: Path, tmp_path: Path) -> None:
    """A part whose bytes no longer match its CRC is refused as damaged."""
    path = _stored_copy(gd_entry, tmp_path / "bitrot.docx", lambda _, data: data)
    data = bytearray(path.read_bytes())
    at = data.find(b"SI Rakesh")
    data[at] = ord("X")
    path.write_bytes(bytes(data))
    error = _refused(path)
    assert error.problem.startswith("bitrot.docx is damaged: its part 'word/document.xml'")
    assert "CRC" in error.problem


def test_malformed_xml(gd_entry: Path, tmp_path: Path) -> None:
    """Broken XML in the main part is refused, naming the parser's error, never raising it."""

    def cut(name: str, data: bytes) -> bytes:
        return data[: len(data) // 2] if name == "word/document.xml" else data

    error = _refused(_stored_copy(gd_entry, tmp_path / "broken.docx", cut))
    assert error.problem.startswith("broken.docx could not be read as a Word document (")
    assert "XMLSyntaxError" in error.problem


def test_missing_main_part(tmp_path: Path) -> None:
    """A package whose relationships name an absent document part is refused."""
    path = _plain_zip(
        tmp_path / "hollow.docx", {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": RELS}
    )
    assert "main document part 'word/document.xml' is missing" in _refused(path).problem


def test_missing_file(tmp_path: Path) -> None:
    """A file that vanished before extraction is an ExtractionError, not an OSError."""
    assert "could not be opened" in _refused(tmp_path / "gone.docx").problem


# ---------------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("path", corpus_files())
def test_corpus_file_extracted_or_refused(path: Path) -> None:
    """Each real-world file is extracted, or, if Strict or not a package, refused with a reason."""
    try:
        extracted = extract_docx(path)
    except ExtractionError as error:
        assert error.problem.strip() and error.advice.strip()
        assert error.problem.startswith(path.name)
        assert not readable(path), f"a readable package was refused: {error.problem}"
    else:
        assert readable(path), "a Strict package, or no package at all, was extracted"
        assert isinstance(extracted, Extracted)
        assert extracted.title is None or 0 < len(extracted.title) <= 300


@pytest.mark.parametrize("corpus", corpora())
def test_corpus_counts(corpus: Corpus) -> None:
    """Every transitional package extracts; only Strict ones and non-packages refuse."""
    outcomes: Counter[str] = Counter()
    refused: dict[str, str] = {}
    for path in corpus.files:
        try:
            extract_docx(path)
            outcomes["extracted"] += 1
        except ExtractionError as error:
            outcomes["refused"] += 1
            refused[path.name] = error.problem
    unreadable = {path.name for path in corpus.files if not readable(path)}
    assert outcomes["extracted"] == len(corpus.files) - len(unreadable) > 0
    assert set(refused) == unreadable
    for path in corpus.files:
        if path.name in refused and is_package(path) and is_strict(path):
            assert "Strict Open XML" in refused[path.name]


def test_permissive_corpus_is_what_its_readme_lists() -> None:
    """tests/corpus/permissive holds exactly the README's files, sizes and producers, licensed."""
    listed = provenance()
    files = {path.name: path for path in PERMISSIVE.glob("*.docx")}
    assert sorted(files) == sorted(listed)
    for name, row in listed.items():
        assert files[name].stat().st_size == row.size, name
        assert producer(files[name]) == row.producer, name
    producers = {row.producer for row in listed.values()}
    assert {"Microsoft Office Word", "Microsoft Macintosh Word"} <= producers
    assert any(made.startswith("LibreOffice") for made in producers)
    licences = (PERMISSIVE / "LICENSES").read_text(encoding="utf-8")
    for repository in {row.repository for row in listed.values()}:
        assert repository in licences, repository
    assert "Copyright (c) 2013 Steve Canny" in licences
    assert "Copyright (c) 2013, Michael Williamson" in licences


def test_permissive_special_files() -> None:
    """Strict is refused with Save As advice; a BOM in every part and an empty document extract."""
    strict = _refused(PERMISSIVE / "mammoth_strict-format.docx")
    assert "Strict Open XML" in strict.problem
    assert '"Word Document (.docx)"' in strict.advice
    bom = extract_docx(PERMISSIVE / "mammoth_utf8-bom.docx")
    assert bom.title == "This XML has a byte order mark."
    assert bom.properties == {}  # no docProps: nothing invented
    empty = extract_docx(PERMISSIVE / "mammoth_empty.docx")
    assert (empty.title, empty.fields, empty.headings) == (None, {}, [])


def test_extended_special_files() -> None:
    """An alternate main part, ns0 prefixes and Unicode text (extended corpus) are each handled."""
    assert extract_docx(extended_file("docx", "alternate_document_path.docx")).title == "Test"
    assert extract_docx(extended_file("docx", "ns0-reference.docx")).title == "ref"
    unicode = extract_docx(extended_file("docx", "unicode.docx"))
    assert unicode.title is not None and "世界" in unicode.title and "€10" in unicode.title


# ------------------------------------------------------------------------- sidecar and name


def test_sidecar_fields(tmp_path: Path) -> None:
    """A sidecar's JSON object gives string fields; numbers and booleans become text."""
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.7\n")
    (tmp_path / "scan.pdf.json").write_text(
        '\ufeff{"case_number": "123/2026", "entry_number": 17, "amount": 1500.5, '
        '"sealed": true, "मुकदमा संख्या": "123/2026"}',
        encoding="utf-8",
    )
    assert sidecar_fields(scan) == {
        "case_number": "123/2026",
        "entry_number": "17",
        "amount": "1500.5",
        "sealed": "true",
        "मुकदमा संख्या": "123/2026",
    }


def test_no_sidecar(tmp_path: Path) -> None:
    """Without a sidecar there are no sidecar fields."""
    assert sidecar_fields(tmp_path / "scan.pdf") == {}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"case_number": "123/2026",}', "is not valid JSON"),
        ('["123/2026"]', "must hold a JSON object, not list"),
        ('"123/2026"', "must hold a JSON object, not str"),
        ('{"case": {"number": "123/2026"}}', "gives field 'case' a dict value"),
        ('{"seals": ["S-45"]}', "gives field 'seals' a list value"),
        ('{"officer": null}', "gives field 'officer' a null value"),
        ('{"amount": NaN}', "is not valid JSON"),
        ('{"a": "1", "a": "2"}', "field 'a' appears more than once"),
        ('{"": "x"}', "has a field with an empty name"),
        ("", "is not valid JSON"),
    ],
)
def test_bad_sidecar(tmp_path: Path, content: str, why: str) -> None:
    """An unusable sidecar is refused, naming the sidecar file and what is wrong."""
    (tmp_path / "scan.pdf.json").write_text(content, encoding="utf-8")
    with pytest.raises(ExtractionError) as caught:
        sidecar_fields(tmp_path / "scan.pdf")
    assert caught.value.problem.startswith("the sidecar scan.pdf.json ")
    assert why in caught.value.problem
    assert "scan.pdf.json" in caught.value.advice


def test_sidecar_not_utf8_or_too_big(tmp_path: Path) -> None:
    """A sidecar in a legacy encoding, or over 1 MiB, is refused without being parsed."""
    sidecar = tmp_path / "scan.pdf.json"
    sidecar.write_bytes('{"officer": "मोहन"}'.encode("utf-16"))
    with pytest.raises(ExtractionError, match="is not UTF-8 text"):
        sidecar_fields(tmp_path / "scan.pdf")
    sidecar.write_text('{"x": "' + "y" * (2 * MiB) + '"}')
    with pytest.raises(ExtractionError, match="is larger than"):
        sidecar_fields(tmp_path / "scan.pdf")


GD_PATTERN = re.compile(r"GD_(?P<entry_number>\d+)_(?P<date>\d{4}-\d{2}-\d{2})")


def test_filename_fields() -> None:
    """The first pattern that matches the whole stem gives its named groups."""
    patterns = [re.compile(r"DAK_(?P<dak_number>\d+)"), GD_PATTERN, re.compile(r"GD_(?P<other>.*)")]
    assert filename_fields("GD_17_2026-11-24.pdf", patterns) == {
        "entry_number": "17",
        "date": "2026-11-24",
    }


def test_filename_fields_no_match() -> None:
    """A name no pattern matches in full gives no fields."""
    assert filename_fields("GD_17_2026-11-24_copy.pdf", [GD_PATTERN]) == {}
    assert filename_fields("scan.pdf", []) == {}


def test_filename_fields_optional_group() -> None:
    """Groups that did not take part are left out."""
    pattern = re.compile(r"PP_(?P<file_number>\d+)(_(?P<applicant>[A-Za-z]+))?")
    assert filename_fields("PP_42.tif", [pattern]) == {"file_number": "42"}


def test_invalid_filename_pattern_is_refused_when_the_type_is_declared() -> None:
    """A plugin's invalid file-name pattern fails when it declares the type, naming both."""
    with pytest.raises(ValueError, match=r"'GD'.*invalid file-name pattern"):
        DocumentTypeSpec("GD", "General Diary", "record-filing", filename_patterns=("(?P<broken",))
