"""What every command shares: the workspace it runs in, the acting user, and output helpers.

Every command module imports this, and so does ``qms --help``: it imports click and the
standard library only.  The engine and rich are imported where they are first used.
"""

from __future__ import annotations

import calendar
import functools
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

import click

from qms_engine.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, set_language

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from qms_engine.chain.unit_of_work import OfficeRef
    from qms_engine.cli.tables import Column
    from qms_engine.runtime import Runtime
    from qms_engine.storage.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


# Both consoles print text literally: no markup, no emoji codes, no highlighting.  Titles, names,
# comments and file names are user text, and ``[/bold]`` or ``[link=…]`` in them must be shown
# as typed, never interpreted (a MarkupError, or a live terminal link).  Styling is done with
# rich ``Text`` objects, which carry their style beside the text, never inside it.


FILE_WIDTH = 200
"""Columns for output to a file or a pipe when ``$COLUMNS`` is not set: rows stay whole lines."""


def output_width() -> int:
    """Columns to format standard output for: ``$COLUMNS`` if set (a terminal or not), else
    the terminal's width, else :data:`FILE_WIDTH`."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return FILE_WIDTH


@functools.cache
def _stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, markup=False, emoji=False)


def console() -> Console:
    """Rich console on standard output (made on first use: importing rich is not free), as
    wide as :func:`output_width` says at each use."""
    stdout = _stdout_console()
    stdout.width = output_width()
    return stdout


@functools.cache
def error_console() -> Console:
    """Rich console on standard error, for progress and error messages."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def progress_bars() -> Progress:
    """Progress bars on standard error, drawn in a terminal only and gone once the work is
    done; each bar is labelled with its task's description, as literal text.  Use it as a
    context manager and add a task per bar."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=error_console(),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


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

            self._runtime = Runtime.open(self.workspace(), load_plugins())
            click.get_current_context().call_on_close(self._runtime.close)
        return self._runtime

    def workspace(self) -> Workspace:
        """The workspace (--workspace, $QMS_WORKSPACE or the folders above); from now on the
        command speaks its office's language, unless --lang chose one."""
        from qms_engine.storage.workspace import Workspace

        workspace = Workspace.find(self.workspace_path)
        if _LANGUAGE_CHOSEN not in click.get_current_context().meta:
            set_language(workspace.language)
        return workspace

    def office(self) -> OfficeRef:
        """The office chosen with --office, or the workspace's own."""
        return self.runtime.office(self.office_code)


pass_app = click.make_pass_decorator(AppContext, ensure=True)


@dataclass(frozen=True)
class Passphrase:
    """A passphrase as given, which one it is and where it came from: every message about it
    names the passphrase (the actor's, a new user's, the admin's, the office key's …) and how
    to give it."""

    text: str = field(repr=False)
    what: str
    """Which passphrase: "the actor's passphrase (asharma)", "the office key's passphrase" …"""
    origin: str
    """Where it was read: "the file F", "$QMS_PASSPHRASE" or "the prompt"."""
    how: str
    """How to give it: "--passphrase-file FILE or $QMS_PASSPHRASE"."""

    @contextmanager
    def blamed(self) -> Iterator[None]:
        """A wrong passphrase inside says which one it was, where it was read and how to give
        the right one."""
        from qms_engine.chain.signing import WrongPassphrase

        try:
            yield
        except WrongPassphrase as exc:
            raise WrongPassphrase(
                _("{error}: {what}, read from {origin}").format(
                    error=exc, what=self.what, origin=self.origin
                ),
                hint=_("give it with {how}; nothing was written").format(how=self.how),
            ) from None

    def check_new(self) -> None:
        """Refuse a new passphrase that breaks the rules (a usage error, exit 2)."""
        from qms_engine.chain.signing import check_passphrase

        check_passphrase(self.text, self.what, hint=_("give it with {how}").format(how=self.how))


def read_passphrase(
    file: Path | None, *, what: str, option: str, env: str, confirm: bool = False
) -> Passphrase:
    """``what`` from ``option``'s file, the environment variable ``env`` or a hidden prompt (in
    that order); a file's final line break is not part of it."""
    from qms_engine.errors import InvalidInput

    how = _("{option} FILE or ${env}").format(option=option, env=env)
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise InvalidInput(
                _("{what}: the file {file} is not UTF-8 text").format(what=what, file=file),
                hint=_("save it as UTF-8 (plain text) and try again"),
            ) from None
        except OSError as exc:
            raise InvalidInput(
                _("{what}: cannot read the file {file}: {reason}").format(
                    what=what, file=file, reason=exc.strerror
                )
            ) from None
        if not text:
            raise InvalidInput(
                _("{what}: the file {file} is empty").format(what=what, file=file),
                hint=_("give it with {how}").format(how=how),
            )
        return Passphrase(text, what, _("the file {file}").format(file=file), how)
    if os.environ.get(env):
        return Passphrase(os.environ[env], what, f"${env}", how)
    if sys.stdin.isatty():
        prompt = what[:1].upper() + what[1:]
        text = str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm))
        return Passphrase(text, what, _("the prompt"), how)
    raise click.UsageError(
        _("{what} is needed and none was given (no terminal to ask): use {how}").format(
            what=what, how=how
        )
    )


_PASSPHRASE_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


SIGNING_ACTOR = "Who is acting (default: $QMS_USER); their key signs the audit event."
"""The help of ``--as`` for a command that writes a signed event."""


def actor_passphrase_option(function: F, as_help: str = SIGNING_ACTOR) -> F:
    """``--as USER`` and their passphrase, read but not used: the command receives ``actor``
    (the user name) and ``passphrase`` (a :class:`Passphrase`).

    The passphrase comes from ``--passphrase-file``, ``$QMS_PASSPHRASE`` or a prompt.
    ``as_help``: what ``--as`` means for the command (see :func:`as_meaning`).
    """

    @click.option(
        "--as",
        "actor",
        envvar="QMS_USER",
        required=True,
        metavar="USER",
        help=as_help,
    )
    @click.option(
        "--passphrase-file",
        type=_PASSPHRASE_FILE,
        envvar="QMS_PASSPHRASE_FILE",
        help="File holding the actor's own key passphrase, e.g. ~/.qms/USER.pass (else "
        "$QMS_PASSPHRASE or a prompt). When the actor changes, so does the passphrase.",
    )
    @functools.wraps(function)
    def wrapper(*args: Any, passphrase_file: Path | None, **kwargs: Any) -> Any:
        kwargs["passphrase"] = read_passphrase(
            passphrase_file,
            what=_("the actor's passphrase ({actor})").format(actor=kwargs["actor"]),
            option="--passphrase-file",
            env="QMS_PASSPHRASE",
        )
        return function(*args, **kwargs)

    return cast(F, wrapper)


def signer_option(function: F, as_help: str = SIGNING_ACTOR) -> F:
    """``--as USER`` and their passphrase: the command receives ``signer``, the unlocked key.

    The passphrase comes from ``--passphrase-file``, ``$QMS_PASSPHRASE`` or a prompt.
    ``as_help``: what ``--as`` means for the command (see :func:`as_meaning`).
    """

    @functools.wraps(function)
    def wrapper(*args: Any, actor: str, passphrase: Passphrase, **kwargs: Any) -> Any:
        from qms_engine.people.keys import unlock

        app = click.get_current_context().ensure_object(AppContext)
        with passphrase.blamed():
            kwargs["signer"] = unlock(app.runtime, actor, passphrase.text)
        return function(*args, **kwargs)

    return actor_passphrase_option(cast(F, wrapper), as_help)


def office_passphrase_option(function: F) -> F:
    """``--office-passphrase-file``: the current office key's passphrase, read (after the
    actor's) but not used; the command receives ``office_passphrase`` (a :class:`Passphrase`).

    It comes from ``--office-passphrase-file``, ``$QMS_OFFICE_PASSPHRASE`` or a prompt.
    """

    @click.option(
        "--office-passphrase-file",
        type=_PASSPHRASE_FILE,
        help="File with the office key's passphrase (else $QMS_OFFICE_PASSPHRASE or a prompt).",
    )
    @functools.wraps(function)
    def wrapper(*args: Any, office_passphrase_file: Path | None, **kwargs: Any) -> Any:
        office = click.get_current_context().ensure_object(AppContext).office()
        kwargs["office_passphrase"] = read_passphrase(
            office_passphrase_file,
            what=_("the office key's passphrase ({code})").format(code=office.code),
            option="--office-passphrase-file",
            env="QMS_OFFICE_PASSPHRASE",
        )
        return function(*args, **kwargs)

    return cast(F, wrapper)


def as_meaning(option: Callable[[F, str], F], as_help: str) -> Callable[[F], F]:
    """``option`` (:func:`signer_option` or :func:`actor_passphrase_option`) with its own help
    for ``--as``: for a command that signs nothing, say what the key proves there instead."""
    return lambda function: option(function, as_help)


def reader_option(function: F) -> F:
    """``--as USER`` for a command that only reads on someone's behalf: the command receives
    ``username``.  Nothing is signed, so no passphrase is asked for."""
    return click.option(
        "--as",
        "username",
        envvar="QMS_USER",
        required=True,
        metavar="USER",
        help="Whose view (default: $QMS_USER); nothing is signed, so no passphrase is needed.",
    )(function)


def new_passphrase_option(
    flag: str, env: str, key: str, dest: str = "new_passphrase"
) -> Callable[[F], F]:
    """An option for the passphrase of a new key (or a new passphrase for ``key``): the
    command receives it as ``dest``, already checked against the rules."""

    def decorate(function: F) -> F:
        @click.option(
            flag,
            f"{dest}_file",
            type=_PASSPHRASE_FILE,
            help=f"File holding the new passphrase for {key} (else ${env} or a prompt); at "
            "least 8 characters, no space at either end.",
        )
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            passphrase = read_passphrase(
                kwargs.pop(f"{dest}_file"),
                what=_("the new passphrase for {key}").format(key=_(key)),
                option=flag,
                env=env,
                confirm=True,
            )
            passphrase.check_new()  # a usage error (2), before anything is done
            kwargs[dest] = passphrase.text
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


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _unreal_day(text: str) -> str | None:
    """Why ``YYYY-MM-DD`` ``text`` is not a day of the calendar (``2026-02-30``: "February
    2026 has 28 days"), or None if it is one."""
    year, month, day = (int(part) for part in text.split("-"))
    if year < 1:
        return _("the calendar starts with year 1")
    if not 1 <= month <= 12:
        return _("there is no month {month}").format(month=month)
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return _("{month} {year} has {days} days").format(
            month=calendar.month_name[month], year=year, days=days
        )
    return None


def _bad_day(value: str, ctx: click.Context | None, param: click.Parameter | None) -> None:
    """A usage error for ``value`` if it starts with a ``YYYY-MM-DD`` that is no real day."""
    text = value.strip()
    head = text[:10]
    if _DAY.fullmatch(head) and (why := _unreal_day(head)):
        message = _("{day} is not a real date (YYYY-MM-DD): {why}")
        raise click.BadParameter(message.format(day=repr(head), why=why), ctx, param)


def day_only(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> date | None:
    """An option's callback: a day, ``YYYY-MM-DD`` (the engine reads it in the office's time
    zone); a usage error naming the option otherwise, saying if it is no real date."""
    if value is None:
        return None
    text = value.strip()
    if _DAY.fullmatch(text):
        _bad_day(text, ctx, param)
        return date.fromisoformat(text)
    raise click.BadParameter(
        _("{value} is not a day: give YYYY-MM-DD, e.g. 2026-11-24").format(value=repr(value)),
        ctx,
        param,
    )


def day_or_moment(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> date | datetime | None:
    """An option's callback: a day, ``YYYY-MM-DD`` (the engine reads it in the office's time
    zone), or an ISO 8601 timestamp, ``2026-11-24T10:30`` (the office's zone) or
    ``2026-11-24T10:30+05:30``; a usage error naming the option otherwise, saying if it is no
    real date."""
    if value is None:
        return None
    text = value.strip()
    _bad_day(text, ctx, param)
    try:
        if _DAY.fullmatch(text):
            return date.fromisoformat(text)
        if "T" in text or " " in text:
            return datetime.fromisoformat(text)
    except ValueError:
        pass
    raise click.BadParameter(
        _(
            "{value} is neither a day (YYYY-MM-DD, e.g. 2026-11-24) nor an ISO timestamp "
            "(e.g. 2026-11-24T10:30 or 2026-11-24T10:30+05:30)"
        ).format(value=repr(value)),
        ctx,
        param,
    )


def filters_given(**values: object) -> str:
    """The filter options given, as typed (``--type SOP --state draft``), for the sentence an
    empty result prints; "" when none was."""
    return " ".join(
        f"--{name.replace('_', '-')} {value}" for name, value in values.items() if value is not None
    )


_LANGUAGE_CHOSEN = "qms.language_chosen"
LANGUAGE_VARIABLE = "QMS_LANG"
"""The environment variable ``--lang`` is read from when not given."""


def language_chosen(context: click.Context) -> bool:
    """Has ``--lang`` (or $QMS_LANG) chosen the language of this command yet?"""
    return _LANGUAGE_CHOSEN in context.meta


def _choose_language(
    context: click.Context, _parameter: click.Parameter, value: str | None
) -> None:
    """Speak ``value`` from now on; when not given, English until the workspace's
    ``[office] language`` is read (a subcommand's own ``--lang`` left out keeps the root's)."""
    if value is not None:
        set_language(value)
        context.meta[_LANGUAGE_CHOSEN] = value
    elif _LANGUAGE_CHOSEN not in context.meta:
        set_language(DEFAULT_LANGUAGE)


def language_option(function: F) -> F:
    """``--lang``: the language of every message, chosen before a subcommand is loaded."""
    return click.option(
        "--lang",
        type=click.Choice(sorted(LANGUAGES)),
        envvar=LANGUAGE_VARIABLE,
        is_eager=True,
        expose_value=False,
        callback=_choose_language,
        help="Language of messages: en (English) or hi (हिन्दी) "
        "(default: $QMS_LANG, else the office's [office] language in qms.toml, else en).",
    )(function)


def json_option(function: F) -> F:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)


def _to_stdout(output: Path) -> bool:
    """Whether ``-o`` names standard output (``-o -``)."""
    return str(output) == "-"


def write_output(
    output: Path,
    as_json: bool,
    *,
    to_file: Callable[[Path], R],
    to_stream: Callable[[BinaryIO], R],
) -> R:
    """Hand a stored file out where ``-o`` says: to a file (``to_file``), or with ``-o -`` to
    standard output (``to_stream``, where --json has no room); a place that cannot be written
    is bad input naming it.  Say what was written with :func:`say_written`."""
    if _to_stdout(output) and as_json:
        raise click.UsageError(
            _("-o - writes the file to standard output: --json has no room there")
        )
    from qms_engine.errors import InvalidInput

    try:
        return to_stream(sys.stdout.buffer) if _to_stdout(output) else to_file(output)
    except OSError as exc:
        raise InvalidInput(
            _("-o {output}: cannot write there: {reason}").format(
                output=output, reason=exc.strerror
            )
        ) from None


def output_options(function: F) -> F:
    """``-o/--output FILE`` (``-``: standard output) and ``--force``: where a command hands a
    stored file out (:func:`write_output`)."""
    function = click.option(
        "--force", is_flag=True, help="Overwrite the output file if it exists."
    )(function)
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        help="Where to write the file (its folder must exist); - for standard output.",
    )(function)


def say_written(output: Path, what: str) -> None:
    """Say what :func:`write_output` wrote and where: on standard error when the file itself
    went to standard output (``what`` is user text: its control characters are shown as �)."""
    from qms_engine.cli.tables import clean_text

    where = _("standard output") if _to_stdout(output) else str(output)
    say = error_console() if _to_stdout(output) else console()
    say.print(clean_text(f"{where}: {what}"), soft_wrap=True)


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


def print_table(
    title: str,
    columns: Sequence[str | Column],
    rows: Iterable[Sequence[object]],
    *,
    empty: str | None = None,
    below: Sequence[Sequence[str]] = (),
) -> None:
    """A table for people, fitted to :func:`output_width` (see :mod:`.tables`), with the lines
    ``below[i]`` under row ``i``; with no rows, the sentence ``empty`` (default: "<title>:
    none.") instead."""
    from rich.text import Text

    from qms_engine.cli.tables import render_table, wrap

    rows = list(rows)
    width = output_width()
    if not rows:
        console().print(Text(empty or _("{title}: none.").format(title=title)), soft_wrap=True)
        return
    lines = render_table(columns, rows, width, below=below)
    # Text, never markup; soft_wrap: the lines are laid out already, rich neither wraps nor crops.
    heading = "\n".join(wrap(title, width, fold=True))
    console().print(Text.assemble((heading, "bold"), "\n", "\n".join(lines)), soft_wrap=True)


def when(moment: datetime | None, timezone: str) -> str:
    """A UTC instant in the office's time zone, or blank."""
    from qms_engine.clock import local_text

    return local_text(moment, timezone) if moment else ""
