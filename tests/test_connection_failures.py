"""The database going away: a connection killed mid-transition, a restart, no server, a lock.

A lost connection must never leave half a transition behind (no state change without its event,
no event without its state change), the chain head must not move, and the same ``Runtime`` must
carry on once the database is back (``pool_pre_ping``).  The CLI reports an unreachable database
with exit code 7 and a sentence, not a traceback.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import docx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from qms_engine.chain.reader import verify_chain
from qms_engine.documents.master_list import list_documents
from qms_engine.documents.revisions import create_document
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import QmsError
from qms_engine.runtime import Runtime
from qms_engine.storage.models import EVENT_TABLE, HEAD_TABLE
from qms_engine.testing import TestOffice
from tests.ingest_fixtures import IngestDesk, ingest_desk_fixture  # noqa: F401  (the fixture)

POSTGRES_ONLY = pytest.mark.parametrize("qms_backend", ["postgresql"], indirect=True)

KILL_ON_APPROVE = """
CREATE FUNCTION qms_test_die() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.action = 'document.revision.approved' THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER qms_test_die BEFORE INSERT ON event
    FOR EACH ROW EXECUTE FUNCTION qms_test_die();
"""
DROP_KILLER = "DROP TRIGGER qms_test_die ON event; DROP FUNCTION qms_test_die();"


def _submitted_sop(office: TestOffice, tmp_path: Path, title: str = "Connection loss") -> str:
    """A new SOP, submitted for review; returns its number."""
    path = tmp_path / f"{title}.docx"
    document = docx.Document()
    document.add_paragraph(title)
    document.save(str(path))
    number = create_document(
        office.runtime,
        office.office,
        actor=office.signers["author"],
        type_code="SOP",
        title=title,
        path=path,
    ).number
    take_transition(
        office.runtime, number=number, transition="submit", actor=office.signers["author"]
    )
    return number


def _snapshot(runtime: Runtime, office: TestOffice, number: str) -> tuple[int, int, str, str]:
    """(events in the office, head seq, head hash, state of revision 0) as stored now."""
    with runtime.engine.connect() as connection:
        events = connection.execute(
            select(func.count())
            .select_from(EVENT_TABLE)
            .where(EVENT_TABLE.c.office_id == office.office.id)
        ).scalar_one()
        seq, digest = connection.execute(
            select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash).where(
                HEAD_TABLE.c.office_id == office.office.id
            )
        ).one()
    return events, seq, digest, _state(runtime, number)


def _state(runtime: Runtime, number: str) -> str:
    """The latest state of ``number`` as the master list shows it."""
    (summary,) = [s for s in list_documents(runtime) if s.number == number]
    return summary.latest_state


def _admin_engine(office: TestOffice):  # type: ignore[no-untyped-def]
    """An autocommit engine on the test's own PostgreSQL database, outside the Runtime's pool."""
    return create_engine(
        office.runtime.engine.url, isolation_level="AUTOCOMMIT", poolclass=NullPool
    )


def _verify(office: TestOffice) -> int:
    with office.runtime.engine.connect() as connection:
        return verify_chain(connection, office.office)


@POSTGRES_ONLY
def test_connection_killed_inside_a_transition_leaves_nothing(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Backend killed while inserting the approval event: nothing written; the Runtime recovers."""
    runtime, signers = qms_office.runtime, qms_office.signers
    number = _submitted_sop(qms_office, tmp_path)
    before = _snapshot(runtime, qms_office, number)
    assert before[3] == "in_review"
    admin = _admin_engine(qms_office)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(KILL_ON_APPROVE)
        with pytest.raises((DBAPIError, QmsError)):
            take_transition(runtime, number=number, transition="approve", actor=signers["approver"])
        with admin.connect() as connection:
            connection.exec_driver_sql(DROP_KILLER)
    finally:
        admin.dispose()
    assert _snapshot(runtime, qms_office, number) == before
    assert _verify(qms_office) == before[0]
    result = take_transition(
        runtime, number=number, transition="approve", actor=signers["approver"]
    )
    assert (result.to_state, result.event_seq) == ("approved", before[1] + 1)
    assert _verify(qms_office) == before[0] + 1


def _terminate_others(office: TestOffice) -> int:
    """Kill every other backend on the test's database (as a server restart would)."""
    name = make_url(str(office.runtime.engine.url)).database
    admin = _admin_engine(office)
    try:
        with admin.connect() as connection:
            killed = connection.exec_driver_sql(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %(name)s AND pid <> pg_backend_pid()",
                {"name": name},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(killed)


@POSTGRES_ONLY
def test_next_command_after_server_restart_reconnects(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Every pooled connection killed between two commands: the next command still succeeds."""
    runtime, signers = qms_office.runtime, qms_office.signers
    number = _submitted_sop(qms_office, tmp_path)
    assert _terminate_others(qms_office) >= 1  # the Runtime's pooled connection was among them
    result = take_transition(
        runtime, number=number, transition="approve", actor=signers["approver"]
    )
    assert result.to_state == "approved"
    _terminate_others(qms_office)
    assert _state(runtime, number) == "approved"  # a read after a restart reconnects too
    assert _verify(qms_office) == result.event_seq


def test_cli_reports_unreachable_database_with_exit_7(qms_office: TestOffice) -> None:
    """`qms doc list` against a port where nothing listens: exit 7, a sentence, no traceback."""
    qms = Path(sys.executable).with_name("qms")
    env = {
        **os.environ,
        "QMS_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/qms?connect_timeout=5",
    }
    done = subprocess.run(
        [str(qms), "--workspace", str(qms_office.root), "doc", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 7, (done.returncode, done.stderr)
    assert "database is unavailable" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)
def test_sqlite_transition_waits_for_a_locked_database(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Another connection holds BEGIN IMMEDIATE: the transition queues behind it, then succeeds."""
    runtime, signers = qms_office.runtime, qms_office.signers
    number = _submitted_sop(qms_office, tmp_path)
    locked, started = threading.Event(), threading.Event()
    released_at: list[float] = []

    def hold_lock() -> None:
        other = sqlite3.connect(qms_office.root / "qms.sqlite3", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            assert started.wait(30)
            # Real time on purpose: the lock must still be held when the transition asks for it
            # (SQLite's busy timeout is a real-time feature).  No assertion depends on how long
            # this takes: on a slow machine the transition merely queues for less of it.
            time.sleep(0.5)
            released_at.append(time.monotonic())
            other.execute("COMMIT")
        finally:
            other.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(30)
        started.set()
        result = take_transition(
            runtime, number=number, transition="approve", actor=signers["approver"]
        )
        finished_at = time.monotonic()
    finally:
        holder.join()
    assert result.to_state == "approved"
    # it asked while the lock was held (started is set first) and queued instead of failing
    assert released_at and finished_at >= released_at[0]
    assert _verify(qms_office) == result.event_seq


@POSTGRES_ONLY
def test_database_error_on_the_write_path_is_a_sqlalchemy_error(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """A lock timeout on the chain-head lock surfaces as a SQLAlchemy DBAPIError."""
    runtime, signers = qms_office.runtime, qms_office.signers
    number = _submitted_sop(qms_office, tmp_path)
    before = _snapshot(runtime, qms_office, number)
    name = make_url(str(runtime.engine.url)).database
    admin = _admin_engine(qms_office)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"ALTER DATABASE {name} SET lock_timeout = '300ms'")
    finally:
        admin.dispose()
    runtime.engine.dispose()  # new connections pick up the lock_timeout
    holder = create_engine(runtime.engine.url, poolclass=NullPool)
    try:
        with holder.connect() as other, other.begin():
            other.exec_driver_sql("SELECT seq FROM chain_head FOR UPDATE")
            with pytest.raises(DBAPIError):
                take_transition(
                    runtime, number=number, transition="approve", actor=signers["approver"]
                )
    finally:
        holder.dispose()
    assert _snapshot(runtime, qms_office, number) == before


@POSTGRES_ONLY
def test_ingester_keeps_filing_after_a_server_restart(ingest_desk: IngestDesk) -> None:
    """The database restarts between two dropped files: the ingester files both, once each."""
    desk = ingest_desk
    first = desk.run(desk.drop("GD", "before-restart.pdf"))
    assert _terminate_others(desk.office) >= 1  # the ingester's pooled connection too
    second = desk.run(desk.drop("GD", "after-restart.pdf"))
    assert [o.status for o in first + second] == ["filed", "filed"]
    number = first[0].number
    assert number is not None
    assert [o.number for o in first + second] == [number, number.replace("00001", "00002")]
    desk.check_sound()


def test_database_unavailable_mid_run_leaves_the_file_waiting(ingest_desk: IngestDesk) -> None:
    """A database that cannot be reached is a passing trouble: the claim waits, nothing is lost."""
    desk = ingest_desk
    path = desk.drop("GD", "while-down.pdf")
    good_engine = desk.runtime.engine
    desk.runtime.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        outcomes = desk.run(path)
    finally:
        desk.runtime.engine.dispose()
        desk.runtime.engine = good_engine
    assert [o.status for o in outcomes][-1] == "waiting"
    assert "database is unavailable" in (outcomes[-1].problem or "")
    # ingest_once tried again after growing pauses (1 + 2 + 4 + 8 + 16 s), passed on the
    # desk's manual clock rather than waited for
    assert [pause for pause in desk.clock.slept if pause] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert [p.name for p in desk.claimed() if p.name != "claim.json"] == ["while-down.pdf"]  # kept
    again = desk.run()
    assert [o.status for o in again] == ["filed"]
    assert desk.claimed() == []
    desk.check_sound()
