"""Hostile and careless input to the inbox: no traceback, nothing escapes, nothing lost.

Each test drops real files (a second name kept through a hard link, names of 251-255 bytes, a
named pipe, password-protected and legacy Word files, odd sidecars, control characters in
names) into a fresh workspace and runs the real pipeline, in process or as the real `qms`
executable, and checks where every file went and what the clerk is told.  The last tests kill a
real `qms watch --jobs 2` with SIGKILL and look in /proc for the reader processes it left.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from qms_engine.ingest.pipeline import build_steps
from qms_engine.ingest.steps import FunctionStep, IngestContext, Intake, Step
from qms_engine.ingest.watcher import document_readers, ingest_once
from qms_engine.storage.models import DOCUMENT_TABLE
from qms_engine.testing import TEST_PASSPHRASE
from tests.ingest_fixtures import (
    QMS,
    IngestDesk,
    files_below,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
    sha256_file,
    write_register_docx,
)

sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)
DEADLINE = 60.0  # seconds a real process is given before the test gives up on it
LONG_NAME = "क" * 83 + ".pdf"  # 253 bytes: fits, but its .json / .receipt.json names do not
DEPOSIT = [("माल का विवरण", "मोबाइल फोन"), ("जमाकर्ता अधिकारी", "HC Yadav")]
SEALED = [("मुकदमा संख्या", "123/2026"), ("सील संख्या", "S-45"), *DEPOSIT]
UNSEALED = [("मुकदमा संख्या", "123/2026"), *DEPOSIT]


def _docx_bytes(tmp_path: Path, name: str, rows: list[tuple[str, str]]) -> bytes:
    return write_register_docx(tmp_path / name, "Malkhana entry", rows).read_bytes()


def _insert_after(steps: list[Step], name: str, step: Step) -> list[Step]:
    at = [s.name for s in steps].index(name) + 1
    return [*steps[:at], step, *steps[at:]]


def _qms(
    desk: IngestDesk, *args: str, timeout: float = DEADLINE
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QMS_PASSPHRASE": TEST_PASSPHRASE, "NO_COLOR": "1"}
    env.pop("QMS_WORKSPACE", None)
    env.pop("QMS_USER", None)
    return subprocess.run(
        [str(QMS), "--workspace", str(desk.root), *args],
        cwd=desk.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ------------------------------------------------------------ 1. a second name (a hard link)


@sqlite_only
def test_content_changed_through_a_hard_link_after_staging_is_not_filed_with_new_fields(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """Fields come from the stored bytes: a seal number written in after storing cannot pass."""
    desk = ingest_desk
    dropped = desk.drop("MALKHANA", "m-1.docx", _docx_bytes(tmp_path, "a.docx", UNSEALED))
    stored_sha = sha256_file(dropped)
    second_name = desk.root / "clerk-copy.docx"
    os.link(dropped, second_name)  # the clerk keeps a second name for the same file
    sealed = _docx_bytes(tmp_path, "b.docx", SEALED)

    def clerk_edits(intake: Intake, _context: IngestContext) -> None:
        second_name.write_bytes(sealed)  # same inode: the claimed file changes too

    steps = _insert_after(
        build_steps(desk.runtime), "store the file", FunctionStep("clerk edits", clerk_edits)
    )
    (outcome,) = desk.run(steps=steps)
    assert (outcome.status, outcome.step) == ("quarantined", "check the entry"), outcome
    assert "seal_number" in (outcome.problem or "")
    assert desk.count(DOCUMENT_TABLE) == 0 and desk.receipts() == []
    assert sha256_file(second_name) != stored_sha  # the change really happened
    desk.check_sound()


@sqlite_only
def test_fields_and_type_of_a_filed_record_describe_the_stored_blob(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """A case number changed through a hard link after storing is not what the record says."""
    desk = ingest_desk
    original = _docx_bytes(tmp_path, "a.docx", SEALED)
    dropped = desk.drop("MALKHANA", "m-2.docx", original)
    second_name = desk.root / "clerk-copy.docx"
    os.link(dropped, second_name)
    changed = _docx_bytes(tmp_path, "b.docx", [("मुकदमा संख्या", "999/2026"), *SEALED[1:]])

    def clerk_edits(intake: Intake, _context: IngestContext) -> None:
        second_name.write_bytes(changed)

    steps = _insert_after(
        build_steps(desk.runtime), "store the file", FunctionStep("clerk edits", clerk_edits)
    )
    (outcome,) = desk.run(steps=steps)
    assert outcome.status == "filed", outcome
    (record,) = desk.records("MALKHANA")
    assert record["fields"]["case_number"] == "123/2026"
    assert record["size"] == len(original)
    with desk.runtime.store.open(record["sha256"]) as blob:
        assert blob.read() == original
    desk.check_sound()


@sqlite_only
def test_a_read_ahead_of_other_bytes_is_not_trusted(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """A worker that read the file before it changed (hard link) does not supply its fields."""
    desk = ingest_desk
    dropped = desk.drop("MALKHANA", "m-3.docx", _docx_bytes(tmp_path, "a.docx", SEALED))
    desk.drop(
        "MALKHANA", "m-4.docx", _docx_bytes(tmp_path, "c.docx", [*SEALED[:1], *DEPOSIT, ("x", "y")])
    )
    second_name = desk.root / "clerk-copy.docx"
    os.link(dropped, second_name)
    unsealed = _docx_bytes(tmp_path, "b.docx", UNSEALED)

    def clerk_edits_once_read(intake: Intake, context: IngestContext) -> None:
        if intake.claim.path.name == "m-3.docx":
            future = context.read_ahead.get(intake.claim.id)
            assert future is not None, "the worker was not asked to read it"
            future.result(timeout=DEADLINE)  # the worker has read the sealed version
            second_name.write_bytes(unsealed)  # then the clerk removes the seal number

    steps = [FunctionStep("clerk edits", clerk_edits_once_read), *build_steps(desk.runtime)]
    runner = desk.runner(steps)
    with document_readers(2) as readers:
        runner.readers = readers
        ingest_once(runner, [desk.inbox.root])
    by_file = {o.file: o for o in desk.outcomes}
    refused = by_file["MALKHANA/m-3.docx"]
    assert (refused.status, refused.step) == ("quarantined", "check the entry"), refused
    assert desk.records("MALKHANA") == []  # m-4 has no seal number either
    desk.check_sound()


# ------------------------------------------------------------------ 2. names of 251-255 bytes


def test_a_253_byte_name_is_filed_twice_with_short_enough_notes(ingest_desk: IngestDesk) -> None:
    """Two different files with one 253-byte name are both filed; every name fits 255 bytes."""
    desk = ingest_desk
    assert len(LONG_NAME.encode()) == 253
    desk.drop("GD", LONG_NAME, pdf_bytes("first"))
    assert [o.status for o in desk.run()] == ["filed"]
    desk.drop("GD", LONG_NAME, pdf_bytes("second"))
    assert [o.status for o in desk.run()] == ["filed"]
    names = [p.name for p in files_below(desk.inbox.processed)]
    assert all(len(name.encode()) <= 255 for name in names), names
    assert len([n for n in names if n.endswith(".receipt.json")]) == 2
    assert len(desk.processed("GD")) == 2
    assert desk.inbox.counts()["GD"]["processed"] == 2
    desk.check_sound()


def test_a_255_byte_name_is_quarantined_with_a_note_and_retried(ingest_desk: IngestDesk) -> None:
    """A refused 255-byte name gets a shortened .error.txt, and `retry` puts it back."""
    desk = ingest_desk
    name = "क" * 83 + ".docx" + "x"  # 255 bytes, no accepted extension
    assert len(name.encode()) == 255
    desk.drop("GD", name, b"not a document")
    (outcome,) = desk.run()
    assert (outcome.status, outcome.step) == ("quarantined", "check file type")
    (held,) = desk.quarantined("GD")
    assert held.name == name
    (note,) = (desk.inbox.quarantine / "GD").glob("*.error.txt")
    assert len(note.name.encode()) <= 255
    assert desk.inbox.counts()["GD"]["quarantined"] == 1
    assert desk.inbox.retry() == [desk.inbox.root / "GD" / name]
    desk.check_sound()


def test_qms_ingest_files_a_253_byte_name(ingest_desk: IngestDesk) -> None:
    """The real `qms ingest` files a 253-byte Devanagari name, no traceback; a rerun is clean."""
    desk = ingest_desk
    desk.drop("GD", LONG_NAME)
    run = _qms(desk, "ingest", "inbox", "--as", "ingest", "--settle", "0", "--json")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert [json.loads(line)["status"] for line in run.stdout.splitlines()] == ["filed"]
    rerun = _qms(desk, "ingest", "inbox", "--as", "ingest", "--settle", "0", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert desk.inbox.counts()["GD"]["processed"] == 1
    desk.check_sound()


# ------------------------------------------------------------------------ 3. a named pipe


@sqlite_only
def test_a_named_pipe_never_blocks_the_readers(ingest_desk: IngestDesk, tmp_path: Path) -> None:
    """A FIFO named x.docx is quarantined as a named pipe; `qms ingest --jobs 2` files the rest."""
    desk = ingest_desk
    os.mkfifo(desk.folder("GD") / "x.docx")
    for entry in ("17", "18"):
        write_register_docx(
            desk.folder("GD") / f"gd-{entry}.docx", f"GD {entry}", [("Entry", entry)]
        )
    try:
        run = _qms(desk, "ingest", "inbox", "--as", "ingest", "--settle", "0", "--jobs", "2")
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure this test guards against
        pytest.fail("`qms ingest --jobs 2` hung on a named pipe")
    assert run.returncode == 5, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert [p.name for p in desk.quarantined("GD")] == ["x.docx"]
    note = desk.error_note(desk.inbox.quarantine / "GD" / "x.docx")
    assert note["Refused at"] == "check file type"
    assert "named pipe" in note["Problem"]
    assert sorted(p.name for p in desk.processed("GD")) == ["gd-17.docx", "gd-18.docx"]
    desk.check_sound()


# ------------------------------------------------- 4. what the file is, and what to do


def _cfb(*streams: str) -> bytes:
    """An OLE2 compound file's first sectors: the signature and directory entries by name."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entries = b"".join(s.encode("utf-16-le").ljust(128, b"\0") for s in ("Root Entry", *streams))
    return header + entries.ljust(4096, b"\0")


HOSTILE_TYPES = {
    "encrypted": (
        "locked.docx",
        _cfb("EncryptionInfo", "EncryptedPackage"),
        "password-protected",
        "remove the password",
    ),
    "doc_renamed": ("old.docx", _cfb("WordDocument"), "Word 97-2003", "File > Save As"),
    "doc": ("old.doc", _cfb("WordDocument"), "old Word 97-2003 document", "File > Save As"),
    "docm": ("macros.docm", b"PK\x03\x04 macros", "Word document with macros", "Word Document"),
    "dotx": ("form.dotx", b"PK\x03\x04 template", "Word template", "save it as .docx"),
}


@pytest.mark.parametrize("kind", HOSTILE_TYPES)
def test_word_files_that_are_not_docx_say_what_they_are(ingest_desk: IngestDesk, kind: str) -> None:
    """Encrypted, legacy and macro/template Word files are named for what they are, with a fix."""
    name, data, problem, advice = HOSTILE_TYPES[kind]
    desk = ingest_desk
    desk.drop("SOP-DRAFTS", name, data)
    (outcome,) = desk.run()
    assert (outcome.status, outcome.step) == ("quarantined", "check file type"), outcome
    note = desk.error_note(desk.inbox.quarantine / "SOP-DRAFTS" / name)
    assert problem in note["Problem"], note["Problem"]
    assert advice in note["What to do"], note["What to do"]
    assert "unexpected error" not in note["text"]
    desk.check_sound()


def test_a_sidecar_with_a_lone_surrogate_is_refused_plainly(ingest_desk: IngestDesk) -> None:
    """A sidecar holding "\\ud800" is refused at "read the document" saying why, no crash text."""
    desk = ingest_desk
    desk.drop("GD", "scan.pdf")
    desk.drop("GD", "scan.pdf.json", b'{"case_number": "12\\ud800/2026"}')
    (outcome,) = desk.run()
    assert (outcome.status, outcome.step) == ("quarantined", "read the document"), outcome
    note = desk.error_note(desk.inbox.quarantine / "GD" / "scan.pdf")
    assert "surrogate" in note["Problem"] and "case_number" in note["Problem"]
    assert "UnicodeEncodeError" not in note["text"]
    assert "scan.pdf.json" in note["What to do"]
    desk.check_sound()


# ---------------------------------------------------------------- 5. control characters


def _has_control(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cs") for char in text)


def test_control_characters_in_a_name_never_reach_the_title(ingest_desk: IngestDesk) -> None:
    """A newline and an ESC sequence in a file name become spaces in the record's title."""
    desk = ingest_desk
    name = "GD entry\x1b[31m\nred\x7f.pdf"
    desk.drop("GD", name)
    (outcome,) = desk.run()
    assert outcome.status == "filed", outcome
    (record,) = desk.records("GD")
    assert record["title"] == "GD entry [31m red"
    receipt = json.loads(desk.processed("GD")[0].with_name(name + ".receipt.json").read_text())
    assert receipt["title"] == record["title"]
    desk.check_sound()


def test_control_characters_in_a_sidecar_title_are_removed(ingest_desk: IngestDesk) -> None:
    """A sidecar title with a newline and ESC is filed as one clean line."""
    desk = ingest_desk
    desk.drop("GD", "scan.pdf")
    desk.drop("GD", "scan.pdf.json", json.dumps({"title": "Line one\nLine\x1b two\u200d"}).encode())
    (outcome,) = desk.run()
    assert outcome.status == "filed", outcome
    (record,) = desk.records("GD")
    assert not _has_control(record["title"])
    assert record["title"] == "Line one Line two\u200d"  # the zero-width joiner is kept
    desk.check_sound()


# ---------------------------------------------------- 6. readers end with their watcher


def _children(pid: int) -> dict[int, str]:
    """Live child processes of ``pid`` (from /proc), with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.fixture
def watcher(ingest_desk: IngestDesk) -> Iterator[subprocess.Popen[str]]:
    """A real `qms watch --jobs 2` that has filed two .docx files read ahead by its workers."""
    desk = ingest_desk
    for entry in ("17", "18"):
        write_register_docx(
            desk.folder("GD") / f"gd-{entry}.docx", f"GD {entry}", [("Entry", entry)]
        )
    env = {**os.environ, "QMS_PASSPHRASE": TEST_PASSPHRASE}
    env.pop("QMS_USER", None)
    command = [str(QMS), "--workspace", str(desk.root), "watch", "--as", "ingest", "--json"]
    process = subprocess.Popen(
        [*command, "--jobs", "2", "--settle", "0.2", "--rescan", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@sqlite_only
def test_readers_end_when_the_watcher_is_killed(
    ingest_desk: IngestDesk, watcher: subprocess.Popen[str]
) -> None:
    """After `kill -9` of `qms watch --jobs 2`, its readers and resource tracker end too."""
    stdout = watcher.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()

    def read_lines() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read_lines, daemon=True).start()
    statuses = [json.loads(lines.get(timeout=DEADLINE))["status"] for _ in range(2)]
    assert statuses == ["filed", "filed"]
    children = _children(watcher.pid)
    readers = [pid for pid, cmd in children.items() if "spawn_main" in cmd]
    assert len(readers) == 2, children
    watcher.send_signal(signal.SIGKILL)
    watcher.wait()
    deadline = time.monotonic() + DEADLINE
    try:
        while any(map(_alive, children)) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = {pid: children[pid] for pid in children if _alive(pid)}
        assert left == {}, f"still running after the watcher was killed: {left}"
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
