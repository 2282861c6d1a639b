"""A click group whose subcommands are imported only when they are used.

``qms --help`` and ``qms doc --help`` should answer at once, without loading the engine
(SQLAlchemy, Alembic, python-docx, cryptography, the plugins).  The root group therefore knows
each subcommand only by name and module path, and imports a module the first time one of its
commands is asked for (running it, showing its help, or listing the commands in ``--help``).
The command modules themselves import only click at the top and the engine inside each command,
so even listing every command stays cheap.  See the click documentation, "Lazily Loading
Subcommands".

Plugins add commands too (``qms malkhana …``, the ``qms_cli_commands`` hook), loaded from
``plugin_commands`` (``"package.module:function"``) only when every command must be known: a
listing (``qms --help``) or a name that is no core command.  A core command never loads them.
A plugin whose commands cannot be added is reported on standard error, naming it, and only its
commands are left out (``qms plugins`` says why too).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping
from typing import Any

import click


class LazyGroup(click.Group):
    """A group given ``lazy_commands``: command name → ``"package.module:attribute"``."""

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, str],
        plugin_commands: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._lazy = dict(lazy_commands)
        self._plugins = plugin_commands
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> MutableMapping[str, click.Command]:
        """Every subcommand, imported: click's attribute, for code that reads it directly.

        Reading it imports every command module; click itself uses only :meth:`list_commands`
        and :meth:`get_command` (and this, to suggest a name after a mistyped command).
        """
        for name in list(self._lazy):
            self._load(name)
        self._load_plugins()
        return self._loaded

    @commands.setter
    def commands(self, value: MutableMapping[str, click.Command]) -> None:
        self._loaded = value

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand's name, sorted: the core ones without importing any of them, and
        the plugins' (a broken plugin's are left out, said on standard error)."""
        self._load_plugins()
        return sorted({*self._loaded, *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand ``cmd_name``, importing its module on first use; None if unknown."""
        if cmd_name in self._lazy:
            self._load(cmd_name)
        elif cmd_name not in self._loaded:
            self._load_plugins()
        return self._loaded.get(cmd_name)

    def _load_plugins(self) -> None:
        """Add the plugins' commands (once); say on standard error which plugin's are left
        out, and why."""
        if self._plugins is None:
            return
        from qms_engine.errors import PluginError
        from qms_engine.i18n import _

        module_name, _sep, attribute = self._plugins.partition(":")
        self._plugins = None
        try:
            found = getattr(importlib.import_module(module_name), attribute)(
                {*self._lazy, *self._loaded}
            )
        except PluginError as error:  # no plugin could be loaded
            problems = [error]
        else:
            self._loaded.update(found.commands)
            problems = list(found.problems.values())
        for problem in problems:
            click.echo(
                _("Warning: {problem}; its commands are left out (see `qms plugins`)").format(
                    problem=problem
                ),
                err=True,
            )

    def _load(self, name: str) -> None:
        module_name, _, attribute = self._lazy[name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self._lazy[name]} is not a click command")
        self._loaded[name] = command
        del self._lazy[name]
