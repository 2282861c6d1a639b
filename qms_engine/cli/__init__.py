"""The ``qms`` command line: parses, calls one engine function, formats the result.

Exit codes: 0 success; 1 unexpected error; 2 usage or configuration error; 3 not found;
4 permission denied; 5 a document-control rule refused the request; 6 integrity failure;
7 the database is unavailable.

Start-up is kept short: the subcommands are imported only when used (:class:`.lazy.LazyGroup`),
and the command modules import the engine, SQLAlchemy and rich inside the commands, so
``qms --help`` and every command's ``--help`` load click alone (tests/test_startup.py,
bench/bench_startup.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

import click

from qms_engine import __version__
from qms_engine.cli.context import AppContext, error_console
from qms_engine.cli.lazy import LazyGroup
from qms_engine.errors import QmsError

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

#: Every top-level command: its name → where it is defined, imported when first used.
#: Each command module lists its own in ``COMMANDS``; tests/test_startup.py checks they agree.
SUBCOMMANDS = {
    "audit": "qms_engine.cli.audit:audit",
    "db": "qms_engine.cli.offices:db",
    "demo": "qms_engine.cli.demo:demo",
    "doc": "qms_engine.cli.documents:doc",
    "inbox": "qms_engine.cli.inbox:inbox",
    "ingest": "qms_engine.cli.inbox:ingest_command",
    "init": "qms_engine.cli.offices:init",
    "key": "qms_engine.cli.keys:key",
    "log": "qms_engine.cli.audit:log",
    "office": "qms_engine.cli.offices:office",
    "plugins": "qms_engine.cli.plugins:plugins_command",
    "user": "qms_engine.cli.users:user",
    "watch": "qms_engine.cli.inbox:watch_command",
    "wf": "qms_engine.cli.workflows:wf",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="qms")
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="QMS_WORKSPACE",
    help="Workspace folder (default: $QMS_WORKSPACE, else the current folder or a parent).",
)
@click.option("--office", metavar="CODE", help="Office to work in (default: the workspace's).")
@click.pass_context
def cli(context: click.Context, workspace: Path | None, office: str | None) -> None:
    """ISO 9001:2015 document control for police stations, SP offices and collectorates.

    Start with `qms init`, or `qms demo` to see a whole SOP lifecycle.
    """
    context.obj = AppContext(workspace_path=workspace, office_code=office)


def _database_unavailable(exc: Exception) -> TypeGuard[DBAPIError]:
    """Is ``exc`` SQLAlchemy's DBAPIError?  Never imports SQLAlchemy: when no command has
    loaded it, no such error can have been raised."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    return sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.DBAPIError)


def main() -> None:
    """Entry point: turns engine errors into a message and a meaningful exit code."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        error_console().print("Aborted.")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except QmsError as exc:
        from rich.text import Text

        error_console().print(Text.assemble(("Error: ", "bold red"), str(exc)), soft_wrap=True)
        if exc.hint:
            error_console().print(Text.assemble(("Hint: ", "yellow"), exc.hint), soft_wrap=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if not _database_unavailable(exc):
            raise
        error_console().print(f"Error: the database is unavailable: {exc.orig}", soft_wrap=True)
        sys.exit(7)
