"""Time: stored in UTC, shown in the office's time zone (Asia/Kolkata by default)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from qms_engine.errors import ConfigurationError
from qms_engine.i18n import _

DEFAULT_TIMEZONE = "Asia/Kolkata"


def utc_now() -> datetime:
    """The current time, timezone-aware UTC with microseconds."""
    return datetime.now(UTC)


def to_utc_text(moment: datetime) -> str:
    """The one textual form of a UTC instant used in events: ``2026-11-24T04:40:46.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_UTC_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", re.ASCII)


def is_utc_text(text: str) -> bool:
    """Whether ``text`` is exactly the form :func:`to_utc_text` writes (so texts sort in time)."""
    if _UTC_TEXT.fullmatch(text) is None:
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:  # a month 13, a 30 February …
        return False
    return True


def from_utc_text(text: str) -> datetime:
    """Parse :func:`to_utc_text` output (exactly that form, so texts compare in time order)."""
    if _UTC_TEXT.fullmatch(text) is None:
        raise ValueError(
            _("not a UTC timestamp of the form 2026-11-24T04:40:46.123456Z: {text}").format(
                text=repr(text)
            )
        )
    return datetime.fromisoformat(text)  # also refuses a month 13; "Z" gives UTC


def zone(name: str) -> ZoneInfo:
    """The named IANA zone, or a clear error naming the setting."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            _("unknown time zone {name}").format(name=repr(name)),
            hint=_("use an IANA name such as 'Asia/Kolkata'"),
        ) from exc


def day_start(day: date, tz_name: str) -> datetime:
    """The UTC instant the office's calendar ``day`` begins (a period's bound in a query)."""
    return datetime.combine(day, time(), tzinfo=zone(tz_name)).astimezone(UTC)


def local_today(tz_name: str) -> date:
    """The office's calendar day now: what "today", "overdue" and "due from today" mean there."""
    return utc_now().astimezone(zone(tz_name)).date()


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (a 29 February: the 28th): a bound on dates a person
    types (an action due, an audit planned)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def as_utc(moment: datetime) -> datetime:
    """Databases hand back naive datetimes for UTC columns; make them aware again."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_text(moment: datetime, tz_name: str) -> str:
    """A UTC instant as the office reads it: ``2026-11-24 10:10 IST``."""
    return as_utc(moment).astimezone(zone(tz_name)).strftime("%Y-%m-%d %H:%M %Z")
