"""The fixed terms of citizen-charter services and the record room, shared by the write path
and the verifier."""

from __future__ import annotations

DECISIONS = ("granted", "rejected")
"""How an application is disposed of."""
MAX_BACKDATE_DAYS = 30
"""An application may be entered up to this many days after the day it was received."""
