"""`qms feedback erase`: citizens' comments are kept for the form's keep_days, then blanked with
a signed `feedback.comments.erased`; the ratings stay, and `qms audit verify` keeps passing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qms_engine.audit.verify import verify_office
from qms_engine.feedback.responses import required_form
from qms_engine.feedback.retention import latest_allowed
from qms_engine.people.users import grant_roles
from qms_engine.testing import TestOffice
from tests.test_cli import run
from tests.test_feedback_forms import response
from tests.test_feedback_import import (
    GOOD,
    POOR,
    STATION,
    comments,
    events_of,
    export,
    importing,
    qms,
    second_station,
)


def test_old_comments_are_erased_through_the_cli_and_the_chain_still_verifies(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Two responses of January 2023 and one of November 2025: a date later than today less
    730 days is refused naming the latest allowed, nothing erased; at that date the two old
    comments (and salts) are blanked in one signed event, the recent one kept; the ratings and
    the NC the poor one raised stay; `qms audit verify` passes; erasing again erases nothing
    and signs nothing."""
    importing(
        qms_office,
        export(
            tmp_path,
            "form.csv",
            [
                response("15/01/2023 09:00:00", STATION, GOOD, "पुराना सुझाव"),
                response("20/01/2023 18:30:00", STATION, POOR, "थाने में कोई नहीं था"),
                response("24/11/2025 10:40:46", STATION, GOOD, "अच्छा व्यवहार"),
            ],
        ),
    )
    form = required_form(qms_office.runtime, qms_office.office)
    latest = latest_allowed(form, qms_office.office)  # the office's date less 730 days
    early = run(
        "-w", qms_office.root, "feedback", "erase", "--before", "2099-01-01", "--as", "priya"
    )
    assert early.returncode == 2
    assert (
        f"--before 2099-01-01: PS-TEST1 keeps comments 730 days, so the latest date allowed is "
        f"{latest.isoformat()}" in early.stderr
    )
    assert not events_of(qms_office, "feedback.comments.erased")

    done = qms(
        "-w", qms_office.root, "feedback", "erase", "--before", latest.isoformat(), "--as",
        "priya", "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert (result["before"], result["erased"]) == (latest.isoformat(), 2)
    ((office,),) = [result["offices"]]
    assert (office["office"], office["erased"], len(office["event_seqs"])) == ("PS-TEST1", 2, 1)
    rows = comments(qms_office)
    old, poor, recent = rows
    assert rows[old][:2] == ("", None) and rows[poor][:2] == ("", None)
    assert rows[old][2] is not None
    assert rows[recent][0] == "अच्छा व्यवहार" and rows[recent][1] is not None
    assert rows[recent][2] is None
    ((subject, payload),) = events_of(qms_office, "feedback.comments.erased")
    assert subject == f"PS-TEST1/FEEDBACK/ERASED/{latest.isoformat()}"
    assert payload == {"before": latest.isoformat(), "responses": [old, poor]}
    assert verify_office(qms_office.runtime, qms_office.office).problems == []
    verified = run("-w", qms_office.root, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    again = qms(
        "-w", qms_office.root, "feedback", "erase", "--before", "2024-01-01", "--as", "priya"
    )
    assert again.exit_code == 0, again.output
    assert "Erased the comments of 0 response(s) from before 2024-01-01." in again.stdout
    assert len(events_of(qms_office, "feedback.comments.erased")) == 1


def test_only_a_quality_coordinator_erases(qms_office: TestOffice, tmp_path: Path) -> None:
    """An author is a quality coordinator nowhere: refused with exit code 4, nothing erased."""
    importing(qms_office, export(tmp_path, "form.csv", [response("15/01/2023 09:00:00", STATION)]))
    refused = run(
        "-w", qms_office.root, "feedback", "erase", "--before", "2024-01-01", "--as", "anita"
    )
    assert refused.returncode == 4
    assert "'anita' is a quality coordinator of no office with a feedback form" in refused.stderr
    ((comment, salt, erased),) = comments(qms_office).values()
    assert comment and salt and erased is None


def test_erase_help_says_what_stays() -> None:
    """`qms feedback erase --help` says what is erased, what stays and the limit."""
    shown = " ".join(qms("feedback", "erase", "--help").stdout.split())
    assert "keep_days" in shown and "ratings stay" in shown
    assert "A date later than the form allows is refused" in shown


def test_a_station_that_refuses_is_reported_and_the_others_are_erased(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Priya is made quality coordinator of a second station, where her key is still the one
    the admin issued: that station is reported (exit 1), PS-TEST1's old comment is erased."""
    second = second_station(qms_office)
    grant_roles(
        qms_office.runtime,
        second,
        actor=qms_office.signers["admin"],
        username="priya",
        roles=["quality_coordinator"],
    )
    importing(qms_office, export(tmp_path, "form.csv", [response("15/01/2023 09:00:00", STATION)]))
    done = run(
        "-w", qms_office.root, "feedback", "erase", "--before", "2024-01-01", "--as", "priya"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "PS-TEST1: 1 erased" in done.stdout
    assert "Not erased in PS-TEST2: 'priya''s signing key" in done.stderr
    ((comment, salt, erased),) = comments(qms_office).values()
    assert (comment, salt) == ("", None) and erased is not None


def test_comments_kept_too_long_are_a_task_for_the_quality_coordinator(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """`qms tasks` reminds each quality coordinator (and nobody else) of comments kept longer
    than the form's keep_days, overdue, with the erase command that blanks exactly those; once
    run, the task is gone."""
    from qms_engine.tasks import tasks_for

    importing(
        qms_office,
        export(
            tmp_path,
            "form.csv",
            [
                response("15/01/2023 09:00:00", STATION, GOOD, "पुराना सुझाव"),
                response("24/11/2025 10:40:46", STATION, GOOD, "अच्छा व्यवहार"),
            ],
        ),
    )

    def erasures(username: str) -> list[Any]:
        listed = tasks_for(qms_office.runtime, qms_office.office, username).tasks
        return [task for task in listed if task.kind == "feedback_erasure"]

    (task,) = erasures("priya")
    assert erasures("anita") == []  # an author erases nothing
    assert task.overdue and task.title.startswith("1 citizens' comment(s) kept longer than 730")
    form = required_form(qms_office.runtime, qms_office.office)
    before = latest_allowed(form, qms_office.office).isoformat()
    assert task.actions[0].command.endswith(f"feedback erase --before {before} --as priya")
    done = run("-w", qms_office.root, *task.actions[0].command.split()[1:])
    assert done.returncode == 0, done.stdout + done.stderr
    assert erasures("priya") == []
