"""The ``qms`` command line: parses, calls one engine function, formats the result.

Exit codes: 0 success; 1 unexpected error; 2 usage or configuration error; 3 not found;
4 permission denied; 5 a document-control rule refused the request; 6 integrity failure;
7 the database is unavailable; 130 interrupted (Ctrl-C).  Under ``--json`` an error is also
JSON, on stderr (README: "Exit codes").

Start-up is kept short: the subcommands are imported only when used (:class:`.lazy.LazyGroup`),
and the command modules import the engine, SQLAlchemy and rich inside the commands, so
``qms --help`` and every command's ``--help`` load click alone (tests/test_startup.py,
bench/bench_startup.py).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeGuard

import click

from qms_engine import __version__
from qms_engine.cli.context import AppContext, error_console, language_option
from qms_engine.cli.help_text import TranslatedGroup
from qms_engine.errors import QmsError
from qms_engine.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

#: Every top-level command: its name → where it is defined, imported when first used.
#: Each command module lists its own in ``COMMANDS``; tests/test_startup.py checks they agree.
SUBCOMMANDS = {
    "audit": "qms_engine.cli.audit:audit",
    "backup": "qms_engine.cli.backup:backup",
    "db": "qms_engine.cli.offices:db",
    "demo": "qms_engine.cli.demo:demo",
    "doc": "qms_engine.cli.documents:doc",
    "feedback": "qms_engine.cli.feedback:feedback",
    "inbox": "qms_engine.cli.inbox:inbox",
    "ingest": "qms_engine.cli.inbox:ingest_command",
    "init": "qms_engine.cli.offices:init",
    "internal-audit": "qms_engine.cli.internal_audits:internal_audit",
    "key": "qms_engine.cli.keys:key",
    "log": "qms_engine.cli.audit:log",
    "nc": "qms_engine.cli.nc:nc",
    "office": "qms_engine.cli.offices:office",
    "plugins": "qms_engine.cli.plugins:plugins_command",
    "restore": "qms_engine.cli.backup:restore",
    "search": "qms_engine.cli.search:search_command",
    "tasks": "qms_engine.cli.tasks:tasks_command",
    "user": "qms_engine.cli.users:user",
    "watch": "qms_engine.cli.inbox:watch_command",
    "wf": "qms_engine.cli.workflows:wf",
    # issue 13: registers, custody, services, record room, district, check
    "register": "qms_engine.cli.registers:register",
    "service": "qms_engine.cli.services:service",
    "record-room": "qms_engine.cli.record_room:record_room",
    "custody": "qms_engine.cli.custody:custody",
    "district": "qms_engine.cli.district:district",
    "check": "qms_engine.cli.check:check",
}


@click.group(
    cls=TranslatedGroup,
    lazy_commands=SUBCOMMANDS,
    plugin_commands="qms_engine.extension.commands:plugin_commands",
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
@language_option
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


def _wants_json(args: list[str]) -> bool:
    """Was ``--json`` given (before any ``--``)?  Then errors are reported as JSON too."""
    return "--json" in (args[: args.index("--")] if "--" in args else args)


def _not_utf8(args: list[str]) -> str | None:
    """The first command-line argument or QMS_* variable that is not valid UTF-8, if any.

    Python hands undecodable bytes over as lone surrogates, which would fail much later (on
    writing to the database or the terminal); they are refused here, before anything is done.
    """
    named = [(_("argument {number}").format(number=n), arg) for n, arg in enumerate(args, 1)]
    named += [(f"${name}", value) for name, value in os.environ.items() if name.startswith("QMS_")]
    for where, value in named:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return _("{where} ({text}) is not valid UTF-8").format(where=where, text=repr(shown))
    return None


def _fail(as_json: bool, message: str, hint: str | None, exit_code: int) -> NoReturn:
    """Report an error on standard error (as JSON under ``--json``) and exit with its code."""
    if as_json:
        document = {"error": message, "hint": hint, "exit_code": exit_code}
        sys.stderr.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        from rich.text import Text

        error_console().print(Text.assemble((_("Error: "), "bold red"), message), soft_wrap=True)
        if hint:
            error_console().print(Text.assemble((_("Hint: "), "yellow"), hint), soft_wrap=True)
    sys.exit(exit_code)


def main() -> None:
    """Entry point: turns engine errors into a message and a meaningful exit code.

    Under ``--json`` an error is one JSON object on standard error,
    ``{"error": MESSAGE, "hint": HINT or null, "exit_code": N}``; standard output stays empty.
    """
    args = sys.argv[1:]
    as_json = _wants_json(args)
    try:
        bad = _not_utf8(args)
        if bad:
            _fail(as_json, bad, _("give names, titles and comments as UTF-8 text"), 2)
        returned = cli.main(args, standalone_mode=False)
        if isinstance(returned, int) and returned:  # a command's ctx.exit(N)
            sys.exit(returned)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        _fail(as_json, _("Aborted."), None, 1)
    except click.ClickException as exc:
        if as_json:
            _fail(True, exc.format_message(), None, exc.exit_code)
        exc.show()
        sys.exit(exc.exit_code)
    except QmsError as exc:
        _fail(as_json, str(exc), exc.hint, exc.exit_code)
    except KeyboardInterrupt:
        _fail(as_json, _("Interrupted (Ctrl-C)."), None, 130)
    except UnicodeEncodeError as exc:  # text that did not come from a valid UTF-8 source
        message = _("text that is not valid UTF-8 cannot be used: {reason}")
        _fail(as_json, message.format(reason=exc.reason), None, 2)
    except Exception as exc:
        if not _database_unavailable(exc):
            raise
        reason = str(exc.orig)
        hint = (
            _("another qms command is writing to the database; try again when it is done")
            if "locked" in reason or "busy" in reason
            else None
        )
        _fail(as_json, _("the database is unavailable: {reason}").format(reason=reason), hint, 7)
