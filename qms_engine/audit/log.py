"""The office's audit log as people search it: by user, by document, between two days.

Days are the office's calendar days (``--until`` includes its whole day); a timestamp without
an offset is the office's local time.  Every filter is applied in SQL, so a long chain is
never read whole to show a page of it.  A user or document that does not exist is an error
naming it, never taken for an empty log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from qms_engine.chain.reader import tail_events
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import zone
from qms_engine.errors import InvalidInput, NotFound
from qms_engine.people.permissions import find_user
from qms_engine.runtime import Runtime
from qms_engine.storage.models import DOCUMENT_TABLE, OFFICE_TABLE, Event


@dataclass(frozen=True)
class LogQuery:
    """Which events to read: all filters optional; ``limit`` newest (None: every one)."""

    user: str | None = None
    document: str | None = None
    since: date | datetime | None = None
    """From this day (its start, in the office's zone) or this moment on."""
    until: date | datetime | None = None
    """Up to the end of this day (in the office's zone), or up to this moment, inclusive."""
    limit: int | None = 20


def _moment(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime.combine(value, time(), tzinfo=tz)


def _bounds(query: LogQuery, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """``[since, before)``: a day of ``until`` ends at the next midnight, a moment just after."""
    since = _moment(query.since, tz) if query.since is not None else None
    before = None
    if isinstance(query.until, datetime):
        before = _moment(query.until, tz) + timedelta(microseconds=1)
    elif query.until is not None:
        before = _moment(query.until + timedelta(days=1), tz)
    if since is not None and before is not None and since >= before:
        raise InvalidInput(
            f"the log's start ({query.since}) is after its end ({query.until})",
            hint="give --since an earlier day than --until",
        )
    return since, before


def _check_document(connection: Connection, office: OfficeRef, number: str) -> None:
    found = connection.execute(
        select(OFFICE_TABLE.c.code)
        .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.office_id == OFFICE_TABLE.c.id)
        .where(DOCUMENT_TABLE.c.number == number)
    ).first()
    if found is None:
        raise NotFound(f"no document numbered {number!r}", hint="see `qms doc list`")
    if found.code != office.code:
        raise NotFound(
            f"{number} is a document of {found.code}, not of {office.code}",
            hint=f"read that office's log: qms --office {found.code} log",
        )


def read_log(runtime: Runtime, office: OfficeRef, query: LogQuery) -> list[Event]:
    """The newest events of ``office``'s chain matching ``query``, oldest first."""
    since, before = _bounds(query, zone(office.timezone))
    with runtime.engine.connect() as connection:
        actor = find_user(connection, query.user)[1] if query.user is not None else None
        if query.document is not None:
            _check_document(connection, office, query.document)
        return tail_events(
            connection,
            office.id,
            query.limit,
            actor=actor,
            document=query.document,
            since=since,
            before=before,
        )
