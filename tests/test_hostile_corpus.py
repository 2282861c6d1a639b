"""A hostile corpus dropped at once into a running `qms watch`: every file accounted for.

The real .docx corpus (tests/corpus/permissive, and ../shared/corpus where it is present) and
generated hostile files (empty, truncated, ZIP bombs, password-protected and legacy Word files,
a named pipe, a symlink, 250+ byte Devanagari names, control characters, a name that is not
valid UTF-8, a duplicate pair, a sidecar that is not JSON) are renamed into the register folders
of a real workspace while a real `qms watch` runs.  Once `qms inbox status --json` shows nothing
pending or in progress, every file dropped is in exactly one of processed/, quarantine/ (with
its .error.txt) or duplicates/, the status counts add up, the audit chain verifies, and the
watcher, still running, stops cleanly on SIGTERM.  The command's own usage errors exit 2.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from qms_engine.ingest.inbox import ERROR_SUFFIX, is_ignored, is_sidecar, note_for
from qms_engine.testing import TEST_PASSPHRASE, TestOffice
from tests import corpora
from tests.ingest_fixtures import (
    QMS,
    IngestDesk,
    add_ingest_user,
    files_below,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
    write_register_docx,
)

sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)
DEADLINE = 60.0  # real seconds: only ever a deadline for what must happen
MiB = 1 << 20
NOT_UTF8 = b"caf\xe9 \xff scan.pdf"  # Latin-1 bytes, as an old SMB client may write a name
NOTES = (ERROR_SUFFIX, ".receipt.json", ".duplicate.txt")
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
)


def _env() -> dict[str, str]:
    env = {**os.environ, "QMS_PASSPHRASE": TEST_PASSPHRASE, "NO_COLOR": "1"}
    for name in ("QMS_WORKSPACE", "QMS_USER"):
        env.pop(name, None)
    return env


def _qms(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(QMS), "--workspace", str(root), *args],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


def _cfb(*streams: str) -> bytes:
    """An OLE2 compound file's first sectors: the signature and directory entries by name."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entries = b"".join(s.encode("utf-16-le").ljust(128, b"\0") for s in ("Root Entry", *streams))
    return header + entries.ljust(4096, b"\0")


def _declared_bomb() -> bytes:
    """A tiny .docx whose document part declares a terabyte uncompressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", "<w:document/>")
        archive.filelist[-1].file_size = 10**12
    return buffer.getvalue()


def _ratio_bomb() -> bytes:
    """A .docx with 8 MiB of compressed zeros in one part (a ratio far over the limit)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(8):
                member.write(bytes(MiB))
    return buffer.getvalue()


def _identity(path: Path) -> str:
    """What a dropped or found entry is, whatever its name became: a pipe, a link, or bytes."""
    mode = os.lstat(path).st_mode
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISLNK(mode):
        return f"link to {path.readlink()}"
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _stage(staging: Path, tmp_path: Path) -> dict[str, str]:
    """Write the whole corpus below ``staging/<REGISTER>/``; what each hostile file is for.

    Returns ``{inbox-relative name: expected problem text}`` for the files whose quarantine
    reason is checked (a value of "" means: must be filed).
    """
    gd, sop, malkhana = staging / "GD", staging / "SOP-DRAFTS", staging / "MALKHANA"
    for folder in (gd, sop, malkhana):
        folder.mkdir(parents=True)
    expected: dict[str, str] = {}

    def put(folder: Path, name: str | bytes, data: bytes, problem: str | None = None) -> None:
        path = os.path.join(os.fsencode(folder), os.fsencode(name))
        with open(path, "wb") as handle:
            handle.write(data)
        if problem is not None:
            expected[f"{folder.name}/{os.fsdecode(name)}"] = problem

    # the real corpora, each in a scanner-style subfolder of the General Diary
    for corpus in (corpora.permissive(), corpora.extended()):
        if corpus is None:
            continue
        (gd / corpus.name).mkdir()
        for source in corpus.files:
            put(gd / corpus.name, source.name, source.read_bytes())

    real = write_register_docx(tmp_path / "real.docx", "GD 1", [("Entry", "1")]).read_bytes()
    put(gd, "empty.docx", b"", "empty")
    put(gd, "truncated.docx", real[: len(real) // 2], "truncated.docx")
    put(gd, "bomb-declared.docx", _declared_bomb(), "ZIP bomb")
    put(gd, "bomb-ratio.docx", _ratio_bomb(), "ZIP bomb")
    put(sop, "locked.docx", _cfb("EncryptionInfo", "EncryptedPackage"), "password-protected")
    put(sop, "old.doc", _cfb("WordDocument"), "Word 97-2003")
    put(sop, "macros.docm", b"PK\x03\x04 macros", "macros")
    os.mkfifo(gd / "x.docx")
    expected["GD/x.docx"] = "named pipe"
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(pdf_bytes("outside the inbox"))
    (gd / "link.pdf").symlink_to(outside)
    expected["GD/link.pdf"] = "link"
    put(gd, "क" * 83 + ".pdf", pdf_bytes("long pdf"), "")  # 253 bytes
    write_register_docx(gd / ("ख" * 83 + ".docx"), "Long", [("Entry", "2")])  # 254 bytes
    expected["GD/" + "ख" * 83 + ".docx"] = ""
    put(gd, "GD entry\x1b[31m\nred\x7f.pdf", pdf_bytes("control"), "")
    put(gd, "tab\there\r.pdf", pdf_bytes("tab"), "")
    twin = pdf_bytes("the same scan twice")
    put(gd, "dup-a.pdf", twin)
    put(gd, "dup-b.pdf", twin)
    put(gd, "scan.pdf", pdf_bytes("sidecar"), "scan.pdf.json")
    put(gd, "scan.pdf.json", b'{"case_number": ')
    put(malkhana, "unsealed.docx", real, "seal")
    put(staging, "stray.pdf", pdf_bytes("dropped straight into inbox/<OFFICE>/"))
    expected["UNSORTED/stray.pdf"] = "find the register"
    try:
        put(gd, NOT_UTF8, pdf_bytes("not utf-8"))
    except OSError as refused:  # some file systems (e.g. with utf8 mount options) refuse it
        if refused.errno not in (errno.EILSEQ, errno.EINVAL):
            raise
    return expected


def _dropped(staging: Path) -> tuple[Counter[str], list[Path]]:
    """The identities of what the inbox must account for, and the names it must leave alone."""
    counted: Counter[str] = Counter()
    left: list[Path] = []
    for path in files_below(staging):
        if is_ignored(path.name) or is_sidecar(path):
            if not is_sidecar(path) or not (path.with_suffix("")).exists():
                left.append(path.relative_to(staging))  # a lock file, a lone .json
            continue
        counted[_identity(path)] += 1
    return counted, left


def _accounted(root: Path) -> tuple[Counter[str], list[Path]]:
    """The identities of the files in processed/, quarantine/ and duplicates/ (notes and
    sidecars aside), and the quarantined files that lack an .error.txt."""
    found: Counter[str] = Counter()
    without_note = []
    for place in ("processed", "quarantine", "duplicates"):
        for path in files_below(root / place):
            if path.name.endswith(NOTES) or is_sidecar(path):
                continue
            found[_identity(path)] += 1
            if place == "quarantine" and not note_for(path, ERROR_SUFFIX).is_file():
                without_note.append(path)
    return found, without_note


def _status(root: Path) -> dict[str, dict[str, dict[str, int]]]:
    run = _qms(root, "inbox", "status", "--json")
    assert run.returncode == 0, run.stderr
    table: dict[str, dict[str, dict[str, int]]] = json.loads(run.stdout)
    return table


def _total(table: dict[str, dict[str, dict[str, int]]], *keys: str) -> int:
    return sum(row[key] for rows in table.values() for row in rows.values() for key in keys)


@pytest.fixture
def watcher(qms_office: TestOffice, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real `qms watch --jobs 2 --json` on the workspace, its output in files."""
    add_ingest_user(qms_office)
    command = [str(QMS), "--workspace", str(qms_office.root), "watch", "--as", "ingest"]
    with (
        (tmp_path / "watch.out").open("wb") as out,
        (tmp_path / "watch.err").open("wb") as err,
    ):
        process = subprocess.Popen(
            [*command, "--json", "--jobs", "2", "--settle", "0.2", "--rescan", "1"],
            stdout=out,
            stderr=err,
            env=_env(),
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.mark.slow
@sqlite_only
def test_hostile_corpus_dropped_at_once_is_all_accounted_for(
    qms_office: TestOffice, watcher: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """Corpus + hostile files renamed in at once: each filed, quarantined or set aside once."""
    root = qms_office.root
    inbox = root / "inbox" / qms_office.office.code
    staging = root / "staging"  # same file system: each file arrives by one atomic rename
    expected = _stage(staging, tmp_path)
    counted, left = _dropped(staging)
    entries = [staging / "stray.pdf"]
    entries += [
        e for folder in ("GD", "SOP-DRAFTS", "MALKHANA") for e in (staging / folder).iterdir()
    ]
    for entry in entries:
        os.rename(entry, inbox / entry.relative_to(staging))

    deadline = time.monotonic() + DEADLINE
    while True:
        assert watcher.poll() is None, (tmp_path / "watch.err").read_text(errors="replace")
        table = _status(root)
        done = _total(table, "quarantined", "processed", "duplicates")
        if _total(table, "pending", "in_progress") == 0 and done >= counted.total():
            break
        if time.monotonic() > deadline:
            pytest.fail(f"not all {counted.total()} files were taken in {DEADLINE:.0f} s: {table}")
        time.sleep(0.2)

    assert done == counted.total(), table
    assert _total(table, "ignored") == len(left), (table, left)
    found, without_note = _accounted(root)
    assert found == counted, (counted - found, found - counted)
    assert without_note == []
    assert sorted(p.relative_to(inbox) for p in files_below(inbox)) == sorted(left)
    assert files_below(root / ".ingest" / "claimed") == []
    assert watcher.poll() is None, "the watcher stopped"

    outcomes = {
        line["file"]: line
        for line in map(json.loads, (tmp_path / "watch.out").read_text("utf-8").splitlines())
    }
    for name, problem in expected.items():
        outcome = outcomes[name]
        if problem:
            assert outcome["status"] == "quarantined", outcome
            assert problem in (outcome["problem"] or "") or problem in outcome["step"], outcome
        else:
            assert outcome["status"] == "filed", outcome
    assert sorted(outcomes[f"GD/dup-{x}.pdf"]["status"] for x in "ab") == ["duplicate", "filed"]
    assert not [o for o in outcomes.values() if "unexpected error" in (o["problem"] or "")]
    not_utf8 = [o for o in outcomes.values() if o["file"].startswith("GD/caf")]
    assert [o["status"] for o in not_utf8] in ([], ["filed"]), not_utf8

    verify = _qms(root, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    watcher.send_signal(signal.SIGTERM)
    assert watcher.wait(timeout=DEADLINE) == 0
    stderr = (tmp_path / "watch.err").read_text(errors="replace")
    assert "Traceback" not in stderr, stderr


@sqlite_only
@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "inbox/PS-TEST1/GD", "--as", "ingest", "--settle", "-1"],
        ["ingest", "inbox/PS-TEST1/GD", "--as", "ingest", "--jobs", "0"],
        ["ingest", "inbox/PS-TEST1/GD", "--as", "ingest", "--settle", "soon"],
        ["ingest", "inbox/PS-TEST1/GD", "--as", "ingest", "--no-such-option"],
        ["ingest", "no/such/folder", "--as", "ingest"],
        ["ingest", "--as", "ingest"],
        ["ingest", "staging", "--as", "ingest"],
        ["watch", "--as", "ingest", "--rescan", "0"],
        ["watch", "--as", "ingest", "--settle", "-0.5"],
        ["watch", "--as", "ingest", "--jobs", "many"],
        ["inbox", "status", "--bogus"],
        ["inbox", "nonsense"],
    ],
    ids=lambda args: "-".join(a.strip("-") for a in args if a not in ("--as", "ingest"))[:40],
)
def test_usage_errors_of_the_inbox_commands_exit_2(qms_office: TestOffice, args: list[str]) -> None:
    """Bad option values, missing or outside paths for ingest/watch/inbox exit 2, no traceback."""
    add_ingest_user(qms_office)
    (qms_office.root / "staging").mkdir()
    run = _qms(qms_office.root, *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def _write(folder: Path, name: bytes, data: bytes) -> None:
    """Write a file under a bytes name; skip where the file system refuses non-UTF-8 names."""
    os.makedirs(os.fsencode(folder), exist_ok=True)
    try:
        with open(os.path.join(os.fsencode(folder), name), "wb") as handle:
            handle.write(data)
    except OSError as refused:
        if refused.errno in (errno.EILSEQ, errno.EINVAL):
            pytest.skip(f"this file system refuses names that are not UTF-8: {refused}")
        raise


@sqlite_only
def test_names_that_are_not_utf8_are_claimed_under_a_repaired_name(
    ingest_desk: IngestDesk,
) -> None:
    """Non-UTF-8 names (one of 255 bytes, one register folder) are taken, never crash a run."""
    desk = ingest_desk
    gd = desk.folder("GD")
    long_name = b"\xff" * 251 + b".pdf"  # 255 bytes: 765 once each byte becomes U+FFFD
    _write(gd, NOT_UTF8, pdf_bytes("short"))
    _write(gd, long_name, pdf_bytes("long"))
    _write(Path(os.fsdecode(os.fsencode(desk.inbox.root) + b"/GD\xe9")), b"x.pdf", pdf_bytes())
    outcomes = {o.file: o for o in desk.run()}
    assert set(outcomes) == {
        "GD/caf\ufffd \ufffd scan.pdf",
        "GD/" + "\ufffd" * 83 + ".pdf",
        "GD\ufffd/x.pdf",
    }
    assert outcomes["GD/caf\ufffd \ufffd scan.pdf"].status == "filed"
    assert outcomes["GD/" + "\ufffd" * 83 + ".pdf"].status == "filed"
    assert outcomes["GD\ufffd/x.pdf"].step == "find the register"
    assert {r["original_filename"] for r in desk.records("GD")} == {
        "caf\ufffd \ufffd scan.pdf",
        "\ufffd" * 83 + ".pdf",
    }
    counts = desk.inbox.counts()
    assert counts["GD"]["processed"] == 2 and counts["GD\ufffd"]["quarantined"] == 1
    desk.check_sound()
    status = _qms(desk.root, "inbox", "status", "--json")
    assert status.returncode == 0, status.stderr
