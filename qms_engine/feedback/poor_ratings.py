"""Which poor responses belong together, so that one bad week does not open fifty
nonconformities.

The office type's form says what is poor (its ``poor_rating`` at most ``poor_at_most``) and how
poor responses are grouped: each on its own (``response``), or per station and ISO week
(``week``) or calendar month (``month``) of the station's local date.  A group with no
nonconformity yet opens one; a group whose nonconformity is still open is linked to it; one
whose nonconformity was closed or cancelled opens a new one (:mod:`.responses`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from qms_engine.clock import day_start, zone
from qms_engine.feedback.forms import Response
from qms_engine.registry.feedback_forms import FeedbackForm


@dataclass(frozen=True)
class PoorGroup:
    """Poor responses of one station that share one nonconformity."""

    period: str
    """As a title names it: "week 2026-W47", "month 2026-11", "response 3f9c…"."""
    start: datetime | None
    """The period's first instant (UTC); None when each response is its own group."""
    end: datetime | None
    """The instant after the period (UTC)."""
    responses: tuple[Response, ...]


def _period(form: FeedbackForm, response: Response, timezone: str) -> tuple[str, date, date]:
    """The period a response falls in: its name, first day and the day after it."""
    day = response.time.astimezone(zone(timezone)).date()
    if form.group == "month":
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        return f"month {first:%Y-%m}", first, after
    year, week, weekday = day.isocalendar()
    first = day - timedelta(days=weekday - 1)
    return f"week {year}-W{week:02d}", first, first + timedelta(days=7)


def poor_groups(
    form: FeedbackForm, responses: Sequence[Response], timezone: str
) -> list[PoorGroup]:
    """The poor ones of one station's ``responses``, grouped by ``form.group`` in the
    station's ``timezone``, in time order."""
    poor = sorted((r for r in responses if form.is_poor(r.ratings)), key=lambda r: r.time)
    if form.group == "response":
        return [PoorGroup(f"response {r.response_id}", None, None, (r,)) for r in poor]
    groups: dict[str, tuple[date, date, list[Response]]] = {}
    for response in poor:
        name, first, after = _period(form, response, timezone)
        groups.setdefault(name, (first, after, []))[2].append(response)
    return [
        PoorGroup(name, day_start(first, timezone), day_start(after, timezone), tuple(members))
        for name, (first, after, members) in groups.items()
    ]
