"""The documentation keeps up with the code: hooks, commands, set-up and CI commands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from qms_engine.cli import cli
from qms_engine.extension import hookspecs

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PLUGINS_DOC = ROOT / "docs" / "plugins.md"
CI_RUN = ROOT / ".ci" / "run"

RUN_DEMO = "python3 -m venv .venv && . .venv/bin/activate && pip install . && qms demo qms-demo"
INSTALL_AND_TEST = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' "
    "&& python -m pytest -q"
)


def _hook_names() -> list[str]:
    return sorted(
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, "qms_engine_spec")
    )


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield " ".join((*path, name)), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


HOOKS = _hook_names()
COMMANDS = dict(_commands(cli))


def test_hookspecs_are_found() -> None:
    """The hookspec scan finds the hooks, so the per-hook tests below are not vacuous."""
    assert "qms_register_types" in HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_docstring(name: str) -> None:
    """Every hookspec says when it is called, its parameters and its return value."""
    docstring = getattr(hookspecs, name).__doc__ or ""
    assert docstring.strip(), f"{name} has no docstring"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_section_in_plugins_doc(name: str) -> None:
    """Every hookspec has a `## name(` section in docs/plugins.md."""
    text = PLUGINS_DOC.read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(name)}\(", text, re.MULTILINE), (
        f"docs/plugins.md has no '## {name}(' section"
    )


def test_plugins_doc_documents_only_real_hooks() -> None:
    """Every `## qms_…(` section in docs/plugins.md names a hook that exists."""
    text = PLUGINS_DOC.read_text(encoding="utf-8")
    documented = re.findall(r"^## (qms_\w+)\(", text, re.MULTILINE)
    assert sorted(documented) == HOOKS


def test_commands_are_found() -> None:
    """The walk of the click group reaches nested commands such as `doc act`."""
    assert {"init", "doc act", "audit verify", "wf show"} <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_command_has_help_text(path: str) -> None:
    """Every `qms` command and group, nested ones included, explains itself in --help."""
    command = COMMANDS[path]
    assert (command.help or command.short_help or "").strip(), f"`qms {path}` has no help text"


@pytest.mark.parametrize("line", [RUN_DEMO, INSTALL_AND_TEST], ids=["run-demo", "run-tests"])
def test_readme_has_setup_command(line: str) -> None:
    """The README gives each set-up command verbatim, as one copy-pasteable line."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert line in lines


def test_ci_runs_the_readme_test_command() -> None:
    """`.ci/run` runs the tests with exactly the command the README gives."""
    test_command = INSTALL_AND_TEST.rsplit(" && ", 1)[1]
    ci_lines = [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]
    runs = [line for line in ci_lines if line.startswith("python -m pytest")]
    assert runs, ".ci/run never runs python -m pytest"
    assert all(line.split(" ||")[0] == test_command for line in runs), runs


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_readme_tour_shows_every_command(name: str) -> None:
    """Each top-level command appears in the README as a command a reader can type."""
    text = README.read_text(encoding="utf-8")
    assert re.search(rf"^qms (-\S+ \S+ )*{re.escape(name)}\b", text, re.MULTILINE), (
        f"README.md shows no `qms {name}` line"
    )
