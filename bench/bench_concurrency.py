"""Signed transitions per second with concurrent clients, and the master list of a district.

Run from the repository root (with the project's virtualenv active and a PostgreSQL server;
``eval "$(bash .ci/postgres start /tmp/qms-pg)"`` starts one and exports its URL)::

    python bench/bench_concurrency.py                       # defaults, ~2–3 min on 2 cores
    python bench/bench_concurrency.py --transitions 960 --clients 1,2,4,8,16
    python bench/bench_concurrency.py --no-listing          # transitions only
    python bench/bench_concurrency.py --district-documents 500 --no-profile

PostgreSQL comes from ``--postgres-url``, else ``$QMS_BENCH_POSTGRES_URL``, else
``$QMS_TEST_POSTGRES_URL`` (any database on the server: the benchmark creates and drops its own
``qms_bench_*`` databases there).  Without one, only the SQLite cases run.

1. **Concurrent transitions.**  For each layout — PostgreSQL with every client in ONE office,
   PostgreSQL with the clients spread over 16 offices (client *i* in office *i* mod 16), and
   SQLite (one office, one file) — and for 1, 4 and 16 clients: that many processes (started
   with ``spawn``) each open their own ``Runtime``, unlock their signers once, take two warm-up
   transitions, wait at a common barrier, then take N ÷ clients transitions on their own
   documents, alternating ``reject`` (the reviewer, with a comment) and ``submit`` (the author).
   Rate = all timed transitions ÷ (last client's end − first client's start).  Afterwards every
   chain is verified with ``verify_chain`` and the event count must have grown by exactly the
   number of transitions taken (warm-up included).
2. **Master list of a district**: 40 offices (made with ``add_office``) × 2,000 SOPs each, i.e.
   80,000 documents with 1–3 revisions each.  Those documents are NOT made through the signed
   path: their ``document``/``revision``/``revision_state`` rows are bulk-inserted with
   SQLAlchemy Core (hashes of generated content, no events, no blobs), which takes seconds
   instead of hours and is all ``list_documents`` reads.  Timed: ``list_documents(runtime)``
   (the whole district) and ``list_documents(runtime, office=…)`` (one office), on PostgreSQL
   and on SQLite; then where the time goes, and what an SQL-side summary would cost instead.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transitions import bench_folder  # the same folder rules as the other bench

from qms_engine.chain.reader import verify_chain
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import to_utc_text
from qms_engine.documents.master_list import DocumentSummary, list_documents
from qms_engine.documents.revisions import create_document
from qms_engine.documents.transitions import take_transition
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import rotate, unlock
from qms_engine.people.offices import add_office
from qms_engine.people.users import grant_roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    EVENT_TABLE,
    HEAD_TABLE,
    REVISION_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import staff_member

PASSPHRASE = "bench-passphrase"
AUTHOR, REVIEWER = "anita", "rakesh"
OFFICE_TYPE = "police_station"
CONTEXT = multiprocessing.get_context("spawn")  # each client opens its own connections
WARMUP = 2  # transitions per client before the barrier (not timed, but verified and counted)

console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


def note(text: str) -> None:
    console.print(f"[dim]{text}[/dim]")


# --- databases -------------------------------------------------------------------------------


class PostgresDatabases:
    """Creates ``qms_bench_*`` databases on a server and drops them afterwards."""

    def __init__(self, url: str, *, keep: bool) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.keep = keep
        self.made: list[str] = []

    def create(self) -> str:
        name = f"qms_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name} ENCODING 'UTF8'")
        self.made.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self.keep:
            note(f"kept PostgreSQL databases: {', '.join(self.made)}")
        else:
            with self.admin.connect() as connection:
                for name in self.made:
                    connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.admin.dispose()


# --- 1: concurrent transitions ---------------------------------------------------------------


@dataclass
class Layout:
    """A workspace with offices, an author and a reviewer in each, and each client's SOPs."""

    label: str
    backend: str
    root: Path
    offices: list[OfficeRef]
    client_documents: list[list[str]]  # client index -> its submitted SOP numbers
    results: list[Scenario] = field(default_factory=list)


def office_code(prefix: str, index: int) -> str:
    return f"{prefix}{index + 1:02d}"


def new_workspace(root: Path, code: str, database_url: str | None) -> tuple[Runtime, Any]:
    """``init_workspace`` with one office; returns the open Runtime and the admin's signer."""
    result = init_workspace(
        root,
        plugins=load_plugins(),
        office_type=OFFICE_TYPE,
        office_code=code,
        office_name=f"Benchmark office {code}",
        admin="admin",
        admin_name="Station Admin",
        admin_passphrase=PASSPHRASE,
        office_passphrase=PASSPHRASE,
        database_url=database_url,
    )
    runtime = Runtime.open(result.workspace, load_plugins())
    return runtime, unlock(runtime, "admin", PASSPHRASE)


def more_offices(runtime: Runtime, admin: Any, prefix: str, count: int) -> list[OfficeRef]:
    """The workspace's office plus ``count - 1`` more made with ``add_office``."""
    first = runtime.office()
    offices = [first]
    for index in range(1, count):
        offices.append(
            add_office(
                runtime,
                actor=admin,
                from_office=first,
                code=office_code(prefix, index),
                name=f"Benchmark office {index + 1}",
                office_type=OFFICE_TYPE,
                office_passphrase=PASSPHRASE,
            )
        )
    return offices


def build_layout(
    folder: Path,
    label: str,
    backend: str,
    database_url: str | None,
    offices: int,
    clients: int,
    per_client: int,
) -> Layout:
    """A workspace with ``offices`` offices and ``per_client`` submitted SOPs per client."""
    root = folder / label.replace(" ", "-")
    runtime, admin = new_workspace(root, office_code("PS-C", 0), database_url)
    try:
        refs = more_offices(runtime, admin, "PS-C", offices)
        first = refs[0]
        for username, name, role in (
            (AUTHOR, "ASI Anita", "author"),
            (REVIEWER, "SI Rakesh", "reviewer"),
        ):
            own = staff_member(runtime, first, admin, username, name, [role], PASSPHRASE)
            for office in refs[1:]:
                grant_roles(runtime, office, actor=admin, username=username, roles=[role])
            if len(refs) > 1:  # announced by the admin there: a key of their own, everywhere
                rotate(runtime, first, actor=own, username=username, new_passphrase=PASSPHRASE)
        author = unlock(runtime, AUTHOR, PASSPHRASE)
        files = root / "files"
        files.mkdir()
        documents: list[list[str]] = []
        for client in range(clients):
            office = refs[client % offices]
            numbers = []
            for index in range(per_client):
                path = files / f"c{client:02d}-{index}.pdf"
                path.write_bytes(f"%PDF-1.4\n% client {client} SOP {index}\n%%EOF\n".encode())
                number = create_document(
                    runtime,
                    office,
                    actor=author,
                    type_code="SOP",
                    title=f"Client {client} procedure {index}",
                    path=path,
                ).number
                take_transition(runtime, number=number, transition="submit", actor=author)
                numbers.append(number)
            documents.append(numbers)
    finally:
        runtime.close()
    return Layout(label, backend, root, refs, documents)


def _client(
    root: str, numbers: list[str], count: int, barrier: Any, results: Any, index: int
) -> None:
    """A client process: open, unlock once, warm up, wait for the others, take transitions."""
    try:
        runtime = Runtime.open(Workspace.load(Path(root)), load_plugins())
        try:
            author = unlock(runtime, AUTHOR, PASSPHRASE)
            reviewer = unlock(runtime, REVIEWER, PASSPHRASE)

            def step(j: int) -> None:
                number = numbers[(j // 2) % len(numbers)]  # reject, then submit, the same SOP
                if j % 2 == 0:
                    take_transition(
                        runtime,
                        number=number,
                        transition="reject",
                        actor=reviewer,
                        comment=f"client {index} round {j}: please correct section 3",
                    )
                else:
                    take_transition(runtime, number=number, transition="submit", actor=author)

            for j in range(WARMUP):
                step(j)
            barrier.wait(timeout=600)
            latencies = []
            cpu = time.process_time()
            start = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process
            for j in range(WARMUP, WARMUP + count):
                before = time.monotonic()
                step(j)
                latencies.append(time.monotonic() - before)
            end = time.monotonic()
            results.put((index, None, start, end, time.process_time() - cpu, latencies))
        finally:
            runtime.close()
    except BaseException:
        with_trace = traceback.format_exc()
        barrier.abort()
        results.put((index, with_trace, 0.0, 0.0, 0.0, []))


@dataclass(frozen=True)
class Scenario:
    """One timed run: ``clients`` processes, ``transitions`` timed in all."""

    clients: int
    transitions: int
    seconds: float
    cpu: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.transitions / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def event_total(runtime: Runtime, offices: list[OfficeRef]) -> tuple[int, int]:
    """(events stored, sum of chain-head seq) over ``offices``."""
    ids = [office.id for office in offices]
    with runtime.engine.connect() as connection:
        stored = connection.execute(
            select(func.count()).select_from(EVENT_TABLE).where(EVENT_TABLE.c.office_id.in_(ids))
        ).scalar_one()
        heads = connection.execute(
            select(func.sum(HEAD_TABLE.c.seq)).where(HEAD_TABLE.c.office_id.in_(ids))
        ).scalar_one()
    return int(stored), int(heads)


def run_clients(layout: Layout, clients: int, total: int) -> Scenario:
    """``clients`` processes taking ``total`` ÷ clients transitions each (an even number)."""
    per_client = max(2, (total // clients) // 2 * 2)
    barrier = CONTEXT.Barrier(clients)
    results = CONTEXT.Queue()
    processes = [
        CONTEXT.Process(
            target=_client,
            args=(str(layout.root), layout.client_documents[i], per_client, barrier, results, i),
        )
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    failed = [(index, trace) for index, trace, *_ in outcomes if trace]
    if failed:
        index, trace = failed[0]
        raise SystemExit(f"{layout.label}, {clients} clients: client {index} failed:\n{trace}")
    starts = [start for _i, _t, start, *_ in outcomes]
    ends = [end for _i, _t, _s, end, *_ in outcomes]
    latencies = [value for outcome in outcomes for value in outcome[5]]
    return Scenario(
        clients,
        per_client * clients,
        max(ends) - min(starts),
        sum(outcome[4] for outcome in outcomes),
        latencies,
    )


def bench_layout(layout: Layout, client_counts: list[int], total: int) -> str:
    """Every client count on one layout; then verify every chain and the event growth."""
    runtime = Runtime.open(Workspace.load(layout.root), load_plugins())
    try:
        stored, heads = event_total(runtime, layout.offices)
        expected = 0
        for clients in client_counts:
            note(f"{layout.label}: {clients} client(s)…")
            scenario = run_clients(layout, clients, total)
            layout.results.append(scenario)
            expected += scenario.transitions + WARMUP * clients
        grown_stored, grown_heads = event_total(runtime, layout.offices)
        if grown_stored - stored != expected or grown_heads - heads != expected:
            raise SystemExit(
                f"{layout.label}: expected {expected} new events, the log grew by "
                f"{grown_stored - stored} and the heads by {grown_heads - heads}"
            )
        started = time.perf_counter()
        verified = 0
        with runtime.engine.connect() as connection:
            for office in layout.offices:
                verified += verify_chain(connection, office)
        seconds = time.perf_counter() - started
        if verified != grown_stored:
            raise SystemExit(f"{layout.label}: verified {verified} events of {grown_stored}")
    finally:
        runtime.close()
    return (
        f"{layout.label}: {len(layout.offices)} chain(s), {verified:,} events verified in "
        f"{seconds:.1f} s; the log grew by exactly {expected:,} events = the transitions taken "
        f"({expected - WARMUP * sum(client_counts):,} timed + {WARMUP} warm-up per client)"
    )


# --- 2: the master list of a district --------------------------------------------------------

STAMP = datetime(2026, 1, 5, 4, 40, 46, 123456, tzinfo=UTC)


@dataclass(frozen=True)
class District:
    backend: str
    runtime: Runtime
    offices: list[OfficeRef]
    documents: int
    revisions: int
    seconds: float  # bulk insert
    office_seconds: float  # add_office × (offices - 1)


def _revisions_of(index: int) -> list[str]:
    """States of a generated document's revisions: a mix like a real master list."""
    shape = index % 6
    if shape == 0:
        return ["draft"]
    if shape in (1, 2):
        return ["effective"]
    if shape == 3:
        return ["effective", "in_review"]
    if shape == 4:
        return ["superseded", "effective", "draft"]
    return ["superseded", "superseded", "effective"]


def _next_id(connection: Connection, table: Any) -> int:
    return int(connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


DOCUMENT_COLUMNS = "id, office_id, document_type_id, serial_year, serial, number, title, created_at"
REVISION_COLUMNS = (
    "id, document_id, revno, sha256, size, media_type, original_filename, title, "
    "change_reason, fields, author_id, created_at"
)
STATE_COLUMNS = "revision_id, workflow, state, entered_at, effective_at, review_due"


def _load(connection: Connection, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """Append rows to a table: COPY on PostgreSQL, the driver's executemany on SQLite."""
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        if connection.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns.split(","))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def bulk_documents(runtime: Runtime, offices: list[OfficeRef], per_office: int) -> tuple[int, int]:
    """Insert ``per_office`` SOPs per office straight into the tables (no events, no blobs).

    Values are what the engine itself stores (UTC text timestamps, ISO dates, canonical JSON),
    written in one transaction through the engine's own connection.
    """
    spec = runtime.plugins.registry.office_type(OFFICE_TYPE).document_type("SOP")
    with runtime.engine.begin() as connection:
        author_id = connection.execute(
            select(USER_TABLE.c.id).where(USER_TABLE.c.username == "admin")
        ).scalar_one()
        types = dict(
            connection.execute(
                select(TYPE_TABLE.c.office_id, TYPE_TABLE.c.id).where(TYPE_TABLE.c.code == "SOP")
            ).all()
        )
        document_id = _next_id(connection, DOCUMENT_TABLE)
        revision_id = _next_id(connection, REVISION_TABLE)
        documents: list[tuple[Any, ...]] = []
        revisions: list[tuple[Any, ...]] = []
        states: list[tuple[Any, ...]] = []
        for office in offices:
            for serial in range(1, per_office + 1):
                number = spec.format_number(office.code, serial, 0)
                created = STAMP + timedelta(minutes=serial)
                title = f"{office.code} procedure {serial}"
                documents.append(
                    (
                        document_id,
                        office.id,
                        types[office.id],
                        0,
                        serial,
                        number,
                        title,
                        to_utc_text(created),
                    )
                )
                for revno, state in enumerate(_revisions_of(serial)):
                    at = to_utc_text(created + timedelta(days=30 * revno))
                    content = f"{number}#{revno}".encode()
                    reason = "Initial issue" if revno == 0 else "Periodic review"
                    revisions.append(
                        (
                            revision_id,
                            document_id,
                            revno,
                            sha256(content).hexdigest(),
                            len(content),
                            "application/pdf",
                            f"sop-{serial}-r{revno}.pdf",
                            f"{title} (revision {revno})",
                            reason,
                            "{}",
                            author_id,
                            at,
                        )
                    )
                    effective = state in ("effective", "superseded")
                    due = (created + timedelta(days=30 * revno + 365)).date().isoformat()
                    states.append(
                        (
                            revision_id,
                            spec.workflow,
                            state,
                            at,
                            at if effective else None,
                            due if state == "effective" else None,
                        )
                    )
                    revision_id += 1
                document_id += 1
        _load(connection, "document", DOCUMENT_COLUMNS, documents)
        _load(connection, "revision", REVISION_COLUMNS, revisions)
        _load(connection, "revision_state", STATE_COLUMNS, states)
        if connection.dialect.name == "postgresql":
            for table in ("document", "revision"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    if runtime.engine.dialect.name == "postgresql":
        with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE document, revision, revision_state")
    else:
        with runtime.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return len(documents), len(revisions)


def build_district(
    folder: Path, backend: str, database_url: str | None, offices: int, per_office: int
) -> District:
    note(
        f"{backend} district: {offices} offices (add_office), then {offices * per_office:,} "
        "documents bulk-inserted…"
    )
    runtime, admin = new_workspace(
        folder / f"district-{backend}", office_code("PS-D", 0), database_url
    )
    started = time.perf_counter()
    refs = more_offices(runtime, admin, "PS-D", offices)
    office_seconds = time.perf_counter() - started
    started = time.perf_counter()
    documents, revisions = bulk_documents(runtime, refs, per_office)
    seconds = time.perf_counter() - started
    return District(backend, runtime, refs, documents, revisions, seconds, office_seconds)


def timed_call(function: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """(first call's seconds, median of the following ``repeats``, the result)."""
    started = time.perf_counter()
    result = function()
    first = time.perf_counter() - started
    rest = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        rest.append(time.perf_counter() - started)
    return first, statistics.median(rest) if rest else float("nan"), result


SUMMARY_SQL = """
SELECT o.code, d.number, t.code, t.kind, l.revno, l.title, ls.state,
       e.revno, e.title, es.effective_at, es.review_due
FROM document d
JOIN office o ON o.id = d.office_id
JOIN document_type t ON t.id = d.document_type_id
JOIN revision l ON l.document_id = d.id
     AND l.revno = (SELECT max(r.revno) FROM revision r WHERE r.document_id = d.id)
JOIN revision_state ls ON ls.revision_id = l.id
LEFT JOIN (revision e JOIN revision_state es ON es.revision_id = e.id AND es.state = 'effective')
     ON e.document_id = d.id
{where}
ORDER BY o.code, d.number
"""


def summaries_in_sql(runtime: Runtime, office: OfficeRef | None) -> list[DocumentSummary]:
    """What-if: the master list summarised by the database, one row per document, and only
    the timestamps shown parsed (with ``datetime.fromisoformat``, not ``strptime``)."""
    where = "WHERE d.office_id = %(office)s" if office else ""
    sql = SUMMARY_SQL.format(where=where)
    if runtime.engine.dialect.name == "sqlite":
        sql = sql.replace("%(office)s", ":office")
    with runtime.engine.connect() as connection:
        rows = connection.exec_driver_sql(sql, {"office": office.id} if office else {}).all()
    return [
        DocumentSummary(
            office=row[0],
            number=row[1],
            type_code=row[2],
            kind=row[3],
            title=row[8] if row[7] is not None else row[5],
            latest_revno=row[4],
            latest_state=row[6],
            effective_revno=row[7],
            effective_since=datetime.fromisoformat(row[9]) if row[9] else None,
            review_due=date.fromisoformat(row[10]) if row[10] else None,
        )
        for row in rows
    ]


def profile_listing(district: District, top: int) -> str:
    """cProfile of ``list_documents`` for one office, ten times: per row the same code path as
    the whole district (profiling all 80,000 documents costs a minute for the same picture)."""
    one = district.offices[len(district.offices) // 2]
    profiler = cProfile.Profile()
    for _ in range(10):
        profiler.runcall(list_documents, district.runtime, office=one)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    return out.getvalue()


@dataclass
class ListingFigures:
    backend: str
    documents: int
    revisions: int
    insert_seconds: float
    office_seconds: float
    rows: list[tuple[str, int, float, float]]  # (scope, documents listed, first, median)
    profile: str


def bench_listing(
    district: District, repeats: int, whole_repeats: int, profile: bool, top: int
) -> ListingFigures:
    """Time the listings (first call, then the median of the repeats) and explain them."""
    runtime = district.runtime
    one = district.offices[len(district.offices) // 2]
    rows = []
    results: list[list[DocumentSummary]] = []
    for scope, call, times in (
        ("list_documents(office=None)", lambda: list_documents(runtime), whole_repeats),
        (
            f"list_documents(office={one.code})",
            lambda: list_documents(runtime, office=one),
            repeats,
        ),
        (
            "what-if: summary in SQL, whole district",
            lambda: summaries_in_sql(runtime, None),
            repeats,
        ),
        (f"what-if: summary in SQL, {one.code}", lambda: summaries_in_sql(runtime, one), repeats),
    ):
        note(f"{district.backend}: timing {scope}…")
        first, median, result = timed_call(call, times)
        rows.append((scope, len(result), first, median))
        results.append(result)
    whole, per_office = rows[0][1], rows[1][1]
    if whole != district.documents or per_office != district.documents // len(district.offices):
        raise SystemExit(f"listed {whole} and {per_office}, expected {district.documents} / office")
    if results[0] != results[2] or results[1] != results[3]:
        raise SystemExit("the SQL-side summary disagrees with list_documents")
    return ListingFigures(
        district.backend,
        district.documents,
        district.revisions,
        district.seconds,
        district.office_seconds,
        rows,
        profile_listing(district, top) if profile else "",
    )


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--transitions",
        "-n",
        type=int,
        default=480,
        help="timed transitions per run, split over the clients (default 480)",
    )
    parser.add_argument("--clients", default="1,4,16", help="client counts (default 1,4,16)")
    parser.add_argument("--offices", type=int, default=16, help="offices of the spread layout")
    parser.add_argument("--documents", "-k", type=int, default=4, help="SOPs per client (4)")
    parser.add_argument("--district-offices", type=int, default=40)
    parser.add_argument("--district-documents", type=int, default=2000, help="per office")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed listings after the first (default 3)"
    )
    parser.add_argument(
        "--whole-repeats", type=int, default=0, help="the same for the whole district (default 0)"
    )
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--no-transitions", action="store_true")
    parser.add_argument("--no-listing", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="skip the listing's cProfile")
    parser.add_argument(
        "--profile-all", action="store_true", help="profile on every backend, not just the first"
    )
    parser.add_argument("--top", type=int, default=15, help="functions shown in the profile")
    parser.add_argument("--tmp-dir", type=Path, default=Path(".bench-tmp"))
    parser.add_argument("--allow-tmpfs", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the folder and databases")
    args = parser.parse_args(argv)
    client_counts = [int(part) for part in args.clients.split(",") if part.strip()]
    if min([args.transitions, args.offices, args.documents, *client_counts]) < 1:
        parser.error("--transitions, --offices, --documents and --clients must be at least 1")
    pg_url = (
        args.postgres_url
        or os.environ.get("QMS_BENCH_POSTGRES_URL")
        or os.environ.get("QMS_TEST_POSTGRES_URL")
    )
    if not pg_url:
        console.print("[yellow]no PostgreSQL URL: only the SQLite cases run[/yellow]")
    began = time.perf_counter()
    servers = PostgresDatabases(pg_url, keep=args.keep) if pg_url else None
    layouts: list[Layout] = []
    verified: list[str] = []
    listings: list[ListingFigures] = []
    most = max(client_counts)
    phases: list[tuple[str, float]] = []
    try:
        with bench_folder(args.tmp_dir, allow_tmpfs=args.allow_tmpfs, keep=args.keep) as folder:
            phase = time.perf_counter()
            if not args.no_transitions:
                plans: list[tuple[str, str, int]] = []
                if servers:
                    plans += [("PostgreSQL, 1 office", "postgresql", 1)]
                    plans += [(f"PostgreSQL, {args.offices} offices", "postgresql", args.offices)]
                plans += [("SQLite, 1 office", "sqlite", 1)]
                for label, backend, offices in plans:
                    note(f"setup: {label}, {most} × {args.documents} submitted SOPs…")
                    url = servers.create() if servers and backend == "postgresql" else None
                    layout = build_layout(
                        folder, label, backend, url, offices, most, args.documents
                    )
                    layouts.append(layout)
                    verified.append(bench_layout(layout, client_counts, args.transitions))
                phases.append(
                    ("transition part (setup, runs, verification)", time.perf_counter() - phase)
                )
            phase = time.perf_counter()
            if not args.no_listing:
                backends: list[tuple[str, str | None]] = (
                    [("PostgreSQL", servers.create())] if servers else []
                )
                backends.append(("SQLite", None))
                for index, (backend, url) in enumerate(backends):
                    district = build_district(
                        folder, backend, url, args.district_offices, args.district_documents
                    )
                    profile = not args.no_profile and (index == 0 or args.profile_all)
                    try:
                        listings.append(
                            bench_listing(
                                district, args.repeats, args.whole_repeats, profile, args.top
                            )
                        )
                    finally:
                        district.runtime.close()
                phases.append(("master-list part", time.perf_counter() - phase))
    finally:
        if servers:
            servers.close()

    if layouts:
        table = Table(title="signed transitions per second, concurrent client processes")
        for name, justify in (
            ("layout", "left"),
            ("clients", "right"),
            ("offices used", "right"),
            ("transitions", "right"),
            ("seconds", "right"),
            ("per second", "right"),
            ("× 1 client", "right"),
            ("p50 ms", "right"),
            ("p95 ms", "right"),
            ("client CPU ms each", "right"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for layout in layouts:
            base = layout.results[0].per_second
            for scenario in layout.results:
                used = min(scenario.clients, len(layout.offices))
                table.add_row(
                    layout.label,
                    str(scenario.clients),
                    str(used),
                    f"{scenario.transitions:,}",
                    f"{scenario.seconds:.2f}",
                    f"{scenario.per_second:,.0f}",
                    f"{scenario.per_second / base:.2f}",
                    f"{1e3 * scenario.percentile(0.5):.1f}",
                    f"{1e3 * scenario.percentile(0.95):.1f}",
                    f"{1e3 * scenario.cpu / scenario.transitions:.1f}",
                )
        console.print(table)
        for line in verified:
            console.print(line)
    for figures in listings:
        table = Table(
            title=f"master list on {figures.backend}: {figures.documents:,} documents, "
            f"{figures.revisions:,} revisions",
            caption=f"{figures.documents:,} documents bulk-inserted "
            f"(COPY / executemany) in {figures.insert_seconds:.1f} s, NOT through the signed "
            f"path (no events, no blobs); offices made with add_office in "
            f"{figures.office_seconds:.1f} s",
        )
        for name in ("call", "documents", "first s", "median s"):
            table.add_column(name, justify="left" if name == "call" else "right")
        for scope, listed, first, median in figures.rows:
            shown = "–" if median != median else f"{median:.3f}"  # NaN: not repeated
            table.add_row(scope, f"{listed:,}", f"{first:.3f}", shown)
        console.print(table)
        if figures.profile:
            console.print(
                f"[bold]cProfile of list_documents(office=…) × 10, {figures.backend}[/bold]"
            )
            sys.stdout.write(figures.profile)
    for name, seconds in phases:
        console.print(f"[dim]{name}: {seconds:.0f} s[/dim]")
    console.print(f"[dim]whole run {time.perf_counter() - began:.0f} s[/dim]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
