"""Crash safety of ingestion under a real ``kill -9``: nothing lost, nothing filed twice.

A small driver script runs the real pipeline (``build_steps`` + ``ingest_once``) in a
subprocess as the ``ingest`` service user.  The tests kill it with SIGKILL, either at random
moments or exactly at a chosen point (the driver kills itself there), then run it again to
completion and check the invariants: every dropped file is registered exactly once, every
original is in processed/ exactly once, no claim is left, every revision's blob exists, and the
audit chain verifies.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
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
from qms_engine.ingest.inbox import Inbox
from qms_engine.ingest.pipeline import build_steps
from qms_engine.ingest.steps import FunctionStep, IngestContext
from qms_engine.ingest.watcher import Runner, ingest_once
from qms_engine.runtime import Runtime
from qms_engine.storage.workspace import Workspace
from qms_engine.extension.manager import load_plugins

root, passphrase, point, nth = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
runtime = Runtime.open(Workspace.load(root), load_plugins())
inbox = Inbox(runtime.workspace)
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
ingest_once(Runner(context, steps, report=outcomes.append, settle=0.0), [inbox.root])
print("done", len(outcomes), flush=True)
'''


def _driver(tmp_path: Path) -> Path:
    path = tmp_path / "ingest_driver.py"
    path.write_text(DRIVER, encoding="utf-8")
    return path


def _start(desk: IngestDesk, driver: Path, point: str = "none", nth: int = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(driver), str(desk.root), TEST_PASSPHRASE, point, str(nth)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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
    """200 files, the ingester SIGKILLed at seeded random moments, then run to the end."""
    desk, driver = ingest_desk, _driver(tmp_path)
    dropped = _drop(desk, 200)
    rng = random.Random(20261124)
    interrupted = []  # receipts committed when each kill landed
    for _ in range(10):
        if desk.count(RECEIPT_TABLE) == 200:
            break
        process = _start(desk, driver)
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line == "go", process.communicate()[1]
        time.sleep(rng.uniform(0.05, 0.5))  # a run files ~200 in 1-3 s here
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            interrupted.append(desk.count(RECEIPT_TABLE))
        process.communicate(timeout=60)
    print(f"\nkills landed after {interrupted} of 200 receipts")
    assert len(interrupted) >= 3, interrupted
    assert sum(done < 200 for done in interrupted) >= 2, interrupted  # mid-batch kills
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
