"""`qms plugins`: which plugins are installed and which hooks each implements."""

from __future__ import annotations

from typing import Any

import click

from qms_engine.cli.context import console, json_option, print_json, print_table
from qms_engine.cli.tables import Column, clean_text
from qms_engine.i18n import _


@click.command("plugins")
@json_option
def plugins_command(as_json: bool) -> None:
    """List installed plugins, their hooks, the office types and commands they add, and
    why a plugin's commands were left out."""
    from qms_engine.cli import SUBCOMMANDS
    from qms_engine.extension.commands import plugin_commands
    from qms_engine.extension.manager import load_plugins

    plugins = load_plugins()
    manager = plugins.manager
    added = plugin_commands(SUBCOMMANDS)
    rows: list[dict[str, Any]] = []
    for name, plugin in sorted(manager.list_name_plugin()):
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        office_types = sorted(
            code for code in plugins.registry.office_types if plugins.registry.owner(code) == name
        )
        rows.append(
            {
                "name": name,
                "module": getattr(plugin, "__name__", repr(plugin)),
                "hooks": hooks,
                "office_types": office_types,
                "commands": sorted(c for c, owner in added.owners.items() if owner == name),
                "problem": str(added.problems[name]) if name in added.problems else None,
            }
        )
    if as_json:
        print_json(rows)
        return
    print_table(
        _("Plugins"),
        [
            _("Plugin"),
            Column(_("Module"), fold=True),
            Column(_("Hooks"), fold=True),
            _("Office types"),
            _("Commands"),
        ],
        [
            (
                r["name"],
                r["module"],
                ", ".join(r["hooks"]),
                ", ".join(r["office_types"]),
                ", ".join(r["commands"]),
            )
            for r in rows
        ],
    )
    for name, problem in sorted(added.problems.items()):
        console().print(
            clean_text(
                _("{plugin}: its commands are left out: {problem}").format(
                    plugin=name, problem=problem
                )
            ),
            soft_wrap=True,
            markup=False,
        )


COMMANDS = [plugins_command]
