"""Benchmark: how fast `qms audit verify` checks a long chain, against raw Ed25519, and its memory.

What it does (about 5 minutes on a 2-core machine for the defaults, most of it filing):

1. Makes a real workspace (``init_workspace``, users added through the engine so their keys are
   registered in the chain), then takes SOPs through their life through the engine (created,
   revision created, submitted, approved, made effective) until the chain holds N events: the
   tables are then exactly the projection of the chain that verification compares them with
   (writing events around the engine would leave the tables empty, and verification fail).
2. Measures the raw single-core Ed25519 verify rate of ``cryptography`` on this machine.
3. Runs ``verify_office(…, check_blobs=False)`` with jobs=1 and jobs=2 on 100,000 and on 20,000
   events, each in a fresh process so ``ru_maxrss`` (peak RSS, of the process and of its worker
   children) belongs to that run alone.
4. Prints a table; ``--profile`` adds a cProfile of a jobs=1 run (top functions by own time).

Targets: jobs=1 events/s ≥ 0.8 × raw verifies/s; jobs=2 faster than jobs=1; peak memory about
the same for 20,000 and 100,000 events (the verifier streams).

    python bench/bench_verify.py [--events 100000] [--small 20000] [--profile] [--keep DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from qms_engine.audit.verify import verify_office
from qms_engine.chain.canonical import canonical_bytes
from qms_engine.chain.encoding import event_body
from qms_engine.chain.signing import Signer
from qms_engine.documents.revisions import create_document
from qms_engine.documents.transitions import take_transition
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import unlock
from qms_engine.runtime import Runtime
from qms_engine.storage.models import Event
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import staff_member

OFFICE = "PS-BENCH1"
PASSPHRASE = "bench-passphrase"
STAFF = {
    "author": ("anita", "ASI Anita Sharma", "author"),
    "approver": ("sks", "Inspector S. K. Singh", "approver"),
    "qc": ("priya", "HC Priya Yadav", "quality_coordinator"),
}


# --------------------------------------------------------------------------- generating a chain


def make_workspace(root: Path) -> dict[str, Signer]:
    """A real workspace whose staff were enrolled (and keys registered) by the engine."""
    result = init_workspace(
        root,
        plugins=load_plugins(),
        office_type="police_station",
        office_code=OFFICE,
        office_name="Bench station",
        admin="admin",
        admin_name="Station Admin",
        admin_passphrase=PASSPHRASE,
        office_passphrase=PASSPHRASE,
    )
    runtime = Runtime.open(result.workspace, load_plugins())
    try:
        admin = unlock(runtime, "admin", PASSPHRASE)
        signers = {
            key: staff_member(
                runtime, result.office, admin, username, full_name, [role], PASSPHRASE
            )
            for key, (username, full_name, role) in STAFF.items()
        }
    finally:
        runtime.close()
    return signers


def file_history(root: Path, signers: dict[str, Signer], upto: int) -> int:
    """Take SOPs through their life through the engine (created, revision created, submitted,
    approved, made effective: five signed events each) until the chain holds ``upto`` events;
    returns how many it holds.  Through the engine, so the tables are exactly the projection
    of the chain that ``qms audit verify`` compares them with."""
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    folder = root.parent / f"{root.name}-files"
    folder.mkdir(exist_ok=True)
    try:
        office = runtime.office()
        events = _chain_length(root)
        serial = events
        while events + 5 <= upto:
            serial += 1
            path = folder / f"sop-{serial}.pdf"
            path.write_bytes(b"%PDF-1.4\n" + f"procedure {serial}".encode() + b"\n%%EOF\n")
            number = create_document(
                runtime,
                office,
                actor=signers["author"],
                type_code="SOP",
                title=f"Procedure {serial}",
                path=path,
            ).number
            path.unlink()
            for transition, who in (
                ("submit", "author"),
                ("approve", "approver"),
                ("make_effective", "qc"),
            ):
                take_transition(runtime, number=number, transition=transition, actor=signers[who])
            events += 5
    finally:
        runtime.close()
    return _chain_length(root)


def _chain_length(root: Path) -> int:
    connection = sqlite3.connect(root / "qms.sqlite3")
    try:
        return int(connection.execute("SELECT seq FROM chain_head").fetchone()[0])
    finally:
        connection.close()


# --------------------------------------------------------------------------- measuring


def raw_verify_rate(database: Path, samples: int) -> tuple[float, float]:
    """Ed25519 verifies/s on one core: with a loaded key object, and loading the key each time."""
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT * FROM event ORDER BY seq DESC LIMIT ?", (samples,)
        ).fetchall()
        names = [d[0] for d in connection.execute("SELECT * FROM event LIMIT 0").description]
        keys = dict(connection.execute("SELECT fingerprint, public_key FROM signing_key"))
    finally:
        connection.close()
    items = []
    for values in rows:
        row = dict(zip(names, values, strict=True))
        message = canonical_bytes(event_body(cast(Event, SimpleNamespace(**row)), OFFICE))
        items.append(
            (bytes.fromhex(keys[row["key_fingerprint"]]), bytes.fromhex(row["signature"]), message)
        )
    loaded = {public: Ed25519PublicKey.from_public_bytes(public) for public, _, _ in items}
    started = time.perf_counter()
    for public, signature, message in items:
        loaded[public].verify(signature, message)
    pure = len(items) / (time.perf_counter() - started)
    started = time.perf_counter()
    for public, signature, message in items:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    with_load = len(items) / (time.perf_counter() - started)
    return pure, with_load


def _rss_kib() -> int:
    """The current resident set size (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class _PeakSampler(threading.Thread):
    """Samples this process's RSS every 20 ms: the peak *during* verification.

    ``ru_maxrss`` alone cannot show it: start-up (imports, plugins, migrations check) already
    set a higher mark than the verifier ever reaches.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak = 0

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, _rss_kib())


def child_verify(root: Path, jobs: int) -> dict[str, Any]:
    """Runs in a fresh process: one verification, its time and peak memory."""
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        office = runtime.office()
        before = _rss_kib()
        sampler = _PeakSampler()
        sampler.start()
        started = time.perf_counter()
        result = verify_office(runtime, office, jobs=jobs, check_blobs=False)
        elapsed = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
    finally:
        runtime.close()
    return {
        "ok": result.ok,
        "problems": result.problems[:3],
        "events": result.events,
        "seconds": elapsed,
        "rss_before_kib": before,
        "rss_peak_kib": max(sampler.peak, before),
        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def run_child(root: Path, jobs: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", str(root), "--jobs", str(jobs)],
        check=False,
        capture_output=True,
        text=True,
    )
    if completed.returncode:
        raise SystemExit(f"the verification run failed:\n{completed.stderr}")
    outcome: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    if not outcome["ok"]:
        raise SystemExit(f"verification failed on a generated chain: {outcome['problems']}")
    return outcome


def profile(root: Path, top: int = 25) -> str:
    """cProfile of a jobs=1 verification: where the time goes."""
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        office = runtime.office()
        profiler = cProfile.Profile()
        profiler.enable()
        verify_office(runtime, office, jobs=1, check_blobs=False)
        profiler.disable()
    finally:
        runtime.close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--raw", type=int, default=20_000, help="signatures for the raw rate")
    parser.add_argument("--profile", action="store_true", help="cProfile a jobs=1 run")
    parser.add_argument("--keep", type=Path, help="build the workspaces here and keep them")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_verify(args.child, args.jobs)))
        return

    base = args.keep or Path(tempfile.mkdtemp(prefix="qms-bench-verify-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        big, small = base / "big", base / "small"
        started = time.perf_counter()
        signers = make_workspace(small)
        setup = time.perf_counter() - started
        started = time.perf_counter()
        file_history(small, signers, args.small)
        shutil.copytree(small, big)
        total = file_history(big, signers, args.events)
        generate = time.perf_counter() - started
        print(
            f"workspace {setup:.1f} s; filed {total:,} signed events through the engine in "
            f"{generate:.1f} s ({total / generate:,.0f}/s); cpus: {os.cpu_count()}",
            flush=True,
        )

        pure, with_load = raw_verify_rate(big / "qms.sqlite3", args.raw)
        # jobs=2 on the small chain adds nothing the memory comparison needs: skipped for time
        runs = {
            (size, jobs): run_child(root, jobs)
            for size, root, jobs in (
                (args.events, big, 1),
                (args.events, big, 2),
                (args.small, small, 1),
            )
        }

        print()
        print(f"raw Ed25519 verify, 1 core ({args.raw:,} sigs): {pure:,.0f}/s")
        print(f"  … loading the public key from bytes each time:  {with_load:,.0f}/s")
        print()
        header = (
            f"{'events':>8} {'jobs':>4} {'seconds':>8} {'events/s':>9} {'× raw':>6} "
            f"{'main peak MiB':>13} {'(before)':>9} {'ru_maxrss':>9} {'worker peak MiB':>15}"
        )
        print(header)
        print("-" * len(header))
        for (_size, jobs), run in runs.items():
            rate = run["events"] / run["seconds"]
            print(
                f"{run['events']:>8,} {jobs:>4} {run['seconds']:>8.2f} {rate:>9,.0f} "
                f"{rate / pure:>6.2f} {run['rss_peak_kib'] / 1024:>13.1f} "
                f"{run['rss_before_kib'] / 1024:>9.1f} {run['ru_maxrss_kib'] / 1024:>9.1f} "
                f"{run['children_peak_kib'] / 1024:>15.1f}"
            )
        one = runs[(args.events, 1)]
        two = runs[(args.events, 2)]
        rate1 = one["events"] / one["seconds"]
        rate2 = two["events"] / two["seconds"]
        growth = (one["rss_peak_kib"] - runs[(args.small, 1)]["rss_peak_kib"]) / 1024
        print()
        print(
            f"jobs=1 / raw = {rate1 / pure:.2f} (target ≥ 0.80): "
            f"{'met' if rate1 / pure >= 0.8 else 'NOT met'}"
        )
        print(
            f"jobs=2 / jobs=1 = {rate2 / rate1:.2f} (target > 1): "
            f"{'met' if rate2 > rate1 else 'NOT met'}"
        )
        print(
            f"main-process peak grows {growth:+.1f} MiB from {args.small:,} to "
            f"{args.events:,} events"
        )
        if args.profile:
            print()
            print(f"cProfile, jobs=1, {args.small:,} events (sorted by own time):")
            print(profile(small))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
