"""The outpost plugin's hook implementations (the entry point names this module)."""

from __future__ import annotations

from pathlib import Path

import click

from qms_engine.api import Submission, TypeRegistry, custody_commands, hookimpl
from qms_police_outpost.office import MUNSHI, POLICE_OUTPOST
from qms_police_outpost.rules import complaint_problems


@hookimpl
def qms_register_types(registry: TypeRegistry) -> None:
    """Add the munshi's role, then the office type whose registers name it."""
    registry.add_role(MUNSHI, "keeps the outpost's registers (मुंशी)")
    registry.add_office_type(POLICE_OUTPOST)


@hookimpl
def qms_workflow_dirs() -> list[Path]:
    """The plugin's own workflow (``complaint-enquiry``), shipped inside the package."""
    return [Path(__file__).parent / "workflows"]


@hookimpl
def qms_cli_commands() -> list[click.Command]:
    """``qms complaint move|where|out``: hand a complaint's papers over, and find them."""
    return [
        custody_commands(
            "complaint",
            register="COMPLAINT",
            help="Where a complaint's papers are; hand them over to the police station.",
        )
    ]


@hookimpl
def qms_validate_submission(submission: Submission) -> list[str]:
    """Apply the outpost's filing rule to its own offices only."""
    if submission.office_type != POLICE_OUTPOST.code:
        return []
    return complaint_problems(submission)
