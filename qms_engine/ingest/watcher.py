"""Running the pipeline: once over given files (`qms ingest`), or for ever (`qms watch`).

A file is taken only once it has *settled*: its size and modification time unchanged for
``settle`` seconds (scanners and FTP uploads write slowly, or under a temporary name that is
renamed at the end; temporary names are ignored).  watchdog's events only say "look here":
the inbox is also rescanned every ``rescan`` seconds, so a missed event (a network share that
sends none, an overflowing event queue) delays a file but never loses it.  ``--poll`` uses
watchdog's polling observer, for SMB/NFS shares that send no inotify events at all.

Claims that met a passing trouble are retried with growing pauses (1 s … 60 s) by the same
loop; claims left by a crash are finished first thing at start.  Only one watcher may serve
an office (a lock file per office: each office may have a watcher of its own); even if two
did, a file can be claimed only once.  A run takes the files of the offices it serves (see
:mod:`qms_engine.ingest.offices`) and leaves every other office's folder alone.  An office
where the run's key ends meanwhile (a refused commit says so, and each rescan asks) is served
no more: its files wait in the inbox; a watcher left serving no office stops.

All timing (settling, back-off, rescans) is read from the runner's ``clock`` and ``ingest_once``
waits with its ``sleep``: the real monotonic clock and :func:`time.sleep` unless a caller gives
others (tests move a manual clock on instead of waiting for real seconds to pass).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from qms_engine.errors import RuleViolation
from qms_engine.i18n import _, current_language, set_language
from qms_engine.ingest.extract import read_ahead_docx
from qms_engine.ingest.inbox import NO_OFFICE, Claim, is_ignored, is_sidecar
from qms_engine.ingest.pipeline import Outcome, office_for, process_claim, register_for
from qms_engine.ingest.steps import IngestContext, Step, StepFailed

Report = Callable[[Outcome], None]
Clock = Callable[[], float]
Sleep = Callable[[float], None]
MAX_BACKOFF = 60.0
PR_SET_PDEATHSIG = 1
ORPHAN_CHECK_SECONDS = 0.5


def _end_with_parent(parent: int, language: str) -> None:
    """Worker initializer: a reader speaks the language of the watcher that started it (its
    refusals become quarantine notes), and must not outlive it.

    On Linux the kernel sends SIGTERM when the parent dies (``PR_SET_PDEATHSIG``), even by
    SIGKILL; a thread checking the parent's pid covers other systems and the moment before the
    request took effect.  With every worker gone, multiprocessing's resource tracker (which
    waits for the last holder of its pipe) ends too.
    """
    set_language(language)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # already orphaned before the request took effect
        os._exit(1)

    def check() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=check, name="orphan-check", daemon=True).start()


@contextmanager
def document_readers(jobs: int) -> Iterator[Executor | None]:
    """Worker processes for reading .docx files (spawned: the watcher has threads); they end
    when the process that started them does, however it ends."""
    if jobs <= 1:
        yield None
        return
    with ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_end_with_parent,
        initargs=(os.getpid(), current_language()),
    ) as pool:
        yield pool


@contextmanager
def watch_lock(context: IngestContext) -> Iterator[None]:
    """Refuse to run a second watcher for an office already served (one lock per office, so
    each office may have a watcher of its own: ``qms watch --office CODE``)."""
    with ExitStack() as locks:
        for code in sorted(context.offices):
            locks.enter_context(_office_lock(context.inbox.claimed.parent, code))
        yield


@contextmanager
def _office_lock(folder: Path, code: str) -> Iterator[None]:
    path = folder / f"watch-{code}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RuleViolation(
            _("another `qms watch` is already running for {code}'s inbox ({holder})").format(
                code=code, holder=holder
            ),
            hint=_("stop it first, or let it do the work"),
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float


@dataclass
class _Retry:
    attempts: int = 0
    not_before: float = 0.0


@dataclass
class Runner:
    """Takes settled files from the inbox and runs each through the pipeline."""

    context: IngestContext
    steps: list[Step]
    report: Report
    settle: float = 1.0
    readers: Executor | None = None
    """Worker processes that read .docx files ahead of the serial commits (None: inline)."""
    clock: Clock = time.monotonic
    """Seconds on a monotonic clock, for settling, back-off and rescans.  A seam for tests: they
    pass a clock they move on themselves, so nothing depends on how fast the machine is."""
    sleep: Sleep = time.sleep
    """How :func:`ingest_once` waits for settling files and back-offs (a seam like ``clock``)."""
    _seen: dict[Path, _Seen] = field(default_factory=dict)
    _retries: dict[str, _Retry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, path: Path) -> None:
        """Something happened at ``path`` (called from watchdog's thread too); a file of an
        office this run does not serve is left alone."""
        if path.is_dir() and not path.is_symlink():
            for inner in self._files_below(path):
                self.note(inner)
            return
        if is_ignored(path.name) or is_sidecar(path) or not self.serves(path):
            return
        with self._lock:
            # Already waiting: settled() compares size and time, so more events change nothing.
            self._seen.setdefault(path, _Seen(-1, -1, self.clock()))

    def serves(self, path: Path) -> bool:
        """Whether the file at ``path`` is this run's to take: a file of an office it serves
        (still), or of no office when it serves every office."""
        place = self.context.inbox.place_of(path)
        if place is None or place.office not in self.context.covers:
            return False
        # An office added since the start: not this run's to take, nor to quarantine.
        return not (place.office == NO_OFFICE and self.context.added_later(place.folder))

    def _files_below(self, folder: Path) -> Iterator[Path]:
        for root, subfolders, files in os.walk(folder, followlinks=False):
            subfolders[:] = [d for d in subfolders if not is_ignored(d)]
            yield from (Path(root) / name for name in files)

    def rescan(self) -> None:
        """Look at every file in the inbox (the safety net under watchdog's events)."""
        for path in self.context.inbox.waiting():
            with self._lock:
                known = path in self._seen
            if not known:
                self.note(path)

    def settled(self) -> list[Path]:
        """Files whose size and modification time have not changed for ``settle`` seconds."""
        now, ready = self.clock(), []
        with self._lock:
            for path, seen in list(self._seen.items()):
                try:
                    stat = path.lstat()
                except FileNotFoundError:
                    del self._seen[path]  # renamed away (e.g. a scanner's temporary name)
                    continue
                if (stat.st_size, stat.st_mtime_ns) != (seen.size, seen.mtime_ns):
                    self._seen[path] = _Seen(stat.st_size, stat.st_mtime_ns, now)
                elif now - seen.since >= self.settle:
                    ready.append(path)
                    del self._seen[path]
        return ready

    def pending(self) -> int:
        """Files noticed but not yet settled."""
        with self._lock:
            return len(self._seen)

    def take(self, paths: Iterable[Path]) -> None:
        """Claim each file (skipping any another process claimed first), start reading the
        .docx ones on every core, then process them in order (commits stay serial)."""
        mine = (path for path in paths if self.serves(path))  # an office may have ended since
        claims = [c for c in map(self.context.inbox.claim, mine) if c is not None]
        if self.readers is not None and len(claims) > 1:
            for claim in claims:
                self._read_ahead(claim)
        for claim in claims:
            self._process(claim, fresh=True)

    def _read_ahead(self, claim: Claim) -> None:
        if claim.path.suffix.lower() != ".docx" or claim.path.is_symlink():
            return
        try:
            spec = register_for(self.context.runtime, office_for(claim, self.context), claim.folder)
        except StepFailed:
            return  # quarantined by the pipeline itself, with its reason
        assert self.readers is not None
        self.context.read_ahead[claim.id] = self.readers.submit(
            read_ahead_docx, claim.path, dict(spec.field_labels)
        )

    def _process(self, claim: Claim, *, fresh: bool = False) -> None:
        outcome = process_claim(claim, self.context, self.steps, fresh=fresh)
        self.context.read_ahead.pop(claim.id, None)  # not read (e.g. a duplicate): drop it
        if outcome.status == "waiting":
            retry = self._retries.setdefault(claim.id, _Retry())
            retry.attempts += 1
            retry.not_before = self.clock() + min(MAX_BACKOFF, 2.0 ** (retry.attempts - 1))
        else:
            self._retries.pop(claim.id, None)
        self.report(outcome)

    def finish_claims(self, *, only_due: bool) -> None:
        """Process claims left by a crash, or waiting after a passing trouble."""
        now = self.clock()
        present = set()
        for claim in self.context.inbox.claims(self.context.covers):
            present.add(claim.id)
            retry = self._retries.get(claim.id)
            if only_due and retry is not None and retry.not_before > now:
                continue
            self._process(claim)
        for gone in set(self._retries) - present:  # finished elsewhere, or dropped as empty
            del self._retries[gone]

    def waiting_claims(self) -> int:
        """Claims that met a passing trouble and will be tried again."""
        return len(self._retries)

    def next_retry_in(self) -> float:
        """Seconds until the next waiting claim is due (0 if one is due now)."""
        now = self.clock()
        due = min((r.not_before for r in self._retries.values()), default=now)
        return max(0.0, due - now)


@dataclass
class RecentRate:
    """How many files were done in the last ``window`` seconds: unlike an average since the
    start, it still says how busy the inbox is after a watcher has run for days."""

    window: float = 60.0
    clock: Clock = time.monotonic
    _times: deque[float] = field(default_factory=deque)

    def add(self) -> None:
        """One file done, now."""
        self._times.append(self.clock())

    def count(self) -> int:
        """Files done in the last ``window`` seconds."""
        edge = self.clock() - self.window
        while self._times and self._times[0] <= edge:
            self._times.popleft()
        return len(self._times)


def ingest_once(runner: Runner, paths: Iterable[Path], *, attempts: int = 5) -> None:
    """`qms ingest`: finish old claims, then file the given files once they have settled."""
    runner.finish_claims(only_due=False)
    for path in paths:
        runner.note(path)
    while runner.pending():
        runner.take(runner.settled())
        runner.sleep(min(0.05, runner.settle))
    for _attempt in range(attempts):
        if not runner.waiting_claims():
            break
        runner.sleep(runner.next_retry_in())
        runner.finish_claims(only_due=True)


class _Handler(FileSystemEventHandler):
    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("created", "modified", "closed", "moved"):
            target = getattr(event, "dest_path", "") or event.src_path
            self.runner.note(Path(os.fsdecode(target)))


def watch(
    runner: Runner,
    stop: threading.Event,
    *,
    poll: bool = False,
    rescan: float = 30.0,
    tick: float = 0.1,
    status: Callable[[Runner], None] | None = None,
    started: Callable[[], None] | None = None,
) -> None:
    """`qms watch`: file everything that arrives until ``stop`` is set, or until the run serves
    no office any more (its key ended everywhere: ``runner.context.ended`` says why).

    ``started`` is called once the offices' locks are held, before anything is filed (a second
    watcher is refused before it says it watches).
    """
    context = runner.context
    with watch_lock(context):
        if started:
            started()
        runner.finish_claims(only_due=False)
        observer = PollingObserver(timeout=1.0) if poll else Observer()
        observer.schedule(_Handler(runner), str(context.inbox.root), recursive=True)
        observer.start()
        try:
            runner.rescan()  # what arrived while no watcher ran
            next_rescan = runner.clock() + rescan
            while not stop.is_set() and context.offices:
                runner.take(runner.settled())
                runner.finish_claims(only_due=True)
                if runner.clock() >= next_rescan:
                    context.check_signer()  # a key ended with no file arriving: say so now
                    runner.rescan()
                    next_rescan = runner.clock() + rescan
                if status:
                    status(runner)
                stop.wait(tick)
        finally:
            with _quiet_shutdown():
                observer.stop()
                observer.join()


class _ShutdownRace(logging.Filter):
    """Drops the error watchdog's inotify emitter logs when an event arrives while it stops
    (the observer is being stopped on purpose: nothing is lost, the next run rescans)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


@contextmanager
def _quiet_shutdown() -> Iterator[None]:
    """While the observer stops, a clerk is not shown watchdog's shutdown race as an error."""
    logger, race = logging.getLogger("watchdog.observers.inotify"), _ShutdownRace()
    logger.addFilter(race)
    try:
        yield
    finally:
        logger.removeFilter(race)
