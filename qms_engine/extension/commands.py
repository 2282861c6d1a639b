"""The commands plugins add to ``qms`` (the ``qms_cli_commands`` hook).

The root group asks for them only when it must know every command (``qms --help``, a name
that is not a core command), so a core command and its help never load the plugins
(:class:`qms_engine.cli.lazy.LazyGroup`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import cast

import click

from qms_engine.errors import PluginError
from qms_engine.extension import hookspecs
from qms_engine.extension.manager import get_plugin_manager
from qms_engine.i18n import _
from qms_engine.registry.attribution import attribute_hooks


@dataclass(frozen=True)
class PluginCommands:
    """The commands the plugins add, and why a plugin's are left out."""

    commands: dict[str, click.Command] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    """Command name → the plugin that adds it."""
    problems: dict[str, PluginError] = field(default_factory=dict)
    """Plugin → why none of its commands were added (it raised, returned something else, or
    named a command another has)."""


def plugin_commands(
    core: Collection[str], *, extra_plugins: Iterable[tuple[str, object]] = ()
) -> PluginCommands:
    """Every command the installed plugins add, by name, each checked to be a click command
    whose name is neither a core command's (``core``) nor another plugin's.  A plugin that
    fails or breaks this adds none of its commands: a PluginError naming it says why, and
    the others' commands are added still.

    Each implementation is called on its own (their results are lists, never combined by a
    wrapper), so a clash names the plugins on both sides.  ``extra_plugins``: as for
    :func:`~qms_engine.extension.manager.get_plugin_manager` (tests); a plugin that cannot
    be loaded at all is its PluginError, raised."""
    manager = get_plugin_manager(extra_plugins=extra_plugins)
    attribute_hooks(manager, results=hookspecs.RESULTS, listeners=hookspecs.LISTENERS)
    found = PluginCommands()
    for implementation in manager.hook.qms_cli_commands.get_hookimpls():
        plugin = implementation.plugin_name
        try:
            commands = _checked(plugin, implementation.function(), core, found.owners)
        except Exception as error:
            found.problems[plugin] = (
                error
                if isinstance(error, PluginError)
                else PluginError(
                    _("plugin {plugin!r}: qms_cli_commands failed: {error!r}").format(
                        plugin=plugin, error=error
                    ),
                    hint=_("set QMS_DISABLE_PLUGINS={plugin} to skip it").format(plugin=plugin),
                )
            )
            continue
        for name, command in commands.items():
            found.commands[name], found.owners[name] = command, plugin
    return found


def _checked(
    plugin: str, returned: object, core: Collection[str], owners: dict[str, str]
) -> dict[str, click.Command]:
    """The commands ``plugin`` returned, by name; a PluginError when one of them is
    unnamed or named as a core command or another plugin's."""
    commands: dict[str, click.Command] = {}
    for command in cast("list[click.Command] | None", returned) or ():
        name = command.name or ""
        if name in core or not name:
            raise PluginError(
                _("plugin {plugin!r}: command {name!r} is a core command's name, or none").format(
                    plugin=plugin, name=name
                ),
                hint=_("rename it, or set QMS_DISABLE_PLUGINS={plugin}").format(plugin=plugin),
            )
        if name in owners or name in commands:
            other = owners.get(name, plugin)
            raise PluginError(
                _("plugin {plugin!r}: command {name!r} is added by plugin {other!r} too").format(
                    plugin=plugin, name=name, other=other
                ),
                hint=_("set QMS_DISABLE_PLUGINS to one of {plugin}, {other}").format(
                    plugin=plugin, other=other
                ),
            )
        commands[name] = command
    return commands
