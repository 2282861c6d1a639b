"""Built-in plugin: the workflow definitions shipped in the top-level ``workflows/`` folder.

Registered through the ``qms_engine.plugins`` entry point like any third-party plugin.
"""

from __future__ import annotations

from pathlib import Path

from qms_engine.api import hookimpl

_PACKAGED = (
    Path(__file__).parent / "_workflows"
)  # where a wheel puts them (pyproject force-include)
_SOURCE = Path(__file__).parent.parent / "workflows"  # a source checkout / editable install


@hookimpl
def qms_workflow_dirs() -> list[Path]:
    """The folder of built-in workflow definitions."""
    return [_PACKAGED if _PACKAGED.is_dir() else _SOURCE]
