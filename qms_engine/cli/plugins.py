"""`qms plugins`: which plugins are installed and which hooks each implements."""

from __future__ import annotations

import click

from qms_engine.cli.context import json_option, print_json, print_table
from qms_engine.cli.tables import Column
from qms_engine.i18n import _


@click.command("plugins")
@json_option
def plugins_command(as_json: bool) -> None:
    """List installed plugins, their hooks and the office types they add."""
    from qms_engine.extension.manager import load_plugins

    plugins = load_plugins()
    manager = plugins.manager
    rows = []
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
        ],
        [
            (r["name"], r["module"], ", ".join(r["hooks"]), ", ".join(r["office_types"]))
            for r in rows
        ],
    )


COMMANDS = [plugins_command]
