"""The custody rules of an audit chain: every hand-over of a register's item (``custody.moved``).

Checked from the chain alone, event by event, by the verifier (:mod:`qms_engine.chain.verifier`
hands each ``custody.moved`` to :class:`CustodyRules`), so an insider who writes the database,
or holds a valid key, cannot record a movement the rules forbid without ``qms audit verify``
failing, online and from a bundle.  The rules of a register's places are those its
``office.document_type.added`` event recorded (``payload.custody``: home, places, returns,
final, order_needed), never the installed plugin's:

- the record exists in this chain and its type has custody;
- it moves from where it is (its type's home until its first movement);
- to another place of its type, never again once it reached a final place, nor once the
  record room weeded it (``record_room.records.weeded``, :mod:`.service_rules`);
- a move to a place that needs an order names one (disposal by a court's order);
- a move to a place an item returns from names the day it is due back, from the event's day
  to the same day a year later (:func:`latest_back`; a day's grace either side for the
  office's time zone), and a move anywhere else names none;
- it is signed in a creator role of the register type, or as a quality coordinator.

The write path (:mod:`qms_engine.custody`) applies :func:`move_problems` too: declared once,
applied twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from qms_engine.chain import events
from qms_engine.chain.authorisation import Attempt, chain_day
from qms_engine.clock import years_after
from qms_engine.i18n import _
from qms_engine.rules.roles import QUALITY_COORDINATOR
from qms_engine.rules.text import is_blank

KINDS = frozenset({events.CUSTODY_MOVED.action})
"""The fixed event kinds whose rules live here."""

MOVERS_BESIDES_CREATORS = frozenset({QUALITY_COORDINATOR})
"""Who hands over an item besides the register's creator roles (clerk, malkhana moharrir)."""
GRACE = timedelta(days=1)
"""The verifier compares a day with the event's UTC day; the office's may differ by one."""
_LISTS = ("places", "returns", "final", "order_needed")


class ChainFacts(Protocol):
    """What the custody rules read of the verifier's state (the chain up to the event)."""

    document_type: dict[str, str]
    type_creators: dict[str, frozenset[str]]
    weeded: set[str]
    """Records the record room weeded so far."""

    def problem(self, seq: int, what: str, rank: int = 2) -> None: ...


def recorded_problem(recorded: object) -> str | None:
    """What is wrong with a type's recorded custody rules (None: they are well formed)."""
    if not isinstance(recorded, Mapping) or set(recorded) != {"home", *_LISTS}:
        return _("custody must record exactly home, places, returns, final and order_needed")
    places = recorded["places"]
    if not all(
        isinstance(recorded[name], list) and all(isinstance(p, str) and p for p in recorded[name])
        for name in _LISTS
    ):
        return _("custody's places, returns, final and order_needed must be lists of places")
    if recorded["home"] not in places or recorded["home"] in recorded["final"]:
        return _("custody's home must be one of its places, and not a final one")
    if not all(set(recorded[name]) <= set(places) for name in _LISTS):
        return _("custody's returns, final and order_needed must be among its places")
    return None


def move_problems(
    recorded: Mapping[str, Any], at: str, payload: Mapping[str, Any], today: date, grace: int = 0
) -> list[str]:
    """Why a movement breaks its type's rules (``recorded``) when the item is at ``at`` on
    ``today`` (empty: it may move).  ``grace``: days either side allowed on the day it is due
    back (the verifier's 1, for the office's time zone; the write path's 0)."""
    before, after = payload.get("from"), payload.get("to")
    found = []
    if before != at:
        found.append(_("moved from {claimed!r}, but it is at {at!r}").format(claimed=before, at=at))
    if at in recorded["final"]:
        found.append(_("it is at {at!r}, a final place: nothing moves after it").format(at=at))
    if after not in recorded["places"]:
        found.append(
            _("{place!r} is not one of its places ({places})").format(
                place=after, places=", ".join(recorded["places"])
            )
        )
        return found
    if after == at:
        found.append(_("it is at {at!r} already").format(at=at))
    order, back = payload.get("order"), payload.get("expected_back")
    if after in recorded["order_needed"] and not (isinstance(order, str) and not is_blank(order)):
        found.append(
            _("a move to {place!r} needs the reference of the order for it").format(place=after)
        )
    if after in recorded["returns"]:
        found += _due_back_problems(back, today, grace, after)
    elif back:
        found.append(
            _("{place!r} is not a place it returns from: it has no day to be back").format(
                place=after
            )
        )
    return found


def latest_back(went: date) -> date:
    """The last day an item that went out on ``went`` may be due back: at most a year, the
    same calendar day next year (from 29 February: the 28th)."""
    return years_after(went, 1)


def _due_back_problems(back: object, today: date, grace: int, place: object) -> list[str]:
    day = chain_day(back)
    if day is None:
        return [
            _("a move to {place!r} needs the day it is expected back (YYYY-MM-DD)").format(
                place=place
            )
        ]
    earliest = today - timedelta(days=grace)
    latest = latest_back(today) + timedelta(days=grace)
    if day < earliest:
        return [
            _("expected back on {day}, before the day it went ({today})").format(
                day=day.isoformat(), today=today.isoformat()
            )
        ]
    if day > latest:
        return [
            _("expected back on {day}, more than a year after it went ({today})").format(
                day=day.isoformat(), today=today.isoformat()
            )
        ]
    return []


def movers(creators: Collection[str]) -> frozenset[str]:
    """The roles that may hand over an item of a type with these creator roles."""
    return frozenset(creators) | MOVERS_BESIDES_CREATORS


@dataclass
class CustodyRules:
    """Per-chain custody state and checks; ``chain`` is the verifier's state."""

    chain: ChainFacts
    rules: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    """Type code → its recorded custody rules (types without custody are absent)."""
    at: dict[str, str] = field(default_factory=dict)
    """Record number → where it is, once moved (else its type's home)."""

    def type_added(self, seq: int, code: str, payload: Mapping[str, Any]) -> None:
        """An ``office.document_type.added``: the type's custody rules, if it records any."""
        if "custody" not in payload:
            return
        problem = recorded_problem(payload["custody"])
        if problem is not None:
            self.chain.problem(seq, f"{code}: {problem}")
            return
        self.rules[code] = payload["custody"]

    def apply(self, seq: int, action: str, attempt: Attempt, time: str) -> None:
        """Check one ``custody.moved`` against the chain so far, then take it in."""
        number = attempt.subject
        type_code = self.chain.document_type.get(number)
        if type_code is None:
            self.chain.problem(
                seq,
                _("{number}: moved, but no such record was filed in this chain").format(
                    number=number
                ),
            )
            return
        recorded = self.rules.get(type_code)
        if recorded is None:
            self.chain.problem(
                seq,
                _("{number}: moved, but its type {type} keeps no chain of custody").format(
                    number=number, type=type_code
                ),
            )
            return
        if number in self.chain.weeded:
            self.chain.problem(
                seq,
                _("{number}: moved after the record room weeded it").format(number=number),
            )
        allowed = movers(self.chain.type_creators.get(type_code, frozenset()))
        if attempt.role not in allowed:
            self.chain.problem(
                seq,
                _("{number}: handed over as {role!r}; allowed: {allowed}").format(
                    number=number, role=attempt.role, allowed=", ".join(sorted(allowed))
                ),
            )
        today = chain_day(time[:10]) or date.min
        at = self.at.get(number, recorded["home"])
        for problem in move_problems(recorded, at, attempt.payload, today, grace=GRACE.days):
            self.chain.problem(seq, f"{number}: {problem}")
        after = attempt.payload.get("to")
        if isinstance(after, str) and after in recorded["places"]:
            self.at[number] = after
