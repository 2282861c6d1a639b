"""``qms --help``, ``--version`` and every command's help start without loading the engine.

Each check runs the real entry point (``qms_engine.cli.main``) in a fresh interpreter and then
looks at ``sys.modules``: none of the heavy libraries (SQLAlchemy, Alembic, python-docx,
cryptography, SQLModel, pydantic, watchdog, pluggy and the plugins, rich) may have been
imported, nor any engine module beyond the command line itself.  Only a listing of every
command (the root help, a name that is no core command) loads the plugins, for the commands
they add (``qms malkhana``): then pluggy, the plugins and the plugin API may be loaded, but
still none of the other heavy libraries.  Times are measured by bench/bench_startup.py, not
here.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

import click
import pytest

from qms_engine import __version__
from qms_engine.cli import SUBCOMMANDS, cli

HEAVY = (
    "alembic",
    "cryptography",
    "docx",
    "mako",
    "pluggy",
    "pydantic",
    "qms_police_station",
    "rich",
    "sqlalchemy",
    "sqlmodel",
    "watchdog",
)
PLUGIN_LOADING = ("pluggy", "qms_police_station", "qms_sp_office", "qms_collectorate")
"""What listing every command may load, to ask the plugins for theirs (``qms_cli_commands``)."""
# The engine modules help and --version may load besides qms_engine.cli.*: errors (for the
# exit codes), i18n (for --lang: gettext only), clock (for the default time zone shown in
# `qms init --help`) and the words of nonconformity records (the choices `qms nc --help`
# lists: constants only).
LIGHT_ENGINE = (
    "qms_engine",
    "qms_engine.clock",
    "qms_engine.errors",
    "qms_engine.i18n",
    "qms_engine.rules",
    "qms_engine.rules.capa_terms",
)

# Runs `qms ARGS` through the real entry point for each ARGS in argv[1] (a JSON list), one after
# the other in this one interpreter, and prints for each: its exit code, what it printed (stdout
# and stderr), and which heavy libraries (top-level names) or engine modules it newly imported.
PROBE = """
import contextlib, io, json, sys
HEAVY, LIGHT = set(json.loads(sys.argv[2])), set(json.loads(sys.argv[3]))

def loaded():
    engine = {m for m in sys.modules if m.split(".")[0] == "qms_engine"}
    return {m for m in sys.modules if m.split(".")[0] in HEAVY} | {
        m for m in engine - LIGHT if not m.startswith("qms_engine.cli")
    }

before, results = loaded(), []
from qms_engine.cli import main
for args in json.loads(sys.argv[1]):
    sys.argv, code, out = ["qms", *args], 0, io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main()
        except SystemExit as exc:
            code = exc.code
    now = loaded()
    new = {m if m.startswith("qms_engine") else m.split(".")[0] for m in now - before}
    output, imported = out.getvalue(), sorted(new)
    results.append({"args": args, "exit": code, "output": output, "imported": imported})
    before = now
print(json.dumps(results))
"""


def probe(*runs: list[str]) -> list[dict[str, Any]]:
    """Run each ``qms ARGS`` of ``runs`` in one fresh interpreter: exit code, output, imports."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    done = subprocess.run(
        [sys.executable, "-P", "-c", PROBE, *map(json.dumps, (runs, HEAVY, LIGHT_ENGINE))],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])
    return results


def _walk(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path below ``group``, found the way click finds them (lazy groups too)."""
    context = click.Context(group)
    paths = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, f"`qms {' '.join((*path, name))}` is listed but not found"
        paths.append((*path, name))
        if isinstance(command, click.Group):
            paths.extend(_walk(command, (*path, name)))
    return paths


COMMAND_PATHS = _walk(cli)


def beyond_plugin_loading(imported: list[str]) -> list[str]:
    """What of ``imported`` listing every command may not load: anything heavy but pluggy
    and the plugins (engine modules are those of the plugin API, which loads no heavy one)."""
    return [
        name
        for name in imported
        if not name.startswith("qms_engine") and name.split(".")[0] not in PLUGIN_LOADING
    ]


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["--version"], 0),
        (["doc", "--help"], 0),
        (["doc"], 2),
        (["doc", "new", "--help"], 0),
        (["--lang", "hi", "doc", "new", "--help"], 0),  # translated help: gettext only
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_help_and_version_load_no_heavy_module(args: list[str], exit_code: int) -> None:
    """Alone in a fresh interpreter, --version and `doc`'s help stay light: a core command
    never loads the plugins."""
    [result] = probe(args)
    assert result["exit"] == exit_code, result
    assert result["output"].strip(), "nothing was printed"
    assert not result["imported"], f"`qms {' '.join(args)}` imported {result['imported']}"


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["--help"], 0),
        (["-h"], 0),
        ([], 2),  # help, as a usage error
        (["dco"], 2),  # "No such command"; its suggestions need every command's name
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_listing_every_command_loads_only_the_plugins(args: list[str], exit_code: int) -> None:
    """The root help (which lists the plugins' commands, `malkhana` among them) and a
    mistyped command load the plugins for their commands, and nothing heavy besides."""
    [result] = probe(args)
    assert result["exit"] == exit_code, result
    assert "malkhana" in result["output"] or "Did you mean 'doc'?" in result["output"], result
    beyond = beyond_plugin_loading(result["imported"])
    assert not beyond, f"`qms {' '.join(args)}` imported {beyond}"


def test_version_is_printed() -> None:
    """`qms --version` still answers with the package version."""
    [result] = probe(["--version"])
    assert result["output"].strip() == f"qms, version {__version__}"


def test_every_command_help_loads_no_heavy_module() -> None:
    """The --help of every core command and group, nested ones included, stays light; a
    plugin's command's help loads the plugins, and nothing heavy besides."""
    assert {("init",), ("doc", "act"), ("audit", "verify"), ("wf", "show")} <= set(COMMAND_PATHS)
    assert {("malkhana", "where"), ("malkhana", "out")} <= set(COMMAND_PATHS)
    core = [path for path in COMMAND_PATHS if path[0] in SUBCOMMANDS]
    added = [path for path in COMMAND_PATHS if path[0] not in SUBCOMMANDS]
    results = probe(*([*path, "--help"] for path in core))
    assert [r["args"][:-1] for r in results] == [list(path) for path in core]
    problems = {" ".join(r["args"]): r["imported"] for r in results if r["imported"]}
    assert not problems, f"these imported heavy or engine modules: {problems}"
    plugins = probe(*([*path, "--help"] for path in added))
    heavy = {
        " ".join(r["args"]): beyond_plugin_loading(r["imported"])
        for r in plugins
        if beyond_plugin_loading(r["imported"])
    }
    assert not heavy, f"these imported heavy modules: {heavy}"
    results += plugins
    failed = [r for r in results if r["exit"] != 0 or not r["output"].startswith("Usage: qms ")]
    assert not failed, failed


def test_lazy_map_lists_every_command_module_defines() -> None:
    """`SUBCOMMANDS` names exactly the commands the cli modules export in their `COMMANDS`."""
    exported = {}
    for where in set(SUBCOMMANDS.values()):
        module = importlib.import_module(where.partition(":")[0])
        exported.update({command.name: command for command in module.COMMANDS})
    assert set(exported) == set(SUBCOMMANDS)
    context = click.Context(cli)
    for name, command in exported.items():
        assert cli.get_command(context, name) is command, name


def test_commands_attribute_still_lists_every_command() -> None:
    """`cli.commands`, read by code that walks click groups directly, still holds them all:
    the core ones and the plugins' (`qms malkhana`)."""
    from qms_engine.extension.commands import plugin_commands

    added = plugin_commands(SUBCOMMANDS).commands
    assert "malkhana" in added
    assert set(cli.commands) == set(SUBCOMMANDS) | set(added)


def test_database_errors_are_recognised_without_importing_sqlalchemy_first() -> None:
    """`main()` maps SQLAlchemy's DBAPIError (exit 7) by looking it up in sys.modules."""
    from sqlalchemy.exc import OperationalError

    from qms_engine.cli import _database_unavailable

    assert _database_unavailable(OperationalError("SELECT 1", {}, Exception("refused")))
    assert not _database_unavailable(ValueError("not a database error"))


# What a plugin's import of the plugin API must not load: the engine's storage, signing and
# document-reading libraries (about 400 ms), which a plugin module that is merely imported
# (for `qms plugins`, or by a plugin's own tests) has no use for.
API_MUST_NOT_LOAD = ("alembic", "cryptography", "docx", "pydantic", "sqlalchemy", "sqlmodel")


def test_plugin_api_import_loads_no_database_crypto_or_docx_library() -> None:
    """`import qms_engine.api` in a fresh interpreter loads none of SQLAlchemy, Alembic,
    cryptography, python-docx, SQLModel or pydantic."""
    script = (
        "import json, sys\n"
        "import qms_engine.api\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    done = subprocess.run(
        [sys.executable, "-P", "-c", script],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert not loaded & set(API_MUST_NOT_LOAD), sorted(loaded & set(API_MUST_NOT_LOAD))
