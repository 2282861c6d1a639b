"""The record room: a record is weeded only through an approved disposal list, and only once
its class's retention has run out — through the engine and the CLI, on SQLite and
PostgreSQL, years on (time-machine), and verified from the chain."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from qms_engine.audit.verify import verify_office
from qms_engine.chain.service_rules import retention_ends
from qms_engine.clock import local_today, years_after
from qms_engine.errors import PermissionDenied, RuleViolation
from qms_engine.record_room.room import DisposalListRow, approve, deposit, propose, weed
from qms_engine.services.charter import record_declarations
from tests.collectorate_fixtures import Collectorate, cli, collectorate, later, refused

__all__ = ["collectorate"]  # the fixture, imported for pytest


def _deposited(col: Collectorate, tmp_path: Path, record_class: str, title: str) -> str:
    """A FILE record filed and deposited today (closed today) in ``record_class``."""
    number = col.closed_file(tmp_path, title)
    deposit(
        col.runtime,
        office=col.office,
        actor=col.signers["clerk2"],
        number=number,
        record_class=record_class,
        closed=local_today(col.office.timezone),
    )
    return number


def _propose(col: Collectorate, *records: str) -> DisposalListRow:
    """The record keeper proposes a disposal list of ``records``."""
    return propose(col.runtime, office=col.office, actor=col.signers["clerk2"], records=records)


def test_a_record_weeded_before_its_retention_ends_is_refused(
    collectorate: Collectorate, tmp_path: Path
) -> None:
    """A class D file (3 years) cannot be proposed for weeding one year on; three years on it
    is proposed, is not weeded before the list is approved, then is approved by another
    person and weeded, once, and the chain verifies."""
    number = _deposited(collectorate, tmp_path, "D", "पुरानी नस्ती")
    s = collectorate.signers
    with later(years=1), pytest.raises(RuleViolation, match=r"kept until .* cannot be weeded"):
        propose(
            collectorate.runtime,
            office=collectorate.office,
            actor=s["clerk2"],
            records=[number],
        )
    with later(years=3):
        listed = propose(
            collectorate.runtime, office=collectorate.office, actor=s["clerk2"], records=[number]
        )
        with pytest.raises(RuleViolation, match="not approved"):
            weed(collectorate.runtime, number=listed.number, actor=s["clerk2"])
        approve(collectorate.runtime, number=listed.number, actor=s["approver"], comment="ठीक")
        weeded = weed(collectorate.runtime, number=listed.number, actor=s["clerk2"])
        today = local_today(collectorate.office.timezone)
        assert [(k.number, k.weeded_on) for k in weeded] == [(number, today)]
        with pytest.raises(RuleViolation, match="already weeded"):
            weed(collectorate.runtime, number=listed.number, actor=s["clerk2"])
        assert verify_office(collectorate.runtime, collectorate.office).problems == []


def test_a_permanent_record_is_never_weeded(collectorate: Collectorate, tmp_path: Path) -> None:
    """A class A (permanent) file cannot go on a disposal list, even fifty years on."""
    number = _deposited(collectorate, tmp_path, "A", "भू-अभिलेख")
    with (
        later(years=50),
        pytest.raises(RuleViolation, match="kept permanently: it is never weeded"),
    ):
        propose(
            collectorate.runtime,
            office=collectorate.office,
            actor=collectorate.signers["clerk2"],
            records=[number],
        )


def test_the_proposer_may_not_approve_the_list(collectorate: Collectorate, tmp_path: Path) -> None:
    """A quality coordinator who also holds the approver role proposes a list: approving it
    herself is refused (segregation of duties); the approver's approval goes through."""
    from qms_engine.people.users import grant_roles

    number = _deposited(collectorate, tmp_path, "E", "डाक नस्ती")
    s = collectorate.signers
    grant_roles(
        collectorate.runtime,
        collectorate.office,
        actor=s["admin"],
        username="qc",
        roles=["approver"],
    )
    with later(years=1, days=1):
        listed = propose(
            collectorate.runtime,
            office=collectorate.office,
            actor=s["coordinator"],
            records=[number],
        )
        with pytest.raises(PermissionDenied, match="segregation of duties"):
            approve(collectorate.runtime, number=listed.number, actor=s["coordinator"])
        approved = approve(collectorate.runtime, number=listed.number, actor=s["approver"])
        assert (approved.proposed_by, approved.approved_by) == ("qc", "adm")


def test_the_cli_deposits_proposes_approves_weeds_and_lists(
    collectorate: Collectorate, tmp_path: Path
) -> None:
    """The whole path through `qms record-room`: deposit (a year's class E), list with the day
    it may be weeded, propose, approve, weed, and the list shows it weeded (--json too)."""
    number = collectorate.closed_file(tmp_path, "नक़ल आवेदन नस्ती")
    today = local_today(collectorate.office.timezone)
    done = cli(
        collectorate, "record-room", "deposit", number, "--class", "E",
        "--closed", today.isoformat(), "--as", "harish",
    )  # fmt: skip
    weed_from = years_after(today, 1).isoformat()
    assert done.exit_code == 0 and f"may be weeded from {weed_from}" in done.output, done.output
    code, said = refused(
        collectorate, "record-room", "deposit", number, "--class", "E",
        "--closed", today.isoformat(), "--as", "harish",
    )  # fmt: skip
    assert code == 5 and "already in the record room" in said, said
    with later(years=1):
        proposed = cli(collectorate, "record-room", "propose", number, "--as", "harish", "--json")
        listed = json.loads(proposed.output)["number"]
        code, said = refused(collectorate, "record-room", "weed", listed, "--as", "harish")
        assert code == 5 and "not approved" in said, said
        cli(collectorate, "record-room", "approve", listed, "--comment", "जाँचा", "--as", "adm")
        weeded = cli(collectorate, "record-room", "weed", listed, "--as", "harish")
        assert weeded.exit_code == 0 and f"{number}: weeded on" in weeded.output, weeded.output
        shown = json.loads(cli(collectorate, "record-room", "list", "--weeded", "--json").output)
        assert [r["weeded_list"] for r in shown["records"]] == [listed]
        assert shown["lists"][0]["weeded"] is True
        assert verify_office(collectorate.runtime, collectorate.office).problems == []


def test_deposits_name_a_record_and_a_class_of_the_schedule(
    collectorate: Collectorate, tmp_path: Path
) -> None:
    """An unknown class (exit 2, listing the schedule's), a number that is no record of the
    office (exit 3) and a file closed tomorrow are refused."""
    number = collectorate.closed_file(tmp_path)
    today = local_today(collectorate.office.timezone).isoformat()
    code, said = refused(
        collectorate, "record-room", "deposit", number, "--class", "Z", "--closed", today,
        "--as", "harish",
    )  # fmt: skip
    assert code == 2 and "A, B, C, D, E" in said, said
    code, said = refused(
        collectorate, "record-room", "deposit", "COL-BSR/FILE/2026/09999", "--class", "A",
        "--closed", today, "--as", "harish",
    )  # fmt: skip
    assert code == 3, said
    tomorrow = local_today(collectorate.office.timezone) + timedelta(days=1)
    with pytest.raises(RuleViolation, match="after today"):
        deposit(
            collectorate.runtime,
            office=collectorate.office,
            actor=collectorate.signers["clerk2"],
            number=number,
            record_class="A",
            closed=tomorrow,
        )


def test_a_file_is_not_closed_before_it_was_created(
    collectorate: Collectorate, tmp_path: Path
) -> None:
    """A file filed today cannot be deposited as closed in 2000 (so weeded the day it is
    filed): refused through the engine and the CLI (exit 5), nothing written."""
    number = collectorate.closed_file(tmp_path)
    with pytest.raises(RuleViolation, match="before it was created"):
        deposit(
            collectorate.runtime, office=collectorate.office, actor=collectorate.signers["clerk2"],
            number=number, record_class="E", closed=date(2000, 1, 1),
        )  # fmt: skip
    code, said = refused(
        collectorate, "record-room", "deposit", number, "--class", "E",
        "--closed", "2000-01-01", "--as", "harish",
    )  # fmt: skip
    assert code == 5 and "before it was created" in said, said
    assert json.loads(cli(collectorate, "record-room", "list", "--json").output)["records"] == []


def test_only_a_register_record_at_the_record_room_is_deposited(
    collectorate: Collectorate, tmp_path: Path, make_docx: Callable[..., Path]
) -> None:
    """A file still at the dak desk is refused, saying where it is and how to hand it over; a
    draft SOP (a controlled document) is refused; once handed over, the file goes in."""
    number = collectorate.file(tmp_path)
    today = local_today(collectorate.office.timezone)
    code, said = refused(
        collectorate, "record-room", "deposit", number, "--class", "E",
        "--closed", today.isoformat(), "--as", "harish",
    )  # fmt: skip
    assert code == 5 and "is at dak, not in the record room" in said, said
    assert f"qms custody move {number} --to record_room" in said, said
    sop = collectorate.sop(make_docx("sop.docx", "Office procedure"))
    with pytest.raises(RuleViolation, match="controlled document"):
        deposit(
            collectorate.runtime, office=collectorate.office, actor=collectorate.signers["clerk2"],
            number=sop, record_class="E", closed=today,
        )  # fmt: skip
    collectorate.to_record_room(number)
    kept = deposit(
        collectorate.runtime, office=collectorate.office, actor=collectorate.signers["clerk2"],
        number=number, record_class="E", closed=today,
    )  # fmt: skip
    assert kept.weed_from == years_after(today, 1)
    assert verify_office(collectorate.runtime, collectorate.office).problems == []


def _record_schedule(
    collectorate: Collectorate, monkeypatch: pytest.MonkeyPatch, **years: int | None
) -> None:
    """The plugin now declares ``years`` for some classes (a new plugin version), and an
    admin records the new schedule (as `qms service charter` does)."""
    registry = collectorate.runtime.plugins.registry
    spec = registry.office_type("collectorate")
    classes = tuple(
        replace(c, retention_years=years.get(c.code, c.retention_years))
        for c in spec.record_classes
    )
    monkeypatch.setitem(
        registry.office_types, "collectorate", replace(spec, record_classes=classes)
    )
    done = record_declarations(
        collectorate.runtime, office=collectorate.office, actor=collectorate.signers["admin"]
    )
    assert done == ["record_room.schedule.recorded"]


def test_a_new_schedule_never_shortens_a_deposited_records_retention(
    collectorate: Collectorate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin shortens class D to nothing: a class D file deposited before is still kept its
    three years.  A class E file proposed once its year ran out, then class E lengthened to
    five years before the weeding: the weeding is refused (the retention checked again at the
    irreversible step).  Both verify."""
    three_years = _deposited(collectorate, tmp_path, "D", "नक़ल नस्ती")
    yearly = _deposited(collectorate, tmp_path, "E", "डाक नस्ती")
    s = collectorate.signers
    with later(years=1, days=1):
        _record_schedule(collectorate, monkeypatch, D=0)
        with pytest.raises(RuleViolation, match="kept until"):
            propose(
                collectorate.runtime, office=collectorate.office, actor=s["clerk2"],
                records=[three_years],
            )  # fmt: skip
        listed = propose(
            collectorate.runtime, office=collectorate.office, actor=s["clerk2"], records=[yearly]
        )
        approve(collectorate.runtime, number=listed.number, actor=s["approver"])
        _record_schedule(collectorate, monkeypatch, E=5)
        with pytest.raises(RuleViolation, match=r"kept until .* \(5 years"):
            weed(collectorate.runtime, number=listed.number, actor=s["clerk2"])
        shown = json.loads(cli(collectorate, "record-room", "list", "--json").output)
        weed_from = {row["number"]: row["weed_from"] for row in shown["records"]}
        today = local_today(collectorate.office.timezone)
        assert weed_from[three_years] == years_after(today - timedelta(days=1), 2).isoformat()
        assert verify_office(collectorate.runtime, collectorate.office).problems == []


def test_a_rejected_list_frees_its_records(collectorate: Collectorate, tmp_path: Path) -> None:
    """A list is rejected by an approver who did not propose it, saying why (the proposer, or
    no reason, is refused); it is never weeded nor approved after; its record goes on a new
    list, while a record on an open list may not."""
    number = _deposited(collectorate, tmp_path, "E", "डाक नस्ती")
    s = collectorate.signers
    with later(years=1, days=1):
        first = propose(
            collectorate.runtime, office=collectorate.office, actor=s["clerk2"], records=[number]
        )
        with pytest.raises(RuleViolation, match="already on disposal list"):
            propose(
                collectorate.runtime, office=collectorate.office, actor=s["coordinator"],
                records=[number],
            )  # fmt: skip
        code, said = refused(
            collectorate, "record-room", "reject", first.number, "--comment", "", "--as", "adm"
        )
        assert code == 2 and "--comment" in said, said
        code, said = refused(
            collectorate, "record-room", "reject", first.number, "--comment", "x", "--as", "harish"
        )
        assert code == 4, said
        done = cli(
            collectorate, "record-room", "reject", first.number,
            "--comment", "नस्ती 7 वाद में है", "--as", "adm",
        )  # fmt: skip
        assert done.exit_code == 0 and "1 record, proposed by harish, rejected by adm" in (
            done.output
        ), done.output
        code, said = refused(collectorate, "record-room", "weed", first.number, "--as", "harish")
        assert code == 5 and "not approved" in said, said
        with pytest.raises(RuleViolation, match="already rejected by adm"):
            approve(collectorate.runtime, number=first.number, actor=s["approver"])
        again = propose(
            collectorate.runtime, office=collectorate.office, actor=s["clerk2"], records=[number]
        )
        approve(collectorate.runtime, number=again.number, actor=s["approver"])
        assert [
            k.number for k in weed(collectorate.runtime, number=again.number, actor=s["clerk2"])
        ] == [number]
        assert verify_office(collectorate.runtime, collectorate.office).problems == []


def test_one_line_fields_refuse_line_breaks(collectorate: Collectorate, tmp_path: Path) -> None:
    """An approval's comment holding a line break or a control character is refused (exit 2
    through the CLI), naming the option."""
    number = _deposited(collectorate, tmp_path, "E", "डाक नस्ती")
    with later(years=1, days=1):
        listed = _propose(collectorate, number)
        for comment in ("ठीक\napproved", "ok\x1b[2J"):
            code, said = refused(
                collectorate, "record-room", "approve", listed.number, "--comment", comment,
                "--as", "adm",
            )  # fmt: skip
            assert code == 2 and "--comment holds a line break" in said, said


@pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)
def test_the_weeding_reads_the_approval_from_the_chain(
    collectorate: Collectorate, tmp_path: Path
) -> None:
    """An insider marks a list approved in the table by SQL: the weeding is refused (the
    signed approval is what counts), and nothing is weeded."""
    number = _deposited(collectorate, tmp_path, "E", "डाक नस्ती")
    with later(years=1, days=1):
        listed = _propose(collectorate, number)
        collectorate.runtime.engine.dispose()
        database = collectorate.root / "qms.sqlite3"
        with sqlite3.connect(database) as connection:
            connection.execute(
                "UPDATE disposal_list SET approved_by = (SELECT id FROM app_user WHERE "
                "username = 'adm') WHERE number = ?",
                (listed.number,),
            )
        with pytest.raises(RuleViolation, match="not approved"):
            weed(collectorate.runtime, number=listed.number, actor=collectorate.signers["clerk2"])
        shown = json.loads(cli(collectorate, "record-room", "list", "--json").output)
        assert [row["number"] for row in shown["records"]] == [number]


def test_a_file_closed_on_29_february_is_kept_until_1_march(
    collectorate: Collectorate, tmp_path: Path
) -> None:
    """A class E file closed on 29 February 2028 is kept a full year: not weeded on
    28 February 2029, only from 1 March."""
    with time_machine.travel(datetime(2028, 2, 29, 6, tzinfo=UTC), tick=True):
        number = _deposited(collectorate, tmp_path, "E", "डाक नस्ती")
    assert retention_ends(date(2028, 2, 29), 1) == date(2029, 3, 1)
    assert retention_ends(date(2028, 2, 29), 4) == date(2032, 2, 29)
    s = collectorate.signers
    with (
        time_machine.travel(datetime(2029, 2, 28, 6, tzinfo=UTC), tick=True),
        pytest.raises(RuleViolation, match="kept until 2029-03-01"),
    ):
        propose(
                collectorate.runtime, office=collectorate.office, actor=s["clerk2"],
                records=[number],
            )  # fmt: skip
    with time_machine.travel(datetime(2029, 3, 1, 6, tzinfo=UTC), tick=True):
        listed = propose(
            collectorate.runtime, office=collectorate.office, actor=s["clerk2"], records=[number]
        )
        approve(collectorate.runtime, number=listed.number, actor=s["approver"])
        weed(collectorate.runtime, number=listed.number, actor=s["clerk2"])
        assert verify_office(collectorate.runtime, collectorate.office).problems == []
