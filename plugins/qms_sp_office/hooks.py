"""The SP office plugin's hook implementations (the entry point names this module)."""

from __future__ import annotations

from qms_engine.api import TypeRegistry, hookimpl
from qms_sp_office.office import SP_OFFICE


@hookimpl
def qms_register_types(registry: TypeRegistry) -> None:
    """Register the SP office type (the district over its police stations)."""
    registry.add_office_type(SP_OFFICE)
