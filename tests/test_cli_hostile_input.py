"""Hostile and careless input at the command line: no traceback, documented exit codes, user
text shown literally, nothing created or overwritten by a failed command (issue 10).

Exit codes are checked on the installed ``qms`` in a subprocess (``run``), as a shell script
sees them; a few cases that need a setting changed for the test (SQLite's busy timeout) call
``main()`` in-process, which is the same entry point the console script runs.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qms_engine.cli import main
from qms_engine.storage import database
from qms_engine.testing import TEST_PASSPHRASE, TestOffice
from tests.test_cli import PASSPHRASES, QMS, invoke, run, sqlite_only

if TYPE_CHECKING:
    from tests.conftest import Desk

HOSTILE = "[/bold] [link=https://evil.example]click me[/link] [/] :smile: [red]x"


def in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str | Path
) -> tuple[int, str, str]:
    """Run ``main()`` (the console script's entry point) in-process: exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["qms", *map(str, args)])
    for name, value in PASSPHRASES.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def run_bytes(
    *args: bytes | str | Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``qms`` with raw byte arguments (not necessarily UTF-8)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    environment.update(PASSPHRASES)
    return subprocess.run(
        [str(QMS).encode(), *(a if isinstance(a, bytes) else os.fsencode(a) for a in args)],
        env=environment,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
    )


def write_config(root: Path, **keys: str) -> Path:
    """A bare workspace folder whose qms.toml holds ``keys`` (and office = "PS-TEST1")."""
    root.mkdir(parents=True, exist_ok=True)
    lines = [
        "[workspace]",
        'office = "PS-TEST1"',
        *(f"{k} = {json.dumps(v)}" for k, v in keys.items()),
    ]
    (root / "qms.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


# 1. User text is shown literally.


def test_markup_in_titles_is_shown_literally_by_doc_list_and_show(
    qms_office: TestOffice, desk: Desk
) -> None:
    """A title full of rich markup is listed and shown as typed, never interpreted or crashing."""
    number = desk.new_sop(HOSTILE)
    assert HOSTILE in invoke("-w", qms_office.root, "doc", "list")
    assert HOSTILE in invoke("-w", qms_office.root, "doc", "show", number)


def test_markup_in_a_full_name_is_shown_literally_by_user_add_and_list(
    qms_office: TestOffice,
) -> None:
    """``user add`` with a full name of markup succeeds (no crash after commit) and lists it."""
    added = run(
        "-w", qms_office.root, "user", "add", "mallory", f"--name={HOSTILE}", "--role=author",
        "--as=admin",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert HOSTILE in added.stdout
    listed = run("-w", qms_office.root, "user", "list")
    assert listed.returncode == 0, listed.stderr
    assert HOSTILE in listed.stdout
    assert "\x1b]8;" not in listed.stdout  # no terminal hyperlink


# 2. Documented exit codes instead of tracebacks.


@sqlite_only
def test_a_locked_sqlite_database_exits_7_with_a_message(
    qms_office: TestOffice,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write that outwaits SQLite's busy timeout exits 7 saying the database is locked."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(qms_office.root / "qms.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        code, _out, err = in_process(
            capsys, monkeypatch, "-w", qms_office.root, "user", "grant", "anita", "reviewer",
            "--as=admin",
        )  # fmt: skip
    finally:
        holder.close()
    assert code == 7, err
    assert "database is locked" in err
    assert "Traceback" not in err


def test_a_postgresql_url_without_its_driver_exits_2_saying_what_to_install(
    qms_office: TestOffice,
) -> None:
    """A PostgreSQL URL whose driver is not installed exits 2 with the pip command."""
    env = {**PASSPHRASES, "QMS_DATABASE_URL": "postgresql+pg8000://qms@127.0.0.1:1/qms"}
    result = run("-w", qms_office.root, "doc", "list", env=env)
    assert result.returncode == 2, result.stderr
    assert "pip install 'qms-engine[postgres]'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("url", ["nosuchdb:///x", "sqlite+nosuchdriver:///qms.sqlite3"])
def test_an_unknown_database_driver_in_qms_toml_exits_2_naming_file_and_key(
    tmp_path: Path, url: str
) -> None:
    """qms.toml naming an unknown database or driver exits 2 naming the file and the key."""
    root = write_config(tmp_path / "ws", database_url=url)
    result = run("-w", root, "doc", "list")
    assert result.returncode == 2, result.stderr
    assert "qms.toml" in result.stderr and "database_url" in result.stderr


def test_a_qms_toml_that_is_not_utf8_exits_2_naming_the_file(tmp_path: Path) -> None:
    """A qms.toml in another encoding exits 2 naming the file."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "qms.toml").write_bytes('[workspace]\noffice = "कोतवाली"\n'.encode("utf-16"))
    result = run("-w", root, "doc", "list")
    assert result.returncode == 2, result.stderr
    assert "qms.toml is not UTF-8" in result.stderr


def test_a_deeply_nested_qms_toml_exits_2_naming_the_file(tmp_path: Path) -> None:
    """A qms.toml nested beyond reason exits 2 naming the file, not with a RecursionError."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "qms.toml").write_text("a = " + "[" * 100_000, encoding="utf-8")
    result = run("-w", root, "doc", "list")
    assert result.returncode == 2, result.stderr
    assert "qms.toml: nested too deeply" in result.stderr


@pytest.mark.parametrize(
    "where",
    ["title", "as", "field", "file name"],
)
def test_arguments_that_are_not_utf8_exit_2(
    qms_office: TestOffice, make_docx: Callable[..., Path], where: str
) -> None:
    """Non-UTF-8 bytes in --title, --as, --field or a file name exit 2 with a clear message."""
    sop = os.fsencode(make_docx("sop.docx", "SOP", "Text"))
    bad = b"caf\xe9"
    args: dict[str, list[bytes | str | Path]] = {
        "title": [sop, "--type=SOP", b"--title=" + bad, "--as=anita"],
        "as": [sop, "--type=SOP", "--title=T", b"--as=" + bad],
        "field": [sop, "--type=SOP", "--title=T", "--as=anita", b"--field=case=" + bad],
        "file name": [
            os.path.dirname(sop) + b"/" + bad + b".docx",
            "--type=SOP",
            "--title=T",
            "--as=anita",
        ],
    }
    result = run_bytes("-w", qms_office.root, "doc", "new", *args[where])
    assert result.returncode == 2, result.stderr
    assert "is not valid UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_comment_that_is_not_utf8_exits_2(qms_office: TestOffice, desk: Desk) -> None:
    """Non-UTF-8 bytes in --comment exit 2."""
    number = desk.new_sop()
    result = run_bytes("-w", qms_office.root, "doc", "act", number, "submit", b"--comment=\xff")
    assert result.returncode == 2, result.stderr
    assert "is not valid UTF-8" in result.stderr


def test_a_passphrase_file_that_is_not_utf8_exits_2(qms_office: TestOffice, tmp_path: Path) -> None:
    """A passphrase file that is not UTF-8 text exits 2 naming it."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"\xff\xfe" + TEST_PASSPHRASE.encode("utf-16-le"))
    result = run(
        "-w", qms_office.root, "user", "grant", "anita", "reviewer", "--as=admin",
        f"--passphrase-file={secret}", env={},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "secret.txt is not UTF-8" in result.stderr


def test_ctrl_c_stops_qms_watch_with_exit_130_and_no_traceback(qms_office: TestOffice) -> None:
    """Ctrl-C (SIGINT) on ``qms watch`` stops it: exit 130, a short line, no traceback."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    environment.update(PASSPHRASES)
    watcher = subprocess.Popen(
        [str(QMS), "-w", str(qms_office.root), "watch", "--as=ramesh", "--jobs=1", "--poll"],
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert watcher.stderr is not None
    seen = b""
    try:
        deadline = time.monotonic() + 60  # a bound on a hang only; no assertion depends on time
        while b"Watching" not in seen and watcher.poll() is None and time.monotonic() < deadline:
            if select.select([watcher.stderr], [], [], 1)[0]:
                seen += os.read(watcher.stderr.fileno(), 4096)
        assert b"Watching" in seen, seen
        watcher.send_signal(signal.SIGINT)
        _out, rest = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    err = (seen + rest).decode("utf-8", "replace")
    assert watcher.returncode == 130, err
    assert "Stopped (Ctrl-C)" in err
    assert "Traceback" not in err


# 3. qms demo honours $QMS_DATABASE_URL.


def test_demo_honours_qms_database_url(tmp_path: Path) -> None:
    """``qms demo`` builds its database where $QMS_DATABASE_URL says, and works on it."""
    env = {**PASSPHRASES, "QMS_DATABASE_URL": "sqlite:///demo-db.sqlite3"}
    result = run("demo", tmp_path / "demo", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "demo-db.sqlite3").is_file()
    assert not (tmp_path / "demo" / "qms.sqlite3").exists()
    assert "superseded" in result.stdout


def test_demo_takes_database_url_as_init_does(tmp_path: Path) -> None:
    """``qms demo --database-url`` is accepted like ``qms init --database-url``."""
    out = invoke("demo", tmp_path / "demo", "--database-url=sqlite:///other.sqlite3")
    assert "superseded" in out
    assert (tmp_path / "demo" / "other.sqlite3").is_file()


# 4. Failures leave nothing behind.


def test_a_failed_init_leaves_no_half_made_folder(tmp_path: Path) -> None:
    """An init refused after its database was made removes the folder it created."""
    result = run(
        "init", tmp_path / "ws", "--office-type=police_station", "--office-code=PS-X1",
        "--office-name=X", "--admin=Not A Login",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert not (tmp_path / "ws").exists()


def test_a_failed_init_in_an_existing_folder_removes_only_what_it_made(tmp_path: Path) -> None:
    """A failed init in an existing folder removes its database and blob store, nothing else."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "notes.txt").write_text("mine", encoding="utf-8")
    result = run(
        "init", root, "--office-type=police_station", "--office-code=PS-X1", "--office-name=X",
        "--admin=Not A Login",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]


def test_a_read_command_on_a_missing_sqlite_file_refuses_without_creating_it(
    tmp_path: Path,
) -> None:
    """A workspace whose SQLite file is missing is refused (exit 2 naming it), not recreated."""
    root = write_config(tmp_path / "ws", database_url="sqlite:///missing.sqlite3")
    result = run("-w", root, "doc", "list")
    assert result.returncode == 2, result.stderr
    assert "missing.sqlite3 does not exist" in result.stderr
    assert not (root / "missing.sqlite3").exists()


def test_a_blob_store_at_the_filesystem_root_is_refused(tmp_path: Path) -> None:
    """``blob_store = "/"`` is refused naming qms.toml and the key; nothing is made at /."""
    existed = Path("/objects").exists()
    root = write_config(tmp_path / "ws", blob_store="/")
    result = run("-w", root, "doc", "list")
    assert result.returncode == 2, result.stderr
    assert "qms.toml: workspace.blob_store" in result.stderr
    assert Path("/objects").exists() == existed


def test_doc_get_into_a_missing_folder_exits_2_and_makes_no_folder(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """``doc get -o`` into a folder that does not exist exits 2 and creates nothing."""
    number = desk.new_sop()
    result = run("-w", qms_office.root, "doc", "get", number, "-o", tmp_path / "no" / "dir" / "x")
    assert result.returncode == 2, result.stderr
    assert "does not exist" in result.stderr
    assert not (tmp_path / "no").exists()


def test_doc_get_never_overwrites_without_force(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """``doc get -o`` onto an existing file exits 2 and leaves it; ``--force`` replaces it."""
    number = desk.new_sop()
    out = tmp_path / "kept.docx"
    out.write_bytes(b"precious")
    result = run("-w", qms_office.root, "doc", "get", number, "-o", out)
    assert result.returncode == 2, result.stderr
    assert "--force" in result.stderr
    assert out.read_bytes() == b"precious"
    invoke("-w", qms_office.root, "doc", "get", number, "--rev=0", "-o", out, "--force")
    assert out.read_bytes() != b"precious"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_doc_get_into_an_unwritable_folder_exits_2(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """``doc get -o`` into a folder the user may not write exits 2 without a traceback."""
    number = desk.new_sop()
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        result = run("-w", qms_office.root, "doc", "get", number, "-o", locked / "x.docx")
    finally:
        locked.chmod(0o700)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


# 6. Look-alike user names.


@pytest.mark.parametrize("name", ["аnita", "Anita", "ａnita", "anita\n", "1anita", "an ita"])
def test_look_alike_user_names_are_refused(qms_office: TestOffice, name: str) -> None:
    """Cyrillic, capitalised or full-width look-alikes of a login name are refused (exit 2)."""
    result = run(
        "-w", qms_office.root, "user", "add", name, "--name=आनिता", "--role=author", "--as=admin"
    )
    assert result.returncode == 2, result.stderr
    assert "lowercase ASCII" in result.stderr


def test_a_login_name_with_dots_and_a_full_name_in_any_script_is_accepted(
    qms_office: TestOffice,
) -> None:
    """A conventional login name is accepted with a full name in Devanagari."""
    invoke(
        "-w", qms_office.root, "user", "add", "r.k_singh-2", "--name=राम कुमार सिंह",
        "--role=author", "--as=admin",
    )  # fmt: skip
    names = [
        u["username"] for u in json.loads(invoke("-w", qms_office.root, "user", "list", "--json"))
    ]
    assert "r.k_singh-2" in names


# 7. Consistent exit codes, and errors as JSON under --json.


def test_a_too_short_new_passphrase_exits_2(qms_office: TestOffice) -> None:
    """A new passphrase shorter than the minimum is a usage error (exit 2)."""
    env = {**PASSPHRASES, "QMS_NEW_PASSPHRASE": "short"}
    result = run("-w", qms_office.root, "key", "rotate", "anita", "--as=anita", env=env)
    assert result.returncode == 2, result.stderr
    assert "too short" in result.stderr


def test_a_malformed_checkpoint_code_exits_2(qms_office: TestOffice) -> None:
    """A checkpoint code that is not one is a usage error (exit 2)."""
    result = run("-w", qms_office.root, "audit", "verify", "--jobs=1", "--code=garbage")
    assert result.returncode == 2, result.stderr
    assert "is not a checkpoint code" in result.stderr


def test_no_such_revision_exits_3_in_act_and_get(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """A revision that does not exist is "not found" (3) for ``doc act`` and ``doc get``."""
    number = desk.new_sop()
    acted = run("-w", qms_office.root, "doc", "act", number, "submit", "--rev=5", "--as=anita")
    assert acted.returncode == 3, acted.stderr
    got = run("-w", qms_office.root, "doc", "get", number, "--rev=7", "-o", tmp_path / "x")
    assert got.returncode == 3, got.stderr


def test_acting_as_an_unknown_user_exits_3(qms_office: TestOffice, desk: Desk) -> None:
    """``--as nobody`` is "no such user" (3), not a key problem (4)."""
    number = desk.new_sop()
    result = run("-w", qms_office.root, "doc", "act", number, "submit", "--as=nobody")
    assert result.returncode == 3, result.stderr
    assert "no user 'nobody'" in result.stderr


def test_errors_under_json_are_json_on_stderr(qms_office: TestOffice) -> None:
    """Under ``--json`` an error is one JSON object on stderr (error, hint, exit_code)."""
    result = run("-w", qms_office.root, "doc", "show", "PS-TEST1/SOP/999", "--json")
    assert result.returncode == 3
    assert result.stdout == ""
    error = json.loads(result.stderr)
    assert error["exit_code"] == 3
    assert "PS-TEST1/SOP/999" in error["error"]
    assert set(error) == {"error", "hint", "exit_code"}


def test_usage_errors_under_json_are_json_too(qms_office: TestOffice) -> None:
    """A click usage error under ``--json`` is reported as JSON with exit code 2."""
    result = run("-w", qms_office.root, "doc", "list", "--json", "--kind=nonsense")
    assert result.returncode == 2
    assert json.loads(result.stderr)["exit_code"] == 2
