"""The police station plugin's hook implementations (the entry point names this module)."""

from __future__ import annotations

from qms_engine.api import Submission, TypeRegistry, hookimpl
from qms_police_station.office import POLICE_STATION
from qms_police_station.rules import malkhana_problems


@hookimpl
def qms_register_types(registry: TypeRegistry) -> None:
    """Register the police station office type."""
    registry.add_office_type(POLICE_STATION)


@hookimpl
def qms_validate_submission(submission: Submission) -> list[str]:
    """Apply the station's filing rules."""
    if submission.office_type != POLICE_STATION.code:
        return []
    return malkhana_problems(submission)
