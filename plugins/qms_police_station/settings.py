"""The police station's settings, which differ between state police rules.

Read from the environment when the plugin registers its office type (a station's deployment
sets them once, before its offices are made: an office's registers keep the rules its chain
recorded when they were added):

- ``QMS_GD_NUMBERING``: ``year`` (the default: ``PS-KOT39/GD/2026/00412``) or ``day``
  (``PS-KOT39/GD/2026-11-29/007``, the serial restarting each day).
- ``QMS_GD_DAY_BOOK``: ``on`` (the default: each day opened and closed) or ``off`` (a station
  that keeps its diary on paper and files scanned pages).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from qms_engine.api import PluginError

GD_NUMBERING = "QMS_GD_NUMBERING"
GD_DAY_BOOK = "QMS_GD_DAY_BOOK"


@dataclass(frozen=True)
class Settings:
    """How this deployment keeps its General Diary."""

    gd_numbering: Literal["year", "day"] = "year"
    gd_day_book: bool = True


def from_environment() -> Settings:
    """The settings the environment gives; a value other than the allowed ones is refused,
    naming the variable."""
    numbering = os.environ.get(GD_NUMBERING, "year").strip().lower() or "year"
    day_book = os.environ.get(GD_DAY_BOOK, "on").strip().lower() or "on"
    if numbering not in ("year", "day"):
        raise PluginError(f"{GD_NUMBERING}={numbering!r}: give 'year' or 'day'")
    if day_book not in ("on", "off"):
        raise PluginError(f"{GD_DAY_BOOK}={day_book!r}: give 'on' or 'off'")
    return Settings("day" if numbering == "day" else "year", day_book == "on")
