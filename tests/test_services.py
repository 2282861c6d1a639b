"""Citizen-charter services: an application is due the charter's days after its receipt,
disposed of once, and listed per desk once past its time limit — through the engine and the
CLI, on SQLite and PostgreSQL, and verified from the chain."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from qms_engine.audit.verify import verify_office
from qms_engine.clock import local_today
from qms_engine.errors import InvalidInput, PermissionDenied, PluginError, RuleViolation
from qms_engine.registry.charter import Desk, RecordClass, Service
from qms_engine.services.applications import (
    dispose_application,
    overdue,
    receive_application,
)
from qms_engine.services.charter import record_declarations
from qms_engine.testing import TestOffice
from tests.collectorate_fixtures import Collectorate, cli, collectorate, later, refused

__all__ = ["collectorate"]  # the fixture, imported for pytest


def _apply(col: Collectorate, service: str, applicant: str = "रामलाल", **kwargs: object) -> str:
    return receive_application(
        col.runtime,
        office=col.office,
        actor=col.signers["clerk"],
        service=service,
        applicant=applicant,
        **kwargs,  # type: ignore[arg-type]
    ).number


def test_an_application_is_due_the_charters_days_after_it_was_received(
    collectorate: Collectorate,
) -> None:
    """An income certificate (15 days, revenue desk) received five days ago is due ten days
    from now; the office's chain records the charter it was held to, and verifies."""
    today = local_today(collectorate.office.timezone)
    made = receive_application(
        collectorate.runtime,
        office=collectorate.office,
        actor=collectorate.signers["clerk"],
        service="INCOME_CERT",
        applicant="श्रीमती कमला देवी",
        received=today - timedelta(days=5),
    )
    assert (made.number, made.desk) == ("COL-BSR/SVC/2026/00001", "revenue")
    assert made.due == today + timedelta(days=10)
    assert verify_office(collectorate.runtime, collectorate.office).problems == []


def test_a_service_past_its_time_limit_is_listed_per_desk(collectorate: Collectorate) -> None:
    """Sixteen days on, the income certificate (15 days) is overdue at the revenue desk, the
    arms renewal (30 days) is not, and a disposed-of one never is; `qms service overdue`
    says so per desk, in words and JSON, and `--desk` keeps to one desk."""
    late = _apply(collectorate, "INCOME_CERT")
    _apply(collectorate, "ARMS_RENEWAL")
    done = _apply(collectorate, "CERTIFIED_COPY")
    dispose_application(
        collectorate.runtime,
        number=done,
        actor=collectorate.signers["approver"],
        decision="granted",
    )
    with later(days=16):
        today = local_today(collectorate.office.timezone)
        with collectorate.runtime.engine.connect() as connection:
            found = overdue(connection, collectorate.office, today)
        assert {desk: [a.number for a in rows] for desk, rows in found.items()} == {
            "revenue": [late]
        }
        assert found["revenue"][0].days_late(today) == 1
        shown = cli(collectorate, "service", "overdue")
        assert shown.exit_code == 0, shown.output
        assert "Desk revenue" in shown.output and late in shown.output
        assert "1 day late" in shown.output and "1 days" not in shown.output
        as_json = cli(collectorate, "service", "overdue", "--desk", "arms", "--json")
        assert json.loads(as_json.output) == {}
        whole = json.loads(cli(collectorate, "service", "overdue", "--json").output)
        assert [row["number"] for row in whole["revenue"]] == [late]
        assert verify_office(collectorate.runtime, collectorate.office).problems == []


def test_an_application_is_disposed_of_once(collectorate: Collectorate) -> None:
    """A second disposal is refused (exit 5 through the CLI), naming the first."""
    number = _apply(collectorate, "GRIEVANCE", "शिकायतकर्ता")
    first = cli(
        collectorate, "service", "dispose", number, "rejected", "--note", "No cause", "--as", "adm"
    )
    assert first.exit_code == 0, first.output
    with pytest.raises(RuleViolation, match="already disposed of"):
        dispose_application(
            collectorate.runtime,
            number=number,
            actor=collectorate.signers["clerk"],
            decision="granted",
        )
    code, said = refused(collectorate, "service", "dispose", number, "granted", "--as", "sunita")
    assert code == 5 and "already disposed of" in said, said


def test_bad_applications_are_refused_saying_what_to_type(collectorate: Collectorate) -> None:
    """An unknown service (exit 2, listing the charter's), a day received in the future or
    more than 30 days back, and an approver receiving (only a clerk does) are refused;
    nothing is written."""
    today = local_today(collectorate.office.timezone)
    code, said = refused(
        collectorate, "service", "apply", "INCOME", "--applicant", "x", "--as", "sunita"
    )
    assert code == 2 and "INCOME_CERT" in said, said
    with pytest.raises(RuleViolation, match="after today"):
        _apply(collectorate, "INCOME_CERT", received=today + timedelta(days=1))
    with pytest.raises(RuleViolation, match="more than 30 days ago"):
        _apply(collectorate, "INCOME_CERT", received=today - timedelta(days=31))
    with pytest.raises(InvalidInput, match="applicant"):
        _apply(collectorate, "INCOME_CERT", applicant="  ")
    with pytest.raises(PermissionDenied, match="needs role clerk"):
        receive_application(
            collectorate.runtime,
            office=collectorate.office,
            actor=collectorate.signers["approver"],
            service="INCOME_CERT",
            applicant="x",
        )
    listed = cli(collectorate, "service", "list", "--json")
    assert json.loads(listed.output) == []


def test_the_cli_receives_and_lists_applications(collectorate: Collectorate) -> None:
    """`qms service apply` prints the number, desk and due day; `qms service list` shows the
    Hindi applicant's name whole."""
    made = cli(
        collectorate,
        "service",
        "apply",
        "NOC_LOCAL_BODY",
        "--applicant",
        "मोहन लाल",
        "--as",
        "sunita",
    )
    assert made.exit_code == 0, made.output
    due = local_today(collectorate.office.timezone) + timedelta(days=15)
    assert "COL-BSR/SVC/2026/00001" in made.output and due.isoformat() in made.output
    listed = cli(collectorate, "service", "list", "--desk", "local_bodies")
    assert "मोहन लाल" in listed.output and "open" in listed.output
    code, said = refused(collectorate, "service", "list", "--desk", "revenu")
    assert code == 2 and "did you mean 'revenue'" in said, said


def test_the_charter_is_recorded_again_only_when_it_changed(collectorate: Collectorate) -> None:
    """The charter and schedule recorded at the office's creation are the plugin's: `qms
    service charter` records nothing and says so; a clerk may not record it (exit 4)."""
    done = cli(collectorate, "service", "charter", "--as", "admin")
    assert done.exit_code == 0 and "are current" in done.output, done.output
    code, said = refused(collectorate, "service", "charter", "--as", "sunita")
    assert code == 4 and "needs role admin" in said, said


def test_an_office_type_without_a_charter_has_none_to_record(qms_office: TestOffice) -> None:
    """A police station declares no citizen charter: recording one is refused."""
    with pytest.raises(RuleViolation, match="declares no citizen charter"):
        record_declarations(
            qms_office.runtime, office=qms_office.office, actor=qms_office.signers["admin"]
        )


@pytest.mark.parametrize(
    ("declared", "says"),
    [
        ({"services": (Service("X", "x", 15, "nowhere"),)}, "desk 'nowhere', not declared"),
        ({"services": (Service("X", "x", 0, "revenue"),)}, "days must be a whole number"),
        ({"desks": (Desk("Revenue", "Revenue"),)}, "must be lowercase"),
        ({"desks": (Desk("revenue", "Revenue", ("NONE",)),)}, "'NONE', which is no document"),
        ({"record_classes": (RecordClass("A", "a", -1),)}, "retention_years must be ≥ 0"),
    ],
)
def test_a_plugin_declaring_a_bad_charter_is_refused(declared: dict[str, Any], says: str) -> None:
    """Desks, services and record classes are checked where a plugin registers them."""
    from qms_engine.registry.office_types import OfficeType, TypeRegistry

    office_type = OfficeType(
        code="collectorate_x",
        title="x",
        document_types=(),
        **{"desks": (Desk("revenue", "Revenue"),), **declared},
    )
    with pytest.raises(PluginError, match=says):
        TypeRegistry().add_office_type(office_type)


def test_a_disposal_is_dated_the_day_it_is_recorded(collectorate: Collectorate) -> None:
    """Sixty days on, a certified copy (7 days) disposed of is recorded as disposed of that
    day, 53 days late: there is no backdating it (`--on` is no option: exit 2)."""
    number = _apply(collectorate, "CERTIFIED_COPY")
    with later(days=60):
        today = local_today(collectorate.office.timezone)
        code, said = refused(
            collectorate, "service", "dispose", number, "granted",
            "--on", (today - timedelta(days=59)).isoformat(), "--as", "adm",
        )  # fmt: skip
        assert code == 2 and "--on" in said, said
        done = cli(collectorate, "service", "dispose", number, "granted", "--as", "adm")
        assert done.exit_code == 0, done.output
        assert f"granted on {today.isoformat()} (53 days late)" in done.output, done.output
        assert verify_office(collectorate.runtime, collectorate.office).problems == []


def test_a_changed_charter_leaves_earlier_applications_due_as_they_were(
    collectorate: Collectorate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin cuts the income certificate to 5 days and an admin records the charter
    again: an application received before stays due in 15 days (not overdue on day 6), one
    received after is due in 5; both verify."""
    before = receive_application(
        collectorate.runtime, office=collectorate.office, actor=collectorate.signers["clerk"],
        service="INCOME_CERT", applicant="x",
    )  # fmt: skip
    registry = collectorate.runtime.plugins.registry
    spec = registry.office_type("collectorate")
    services = tuple(replace(s, days=5) if s.code == "INCOME_CERT" else s for s in spec.services)
    monkeypatch.setitem(registry.office_types, "collectorate", replace(spec, services=services))
    assert record_declarations(
        collectorate.runtime, office=collectorate.office, actor=collectorate.signers["admin"]
    ) == ["service.charter.recorded"]
    after = receive_application(
        collectorate.runtime, office=collectorate.office, actor=collectorate.signers["clerk"],
        service="INCOME_CERT", applicant="y",
    )  # fmt: skip
    assert (after.due - after.received, before.due - before.received) == (
        timedelta(days=5),
        timedelta(days=15),
    )
    with later(days=6):
        with collectorate.runtime.engine.connect() as connection:
            late = overdue(
                connection, collectorate.office, local_today(collectorate.office.timezone)
            )
        assert [a.number for a in late["revenue"]] == [after.number]
        assert verify_office(collectorate.runtime, collectorate.office).problems == []


def test_one_line_fields_refuse_line_breaks_and_control_characters(
    collectorate: Collectorate,
) -> None:
    """An applicant's name or a disposal note holding a line break or a control character is
    refused (exit 2), naming the option; nothing is written."""
    code, said = refused(
        collectorate, "service", "apply", "INCOME_CERT", "--applicant", "रामलाल\nदूसरी पंक्ति",
        "--as", "sunita",
    )  # fmt: skip
    assert code == 2 and "--applicant holds a line break" in said, said
    number = _apply(collectorate, "GRIEVANCE")
    with pytest.raises(InvalidInput, match="--note holds a line break"):
        dispose_application(
            collectorate.runtime, number=number, actor=collectorate.signers["approver"],
            decision="granted", note="ok\x1b[2J",
        )  # fmt: skip
    assert [
        row["number"]
        for row in json.loads(cli(collectorate, "service", "list", "--open", "--json").output)
    ] == [number]


def test_an_office_without_a_charter_says_how_to_record_one(qms_office: TestOffice) -> None:
    """A police station has no charter recorded: receiving an application is refused, with
    the hint to have an admin record it."""
    with pytest.raises(RuleViolation, match="no citizen charter recorded") as refusal:
        receive_application(
            qms_office.runtime, office=qms_office.office, actor=qms_office.signers["clerk"],
            service="INCOME_CERT", applicant="x",
        )  # fmt: skip
    assert refusal.value.hint == "an admin records it: qms service charter --as ADMIN"
