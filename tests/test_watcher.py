"""The long-running watcher (`qms watch`): every dropped file is filed exactly once, none lost.

Everything runs for real: watchdog's inotify and polling observers, ``watch()`` in a thread
stopped with an Event, the real pipeline and workspace, and ``qms watch`` as a subprocess.

Nothing here depends on the machine's speed.  The watcher in a thread keeps time on a
:class:`~tests.clocks.ManualClock` that moves on one tick per round of its loop (between rounds,
never during one), so a settle period or a back-off is a number of rounds, however slow or busy
the machine: a test waits for rounds, or for outcomes with a generous deadline, never for a fixed
number of real seconds.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from qms_engine.api import hookimpl
from qms_engine.chain.signing import Signer
from qms_engine.clock import utc_now, zone
from qms_engine.errors import RuleViolation
from qms_engine.extension.manager import get_plugin_manager, load_plugins
from qms_engine.ingest import watcher as watcher_module
from qms_engine.ingest.inbox import OfficeInbox
from qms_engine.ingest.offices import open_inbox
from qms_engine.ingest.pipeline import Outcome, build_steps
from qms_engine.ingest.steps import FunctionStep, IngestContext, Intake, Step, Transient
from qms_engine.ingest.watcher import Runner, ingest_once, watch
from qms_engine.people.keys import unlock
from qms_engine.runtime import Runtime
from qms_engine.storage.models import DOCUMENT_TABLE, RECEIPT_TABLE
from qms_engine.testing import TEST_PASSPHRASE, TestOffice
from tests.clocks import ManualClock
from tests.ingest_fixtures import INGEST_USER, add_ingest_user

TIMEOUT = 20.0  # real seconds: only ever a deadline for something that must happen
SETTLE = 0.3
TICK = 1 / 16  # the watcher's time per round of its loop (a binary fraction: sums stay exact)


def pdf(body: str, size: int = 0) -> bytes:
    """The bytes of a small, unique "scan": a PDF header, a body, optional padding."""
    return b"%PDF-1.4\n" + body.encode() + b"\n" + os.urandom(size)


def sha(data: bytes) -> str:
    """SHA-256 hex of ``data``."""
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def ingest_signer(qms_office: TestOffice) -> Signer:
    """The inbox service user (clerk + author), enrolled and unlocked."""
    add_ingest_user(qms_office)
    return unlock(qms_office.runtime, INGEST_USER, TEST_PASSPHRASE)


@pytest.fixture
def context(qms_office: TestOffice, ingest_signer: Signer) -> IngestContext:
    """The ingest context of the test workspace, signed by the service user."""
    return IngestContext(qms_office.runtime, ingest_signer, open_inbox(qms_office.runtime))


def office_inbox(context: IngestContext) -> OfficeInbox:
    """The folders of the workspace's office (the test workspace has no other)."""
    return context.inbox.of(context.runtime.office().code)


@pytest.fixture
def gd(context: IngestContext) -> Path:
    """The General Diary inbox folder."""
    folder = office_inbox(context).root / "GD"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def outside(qms_office: TestOffice) -> Path:
    """A folder on the same filesystem as the inbox, outside it (where files are written first)."""
    folder = qms_office.root / "outgoing"
    folder.mkdir()
    return folder


@dataclass
class Outcomes:
    """Outcomes reported by a runner, collected thread-safely."""

    items: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, outcome: Outcome) -> None:
        with self.lock:
            self.items.append(outcome)

    def of(self, status: str) -> list[Outcome]:
        """The outcomes with ``status``."""
        with self.lock:
            return [o for o in self.items if o.status == status]

    def files(self, status: str = "filed") -> list[str]:
        """The inbox names (``GD/x.pdf``) of the outcomes with ``status``, in order."""
        return [o.file for o in self.of(status)]


class Watch:
    """A ``watch()`` running in a thread: its outcomes, its runner, and its loop's rounds.

    The runner's clock moves on by ``TICK`` at the end of every round of the loop (unless
    :meth:`frozen`), so "0.3 s of settling" is five rounds on any machine.
    """

    def __init__(self, outcomes: Outcomes, runner: Runner, clock: ManualClock) -> None:
        self.outcomes = outcomes
        self.runner = runner
        self.clock = clock
        self.errors: list[BaseException] = []
        self.done = threading.Event()
        """Set when ``watch()`` has returned (asked to stop, or serving no office any more)."""
        self._rounds = 0
        self._ticking = True
        self._turned = threading.Condition()

    def turned(self) -> None:
        """``watch()``'s status callback: a round of the loop is over."""
        with self._turned:
            if self._ticking:
                self.clock.advance(TICK)
            self._rounds += 1
            self._turned.notify_all()

    def died(self, error: BaseException) -> None:
        """``watch()`` raised: wake every waiter, who re-raises it."""
        with self._turned:
            self.errors.append(error)
            self._turned.notify_all()

    def check(self) -> None:
        """Re-raise whatever killed ``watch()``."""
        if self.errors:
            raise self.errors[0]

    def rounds(self, count: int = 2) -> None:
        """Wait until the loop has ended ``count`` more rounds (2: one began after this call)."""
        with self._turned:
            target = self._rounds + count
            done = self._turned.wait_for(
                lambda: self._rounds >= target or bool(self.errors), TIMEOUT + count * 0.25
            )
        self.check()
        if not done:
            pytest.fail(f"watch() did not go round {count} more times")

    def until(self, predicate: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
        """Wait (real seconds, as a deadline) until ``predicate`` holds, re-raising watch errors."""
        deadline = time.monotonic() + timeout
        while not predicate():
            self.check()
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.02)

    def quiet(self, seconds: float) -> None:
        """Let ``seconds`` of the watcher's time pass, and the loop look again: for "nothing
        else happens" checks, which can fail only if something does happen."""
        if self._ticking:
            self.rounds(math.ceil(seconds / TICK) + 2)
        else:
            self.clock.advance(seconds)
            self.rounds(2)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Stop the clock's ticking for the block: only ``clock.advance()`` moves it."""
        with self._turned:
            self._ticking = False
        try:
            yield
        finally:
            with self._turned:
                self._ticking = True


@contextmanager
def watching(
    context: IngestContext,
    *,
    steps: list[Step] | None = None,
    poll: bool = False,
    rescan: float = 30.0,
    settle: float = SETTLE,
    clock: ManualClock | None = None,
) -> Iterator[Watch]:
    """Run ``watch()`` in a thread for the block; re-raise whatever killed it."""
    clock = clock or ManualClock()
    outcomes = Outcomes()
    runner = Runner(
        context, steps or build_steps(context.runtime), outcomes, settle=settle, clock=clock
    )
    running = Watch(outcomes, runner, clock)
    stop = threading.Event()

    def run() -> None:
        try:
            watch(
                runner, stop, poll=poll, rescan=rescan, tick=0.05, status=lambda _: running.turned()
            )
        except BaseException as exc:  # reported in the test's thread
            running.died(exc)
        finally:
            running.done.set()

    thread = threading.Thread(target=run, name="qms-watch", daemon=True)
    thread.start()
    try:
        # The first round ends after the observer has started (inotify watches added, the
        # polling observer's first snapshot taken) and the start-up rescan is done: every file
        # written from now on is reported, and every file written before was found.
        running.rounds(1)
        yield running
    finally:
        stop.set()
        thread.join(timeout=TIMEOUT)
    assert not thread.is_alive(), "watch() did not stop when asked"
    running.check()


def receipts(context: IngestContext) -> list[tuple[str, str, str]]:
    """(original name, outcome, number) of every ingest receipt committed."""
    with context.runtime.engine.connect() as connection:
        rows = connection.execute(
            select(
                RECEIPT_TABLE.c.original_name, RECEIPT_TABLE.c.outcome, RECEIPT_TABLE.c.number
            ).order_by(RECEIPT_TABLE.c.original_name)
        ).all()
    return [tuple(row) for row in rows]


def document_count(context: IngestContext) -> int:
    """How many documents the office has."""
    with context.runtime.engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(DOCUMENT_TABLE)).scalar_one()
        )


def stored_sha(context: IngestContext, outcome: Outcome) -> str:
    """SHA-256 recomputed from the stored blob's bytes (not the recorded hash)."""
    assert outcome.sha256 is not None
    digest = hashlib.sha256()
    with context.runtime.store.open(outcome.sha256) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def drop(folder: Path, name: str, data: bytes, *, via: Path | None = None) -> Path:
    """Write a file into ``folder``: in place, or written in ``via`` then renamed in."""
    target = folder / name
    if via is None:
        target.write_bytes(data)
    else:
        staged = via / name
        staged.write_bytes(data)
        os.rename(staged, target)
    return target


def today(context: IngestContext) -> str:
    """The office's local date, as the inbox names its processed/<FOLDER>/<date> folders."""
    office = context.runtime.office()
    return utc_now().astimezone(zone(office.timezone)).date().isoformat()


# --- files arriving ------------------------------------------------------------------------


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
@pytest.mark.parametrize("how", ["in-place", "renamed-in"])
def test_dropped_files_are_filed(
    context: IngestContext, gd: Path, outside: Path, poll: bool, how: str
) -> None:
    """Files written in the folder, or renamed into it, are each filed once (inotify and poll)."""
    via = outside if how == "renamed-in" else None
    datas = {f"GD_{n}_2026-11-24.pdf": pdf(f"{how} {n}") for n in range(1, 6)}
    with watching(context, poll=poll) as running:
        for name, data in datas.items():
            drop(gd, name, data, via=via)
        outcomes = running.outcomes
        running.until(lambda: len(outcomes.items) >= len(datas), "every file to be filed")
        running.quiet(2 * SETTLE)  # nothing else (no second pass) may follow
    assert sorted(outcomes.files()) == sorted(f"GD/{n}" for n in datas)
    assert len(outcomes.items) == len(datas)
    assert {o.sha256 for o in outcomes.items} == {sha(d) for d in datas.values()}
    assert len(receipts(context)) == len(datas)
    assert not list(gd.iterdir()), "the inbox folder must be empty afterwards"
    processed = office_inbox(context).processed / "GD" / today(context)
    assert sorted(p.name for p in processed.glob("*.pdf")) == sorted(datas)
    assert len(list(processed.glob("*.receipt.json"))) == len(datas)


def test_slow_writer_is_filed_once_and_complete(context: IngestContext, gd: Path) -> None:
    """A file written in chunks, pausing less than `settle` between them, is filed once, whole."""
    path = gd / "GD_7_2026-11-24.pdf"
    whole = pdf("slow writer", 200_000)
    chunks = [whole[i : i + 20_000] for i in range(0, len(whole), 20_000)]
    with watching(context) as running:
        outcomes = running.outcomes
        with running.frozen(), path.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                handle.flush()
                running.clock.advance(2 * TICK)  # a pause shorter than SETTLE …
                running.rounds(2)  # … that the watcher sees in full, however slow this machine
                assert not outcomes.items, "taken while still being written"
        running.until(lambda: bool(outcomes.items), "the slow file to be filed")
        running.quiet(3 * SETTLE)
    assert [o.status for o in outcomes.items] == ["filed"]
    (filed,) = outcomes.items
    assert filed.sha256 == sha(whole)
    assert stored_sha(context, filed) == sha(whole)
    assert len(receipts(context)) == 1


@pytest.mark.parametrize("suffix", [".part", ".tmp"])
def test_temporary_upload_name_is_never_claimed(
    context: IngestContext, gd: Path, suffix: str
) -> None:
    """A scanner/FTP upload under `scan.pdf.part` is filed only as `scan.pdf`, after the rename."""
    whole = pdf("scanner upload", 100_000)
    temporary = gd / f"scan.pdf{suffix}"
    with watching(context) as running:
        outcomes = running.outcomes
        with temporary.open("wb") as handle:
            for start in range(0, len(whole), 10_000):
                handle.write(whole[start : start + 10_000])
                handle.flush()
                running.rounds(1)
        running.quiet(3 * SETTLE)  # the temporary name has long settled: still not taken
        assert not outcomes.items
        assert temporary.exists()
        os.rename(temporary, gd / "scan.pdf")
        running.until(lambda: bool(outcomes.items), "scan.pdf to be filed")
        running.quiet(2 * SETTLE)
    assert [(o.status, o.file) for o in outcomes.items] == [("filed", "GD/scan.pdf")]
    assert outcomes.items[0].sha256 == sha(whole)
    assert [r[0] for r in receipts(context)] == ["scan.pdf"]


@pytest.mark.parametrize("how", ["made-in-place", "folder-renamed-in"])
def test_scanner_subfolder_per_scan(
    context: IngestContext, gd: Path, outside: Path, how: str
) -> None:
    """A scanner's folder per scan (`GD/scan-0003/page1.pdf`, `page2.pdf`): both pages filed."""
    pages = {"page1.pdf": pdf("page one"), "page2.pdf": pdf("page two")}
    with watching(context) as running:
        outcomes = running.outcomes
        if how == "made-in-place":
            scan = gd / "scan-0003"
            scan.mkdir()
            for name, data in pages.items():
                (scan / name).write_bytes(data)
        else:
            scan = outside / "scan-0003"
            scan.mkdir()
            for name, data in pages.items():
                (scan / name).write_bytes(data)
            os.rename(scan, gd / "scan-0003")
        running.until(lambda: len(outcomes.items) >= 2, "both pages to be filed")
        running.quiet(2 * SETTLE)
    assert sorted(outcomes.files()) == ["GD/scan-0003/page1.pdf", "GD/scan-0003/page2.pdf"]
    assert len(outcomes.items) == 2
    assert sorted(r[0] for r in receipts(context)) == [
        "scan-0003/page1.pdf",
        "scan-0003/page2.pdf",
    ]


def test_files_waiting_before_start_are_filed(context: IngestContext, gd: Path) -> None:
    """Files that arrived while no watcher ran (incl. in a subfolder) are filed at start."""
    (gd / "GD_1_2026-11-24.pdf").write_bytes(pdf("overnight 1"))
    (gd / "night").mkdir()
    (gd / "night" / "GD_2_2026-11-24.pdf").write_bytes(pdf("overnight 2"))
    with watching(context) as running:
        outcomes = running.outcomes
        running.until(lambda: len(outcomes.items) >= 2, "the waiting files to be filed")
        running.quiet(2 * SETTLE)
    assert sorted(outcomes.files()) == ["GD/GD_1_2026-11-24.pdf", "GD/night/GD_2_2026-11-24.pdf"]
    assert len(outcomes.items) == 2


# --- missed events -------------------------------------------------------------------------


def test_rescan_files_what_the_observer_never_reported(
    context: IngestContext, gd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every watchdog event lost (overflowing queue, silent share), the rescan files it."""
    heard: list[str] = []

    def deaf(self: object, event: object) -> None:
        heard.append(getattr(event, "src_path", ""))  # the observer ran; the event is lost

    monkeypatch.setattr(watcher_module._Handler, "on_any_event", deaf)
    with watching(context, rescan=0.5) as running:
        outcomes = running.outcomes
        (gd / "missed.pdf").write_bytes(pdf("missed"))
        running.until(lambda: bool(outcomes.items), "the rescan to find the file")
        running.until(lambda: bool(heard), "the observer to report the file (then dropped)")
        running.quiet(2 * SETTLE)
    assert heard, "the real observer did report the file (its events were dropped on purpose)"
    assert [(o.status, o.file) for o in outcomes.items] == [("filed", "GD/missed.pdf")]


def test_rescan_notes_only_unseen_files(context: IngestContext, gd: Path) -> None:
    """`Runner.rescan()` notes inbox files it had not seen, not sidecars or temporary names."""
    clock = ManualClock()
    runner = Runner(context, build_steps(context.runtime), Outcomes(), settle=SETTLE, clock=clock)
    (gd / "a.pdf").write_bytes(pdf("a"))
    (gd / "a.pdf.json").write_text("{}", encoding="utf-8")
    (gd / "b.pdf.part").write_bytes(pdf("b"))
    (gd / ".hidden.pdf").write_bytes(pdf("c"))
    runner.rescan()
    assert runner.pending() == 1
    runner.rescan()  # seen already: not noted again, its settle clock is not reset
    assert runner.pending() == 1
    assert runner.settled() == []  # first look: size and time recorded
    clock.advance(SETTLE / 2)
    assert runner.settled() == []  # unchanged, but not for `settle` seconds yet
    clock.advance(SETTLE)
    assert runner.settled() == [gd / "a.pdf"]


# --- more than one taker ---------------------------------------------------------------------


def test_second_watcher_is_refused_and_first_keeps_working(
    context: IngestContext, gd: Path
) -> None:
    """A second `watch()` on the workspace raises RuleViolation naming the running one."""
    with watching(context) as running:
        outcomes = running.outcomes
        (gd / "before.pdf").write_bytes(pdf("before"))
        running.until(lambda: bool(outcomes.items), "the first file")
        second = Runner(context, build_steps(context.runtime), Outcomes(), settle=SETTLE)
        with pytest.raises(RuleViolation, match="already running") as refused:
            watch(second, threading.Event(), tick=0.05)
        assert f"pid {os.getpid()}" in str(refused.value)
        (gd / "after.pdf").write_bytes(pdf("after"))
        running.until(lambda: len(outcomes.items) >= 2, "the file dropped after the refusal")
    assert outcomes.files() == ["GD/before.pdf", "GD/after.pdf"]


def test_two_runners_racing_never_file_twice(
    qms_office: TestOffice, context: IngestContext, gd: Path
) -> None:
    """Two Runners (own runtimes) taking the same 50 files at once file each exactly once."""
    names = [f"GD_{n}_2026-11-24.pdf" for n in range(1, 51)]
    for name in names:
        (gd / name).write_bytes(pdf(name))
    other_runtime = Runtime.open(qms_office.runtime.workspace, load_plugins())
    try:
        other = IngestContext(other_runtime, context.signer, open_inbox(other_runtime))
        tallies = [Outcomes(), Outcomes()]
        runners = [
            Runner(ctx, build_steps(ctx.runtime), tally, settle=0)
            for ctx, tally in zip((context, other), tallies, strict=True)
        ]
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(runner: Runner, order: list[str]) -> None:
            barrier.wait()
            try:
                runner.take(gd / name for name in order)
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=run, args=(runners[0], names)),
            threading.Thread(target=run, args=(runners[1], names[::-1])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        other_runtime.close()
    assert not errors, errors
    every = tallies[0].items + tallies[1].items
    assert {o.status for o in every} == {"filed"}
    assert sorted(o.file for o in every) == sorted(f"GD/{n}" for n in names)
    assert len({o.number for o in every}) == 50
    assert len(receipts(context)) == 50
    assert not list(context.inbox.claimed.iterdir())


def test_ingest_during_watch_leaves_in_flight_claims_alone(
    qms_office: TestOffice, context: IngestContext, gd: Path
) -> None:
    """`qms ingest` started while the watcher is mid-file must not process that claim too."""
    inside, release = threading.Event(), threading.Event()

    def slow_step(intake: Intake, _context: IngestContext) -> None:
        inside.set()
        release.wait(TIMEOUT)

    steps = build_steps(context.runtime)
    steps.insert(len(steps) - 1, FunctionStep("virus scan", slow_step))
    other_runtime = Runtime.open(qms_office.runtime.workspace, load_plugins())
    try:
        with watching(context, steps=steps) as running:
            outcomes = running.outcomes
            (gd / "busy.pdf").write_bytes(pdf("busy"))
            running.until(inside.is_set, "the watcher to be inside the slow step")
            other = IngestContext(other_runtime, context.signer, open_inbox(other_runtime))
            second = Outcomes()
            try:
                ingest_once(Runner(other, build_steps(other_runtime), second, settle=0), [])
            finally:
                release.set()
            taken_by_second = [(o.status, o.file) for o in second.items]
            running.until(lambda: bool(outcomes.items), "the watcher to file busy.pdf")
    finally:
        other_runtime.close()
    assert taken_by_second == [], "the second process took a claim that was in flight"
    assert [o.status for o in outcomes.items] == ["filed"]
    assert len(receipts(context)) == 1


def test_unexpected_step_error_does_not_stop_the_watcher(
    qms_office: TestOffice, context: IngestContext, gd: Path
) -> None:
    """A buggy plugin step raising KeyError on one file: that file is set aside, others filed."""

    def buggy(intake: Intake, _context: IngestContext) -> None:
        if intake.claim.relative == "poison.pdf":
            raise KeyError("officer")

    steps = build_steps(context.runtime)
    steps.insert(len(steps) - 1, FunctionStep("notify the SHO", buggy))
    with watching(context, steps=steps) as running:
        outcomes = running.outcomes
        (gd / "poison.pdf").write_bytes(pdf("poison"))
        running.until(lambda: bool(outcomes.items), "poison.pdf to be set aside")
        (gd / "fine.pdf").write_bytes(pdf("fine"))
        running.until(lambda: len(outcomes.items) >= 2, "fine.pdf to be filed all the same")
    assert ("filed", "GD/fine.pdf") in [(o.status, o.file) for o in outcomes.items]
    assert [o.status for o in outcomes.items if o.file == "GD/poison.pdf"] == ["quarantined"]


# --- passing troubles ----------------------------------------------------------------------


class FlakyDiskPlugin:
    """A plugin adding a step that fails with a passing trouble the first times for each file."""

    def __init__(self, failures: int, clock: Callable[[], float]) -> None:
        self.failures = failures
        self.clock = clock
        self.calls: dict[str, list[float]] = {}

    @hookimpl
    def qms_ingest_steps(self, steps: list[Step]) -> None:
        """Insert "copy to the backup share" before "file the record"."""
        at = [step.name for step in steps].index("file the record")
        steps.insert(at, FunctionStep("copy to the backup share", self.step))

    def step(self, intake: Intake, _context: IngestContext) -> None:
        calls = self.calls.setdefault(intake.claim.relative, [])
        calls.append(self.clock())
        if len(calls) <= self.failures:
            raise Transient("disk full")


def test_transient_errors_are_retried_with_backoff(
    qms_office: TestOffice, context: IngestContext, gd: Path
) -> None:
    """A plugin step raising Transient twice is retried after 1 s, then 2 s, and then filed."""
    clock = ManualClock()
    plugin = FlakyDiskPlugin(failures=2, clock=clock)
    manager = get_plugin_manager(extra_plugins=[("flaky_disk", plugin)])
    runtime = Runtime.open(qms_office.runtime.workspace, load_plugins(manager))
    try:
        flaky = IngestContext(runtime, context.signer, open_inbox(runtime))
        steps = build_steps(runtime)
        assert "copy to the backup share" in [s.name for s in steps]
        with watching(flaky, steps=steps, clock=clock) as running:
            outcomes = running.outcomes
            (gd / "GD_9_2026-11-24.pdf").write_bytes(pdf("flaky"))
            running.until(lambda: bool(outcomes.of("filed")), "the file to be filed after retries")
            assert running.runner.waiting_claims() == 0
    finally:
        runtime.close()
    assert [o.status for o in outcomes.items] == ["waiting", "waiting", "filed"]
    assert outcomes.items[0].problem == "disk full"
    calls = plugin.calls["GD_9_2026-11-24.pdf"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(calls)]
    assert gaps == [1.0, 2.0]  # on the watcher's clock: not a tick sooner, nor a tick later
    assert len(receipts(context)) == 1
    assert not list(runtime.store.tmp_dir.iterdir()), "staged blobs of failed tries were left"
    assert not list(context.inbox.claimed.iterdir())


def _freeze(folder: Path) -> Callable[[], None]:
    """Make ``folder`` refuse new names even to root; returns how to undo it (or skips)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)

        def allow() -> None:
            folder.chmod(0o755)

        return allow
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a folder refuse writes")
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i refused on this filesystem: {done.stderr.strip()}")

    def thaw() -> None:
        subprocess.run(["chattr", "-i", str(folder)], check=True)

    return thaw


def test_move_refused_then_allowed_files_once(context: IngestContext, gd: Path) -> None:
    """processed/GD/<date> refusing writes: record filed once, the move finishes later, no twin."""
    target = office_inbox(context).processed / "GD" / today(context)
    target.mkdir(parents=True)
    thaw = _freeze(target)
    try:
        with watching(context) as running:
            outcomes, runner = running.outcomes, running.runner
            (gd / "GD_3_2026-11-24.pdf").write_bytes(pdf("locked"))
            running.until(lambda: bool(outcomes.of("waiting")), "the move to be refused")
            number = outcomes.items[0].number
            assert number is not None, "the record is committed before the move"
            assert (outcomes.items[0].problem or "").startswith("moving the original")
            assert len(receipts(context)) == 1
            assert runner.waiting_claims() == 1
            running.until(lambda: len(outcomes.of("waiting")) >= 2, "a retry refused again")
            thaw()
            thaw = lambda: None  # noqa: E731
            running.until(lambda: bool(outcomes.of("filed")), "the move to finish")
    finally:
        thaw()
    statuses = [o.status for o in outcomes.items]
    assert statuses[-1] == "filed" and set(statuses[:-1]) == {"waiting"}, statuses
    assert {o.number for o in outcomes.items} == {number}
    assert receipts(context) == [("GD_3_2026-11-24.pdf", "filed", number)]
    assert document_count(context) == 1 + _documents_before(context)
    assert sorted(p.name for p in target.iterdir()) == [
        "GD_3_2026-11-24.pdf",
        "GD_3_2026-11-24.pdf.receipt.json",
    ]
    assert not list(context.inbox.claimed.iterdir())


def _documents_before(context: IngestContext) -> int:
    """Documents other than the inbox's records (the fixture workspace's own, if any)."""
    with context.runtime.engine.connect() as connection:
        filed = connection.execute(select(func.count()).select_from(RECEIPT_TABLE)).scalar_one()
    return document_count(context) - int(filed)


# --- the command -----------------------------------------------------------------------------


def _qms() -> str:
    return str(Path(sys.executable).parent / "qms")


def _env() -> dict[str, str]:
    env = dict(os.environ, QMS_PASSPHRASE=TEST_PASSPHRASE)
    env.pop("QMS_USER", None)
    return env


def test_qms_watch_json_subprocess(
    qms_office: TestOffice, context: IngestContext, gd: Path
) -> None:
    """`qms watch --json` prints one line per outcome, logs the same, exits 0 on SIGTERM."""
    command = [_qms(), "--workspace", str(qms_office.root), "watch", "--as", "ingest"]
    names = [f"GD_{n}_2026-11-24.pdf" for n in range(1, 4)]
    process = subprocess.Popen(
        [*command, "--json", "--settle", "0.3", "--rescan", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    stdout, stderr = process.stdout, process.stderr
    assert stdout is not None and stderr is not None
    lines: queue.Queue[str] = queue.Queue()

    def read_lines() -> None:
        for line in stdout:
            lines.put(line)

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    printed: list[dict[str, Any]] = []
    try:
        for name in names:
            (gd / name).write_bytes(pdf(name))
        deadline = time.monotonic() + 30
        while len(printed) < len(names) and time.monotonic() < deadline:
            try:
                printed.append(json.loads(lines.get(timeout=0.5)))
            except queue.Empty:
                assert process.poll() is None, stderr.read()
        assert len(printed) == len(names), printed

        second = subprocess.run(
            [*command, "--settle", "0.3"], capture_output=True, text=True, env=_env(), timeout=60
        )
        assert second.returncode != 0
        assert "already running" in second.stdout + second.stderr
        assert f"pid {process.pid}" in second.stdout + second.stderr
        assert "Watching" not in second.stderr, "it said it watches, then refused to"

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=5)
    while not lines.empty():
        printed.append(json.loads(lines.get()))
    assert sorted(p["file"] for p in printed) == sorted(f"GD/{n}" for n in names)
    assert {p["status"] for p in printed} == {"filed"}
    log = qms_office.root / "logs" / "ingest.jsonl"
    logged = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert logged == printed
    assert len(receipts(context)) == len(names)
