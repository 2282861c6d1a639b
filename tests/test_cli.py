"""The ``qms`` command, end to end, as a clerk or a shell script would run it.

Every exit code is checked by running the installed console script in a subprocess, so codes
and messages are exactly those a shell script sees (``main()`` maps engine errors to them);
passphrases come from the environment and stdin is never a terminal.  Commands that succeed run
in-process through click's ``CliRunner``, which parses and dispatches exactly the same way but
spares the second of start-up each subprocess costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from qms_engine.cli import cli
from qms_engine.testing import TEST_PASSPHRASE, TestOffice

if TYPE_CHECKING:
    from tests.conftest import Desk

QMS = Path(sys.executable).parent / "qms"
PASSPHRASES = {
    "QMS_PASSPHRASE": TEST_PASSPHRASE,
    "QMS_ADMIN_PASSPHRASE": TEST_PASSPHRASE,
    "QMS_OFFICE_PASSPHRASE": TEST_PASSPHRASE,
    "QMS_NEW_PASSPHRASE": TEST_PASSPHRASE,
}
sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)


def run(
    *args: str | Path, env: Mapping[str, str] = PASSPHRASES, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``qms ARGS`` with only ``env`` among the QMS_* variables; stdin is not a terminal."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    environment.update(env)
    environment["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [str(QMS), *map(str, args)],
        env=environment,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def ok(*args: str | Path, **kwargs: object) -> str:
    """Run ``qms ARGS``, insist on exit code 0, return stdout."""
    result = run(*args, **kwargs)  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    return result.stdout


def invoke(*args: str | Path) -> str:
    """Run ``qms ARGS`` in-process (CliRunner), insist on exit code 0, return stdout."""
    result = CliRunner().invoke(cli, [str(arg) for arg in args], env=PASSPHRASES)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_sop_lifecycle_through_the_cli(tmp_path: Path, make_docx: Callable[..., Path]) -> None:
    """init, add users, file an SOP, take it to effective, list it, and get its exact bytes."""
    ws = tmp_path / "ws"
    invoke(
        "init",
        ws,
        "--office-type=police_station",
        "--office-code=PS-CLI1",
        "--office-name=कोतवाली सेक्टर 39",
        "--admin-name=Station Admin",
    )
    (office,) = json.loads(invoke("-w", ws, "office", "list", "--json"))
    assert (office["code"], office["name"]) == ("PS-CLI1", "कोतवाली सेक्टर 39")
    invoke(
        "-w", ws, "user", "add", "anita", "--name=ASI Anita Sharma", "--role=author", "--as=admin"
    )
    invoke(
        "-w", ws, "user", "add", "sks", "--name=Insp. S. K. Singh", "--role=approver", "--as=admin"
    )
    sop = make_docx("sop.docx", "Station office procedure", "Open the station at 08:00.")
    early = run("-w", ws, "doc", "new", sop, "--type=SOP", "--title=Early", "--as=anita")
    assert early.returncode == 4, early.stderr  # the admin's key for her is temporary
    assert "Hint: qms --office PS-CLI1 key rotate anita --as anita" in early.stderr
    for person in ("anita", "sks"):  # each chooses their own key before signing anything
        invoke("-w", ws, "key", "rotate", person, f"--as={person}")
    created = json.loads(
        invoke(
            "-w",
            ws,
            "doc",
            "new",
            sop,
            "--type=SOP",
            "--title=Station office",
            "--as=anita",
            "--json",
        )
    )
    number = created["number"]
    assert (number, created["revno"], created["state"]) == ("PS-CLI1/SOP/001", 0, "draft")
    for transition, who in (("submit", "anita"), ("approve", "sks"), ("make_effective", "sks")):
        invoke("-w", ws, "doc", "act", number, transition, f"--as={who}")
    (listed,) = json.loads(invoke("-w", ws, "doc", "list", "--json"))
    assert (number, 0, "effective") == (
        listed["number"],
        listed["effective_revno"],
        listed["latest_state"],
    )
    out = tmp_path / "copy.docx"
    invoke("-w", ws, "doc", "get", number, "-o", out)
    assert sop.read_bytes() == out.read_bytes()


@pytest.fixture
def submitted(desk: Desk) -> str:
    """An SOP written and submitted by anita, waiting for approval."""
    number = desk.new_sop()
    desk.act(number, "submit")
    return number


def test_unknown_number_exits_3(qms_office: TestOffice, tmp_path: Path) -> None:
    """Getting a document that does not exist exits 3 (not found)."""
    result = run("-w", qms_office.root, "doc", "get", "PS-TEST1/SOP/999", "-o", tmp_path / "x")
    assert result.returncode == 3, result.stderr
    assert "no document numbered 'PS-TEST1/SOP/999'" in result.stderr


def test_author_approving_own_revision_exits_4(qms_office: TestOffice, submitted: str) -> None:
    """The author approving their own revision exits 4 (permission denied)."""
    result = run("-w", qms_office.root, "doc", "act", submitted, "approve", "--as=anita")
    assert result.returncode == 4, result.stderr
    assert "'anita' may not approve" in result.stderr


def test_wrong_state_exits_5_and_lists_available_transitions(
    qms_office: TestOffice, submitted: str
) -> None:
    """Making a revision in review effective exits 5 and says what this person can do now."""
    result = run("-w", qms_office.root, "doc", "act", submitted, "make_effective", "--as=sks")
    assert result.returncode == 5, result.stderr
    assert "sks may take now: approve, reject" in result.stderr


def test_missing_passphrase_without_terminal_exits_2(
    qms_office: TestOffice, submitted: str
) -> None:
    """With no passphrase in the environment and no terminal to ask, the command exits 2."""
    result = run("-w", qms_office.root, "doc", "act", submitted, "approve", "--as=sks", env={})
    assert result.returncode == 2, result.stderr
    assert "QMS_PASSPHRASE" in result.stderr


def test_help_exits_0(tmp_path: Path) -> None:
    """The installed ``qms --help`` works anywhere, even outside a workspace."""
    assert "Usage: qms" in ok("--help", cwd=tmp_path)


def test_doc_help_lists_its_commands() -> None:
    """``qms doc --help`` lists the document commands."""
    shown = invoke("doc", "--help")
    for command in ("new", "revise", "act", "list", "get", "show"):
        assert f"  {command} " in shown


def test_demo_builds_a_workspace_with_a_superseded_revision(tmp_path: Path) -> None:
    """``qms demo`` runs a whole lifecycle, including a superseded revision."""
    assert "superseded" in invoke("demo", tmp_path / "demo")


def test_workflow_show_lists_transitions() -> None:
    """``qms wf show sop-revision`` lists every transition of the workflow."""
    shown = invoke("wf", "show", "sop-revision")
    for transition in (
        "submit",
        "approve",
        "reject",
        "make_effective",
        "confirm_review",
        "withdraw",
        "archive",
    ):
        assert transition in shown


def test_workflow_show_notes_the_in_force_state() -> None:
    """``qms wf show`` lists ``in force`` among the notes of the in-force state only."""
    rows = invoke("wf", "show", "sop-revision").splitlines()
    in_force = [row.split()[0] for row in rows if "in force" in row]
    assert in_force == ["effective"]


def test_workflow_show_json_prints_states_and_transitions() -> None:
    """``qms wf show sop-revision --json`` prints the definition (it used to crash on the
    read-only mappings holding the states)."""
    shown = json.loads(invoke("wf", "show", "sop-revision", "--json"))
    assert shown["name"] == "sop-revision"
    assert [name for name, state in shown["states"].items() if state["in_force"]] == ["effective"]
    assert shown["states"]["effective"]["exclusive"] == "superseded"
    assert shown["transitions"]["approve"]["not_by"] == ["author", "submit"]


def test_plugins_json_lists_police_station() -> None:
    """``qms plugins --json`` lists the police station plugin and its office type."""
    plugins = {p["name"]: p for p in json.loads(invoke("plugins", "--json"))}
    assert plugins["police_station"]["office_types"] == ["police_station"]


@sqlite_only
def test_audit_verify_passes_then_fails_after_tampering_with_exit_6(
    qms_office: TestOffice, submitted: str, raw_sqlite: Callable[[str], None]
) -> None:
    """``qms audit verify`` exits 0 on an intact trail and 6 once an event row is altered."""
    assert "PS-TEST1: OK" in invoke("-w", qms_office.root, "audit", "verify", "--jobs=1")
    raw_sqlite("UPDATE event SET actor = 'meena' WHERE action = 'document.revision.authored'")
    result = run("-w", qms_office.root, "audit", "verify", "--jobs=1")
    assert result.returncode == 6, result.stderr
    assert "PS-TEST1: FAILED" in result.stdout


def test_workflow_register_by_admin_and_refused_to_others(qms_office: TestOffice) -> None:
    """`qms wf register` is an admin's: with the installed definitions already in force it
    registers nothing (exit 0, JSON for scripts); anyone else gets exit 4."""
    out = invoke("-w", qms_office.root, "wf", "register", "--as=admin", "--json")
    assert json.loads(out) == {"registered": []}
    refused = run("-w", qms_office.root, "wf", "register", "--as=anita")
    assert refused.returncode == 4, refused.stderr
    assert "needs role admin" in refused.stderr
