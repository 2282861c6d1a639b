"""Reading an office's chain back from the database, in order and streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from qms_engine.chain.encoding import ChainEvent, event_body
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.chain.verifier import verify_chain_events
from qms_engine.clock import to_utc_text
from qms_engine.errors import IntegrityError
from qms_engine.storage.models import EVENT_TABLE, HEAD_TABLE, Event


def load_events(connection: Connection, office_id: int, *, after_seq: int = 0) -> Iterator[Any]:
    """An office's event rows in chain order, streamed (rows, not models: verification reads
    every event, and building a model per row would cost more than checking its signature)."""
    statement = (
        select(EVENT_TABLE)
        .where(EVENT_TABLE.c.office_id == office_id, EVENT_TABLE.c.seq > after_seq)
        .order_by(EVENT_TABLE.c.seq)
        .execution_options(yield_per=1000)
    )
    yield from connection.execute(statement)


def stored_chain(connection: Connection, office: OfficeRef) -> Iterator[ChainEvent]:
    """An office's chain from the database, as the verifier reads it.  A payload cell that is
    not a JSON object (written by SQL: not JSON, an array, nested too deeply) is read as an
    empty object, so the verifier reports the event's content as altered instead of failing."""
    for row in load_events(connection, office.id):
        try:
            body = event_body(row, office.code)
        except (ValueError, TypeError, RecursionError):
            body = event_body(SimpleNamespace(**{**row._asdict(), "payload": "{}"}), office.code)
        yield ChainEvent(body, row.hash, row.signature)


def about_document(number: str) -> ColumnElement[bool]:
    """Events whose subject is document ``number`` or one of its revisions (``NUMBER#2``)."""
    return (EVENT_TABLE.c.subject == number) | EVENT_TABLE.c.subject.startswith(
        f"{number}#", autoescape=True
    )


def tail_events(
    connection: Connection,
    office_id: int,
    limit: int | None,
    *,
    actor: str | None = None,
    document: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> list[Event]:
    """The newest ``limit`` events of an office (None: all), oldest first; only those by
    ``actor``, about ``document``, recorded at or after ``since`` and before ``before``, if
    given.  Filtered in SQL: recorded times are fixed-width UTC text, which sorts in time."""
    statement = select(EVENT_TABLE).where(EVENT_TABLE.c.office_id == office_id)
    if actor is not None:
        statement = statement.where(EVENT_TABLE.c.actor == actor)
    if document is not None:
        statement = statement.where(about_document(document))
    if since is not None:
        statement = statement.where(EVENT_TABLE.c.recorded_at >= to_utc_text(since))
    if before is not None:
        statement = statement.where(EVENT_TABLE.c.recorded_at < to_utc_text(before))
    rows = connection.execute(statement.order_by(EVENT_TABLE.c.seq.desc()).limit(limit)).all()
    return [Event.model_validate(row._mapping) for row in reversed(rows)]


def verify_chain(connection: Connection, office: OfficeRef) -> int:
    """Check an office's chain (links, hashes, signatures, keys, roles) and its head.

    Raises :class:`IntegrityError` naming the first bad event; returns the number of events.
    """

    report = verify_chain_events(office.code, stored_chain(connection, office))
    problem = report.first_problem()
    if problem is not None:
        raise IntegrityError(f"office {office.code}: {problem}")
    head = connection.execute(
        select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash).where(HEAD_TABLE.c.office_id == office.id)
    ).one()
    if (head.seq, head.hash) != (report.events, report.head_hash):
        raise IntegrityError(
            f"office {office.code}: chain head says #{head.seq} but the log ends at "
            f"#{report.events}: events were removed from the end or the head was altered"
        )
    return report.events
