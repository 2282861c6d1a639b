"""The watched-folder pipeline end to end: real files dropped into inbox/<REGISTER>/, filed once.

Each test drops real files (python-docx documents, PDFs, hostile packages, links) into a fresh
workspace's inbox, runs ``ingest_once`` as the ``ingest`` service user, and checks where every
file went (processed/, duplicates/, quarantine/ with its .error.txt, or left alone), the receipts
on disk and in ``ingest_receipt``, the records and their signed events, and that the audit chain
still verifies with every blob present.  The CLI (`qms ingest`, `qms inbox status|retry`) is run
as the real executable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tracemalloc
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from qms_engine.clock import utc_now, zone
from qms_engine.ingest.inbox import COUNTS
from qms_engine.ingest.pipeline import build_steps
from qms_engine.ingest.steps import FunctionStep, Intake, Transient
from qms_engine.storage.models import DOCUMENT_TABLE, RECEIPT_TABLE
from qms_engine.testing import TEST_PASSPHRASE
from tests.corpora import (
    Corpus,
    corpora,
    is_lock_file,
    is_package,
    is_strict,
    readable,
    word_lock_file,
)
from tests.ingest_fixtures import (
    QMS,
    IngestDesk,
    counting_inflation,
    files_below,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
    sha256_file,
    write_register_docx,
)

REGISTER_FOLDERS = "SOP-DRAFTS, GD, MALKHANA, DAK, ARMS, PASSPORT"
MiB = 1024 * 1024
sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)


def _today(desk: IngestDesk) -> date:
    return utc_now().astimezone(zone(desk.office.office.timezone)).date()


def _day_folder(base: Path) -> Path:
    """The single dated folder below ``base`` (processed/GD/<date>/)."""
    (folder,) = [p for p in base.iterdir() if p.is_dir()]
    return folder


def _receipt(original: Path) -> dict[str, object]:
    receipt: dict[str, object] = json.loads(
        original.with_name(original.name + ".receipt.json").read_text("utf-8")
    )
    return receipt


def _gd_docx(path: Path, entry: str = "17") -> Path:
    return write_register_docx(
        path,
        f"GD entry {entry}",
        [
            ("Entry number", entry),
            ("Date", "2026-11-24"),
            ("Time", "10:30"),
            ("Officer", "SI Rakesh Verma"),
        ],
    )


# ------------------------------------------------------------------------------- filing


def test_gd_docx_table_is_filed_signed_and_receipted(ingest_desk: IngestDesk) -> None:
    """A GD .docx with a label|value table is filed as PS-TEST1/GD/<year>/00001 with its fields."""
    desk = ingest_desk
    dropped = _gd_docx(desk.folder("GD") / "gd-17.docx")
    sha, size = sha256_file(dropped), dropped.stat().st_size
    before = desk.count(DOCUMENT_TABLE)

    (outcome,) = desk.run()

    year = _today(desk).year
    number = f"PS-TEST1/GD/{year}/00001"
    assert (outcome.status, outcome.file, outcome.number, outcome.sha256) == (
        "filed",
        "GD/gd-17.docx",
        number,
        sha,
    )
    fields = {
        "entry_number": "17",
        "date": "2026-11-24",
        "time": "10:30",
        "officer": "SI Rakesh Verma",
    }
    assert desk.count(DOCUMENT_TABLE) == before + 1
    (record,) = desk.records("GD")
    assert (record["number"], record["serial"], record["serial_year"]) == (number, 1, year)
    assert (record["sha256"], record["title"], record["original_filename"]) == (
        sha,
        "GD entry 17",
        "gd-17.docx",
    )
    assert record["fields"] == fields
    # the original sits in processed/GD/<local date>/ with its receipt; the inbox is empty
    day = _day_folder(desk.inbox.processed / "GD")
    assert day.name == _today(desk).isoformat()
    original = day / "gd-17.docx"
    assert outcome.moved_to == str(original)
    assert sha256_file(original) == sha
    assert files_below(desk.inbox.root) == []
    receipt = _receipt(original)
    assert receipt["number"] == number and receipt["sha256"] == sha
    assert receipt["fields"] == fields
    assert (receipt["file"], receipt["register"], receipt["office"], receipt["signed_by"]) == (
        "GD/gd-17.docx",
        "GD",
        "PS-TEST1",
        "ingest",
    )
    assert receipt["title"] == "GD entry 17" and receipt["size"] == size
    # the revision's event: signed by the service user, meaning "filed", fields and source in it
    (event,) = desk.events("document.revision.filed")
    assert event["seq"] == receipt["event"]
    assert (event["actor"], event["meaning"], event["subject"]) == (
        "ingest",
        "filed",
        f"{number}#0",
    )
    assert event["payload"]["fields"] == fields
    assert event["payload"]["sha256"] == sha
    assert event["payload"]["source"]["inbox"] == "GD"
    assert event["payload"]["source"]["file"] == "gd-17.docx"
    (row,) = desk.receipts()
    assert (row["outcome"], row["number"], row["sha256"], row["folder"], row["original_name"]) == (
        "filed",
        number,
        sha,
        "GD",
        "gd-17.docx",
    )
    assert (
        row["event_seq"] == event["seq"] and row["claim_id"] == event["payload"]["source"]["claim"]
    )
    assert desk.inbox.counts()["GD"] == {
        "pending": 0,
        "in_progress": 0,
        "quarantined": 0,
        "processed": 1,
        "duplicates": 0,
        "ignored": 0,
    }
    desk.check_sound()


def test_malkhana_with_hindi_labels_is_filed(ingest_desk: IngestDesk) -> None:
    """A malkhana entry labelled in Hindi (मुकदमा संख्या, सील संख्या …) is filed with its fields."""
    desk = ingest_desk
    write_register_docx(
        desk.folder("MALKHANA") / "माल-45.docx",
        "मालखाना प्रविष्टि",
        [
            ("मुकदमा संख्या", "123/2026"),
            ("सील संख्या", "S-45"),
            ("माल का विवरण", "एक मोबाइल फोन"),
            ("जमाकर्ता अधिकारी", "SI वर्मा"),
        ],
    )
    (outcome,) = desk.run()
    number = f"PS-TEST1/MAL/{_today(desk).year}/0001"
    assert (outcome.status, outcome.number) == ("filed", number)
    (record,) = desk.records("MALKHANA")
    assert record["fields"] == {
        "case_number": "123/2026",
        "seal_number": "S-45",
        "items": "एक मोबाइल फोन",
        "depositing_officer": "SI वर्मा",
    }
    assert record["title"] == "मालखाना प्रविष्टि"
    receipt = _receipt(_day_folder(desk.inbox.processed / "MALKHANA") / "माल-45.docx")
    assert receipt["fields"] == record["fields"]
    desk.check_sound()


def test_malkhana_without_seal_is_quarantined_then_fixed_with_a_sidecar(
    ingest_desk: IngestDesk,
) -> None:
    """No seal number → quarantined at "check the entry"; a sidecar + retry files it next run."""
    desk = ingest_desk
    write_register_docx(
        desk.folder("MALKHANA") / "m-46.docx",
        "Malkhana entry",
        [("मुकदमा संख्या", "124/2026"), ("Items", "चाकू"), ("Depositing officer", "HC Yadav")],
    )
    (outcome,) = desk.run()
    assert (outcome.status, outcome.step) == ("quarantined", "check the entry")
    assert "seal_number" in (outcome.problem or "")
    held = desk.inbox.quarantine / "MALKHANA" / "m-46.docx"
    assert desk.quarantined("MALKHANA") == [held]
    note = desk.error_note(held)
    assert note["File"] == "inbox/PS-TEST1/MALKHANA/m-46.docx"
    assert note["Refused at"] == "check the entry"
    assert "the field seal_number" in note["Problem"]
    assert "case_number" not in note["Problem"]
    assert "sidecar" in note["What to do"]
    assert "qms inbox retry" in note["text"]
    assert desk.count(DOCUMENT_TABLE) == 0 and desk.receipts() == []
    assert desk.inbox.counts()["MALKHANA"]["quarantined"] == 1

    held.with_name("m-46.docx.json").write_text(json.dumps({"seal_number": "S-9"}), "utf-8")
    moved = desk.inbox.retry()
    assert moved == [desk.inbox.root / "MALKHANA" / "m-46.docx"]
    assert (desk.inbox.root / "MALKHANA" / "m-46.docx.json").is_file()
    assert files_below(desk.inbox.quarantine) == []

    (outcome,) = desk.run()
    assert (outcome.status, outcome.number) == (
        "filed",
        f"PS-TEST1/MAL/{_today(desk).year}/0001",
    )
    (record,) = desk.records("MALKHANA")
    assert record["fields"] == {
        "case_number": "124/2026",
        "items": "चाकू",
        "depositing_officer": "HC Yadav",
        "seal_number": "S-9",
    }
    day = _day_folder(desk.inbox.processed / "MALKHANA")
    assert sorted(p.name for p in day.iterdir()) == [
        "m-46.docx",
        "m-46.docx.json",
        "m-46.docx.receipt.json",
    ]
    assert files_below(desk.inbox.root) == []
    desk.check_sound()


def test_pdf_fields_come_from_its_sidecar(ingest_desk: IngestDesk) -> None:
    """A scanned PDF has no text to read: its ``<name>.json`` sidecar gives the fields."""
    desk = ingest_desk
    desk.drop("GD", "scan-0042.pdf")
    sidecar = {"entry_number": "42", "officer": "HC Mohan Lal", "title": "Night patrol"}
    (desk.inbox.root / "GD" / "scan-0042.pdf.json").write_text(json.dumps(sidecar), "utf-8")
    (outcome,) = desk.run()
    assert outcome.status == "filed"
    (record,) = desk.records("GD")
    assert record["fields"] == sidecar
    assert record["title"] == "Night patrol"
    day = _day_folder(desk.inbox.processed / "GD")
    assert (day / "scan-0042.pdf.json").is_file()
    assert _receipt(day / "scan-0042.pdf")["fields"] == sidecar
    desk.check_sound()


def test_pdf_fields_come_from_the_file_name_pattern(ingest_desk: IngestDesk) -> None:
    """``GD_17_2026-11-24.pdf`` gives register, entry number and date from its name."""
    desk = ingest_desk
    desk.drop("GD", "GD_17_2026-11-24.pdf")
    (outcome,) = desk.run()
    assert outcome.status == "filed"
    (record,) = desk.records("GD")
    assert record["fields"] == {"register": "GD", "entry_number": "17", "date": "2026-11-24"}
    assert record["title"] == "GD_17_2026-11-24"
    desk.check_sound()


# ------------------------------------------------------------------------ hostile input


def _assert_quarantined(
    desk: IngestDesk, register: str, name: str, step: str, problem: str, advice: str
) -> dict[str, str]:
    (outcome,) = desk.outcomes[-1:]
    assert (outcome.status, outcome.step) == ("quarantined", step)
    held = desk.inbox.quarantine / register / name
    assert outcome.moved_to == str(held)
    assert desk.quarantined(register) == [held]
    note = desk.error_note(held)
    assert note["File"] == f"inbox/PS-TEST1/{register}/{name}"
    assert note["Refused at"] == step
    assert problem in note["Problem"], note["Problem"]
    assert advice in note["What to do"], note["What to do"]
    assert desk.count(DOCUMENT_TABLE) == 0 and desk.receipts() == []
    assert desk.claimed() == [] and files_below(desk.inbox.root) == []
    desk.check_sound()
    return note


def test_zero_byte_file_is_quarantined(ingest_desk: IngestDesk) -> None:
    """An empty file (a scan that failed) is refused at "check file type"."""
    ingest_desk.drop("GD", "empty.pdf", b"")
    ingest_desk.run()
    _assert_quarantined(
        ingest_desk,
        "GD",
        "empty.pdf",
        "check file type",
        "empty.pdf: the file is empty (0 bytes)",
        "save it again",
    )


def test_truncated_docx_is_quarantined(ingest_desk: IngestDesk, tmp_path: Path) -> None:
    """A real .docx cut in half (copy interrupted) is refused at "read the document"."""
    whole = _gd_docx(tmp_path / "whole.docx").read_bytes()
    ingest_desk.drop("GD", "half.docx", whole[: len(whole) // 2])
    ingest_desk.run()
    _assert_quarantined(
        ingest_desk,
        "GD",
        "half.docx",
        "read the document",
        "the ZIP package is incomplete or damaged",
        "drop it again once the copy has finished",
    )


def test_non_docx_named_docx_is_quarantined(ingest_desk: IngestDesk) -> None:
    """A PDF renamed to .docx is refused by its first bytes, not filed as a Word file."""
    ingest_desk.drop("GD", "renamed.docx", pdf_bytes())
    ingest_desk.run()
    _assert_quarantined(
        ingest_desk,
        "GD",
        "renamed.docx",
        "check file type",
        "the content is not a real .docx file",
        "save it as .docx again",
    )


def test_zip_bomb_disguised_as_docx_is_quarantined_cheaply(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """A .docx whose main part holds 100 MiB of zeros is refused uninflated, in small memory."""
    bomb = ingest_desk.folder("GD") / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            zeros = bytes(MiB)
            for _ in range(100):
                member.write(zeros)
    assert bomb.stat().st_size < MiB
    tracemalloc.start()
    try:
        with counting_inflation() as inflated:
            ingest_desk.run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert inflated.bytes == 0, f"{inflated.bytes:,} bytes inflated"  # refused from its headers
    _assert_quarantined(
        ingest_desk,
        "GD",
        "bomb.docx",
        "read the document",
        "bomb.docx looks like a ZIP bomb",
        "contact the system administrator",
    )


def test_very_large_pdf_is_streamed(ingest_desk: IngestDesk) -> None:
    """A 300 MiB PDF is hashed and stored in chunks: Python's memory peak stays small."""
    desk = ingest_desk
    big = desk.folder("GD") / "big-scan.pdf"
    size = 300 * MiB
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.4\n")
        block = (b"0123456789abcdef" * 4096)[: MiB - 1] + b"\n"
        for _ in range(0, size - MiB, 16 * MiB):  # every 16th MiB written, the rest sparse
            handle.write(block)
            handle.seek(15 * MiB, os.SEEK_CUR)
        handle.truncate(size)
    sha = sha256_file(big)
    tracemalloc.start()
    try:
        (outcome,) = desk.run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (outcome.status, outcome.sha256) == ("filed", sha)
    assert peak < 24 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert desk.runtime.store.size(sha) == size
    (record,) = desk.records("GD")
    assert (record["sha256"], record["size"]) == (sha, size)
    day = _day_folder(desk.inbox.processed / "GD")
    assert (day / "big-scan.pdf").stat().st_size == size
    desk.check_sound()


@pytest.mark.parametrize(
    "name",
    [
        "प्रविष्टि १७ रोजनामचा.pdf",
        "GD entry 17 (copy).pdf",
        "clerk's copy.pdf",
        'the "final" scan.pdf',
        "a..b.pdf",
        "scan..pdf",
    ],
)
def test_odd_file_names_are_filed_under_their_own_name(ingest_desk: IngestDesk, name: str) -> None:
    """Devanagari, spaces, quotes and ``..`` inside a name are filed and kept as they are."""
    desk = ingest_desk
    dropped = desk.drop("GD", name)
    sha = sha256_file(dropped)
    (outcome,) = desk.run()
    assert (outcome.status, outcome.file) == ("filed", f"GD/{name}")
    (record,) = desk.records("GD")
    assert record["original_filename"] == name and record["sha256"] == sha
    day = _day_folder(desk.inbox.processed / "GD")
    assert sorted(p.name for p in day.iterdir()) == [name, f"{name}.receipt.json"]
    assert _receipt(day / name)["file"] == f"GD/{name}"
    desk.check_sound()


def test_hidden_temporary_and_lock_names_are_left_alone(ingest_desk: IngestDesk) -> None:
    """Lock, partial, temporary, hidden (``.x``, ``..x``) names and a lone sidecar are left alone.

    Documented behaviour (``is_ignored``/``is_sidecar``): such names are not (yet) records, so
    they are neither claimed nor counted as pending by ``qms inbox status``; they stay in the
    inbox untouched until renamed (an upload finishing) or removed.
    """
    desk = ingest_desk
    lock = word_lock_file("Constable Ramesh")
    left = {
        "~$x.docx": lock,
        "x.part": pdf_bytes("part"),
        "x.tmp": pdf_bytes("tmp"),
        ".hidden.pdf": pdf_bytes("hidden"),
        "..hidden.pdf": pdf_bytes("dotdot"),
        "orphan.pdf.json": b'{"entry_number": "1"}',
    }
    for name, data in left.items():
        desk.drop("GD", name, data)
    hidden_folder = desk.folder("GD/.scanner-tmp")
    (hidden_folder / "page.pdf").write_bytes(pdf_bytes("in hidden folder"))
    desk.drop("GD", "real.pdf")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files_below(desk.inbox.root)}

    outcomes = desk.run()

    assert [(o.status, o.file) for o in outcomes] == [("filed", "GD/real.pdf")]
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files_below(desk.inbox.root)}
    del before[desk.inbox.root / "GD" / "real.pdf"]
    assert after == before  # untouched, byte for byte
    assert desk.inbox.counts()["GD"]["pending"] == 0
    shown = [p for p in before if ".scanner-tmp" not in p.parts]  # hidden folders are not read
    assert desk.inbox.counts()["GD"]["ignored"] == len(shown)  # counted, never silently skipped
    assert desk.count(DOCUMENT_TABLE) == 1
    desk.check_sound()


def test_symlink_to_a_file_outside_is_quarantined_as_a_link_never_read(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """Links to /etc/passwd and to a FIFO are quarantined as links; neither target is opened."""
    desk = ingest_desk
    fifo = tmp_path / "outside.fifo"
    os.mkfifo(fifo)  # opening it for reading would block: proof that it is never read
    passwd = Path("/etc/passwd")
    passwd_stat = passwd.stat()
    (desk.folder("GD") / "x.pdf").symlink_to(passwd)
    (desk.folder("GD") / "y.pdf").symlink_to(fifo)
    import threading

    done = threading.Event()

    def run() -> None:
        desk.run()
        done.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)  # a deadline: two links are quarantined in well under a second
    if not done.is_set():  # release the reader, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail("the ingester opened the FIFO a link pointed at")
    assert sorted((o.status, o.file, o.step) for o in desk.outcomes) == [
        ("quarantined", "GD/x.pdf", "check file type"),
        ("quarantined", "GD/y.pdf", "check file type"),
    ]
    for name, target in (("x.pdf", passwd), ("y.pdf", fifo)):
        held = desk.inbox.quarantine / "GD" / name
        assert held.is_symlink() and os.readlink(held) == str(target)
        assert "link to a file" in desk.error_note(held)["Problem"]
    assert passwd.stat().st_ino == passwd_stat.st_ino
    assert passwd.stat().st_mtime_ns == passwd_stat.st_mtime_ns
    assert desk.count(DOCUMENT_TABLE) == 0
    assert sha256_file(passwd) not in set(desk.runtime.store.iter_hashes())
    desk.check_sound()


def test_symlinked_directory_is_not_followed(ingest_desk: IngestDesk, tmp_path: Path) -> None:
    """A link to a folder outside: a full scan leaves it alone; noticed directly, it is refused."""
    desk = ingest_desk
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes(pdf_bytes("secret"))
    link = desk.folder("GD") / "linked"
    link.symlink_to(outside, target_is_directory=True)

    assert desk.run() == []  # the rescan (os.walk, followlinks=False) does not enter it
    assert link.is_symlink()
    assert desk.inbox.counts()["GD"]["pending"] == 0
    # watchdog reports a new link as a created *file*: the runner notes that path itself
    (outcome,) = desk.run(link)
    assert (outcome.status, outcome.step) == ("quarantined", "check file type")
    held = desk.inbox.quarantine / "GD" / "linked"
    assert held.is_symlink() and os.readlink(held) == str(outside)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.pdf"]
    assert (outside / "secret.pdf").read_bytes() == pdf_bytes("secret")
    assert desk.count(DOCUMENT_TABLE) == 0
    desk.check_sound()


def test_scanner_folder_files_are_filed_with_their_path(ingest_desk: IngestDesk) -> None:
    """A scanner's per-scan folders: every page filed; the receipt keeps the path below inbox/GD."""
    desk = ingest_desk
    for scan in ("scan-0012", "scan-0013"):
        for page in ("page1.pdf", "page2.pdf"):
            desk.drop("GD", f"{scan}/{page}", pdf_bytes(f"{scan} {page}"))
    outcomes = desk.run()
    assert Counter(o.status for o in outcomes) == {"filed": 4}
    assert sorted(o.file for o in outcomes) == [
        "GD/scan-0012/page1.pdf",
        "GD/scan-0012/page2.pdf",
        "GD/scan-0013/page1.pdf",
        "GD/scan-0013/page2.pdf",
    ]
    day = _day_folder(desk.inbox.processed / "GD")
    originals = sorted(p for p in day.iterdir() if p.suffix == ".pdf")
    assert [p.name for p in originals] == [
        "page1 (2).pdf",
        "page1.pdf",
        "page2 (2).pdf",
        "page2.pdf",
    ]
    by_file = {str(_receipt(p)["file"]): p for p in originals}
    assert sorted(by_file) == sorted(o.file for o in outcomes)
    for file, original in by_file.items():
        scan, page = file.split("/")[1:]
        assert original.read_bytes() == pdf_bytes(f"{scan} {page}")
    assert sorted(r["original_name"] for r in desk.receipts()) == [
        "scan-0012/page1.pdf",
        "scan-0012/page2.pdf",
        "scan-0013/page1.pdf",
        "scan-0013/page2.pdf",
    ]
    assert not [p for p in files_below(desk.inbox.root) if p.is_file()]
    desk.check_sound()


@pytest.mark.parametrize(("place", "folder"), [("FOO/x.pdf", "FOO"), ("x.pdf", "UNSORTED")])
def test_file_outside_a_register_folder_is_quarantined_with_the_list(
    ingest_desk: IngestDesk, place: str, folder: str
) -> None:
    """inbox/PS-TEST1/FOO/ or inbox/PS-TEST1/ itself: quarantined at "find the register",
    naming the office's register folders."""
    desk = ingest_desk
    path = desk.inbox.root / place
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf_bytes())
    (outcome,) = desk.run()
    assert (outcome.status, outcome.step, outcome.file) == (
        "quarantined",
        "find the register",
        f"{folder}/x.pdf",
    )
    held = desk.inbox.quarantine / folder / "x.pdf"
    note = desk.error_note(held)
    assert note["Problem"] == f"inbox/PS-TEST1/{folder}/ is not a register folder"
    assert note["What to do"] == f"drop the file into one of inbox/PS-TEST1/: {REGISTER_FOLDERS}"
    assert desk.inbox.counts()[folder]["quarantined"] == 1
    assert desk.count(DOCUMENT_TABLE) == 0
    desk.check_sound()


def test_unknown_folder_note_does_not_send_the_file_back_there(ingest_desk: IngestDesk) -> None:
    """The note for inbox/PS-TEST1/FOO/ tells the clerk to place the file, not to drop it
    there again."""
    desk = ingest_desk
    desk.drop("FOO", "x.pdf")
    desk.run()
    note = desk.error_note(desk.inbox.quarantine / "FOO" / "x.pdf")
    assert "inbox/PS-TEST1/FOO/." not in note["text"]
    assert "qms inbox retry" not in note["text"]
    assert note["text"].rstrip().endswith("Then move it into the right inbox folder yourself.")


def test_retry_leaves_a_file_in_no_register_for_a_person(ingest_desk: IngestDesk) -> None:
    """`qms inbox retry` does not send a file refused for its folder back into that folder."""
    desk = ingest_desk
    desk.drop("FOO", "x.pdf")
    desk.run()
    desk.inbox.retry()
    assert not (desk.inbox.root / "FOO" / "x.pdf").exists()
    assert desk.quarantined("FOO") == [desk.inbox.quarantine / "FOO" / "x.pdf"]


def test_same_file_dropped_twice_is_set_aside_as_a_duplicate(ingest_desk: IngestDesk) -> None:
    """The second copy goes to duplicates/ with a note naming the first record; no second record."""
    desk = ingest_desk
    data = pdf_bytes("GD 17")
    desk.drop("GD", "gd-17.pdf", data)
    (first,) = desk.run()
    desk.drop("GD", "gd-17.pdf", data)
    desk.drop("GD", "gd-17 copy.pdf", data)
    second = desk.run()
    number = f"PS-TEST1/GD/{_today(desk).year}/00001"
    assert first.status == "filed" and first.number == number
    assert sorted((o.status, o.file, o.number) for o in second) == [
        ("duplicate", "GD/gd-17 copy.pdf", number),
        ("duplicate", "GD/gd-17.pdf", number),
    ]
    assert desk.count(DOCUMENT_TABLE) == 1
    day = _day_folder(desk.inbox.duplicates / "GD")
    for name in ("gd-17.pdf", "gd-17 copy.pdf"):
        assert (day / name).read_bytes() == data
        text = (day / f"{name}.duplicate.txt").read_text("utf-8")
        assert f"Identical to {number}" in text and sha256_file(day / name) in text
    events = desk.events("ingest.duplicate.set_aside")
    assert [(e["subject"], e["actor"]) for e in events] == [(number, "ingest")] * 2
    assert sorted(e["payload"]["file"] for e in events) == ["gd-17 copy.pdf", "gd-17.pdf"]
    assert Counter(r["outcome"] for r in desk.receipts()) == {"filed": 1, "duplicate": 2}
    assert desk.inbox.counts()["GD"]["duplicates"] == 2
    assert desk.inbox.counts()["GD"]["processed"] == 1
    desk.check_sound()


def test_same_content_in_two_registers_is_filed_in_both(ingest_desk: IngestDesk) -> None:
    """Duplicates are per register: one scan dropped in GD and in DAK is filed in each."""
    desk = ingest_desk
    data = pdf_bytes("letter")
    desk.drop("GD", "letter.pdf", data)
    desk.drop("DAK", "letter.pdf", data)
    outcomes = desk.run()
    year = _today(desk).year
    assert sorted((o.status, o.number) for o in outcomes) == [
        ("filed", f"PS-TEST1/DAK/{year}/00001"),
        ("filed", f"PS-TEST1/GD/{year}/00001"),
    ]
    assert desk.events("ingest.duplicate.set_aside") == []
    desk.check_sound()


@sqlite_only
def test_a_thousand_files_at_once(ingest_desk: IngestDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 files dropped at once: 1,000 records numbered 1…1000, receipts, nothing left over.

    fsync is made a no-op here (it is ~85 % of the time on this disk): this test is about
    counting and numbering; durability under kill -9 is tested in test_ingest_crash.py.
    """
    desk = ingest_desk
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    for index in range(1000):
        desk.drop("GD", f"entry-{index:04d}.pdf", pdf_bytes(f"entry {index}"))
    outcomes = desk.run()
    assert Counter(o.status for o in outcomes) == {"filed": 1000}
    records = desk.records("GD")
    assert len(records) == 1000
    assert sorted(r["serial"] for r in records) == list(range(1, 1001))
    assert len({r["number"] for r in records}) == 1000
    assert len({r["sha256"] for r in records}) == 1000
    assert files_below(desk.inbox.root) == []
    assert desk.claimed() == []
    assert desk.count(RECEIPT_TABLE) == 1000
    day = _day_folder(desk.inbox.processed / "GD")
    assert len(list(day.glob("*.pdf"))) == 1000
    assert len(list(day.glob("*.pdf.receipt.json"))) == 1000
    assert desk.inbox.counts()["GD"]["processed"] == 1000
    desk.check_sound()


# ------------------------------------------------------------------------------ bugs found


def test_retry_never_deletes_a_quarantined_file_named_like_a_note(ingest_desk: IngestDesk) -> None:
    """A refused file called ``a.error.txt`` comes back to the inbox on retry; nothing is lost."""
    desk = ingest_desk  # SOP drafts are .docx or .pdf (a register takes typed .txt entries)
    desk.drop("SOP-DRAFTS", "a.error.txt", b"the clerk's own text")
    (outcome,) = desk.run()
    assert outcome.status == "quarantined"
    assert desk.inbox.retry() == [desk.inbox.root / "SOP-DRAFTS" / "a.error.txt"]
    assert (desk.inbox.root / "SOP-DRAFTS" / "a.error.txt").read_bytes() == b"the clerk's own text"
    assert files_below(desk.inbox.quarantine) == []


def test_a_note_never_overwrites_a_quarantined_file(ingest_desk: IngestDesk) -> None:
    """``b.pdf.error.txt`` refused first, then ``b.pdf`` refused: both files survive."""
    desk = ingest_desk
    desk.drop("SOP-DRAFTS", "b.pdf.error.txt", b"the clerk's own text")
    desk.run()
    desk.drop("SOP-DRAFTS", "b.pdf", b"")
    desk.run()
    texts = [p.read_bytes() for p in files_below(desk.inbox.quarantine / "SOP-DRAFTS")]
    assert b"the clerk's own text" in texts


@sqlite_only
def test_a_transient_trouble_in_a_long_batch_does_not_crash_ingest_once(
    ingest_desk: IngestDesk,
) -> None:
    """A busy file retried after a batch longer than its back-off is filed; no ValueError."""
    desk = ingest_desk
    busy = desk.drop("GD", "busy.pdf")
    slow = desk.drop("GD", "slow.pdf")
    tries: Counter[str] = Counter()

    def flaky(intake: Intake, _context: object) -> None:
        name = intake.claim.path.name
        tries[name] += 1
        if name == "busy.pdf" and tries[name] == 1:
            raise Transient("busy.pdf: file in use by the scanner")
        if name == "slow.pdf":
            desk.clock.advance(1.2)  # the rest of the batch outlasts busy.pdf's 1 s back-off

    steps = [FunctionStep("wait for the scanner", flaky), *build_steps(desk.runtime)]
    desk.run(busy, slow, steps=steps)
    assert sorted((o.status, o.file) for o in desk.outcomes) == [
        ("filed", "GD/busy.pdf"),
        ("filed", "GD/slow.pdf"),
        ("waiting", "GD/busy.pdf"),
    ]


def test_a_long_devanagari_name_gets_its_receipt(ingest_desk: IngestDesk) -> None:
    """A 244-byte Devanagari file name is filed with a receipt beside the original."""
    desk = ingest_desk
    name = "अ" * 80 + ".pdf"
    assert len(name.encode()) == 244
    desk.drop("GD", name)
    outcomes = desk.run()
    assert [o.status for o in outcomes] == ["filed"]
    assert desk.inbox.counts()["GD"]["processed"] == 1
    day = _day_folder(desk.inbox.processed / "GD")
    (receipt,) = day.glob("*.receipt.json")  # shortened to fit 255 bytes, keeping the start
    assert len(receipt.name.encode()) <= 255 and receipt.name.startswith("अ" * 70)
    assert json.loads(receipt.read_text("utf-8"))["file"] == f"GD/{name}"


# -------------------------------------------------------------------------------- the CLI


def _qms(desk: IngestDesk, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QMS_PASSPHRASE": TEST_PASSPHRASE, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("QMS_WORKSPACE", None)
    return subprocess.run(
        [str(QMS), "--workspace", str(desk.root), *args],
        cwd=desk.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_ingest_status_and_retry(ingest_desk: IngestDesk) -> None:
    """`qms ingest --json` (exit 5 on quarantine, 0 when all filed), `inbox status`, `retry`."""
    desk = ingest_desk
    desk.drop("GD", "good.pdf")
    desk.drop("GD", "empty.pdf", b"")
    desk.drop("DAK", "letter.pdf")
    desk.drop("GD", "x.part", b"still uploading")

    run = _qms(desk, "ingest", "inbox", "--as", "ingest", "--settle", "0", "--json")
    assert run.returncode == 5, run.stderr
    assert {line["office"] for line in map(json.loads, run.stdout.splitlines())} == {"PS-TEST1"}
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert sorted((line["status"], line["file"]) for line in lines) == [
        ("filed", "DAK/letter.pdf"),
        ("filed", "GD/good.pdf"),
        ("quarantined", "GD/empty.pdf"),
    ]
    assert "1 file(s) quarantined, 0 waiting" in run.stderr
    log = (desk.root / "logs" / "ingest.jsonl").read_text("utf-8").splitlines()
    assert len(log) == 3

    status = _qms(desk, "inbox", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) == {"PS-TEST1": desk.inbox.counts()}
    counts = desk.inbox.counts()
    assert counts["GD"] == {
        "pending": 0,
        "in_progress": 0,
        "quarantined": 1,
        "processed": 1,
        "duplicates": 0,
        "ignored": 1,  # x.part, still uploading
    }
    assert counts["DAK"]["processed"] == 1
    assert sorted(counts) == sorted(REGISTER_FOLDERS.split(", "))

    retry = _qms(desk, "inbox", "retry")
    assert retry.returncode == 0, retry.stderr
    assert "1 file(s) will be processed again" in retry.stdout
    back = desk.inbox.root / "GD" / "empty.pdf"
    assert back.exists() and files_below(desk.inbox.quarantine) == []
    assert json.loads(_qms(desk, "inbox", "status", "--json").stdout)["PS-TEST1"]["GD"] == {
        **dict.fromkeys(COUNTS, 0),
        "pending": 1,
        "processed": 1,
        "ignored": 1,
    }

    back.write_bytes(pdf_bytes("rescanned"))
    run = _qms(desk, "ingest", "inbox/PS-TEST1/GD", "--as", "ingest", "--settle", "0", "--json")
    assert run.returncode == 0, run.stderr
    ((line),) = [json.loads(text) for text in run.stdout.splitlines()]
    assert (line["status"], line["file"]) == ("filed", "GD/empty.pdf")
    assert line["number"] == f"PS-TEST1/GD/{_today(desk).year}/00002"
    assert (desk.inbox.root / "GD" / "x.part").read_bytes() == b"still uploading"
    desk.check_sound()


def test_cli_ingest_refuses_a_path_outside_the_inbox(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """`qms ingest /elsewhere/x.pdf` is refused as a usage error (exit 2); the file stays put."""
    outside = tmp_path / "x.pdf"
    outside.write_bytes(pdf_bytes())
    run = _qms(ingest_desk, "ingest", str(outside), "--as", "ingest", "--settle", "0")
    assert run.returncode == 2
    assert "is not inside the inbox" in run.stderr
    assert outside.read_bytes() == pdf_bytes()
    assert ingest_desk.count(DOCUMENT_TABLE) == 0


# ------------------------------------------------------------------------------ the corpus


@sqlite_only
@pytest.mark.parametrize("corpus", corpora())
def test_every_corpus_docx_is_filed_or_quarantined_with_a_reason(
    ingest_desk: IngestDesk, corpus: Corpus
) -> None:
    """A corpus of real .docx (and lock files) dropped into inbox/DAK/: none lost, none crashes."""
    desk = ingest_desk
    folder = desk.folder("DAK")
    for source in corpus.files:
        shutil.copyfile(source, folder / source.name)
        (folder / source.name).chmod(0o644)
    locks = {p.name: p.read_bytes() for p in folder.iterdir() if is_lock_file(p)}
    documents = corpus.documents
    assert documents

    outcomes = desk.run()

    assert sorted(o.file for o in outcomes) == sorted(f"DAK/{s.name}" for s in documents)
    tally = Counter(o.status for o in outcomes)
    refused = {o.file: f"{o.step}: {o.problem}" for o in outcomes if o.status == "quarantined"}
    duplicates = {o.file: o.number for o in outcomes if o.status == "duplicate"}
    print(f"\ncorpus: {dict(tally)}; quarantined: {refused}; duplicates: {duplicates}")
    assert "waiting" not in tally
    for file, reason in refused.items():
        name = file.removeprefix("DAK/")
        note = desk.error_note(desk.inbox.quarantine / "DAK" / name)
        assert note["Problem"] and note["What to do"], file
        assert reason.endswith(note["Problem"])
    for name, data in locks.items():  # lock files are left alone, untouched
        assert (folder / name).read_bytes() == data
    assert [p.name for p in files_below(desk.inbox.root)] == sorted(locks)
    counts = desk.inbox.counts()["DAK"]
    assert counts["processed"] == tally["filed"] == desk.count(DOCUMENT_TABLE)
    assert counts["quarantined"] == tally["quarantined"]
    assert counts["duplicates"] == tally["duplicate"]
    assert counts["pending"] == 0
    # every original is in exactly one of processed/, duplicates/, quarantine/, byte for byte
    kept = [
        p
        for base in (desk.inbox.processed, desk.inbox.duplicates, desk.inbox.quarantine)
        for p in files_below(base / "DAK")
        if not p.name.endswith((".receipt.json", ".duplicate.txt", ".error.txt"))
    ]
    assert sorted(p.name for p in kept) == sorted(s.name for s in documents)
    assert Counter(sha256_file(p) for p in kept) == Counter(sha256_file(s) for s in documents)
    # what each file is says where it goes: Strict and broken packages are refused, the rest
    # filed once per distinct content (a second copy of the same bytes is a duplicate)
    unreadable = {s.name for s in documents if not readable(s)}
    assert {file.removeprefix("DAK/") for file in refused} == unreadable
    for name in unreadable:
        held = desk.inbox.quarantine / "DAK" / name
        if is_package(held) and is_strict(held):
            assert "Strict Open XML" in refused[f"DAK/{name}"]
    distinct = {sha256_file(s) for s in documents if readable(s)}
    assert tally["filed"] == len(distinct)
    assert tally["duplicate"] == len(documents) - len(unreadable) - len(distinct)
    filed_numbers = {o.number for o in outcomes if o.status == "filed"}
    assert set(duplicates.values()) <= filed_numbers
    desk.check_sound()
