"""qms-engine: ISO 9001:2015 document control for police stations, SP offices and collectorates.

Plugins import :data:`hookimpl` from here to implement the hooks in :mod:`qms_engine.hookspecs`.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("qms_engine")

__all__ = ["__version__", "hookimpl"]
