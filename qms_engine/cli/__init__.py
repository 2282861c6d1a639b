"""The ``qms`` command line: parses, calls one engine function, formats the result.

Exit codes: 0 success; 1 unexpected error; 2 usage or configuration error; 3 not found;
4 permission denied; 5 a document-control rule refused the request; 6 integrity failure;
7 the database is unavailable.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.text import Text
from sqlalchemy.exc import DBAPIError

from qms_engine import __version__
from qms_engine.cli import (
    audit,
    demo,
    documents,
    inbox,
    keys,
    offices,
    plugins,
    users,
    workflows,
)
from qms_engine.cli.context import AppContext, error_console
from qms_engine.errors import QmsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


for module in (offices, documents, users, keys, workflows, audit, inbox, plugins, demo):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    """Entry point: turns engine errors into a message and a meaningful exit code."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        error_console.print("Aborted.")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except QmsError as exc:
        error_console.print(Text.assemble(("Error: ", "bold red"), str(exc)), soft_wrap=True)
        if exc.hint:
            error_console.print(Text.assemble(("Hint: ", "yellow"), exc.hint), soft_wrap=True)
        sys.exit(exc.exit_code)
    except DBAPIError as exc:
        error_console.print(f"Error: the database is unavailable: {exc.orig}", soft_wrap=True)
        sys.exit(7)
