"""Command groups a plugin hands to ``qms_cli_commands``, built by the engine.

A register whose items move (:class:`~qms_engine.registry.custody.Custody`) gets its commands
from :func:`custody_commands`: ``qms malkhana move|where|out`` are ``qms custody
move|where|out`` held to the malkhana register.  The command line sits above the plugin API,
so those commands are found by their module's name when first used, as the root group finds
its own (:class:`qms_engine.cli.lazy.LazyGroup`); building the group loads nothing but click.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

REGISTER = "qms.custody.register"
"""``click.Context.meta`` key: the register type a plugin's custody group holds commands to."""
_CUSTODY_COMMANDS = "qms_engine.cli.custody"
_NAMES = ("move", "where", "out")


class _CustodyGroup(click.Group):
    """``move``, ``where`` and ``out`` of ``qms custody``, for one register type."""

    def __init__(self, name: str, register: str, help: str) -> None:
        super().__init__(name, help=help, callback=self._hold, no_args_is_help=True)
        self.register = register

    def _hold(self) -> None:
        click.get_current_context().meta[REGISTER] = self.register

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_NAMES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _NAMES:
            return None
        command: click.Command = getattr(importlib.import_module(_CUSTODY_COMMANDS), cmd_name)
        return command


def custody_commands(name: str, *, register: str, help: str) -> click.Group:
    """The group ``qms NAME move|where|out`` for the items of register type ``register``
    (one with ``DocumentTypeSpec.custody``): return it from ``qms_cli_commands``."""
    return _CustodyGroup(name, register, help)


def register_of(context: click.Context) -> str | None:
    """The register type a custody command is held to (None: ``qms custody``, any)."""
    value: Any = context.meta.get(REGISTER)
    return value if isinstance(value, str) else None
