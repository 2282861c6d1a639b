"""The collectorate plugin's hook implementations (the entry point names this module)."""

from __future__ import annotations

import click

from qms_collectorate.office import COLLECTORATE
from qms_engine.api import TypeRegistry, custody_commands, hookimpl


@hookimpl
def qms_register_types(registry: TypeRegistry) -> None:
    """Register the collectorate office type."""
    registry.add_office_type(COLLECTORATE)


@hookimpl
def qms_cli_commands() -> list[click.Command]:
    """`qms file move|where|out`: files (नस्ती) handed from desk to desk."""
    return [
        custody_commands(
            "file",
            register="FILE",
            help="Files (नस्ती): hand one over from desk (पटल) to desk or to the record room; "
            "where each file is and since when, and who holds it.",
        )
    ]
