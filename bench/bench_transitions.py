"""Audited transitions per second, against the durable-commit ceiling of the same disk.

Run from the repository root (with the project's virtualenv active)::

    python bench/bench_transitions.py                 # defaults: 2,000 commits / transitions
    python bench/bench_transitions.py --transitions 5000 --documents 50
    python bench/bench_transitions.py --no-profile    # figures only

Measured in one run, in one temporary folder on the same filesystem (``./.bench-tmp/`` under
the current folder by default; refused if that is a RAM disk unless ``--allow-tmpfs``):

1. raw ``sqlite3`` single-row commits/s (WAL, ``synchronous=FULL``, BEGIN IMMEDIATE +
   INSERT + COMMIT per row) — the ceiling set by the disk's flush latency;
2. SQLAlchemy Core single-row commits/s through the engine's own ``create_db_engine`` (same
   pragmas) and ``write_transaction`` — the ceiling for anything written through the engine;
3. audited transitions/s through :func:`qms_engine.documents.transitions.take_transition` on a real
   workspace, alternating ``reject`` (reviewer, with a comment) and ``submit`` (author) across
   K SOP documents, and its ratio to (1);
4. :func:`qms_engine.chain.reader.verify_chain` over the whole office chain afterwards, proving
   every timed transition wrote a signed, hash-linked event.

Then, to help optimise: the SQL statements one transition issues, and a ``cProfile`` of a
further batch of transitions (top functions by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Column, Connection, Integer, MetaData, Text, event, insert
from sqlalchemy import Table as SATable

from qms_engine.chain.reader import verify_chain
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.documents.revisions import create_document
from qms_engine.documents.transitions import take_transition
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import unlock
from qms_engine.runtime import Runtime
from qms_engine.storage.database import create_db_engine, write_transaction
from qms_engine.storage.models import HEAD_TABLE
from qms_engine.testing import staff_member

PASSPHRASE = "bench-passphrase"
OFFICE_CODE = "PS-BENCH1"
WARMUP = 50  # commits before timing starts
PAYLOAD = "x" * 100  # a small row, about the size of a short event payload
RAM_FILESYSTEMS = {"tmpfs", "ramfs", "devtmpfs"}

console = Console(highlight=False, width=None if sys.stdout.isatty() else 110)


# --- where to run ----------------------------------------------------------------------------


def filesystem_of(path: Path) -> tuple[str, str]:
    """(mount point, filesystem type) holding ``path``, from /proc/self/mountinfo."""
    target = str(path.resolve())
    best = ("/", "unknown")
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return best
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mount = fields[4].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best[0]):
            best = (mount, right.split()[0])
    return best


@contextmanager
def bench_folder(base: Path, *, allow_tmpfs: bool, keep: bool) -> Iterator[Path]:
    """A fresh folder under ``base`` (created if needed), removed afterwards."""
    created_base = not base.exists()
    base.mkdir(parents=True, exist_ok=True)
    mount, fstype = filesystem_of(base)
    if fstype in RAM_FILESYSTEMS and not allow_tmpfs:
        raise SystemExit(
            f"{base} is on {fstype} ({mount}): commits there never reach a disk, so the "
            "figures would mean nothing. Use --tmp-dir on a real disk, or --allow-tmpfs."
        )
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    console.print(f"[dim]working in {folder} ({fstype} mounted at {mount})[/dim]")
    try:
        yield folder
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
            if created_base:
                with suppress(OSError):  # another run may be using it too
                    base.rmdir()


# --- 1 and 2: commit ceilings ----------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``count`` operations in ``seconds`` of wall time (and ``cpu`` seconds of process time)."""

    count: int
    seconds: float
    cpu: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def micros_each(self) -> float:
        return 1e6 * self.seconds / self.count

    @property
    def cpu_micros_each(self) -> float:
        return 1e6 * self.cpu / self.count


def timed(count: int, body: Callable[[], None]) -> Rate:
    """Run ``body`` (which does ``count`` operations) and time it."""
    wall, cpu = time.perf_counter(), time.process_time()
    body()
    return Rate(count, time.perf_counter() - wall, time.process_time() - cpu)


class RawSqlite:
    """Stdlib sqlite3: WAL, synchronous=FULL, one BEGIN IMMEDIATE / INSERT / COMMIT per row."""

    def __init__(self, folder: Path) -> None:
        self.connection = sqlite3.connect(folder / "raw.sqlite3", isolation_level=None)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = FULL")
        self.connection.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, seq INTEGER, payload TEXT)"
        )
        self.written = 0

    def write(self, rows: int) -> None:
        execute = self.connection.execute
        for seq in range(self.written, self.written + rows):
            execute("BEGIN IMMEDIATE")
            execute("INSERT INTO t (seq, payload) VALUES (?, ?)", (seq, PAYLOAD))
            execute("COMMIT")
        self.written += rows

    def close(self) -> None:
        (stored,) = self.connection.execute("SELECT count(*) FROM t").fetchone()
        assert stored == self.written, (stored, self.written)
        self.connection.close()


class CoreCommits:
    """SQLAlchemy Core through the engine's own engine factory and write transaction."""

    def __init__(self, folder: Path) -> None:
        metadata = MetaData()
        table = SATable(
            "t",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("seq", Integer, nullable=False),
            Column("payload", Text, nullable=False),
        )
        self.engine = create_db_engine(f"sqlite:///{folder / 'core.sqlite3'}", create=True)
        metadata.create_all(self.engine)
        self.statement = insert(table)
        self.written = 0

    def write(self, rows: int) -> None:
        for seq in range(self.written, self.written + rows):
            with write_transaction(self.engine) as connection:
                connection.execute(self.statement, {"seq": seq, "payload": PAYLOAD})
        self.written += rows

    def close(self) -> None:
        self.engine.dispose()


def median_rate(rates: list[Rate]) -> Rate:
    """The round with the median rate (robust to a round disturbed by other disk traffic)."""
    return sorted(rates, key=lambda rate: rate.per_second)[len(rates) // 2]


def total_rate(rates: list[Rate]) -> Rate:
    return Rate(
        sum(r.count for r in rates), sum(r.seconds for r in rates), sum(r.cpu for r in rates)
    )


# --- 3: audited transitions ------------------------------------------------------------------


@dataclass
class Bench:
    """A staffed workspace with K submitted SOPs, and the next step of the alternation."""

    runtime: Runtime
    office: OfficeRef
    author: Signer
    reviewer: Signer
    numbers: list[str]
    step: int = 0

    def transitions(self, count: int) -> None:
        """``count`` transitions: round-robin over the documents, reject then submit."""
        numbers, documents = self.numbers, len(self.numbers)
        for index in range(self.step, self.step + count):
            number = numbers[index % documents]
            if (index // documents) % 2 == 0:
                take_transition(
                    self.runtime,
                    number=number,
                    transition="reject",
                    actor=self.reviewer,
                    comment=f"bench round {index // documents}: please correct section 3",
                )
            else:
                take_transition(self.runtime, number=number, transition="submit", actor=self.author)
        self.step += count

    def head_seq(self) -> int:
        with self.runtime.engine.connect() as connection:
            seq = connection.execute(
                HEAD_TABLE.select()
                .with_only_columns(HEAD_TABLE.c.seq)
                .where(HEAD_TABLE.c.office_id == self.office.id)
            ).scalar_one()
        return int(seq)


def build_workspace(folder: Path, documents: int) -> Bench:
    """init_workspace, an author, reviewer and approver (keys unlocked once), K submitted SOPs."""
    result = init_workspace(
        folder / "ws",
        plugins=load_plugins(),
        office_type="police_station",
        office_code=OFFICE_CODE,
        office_name="Benchmark Kotwali",
        admin="admin",
        admin_name="Station Admin",
        admin_passphrase=PASSPHRASE,
        office_passphrase=PASSPHRASE,
    )
    runtime = Runtime.open(result.workspace, load_plugins())
    office = result.office
    admin = unlock(runtime, "admin", PASSPHRASE)
    staff = {
        "author": ("anita", "ASI Anita Sharma"),
        "reviewer": ("rakesh", "SI Rakesh Verma"),
        "approver": ("sks", "Inspector S. K. Singh"),
    }
    signers: dict[str, Signer] = {}
    for role, (username, full_name) in staff.items():
        signers[role] = staff_member(
            runtime, office, admin, username, full_name, [role], PASSPHRASE
        )
    files = folder / "files"
    files.mkdir()
    numbers = []
    for index in range(documents):
        path = files / f"sop-{index:04d}.pdf"
        path.write_bytes(b"%PDF-1.4\n% benchmark SOP " + str(index).encode() + b"\n%%EOF\n")
        revision = create_document(
            runtime,
            office,
            actor=signers["author"],
            type_code="SOP",
            title=f"Benchmark procedure {index}",
            path=path,
        )
        numbers.append(revision.number)
    for number in numbers:
        take_transition(runtime, number=number, transition="submit", actor=signers["author"])
    return Bench(runtime, office, signers["author"], signers["reviewer"], numbers)


# --- what one transition does ----------------------------------------------------------------


def _summarise(statement: str) -> str:
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    table = ""
    for pattern in (r"\bINTO (\w+)", r"^UPDATE (\w+)", r"\bFROM (\w+)"):
        found = re.search(pattern, text, re.IGNORECASE)
        if found:
            table = found.group(1)
            break
    joins = re.findall(r"\bJOIN (\w+)", text, re.IGNORECASE)
    described = f"{verb} {table}".strip()
    if joins:
        described += " ⨝ " + ", ".join(joins)
    if verb == "SELECT" and re.search(r"\blimit\b", text, re.IGNORECASE):
        described += " (limit)"
    return described


def statements_per_transition(bench: Bench, count: int) -> tuple[Counter[str], int]:
    """The SQL the next ``count`` transitions issue, summarised, with the commit count."""
    seen: Counter[str] = Counter()
    commits = 0

    def on_execute(_conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        seen[_summarise(statement)] += 1

    def on_commit(_conn: Connection) -> None:
        nonlocal commits
        commits += 1

    engine = bench.runtime.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        bench.transitions(count)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
    return seen, commits


# Where a transition's time goes: (module file, function) -> what it stands for.
BREAKDOWN = [
    ("transitions.py", "take_transition", "take_transition (whole call)"),
    ("database.py", "write_transaction", "  connect + BEGIN IMMEDIATE + COMMIT + pool return"),
    ("database.py", "_on_begin", "    BEGIN IMMEDIATE (begin event)"),
    (
        "~",
        "<method 'commit' of 'sqlite3.Connection' objects>",
        "    sqlite3 COMMIT (WAL write + fsync)",
    ),
    ("revisions.py", "load_document", "  load_document (statement built per call)"),
    ("unit_of_work.py", "lock", "  UnitOfWork.lock (SELECT chain_head)"),
    ("permissions.py", "load_actor", "  load_actor (user+key, roles: 2 SELECTs)"),
    ("unit_of_work.py", "append", "  UnitOfWork.append (event INSERT)"),
    ("canonical.py", "canonical_bytes", "    canonical_bytes (body + payload text)"),
    ("signing.py", "sign", "    Ed25519 sign"),
    ("unit_of_work.py", "_finish", "  UnitOfWork._finish (UPDATE chain_head)"),
    ("plugin_set.py", "notify", "  qms_event_committed hooks"),
    ("elements.py", "_compile_w_cache", "  (SQLAlchemy compile-cache lookups, all stmts)"),
    ("cache_key.py", "_generate_cache_key", "  (SQLAlchemy cache-key generation, all stmts)"),
    (
        "~",
        "<method 'execute' of 'sqlite3.Cursor' objects>",
        "  (sqlite3 cursor.execute, all stmts)",
    ),
]


def breakdown(stats: pstats.Stats, count: int) -> Table:
    """Cumulative µs per transition spent in the functions of :data:`BREAKDOWN`."""
    found: dict[tuple[str, str], float] = {}
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in raw.items():
        key = (Path(filename).name, function)
        found[key] = found.get(key, 0.0) + cumulative
    whole = found.get(("transitions.py", "take_transition"), 0.0) or 1.0
    table = Table(title=f"where a transition's time goes (cProfile, {count} transitions)")
    table.add_column("function")
    table.add_column("µs / transition", justify="right")
    table.add_column("% of take_transition", justify="right")
    for filename, function, label in BREAKDOWN:
        seconds = found.get((filename, function))
        if seconds is not None:
            table.add_row(label, f"{1e6 * seconds / count:,.0f}", f"{100 * seconds / whole:.0f}")
    return table


def profile(bench: Bench, count: int, top: int) -> tuple[Rate, str, Table]:
    """cProfile ``count`` transitions: the top functions by cumulative time, and a breakdown."""
    profiler = cProfile.Profile()
    rate = timed(count, lambda: profiler.runcall(bench.transitions, count))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    table = breakdown(stats, count)
    stats.strip_dirs().sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    out.write("\n--- by own (internal) time ---\n")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    return rate, out.getvalue(), table


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transitions", "-n", type=int, default=2000, help="timed (default 2000)")
    parser.add_argument(
        "--commits", type=int, default=None, help="rows for the commit ceilings (default: = N)"
    )
    parser.add_argument("--documents", "-k", type=int, default=20, help="SOPs (default 20)")
    parser.add_argument(
        "--profile-transitions", type=int, default=500, help="profiled batch (default 500)"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the statement/profile")
    parser.add_argument(
        "--rounds", type=int, default=4, help="interleaved rounds; the median counts (default 4)"
    )
    parser.add_argument("--top", type=int, default=15, help="functions shown in the profile")
    parser.add_argument("--tmp-dir", type=Path, default=Path(".bench-tmp"))
    parser.add_argument("--allow-tmpfs", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the temporary files")
    args = parser.parse_args(argv)
    if min(args.transitions, args.documents, args.rounds) < 1:
        parser.error("--transitions, --documents and --rounds must be at least 1")
    if args.transitions < args.rounds:
        parser.error("--transitions must be at least --rounds")
    commits = args.commits or args.transitions

    with bench_folder(args.tmp_dir, allow_tmpfs=args.allow_tmpfs, keep=args.keep) as folder:
        console.print(f"[dim]setup: workspace with {args.documents} submitted SOPs…[/dim]")
        started = time.perf_counter()
        bench = build_workspace(folder, args.documents)
        setup = time.perf_counter() - started
        raw_db, core_db = RawSqlite(folder), CoreCommits(folder)
        try:
            raw_db.write(WARMUP)
            core_db.write(WARMUP)
            bench.transitions(2 * args.documents)  # warm caches; not timed, still verified
            before = bench.head_seq()
            rounds: dict[str, list[Rate]] = {"raw": [], "core": [], "audited": []}
            per_round = [args.transitions // args.rounds] * args.rounds
            per_round[-1] += args.transitions - sum(per_round)
            commit_rounds = [commits // args.rounds] * args.rounds
            commit_rounds[-1] += commits - sum(commit_rounds)
            for number, (rows, steps) in enumerate(zip(commit_rounds, per_round, strict=True)):
                console.print(
                    f"[dim]round {number + 1}/{args.rounds}: {rows} raw commits, "
                    f"{rows} Core commits, {steps} audited transitions…[/dim]"
                )
                rounds["raw"].append(timed(rows, partial(raw_db.write, rows)))
                rounds["core"].append(timed(rows, partial(core_db.write, rows)))
                rounds["audited"].append(timed(steps, partial(bench.transitions, steps)))
        finally:
            raw_db.close()
            core_db.close()
        try:
            written = bench.head_seq() - before
            if written != args.transitions:
                raise SystemExit(f"expected {args.transitions} events, the chain grew {written}")
            raw = median_rate(rounds["raw"])
            core = median_rate(rounds["core"])
            audited = median_rate(rounds["audited"])

            statements: Counter[str] = Counter()
            sampled = commits_seen = 0
            profiled: Rate | None = None
            report = ""
            where: Table | None = None
            if not args.no_profile:
                sampled = 2 * args.documents  # one reject and one submit of every document
                statements, commits_seen = statements_per_transition(bench, sampled)
                profiled, report, where = profile(bench, args.profile_transitions, args.top)

            console.print("[dim]verifying the chain…[/dim]")
            started = time.perf_counter()
            with bench.runtime.engine.connect() as connection:
                verified = verify_chain(connection, bench.office)
            verify_seconds = time.perf_counter() - started
            expected = bench.head_seq()
            if verified != expected:
                raise SystemExit(f"verify_chain counted {verified}, the head says {expected}")
        finally:
            bench.runtime.close()

    table = Table(
        title="qms-engine: durable commits and audited transitions (same disk)",
        caption=f"median of {args.rounds} interleaved rounds; range = slowest…fastest round",
    )
    table.add_column("measurement")
    table.add_column("total", justify="right")
    table.add_column("per second", justify="right")
    table.add_column("range /s", justify="right")
    table.add_column("µs each", justify="right")
    table.add_column("µs CPU each", justify="right")
    table.add_column("vs raw", justify="right")
    rows = [
        ("1. raw sqlite3 commit", raw, rounds["raw"]),
        ("2. SQLAlchemy Core commit", core, rounds["core"]),
        ("3. audited transition", audited, rounds["audited"]),
    ]
    for label, rate, each in rows:
        speeds = sorted(r.per_second for r in each)
        table.add_row(
            label,
            f"{total_rate(each).count:,}",
            f"{rate.per_second:,.0f}",
            f"{speeds[0]:,.0f}…{speeds[-1]:,.0f}",
            f"{rate.micros_each:,.0f}",
            f"{rate.cpu_micros_each:,.0f}",
            f"{rate.per_second / raw.per_second:.2f}",
        )
    console.print(table)
    ratio = audited.per_second / raw.per_second
    goal = raw.per_second / 3
    verdict = "[green]met[/green]" if ratio >= 1 / 3 else "[red]not met[/red]"
    console.print(
        f"audited / raw = {ratio:.3f} (1/{1 / ratio:.1f}); goal ≥ 1/3 of raw "
        f"= {goal:,.0f} transitions/s: {verdict}"
    )
    console.print(
        f"verify_chain: {verified:,} events verified (links, hashes, signatures) in "
        f"{verify_seconds:.2f} s, including the {args.transitions:,} timed transitions "
        f"(the chain grew by exactly {written:,} while timing); "
        f"setup (workspace, 3 users, {args.documents} SOPs submitted) {setup:.1f} s"
    )

    if profiled is not None:
        per = sum(statements.values()) / sampled
        console.print(
            f"\n[bold]SQL per transition[/bold] (mean of {sampled} transitions: "
            f"{per:.1f} statements + {commits_seen / sampled:.1f} commit)"
        )
        shape = Table(show_header=True)
        shape.add_column("statement (verb, table, joins)")
        shape.add_column("per transition", justify="right")
        for text, seen in statements.most_common():
            shape.add_row(text, f"{seen / sampled:.2f}")
        console.print(shape)
        console.print(
            f"\n[bold]cProfile[/bold]: {profiled.count} transitions, "
            f"{profiled.per_second:,.0f}/s under the profiler "
            f"({profiled.micros_each:,.0f} µs each; the profiler adds roughly half again)"
        )
        if where is not None:
            console.print(where)
        sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
