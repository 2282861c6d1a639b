"""What citizens said of each station over a period, for the SP office's monthly review.

Per station: how many responses, the average of each rating, how many were poor (by the
station's own form: overall satisfaction 1 or 2, say) and the nonconformities they opened.
Days are each station's calendar days (``until`` includes its whole day).  Nothing personal can
appear: names and phone numbers are never stored (:mod:`.privacy`), and comments are not shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import day_start
from qms_engine.errors import InvalidInput
from qms_engine.feedback.stations import deployment_offices
from qms_engine.i18n import _
from qms_engine.registry.feedback_forms import FeedbackForm
from qms_engine.runtime import Runtime
from qms_engine.storage.models import FEEDBACK_TABLE


@dataclass(frozen=True)
class StationSummary:
    """One station's feedback over the period."""

    office: str
    name: str
    responses: int
    averages: Mapping[str, float]
    """Rating → its mean, to two decimals (absent when there were no responses)."""
    poor: int
    poor_share: float
    """``poor / responses`` (0 with no responses)."""
    ncs: tuple[str, ...]
    """The nonconformities its poor responses of the period opened or joined."""


@dataclass(frozen=True)
class FeedbackSummary:
    """Every station's feedback over one period."""

    since: date | None
    until: date | None
    ratings: tuple[str, ...]
    labels: Mapping[str, str]
    """Rating → what the form calls it ("Behaviour / व्यवहार")."""
    poor_rating: str
    poor_at_most: int
    """A response is poor when its ``poor_rating`` is at most this."""
    stations: tuple[StationSummary, ...]

    @property
    def period(self) -> str:
        """The period in words: "2025-11-01 to 2025-11-30", "from 2025-11-01", "all time"."""
        if self.since and self.until:
            return _("{since} to {until}").format(since=self.since, until=self.until)
        if self.since or self.until:
            return (
                _("from {since}").format(since=self.since)
                if self.since
                else _("until {until}").format(until=self.until)
            )
        return _("all time")


def feedback_summary(
    runtime: Runtime,
    *,
    office: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> FeedbackSummary:
    """Summarise ``office``'s feedback (default: every office whose type has a form)."""
    if since is not None and until is not None and since > until:
        raise InvalidInput(
            _("the period's start ({since}) is after its end ({until})").format(
                since=since, until=until
            ),
            hint=_("give --since an earlier day than --until"),
        )
    chosen = [runtime.office(office)] if office else _offices_with_forms(runtime)
    forms = {ref.code: _form(runtime, ref) for ref in chosen}
    first = next((form for form in forms.values() if form is not None), None)
    if first is None:
        raise InvalidInput(
            "no office here has a citizen feedback form"
            + (f" ({office}'s office type declares none)" if office else ""),
            hint=_("feedback forms come with office-type plugins (police_station has one)"),
        )
    ratings = tuple(dict.fromkeys(r for f in forms.values() if f for r in f.ratings))
    stations = tuple(
        _station(runtime, ref, forms[ref.code] or first, since, until) for ref in chosen
    )
    return FeedbackSummary(
        since,
        until,
        ratings,
        {rating: first.label(rating) for rating in ratings},
        first.poor_rating,
        first.poor_at_most,
        stations,
    )


def _form(runtime: Runtime, office: OfficeRef) -> FeedbackForm | None:
    office_type = runtime.plugins.registry.office_types.get(office.office_type)
    return office_type.feedback if office_type else None


def _offices_with_forms(runtime: Runtime) -> list[OfficeRef]:
    return [o for o in deployment_offices(runtime) if _form(runtime, o) is not None]


def _station(
    runtime: Runtime,
    office: OfficeRef,
    form: FeedbackForm,
    since: date | None,
    until: date | None,
) -> StationSummary:
    query = select(FEEDBACK_TABLE.c.ratings, FEEDBACK_TABLE.c.nc_number).where(
        FEEDBACK_TABLE.c.office_id == office.id
    )
    if since is not None:
        query = query.where(FEEDBACK_TABLE.c.responded_at >= day_start(since, office.timezone))
    if until is not None:
        before = day_start(until + timedelta(days=1), office.timezone)
        query = query.where(FEEDBACK_TABLE.c.responded_at < before)
    with runtime.engine.connect() as connection:
        rows = connection.execute(query).all()
    given = [json.loads(row.ratings) for row in rows]
    totals: dict[str, list[int]] = {}
    for ratings in given:
        for name, value in ratings.items():
            totals.setdefault(name, []).append(value)
    poor = sum(1 for ratings in given if form.poor_rating in ratings and form.is_poor(ratings))
    return StationSummary(
        office.code,
        office.name,
        len(given),
        {name: round(sum(values) / len(values), 2) for name, values in totals.items()},
        poor,
        round(poor / len(given), 4) if given else 0.0,
        tuple(sorted({row.nc_number for row in rows if row.nc_number})),
    )
