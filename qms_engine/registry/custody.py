"""Where a register's items may be (a chain of custody), as a plugin declares it.

A malkhana's case property starts in the malkhana and goes to court or the forensic lab and
back until it is disposed of by an order; a collectorate's file (नस्ती) moves between desks
until it is weeded.  :class:`Custody` names those places by code; the engine
(:mod:`qms_engine.custody`) and the verifier (:mod:`qms_engine.chain.custody_rules`) hold every
movement to them, reading the rules from the ``office.document_type.added`` event
(:meth:`Custody.record`), never from the installed plugin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PLACE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
"""A place's code: lowercase ASCII letters, digits, ``_`` and ``-`` (``fsl``, ``desk-3``)."""

RECORDED = ("home", "places", "returns", "final", "order_needed")
"""The members of :meth:`Custody.record`, in the type's event payload."""


@dataclass(frozen=True)
class Custody:
    """The places a register's items move between, and the rules of moving them.

    - ``home``: where an item is when it is filed (``"malkhana"``);
    - ``places``: every place it may be, ``home`` included;
    - ``returns``: places it goes to only for a while: a move there names the day it is
      expected back (``court``, ``fsl``);
    - ``final``: places it never leaves (``disposed``, ``weeded``);
    - ``order_needed``: places a move to needs an order's reference (disposal);
    - ``titles``: place → what a person reads (not recorded in the chain).
    """

    home: str
    places: tuple[str, ...]
    returns: tuple[str, ...] = ()
    final: tuple[str, ...] = ()
    order_needed: tuple[str, ...] = ()
    titles: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("places", "returns", "final", "order_needed"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(p, str) for p in value):
                one = f" (for one, write ({value!r},))" if isinstance(value, str) else ""
                raise TypeError(f"custody: {name} must be a tuple of place codes{one}")
        bad = [p for p in (self.home, *self.places) if not PLACE.fullmatch(p)]
        if bad:
            raise ValueError(
                f"custody: place codes {bad} must be lowercase letters, digits, '_' or '-'"
            )
        if len(set(self.places)) != len(self.places):
            raise ValueError(f"custody: places {list(self.places)} list a place twice")
        if self.home not in self.places:
            raise ValueError(f"custody: home {self.home!r} is not one of places")
        for name in ("returns", "final", "order_needed"):
            unknown = sorted(set(getattr(self, name)) - set(self.places))
            if unknown:
                raise ValueError(f"custody: {name} name {unknown}, which are not places")
        if self.home in self.final:
            raise ValueError(f"custody: home {self.home!r} cannot be a final place")
        if set(self.returns) & set(self.final):
            raise ValueError("custody: a place an item returns from cannot be final")
        if not isinstance(self.titles, Mapping) or not set(self.titles) <= set(self.places):
            raise ValueError("custody: titles must map places (codes) to titles")

    def title(self, place: str) -> str:
        """What a person reads for ``place``: its title, else its code."""
        return self.titles.get(place, place)

    def record(self) -> dict[str, Any]:
        """The rules as the type's ``office.document_type.added`` event records them."""
        return {
            "home": self.home,
            "places": list(self.places),
            "returns": list(self.returns),
            "final": list(self.final),
            "order_needed": list(self.order_needed),
        }
