"""The record room: a record is weeded only through an approved disposal list, and only once
its class's retention has run out — through the engine and the CLI, on SQLite and
PostgreSQL, years on (time-machine), and verified from the chain."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from qms_engine.audit.verify import verify_office
from qms_engine.clock import local_today, years_after
from qms_engine.errors import PermissionDenied, RuleViolation
from qms_engine.record_room.room import approve, deposit, propose, weed
from tests.collectorate_fixtures import Collectorate, cli, collectorate, later, refused

__all__ = ["collectorate"]  # the fixture, imported for pytest


def _deposited(col: Collectorate, tmp_path: Path, record_class: str, title: str) -> str:
    """A FILE record filed and deposited today (closed today) in ``record_class``."""
    number = col.file(tmp_path, title)
    deposit(
        col.runtime,
        office=col.office,
        actor=col.signers["clerk2"],
        number=number,
        record_class=record_class,
        closed=local_today(col.office.timezone),
    )
    return number


def test_a_record_weeded_before_its_retention_ends_is_refused(
    collectorate: Collectorate, tmp_path: Path
) -> None:
    """A class D file (3 years) cannot be proposed for weeding one year on, nor weeded
    through a list proposed before it was deposited; three years on it is proposed,
    approved by another person and weeded, and the chain verifies."""
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
    number = collectorate.file(tmp_path, "नक़ल आवेदन नस्ती")
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
    number = collectorate.file(tmp_path)
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
