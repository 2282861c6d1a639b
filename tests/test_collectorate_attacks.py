"""Attacks on the citizen-charter and record-room record: each forged step must make
``qms audit verify`` fail at that event, online and on an exported bundle.

One real history is written through the engine: three files (नस्ती) deposited in the record
room today — class E (a year), class D (three years) and class A (permanent) — and an income
certificate application (15 days) received.  A year and a day on, the class E file is weeded
through a list proposed by the record keeper and approved by the ADM.  Each test then plays an
insider who writes the SQLite file holding a valid key: a forged event appended to the chain,
correctly linked, hashed and signed with the real key of the person it names, so only the
rule it breaks can catch it.  A row changed by SQL alone is caught by the tables' comparison.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from qms_engine.chain import events
from qms_engine.clock import local_today
from qms_engine.errors import IntegrityError
from qms_engine.people.users import grant_roles
from qms_engine.record_room.room import approve, deposit, propose, weed
from qms_engine.services.applications import receive_application
from tests.collectorate_fixtures import STAFF, Collectorate, cli, collectorate, later
from tests.test_audit_attacks import History, assert_both_fail_at, verdicts

__all__ = ["collectorate"]  # the fixture, imported for pytest

# The attacks edit the SQLite file directly, as an insider with the workspace folder would.
pytestmark = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)


@dataclass(frozen=True)
class Made:
    """The numbers the honest history gave."""

    yearly: str  # class E, weeded through ``weeded_list``
    three_years: str  # class D
    permanent: str  # class A
    weeded_list: str
    application: str


@pytest.fixture
def hist(collectorate: Collectorate, tmp_path: Path) -> Iterator[tuple[History, Made]]:
    """The honest history, a year and a day on: the attacks run then (inside the time
    travel, so nothing they write is dated after the verification)."""
    col, s = collectorate, collectorate.signers
    today = local_today(col.office.timezone)
    numbers = []
    for record_class, title in (("E", "डाक नस्ती"), ("D", "नक़ल नस्ती"), ("A", "भू-अभिलेख")):
        number = col.closed_file(tmp_path, title)
        deposit(
            col.runtime,
            office=col.office,
            actor=s["clerk2"],
            number=number,
            record_class=record_class,
            closed=today,
        )
        numbers.append(number)
    application = receive_application(
        col.runtime,
        office=col.office,
        actor=s["clerk"],
        service="INCOME_CERT",
        applicant="रामलाल",
    ).number
    with later(years=1, days=1):
        listed = propose(col.runtime, office=col.office, actor=s["clerk2"], records=numbers[:1])
        approve(col.runtime, number=listed.number, actor=s["approver"], comment="ठीक")
        weed(col.runtime, number=listed.number, actor=s["clerk2"])
        yield (
            History(col.runtime, col.office, dict(s), col.root),
            Made(numbers[0], numbers[1], numbers[2], listed.number, application),
        )


def forge(hist: History, who: str, kind: events.EventKind, subject: str, **payload: Any) -> int:
    """Append ``kind`` about ``subject``, signed with the real key of the staff member
    ``who`` (a key of :data:`STAFF`) in their one role."""
    _username, full_name, role = STAFF[who]
    with hist.db() as db:
        return db.append(
            hist.signers[who],
            role=role,
            action=kind.action,
            subject=subject,
            payload=payload,
            meaning=kind.meaning,
            signer_name=full_name,
        )


def _workspace(hist: History) -> Collectorate:
    return Collectorate(hist.runtime, hist.office, hist.signers, hist.root)


def forged_list(hist: History, number: str, records: list[str]) -> int:
    """A disposal list proposed by the record keeper and approved by the ADM, forged."""
    forge(hist, "clerk2", events.DISPOSAL_PROPOSED, number, records=records)
    return forge(hist, "approver", events.DISPOSAL_APPROVED, number, comment="")


def test_the_honest_history_verifies_online_and_as_a_bundle(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """Everything the engine wrote verifies, and `qms audit verify` exits 0."""
    history, _made = hist
    for where, result in verdicts(history, tmp_path).items():
        assert result.ok, (where, result.problems)
    assert cli(_workspace(history), "audit", "verify").exit_code == 0


def test_a_record_weeded_before_its_retention_ends_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """The record keeper and the ADM, each with their own key, put the three-year file on a
    list a year on and weed it: the weeding fails verification, naming the day its
    retention ends; `qms audit verify` fails (exit 6)."""
    history, made = hist
    forged_list(history, "COL-BSR/DL/2027/099", [made.three_years])
    today = local_today(history.office.timezone).isoformat()
    seq = forge(
        history,
        "clerk2",
        events.RECORDS_WEEDED,
        "COL-BSR/DL/2027/099",
        on=today,
        records=[made.three_years],
    )
    assert_both_fail_at(history, tmp_path, seq, "before its retention of 3 years ends on")
    with pytest.raises(IntegrityError) as refused:  # `qms audit verify` exits 6
        cli(_workspace(history), "audit", "verify")
    assert refused.value.exit_code == 6


def test_a_permanent_record_weeded_is_caught(hist: tuple[History, Made], tmp_path: Path) -> None:
    """Weeding a class A (permanent) file through a forged, approved list is caught."""
    history, made = hist
    forged_list(history, "COL-BSR/DL/2027/098", [made.permanent])
    seq = forge(
        history,
        "clerk2",
        events.RECORDS_WEEDED,
        "COL-BSR/DL/2027/098",
        on=local_today(history.office.timezone).isoformat(),
        records=[made.permanent],
    )
    assert_both_fail_at(history, tmp_path, seq, "which is kept permanently")


def test_weeding_without_an_approved_list_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """A list proposed but never approved, then weeded: caught at the weeding."""
    history, made = hist
    forge(
        history,
        "clerk2",
        events.DISPOSAL_PROPOSED,
        "COL-BSR/DL/2027/097",
        records=[made.three_years],
    )
    seq = forge(
        history,
        "clerk2",
        events.RECORDS_WEEDED,
        "COL-BSR/DL/2027/097",
        on=local_today(history.office.timezone).isoformat(),
        records=[made.three_years],
    )
    assert_both_fail_at(history, tmp_path, seq, "without an approved disposal list")


def test_a_list_approved_by_its_proposer_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """The quality coordinator, also an approver, approves the list she proposed: caught."""
    history, made = hist
    grant_roles(
        history.runtime,
        history.office,
        actor=history.signers["admin"],
        username="qc",
        roles=["approver"],
    )
    forge(
        history,
        "coordinator",
        events.DISPOSAL_PROPOSED,
        "COL-BSR/DL/2027/096",
        records=[made.three_years],
    )
    with history.db() as db:
        seq = db.append(
            history.signers["coordinator"],
            role="approver",
            action=events.DISPOSAL_APPROVED.action,
            subject="COL-BSR/DL/2027/096",
            payload={"comment": ""},
            meaning=events.DISPOSAL_APPROVED.meaning,
            signer_name="Quality coordinator",
        )
    assert_both_fail_at(history, tmp_path, seq, "'qc' proposed this disposal list")


def test_an_application_given_a_later_due_day_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """An application recorded as due 60 days after its receipt, where the charter gives the
    service 15, is caught: the time limit is the charter's, from the chain."""
    history, _made = hist
    today = local_today(history.office.timezone)
    seq = forge(
        history,
        "clerk",
        events.APPLICATION_RECEIVED,
        "COL-BSR/SVC/2027/00099",
        service="INCOME_CERT",
        desk="revenue",
        applicant="x",
        received=today.isoformat(),
        due=today.replace(year=today.year + 1).isoformat(),
    )
    assert_both_fail_at(history, tmp_path, seq, "the charter gives INCOME_CERT 15 days")


def test_an_application_disposed_of_twice_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """Disposed of (rejected), then disposed of again (granted): the second is caught."""
    history, made = hist
    today = local_today(history.office.timezone).isoformat()
    payload = {"disposed": today, "note": ""}
    forge(
        history,
        "approver",
        events.APPLICATION_DISPOSED,
        made.application,
        decision="rejected",
        **payload,
    )
    seq = forge(
        history,
        "approver",
        events.APPLICATION_DISPOSED,
        made.application,
        decision="granted",
        **payload,
    )
    assert_both_fail_at(history, tmp_path, seq, "disposed of a second time")


def test_a_record_marked_weeded_by_sql_is_caught_online(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """One UPDATE marks the permanent file weeded: the chain is untouched (the bundle
    verifies), the tables' comparison names the row and field."""
    history, made = hist
    history.runtime.engine.dispose()
    with sqlite3.connect(history.db_path) as connection:
        connection.execute(
            "UPDATE record_room_record SET weeded_on = '2027-01-01' WHERE number = ?",
            (made.permanent,),
        )
    found = verdicts(history, tmp_path)
    assert found["bundle"].ok, found["bundle"].problems
    assert any(
        f"table record_room_record, {made.permanent}, field weeded_on" in problem
        for problem in found["online"].problems
    ), found["online"].problems


def test_a_closing_backdated_before_the_files_creation_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """The record keeper's own key deposits a file filed today as closed in 2000 (so it
    could be weeded at once): caught at the deposit."""
    history, _made = hist
    number = _workspace(history).closed_file(tmp_path, "आज की नस्ती")
    seq = forge(
        history, "clerk2", events.RECORD_DEPOSITED, number, **{"class": "E", "closed": "2000-01-01"}
    )
    assert_both_fail_at(history, tmp_path, seq, "not from the day it was created")


def test_a_backdated_disposal_is_caught(hist: tuple[History, Made], tmp_path: Path) -> None:
    """The income certificate received a year ago (due in 15 days) is disposed of now but
    dated the day it was received, to hide that it is late: caught."""
    history, made = hist
    received = (local_today(history.office.timezone) - timedelta(days=367)).isoformat()
    seq = forge(
        history, "approver", events.APPLICATION_DISPOSED, made.application,
        decision="granted", disposed=received, note="",
    )  # fmt: skip
    assert_both_fail_at(history, tmp_path, seq, "disposed of on the day it is recorded")


def test_a_weeding_dated_the_next_day_is_caught(hist: tuple[History, Made], tmp_path: Path) -> None:
    """A weeding whose day is the office's tomorrow (where a file's retention ends then) is
    caught: the day weeded is the event's local day, exactly."""
    history, made = hist
    forged_list(history, "COL-BSR/DL/2027/095", [made.permanent])
    tomorrow = (local_today(history.office.timezone) + timedelta(days=1)).isoformat()
    seq = forge(
        history, "clerk2", events.RECORDS_WEEDED, "COL-BSR/DL/2027/095",
        on=tomorrow, records=[made.permanent],
    )  # fmt: skip
    assert_both_fail_at(history, tmp_path, seq, "the day weeded is the day recorded")


def test_weeding_a_rejected_list_is_caught(hist: tuple[History, Made], tmp_path: Path) -> None:
    """The ADM rejects a list, then signs an approval of it anyway and it is weeded: the
    second decision is caught (a list is decided once), and a rejected list never weeds."""
    history, made = hist
    number = "COL-BSR/DL/2027/094"
    forge(history, "clerk2", events.DISPOSAL_PROPOSED, number, records=[made.three_years])
    forge(history, "approver", events.DISPOSAL_REJECTED, number, comment="वाद लंबित")
    seq = forge(history, "approver", events.DISPOSAL_APPROVED, number, comment="")
    assert_both_fail_at(history, tmp_path, seq, "already approved or rejected")


def test_a_record_on_two_open_lists_is_caught(hist: tuple[History, Made], tmp_path: Path) -> None:
    """The three-year file proposed on two lists at once: the second proposal is caught."""
    history, made = hist
    forge(
        history,
        "clerk2",
        events.DISPOSAL_PROPOSED,
        "COL-BSR/DL/2027/093",
        records=[made.three_years],
    )
    seq = forge(
        history,
        "clerk2",
        events.DISPOSAL_PROPOSED,
        "COL-BSR/DL/2027/092",
        records=[made.three_years],
    )
    assert_both_fail_at(
        history, tmp_path, seq, "which is on open disposal list COL-BSR/DL/2027/093"
    )


def test_a_deposit_of_a_file_at_a_desk_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """A file still at the dak desk deposited in the record room: caught."""
    history, _made = hist
    number = _workspace(history).file(tmp_path, "डाक पर नस्ती")
    today = local_today(history.office.timezone).isoformat()
    seq = forge(
        history, "clerk2", events.RECORD_DEPOSITED, number, **{"class": "E", "closed": today}
    )
    assert_both_fail_at(history, tmp_path, seq, "its custody says it is at dak")


def test_a_deposit_of_a_record_of_another_chain_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """A number no document of this chain has, deposited: caught."""
    history, _made = hist
    today = local_today(history.office.timezone).isoformat()
    seq = forge(
        history, "clerk2", events.RECORD_DEPOSITED, "PS-OTHER/FILE/2026/00001",
        **{"class": "E", "closed": today},
    )  # fmt: skip
    assert_both_fail_at(history, tmp_path, seq, "no document of this chain has that number")


def test_a_weeding_of_a_record_not_on_the_list_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """The honest list weeded the class E file; a forged weeding under it names the permanent
    file too: caught."""
    history, made = hist
    forged_list(history, "COL-BSR/DL/2027/091", [made.three_years])
    seq = forge(
        history, "clerk2", events.RECORDS_WEEDED, "COL-BSR/DL/2027/091",
        on=local_today(history.office.timezone).isoformat(), records=[made.permanent],
    )  # fmt: skip
    assert_both_fail_at(history, tmp_path, seq, f"weeds {made.permanent}, not on the list")


def test_a_disposal_before_the_receipt_is_caught(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """An application received today, disposed of yesterday: caught."""
    history, _made = hist
    today = local_today(history.office.timezone)
    number = "COL-BSR/SVC/2027/00098"
    forge(
        history, "clerk", events.APPLICATION_RECEIVED, number, service="INCOME_CERT",
        desk="revenue", applicant="x", received=today.isoformat(),
        due=(today + timedelta(days=15)).isoformat(),
    )  # fmt: skip
    seq = forge(
        history, "approver", events.APPLICATION_DISPOSED, number, decision="granted",
        disposed=(today - timedelta(days=1)).isoformat(), note="",
    )  # fmt: skip
    assert_both_fail_at(history, tmp_path, seq, "not before its receipt")


def test_a_list_marked_rejected_by_sql_is_caught_online(
    hist: tuple[History, Made], tmp_path: Path
) -> None:
    """One UPDATE marks the approved, weeded list rejected: the tables' comparison names the
    row and field (the chain, and so the bundle, is untouched)."""
    history, made = hist
    history.runtime.engine.dispose()
    with sqlite3.connect(history.db_path) as connection:
        connection.execute(
            "UPDATE disposal_list SET rejected = 1 WHERE number = ?", (made.weeded_list,)
        )
    found = verdicts(history, tmp_path)
    assert found["bundle"].ok, found["bundle"].problems
    assert any(
        f"table disposal_list, {made.weeded_list}, field rejected" in problem
        for problem in found["online"].problems
    ), found["online"].problems


def test_a_29_february_file_weeded_on_28_february_is_caught(
    collectorate: Collectorate, tmp_path: Path
) -> None:
    """A class E file closed on 29 February 2028 is kept a full year: weeded through a forged,
    approved list on 28 February 2029 (a day early), it is caught, naming 1 March."""
    col = collectorate
    with time_machine.travel(datetime(2028, 2, 29, 6, tzinfo=UTC), tick=True):
        number = col.closed_file(tmp_path, "डाक नस्ती")
        deposit(
            col.runtime, office=col.office, actor=col.signers["clerk2"], number=number,
            record_class="E", closed=date(2028, 2, 29),
        )  # fmt: skip
    with time_machine.travel(datetime(2029, 2, 28, 6, tzinfo=UTC), tick=True):
        history = History(col.runtime, col.office, dict(col.signers), col.root)
        forged_list(history, "COL-BSR/DL/2029/090", [number])
        seq = forge(
            history, "clerk2", events.RECORDS_WEEDED, "COL-BSR/DL/2029/090",
            on="2029-02-28", records=[number],
        )  # fmt: skip
        assert_both_fail_at(history, tmp_path, seq, "ends on 2029-03-01")
