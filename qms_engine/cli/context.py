"""What every command shares: the workspace it runs in, the acting user, and output helpers.

Every command module imports this, and so does ``qms --help``: it imports click and the
standard library only.  The engine and rich are imported where they are first used.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from rich.console import Console

    from qms_engine.chain.unit_of_work import OfficeRef
    from qms_engine.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])


# Both consoles print text literally: no markup, no emoji codes, no highlighting.  Titles, names,
# comments and file names are user text, and ``[/bold]`` or ``[link=…]`` in them must be shown
# as typed, never interpreted (a MarkupError, or a live terminal link).  Styling is done with
# rich ``Text`` objects, which carry their style beside the text, never inside it.


@functools.cache
def console() -> Console:
    """Rich console on standard output (made on first use: importing rich is not free)."""
    from rich.console import Console

    return Console(
        highlight=False, markup=False, emoji=False, width=None if sys.stdout.isatty() else 200
    )


@functools.cache
def error_console() -> Console:
    """Rich console on standard error, for progress and error messages."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def bold(text: str, rest: str = "") -> Any:
    """``text`` in bold, then ``rest``: a rich Text, both literal whatever they contain."""
    from rich.text import Text

    return Text.assemble((text, "bold"), rest)


@dataclass
class AppContext:
    """Carried through click's context: opens the workspace only when a command needs it."""

    workspace_path: Path | None = None
    office_code: str | None = None
    _runtime: Runtime | None = field(default=None, repr=False)

    @property
    def runtime(self) -> Runtime:
        """The open workspace (opened on first use, closed when the command ends)."""
        if self._runtime is None:
            from qms_engine.extension.manager import load_plugins
            from qms_engine.runtime import Runtime
            from qms_engine.storage.workspace import Workspace

            self._runtime = Runtime.open(Workspace.find(self.workspace_path), load_plugins())
            click.get_current_context().call_on_close(self._runtime.close)
        return self._runtime

    def office(self) -> OfficeRef:
        """The office chosen with --office, or the workspace's own."""
        return self.runtime.office(self.office_code)


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def read_passphrase(file: Path | None, env: str, prompt: str, *, confirm: bool = False) -> str:
    """A passphrase from a file, an environment variable, or a hidden prompt (in that order)."""
    from qms_engine.errors import InvalidInput

    if file is not None:
        try:
            return file.read_text(encoding="utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"the passphrase file {file} is not UTF-8 text",
                hint="save it as UTF-8 (plain text) and try again",
            ) from None
        except OSError as exc:
            raise InvalidInput(f"cannot read the passphrase file {file}: {exc.strerror}") from None
    if os.environ.get(env):
        return os.environ[env]
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm))
    raise click.UsageError(f"{prompt}: none given (use the --…passphrase-file option or set {env})")


_PASSPHRASE_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def signer_option(function: F) -> F:
    """``--as USER`` and their passphrase: the command receives ``signer``, the unlocked key.

    The passphrase comes from ``--passphrase-file``, ``$QMS_PASSPHRASE`` or a prompt.
    """

    @click.option(
        "--as",
        "actor",
        envvar="QMS_USER",
        required=True,
        metavar="USER",
        help="Who is acting (default: $QMS_USER); their key signs the audit event.",
    )
    @click.option(
        "--passphrase-file",
        type=_PASSPHRASE_FILE,
        envvar="QMS_PASSPHRASE_FILE",
        help="File holding the actor's key passphrase (else $QMS_PASSPHRASE or a prompt).",
    )
    @functools.wraps(function)
    def wrapper(*args: Any, actor: str, passphrase_file: Path | None, **kwargs: Any) -> Any:
        from qms_engine.people.keys import unlock

        app = click.get_current_context().ensure_object(AppContext)
        passphrase = read_passphrase(passphrase_file, "QMS_PASSPHRASE", f"Passphrase for {actor}")
        kwargs["signer"] = unlock(app.runtime, actor, passphrase)
        return function(*args, **kwargs)

    return cast(F, wrapper)


def new_passphrase_option(
    flag: str, env: str, prompt: str, dest: str = "new_passphrase"
) -> Callable[[F], F]:
    """An option for a new key's passphrase: the command receives it as ``dest``."""

    def decorate(function: F) -> F:
        @click.option(
            flag,
            f"{dest}_file",
            type=_PASSPHRASE_FILE,
            help=f"File holding the passphrase for {prompt} (else ${env} or a prompt).",
        )
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from qms_engine.chain.signing import MIN_PASSPHRASE
            from qms_engine.errors import InvalidInput

            passphrase = read_passphrase(
                kwargs.pop(f"{dest}_file"), env, f"New passphrase for {prompt}", confirm=True
            )
            if len(passphrase) < MIN_PASSPHRASE:  # a usage error (2), before anything is done
                raise InvalidInput(
                    f"the passphrase for {prompt} is too short: it needs at least "
                    f"{MIN_PASSPHRASE} characters"
                )
            kwargs[dest] = passphrase
            return function(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def default_jobs() -> int:
    """Worker processes for parallel work (signature checks, reading documents): every core."""
    return max(1, os.cpu_count() or 1)


def jobs_option(purpose: str) -> Callable[[F], F]:
    """``--jobs N`` (``-j``): worker processes for ``purpose``; every core by default."""
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(1),
        default=default_jobs(),
        show_default=True,
        help=f"Processes {purpose}.",
    )


def json_option(function: F) -> F:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)


def _plain(value: Any) -> Any:
    # Field by field rather than dataclasses.asdict, which deep-copies every value and so
    # fails on a read-only mapping (a workflow's states are a MappingProxyType).
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def print_json(value: Any) -> None:
    """Dataclasses, dates and paths as JSON (UTF-8, Devanagari kept readable)."""
    sys.stdout.write(json.dumps(_plain(value), ensure_ascii=False, indent=2) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A table for people."""
    from rich.table import Table
    from rich.text import Text

    # Cells are Text, not str: rich never reads markup in them, whatever console prints them.
    table = Table(title=Text(title), title_justify="left")
    for column in columns:
        table.add_column(Text(column))
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    console().print(table)


def when(moment: datetime | None, timezone: str) -> str:
    """A UTC instant in the office's time zone, or blank."""
    from qms_engine.clock import local_text

    return local_text(moment, timezone) if moment else ""
