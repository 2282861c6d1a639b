"""Crash safety of ingestion under a real ``kill -9``: nothing lost, nothing filed twice.

A small driver script runs the real pipeline (``build_steps`` + ``ingest_once``) in a
subprocess as the ``ingest`` service user.  The tests kill it with SIGKILL, either at random
moments or exactly at a chosen point (the driver kills itself there), then run it again to
completion and check the invariants: every dropped file is registered exactly once, every
original is in processed/ exactly once, no claim is left, every revision's blob exists, and the
audit chain verifies.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from qms_engine.storage.models import RECEIPT_TABLE
from qms_engine.testing import TEST_PASSPHRASE
from tests.ingest_fixtures import (
    IngestDesk,
    files_below,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
    sha256_file,
)

sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)

DRIVER = r'''
"""Run the ingester over inbox/; optionally SIGKILL itself at a chosen point (for the Nth file)."""
import os
import signal
import sys
from pathlib import Path

from qms_engine.people import keys
from qms_engine.ingest import inbox as inbox_module
from qms_engine.ingest.offices import open_inbox
from qms_engine.ingest.pipeline import build_steps
from qms_engine.ingest.steps import FunctionStep, IngestContext
from qms_engine.ingest.watcher import Runner, ingest_once
from qms_engine.runtime import Runtime
from qms_engine.storage.workspace import Workspace
from qms_engine.extension.manager import load_plugins

root, passphrase, point, nth = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
line = int(sys.argv[5])  # bytes per printed outcome (the test sizes them to its pipe)
runtime = Runtime.open(Workspace.load(root), load_plugins())
inbox = open_inbox(runtime)
context = IngestContext(runtime, keys.unlock(runtime, "ingest", passphrase), inbox)
steps = build_steps(runtime)
seen = 0


def hit() -> bool:
    global seen
    seen += 1
    return seen == nth


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


if point == "after-commit":  # "file the record" is the last step: this runs after its commit
    steps.append(FunctionStep("die after commit", lambda intake, context: hit() and die()))
elif point == "after-link":  # inside move(): the original linked into processed/, not unlinked
    real_move = inbox_module.move

    def move(source: Path, target: Path) -> None:
        if target.is_relative_to(inbox.processed) and not target.name.endswith(".json"):
            if hit():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(source, target)
                die()
        real_move(source, target)

    inbox_module.move = move
elif point in ("before-move", "after-move"):  # around move() of an original to its place
    real_move = inbox_module.move

    def move(source: Path, target: Path) -> None:
        settling = source.parent.parent == inbox.claimed and not target.name.endswith(".json")
        if settling and point == "before-move" and hit():
            die()  # its note (receipt / .error.txt) is written, the file is still claimed
        real_move(source, target)
        if settling and point == "after-move" and hit():
            die()  # moved, the claim folder not yet removed

    inbox_module.move = move

print("go", flush=True)
outcomes = []


def report(outcome) -> None:
    outcomes.append(outcome)
    print(f"outcome {outcome.status}".ljust(line - 1), flush=True)


ingest_once(Runner(context, steps, report=report, settle=0.0), [inbox.root])
print("done", len(outcomes), flush=True)
'''


def _driver(tmp_path: Path) -> Path:
    path = tmp_path / "ingest_driver.py"
    path.write_text(DRIVER, encoding="utf-8")
    return path


def _start(
    desk: IngestDesk,
    driver: Path,
    point: str = "none",
    nth: int = 0,
    *,
    stdout: int | None = None,
    line: int = 64,
) -> subprocess.Popen[str]:
    """Run the driver; its stdout (``line`` bytes per outcome) to ``stdout`` or a new pipe."""
    return subprocess.Popen(
        [sys.executable, str(driver), str(desk.root), TEST_PASSPHRASE, point, str(nth), str(line)],
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


AHEAD = 16  # outcome lines a short pipe holds: the driver can run no further ahead of the reader


def _short_pipe() -> tuple[int, int, int]:
    """(read end, write end, line length) of a one-page pipe that holds AHEAD outcome lines."""
    if sys.platform != "linux":
        pytest.skip("sizing a pipe (fcntl.F_SETPIPE_SZ) is Linux-only")
    read_end, write_end = os.pipe()
    capacity = fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # rounded up to a page
    return read_end, write_end, capacity // AHEAD


def _run_to_the_end(desk: IngestDesk, driver: Path, point: str = "none", nth: int = 0) -> str:
    process = _start(desk, driver, point, nth)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def _kill_at(desk: IngestDesk, driver: Path, point: str, nth: int) -> None:
    process = _start(desk, driver, point, nth)
    _, err = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, err


def _drop(desk: IngestDesk, count: int, *, empty: bool = False) -> Counter[str]:
    dropped: Counter[str] = Counter()
    for index in range(1, count + 1):
        path = desk.drop(
            "GD", f"GD_{index}_2026-11-24.pdf", b"" if empty else pdf_bytes(str(index))
        )
        dropped[sha256_file(path)] += 1
    return dropped


def _originals(folder: Path) -> list[Path]:
    return [p for p in files_below(folder) if not p.name.endswith((".json", ".txt"))]


def _assert_each_filed_once(desk: IngestDesk, dropped: Counter[str]) -> None:
    """Every dropped file registered exactly once, its original in processed/ exactly once."""
    records = desk.records("GD")
    assert len(records) == sum(dropped.values())
    assert Counter(r["sha256"] for r in records) == dropped
    assert sorted(r["serial"] for r in records) == list(range(1, len(records) + 1))
    filed = [r for r in desk.receipts() if r["outcome"] == "filed"]
    assert Counter(r["sha256"] for r in filed) == dropped
    assert {r["number"] for r in filed} == {r["number"] for r in records}
    assert Counter(sha256_file(p) for p in _originals(desk.inbox.processed)) == dropped
    assert files_below(desk.inbox.root) == []
    assert files_below(desk.inbox.duplicates) == [] and files_below(desk.inbox.quarantine) == []
    desk.check_sound()  # chain verifies, every blob present and intact, no claim left


@sqlite_only
def test_random_kill_9_never_loses_or_duplicates_a_file(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """200 files; the ingester SIGKILLed 5 times after seeded random numbers of outcomes."""
    desk, driver = ingest_desk, _driver(tmp_path)
    dropped = _drop(desk, 200)
    rng = random.Random(20261124)
    interrupted = []  # receipts committed when each kill landed
    for _ in range(5):
        # The kill follows the driver's progress, not the clock: after reading `after` outcome
        # lines.  Each line fills 1/AHEAD of a one-page pipe, so the driver blocks rather than
        # run more than AHEAD outcomes ahead: 5 × (20 + AHEAD + 2) < 200 files, and every kill
        # lands mid-batch, somewhere in a file's processing, on any machine at any speed.
        after = rng.randint(3, 20)
        read_end, write_end, line = _short_pipe()
        process = _start(desk, driver, stdout=write_end, line=line)
        os.close(write_end)
        with os.fdopen(read_end, encoding="utf-8") as lines:
            assert lines.readline().strip() == "go", process.communicate()[1]
            for _ in range(after):
                assert lines.readline().startswith("outcome "), process.communicate()[1]
            os.kill(process.pid, signal.SIGKILL)
            process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL, "the driver ended before it was killed"
        interrupted.append(desk.count(RECEIPT_TABLE))
    print(f"\nkills landed after {interrupted} of 200 receipts")
    assert all(done < 200 for done in interrupted), interrupted  # mid-batch kills
    _run_to_the_end(desk, driver)
    _assert_each_filed_once(desk, dropped)


def test_killed_right_after_the_commit_is_moved_not_filed_again(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """SIGKILL after "file the record" committed the 4th file: recovery moves it, files it once."""
    desk, driver = ingest_desk, _driver(tmp_path)
    dropped = _drop(desk, 10)
    _kill_at(desk, driver, "after-commit", 4)
    assert desk.count(RECEIPT_TABLE) == 4
    committed = {r["claim_id"]: r for r in desk.receipts()}
    left = [p for p in desk.claimed() if p.suffix == ".pdf"]  # all claimed at once (take())
    assert len(left) == 7
    (claim,) = [p for p in left if p.parent.name in committed]  # committed, not yet moved
    assert len(_originals(desk.inbox.processed)) == 3
    _run_to_the_end(desk, driver)
    _assert_each_filed_once(desk, dropped)
    assert desk.inbox.counts()["GD"]["processed"] == 10
    assert len(list(desk.inbox.processed.glob("GD/*/*.receipt.json"))) == 10
    assert claim.name in {p.name for p in _originals(desk.inbox.processed)}


@sqlite_only
def test_receipt_written_after_a_crash_has_the_records_fields(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """The receipt finished on recovery carries the same fields and title as the record."""
    desk, driver = ingest_desk, _driver(tmp_path)
    _drop(desk, 3)
    _kill_at(desk, driver, "after-commit", 2)
    _run_to_the_end(desk, driver)
    records = {r["number"]: r for r in desk.records("GD")}
    for receipt_path in desk.inbox.processed.glob("GD/*/*.receipt.json"):
        receipt = json.loads(receipt_path.read_text("utf-8"))
        record = records[receipt["number"]]
        assert receipt["fields"] == record["fields"], receipt_path.name
        assert receipt["title"] == record["title"], receipt_path.name


@sqlite_only
def test_killed_inside_the_move_leaves_one_original(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """SIGKILL between link and unlink of the move to processed/: still one copy per file."""
    desk, driver = ingest_desk, _driver(tmp_path)
    dropped = _drop(desk, 5)
    _kill_at(desk, driver, "after-link", 3)
    _run_to_the_end(desk, driver)
    _assert_each_filed_once(desk, dropped)


@sqlite_only
@pytest.mark.parametrize("point", ["before-move", "after-move"])
def test_killed_around_the_move_to_processed_keeps_receipts(
    ingest_desk: IngestDesk, tmp_path: Path, point: str
) -> None:
    """SIGKILL just before / after an original is moved to processed/: every receipt is there."""
    desk, driver = ingest_desk, _driver(tmp_path)
    dropped = _drop(desk, 5)
    _kill_at(desk, driver, point, 2)
    _run_to_the_end(desk, driver)
    _assert_each_filed_once(desk, dropped)
    receipts = sorted(desk.inbox.processed.glob("GD/*/*.receipt.json"))
    assert [p.name.removesuffix(".receipt.json") for p in receipts] == sorted(
        p.name for p in _originals(desk.inbox.processed)
    )
    assert desk.inbox.counts()["GD"]["processed"] == 5


@sqlite_only
@pytest.mark.parametrize("point", ["before-move", "after-move"])
def test_killed_around_the_move_to_quarantine_keeps_notes(
    ingest_desk: IngestDesk, tmp_path: Path, point: str
) -> None:
    """SIGKILL just before / after a refused file is moved to quarantine/: all can be retried."""
    desk, driver = ingest_desk, _driver(tmp_path)
    _drop(desk, 3, empty=True)
    _kill_at(desk, driver, point, 2)
    _run_to_the_end(desk, driver)
    assert len(desk.quarantined("GD")) == 3
    assert desk.claimed() == []
    assert desk.inbox.counts()["GD"]["quarantined"] == 3
    assert len(desk.inbox.retry()) == 3
    assert len(files_below(desk.inbox.root / "GD")) == 3
