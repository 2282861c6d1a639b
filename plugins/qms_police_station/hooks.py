"""The police station plugin's hook implementations (the entry point names this module)."""

from __future__ import annotations

import click

from qms_engine.api import TypeRegistry, custody_commands, hookimpl
from qms_police_station.office import police_station
from qms_police_station.settings import from_environment


@hookimpl
def qms_register_types(registry: TypeRegistry) -> None:
    """Register the police station office type, its General Diary as the settings say."""
    registry.add_office_type(police_station(from_environment()))


@hookimpl
def qms_cli_commands() -> list[click.Command]:
    """`qms malkhana move|where|out`: the chain of custody of case property."""
    return [
        custody_commands(
            "malkhana",
            register="MALKHANA",
            help="Case property (मालखाना): hand it over to court, the FSL, back, or for "
            "disposal by an order; where each item is and since when; what is out and overdue.",
        )
    ]
