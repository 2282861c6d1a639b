"""Verification and export read one database snapshot, so other users' writes never confuse them.

Each test makes another user commit (an SOP filed, a checkpoint taken) through a second,
independent workspace handle in another thread, at a chosen moment of a running verification
or export: after it read the chain head, or after it read every event.  The moment is chosen by
the callbacks the engine offers for progress bars, so the tests are deterministic.  They run on
SQLite (a WAL read snapshot) and PostgreSQL (``REPEATABLE READ, READ ONLY``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import docx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError

from qms_engine.audit.bundle import export_bundle
from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key
from qms_engine.audit.verify import verify_bundle, verify_office
from qms_engine.documents.revisions import create_document
from qms_engine.extension.manager import load_plugins
from qms_engine.runtime import Runtime
from qms_engine.storage.database import read_snapshot
from qms_engine.storage.models import HEAD_TABLE, OFFICE_TABLE
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TEST_PASSPHRASE, TestOffice

if TYPE_CHECKING:
    from tests.conftest import Desk


def _new_sop(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"concurrent-{len(list(folder.iterdir()))}.docx"
    document = docx.Document()
    document.add_heading("Night patrol register", level=1)
    document.add_paragraph(f"Filed while an audit ran ({path.name})")
    document.save(str(path))
    return path


def other_user_commits(office: TestOffice, files: Path) -> None:
    """Another user, through their own workspace handle in another thread, files an SOP and
    takes a checkpoint (two commits: events, a blob, a checkpoint row); waits for both."""
    failures: list[BaseException] = []

    def work() -> None:
        runtime = Runtime.open(Workspace.load(office.root), load_plugins())
        try:
            here = runtime.office()
            create_document(
                runtime,
                here,
                actor=office.signers["author"],
                type_code="SOP",
                title="Night patrol register",
                path=_new_sop(files),
            )
            record_checkpoint(
                runtime,
                here,
                actor=office.signers["quality_coordinator"],
                office_key=unlock_office_key(runtime, here, TEST_PASSPHRASE),
            )
        except BaseException as failure:  # re-raised in the test's own thread
            failures.append(failure)
        finally:
            runtime.close()

    writer = threading.Thread(target=work)
    writer.start()
    writer.join(timeout=300)
    assert not writer.is_alive(), "the writer is blocked by the reader's snapshot"
    if failures:
        raise failures[0]


def head_of(office: TestOffice) -> int:
    """The chain head's sequence number, as committed now."""
    with office.runtime.engine.connect() as connection:
        return int(
            connection.execute(
                select(HEAD_TABLE.c.seq).where(HEAD_TABLE.c.office_id == office.office.id)
            ).scalar_one()
        )


def once(action: Callable[[], None]) -> Callable[[int], None]:
    """A progress callback that runs ``action`` the first time it is called."""
    calls: list[int] = []

    def callback(count: int) -> None:
        calls.append(count)
        if len(calls) == 1:
            action()

    return callback


@pytest.fixture
def busy_office(qms_office: TestOffice, desk: Desk) -> TestOffice:
    """The test office with an SOP issued and a checkpoint, so there is a blob and a checkpoint."""
    desk.issue(desk.new_sop())
    runtime, office = qms_office.runtime, qms_office.office
    record_checkpoint(
        runtime,
        office,
        actor=qms_office.signers["quality_coordinator"],
        office_key=unlock_office_key(runtime, office, TEST_PASSPHRASE),
    )
    return qms_office


def test_commit_after_all_events_were_read_is_no_false_alarm(
    busy_office: TestOffice, tmp_path: Path
) -> None:
    """A commit after the verifier read every event is no false alarm: OK, up to the head it saw."""
    before = head_of(busy_office)
    result = verify_office(
        busy_office.runtime,
        busy_office.office,
        progress=once(lambda: other_user_commits(busy_office, tmp_path / "files")),
    )
    assert result.problems == []
    assert result.events == before
    after = head_of(busy_office)
    assert after == before + 3  # document.created, revision created, checkpoint recorded
    again = verify_office(busy_office.runtime, busy_office.office)
    assert (again.problems, again.events, again.checkpoints) == ([], after, 2)


def test_commit_after_the_head_was_read_is_not_seen(
    busy_office: TestOffice, tmp_path: Path
) -> None:
    """A commit after the head was read is not seen: events and checkpoints share its snapshot."""
    before = head_of(busy_office)
    seen: list[int] = []

    def on_head(seq: int) -> None:
        seen.append(seq)
        other_user_commits(busy_office, tmp_path / "files")

    result = verify_office(busy_office.runtime, busy_office.office, on_head=on_head)
    assert seen == [before]
    assert (result.problems, result.events, result.checkpoints) == ([], before, 1)
    assert head_of(busy_office) == before + 3


def test_parallel_verification_reads_the_same_snapshot(
    busy_office: TestOffice, tmp_path: Path
) -> None:
    """With --jobs 2 the verifier still reads one snapshot: a later commit changes nothing."""
    before = head_of(busy_office)
    result = verify_office(
        busy_office.runtime,
        busy_office.office,
        jobs=2,
        on_head=lambda _seq: other_user_commits(busy_office, tmp_path / "files"),
    )
    assert (result.problems, result.events) == ([], before)


def test_export_during_commits_is_one_consistent_bundle(
    busy_office: TestOffice, tmp_path: Path
) -> None:
    """Commits during an export stay out of its bundle, which is one snapshot and verifies."""
    before = head_of(busy_office)
    path = tmp_path / "bundle"
    summary = export_bundle(
        busy_office.runtime,
        busy_office.office,
        path,
        include_blobs=True,
        progress=once(lambda: other_user_commits(busy_office, tmp_path / "files")),
    )
    assert (summary.events, summary.checkpoints, summary.blobs) == (before, 1, 1)
    result = verify_bundle(path)
    assert (result.problems, result.events, result.checkpoints, result.blobs) == (
        [],
        before,
        1,
        1,
    )
    assert head_of(busy_office) == before + 3


def test_export_reports_progress_for_every_event(busy_office: TestOffice, tmp_path: Path) -> None:
    """The export's progress callback is told about every event it wrote, exactly once."""
    counts: list[int] = []
    summary = export_bundle(
        busy_office.runtime, busy_office.office, tmp_path / "b", progress=counts.append
    )
    assert sum(counts) == summary.events == head_of(busy_office)


@pytest.mark.parametrize("qms_backend", ["postgresql"], indirect=True)
def test_snapshot_refuses_writes_on_postgresql(qms_office: TestOffice) -> None:
    """On PostgreSQL the snapshot is a READ ONLY transaction: even a stray write is refused."""
    with (
        pytest.raises(DBAPIError, match="read-only transaction"),
        read_snapshot(qms_office.runtime.engine) as connection,
    ):
        connection.execute(
            insert(OFFICE_TABLE).values(
                code="PS-X", name="x", office_type="police_station", timezone="UTC"
            )
        )
