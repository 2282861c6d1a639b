"""The ``--help`` of every command in the language chosen with ``--lang`` or ``$QMS_LANG``.

Click takes a command's help from its docstring, which Babel cannot extract, and shows it long
after the command module was imported.  So the English texts stay where they are written, and
:class:`TranslatedGroup` (the root group) puts each command's help, short help and option helps
into the current language whenever it resolves the command (plugin commands too, nested
subcommands with it), and its own when it shows its help.  The English originals are kept
aside, so a later resolution in another language translates them again.

A help text is translated paragraph by paragraph, as click shows it (``inspect.cleandoc``, cut
at ``\\f``, the lines of a paragraph joined, since click rewraps them): a paragraph marked
``\\b`` (shown as typed: the examples) stays as it is.  tests/catalog.py extracts the same
paragraphs (:func:`help_messages`) into the catalog.  Click's own words (``Usage:``,
``Options:``, ``[required]``, its errors) stay English: click looks them up in its own gettext
domain, which is not ours; its ``--help`` and ``--version`` option texts are translated here.

``--help`` follows ``--lang`` and ``$QMS_LANG`` only, never a workspace's ``qms.toml``: help
must not look for a workspace (nor fail on a broken one).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any
from weakref import WeakKeyDictionary

import click

from qms_engine.cli.context import LANGUAGE_VARIABLE, language_chosen
from qms_engine.cli.lazy import LazyGroup
from qms_engine.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, set_language

COMMAND_TEXTS = ("help", "short_help", "epilog")
"""The attributes of a command click shows in help; an option's is ``help``."""
_BLANK_LINE = re.compile(r"\n[ \t]*\n")

_ENGLISH: WeakKeyDictionary[click.Command | click.Parameter, dict[str, str | None]]
_ENGLISH = WeakKeyDictionary()
"""Each translated command's and option's help texts as written (English)."""


class TranslatedGroup(LazyGroup):
    """A :class:`LazyGroup` whose commands, and itself, show their help in the language
    spoken when they are resolved or shown."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand ``cmd_name`` (see :meth:`LazyGroup.get_command`), its help texts and
        its subcommands' in the current language."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            translate_help(command, _help_names(self, ctx.help_option_names))
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Show this group's help (and its listing) in the language --lang or $QMS_LANG
        chose: click shows ``qms --help`` and a bare ``qms`` before processing --lang."""
        if not language_chosen(ctx):
            wanted = os.environ.get(LANGUAGE_VARIABLE, "")
            set_language(wanted if wanted in LANGUAGES else DEFAULT_LANGUAGE)
        _translate_own(self, ctx.help_option_names)
        super().format_help(ctx, formatter)


def translate_help(command: click.Command, help_names: Sequence[str]) -> None:
    """Put ``command``'s help texts, its options' (``--help`` too: ``help_names`` are its
    parent's names for it) and its subcommands' (nested ones too) into the current language."""
    help_names = _help_names(command, help_names)
    _translate_own(command, help_names)
    for subcommand in _subcommands(command, help_names):
        translate_help(subcommand, help_names)


def _translate_own(command: click.Command, help_names: Sequence[str]) -> None:
    for item in _help_items(command, help_names):
        for name, text in _english(item).items():
            setattr(item, name, translated(text) if text else text)


def _help_names(command: click.Command, inherited: Sequence[str]) -> list[str]:
    """The names of ``command``'s help option: its own context settings', else its parent's
    (``inherited``), as click decides; never those of a context some caller made up, since
    click creates the help option once per command."""
    return list(command.context_settings.get("help_option_names", inherited))


def _help_items(
    command: click.Command, help_names: Sequence[str]
) -> list[click.Command | click.Parameter]:
    """``command``, its parameters and its help option (named ``help_names``)."""
    context = click.Context(command, info_name=command.name, help_option_names=list(help_names))
    help_option = command.get_help_option(context)
    return [command, *command.params, *([help_option] if help_option else [])]


def _english(item: click.Command | click.Parameter) -> dict[str, str | None]:
    """The help texts of ``item`` as written, kept aside the first time they are asked for."""
    names = COMMAND_TEXTS if isinstance(item, click.Command) else ("help",)
    return _ENGLISH.setdefault(item, {name: getattr(item, name, None) for name in names})


def translated(text: str) -> str:
    """``text`` as click shows it, each paragraph in the current language."""
    return "\n\n".join(
        paragraph if verbatim else _(paragraph) for paragraph, verbatim in _paragraphs(text)
    )


def _paragraphs(text: str) -> Iterator[tuple[str, bool]]:
    """The paragraphs of help ``text`` as click shows them, each with whether click shows it
    as typed (``\\b``): its lines are kept; the others' are joined as click joins them."""
    for paragraph in _BLANK_LINE.split(inspect.cleandoc(text).partition("\f")[0]):
        if paragraph.startswith("\b"):
            yield paragraph, True
        elif paragraph.strip():
            yield " ".join(line.strip() for line in paragraph.strip().splitlines()), False


def help_messages(
    command: click.Command, help_names: Sequence[str] = ("--help",)
) -> Iterator[tuple[str, str, int]]:
    """Every help paragraph to translate of ``command``, its options (``--help`` too: named
    as for :func:`translate_help`) and its subcommands (loading lazy ones), each with where the
    command is defined (file, line): the msgids tests/catalog.py adds to the catalog (from the
    English texts, translated or not)."""
    help_names = _help_names(command, help_names)
    where = _definition(command)
    items = _help_items(command, help_names)
    for text in (text for item in items for text in _english(item).values()):
        for paragraph, verbatim in _paragraphs(text or ""):
            if not verbatim:
                yield paragraph, *where
    for subcommand in _subcommands(command, help_names):
        yield from help_messages(subcommand, help_names)


def _subcommands(command: click.Command, help_names: Sequence[str]) -> Iterator[click.Command]:
    """The subcommands of ``command`` (none unless a group), found as click finds them (a
    group may load its commands lazily)."""
    if not isinstance(command, click.Group):
        return
    context = click.Context(command, info_name=command.name, help_option_names=list(help_names))
    for name in command.list_commands(context):
        subcommand = command.get_command(context, name)
        if subcommand is not None:
            yield subcommand


def _definition(command: click.Command) -> tuple[str, int]:
    """The file and line of ``command``'s function (unwrapped), or ("", 0)."""
    function: Any = inspect.unwrap(command.callback) if command.callback else None
    try:
        return inspect.getsourcefile(function) or "", inspect.getsourcelines(function)[1]
    except TypeError:
        return "", 0
