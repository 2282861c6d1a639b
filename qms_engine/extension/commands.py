"""The commands plugins add to ``qms`` (the ``qms_cli_commands`` hook).

The root group asks for them only when it must know every command (``qms --help``, a name
that is not a core command), so a core command and its help never load the plugins
(:class:`qms_engine.cli.lazy.LazyGroup`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import cast

import click

from qms_engine.errors import PluginError
from qms_engine.extension import hookspecs
from qms_engine.extension.manager import get_plugin_manager
from qms_engine.registry.attribution import attribute_hooks


def plugin_commands(
    core: Collection[str], *, extra_plugins: Iterable[tuple[str, object]] = ()
) -> dict[str, click.Command]:
    """Every command the installed plugins add, by name, each checked to be a click command
    whose name is neither a core command's (``core``) nor another plugin's; a plugin that
    fails or breaks this is a PluginError naming it.

    Each implementation is called on its own (their results are lists, never combined by a
    wrapper), so a clash names the plugins on both sides.  ``extra_plugins``: as for
    :func:`~qms_engine.extension.manager.get_plugin_manager` (tests)."""
    manager = get_plugin_manager(extra_plugins=extra_plugins)
    attribute_hooks(manager, results=hookspecs.RESULTS, listeners=hookspecs.LISTENERS)
    found: dict[str, click.Command] = {}
    owners: dict[str, str] = {}
    for implementation in manager.hook.qms_cli_commands.get_hookimpls():
        plugin = implementation.plugin_name
        commands = cast("list[click.Command] | None", implementation.function())
        for command in commands or ():
            name = command.name or ""
            if name in core or not name:
                raise PluginError(
                    f"plugin {plugin!r}: command {name!r} is a core command's name, or none",
                    hint=f"rename it, or set QMS_DISABLE_PLUGINS={plugin}",
                )
            if name in found:
                raise PluginError(
                    f"plugin {plugin!r}: command {name!r} is added by plugin {owners[name]!r} too",
                    hint=f"set QMS_DISABLE_PLUGINS to one of {plugin}, {owners[name]}",
                )
            found[name], owners[name] = command, plugin
    return found
