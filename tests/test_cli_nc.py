"""``qms nc …`` (issue 12, item 5): nonconformities and their actions as the office's people
meet them — the whole CAPA lifecycle, refusals with their exit codes and nothing written, the
JSON scripts read, Hindi in tables that fit 80 columns, and overdue actions per office.

Refusals go through :func:`qms_engine.cli.main`, the console script's own entry point, so their
exit codes and messages are exactly those a shell sees; the rest through click's CliRunner.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from qms_engine.cli import main
from qms_engine.clock import local_today
from qms_engine.testing import TestOffice
from tests import test_daily_cli
from tests.test_cli import PASSPHRASES
from tests.test_cli_output import column_texts
from tests.test_daily_cli import LONG_CODE, LongOffice, shown, widest

if TYPE_CHECKING:
    from tests.conftest import Desk, Stored

TITLE = "मालखाना रजिस्टर में प्रविष्टियों पर हस्ताक्षर नहीं (malkhana entries unsigned)"
DESCRIPTION = "प्रविष्टि 41 से 57 तक किसी अधिकारी के हस्ताक्षर नहीं हैं; found in the audit of 3 March"
long_office = test_daily_cli.long_office
"""PS-GBNAGAR-KOTWALI-SEC39 beside PS-TEST1, with its own staff (the fixture of test_daily_cli)."""

CONTAINED = "सभी प्रविष्टियों पर आज हस्ताक्षर कराए गए (all entries signed today)"


def today(office: TestOffice) -> date:
    """The office's calendar day now."""
    return local_today(office.office.timezone)


def as_json(office: TestOffice, *args: str | Path) -> Any:
    """``qms ARGS --json``, insisting on exit code 0: the JSON it printed."""
    return json.loads(shown(office, *args, "--json"))


def raise_nc(
    office: TestOffice, *extra: str | Path, who: str = "priya", code: str = "PS-TEST1"
) -> str:
    """Raise an NC with a Hindi title and description in office ``code`` as ``who``: its
    number."""
    raised = as_json(
        office,
        "--office", code, "nc", "raise", "--title", TITLE, "--description", DESCRIPTION,
        "--source", "internal_audit", "--severity", "minor", "--clause", "7.5.3",
        *extra, "--as", who,
    )  # fmt: skip
    return str(raised["number"])


def add_action(
    office: TestOffice, number: str, owner: str, due: date, *extra: str, who: str = "priya"
) -> dict[str, Any]:
    """Plan a corrective action of ``number`` as ``who``: the JSON ``action add`` printed."""
    args = [
        "nc", "action", "add", number, "--type", "corrective",
        "--description", "ड्यूटी अधिकारी प्रतिदिन रजिस्टर पर हस्ताक्षर करेंगे",
        "--owner", owner, "--due", due.isoformat(), *extra, "--as", who,
    ]  # fmt: skip
    return dict(as_json(office, *args))


def to_planned(office: TestOffice, number: str, owner: str) -> str:
    """Contain, analyse, plan one action owned by ``owner`` (due in a week): its subject."""
    shown(office, "nc", "act", number, "contain", "--comment", CONTAINED, "--as", "priya")
    shown(office, "nc", "act", number, "analyse", "--comment", "No daily check", "--as", "sks")
    action = add_action(office, number, owner, today(office) + timedelta(days=7))
    shown(office, "nc", "act", number, "plan", "--as", "priya")
    return str(action["subject"])


# --- the whole lifecycle ----------------------------------------------------------------------


def test_whole_capa_lifecycle_through_the_cli(
    qms_office: TestOffice, desk: Desk, make_docx: Callable[..., Path]
) -> None:
    """Raised with links and evidence, contained, analysed, two actions planned (one asking for
    a revision of an SOP), done by hand and by the revision becoming effective, implemented,
    verified by someone who implemented nothing, closed; `nc show` has it all, signed, and
    `qms audit verify` passes."""
    office = qms_office
    sop = desk.new_sop("मालखाना प्रबंधन की मानक संचालन प्रक्रिया")
    desk.issue(sop)
    record = desk.file_record("GD entry of 3 March")
    photo = make_docx("register-page.docx", "Register", "Entries 41-57 unsigned")
    number = raise_nc(office, "--document", sop, "--record", record, "--evidence", photo)
    assert number == f"PS-TEST1/NC/{today(office).year}/001"
    step = as_json(office, "nc", "act", number, "contain", "--comment", CONTAINED, "--as", "priya")
    assert step == {
        "office": "PS-TEST1",
        "number": number,
        "transition": "contain",
        "from_state": "raised",
        "to_state": "contained",
        "event_seq": step["event_seq"],
    }
    shown(office, "nc", "act", number, "analyse", "--comment", "No daily check", "--as", "sks")
    due = today(office) + timedelta(days=14)
    first = add_action(office, number, "anita", due)
    assert first == {
        "office": "PS-TEST1",
        "nc": number,
        "subject": f"{number}#A1",
        "n": 1,
        "type": "corrective",
        "owner": "anita",
        "due": due.isoformat(),
        "document": "",
        "event_seq": first["event_seq"],
    }
    second = add_action(office, number, "anita", due, "--document", sop)
    shown(office, "nc", "act", number, "plan", "--as", "priya")
    roster = make_docx("roster.docx", "Duty roster", "The duty officer signs at 22:00")
    done = as_json(
        office, "nc", "action", "done", first["subject"], "--comment", "रोस्टर में जोड़ा गया",
        "--evidence", roster, "--as", "anita",
    )  # fmt: skip
    assert done["subject"] == first["subject"]
    done_seq = done["event_seq"]
    desk.revise(sop)
    desk.issue(sop)  # revision 1 in force: the second action is done by it
    shown(office, "nc", "act", number, "implement", "--as", "sks")
    shown(
        office, "nc", "act", number, "verify", "--comment", "10 days of entries checked",
        "--as", "audit",
    )  # fmt: skip
    shown(office, "nc", "act", number, "close", "--as", "sks")

    detail = as_json(office, "nc", "show", number)
    assert (detail["state"], detail["title"], detail["description"]) == (
        "closed",
        TITLE,
        DESCRIPTION,
    )
    assert (detail["documents"], detail["records"]) == ([sop], [record])
    assert [f["original_filename"] for f in detail["evidence"]] == ["register-page.docx"]
    assert detail["closed_at"] is not None and detail["timezone"] == office.office.timezone
    assert [
        (a["subject"], a["done"], a["done_by"], a["fulfilled_by"]) for a in detail["actions"]
    ] == [(first["subject"], True, "anita", ""), (second["subject"], True, "priya", f"{sop}#1")]
    assert detail["actions"][0]["evidence"][0]["original_filename"] == "roster.docx"
    history = [(e["action"], e["subject"]) for e in detail["history"]]
    nc_steps = [action for action, subject in history if subject == number]
    assert nc_steps == [
        "nc.raised",
        "nc.contained",
        "nc.cause_analysed",
        "nc.plan_started",
        "nc.implementation_confirmed",
        "nc.effectiveness_verified",
        "nc.closed",
    ]
    assert ("document.revision.made_effective", f"{sop}#1") in history
    assert [e["seq"] for e in detail["history"]] == sorted(e["seq"] for e in detail["history"])

    text = shown(office, "nc", "show", number)
    assert widest(text) <= 80, text
    by_hand, by_revision = (cell for cell, _ in column_texts(text, "Actions", 4))
    assert by_hand.startswith("done ") and by_hand.endswith(f"by anita (#{done_seq})")
    assert by_revision.startswith(f"{sop}#1 effective ") and " by priya " in by_revision
    what = [cell for cell, _ in column_texts(text, "Signed history", 3)]
    assert f"make_effective {sop}#1" in what and what[-2:] == ["effectiveness verified", "closed"]
    assert "10 days of entries checked" in " ".join(text.split())
    assert number not in shown(office, "nc", "list")
    listed = as_json(office, "nc", "list", "--all-states")
    assert [(n["number"], n["state"]) for n in listed] == [(number, "closed")]
    shown(office, "audit", "verify")


# --- refusals ---------------------------------------------------------------------------------


@pytest.fixture
def qms_main(
    qms_office: TestOffice,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stored: Callable[[], Stored],
) -> Callable[..., str]:
    """Run ``qms ARGS`` through the console script's entry point, insisting that it exits with
    ``code`` and writes nothing: what it printed on standard error."""
    for name, value in PASSPHRASES.items():
        monkeypatch.setenv(name, value)

    def refused(code: int, *args: str) -> str:
        before = stored()
        monkeypatch.setattr(sys, "argv", ["qms", "-w", str(qms_office.root), *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        err = capsys.readouterr().err
        assert exited.value.code == code, err
        assert stored() == before
        return " ".join(err.split())  # as one line, however rich wrapped it

    return refused


def test_refusals_exit_non_zero_saying_why_and_write_nothing(
    qms_office: TestOffice, qms_main: Callable[..., str]
) -> None:
    """An action due in the past, implementing with an open action, a transition from the
    wrong state (with what the user may take instead), a verifier who implemented the
    action, and acting on a closed NC: each refused with its exit code and a clear message."""
    office = qms_office
    number = raise_nc(office)
    shown(office, "nc", "act", number, "contain", "--comment", CONTAINED, "--as", "priya")
    shown(office, "nc", "act", number, "analyse", "--comment", "No daily check", "--as", "sks")
    yesterday = (today(office) - timedelta(days=1)).isoformat()
    late = qms_main(
        5, "nc", "action", "add", number, "--type", "corrective", "--description", "Sign",
        "--owner", "sks", "--due", yesterday, "--as", "priya",
    )  # fmt: skip
    assert f"the due date {yesterday} is in the past" in late
    action = str(add_action(office, number, "sks", today(office))["subject"])
    shown(office, "nc", "act", number, "plan", "--as", "priya")

    early = qms_main(5, "nc", "act", number, "implement", "--as", "priya")
    assert number in early and f"qms nc action done {action}" in early
    wrong = qms_main(5, "nc", "act", number, "close", "--as", "priya")
    assert f"{number} is planned" in wrong and "priya may take now: cancel" in wrong

    shown(office, "nc", "action", "done", action, "--comment", "Signed daily", "--as", "sks")
    shown(office, "nc", "act", number, "implement", "--as", "priya")
    own = qms_main(4, "nc", "act", number, "verify", "--comment", "Works", "--as", "sks")
    assert number in own and "implement" in own
    shown(office, "nc", "act", number, "verify", "--comment", "Works", "--as", "audit")
    shown(office, "nc", "act", number, "close", "--as", "priya")

    closed = qms_main(5, "nc", "act", number, "reopen", "--comment", "Again", "--as", "audit")
    assert f"{number} is closed: nothing more is done on it" in closed
    again = qms_main(5, "nc", "action", "done", action, "--comment", "Again", "--as", "sks")
    assert f"{number} is closed" in again
    unknown = qms_main(3, "nc", "show", "PS-TEST1/NC/2026/999")
    assert "no nonconformity numbered 'PS-TEST1/NC/2026/999'" in unknown
    error = json.loads(qms_main(5, "nc", "act", number, "cancel", "--comment", "x", "--json",
                                "--as", "priya"))  # fmt: skip
    assert error["exit_code"] == 5 and "closed" in error["error"]


def test_bad_filters_and_action_names_exit_2(
    qms_office: TestOffice, qms_main: Callable[..., str]
) -> None:
    """An unknown state, source or severity to list by, and an action named without ``#A``,
    are usage errors naming what may be given."""
    assert "no state 'open'" in qms_main(2, "nc", "list", "--state", "open")
    assert "internal_audit" in qms_main(2, "nc", "list", "--source", "audit")
    assert "did you mean 'major'?" in qms_main(2, "nc", "list", "--severity", "majr")
    bad = qms_main(2, "nc", "action", "done", "PS-TEST1/NC/2026/001", "--comment", "x",
                   "--as", "anita")  # fmt: skip
    assert "does not name an action" in bad


# --- reading: JSON, Hindi in 80 columns, overdue per office ---------------------------------


def test_list_filters_and_json_shape(qms_office: TestOffice) -> None:
    """`nc list` lists open NCs by default, filtered by state, source or severity; its JSON
    objects carry each NC's fields and links, times in UTC."""
    office = qms_office
    first = raise_nc(office)
    second = raise_nc(office)
    shown(office, "nc", "act", second, "cancel", "--comment", "Raised twice", "--as", "priya")
    (listed,) = as_json(office, "nc", "list")
    assert set(listed) == {
        "number", "office", "title", "description", "source", "severity", "clause",
        "documents", "records", "evidence", "responses", "finding", "workflow", "state",
        "raised_by", "raised_at", "state_entered_at", "closed_at", "event_seq",
    }  # fmt: skip
    assert (listed["number"], listed["raised_by"], listed["workflow"]) == (first, "priya", "capa")
    assert listed["raised_at"].endswith("+00:00")
    assert [n["number"] for n in as_json(office, "nc", "list", "--state", "cancelled")] == [second]
    assert as_json(office, "nc", "list", "--severity", "major") == []
    assert "No open nonconformities in PS-TEST1 match --severity major." in shown(
        office, "nc", "list", "--severity", "major"
    )


def test_hindi_tables_fit_80_columns_with_a_long_office_code(
    qms_office: TestOffice, long_office: LongOffice
) -> None:
    """In an office with a 24-character code, `nc show`, `nc list` and `nc overdue` of an NC
    written in Hindi fit 80 columns, its number and its action's whole."""
    office, where = qms_office, ("--office", LONG_CODE)
    number = raise_nc(office, who="neha", code=LONG_CODE)
    shown(office, *where, "nc", "act", number, "contain", "--comment", CONTAINED, "--as", "neha")
    shown(office, *where, "nc", "act", number, "analyse", "--comment", "कारण", "--as", "neha")
    action = add_action(office, number, "kavita", today(office), who="neha")
    later = (today(office) + timedelta(days=3)).isoformat()
    for args in (
        ("nc", "show", number),
        ("nc", "list"),
        ("nc", "overdue", "--on", later),
    ):
        text = shown(office, *where, *args)
        assert widest(text) <= 80, (args, text)
        assert number in text.split() or action["subject"] in text.split(), text
    show = shown(office, *where, "nc", "show", number)
    assert "सभी प्रविष्टियों पर आज हस्ताक्षर कराए गए" in " ".join(show.split())


def test_overdue_actions_per_office(qms_office: TestOffice, long_office: LongOffice) -> None:
    """`nc overdue` covers every office (or those named), each counting in its own calendar:
    open actions past due, most overdue first, with their days overdue; a done action, or one
    not yet due, is left out."""
    office = qms_office
    number = raise_nc(office)
    soon = to_planned(office, number, "anita")
    later = add_action(office, number, "mohan", today(office) + timedelta(days=20))["subject"]
    elsewhere = raise_nc(office, who="neha", code=LONG_CODE)
    for step, comment in (("contain", CONTAINED), ("analyse", "कारण")):
        shown(office, "--office", LONG_CODE, "nc", "act", elsewhere, step, "--comment", comment,
              "--as", "neha")  # fmt: skip
    far = add_action(office, elsewhere, "kavita", today(office) + timedelta(days=2), who="neha")

    assert "Nothing overdue in PS-GBNAGAR-KOTWALI-SEC39, PS-TEST1." in shown(
        office, "nc", "overdue"
    )
    on = today(office) + timedelta(days=10)
    report = as_json(office, "nc", "overdue", "--on", on.isoformat())
    assert [(group["office"], group["today"]) for group in report] == [
        (LONG_CODE, on.isoformat()),
        ("PS-TEST1", on.isoformat()),
    ]
    overdue = {
        a["subject"]: (a["owner"], a["days_overdue"]) for group in report for a in group["actions"]
    }
    assert overdue == {far["subject"]: ("kavita", 8), soon: ("anita", 3)}
    assert later not in overdue
    shown(office, "nc", "action", "done", soon, "--comment", "हो गया", "--as", "anita")
    (only,) = as_json(office, "nc", "overdue", "--office", "PS-TEST1", "--on", on.isoformat())
    assert (only["office"], only["actions"]) == ("PS-TEST1", [])
    text = shown(office, "nc", "overdue", "--on", on.isoformat())
    assert f"Overdue actions of {LONG_CODE}" in text and "Nothing overdue in PS-TEST1." in text


def test_the_nc_commands_qms_tasks_offers_run_as_printed(qms_office: TestOffice) -> None:
    """The commands `qms tasks` offers for an NC (move it on) and for an action (its owner
    marks it done) are `qms nc` commands that run as printed, placeholders filled in."""
    office = qms_office
    number = raise_nc(office)

    def offered(who: str, subject: str) -> list[list[str]]:
        tasks = as_json(office, "tasks", "--as", who)["tasks"]
        return [
            shlex.split(a["command"])
            for t in tasks
            if t["subject"] == subject
            for a in t["actions"]
        ]

    def filled(command: list[str], placeholder: str, text: str) -> list[str]:
        return [text if word == placeholder else word for word in command[1:]]

    (contain,) = [c for c in offered("priya", number) if "contain" in c]
    shown(office, *filled(contain, "WHY", "रजिस्टर पर हस्ताक्षर कराए"))
    assert as_json(office, "nc", "show", number)["state"] == "contained"
    shown(office, "nc", "act", number, "analyse", "--comment", "No daily check", "--as", "sks")
    action = add_action(office, number, "anita", today(office))["subject"]
    (done,) = offered("anita", action)
    shown(office, *filled(done, "WHAT_WAS_DONE", "हो गया"))
    assert as_json(office, "nc", "show", number)["actions"][0]["done_by"] == "anita"


def test_an_action_whose_owner_left_is_reassigned_from_the_task(
    qms_office: TestOffice, qms_main: Callable[..., str]
) -> None:
    """rakesh's role is revoked after his action was planned: `qms tasks` offers the quality
    coordinator `qms nc action reassign`, which runs as printed once the owner and reason are
    filled in; the new owner then marks it done; `qms nc show` names the step; refusals exit
    with their codes and write nothing."""
    office = qms_office
    number = raise_nc(office)
    action = to_planned(office, number, "rakesh")
    shown(office, "user", "revoke", "rakesh", "reviewer", "--as", "admin")
    gone = qms_main(4, "nc", "action", "done", action, "--comment", "Done", "--as", "rakesh")
    assert "holds no role in PS-TEST1" in gone
    tasks = as_json(office, "tasks", "--as", "priya")["tasks"]
    (command,) = [a["command"] for t in tasks if t["subject"] == action for a in t["actions"]]
    words = shlex.split(command)
    assert words[:4] == ["qms", "nc", "action", "reassign"]
    clerk = qms_main(4, *words[1:5], "--owner", "anita", "--comment", "x", "--as", "ramesh")
    assert "reassign actions" in clerk
    nobody = qms_main(3, *words[1:5], "--owner", "nobody", "--comment", "x", "--as", "priya")
    assert "no user 'nobody'" in nobody
    no_why = qms_main(2, *words[1:5], "--owner", "anita", "--as", "priya")
    assert "--comment" in no_why
    filled = [
        {"USER": "anita", "WHY": "राकेश का तबादला हो गया"}.get(word, word) for word in words[1:]
    ]
    moved = as_json(office, *filled)
    assert (moved["subject"], moved["n"]) == (action, 1)
    shown(office, "nc", "action", "done", action, "--comment", "हो गया", "--as", "anita")
    shown_nc = as_json(office, "nc", "show", number)
    assert (shown_nc["actions"][0]["owner"], shown_nc["actions"][0]["done_by"]) == (
        "anita",
        "anita",
    )
    table = shown(office, "nc", "show", number)
    assert "reassigned action A1" in table and "new owner anita" in table
    shown(office, "audit", "verify")
