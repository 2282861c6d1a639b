"""qms-engine: ISO 9001:2015 document control for police stations, SP offices and collectorates.

Plugin authors import from :mod:`qms_engine.api` only.  The README's architecture map shows
which subpackage owns what.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
