"""`qms search`: numbers, titles, register fields and .docx text, in Hindi and English, found
by the database's own full-text index (SQLite FTS5, PostgreSQL tsvector), on both databases.

The Devanagari tests are the point: FTS5's default tokenizer cuts Hindi words at every vowel
sign (matra), virama and nukta, so ``मालखाना`` would be indexed as ``म``/``लख``/``न`` and a
search for ``मिल`` would find ``माला``.  Words here must be found whole, and only whole.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import docx
import pytest
import sqlalchemy.exc
from click.testing import CliRunner
from sqlalchemy import text

from qms_engine.cli import cli
from qms_engine.clock import zone
from qms_engine.errors import InvalidInput
from qms_engine.search.index import reindex
from qms_engine.search.query import SearchResults, search
from qms_engine.search.text import MAX_XML_BYTES, UnreadableText, docx_text, lexemes
from qms_engine.storage.models import SEARCH_INDEX
from qms_engine.testing import TestOffice
from tests.test_cli import invoke, run

if TYPE_CHECKING:
    from tests.conftest import Desk

CORPUS = Path(__file__).parent / "corpus" / "permissive"
sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)

HINDI_SOP = (
    "मालखाना रजिस्टर में प्रत्येक प्रविष्टि की जाँच प्रभारी अधिकारी करेंगे।",
    "प्रथम सूचना रिपोर्ट दर्ज होते ही शिकायत की प्रति शिकायतकर्ता को दी जाएगी।",
    "थाना क्षेत्र में गश्त का विवरण श्रीमान् थानाध्यक्ष को भेजा जाएगा।",
)


def found(results: SearchResults) -> list[tuple[str, int]]:
    """(number, revision) of each hit, in the order given."""
    return [(hit.number, hit.revno) for hit in results.hits]


def numbers(office: TestOffice, query: str, **filters: object) -> list[str]:
    """The document numbers a search in the test office finds."""
    results = search(office.runtime, office.office, query, **filters)  # type: ignore[arg-type]
    return [hit.number for hit in results.hits]


def pdf(path: Path) -> Path:
    """A minimal file that passes as a PDF (a scan: no text of its own)."""
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")
    return path


def file_malkhana(desk: Desk, path: Path, **fields: str) -> str:
    """File a malkhana entry as the clerk; returns its number."""
    title = "ज़ब्त मोटरसाइकिल (seized motorcycle)"
    deposit = {"items": "motorcycle", "depositing_officer": "SI Verma"}
    return desk.file_record(title, type_code="MALKHANA", path=path, fields={**deposit, **fields})


def docx_with_table(path: Path, rows: list[tuple[str, str]]) -> Path:
    """A real .docx holding a two-column table (as GD and malkhana forms are kept)."""
    document = docx.Document()
    document.add_paragraph("सामान्य दैनिकी")
    table = document.add_table(rows=0, cols=2)
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    document.save(str(path))
    return path


def drop_index(office: TestOffice) -> None:
    """Empty the search index, as a workspace upgraded from before search has it."""
    with office.runtime.engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {SEARCH_INDEX}"))


# ------------------------------------------------------------------------------ the words


def test_devanagari_words_keep_their_vowel_signs_and_conjuncts() -> None:
    """Matras, the virama, the nukta and conjuncts stay inside their word; ZWJ is dropped."""
    assert lexemes("मालखाना, प्रथम सूचना रिपोर्ट। शिकायत क्ष\u200dेत्र ज़ब्त") == [
        "मालखाना",
        "प्रथम",
        "सूचना",
        "रिपोर्ट",
        "शिकायत",
        "क्षेत्र",
        "ज़ब्त",
    ]


def test_numbers_and_latin_text_split_at_punctuation_and_lose_case_and_accents() -> None:
    """112/2026 and S-0457 are two words each; Café is cafe; an underscore separates."""
    assert lexemes("FIR 112/2026, Seal S-0457 Café case_number") == [
        "fir",
        "112",
        "2026",
        "seal",
        "s",
        "0457",
        "cafe",
        "case",
        "number",
    ]


@sqlite_only
def test_sqlite_index_tokenizes_as_the_query_does(qms_office: TestOffice, desk: Desk) -> None:
    """FTS5 (in C) makes exactly the words :func:`lexemes` makes (in Python) of the same text."""
    sample = " ".join([*HINDI_SOP, "FIR 112/2026 S-0457 Café naïve ÉCOLE ज़ब्त क्ष\u200dेत्र"])
    desk.new_sop("शब्द", path=desk.make_docx("words.docx", "शब्द", sample))
    connection = sqlite3.connect(qms_office.root / "qms.sqlite3")
    try:
        connection.execute(
            f"CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, {SEARCH_INDEX}, row)"
        )
        indexed = {row[0] for row in connection.execute("SELECT term FROM temp.words")}
    finally:
        connection.close()
    assert indexed == set(lexemes(" ".join([sample, "शब्द", "PS-TEST1/SOP/001", "words.docx"])))


# ----------------------------------------------------------------------- finding documents


def test_hindi_words_in_a_docx_are_found_whole(qms_office: TestOffice, desk: Desk) -> None:
    """Words with matras and conjuncts are found; a fragment or a word differing only in its
    vowel signs is not."""
    number = desk.new_sop("गश्त प्रक्रिया", path=desk.make_docx("h.docx", "गश्त प्रक्रिया", *HINDI_SOP))
    for query in ("मालखाना", "शिकायत", "प्रथम सूचना रिपोर्ट", "क्षेत्र", "श्रीमान्", "मालख*"):
        assert numbers(qms_office, query) == [number], query
    for query in ("मालख", "मिल", "माल", "सूचनाएँ", '"रिपोर्ट प्रथम"'):
        assert numbers(qms_office, query) == [], query


def test_english_text_is_found_in_any_case(qms_office: TestOffice, desk: Desk) -> None:
    """English words are found whatever their case, and a phrase only in its order."""
    path = desk.make_docx("e.docx", "Beat duty", "Night patrol registers are checked DAILY.")
    number = desk.new_sop("Beat duty", path=path)
    assert numbers(qms_office, "daily PATROL") == [number]
    assert numbers(qms_office, '"night patrol"') == [number]
    assert numbers(qms_office, '"patrol night"') == []


def test_table_cells_of_a_docx_are_found(
    qms_office: TestOffice, tmp_path: Path, desk: Desk
) -> None:
    """Text in a .docx table (label | value rows) is indexed too."""
    path = docx_with_table(tmp_path / "gd.docx", [("अधिकारी", "उप निरीक्षक राकेश वर्मा")])
    number = desk.new_sop("GD form", path=path)
    assert numbers(qms_office, "राकेश वर्मा") == [number]


def test_register_fields_are_found_and_shown(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """Case/FIR number, seal number, officer and date of a record (a scan with no text) are
    found, by the whole value or any part of it, and the snippet names the field."""
    number = file_malkhana(
        desk,
        pdf(tmp_path / "seizure.pdf"),
        case_number="112/2026",
        seal_number="S-0457",
        officer="उ.नि. राकेश वर्मा",
        date="2026-03-14",
    )
    for query in ("112/2026", "0457", "S-0457", "वर्मा", "2026-03-14", "seizure", "मोटरसाइकिल"):
        assert numbers(qms_office, query) == [number], query
    (hit,) = search(qms_office.runtime, qms_office.office, "S-0457").hits
    assert "seal_number: S-0457" in hit.snippet
    assert [hit.snippet[start:end] for start, end in hit.highlights] == ["S-0457"]


def test_numbers_and_titles_are_found(qms_office: TestOffice, desk: Desk) -> None:
    """A document number, or its distinctive part, finds the document."""
    first = desk.new_sop("Station office procedure")
    second = desk.new_sop("Arms and ammunition upkeep")
    assert numbers(qms_office, first) == [first]
    assert numbers(qms_office, "SOP/002") == [second]
    assert numbers(qms_office, "ammunition") == [second]


def test_snippet_shows_the_words_around_the_match(qms_office: TestOffice, desk: Desk) -> None:
    """The snippet is the match in its sentence, cut with … in a long text, match marked."""
    filler = " ".join(["अन्य पाठ"] * 200)
    path = desk.make_docx("long.docx", "लंबा", filler, HINDI_SOP[1], filler)
    desk.new_sop("लंबा", path=path)
    (hit,) = search(qms_office.runtime, qms_office.office, "शिकायत").hits
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert "प्रथम सूचना रिपोर्ट दर्ज होते ही शिकायत" in hit.snippet
    assert {hit.snippet[start:end] for start, end in hit.highlights} == {"शिकायत"}
    assert len(hit.snippet) < 250


def test_relevance_then_newest_first(qms_office: TestOffice, desk: Desk) -> None:
    """A match in the title ranks above one in the text; equal matches show the newest first."""
    in_text = desk.new_sop("Register upkeep", path=desk.make_docx("t.docx", "x", "Malkhana."))
    older = desk.new_sop("Malkhana procedure")
    newer = desk.new_sop("Malkhana procedure")
    assert numbers(qms_office, "malkhana") == [newer, older, in_text]


# ------------------------------------------------------------------------------- filters


def test_type_state_and_day_filters(qms_office: TestOffice, desk: Desk, tmp_path: Path) -> None:
    """--type and --state (the revision's state now) and the office's days narrow a search."""
    sop = desk.new_sop("मालखाना प्रबंधन")
    record = file_malkhana(desk, pdf(tmp_path / "m.pdf"), case_number="7/2026", seal_number="S-1")
    assert numbers(qms_office, "मालखाना") == [sop]
    assert numbers(qms_office, "मोटरसाइकिल", type_code="malkhana") == [record]
    assert numbers(qms_office, "मालखाना", type_code="MALKHANA") == []
    assert numbers(qms_office, "मालखाना", state="effective") == []
    desk.issue(sop)
    assert numbers(qms_office, "मालखाना", state="effective") == [sop]
    (hit,) = search(qms_office.runtime, qms_office.office, "प्रबंधन").hits
    day = hit.created_at.astimezone(zone(qms_office.office.timezone)).date()
    assert numbers(qms_office, "प्रबंधन", since=day, until=day) == [sop]
    assert numbers(qms_office, "प्रबंधन", since=day + timedelta(days=1)) == []
    assert numbers(qms_office, "प्रबंधन", until=day - timedelta(days=1)) == []


def test_unknown_type_or_state_lists_the_valid_ones(qms_office: TestOffice) -> None:
    """An unknown --type or --state is a usage error naming what may be given."""
    with pytest.raises(InvalidInput, match=r"'FOO'.*MALKHANA, PASSPORT, SOP"):
        search(qms_office.runtime, qms_office.office, "x", type_code="FOO")
    with pytest.raises(InvalidInput, match=r"'in-review'.*in_review") as refused:
        search(qms_office.runtime, qms_office.office, "x", state="in-review")
    assert refused.value.hint == "did you mean 'in_review'?"


def test_any_text_is_a_valid_query(qms_office: TestOffice, desk: Desk) -> None:
    """FTS5 and tsquery syntax typed by a user is searched as text, never an error."""
    number = desk.new_sop("AND OR NOT near procedure")
    for query in ('procedure "', "AND", "NOT OR", "NEAR(", "near:1", "(procedure)", "a&b|!c"):
        search(qms_office.runtime, qms_office.office, query)
    assert numbers(qms_office, "NOT") == [number]
    assert numbers(qms_office, 'procedure "') == [number]
    for nothing in ('"', "***", "  ", "।"):
        with pytest.raises(InvalidInput, match="nothing to search for"):
            search(qms_office.runtime, qms_office.office, nothing)


# ------------------------------------------------------------------ the index as a record


@sqlite_only
def test_a_failed_filing_leaves_nothing_in_the_index(
    qms_office: TestOffice, desk: Desk, raw_sqlite: Callable[[str], None]
) -> None:
    """The index entry is written in the revision's transaction: rolled back with it."""
    raw_sqlite(
        "CREATE TRIGGER fail BEFORE INSERT ON event WHEN NEW.action = "
        "'document.revision.created' BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )
    with pytest.raises((sqlite3.IntegrityError, sqlalchemy.exc.IntegrityError), match="injected"):
        desk.new_sop("मालखाना प्रबंधन")
    raw_sqlite("DROP TRIGGER fail")
    with qms_office.runtime.engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {SEARCH_INDEX}")).scalar() == 0


def test_unreadable_docx_is_filed_and_found_by_its_title(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """A .docx whose text cannot be read is still filed, and indexed without its text."""
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(broken, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", '<!DOCTYPE x [<!ENTITY a "मालखाना">]><x>&a;</x>')
    number = desk.new_sop("टूटी फ़ाइल", path=broken)
    assert numbers(qms_office, "टूटी") == [number]
    assert numbers(qms_office, "मालखाना") == []


def test_reindex_rebuilds_a_lost_index(qms_office: TestOffice, desk: Desk, tmp_path: Path) -> None:
    """An empty index (a workspace from before search) is reported, and rebuilt from the
    revisions and their stored files by reindex."""
    sop = desk.new_sop("गश्त", path=desk.make_docx("g.docx", "गश्त", *HINDI_SOP))
    record = file_malkhana(desk, pdf(tmp_path / "m.pdf"), case_number="9/2026", seal_number="S-9")
    drop_index(qms_office)
    lost = search(qms_office.runtime, qms_office.office, "शिकायत")
    assert (lost.hits, lost.unindexed) == ([], 2)
    assert reindex(qms_office.runtime.engine, qms_office.runtime.store) == 2
    again = search(qms_office.runtime, qms_office.office, "शिकायत")
    assert (found(again), again.unindexed) == ([(sop, 0)], 0)
    assert numbers(qms_office, "9/2026") == [record]


def test_a_long_document_is_indexed_within_limits_never_refused(
    qms_office: TestOffice, desk: Desk
) -> None:
    """A document of some 200,000 characters of distinct words is filed; its words are found
    (on PostgreSQL up to the size a tsvector may have)."""
    text = " ".join(f"w{n}" for n in range(30_000))
    number = desk.new_sop("Long", path=desk.make_docx("long.docx", "Long", text))
    assert numbers(qms_office, "w0") == numbers(qms_office, "w20000") == [number]


# --------------------------------------------------------------------- reading .docx text


def test_docx_text_reads_every_real_document_or_says_why_not() -> None:
    """Every .docx of the permissive corpus gives its text, or UnreadableText, never a crash."""
    read = 0
    for path in sorted(CORPUS.glob("*.docx")):
        with path.open("rb") as handle:
            try:
                assert isinstance(docx_text(handle), str)
                read += 1
            except UnreadableText as why:
                assert str(why), path.name
    assert read > 20


def word_package(*xml: bytes) -> io.BytesIO:
    """A ZIP holding ``word/document.xml`` made of ``xml`` (compressed, as Word writes it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/document.xml", b"".join(xml))
    return buffer


WORD_BODY = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
PARAGRAPH = b"<w:p><w:r><w:t>ab</w:t></w:r></w:p>"


def test_docx_text_is_capped() -> None:
    """At most ``limit`` characters of text are kept, a paragraph a line."""
    read = docx_text(word_package(WORD_BODY, PARAGRAPH * 1_000), limit=1_000)
    assert (len(read), read[:6]) == (1_000, "ab\nab\n")


def test_docx_main_part_is_decompressed_only_up_to_its_bound() -> None:
    """Text after MAX_XML_BYTES of the main part (a ZIP bomb's padding) is never reached."""
    padded = word_package(WORD_BODY, PARAGRAPH, b" " * MAX_XML_BYTES, PARAGRAPH, b"</w:document>")
    assert docx_text(padded) == "ab"


# ---------------------------------------------------------------------------- the command


def test_search_command_prints_hits_and_json(qms_office: TestOffice, desk: Desk) -> None:
    """`qms search` lists number, revision, type, state, title and snippet; --json the same."""
    number = desk.new_sop("गश्त प्रक्रिया", path=desk.make_docx("c.docx", "गश्त", *HINDI_SOP))
    shown = invoke("-w", qms_office.root, "search", "शिकायत")
    assert f"{number}  rev 0  SOP  draft" in shown
    assert "गश्त प्रक्रिया" in shown and "शिकायत" in shown
    (hit,) = json.loads(invoke("-w", qms_office.root, "search", "शिकायत", "--json"))["hits"]
    assert (hit["number"], hit["revno"], hit["type_code"], hit["state"]) == (
        number,
        0,
        "SOP",
        "draft",
    )
    assert hit["snippet"][slice(*hit["highlights"][0])] == "शिकायत"
    assert "Nothing in PS-TEST1 matches 'दहेज'." in invoke("-w", qms_office.root, "search", "दहेज")


def test_search_command_reindexes(qms_office: TestOffice, desk: Desk) -> None:
    """`qms search --reindex` rebuilds the index; with TEXT it then searches."""
    number = desk.new_sop("मालखाना प्रबंधन")
    drop_index(qms_office)
    assert json.loads(invoke("-w", qms_office.root, "search", "--reindex", "--json")) == {
        "reindexed": 1
    }
    assert number in invoke("-w", qms_office.root, "search", "--reindex", "प्रबंधन")


def test_search_command_refuses_unknown_filters_with_exit_code_2(qms_office: TestOffice) -> None:
    """An unknown --state is exit code 2, naming the valid states; no TEXT is a usage error."""
    refused = run("-w", qms_office.root, "search", "x", "--state", "in-review")
    assert refused.returncode == 2, refused.stderr
    assert "in_review" in refused.stderr and "effective" in refused.stderr
    assert CliRunner().invoke(cli, ["-w", str(qms_office.root), "search"]).exit_code == 2
