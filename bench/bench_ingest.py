"""`qms watch` end to end: 2,000 mixed register files dropped at once, against the raw work.

Run from the repository root with the project's virtualenv active::

    python bench/bench_ingest.py                  # defaults: 2,000 files, both drop modes, ~3 min
    python bench/bench_ingest.py --files 500 --scans 1 --modes renamed
    python bench/bench_ingest.py --no-profile --keep

It works in ``./.bench-tmp/run-*`` (same rules as ``bench_transitions.py``: refuses tmpfs,
deletes the folder afterwards unless ``--keep``).

1. **Corpus**, made once and then only copied: GD and MALKHANA .docx records (python-docx
   makes one template per register; each file gets its own entry, case and seal numbers by
   rewriting ``word/document.xml`` in the zip, so every file is distinct and none is a
   duplicate), small PDFs (``%PDF-1.4`` + 20–120 KB random bytes), and a few 20 MB "scans"
   (``%PDF-1.4`` + random bytes).
2. **Watcher**, per drop mode, on a fresh workspace (the ``ingest`` service user enrolled and
   unlocked): ``watch()`` runs in-process in a thread with the real inotify observer,
   ``settle`` 0.5 s, the real pipeline (``build_steps``), and a report callback that stamps
   every outcome.  All files are then dropped at once, either *written in place* into
   ``inbox/<OFFICE>/GD`` / ``…/MALKHANA`` or *renamed in* (copied to a folder on the same
   filesystem first, which is not timed, then ``os.rename``).  Measured: files/s from the first
   drop to the last outcome, seconds from the last drop to the last record committed, and
   peak RSS (``/proc/self/status`` sampled every 20 ms, beside the RSS before the run).  Every
   file must come out ``filed``, with as many ingest receipts as files, or the benchmark stops.
3. **Raw cost of the same work**, same run, same files: per file SHA-256 of its bytes, for a
   .docx a python-docx open and read of every paragraph and table cell, and one durable
   commit (stdlib ``sqlite3``, WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` / ``INSERT`` /
   ``COMMIT``).  Ratio = watcher files/s ÷ raw files/s (goal ≥ 0.70).
4. **Profile** (``--no-profile`` to skip): cProfile of ``Runner.take`` over a further batch
   (default 300 files) in the main thread, the time per pipeline step and per inbox move.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import random
import re
import resource
import shutil
import sqlite3
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import docx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transitions import bench_folder  # the same folder rules as the other bench

from qms_engine.cli.context import default_jobs
from qms_engine.extension.manager import load_plugins
from qms_engine.ingest.offices import open_inbox
from qms_engine.ingest.pipeline import Outcome, build_steps
from qms_engine.ingest.steps import IngestContext
from qms_engine.ingest.watcher import Runner, document_readers, watch
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import unlock
from qms_engine.runtime import Runtime
from qms_engine.storage.models import RECEIPT_TABLE
from qms_engine.testing import staff_member

console = Console(width=150)
PASS = "bench-passphrase"
MiB = 1024 * 1024


# --- 1. corpus -------------------------------------------------------------------------------


def _template(register: str) -> bytes:
    document = docx.Document()
    document.core_properties.title = f"{register} entry ENTRYNO"
    document.add_heading("General Diary" if register == "GD" else "Malkhana register", level=1)
    rows = [("Entry number", "ENTRYNO"), ("Date", "2026-11-24"), ("Officer", "SI Rakesh Verma")]
    if register == "MALKHANA":
        rows += [("Case No.", "CASENO/2026"), ("Seal No.", "SEALNO"), ("Items", "One mobile")]
        rows += [("Depositing officer", "SI Rakesh Verma")]
    table = document.add_table(rows=0, cols=2)
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    for n in range(6):
        document.add_paragraph(f"Remark {n}: rapat of the duty officer, patrol ENTRYNO.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _variant(template: bytes, number: int) -> bytes:
    """The template with its placeholders replaced: a distinct, valid .docx."""
    source, out = zipfile.ZipFile(io.BytesIO(template)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename in ("word/document.xml", "docProps/core.xml"):
                text = data.decode()
                for key, value in (
                    ("ENTRYNO", number),
                    ("CASENO", 100 + number),
                    ("SEALNO", number),
                ):
                    text = text.replace(key, str(value))
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


@dataclass(frozen=True)
class Corpus:
    """The files to drop: (register folder, name) → path in the corpus folder."""

    files: list[tuple[str, str, Path]]

    @property
    def bytes(self) -> int:
        return sum(path.stat().st_size for _, _, path in self.files)


def make_corpus(folder: Path, count: int, scans: int, scan_mib: int) -> Corpus:
    rng = random.Random(9001)
    templates = {register: _template(register) for register in ("GD", "MALKHANA")}
    folder.mkdir(parents=True)
    files: list[tuple[str, str, Path]] = []
    for n in range(count):
        if n < scans:
            register, name = "GD", f"GD_{n + 1}_2026-11-24-scan.pdf"
            data = b"%PDF-1.4\n" + os.urandom(scan_mib * MiB)
        elif n % 10 < 3:
            register, name = "GD", f"GD_{n + 1}_2026-11-24.pdf"
            data = b"%PDF-1.4\n" + rng.randbytes(rng.randint(20_000, 120_000))
        elif n % 10 < 5:
            register, name = "MALKHANA", f"MAL_{n + 1}_2026-11-24.docx"
            data = _variant(templates["MALKHANA"], n + 1)
        else:
            register, name = "GD", f"GD_{n + 1}_2026-11-24.docx"
            data = _variant(templates["GD"], n + 1)
        path = folder / name
        path.write_bytes(data)
        files.append((register, name, path))
    return Corpus(files)


# --- 2. the watcher --------------------------------------------------------------------------


class RssSampler:
    """Peak resident memory of this process, sampled every 20 ms."""

    def __init__(self) -> None:
        self.peak = self.before = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class Stamps:
    """Every outcome with the monotonic time it was reported."""

    items: list[tuple[float, Outcome]] = field(default_factory=list)

    def __call__(self, outcome: Outcome) -> None:
        self.items.append((time.monotonic(), outcome))


def new_workspace(root: Path) -> tuple[Runtime, IngestContext]:
    os.environ["QMS_GD_DAY_BOOK"] = "off"  # a station filing scanned GD pages at any hour
    result = init_workspace(
        root,
        plugins=load_plugins(),
        office_type="police_station",
        office_code="PS-BENCH",
        office_name="Kotwali bench",
        admin="admin",
        admin_name="Station Admin",
        admin_passphrase=PASS,
        office_passphrase=PASS,
    )
    runtime = Runtime.open(result.workspace, load_plugins())
    admin = unlock(runtime, "admin", PASS)
    signer = staff_member(
        runtime,
        result.office,
        admin,
        "ingest",
        "Inbox service",
        ["clerk", "author"],
        PASS,
        kind="service",
    )
    return runtime, IngestContext(runtime, signer, open_inbox(runtime))


@dataclass(frozen=True)
class WatchRun:
    mode: str
    files: int
    drop_seconds: float
    total_seconds: float
    after_last_drop: float
    cpu_seconds: float
    rss_before: int
    rss_peak: int

    @property
    def per_second(self) -> float:
        return self.files / self.total_seconds


def run_watcher(folder: Path, corpus: Corpus, mode: str, settle: float) -> WatchRun:
    runtime, context = new_workspace(folder / f"ws-{mode}")
    try:
        inbox = context.inbox.of(context.runtime.office().code).root
        staging = folder / f"staging-{mode}"
        if mode == "renamed":  # copied next to the inbox beforehand (not timed)
            staging.mkdir()
            for register, name, path in corpus.files:
                (staging / register).mkdir(exist_ok=True)
                shutil.copyfile(path, staging / register / name)
        stamps, stop = Stamps(), threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with document_readers(default_jobs()) as readers:  # as `qms watch` does
                    runner = Runner(
                        context, build_steps(runtime), stamps, settle=settle, readers=readers
                    )
                    watch(runner, stop, rescan=30.0)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        with RssSampler() as memory:
            thread.start()
            time.sleep(0.5)  # observer up
            cpu0, start = time.process_time(), time.monotonic()
            for register, name, path in corpus.files:
                if mode == "renamed":
                    os.rename(staging / register / name, inbox / register / name)
                else:
                    shutil.copyfile(path, inbox / register / name)
            last_drop = time.monotonic()
            deadline = last_drop + 600
            while len(stamps.items) < len(corpus.files) and not errors:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{mode}: only {len(stamps.items)} outcomes after 600 s")
                time.sleep(0.02)
            cpu = time.process_time() - cpu0
            stop.set()
            thread.join()
        if errors:
            raise errors[0]
        statuses = {outcome.status for _, outcome in stamps.items}
        with runtime.engine.connect() as connection:
            filed = connection.execute(select(func.count()).select_from(RECEIPT_TABLE)).scalar()
        if statuses != {"filed"} or filed != len(corpus.files):
            bad = [o for _, o in stamps.items if o.status != "filed"][:3]
            raise SystemExit(f"{mode}: not everything filed: {statuses}, {filed} receipts, {bad}")
        end = max(t for t, _ in stamps.items)
        return WatchRun(
            mode,
            len(corpus.files),
            last_drop - start,
            end - start,
            end - last_drop,
            cpu,
            memory.before,
            memory.peak,
        )
    finally:
        runtime.close()


# --- 3. the raw work -------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRun:
    files: int
    seconds: float
    cpu_seconds: float
    parts: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.files / self.seconds


def run_raw(folder: Path, corpus: Corpus, sample: int) -> RawRun:
    """The raw work on every k-th file (the same mix, scans included), one at a time."""
    step = max(1, len(corpus.files) // max(1, sample))
    chosen = corpus.files[::step]
    database = sqlite3.connect(folder / "raw.sqlite3", isolation_level=None)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=FULL")
    database.execute(
        "CREATE TABLE record (id INTEGER PRIMARY KEY, name TEXT, sha256 TEXT, size INT, text TEXT)"
    )
    parts = dict.fromkeys(("sha256", "python-docx", "commit"), 0.0)
    cpu0, start = time.process_time(), time.monotonic()
    for _register, name, path in chosen:
        t0 = time.monotonic()
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        t1 = time.monotonic()
        text = ""
        if name.endswith(".docx"):
            document = docx.Document(str(path))
            words = [p.text for p in document.paragraphs]
            for table in document.tables:
                words += [cell.text for row in table.rows for cell in row.cells]
            text = "\n".join(words)[:200]
        t2 = time.monotonic()
        database.execute("BEGIN IMMEDIATE")
        database.execute(
            "INSERT INTO record (name, sha256, size, text) VALUES (?, ?, ?, ?)",
            (name, digest.hexdigest(), path.stat().st_size, text),
        )
        database.execute("COMMIT")
        t3 = time.monotonic()
        parts["sha256"] += t1 - t0
        parts["python-docx"] += t2 - t1
        parts["commit"] += t3 - t2
    seconds, cpu = time.monotonic() - start, time.process_time() - cpu0
    database.close()
    return RawRun(len(chosen), seconds, cpu, parts)


# --- 4. profile ------------------------------------------------------------------------------

PROFILED = {
    "claim (rename in, claim.json + fsyncs)": ("inbox.py", "claim"),
    "step: check file type": ("pipeline.py", "_check_type"),
    "step: store the file (hash + stage)": ("pipeline.py", "_hash_and_stage"),
    "step: look for duplicates": ("pipeline.py", "_find_duplicate"),
    "step: read the document (python-docx)": ("pipeline.py", "_read_fields"),
    "step: check the entry (plugins)": ("pipeline.py", "_validate"),
    "step: file the record (signed event, commit)": ("pipeline.py", "_record"),
    "  of which blob commit (copy + fsync)": ("blob_store.py", "commit"),
    "  of which Ed25519 sign": ("signing.py", "sign"),
    "move to processed/ + receipt.json + fsyncs": ("pipeline.py", "_put_away"),
    "_already_done (receipt lookup)": ("pipeline.py", "_already_done"),
    "runtime.office() (per claim)": ("runtime.py", "office"),
}


def run_profile(folder: Path, corpus: Corpus, count: int, top: int) -> None:
    runtime, context = new_workspace(folder / "ws-profile")
    try:
        paths = []
        for register, name, path in [f for f in corpus.files if f[2].stat().st_size < MiB][:count]:
            target = context.inbox.of(context.runtime.office().code).root / register / name
            shutil.copyfile(path, target)
            paths.append(target)
        stamps = Stamps()
        runner = Runner(context, build_steps(runtime), stamps, settle=0)
        profiler = cProfile.Profile()
        start = time.monotonic()
        profiler.runcall(runner.take, paths)
        seconds = time.monotonic() - start
    finally:
        runtime.close()
    stats = pstats.Stats(profiler)
    total = seconds * 1000 / len(paths)
    table = Table(
        title=f"Where a file's time goes (cProfile, {len(paths)} small files, main thread)"
    )
    table.add_column("part")
    table.add_column("ms each", justify="right")
    table.add_column("% of take", justify="right")
    for label, (file, function) in PROFILED.items():
        cumulative = sum(
            value[3]
            for (path, _line, name), value in stats.stats.items()  # type: ignore[attr-defined]
            if name == function and path.endswith(file)
        )
        ms = cumulative * 1000 / len(paths)
        table.add_row(label, f"{ms:.2f}", f"{100 * ms / total:.0f}")
    table.add_row("[b]Runner.take, all[/b]", f"{total:.2f}", "100")
    console.print(table)
    if top:
        buffer = io.StringIO()
        stats.stream = buffer  # type: ignore[attr-defined]
        stats.sort_stats("tottime").print_stats(top)
        console.print(re.sub(r"^.*?(?=\s+ncalls)", "", buffer.getvalue(), flags=re.S))


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--scans", type=int, default=4, help="20 MB scans among the files")
    parser.add_argument("--scan-mib", type=int, default=20)
    parser.add_argument("--raw-sample", type=int, default=500, help="files the raw work runs on")
    parser.add_argument("--settle", type=float, default=0.5)
    parser.add_argument("--modes", default="in-place,renamed")
    parser.add_argument("--profile-files", type=int, default=300)
    parser.add_argument("--top", type=int, default=0, help="also print pstats top N by own time")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--tmp-dir", type=Path, default=Path(".bench-tmp"))
    parser.add_argument("--allow-tmpfs", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    began = time.monotonic()
    with bench_folder(args.tmp_dir, allow_tmpfs=args.allow_tmpfs, keep=args.keep) as folder:
        t0 = time.monotonic()
        corpus = make_corpus(folder / "corpus", args.files, args.scans, args.scan_mib)
        kinds: dict[str, int] = {}
        for _, name, path in corpus.files:
            kind = "scan" if path.stat().st_size > MiB else Path(name).suffix
            kinds[kind] = kinds.get(kind, 0) + 1
        console.print(
            f"corpus: {len(corpus.files)} files, {corpus.bytes / MiB:.0f} MiB "
            f"({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}), "
            f"made in {time.monotonic() - t0:.1f} s"
        )
        raw = run_raw(folder, corpus, args.raw_sample)
        runs = [run_watcher(folder, corpus, mode, args.settle) for mode in args.modes.split(",")]

        table = Table(
            title=f"qms watch vs raw work ({os.cpu_count()} CPUs, settle {args.settle} s)"
        )
        for column in (
            "measurement",
            "files/s",
            "CPU ms/file",
            "drop s",
            "last drop → last commit s",
            "RSS before → peak MiB",
            "× raw",
        ):
            table.add_column(column, justify="left" if column == "measurement" else "right")
        table.add_row(
            f"raw: sha256 + python-docx + sqlite commit ({raw.files} files)",
            f"{raw.per_second:,.0f}",
            f"{1000 * raw.cpu_seconds / raw.files:.2f}",
            "",
            "",
            "",
            "1.00",
        )
        for run in runs:
            table.add_row(
                f"watch(), dropped {run.mode}",
                f"{run.per_second:,.1f}",
                f"{1000 * run.cpu_seconds / run.files:.2f}",
                f"{run.drop_seconds:.1f}",
                f"{run.after_last_drop:.1f}",
                f"{run.rss_before / MiB:.0f} → {run.rss_peak / MiB:.0f}",
                f"{run.per_second / raw.per_second:.3f}",
            )
        console.print(table)
        split = ", ".join(f"{k} {1000 * v / raw.files:.2f} ms" for k, v in raw.parts.items())
        console.print(f"raw per file: {split}")
        best = max(run.per_second for run in runs) / raw.per_second
        verdict = "MET" if best >= 0.7 else "NOT met"
        console.print(f"goal watcher ≥ 0.70 × raw: [b]{verdict}[/b] (best {best:.3f})")
        if not args.no_profile:
            run_profile(folder, corpus, args.profile_files, args.top)
    console.print(f"[dim]whole run {time.monotonic() - began:.0f} s[/dim]")


if __name__ == "__main__":
    main()
