"""Backups of a live workspace and verified restores, on SQLite and PostgreSQL.

A backup is taken from one database snapshot while others keep filing, holds exactly the chain
up to its recorded heads and every blob that chain names, and is restored only if every hash
matches and the restored workspace passes `qms audit verify`; anything else leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from qms_engine.backup.manifest import CONFIG, MANIFEST, Manifest, blob_file
from qms_engine.backup.postgres import find_tool, public_objects
from qms_engine.backup.restore import RestoreSummary, restore_backup
from qms_engine.backup.take import BackupSummary, take_backup
from qms_engine.capa.nonconformities import raise_nc
from qms_engine.capa.records import load_nc
from qms_engine.cli import cli
from qms_engine.clock import from_utc_text, local_text
from qms_engine.documents.revisions import create_document, export_revision
from qms_engine.errors import (
    ConfigurationError,
    IntegrityError,
    InvalidInput,
    PermissionDenied,
)
from qms_engine.extension.manager import load_plugins
from qms_engine.people.offices import add_office
from qms_engine.runtime import Runtime
from qms_engine.storage.database import create_db_engine
from qms_engine.storage.inbox_layout import LAYOUT_MARK
from qms_engine.storage.models import EVENT_TABLE, HEAD_TABLE, REVISION_TABLE
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TEST_PASSPHRASE, TestOffice
from tests.conftest import Desk
from tests.ingest_fixtures import (
    IngestDesk,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
)

QMS = Path(sys.executable).parent / "qms"
ENV = {
    "QMS_PASSPHRASE": TEST_PASSPHRASE,
    "QMS_OFFICE_PASSPHRASE": TEST_PASSPHRASE,
    "QMS_NEW_PASSPHRASE": TEST_PASSPHRASE,
}
HINDI_TITLE = "सामान्य दैनिकी का रखरखाव"
sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)


def qms(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``qms`` as a shell script would (only ``ENV`` among QMS_* variables)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    return subprocess.run(
        [str(QMS), *map(str, args)],
        env={**environment, **ENV, "PYTHONIOENCODING": "utf-8"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )


def invoke(*args: str | Path) -> str:
    """Run ``qms ARGS`` in-process, insist on success, return standard output."""
    result = CliRunner().invoke(cli, [str(a) for a in args], env=ENV)
    assert result.exit_code == 0, result.output
    return result.stdout


def backup(
    office: TestOffice, destination: Path, who: str = "quality_coordinator"
) -> BackupSummary:
    """A backup of ``office``'s workspace taken through the engine by ``who``."""
    return take_backup(office.runtime, actor=office.signers[who], destination=destination)


def restore(source: Path, destination: Path, database_url: str | None) -> RestoreSummary:
    """Restore through the engine (into ``database_url`` for a PostgreSQL backup)."""
    return restore_backup(source, destination, plugins=load_plugins(), database_url=database_url)


def chain(runtime: Runtime) -> list[tuple[int, str]]:
    """(seq, hash) of every event of every office, in order."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(EVENT_TABLE.c.seq, EVENT_TABLE.c.hash).order_by(
                EVENT_TABLE.c.office_id, EVENT_TABLE.c.seq
            )
        )
        return [(int(seq), str(digest)) for seq, digest in rows]


@pytest.fixture
def restored_url(qms_database_url: str | None) -> str | None:
    """Where a restore puts the database: None (SQLite in the workspace) or an empty one."""
    return qms_database_url


@pytest.fixture
def opened() -> Iterator[Callable[[Path], Runtime]]:
    """Opens restored workspaces, and closes them after the test."""
    runtimes: list[Runtime] = []

    def open_workspace(root: Path) -> Runtime:
        runtimes.append(Runtime.open(Workspace.load(root), load_plugins()))
        return runtimes[-1]

    yield open_workspace
    for runtime in runtimes:
        runtime.close()


def add_second_office(office: TestOffice) -> None:
    """The admin adds PS-TEST2 to the deployment (and so becomes its admin)."""
    add_office(
        office.runtime,
        actor=office.signers["admin"],
        from_office=office.office,
        code="PS-TEST2",
        name="थाना दो",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )


@pytest.fixture
def filed(desk: Desk) -> str:
    """An effective SOP with a Hindi title, and a new draft revision of it."""
    number = desk.new_sop(HINDI_TITLE)
    desk.issue(number)
    desk.revise(number, reason="नकद शेष का समय दर्ज करें")
    return number


# --------------------------------------------------------------------------- round trips


def test_restored_workspace_is_the_backed_up_one(
    qms_office: TestOffice,
    filed: str,
    restored_url: str | None,
    tmp_path: Path,
    opened: Callable[[Path], Runtime],
) -> None:
    """Backup then restore gives the same chain, the same documents and the same bytes, verified."""
    summary = backup(qms_office, tmp_path / "backup")
    result = restore(tmp_path / "backup", tmp_path / "restored", restored_url)

    assert [r.ok for r in result.verification] == [True]
    assert result.verification[0].events == summary.offices[0].seq
    restored = opened(tmp_path / "restored")
    assert chain(restored) == chain(qms_office.runtime)
    for runtime, name in ((qms_office.runtime, "live.docx"), (restored, "restored.docx")):
        export_revision(runtime, number=filed, destination=tmp_path / name)
    assert (tmp_path / "restored.docx").read_bytes() == (tmp_path / "live.docx").read_bytes()
    with restored.engine.connect() as connection:
        titles = set(connection.execute(select(REVISION_TABLE.c.title)).scalars())
    assert HINDI_TITLE in titles
    if restored_url is None:
        assert restored.workspace.database_url.endswith("/restored/qms.sqlite3")
    else:
        assert restored.engine.url.database == make_url(restored_url).database


def test_evidence_files_are_backed_up_and_restored(
    qms_office: TestOffice,
    make_docx: Callable[..., Path],
    restored_url: str | None,
    tmp_path: Path,
    opened: Callable[[Path], Runtime],
) -> None:
    """A nonconformity's evidence files are blobs the chain names: the backup holds them and
    the restored workspace hands them back byte for byte."""
    evidence = make_docx("जीडी-पृष्ठ.docx", "GD page", "Unsigned page of 3 March")
    raised = raise_nc(
        qms_office.runtime,
        office=qms_office.office.code,
        actor=qms_office.signers["quality_coordinator"],
        title="GD not closed",
        description="The GD of 3 March was not closed at midnight",
        source="internal_audit",
        severity="minor",
        evidence=[evidence],
    )
    summary = backup(qms_office, tmp_path / "backup")
    assert summary.named_blobs == 1
    result = restore(tmp_path / "backup", tmp_path / "restored", restored_url)
    assert [r.ok for r in result.verification] == [True]
    restored = opened(tmp_path / "restored")
    with restored.engine.connect() as connection:
        (file,) = load_nc(connection, raised.number).evidence
    with restored.store.open(file.sha256) as blob:
        assert blob.read() == evidence.read_bytes()


def test_manifest_records_hashes_heads_offices_and_blobs(
    qms_office: TestOffice, filed: str, tmp_path: Path
) -> None:
    """The manifest: every file's SHA-256, the engine version, the snapshot's UTC time, the
    offices with their chain heads, and exactly the blobs the chain names."""
    summary = backup(qms_office, tmp_path / "backup")
    manifest = Manifest.read(tmp_path / "backup")
    with qms_office.runtime.engine.connect() as connection:
        head = connection.execute(select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash)).one()
        shas = set(connection.execute(select(REVISION_TABLE.c.sha256)).scalars())

    assert [(o.code, o.name, o.seq, o.hash) for o in manifest.offices] == [
        ("PS-TEST1", "कोतवाली परीक्षण", head.seq, head.hash)
    ]
    assert set(manifest.named_blobs) == shas and manifest.extra_blobs == ()
    assert manifest.taken_by == "priya" and manifest.created_at.endswith("Z")
    assert manifest.engine_version and manifest.database.schema
    assert sorted(manifest.files) == sorted(
        [CONFIG, manifest.database.file, *(blob_file(sha) for sha in shas)]
    )
    manifest.check_files(tmp_path / "backup")  # every listed hash matches what is there
    assert summary.files == len(manifest.files) and summary.named_blobs == len(shas)
    assert stat.S_IMODE((tmp_path / "backup").stat().st_mode) == 0o700  # sealed keys inside


def test_backup_and_restore_through_the_cli(
    qms_office: TestOffice, filed: str, restored_url: str | None, tmp_path: Path
) -> None:
    """`qms backup --json` then `qms restore --json`: the restored workspace verifies and hands
    out the same bytes."""
    taken = json.loads(
        invoke("-w", qms_office.root, "backup", tmp_path / "backup", "--as", "priya", "--json")
    )
    url = ["--database-url", restored_url] if restored_url else []
    done = json.loads(invoke("restore", tmp_path / "backup", tmp_path / "restored", *url, "--json"))

    assert taken["offices"][0]["code"] == "PS-TEST1" and taken["taken_by"] == "priya"
    assert [(v["office"], v["ok"]) for v in done["verification"]] == [("PS-TEST1", True)]
    assert done["verification"][0]["events"] == taken["offices"][0]["seq"]
    assert "OK" in invoke("-w", tmp_path / "restored", "audit", "verify")
    invoke("-w", tmp_path / "restored", "doc", "get", filed, "-o", tmp_path / "restored.docx")
    invoke("-w", qms_office.root, "doc", "get", filed, "-o", tmp_path / "live.docx")
    assert (tmp_path / "restored.docx").read_bytes() == (tmp_path / "live.docx").read_bytes()


def test_times_shown_in_the_offices_zone_and_how_to_restore(
    qms_office: TestOffice, filed: str, restored_url: str | None, tmp_path: Path
) -> None:
    """`qms backup` and `qms restore` show the snapshot's time in the office's zone (the
    manifest keeps UTC); the backup's last line is the restore command to type, with
    --database-url for a PostgreSQL backup."""
    taken = invoke("-w", qms_office.root, "backup", tmp_path / "backup", "--as", "priya")
    created_at = Manifest.read(tmp_path / "backup").created_at
    shown = local_text(from_utc_text(created_at), qms_office.office.timezone)
    url = ["--database-url", restored_url] if restored_url else []
    done = invoke("restore", tmp_path / "backup", tmp_path / "restored", *url)

    assert shown.endswith(" IST") and created_at.endswith("Z")
    assert f"snapshot at {shown}" in taken and f"snapshot of {shown}" in done
    assert created_at not in taken + done
    (command,) = [line for line in taken.splitlines() if line.startswith("Restore with:")]
    into = " --database-url URL" if restored_url else ""
    assert command == f"Restore with: qms restore {tmp_path / 'backup'} NEW-FOLDER{into}"


def test_backup_taken_while_documents_are_filed(
    qms_office: TestOffice,
    restored_url: str | None,
    make_docx: Callable[..., Path],
    tmp_path: Path,
    opened: Callable[[Path], Runtime],
) -> None:
    """A second thread files documents while the backup runs: it is never held up (a filing
    commits while the database is being copied), and the restore verifies and holds exactly the
    chain up to the snapshot's heads, a prefix of the live chain, plus later blobs as extras."""
    files = [make_docx(f"during-{n}.docx", f"दैनिक अभिलेख {n}") for n in range(40)]
    writer = Runtime.open(Workspace.load(qms_office.root), load_plugins())
    started, copying, filed_while_copying, stop = (threading.Event() for _ in range(4))
    during: list[str] = []  # blobs of documents begun after the snapshot was taken
    failures: list[BaseException] = []

    def file_documents() -> None:
        try:
            for path in files:
                if stop.is_set():
                    return
                after_snapshot = copying.is_set()
                revision = create_document(
                    writer,
                    qms_office.office,
                    actor=qms_office.signers["author"],
                    type_code="SOP",
                    title=path.stem,
                    path=path,
                )
                started.set()
                if after_snapshot:
                    during.append(revision.sha256)
                    filed_while_copying.set()
        except BaseException as exc:
            failures.append(exc)
        finally:
            started.set()
            filed_while_copying.set()

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage == "database" and not copying.is_set():
            copying.set()  # the snapshot is taken: a filing now must not wait for the copy
            assert filed_while_copying.wait(120), "the writer was held up by the backup"

    thread = threading.Thread(target=file_documents)
    thread.start()
    try:
        assert started.wait(120)
        take_backup(
            qms_office.runtime,
            actor=qms_office.signers["admin"],
            destination=tmp_path / "backup",
            progress=progress,
        )
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert failures == [] and during, "a document was filed while the database was copied"

    manifest = Manifest.read(tmp_path / "backup")
    result = restore(tmp_path / "backup", tmp_path / "restored", restored_url)
    assert [r.ok for r in result.verification] == [True]
    live, restored = chain(qms_office.runtime), chain(opened(tmp_path / "restored"))
    head = manifest.offices[0]
    assert restored == live[: head.seq] and restored[-1] == (head.seq, head.hash)
    assert len(live) > len(restored)  # filed during the copy: after the snapshot
    assert during[0] in manifest.extra_blobs and during[0] not in manifest.named_blobs


def test_every_office_is_backed_up_and_restored(
    qms_office: TestOffice,
    filed: str,
    restored_url: str | None,
    tmp_path: Path,
) -> None:
    """A deployment of two offices: both chains are in the manifest and both verify restored."""
    add_second_office(qms_office)
    summary = backup(qms_office, tmp_path / "backup", who="admin")
    result = restore(tmp_path / "backup", tmp_path / "restored", restored_url)

    assert [o.code for o in summary.offices] == ["PS-TEST1", "PS-TEST2"]
    assert [(r.office, r.ok) for r in result.verification] == [
        ("PS-TEST1", True),
        ("PS-TEST2", True),
    ]
    assert (tmp_path / "restored" / "inbox" / "PS-TEST2").is_dir()


# --------------------------------------------------------------------------- the inbox, its files

FILE_TREES = ("inbox", "quarantine", "duplicates", "processed", "logs")


def workspace_files(root: Path) -> dict[str, bytes]:
    """Every file of a workspace's inbox, quarantine, duplicates, processed and logs folders,
    by its path in the workspace (the inbox's layout mark included)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for tree in FILE_TREES
        for path in sorted((root / tree).rglob("*"))
        if path.is_file()
    }


def test_restore_keeps_one_inbox_per_office(
    qms_office: TestOffice, restored_url: str | None, tmp_path: Path
) -> None:
    """The restored inbox is per office, made from the restored database's offices: the next
    inbox command moves nothing (PS-TEST2's folder stays its own), and empty stray folders the
    live inbox had (``inbox/GD``, ``inbox/PS-TEST99``) are not made again."""
    add_second_office(qms_office)
    live = qms_office.runtime.workspace.inbox_dir
    (live / "GD").mkdir()
    (live / "PS-TEST99").mkdir()
    backup(qms_office, tmp_path / "backup", who="admin")
    restore(tmp_path / "backup", tmp_path / "restored", restored_url)

    inbox = tmp_path / "restored" / "inbox"
    assert entries(inbox) == [LAYOUT_MARK, "PS-TEST1", "PS-TEST2"]
    for office in ("PS-TEST1", "PS-TEST2"):
        assert entries(inbox / office) == entries(live / office) and entries(inbox / office)
    status = CliRunner().invoke(cli, ["-w", str(tmp_path / "restored"), "inbox", "status"])
    assert status.exit_code == 0, status.output
    assert "moved" not in status.output and "PS-TEST2" in status.stdout
    assert entries(inbox) == [LAYOUT_MARK, "PS-TEST1", "PS-TEST2"]
    assert "PS-TEST2" not in entries(inbox / "PS-TEST1")


def test_files_that_exist_nowhere_else_are_backed_up_and_restored(
    qms_office: TestOffice, ingest_desk: IngestDesk, restored_url: str | None, tmp_path: Path
) -> None:
    """A file waiting in the inbox (a Hindi name), a quarantined one with its .error.txt, a
    duplicate with its note, a processed original with its receipt, and the logs: hashed in the
    manifest, restored byte for byte to the same places; the clerk's task for the quarantined
    file is there after the restore."""
    data = pdf_bytes("GD 17")
    ingest_desk.drop("GD", "gd-17.pdf", data)
    ingest_desk.drop("GD", "scan.pdf", b"not a pdf at all")
    ingest_desk.run()
    ingest_desk.drop("GD", "gd-17 copy.pdf", data)
    ingest_desk.run()
    ingest_desk.drop("MALKHANA", "जब्ती मेमो.pdf")  # waiting: not run yet
    logs = qms_office.runtime.workspace.logs_dir
    logs.mkdir()
    (logs / "ingest.jsonl").write_text('{"file": "GD/gd-17.pdf"}\n', encoding="utf-8")
    live = workspace_files(qms_office.root)
    assert {path.split("/")[0] for path in live} == set(FILE_TREES)

    taken = json.loads(
        invoke("-w", qms_office.root, "backup", tmp_path / "backup", "--as", "priya", "--json")
    )
    manifest = Manifest.read(tmp_path / "backup")
    restore(tmp_path / "backup", tmp_path / "restored", restored_url)

    kept = {path: data for path, data in live.items() if not path.endswith(LAYOUT_MARK)}
    assert taken["workspace_files"] == len(kept) and taken["notes"] == []
    assert {path: entry.sha256 for path, entry in manifest.workspace_files().items()} == {
        path: hashlib.sha256(data).hexdigest() for path, data in kept.items()
    }
    assert workspace_files(tmp_path / "restored") == live
    clerk = qms_office.username("clerk")
    tasks = json.loads(invoke("-w", tmp_path / "restored", "tasks", "--as", clerk, "--json"))
    assert [(t["kind"], t["subject"]) for t in tasks["tasks"]] == [("quarantined", "GD/scan.pdf")]


@sqlite_only
def test_files_that_cannot_be_copied_are_noted_in_the_manifest(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A file that vanishes while the backup runs (filed or moved meanwhile) and a link are
    listed in the manifest's notes, and the backup goes on; a name that is not UTF-8 is kept
    with U+FFFD, and noted; what was copied is restored."""
    folder = qms_office.runtime.workspace.inbox_dir / "PS-TEST1" / "GD"
    (folder / "a.pdf").write_bytes(pdf_bytes("a"))
    (folder / "b.pdf").write_bytes(pdf_bytes("b"))
    (folder / "link.pdf").symlink_to(folder / "a.pdf")
    with open(os.fsencode(folder / "c-") + b"\xff.pdf", "wb") as raw:
        raw.write(pdf_bytes("c"))

    def vanish(stage: str, done: int, _total: int | None) -> None:
        if stage == "files" and done == 1:  # before the first file is copied
            (folder / "b.pdf").unlink()

    summary = take_backup(
        qms_office.runtime,
        actor=qms_office.signers["admin"],
        destination=tmp_path / "backup",
        progress=vanish,
    )
    manifest = Manifest.read(tmp_path / "backup")
    restore(tmp_path / "backup", tmp_path / "restored", None)

    where = "inbox/PS-TEST1/GD"
    assert [(n.path, n.note.split(":")[0].split(",")[0]) for n in manifest.notes] == [
        (f"{where}/b.pdf", "vanished while being copied (filed"),
        (f"{where}/c-\ufffd.pdf", "its name is not UTF-8 text"),
        (f"{where}/link.pdf", "a link"),
    ]
    assert summary.notes == manifest.notes and summary.workspace_files == 2
    assert sorted(manifest.workspace_files()) == [f"{where}/a.pdf", f"{where}/c-\ufffd.pdf"]
    restored = tmp_path / "restored" / where
    assert entries(restored) == ["a.pdf", "c-\ufffd.pdf"]
    assert (restored / "c-\ufffd.pdf").read_bytes() == pdf_bytes("c")


@sqlite_only
def test_shared_inbox_is_moved_per_office_when_restored(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A workspace whose inbox was still shared (backed up before any inbox command moved
    it): restored, its files are moved into the workspace's office as the live workspace's
    next inbox command would, saying so, and every register folder is made."""
    inbox = qms_office.runtime.workspace.inbox_dir
    shutil.rmtree(inbox)
    (inbox / "GD").mkdir(parents=True)
    (inbox / "GD" / "old.pdf").write_bytes(pdf_bytes("old"))
    backup(qms_office, tmp_path / "backup")
    result = restore(tmp_path / "backup", tmp_path / "restored", None)

    assert Manifest.read(tmp_path / "backup").inbox_per_office is False
    assert result.moved[1] == "moved inbox/ GD/ into inbox/PS-TEST1/"
    restored = tmp_path / "restored" / "inbox"
    assert entries(restored) == [LAYOUT_MARK, "PS-TEST1"]
    assert (restored / "PS-TEST1" / "GD" / "old.pdf").read_bytes() == pdf_bytes("old")
    assert "MALKHANA" in entries(restored / "PS-TEST1")


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize("who", ["author", "clerk", "approver", "auditor"])
def test_only_an_admin_or_quality_coordinator_takes_a_backup(
    qms_office: TestOffice, who: str, tmp_path: Path
) -> None:
    """Everyone else is refused, and nothing is written."""
    before = entries(tmp_path)
    with pytest.raises(PermissionDenied, match="may not take a backup in PS-TEST1"):
        backup(qms_office, tmp_path / "backup", who=who)
    assert entries(tmp_path) == before


def test_backup_needs_the_role_in_every_office(qms_office: TestOffice, tmp_path: Path) -> None:
    """It copies every office's records: a quality coordinator of one office alone is refused."""
    add_second_office(qms_office)
    with pytest.raises(PermissionDenied, match="PS-TEST2"):
        backup(qms_office, tmp_path / "backup")
    assert not (tmp_path / "backup").exists()


@sqlite_only
def test_cli_refuses_a_backup_by_an_author(qms_office: TestOffice, tmp_path: Path) -> None:
    """Through the installed command: exit code 4, the reason on standard error, no folder."""
    result = qms("-w", qms_office.root, "backup", tmp_path / "backup", "--as", "anita")
    assert result.returncode == 4, result.stderr
    assert "may not take a backup" in result.stderr and result.stdout == ""
    assert not (tmp_path / "backup").exists()


def test_refusal_says_exactly_what_to_type(qms_office: TestOffice, tmp_path: Path) -> None:
    """A quality coordinator of PS-TEST1 alone is told the grant an admin of PS-TEST2 types and
    the key rotation they then type there; typed as shown, the backup is taken."""
    add_second_office(qms_office)
    root, qc = qms_office.root, qms_office.username("quality_coordinator")
    grant = f"qms --office PS-TEST2 user grant {qc} quality_coordinator --as ADMIN"
    rotate = f"qms --office PS-TEST2 key rotate {qc} --as {qc}"

    refused = qms("-w", root, "backup", tmp_path / "backup", "--as", qc)
    assert refused.returncode == 4
    assert "may not take a backup in PS-TEST2" in refused.stderr
    assert grant in refused.stderr and rotate in refused.stderr
    invoke("-w", root, *grant.replace("ADMIN", "admin").split()[1:])
    half = qms("-w", root, "backup", tmp_path / "backup", "--as", qc)
    assert half.returncode == 4 and "issued by an admin" in half.stderr
    assert rotate in half.stderr and grant not in half.stderr
    invoke("-w", root, *rotate.split()[1:])
    invoke("-w", root, "backup", tmp_path / "backup", "--as", qc)
    assert (tmp_path / "backup" / MANIFEST).is_file()


@pytest.mark.parametrize("command", [["backup"], ["key", "passphrase"]])
def test_as_says_what_it_means_where_nothing_is_signed(command: list[str]) -> None:
    """`backup` and `key passphrase` sign nothing: their --as help says so, not that a key
    signs an audit event."""
    shown = CliRunner().invoke(cli, [*command, "--help"])
    assert shown.exit_code == 0
    text = " ".join(shown.stdout.split())
    assert "nothing is signed" in text and "signs the audit event" not in text


# --------------------------------------------------------------------------- never overwrite


@sqlite_only
def test_backup_destination_must_be_new_or_empty(
    qms_office: TestOffice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder with something in it, a file, a missing parent, the inbox, processed/ or the
    blob store, or the current folder: refused as a usage error, untouched; an empty folder is
    used."""
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "file").write_text("mine", encoding="utf-8")
    workspace = qms_office.runtime.workspace
    refused = [
        (full, "exists and is not empty"),
        (tmp_path / "file", "is not a folder"),
        (tmp_path / "missing" / "backup", "does not exist"),
        (workspace.inbox_dir / "backup", "lies inside inbox/ of the workspace"),
        (workspace.processed_dir / "backup", "lies inside processed/ of the workspace"),
        (workspace.blob_dir / "backup", "lies inside the blob store of the workspace"),
    ]
    for destination, message in refused:
        with pytest.raises(InvalidInput, match=message):
            backup(qms_office, destination)
    monkeypatch.chdir(full)
    with pytest.raises(InvalidInput, match="is the current folder"):
        backup(qms_office, Path("."))
    assert entries(full) == ["keep.txt"]
    assert entries(tmp_path) == ["file", "full", "ws"]

    (tmp_path / "empty").mkdir()
    backup(qms_office, tmp_path / "empty")
    assert (tmp_path / "empty" / MANIFEST).is_file()


@sqlite_only
def test_restore_destination_must_be_new_or_empty(qms_office: TestOffice, tmp_path: Path) -> None:
    """A restore never writes into a folder that holds something: a usage error (exit 2), as
    `doc get -o` onto an existing file."""
    backup(qms_office, tmp_path / "backup")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine", encoding="utf-8")
    result = qms("restore", tmp_path / "backup", tmp_path / "mine")
    assert result.returncode == 2, result.stderr
    assert "exists and is not empty" in result.stderr
    assert entries(tmp_path / "mine") == ["notes.txt"]


@sqlite_only
def test_restore_refuses_a_target_in_an_inbox_a_blob_store_or_the_backup(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Into a live workspace's inbox (the watcher would carry it off), its blob store, or the
    backup folder itself: a usage error (exit 2) saying why, nothing written."""
    backup(qms_office, tmp_path / "backup")
    workspace = qms_office.runtime.workspace
    before = workspace_files(qms_office.root), entries(tmp_path / "backup")
    for target, why in [
        (workspace.inbox_dir / "PS-TEST1" / "restored", "lies inside inbox/ of the workspace"),
        (workspace.blob_dir / "restored", "lies inside the blob store of the workspace"),
        (tmp_path / "backup" / "restored", "lies inside the backup it restores"),
    ]:
        result = qms("restore", tmp_path / "backup", target)
        assert result.returncode == 2, result.stderr
        assert why in result.stderr and str(target) in result.stderr
        assert not target.exists()
    assert (workspace_files(qms_office.root), entries(tmp_path / "backup")) == before


def test_restore_from_a_folder_that_is_no_backup(tmp_path: Path) -> None:
    """A folder without manifest.json is not a backup: a usage error (exit 2) naming it."""
    (tmp_path / "photos").mkdir()
    result = qms("restore", tmp_path / "photos", tmp_path / "restored", "--json")
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stderr)["error"]
    assert error == f"{tmp_path / 'photos'} is not a backup: it has no manifest.json"
    assert not (tmp_path / "restored").exists()


# --------------------------------------------------------------------------- damaged backups


def is_empty(url: str) -> bool:
    """Whether the PostgreSQL database at ``url`` holds nothing (as before a restore)."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return public_objects(connection) == []
    finally:
        engine.dispose()


def entries(folder: Path) -> list[str]:
    """What a folder holds, hidden names (a half-written backup's) included."""
    return sorted(p.name for p in folder.iterdir())


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))


def _damage(kind: str, folder: Path, manifest: Manifest) -> str:
    """Damage the backup in ``folder``; returns the file name the error must give."""
    if kind == "blob":
        name = blob_file(manifest.named_blobs[0])
        _flip_last_byte(folder / name)
    elif kind == "database":
        name = manifest.database.file
        _flip_last_byte(folder / name)
    elif kind == "missing qms.toml":
        name = CONFIG
        (folder / name).unlink()
    elif kind == "path outside":
        name = MANIFEST
        document = json.loads((folder / name).read_text(encoding="utf-8"))
        document["files"]["../outside"] = document["files"].pop(CONFIG)
        (folder / name).write_text(json.dumps(document), encoding="utf-8")
    else:  # a file of the workspace listed where no inbox file goes: beside qms.toml
        name = MANIFEST
        (folder / "files").mkdir()
        (folder / "files" / "notes.txt").write_text("नोट", encoding="utf-8")
        document = json.loads((folder / name).read_text(encoding="utf-8"))
        data = (folder / "files" / "notes.txt").read_bytes()
        document["files"]["files/notes.txt"] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
        (folder / name).write_text(json.dumps(document), encoding="utf-8")
    return name


@pytest.mark.parametrize(
    "kind", ["blob", "database", "missing qms.toml", "path outside", "workspace file outside"]
)
def test_damaged_backup_restores_nothing(
    qms_office: TestOffice, filed: str, restored_url: str | None, kind: str, tmp_path: Path
) -> None:
    """Every hash is checked before anything is written: the error names the file, and neither
    the workspace folder nor anything in the database appears."""
    backup(qms_office, tmp_path / "backup")
    name = _damage(kind, tmp_path / "backup", Manifest.read(tmp_path / "backup"))
    before = entries(tmp_path)

    with pytest.raises(IntegrityError, match=name.replace(".", r"\.")):
        restore(tmp_path / "backup", tmp_path / "restored", restored_url)
    assert entries(tmp_path) == before
    assert restored_url is None or is_empty(restored_url)


@sqlite_only
def test_cli_reports_a_damaged_backup_with_exit_code_6(
    qms_office: TestOffice, filed: str, tmp_path: Path
) -> None:
    """`qms restore --json` on a damaged blob: exit 6, one JSON error naming the file."""
    backup(qms_office, tmp_path / "backup")
    name = _damage("blob", tmp_path / "backup", Manifest.read(tmp_path / "backup"))
    result = qms("restore", tmp_path / "backup", tmp_path / "restored", "--json")
    assert result.returncode == 6 and result.stdout == ""
    error = json.loads(result.stderr)
    assert name in error["error"] and error["exit_code"] == 6
    assert not (tmp_path / "restored").exists()


def test_restore_that_does_not_verify_is_undone(
    qms_office: TestOffice, filed: str, restored_url: str | None, tmp_path: Path
) -> None:
    """A backup of a tampered workspace restores faithfully, fails `audit verify`, and so is
    removed again (the folder, and everything restored into the database)."""
    with qms_office.runtime.engine.begin() as connection:
        connection.execute(
            update(EVENT_TABLE)
            .where(EVENT_TABLE.c.seq == 3)
            .values(payload=text("replace(payload, 'a', 'b')"))
        )
    backup(qms_office, tmp_path / "backup")
    before = entries(tmp_path)

    with pytest.raises(IntegrityError, match="does not verify, so nothing was restored: PS-TEST1"):
        restore(tmp_path / "backup", tmp_path / "restored", restored_url)
    assert entries(tmp_path) == before
    assert restored_url is None or is_empty(restored_url)


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.parametrize("qms_backend", ["postgresql"], indirect=True)
def test_postgres_restore_needs_an_empty_database(
    qms_office: TestOffice, restored_url: str | None, tmp_path: Path
) -> None:
    """Without --database-url, into the live database (not empty), or with a SQLite URL for
    a PostgreSQL backup: usage errors (exit 2), nothing written."""
    backup(qms_office, tmp_path / "backup")
    source, target = tmp_path / "backup", tmp_path / "restored"
    live = qms_office.runtime.engine.url.render_as_string(hide_password=False)

    without = qms("restore", source, target)
    assert without.returncode == 2 and "--database-url" in without.stderr
    with pytest.raises(InvalidInput, match="is not empty: it holds table public"):
        restore(source, target, live)
    into_live = qms("restore", source, target, "--database-url", live)
    assert into_live.returncode == 2 and "is not empty" in into_live.stderr
    with pytest.raises(InvalidInput, match="no PostgreSQL database"):
        restore(source, target, f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert not target.exists()


@sqlite_only
def test_sqlite_backup_refuses_a_database_url(qms_office: TestOffice, tmp_path: Path) -> None:
    """A SQLite backup is restored inside the workspace: --database-url is a usage error."""
    backup(qms_office, tmp_path / "backup")
    with pytest.raises(InvalidInput, match="--database-url is for PostgreSQL backups"):
        restore(tmp_path / "backup", tmp_path / "restored", "postgresql+psycopg://u@h/db")


def test_postgres_tools_must_match_the_server_version(tmp_path: Path) -> None:
    """No pg_dump anywhere, or only one of another version: a configuration error saying which
    version to install and what was found."""
    with pytest.raises(ConfigurationError, match="pg_dump is not installed") as missing:
        find_tool("pg_dump", 15, [tmp_path])
    assert "postgresql-client-15" in str(missing.value.hint)

    old = tmp_path / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n", encoding="utf-8")
    old.chmod(0o755)
    with pytest.raises(ConfigurationError, match=r"runs PostgreSQL 15.*PostgreSQL 9\)"):
        find_tool("pg_dump", 15, [tmp_path])
    assert find_tool("pg_dump", 9, [tmp_path]) == old
