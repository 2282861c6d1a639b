"""The example plugin of docs/plugins.md is a real, separate package that works.

``tests/example_plugin`` (distribution ``qms-police-outpost``) is built by hatchling and
installed by pip exactly as a user would install it (offline: no index, no build isolation, so
the venv's hatchling builds it), once per session, into a folder of its own.  Put on
``sys.path``, its entry point in the ``qms_engine.plugins`` group is all the engine sees of it:
``qms plugins`` lists it, an outpost is created, a complaint is filed, its rule refuses what
is incomplete, and the audit trail verifies.  Its sources import only ``qms_engine.api``
(tests/test_api.py checks that with the built-in plugins).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from qms_engine.audit.verify import verify_office
from qms_engine.cli import cli
from qms_engine.documents.revisions import create_document
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import PermissionDenied, RuleViolation
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import unlock
from qms_engine.runtime import Runtime
from qms_engine.storage.models import DOCUMENT_TABLE
from qms_engine.testing import TEST_PASSPHRASE, staff_member

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "example_plugin"
GUIDE = ROOT / "docs" / "plugins.md"
QUOTED = re.compile(r"```[a-z]*\n# (tests/example_plugin/\S+)\n(.*?)```", re.S)
"""A block of the guide headed by the example file it quotes: ``# tests/example_plugin/…``."""
PACKAGE = "qms_police_outpost"
OFFICE = "PP-CIV1"
PASSPHRASES = {
    "QMS_PASSPHRASE": TEST_PASSPHRASE,
    "QMS_ADMIN_PASSPHRASE": TEST_PASSPHRASE,
    "QMS_OFFICE_PASSPHRASE": TEST_PASSPHRASE,
    "QMS_NEW_PASSPHRASE": TEST_PASSPHRASE,
}


@pytest.fixture(scope="session")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package built and installed by pip into a folder of its own (once)."""
    target = tmp_path_factory.mktemp("example-plugin")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index"]
    command += ["--no-build-isolation", "--no-cache-dir", "--target", str(target), str(EXAMPLE)]
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    built = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert built.returncode == 0, (
        f"pip could not build and install {EXAMPLE} (is hatchling installed? "
        f"pip install -e '.[test]'):\n{built.stdout}\n{built.stderr}"
    )
    return target


@pytest.fixture(scope="module")
def outpost_plugin(installed_example: Path) -> Iterator[Path]:
    """The installed example on ``sys.path`` for this module's tests only, so the rest of the
    suite sees the built-in plugins alone."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(installed_example))
        yield installed_example
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def invoke(*args: str | Path) -> Result:
    """``qms ARGS`` in-process (CliRunner), with the test passphrases."""
    return CliRunner().invoke(cli, [str(arg) for arg in args], env=PASSPHRASES)


def ok(*args: str | Path) -> str:
    """``qms ARGS`` in-process; insists on exit code 0 and returns what it printed."""
    result = invoke(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_the_guide_quotes_the_example_as_it_is() -> None:
    """Every block of docs/plugins.md headed by a file of the example is a piece of that file
    as it stands, so the walk-through cannot drift from the code these tests run."""
    quoted = QUOTED.findall(GUIDE.read_text(encoding="utf-8"))
    assert {name for name, _ in quoted} >= {
        "tests/example_plugin/pyproject.toml",
        "tests/example_plugin/qms_police_outpost/office.py",
        "tests/example_plugin/qms_police_outpost/rules.py",
        "tests/example_plugin/qms_police_outpost/hooks.py",
    }
    for name, excerpt in quoted:
        assert excerpt in (ROOT / name).read_text(encoding="utf-8"), f"{name}:\n{excerpt}"


def test_the_example_is_installed_as_a_package_of_its_own(outpost_plugin: Path) -> None:
    """pip installed the package, its workflow file and its entry point, outside the tree."""
    (dist_info,) = outpost_plugin.glob("qms_police_outpost-*.dist-info")
    entry_points = (dist_info / "entry_points.txt").read_text(encoding="utf-8")
    assert "[qms_engine.plugins]\npolice_outpost = qms_police_outpost.hooks" in entry_points
    assert (outpost_plugin / PACKAGE / "workflows" / "complaint-enquiry.toml").is_file()


def test_qms_plugins_lists_the_example(outpost_plugin: Path) -> None:
    """`qms plugins` finds the example through its entry point, with its hooks, its type
    and its command."""
    rows = {row["name"]: row for row in json.loads(ok("plugins", "--json"))}
    assert rows["police_outpost"] == {
        "name": "police_outpost",
        "module": "qms_police_outpost.hooks",
        "hooks": [
            "qms_cli_commands",
            "qms_register_types",
            "qms_validate_submission",
            "qms_workflow_dirs",
        ],
        "office_types": ["police_outpost"],
        "commands": ["complaint"],
        "problem": None,
    }


def run(installed: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The installed ``qms ARGS`` in a process of its own, the example on its PYTHONPATH.

    A plugin's commands (``qms complaint``) are run this way: the ``qms`` group adds the
    plugins' commands once per process, and this suite's other tests run without the example.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    environment.update(PASSPHRASES, PYTHONPATH=str(installed), PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [str(Path(sys.executable).parent / "qms"), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environment,
        cwd=installed,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_a_new_process_finds_the_example_and_its_command(outpost_plugin: Path) -> None:
    """The installed `qms` command, in a process of its own, loads the plugin from a folder
    on PYTHONPATH (nothing but the installation tells it the plugin is there), and offers the
    command the plugin adds."""
    listed = run(outpost_plugin, "--help")
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^  complaint +Where a complaint's papers are", listed.stdout, re.M)


def test_the_example_declares_its_registers_and_sops(outpost_plugin: Path) -> None:
    """The office type arrives as declared: registers, numbering, inbox folders, SOPs, role."""
    plugins = load_plugins()
    outpost = plugins.registry.office_type("police_outpost")
    assert [spec.code for spec in outpost.document_types] == ["SOP", "DAK", "COMPLAINT"]
    assert outpost.inbox_folders == ("SOP-DRAFTS", "DAK", "COMPLAINTS")
    assert outpost.document_type("COMPLAINT").format_number(OFFICE, 7, 2026) == (
        "PP-CIV1/CMP/2026/0007"
    )
    assert "Complaint receipt and forwarding" in outpost.required_sops
    assert "munshi" in plugins.registry.roles
    assert "complaint-enquiry" in plugins.workflows


def _incomplete(result: Result) -> str:
    """The message of a filing the plugin's rule refused (exit code 5)."""
    assert isinstance(result.exception, RuleViolation), (result.output, result.exception)
    assert result.exception.exit_code == 5
    return str(result.exception)


def test_an_outpost_files_and_enquires_into_a_complaint_through_the_cli(
    outpost_plugin: Path,
    qms_database_url: str | None,
    tmp_path: Path,
    make_docx: Callable[..., Path],
) -> None:
    """Create an outpost (readiness lists its SOPs as missing), enrol its munshi and in-charge,
    file a complaint (incomplete ones are refused first), record its enquiry, hand its papers
    over to the police station with the plugin's own command, and the audit trail verifies."""
    ws = tmp_path / "ws"
    url = ["--database-url", qms_database_url] if qms_database_url else []
    ok("init", ws, "--office-type=police_outpost", f"--office-code={OFFICE}", *url,
       "--office-name=पुलिस चौकी सिविल लाइन्स", "--admin-name=Outpost Admin")  # fmt: skip
    assert (ws / "inbox" / OFFICE / "COMPLAINTS").is_dir()
    readiness = invoke("-w", ws, "check", "readiness", "--json")
    assert readiness.exit_code == 5, readiness.output  # the outpost's SOPs are not written yet
    (outpost,) = json.loads(readiness.stdout)["offices"]
    assert [finding["subject"] for finding in outpost["findings"]] == [
        "Outpost office procedure",
        "Complaint receipt and forwarding",
        "Beat patrolling",
    ]
    ok("-w", ws, "user", "add", "rampal", "--name=HC Rampal", "--role=munshi", "--as=admin")
    ok("-w", ws, "user", "add", "sunita", "--name=SI Sunita", "--role=approver", "--as=admin")
    for person in ("rampal", "sunita"):
        ok("-w", ws, "key", "rotate", person, f"--as={person}")
    complaint = make_docx("complaint.docx", "पड़ोसी द्वारा रास्ता रोकना", "शिकायत का विवरण")
    new = ("-w", ws, "doc", "new", complaint, "--type=COMPLAINT", "--as=rampal", "--json")

    who = "--field=complainant=श्रीमती कमला देवी"
    refused = _incomplete(invoke(*new, "--title=रास्ता रोकना", who, "--field=received_on=29/11"))
    assert "complaint.docx: field 'received_on' is '29/11', not a date — write it as" in refused
    missing = _incomplete(invoke(*new, "--title=रास्ता रोकना", "--field=received_on=2026-11-29"))
    assert "complainant" in missing  # required_fields, declared by the plugin, kept by the engine
    assert json.loads(ok("-w", ws, "doc", "list", "--json")) == []  # nothing was written

    filed = json.loads(ok(*new, "--title=रास्ता रोकना", who, "--field=received_on=2026-11-29"))
    assert re.fullmatch(rf"{OFFICE}/CMP/\d{{4}}/0001", filed["number"]), filed
    assert filed["state"] == "received"
    ok("-w", ws, "doc", "act", filed["number"], "enquire", "--as=sunita",
       "--comment=मौके पर जाँच की, रास्ता खुलवाया")  # fmt: skip

    thana = "--received-by=HC मोहन लाल, थाना कोतवाली"
    handed = run(outpost_plugin, "-w", ws, "complaint", "move", filed["number"], "--to=thana",
                 thana, "--seal=intact", "--as=rampal")  # fmt: skip
    assert handed.returncode == 0, handed.stderr
    # The core `qms custody` commands are the same ones, for any register with custody.
    found = json.loads(ok("-w", ws, "custody", "where", filed["number"], "--json"))
    assert (found["place"], found["holder"]) == ("thana", "HC मोहन लाल, थाना कोतवाली")
    back = invoke("-w", ws, "custody", "move", filed["number"], "--to=outpost",
                  "--received-by=HC Rampal", "--seal=intact", "--as=rampal")  # fmt: skip
    assert isinstance(back.exception, RuleViolation), back.output  # handed over for good
    ok("-w", ws, "audit", "verify")


def test_the_engine_applies_the_example_rule_and_workflow(
    outpost_plugin: Path, qms_database_url: str | None, tmp_path: Path
) -> None:
    """Through the engine: the rule refuses a complaint with no complainant before anything is
    written; a dak entry needs no such field; the munshi cannot record the enquiry."""
    plugins = load_plugins()
    made = init_workspace(
        tmp_path / "ws",
        plugins=plugins,
        office_type="police_outpost",
        office_code=OFFICE,
        office_name="पुलिस चौकी सिविल लाइन्स",
        admin="admin",
        admin_name="Outpost Admin",
        admin_passphrase=TEST_PASSPHRASE,
        office_passphrase=TEST_PASSPHRASE,
        database_url=qms_database_url,
    )
    runtime = Runtime.open(made.workspace, plugins)
    try:
        admin = unlock(runtime, "admin", TEST_PASSPHRASE)
        munshi = staff_member(runtime, made.office, admin, "rampal", "HC Rampal", ["munshi"])
        scan = tmp_path / "page.pdf"
        scan.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")

        def file(type_code: str, **fields: str) -> str:
            return create_document(
                runtime,
                made.office,
                actor=munshi,
                type_code=type_code,
                title="आवेदन",
                path=scan,
                fields=fields,
            ).number

        with pytest.raises(RuleViolation, match="received_on"):
            file("COMPLAINT", complainant="कमला देवी", received_on="2026/11/29")
        with pytest.raises(RuleViolation, match="complainant"):
            file("COMPLAINT", received_on="2026-11-29")
        with runtime.engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(DOCUMENT_TABLE)) == 0
        assert file("DAK").endswith("/0001")
        complaint = file("COMPLAINT", complainant="कमला देवी", received_on="2026-11-29")
        with pytest.raises(PermissionDenied, match="enquire"):  # the munshi is no approver
            take_transition(
                runtime, number=complaint, transition="enquire", actor=munshi, comment="जाँच"
            )
        assert verify_office(runtime, made.office).problems == []
    finally:
        runtime.close()
