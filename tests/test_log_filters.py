"""``qms log`` filtered by user, document and dates, and as CSV for a spreadsheet (issue 11,
item 13).  Dates are the office's days, timestamps without an offset its local time; every
filter holds before ``-n`` counts; a user or document that does not exist is named.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from qms_engine.audit.log import LogQuery, read_log
from qms_engine.cli import cli
from qms_engine.cli.context import day_or_moment
from qms_engine.cli.views import LOG_CSV_HEADER
from qms_engine.testing import TestOffice
from tests.test_cli import PASSPHRASES, run

if TYPE_CHECKING:
    from tests.conftest import Desk

IST = ZoneInfo("Asia/Kolkata")


def qms(office: TestOffice, *args: str) -> str:
    """``qms -w WORKSPACE ARGS`` in-process; insists on exit code 0; returns stdout."""
    result = CliRunner().invoke(cli, ["-w", str(office.root), *args], env=PASSPHRASES)
    assert result.exit_code == 0, result.output
    return result.stdout


def events(office: TestOffice, *args: str) -> list[dict[str, Any]]:
    """``qms log --json ARGS``, every matching event unless ARGS limit them."""
    found: list[dict[str, Any]] = json.loads(qms(office, "log", "--json", "-n", "0", *args))
    return found


def utc(event: dict[str, Any]) -> datetime:
    """When an event was recorded."""
    return datetime.fromisoformat(event["recorded_at"])


def test_user_filter_keeps_only_that_users_events(qms_office: TestOffice, desk: Desk) -> None:
    """``--user`` keeps the events that user signed, whatever the case it is typed in."""
    number = desk.new_sop()
    desk.act(number, "submit")
    desk.act(number, "reject", comment="Add the time")
    everything = events(qms_office)
    assert events(qms_office, "--user", "RAKESH") == [
        e for e in everything if e["actor"] == "rakesh"
    ]
    assert [e["action"] for e in events(qms_office, "--user", "rakesh")][-1] == (
        "document.revision.rejected"
    )


def test_filters_hold_before_the_limit_counts(qms_office: TestOffice, desk: Desk) -> None:
    """``--user anita -n 1`` is her newest event, though others signed after her."""
    number = desk.new_sop()
    desk.issue(number)
    (newest,) = json.loads(qms(qms_office, "log", "--json", "--user", "anita", "-n", "1"))
    assert (newest["actor"], newest["action"]) == ("anita", "document.revision.authored")
    assert events(qms_office)[-1]["actor"] != "anita"


def test_document_filter_keeps_the_document_and_its_revisions(
    qms_office: TestOffice, desk: Desk
) -> None:
    """``--document N`` is every event about N or one of its revisions, and nothing of its
    neighbour N0 whose number N is a prefix of (``…/001`` is not ``…/0010``'s)."""
    first, second = desk.new_sop("First"), desk.new_sop("Second")
    desk.issue(first)
    desk.revise(first)
    about = events(qms_office, "--document", first)
    assert {e["subject"] for e in about} == {first, f"{first}#0", f"{first}#1"}
    shown = json.loads(qms(qms_office, "doc", "show", first, "--json"))["history"]
    assert [e["seq"] for e in about] == [e["seq"] for e in shown]
    assert {e["subject"] for e in events(qms_office, "--document", second)} == {
        second,
        f"{second}#0",
    }


def test_unknown_user_or_document_exits_3_naming_it(qms_office: TestOffice) -> None:
    """A user or document that does not exist is an error naming it, not an empty log."""
    for option, value in (("--user", "nobody"), ("--document", "PS-TEST1/SOP/404")):
        refused = run("-w", qms_office.root, "log", option, value)
        assert refused.returncode == 3, refused.stderr
        assert f"'{value}'" in refused.stderr
        assert refused.stdout == ""


def test_timestamps_are_inclusive_and_local_without_an_offset(
    qms_office: TestOffice, desk: Desk
) -> None:
    """``--since T`` and ``--until T`` both include an event recorded at T; T without an
    offset is the office's time (IST), with one it is that offset's."""
    desk.issue(desk.new_sop())
    everything = events(qms_office)
    pivot = utc(everything[len(everything) // 2])
    local = pivot.astimezone(IST).replace(tzinfo=None).isoformat()
    later = [e["seq"] for e in everything if utc(e) >= pivot]
    earlier = [e["seq"] for e in everything if utc(e) <= pivot]
    assert 0 < len(later) < len(everything)
    for text in (local, pivot.isoformat()):
        assert [e["seq"] for e in events(qms_office, "--since", text)] == later
        assert [e["seq"] for e in events(qms_office, "--until", text)] == earlier


def test_days_are_the_offices_days(qms_office: TestOffice) -> None:
    """``--since D --until D`` is the office's day D, not the UTC one: in an office whose
    calendar is a day off UTC's at this moment, its new events are found under its own day
    only."""
    far = "Etc/GMT-14" if datetime.now(UTC).hour >= 11 else "Etc/GMT+12"  # UTC+14 or UTC-12
    qms(qms_office, "office", "add", "PS-FAR1", "--type=police_station", "--name=दूर",
        f"--timezone={far}", "--as=admin")  # fmt: skip
    founded = json.loads(qms(qms_office, "--office", "PS-FAR1", "log", "--json", "-n", "0"))
    last = utc(founded[-1])
    own_day, utc_day = last.astimezone(ZoneInfo(far)).date(), last.date()
    assert own_day != utc_day
    for day, found in ((own_day, True), (utc_day, False)):
        days = ("--since", day.isoformat(), "--until", day.isoformat())
        shown = json.loads(qms(qms_office, "--office", "PS-FAR1", "log", "--json", *days))
        assert (founded[-1] in shown) is found, day


def test_until_a_day_includes_the_whole_day_through_the_engine(
    qms_office: TestOffice, desk: Desk
) -> None:
    """Through the engine: a day bound covers that office day, before and after it nothing."""
    desk.new_sop()
    office, runtime = qms_office.office, qms_office.runtime
    everything = read_log(runtime, office, LogQuery(limit=None))
    today = datetime.fromisoformat(everything[-1].recorded_at).astimezone(IST).date()
    on_the_day = read_log(runtime, office, LogQuery(since=today, until=today, limit=None))
    assert [e.seq for e in on_the_day] == [
        e.seq
        for e in everything
        if datetime.fromisoformat(e.recorded_at).astimezone(IST).date() == today
    ]
    assert read_log(runtime, office, LogQuery(until=today - timedelta(days=1), limit=None)) == [
        e
        for e in everything
        if datetime.fromisoformat(e.recorded_at).astimezone(IST).date() < today
    ]
    assert read_log(runtime, office, LogQuery(since=today + timedelta(days=1))) == []


def test_bad_dates_are_usage_errors(qms_office: TestOffice) -> None:
    """A malformed date, or a start after the end, exits 2 saying what to type."""
    malformed = run("-w", qms_office.root, "log", "--since", "2026-13-01")
    assert malformed.returncode == 2, malformed.stderr
    assert "--since" in malformed.stderr
    assert "YYYY-MM-DD" in malformed.stderr
    backwards = run("-w", qms_office.root, "log", "--since=2026-12-02", "--until=2026-12-01")
    assert backwards.returncode == 2, backwards.stderr
    assert "2026-12-02" in backwards.stderr


def test_an_empty_log_says_so(qms_office: TestOffice) -> None:
    """Nothing matching is said in words; under --json it is ``[]``."""
    assert qms(qms_office, "log", "--until", "2000-01-01").strip() == (
        "No events in PS-TEST1's log match --until 2000-01-01."
    )
    assert events(qms_office, "--until", "2000-01-01") == []


def csv_rows(office: TestOffice, *args: str) -> list[list[str]]:
    """``qms log --csv ARGS``: checks the byte-order mark, returns the rows (header first)."""
    result = CliRunner().invoke(
        cli, ["-w", str(office.root), "log", "--csv", *args], env=PASSPHRASES
    )
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"), newline="")))


def test_csv_for_a_spreadsheet(qms_office: TestOffice, desk: Desk) -> None:
    """--csv: a header row, every matching event (no default limit), local times with their
    offset, Hindi kept, the payload as JSON."""
    desk.issue(desk.new_sop("मानक संचालन प्रक्रिया"))
    header, *rows = csv_rows(qms_office)
    everything = events(qms_office)
    assert tuple(header) == LOG_CSV_HEADER
    assert [int(row[0]) for row in rows] == [e["seq"] for e in everything]
    assert len(rows) > 20
    first = datetime.fromisoformat(rows[0][1])
    assert (first.utcoffset(), first) == (
        timedelta(hours=5, minutes=30),
        utc(everything[0]).replace(microsecond=0),
    )
    titled = [json.loads(row[8]) for row in rows if row[6] == "document.created"]
    assert [payload["title"] for payload in titled] == ["मानक संचालन प्रक्रिया"]
    assert [row[0] for row in csv_rows(qms_office, "--user", "sks")[1:]] == [
        str(e["seq"]) for e in everything if e["actor"] == "sks"
    ]


def test_csv_cells_a_spreadsheet_would_run_are_quoted(qms_office: TestOffice) -> None:
    """A full name that starts like a formula is written with a leading ``'``, shown as text."""
    formula = '=HYPERLINK("https://evil.example","click")'
    qms(qms_office, "user", "add", "mallory", f"--name={formula}", "--role=author", "--as=admin")
    qms(qms_office, "key", "rotate", "mallory", "--as=mallory")
    _, *rows = csv_rows(qms_office, "--user", "mallory")
    assert rows
    assert {row[3] for row in rows} == {f"'{formula}"}


def test_csv_and_json_together_are_refused(qms_office: TestOffice) -> None:
    """One output format at a time."""
    refused = run("-w", qms_office.root, "log", "--csv", "--json")
    assert refused.returncode == 2, refused.stderr


def test_a_day_is_read_in_the_offices_zone_when_typed() -> None:
    """``--since 2026-11-24`` is a day (the engine gives it the office's zone), a timestamp
    with a time is a moment: the option tells them apart."""
    assert day_or_moment(None, None, "2026-11-24") == date(2026, 11, 24)
    assert day_or_moment(None, None, "2026-11-24T10:30") == datetime(2026, 11, 24, 10, 30)


def test_user_filter_reads_the_actor_index(qms_office: TestOffice, desk: Desk) -> None:
    """``--user`` finds that user's events through the (office, actor, seq) index, not by
    scanning the office's whole chain: the query the log runs is planned on that index."""
    desk.issue(desk.new_sop())
    runtime, office = qms_office.runtime, qms_office.office
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL's depends on its statistics")
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM event" in statement:
            statements.append((statement, parameters))

    event.listen(runtime.engine, "before_cursor_execute", capture)
    try:
        found = read_log(runtime, office, LogQuery(user="anita", limit=2))
    finally:
        event.remove(runtime.engine, "before_cursor_execute", capture)
    assert [e.actor for e in found] == ["anita", "anita"]
    ((statement, parameters),) = statements
    with runtime.engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    assert "ix_event_office_id_actor_seq" in " ".join(row.detail for row in plan)
