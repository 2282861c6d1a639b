"""Bad input to the CAPA commands is refused clearly, with the right exit code, nothing written
(review 12, items 11 and 17).

Absurd dates (an action due in the year 9999, an audit dated 1999 or three years ahead, a
finding recorded before the audit's day) are refused by the engine; an empty title or
description, an unknown transition and a too-long --nc-title are bad input (exit 2) naming
what to type; lists of accepted values read as English ("severities"); a document is named in
any letter case; refusals that only an action stands behind say what to do about it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from qms_engine.capa.internal_audits import AuditItem, plan_audit, record_finding
from qms_engine.clock import years_after
from qms_engine.errors import InvalidInput, RuleViolation, known_value
from qms_engine.tasks import tasks_for
from qms_engine.testing import TestOffice
from tests.conftest import Desk
from tests.test_capa import Capa, capa, today, written
from tests.test_cli_nc import qms_main, raise_nc
from tests.test_daily_cli import shown

__all__ = ["capa", "qms_main", "written"]  # fixtures, used by name

NC_ARGS = ("nc", "raise", "--source", "complaint", "--severity", "minor", "--as", "priya")


def _plan(office: TestOffice, day: date) -> str:
    """An audit of clause 7.5.3 by `audit` on ``day``: its number."""
    return plan_audit(
        office.runtime,
        office=office.office,
        actor=office.signers["quality_coordinator"],
        title="Clause 7.5",
        scope="Registers",
        date=day,
        auditors=["audit"],
        items=[AuditItem("7.5.3", "audit")],
    ).number


# --- dates -------------------------------------------------------------------------------------


def test_an_action_due_more_than_five_years_ahead_is_refused(
    qms_office: TestOffice, capa: Capa, written: Callable[[], object]
) -> None:
    """9999-12-31 is a typo, not a plan: refused naming the latest day allowed; five years
    from today is still allowed."""
    number = capa.raise_nc()
    capa.to_analysed(number)
    before = written()
    with pytest.raises(InvalidInput, match="9999-12-31 is more than 5 years ahead") as refused:
        capa.add(number, due=date(9999, 12, 31))
    latest = years_after(today(qms_office), 5)
    assert f"the latest allowed is {latest.isoformat()}" in str(refused.value)
    with pytest.raises(InvalidInput, match="more than 5 years ahead"):
        capa.add(number, due=latest + timedelta(days=1))
    assert written() == before
    assert capa.add(number, due=latest).n == 1


def test_an_audit_dated_before_2000_or_over_two_years_ahead_is_refused(
    qms_office: TestOffice, written: Callable[[], object]
) -> None:
    """The audit's date is checked in the office's calendar: before 2000-01-01, or more than
    two years after today, is refused naming the date; nothing is written."""
    before = written()
    with pytest.raises(InvalidInput, match="1999-12-31 is before 2000-01-01"):
        _plan(qms_office, date(1999, 12, 31))
    too_late = years_after(today(qms_office), 2) + timedelta(days=1)
    with pytest.raises(InvalidInput, match=f"{too_late.isoformat()} is more than 2 years ahead"):
        _plan(qms_office, too_late)
    assert written() == before
    assert _plan(qms_office, date(2000, 1, 1))


def test_a_finding_is_not_recorded_before_the_audit_s_day(
    qms_office: TestOffice, written: Callable[[], object]
) -> None:
    """An audit planned for tomorrow takes no finding today (refused, nothing written), and
    `qms tasks` offers its items to their auditor from that day on."""
    tomorrow = today(qms_office) + timedelta(days=1)
    audit = _plan(qms_office, tomorrow)
    before = written()
    with pytest.raises(RuleViolation, match=f"planned for {tomorrow.isoformat()}"):
        record_finding(
            qms_office.runtime,
            audit=audit,
            item=1,
            actor=qms_office.signers["auditor"],
            result="conforms",
            note="",
        )
    assert written() == before

    def findings(on: date) -> list[str]:
        listed = tasks_for(qms_office.runtime, qms_office.office, "audit", today=on).tasks
        return [task.subject for task in listed if task.kind == "audit_finding"]

    assert findings(today(qms_office)) == []
    assert findings(tomorrow) == [f"{audit}#1"]


# --- messages and exit codes ---------------------------------------------------------------


def test_known_values_are_listed_in_plain_english() -> None:
    """ "severities", "sources", "action types": never "severitys"."""
    with pytest.raises(InvalidInput, match=r"\(severities: major, minor\)") as refused:
        known_value("severity", "maj", ("major", "minor"), "nonconformity severities")
    assert refused.value.hint == "did you mean 'major'?"
    with pytest.raises(InvalidInput, match=r"\(action types: corrective\)"):
        known_value("action type", "x", ("corrective",), "action types")


def test_bad_nc_input_exits_2_naming_what_to_type(
    qms_office: TestOffice, qms_main: Callable[..., str]
) -> None:
    """An empty title or description (or one of zero-width characters, blank to the chain's
    shape check too), a severity not known (listed as "severities"), an unknown transition
    (its workflow's listed, as `doc act` does): exit 2, nothing written."""
    for blank in (" ", "\u200b\u2060"):
        empty = qms_main(2, *NC_ARGS, "--title", blank, "--description", "d")
        assert "the nonconformity's title is empty" in empty and "--title" in empty
    for blank in ("", "\u200b"):
        bare = qms_main(2, *NC_ARGS, "--title", "t", "--description", blank)
        assert "description is empty" in bare
    severity = qms_main(
        2, "nc", "raise", "--title", "t", "--description", "d", "--source", "complaint",
        "--severity", "grave", "--as", "priya",
    )  # fmt: skip
    assert "(severities: major, minor, observation)" in severity and "severitys" not in severity
    number = raise_nc(qms_office)
    unknown = qms_main(2, "nc", "act", number, "contian", "--as", "priya")
    assert "no transition 'contian' in the workflow capa" in unknown
    assert "did you mean 'contain'?" in unknown and "transitions: analyse, cancel" in unknown


def test_an_unknown_document_transition_exits_2_too(
    qms_office: TestOffice, desk: Desk, qms_main: Callable[..., str]
) -> None:
    """`doc act` and `nc act` answer an unknown transition alike: exit 2, the workflow's
    transitions listed."""
    sop = desk.new_sop()
    said = qms_main(2, "doc", "act", sop, "aprove", "--as", "sks")
    assert "no transition 'aprove' in the workflow sop-revision" in said
    assert "did you mean 'approve'?" in said


def test_a_too_long_nc_title_names_the_option(
    qms_office: TestOffice, qms_main: Callable[..., str]
) -> None:
    """A finding's --nc-title over 300 characters: exit 2 naming --nc-title."""
    audit = _plan(qms_office, today(qms_office))
    said = qms_main(
        2, "internal-audit", "finding", audit, "1", "--result", "nonconformity",
        "--note", "Seal numbers missing", "--nc-title", "x" * 301, "--as", "audit",
    )  # fmt: skip
    assert "--nc-title is 301 characters; at most 300" in said


def test_a_document_is_named_in_any_letter_case(
    qms_office: TestOffice, capa: Capa, desk: Desk
) -> None:
    """`--document ps-test1/sop/001` on `nc raise` and `nc action add` is stored as the
    document spells its number."""
    sop = desk.new_sop()
    desk.issue(sop)
    number = capa.raise_nc(documents=[sop.lower()])
    assert capa.nc(number).documents == (sop,)
    capa.to_analysed(number)
    capa.add(number, document=sop.lower())
    assert [action.document for action in capa.actions(number)] == [sop]


def test_refusals_that_an_action_stands_behind_say_what_to_do(
    qms_office: TestOffice, capa: Capa, desk: Desk, qms_main: Callable[..., str]
) -> None:
    """With no action yet, taking `implement` says to plan one (the command); with a document
    action open, `implement` says the revision made effective does it (`qms doc show`), not
    `qms nc action done`."""
    sop = desk.new_sop()
    desk.issue(sop)
    number = capa.raise_nc()
    capa.to_analysed(number)
    early = qms_main(5, "nc", "act", number, "implement", "--as", "priya")
    assert f"{number} has no action yet: plan one first, qms nc action add {number}" in early
    capa.add(number, document=sop)
    shown(qms_office, "nc", "act", number, "plan", "--as", "priya")
    waiting = qms_main(5, "nc", "act", number, "implement", "--as", "priya")
    assert f"{number}#A1 is done when a new revision of {sop} is made effective" in waiting
    assert f"qms doc show {sop}" in waiting and "qms nc action done" not in waiting
