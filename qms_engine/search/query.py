"""Searching one office's documents and records: ``qms search``.

Every revision is a result of its own (number, revision, title, state, type, when written, and
a snippet showing the match), best match first (SQLite FTS5's ``bm25``, PostgreSQL's
``ts_rank``: a match in the number or title counts most, then the fields, then the text), then
newest.  The state and type are the revision's now, joined from their tables, and so are the
filters on them; dates are the office's calendar days.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects import postgresql

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import as_utc, day_start
from qms_engine.errors import InvalidInput
from qms_engine.i18n import _
from qms_engine.runtime import Runtime
from qms_engine.search.index import POSTGRES_INDEX
from qms_engine.search.snippets import Snippet, snippet
from qms_engine.search.terms import Term, fts5_expression, parse_query, tsquery_expression
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    REVISION_TABLE,
    SEARCH_INDEX,
    STATE_TABLE,
    TYPE_TABLE,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 1_000
SQLITE_WEIGHTS = (10.0, 5.0, 2.0, 1.0)  # bm25 weights of number, title, fields, text

_SQLITE_INDEX = table(SEARCH_INDEX, column("rowid"), column("body"))


@dataclass(frozen=True)
class SearchHit:
    """A revision that matched, and the words around the match."""

    number: str
    revno: int
    title: str
    state: str
    type_code: str
    created_at: datetime
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    """Where the matched words are in ``snippet``: (start, end) character offsets."""


@dataclass(frozen=True)
class SearchResults:
    """What a search found in an office, and how many revisions its index lacks."""

    office: str
    timezone: str
    query: str
    hits: list[SearchHit]
    unindexed: int
    """Revisions of the office not in the index (filed before it existed): `--reindex`."""


@dataclass(frozen=True)
class _Dialect:
    """How one database matches and ranks: the index, the condition, the ordering."""

    index: FromClause
    index_id: ColumnElement[Any]
    body: ColumnElement[Any]
    matches: ColumnElement[Any]
    rank: ColumnElement[Any]
    """Ascending: best first."""


def _dialect(connection: Connection, terms: Sequence[Term]) -> _Dialect:
    if connection.dialect.name == "sqlite":
        index: ColumnElement[Any] = literal_column(SEARCH_INDEX)
        return _Dialect(
            _SQLITE_INDEX,
            _SQLITE_INDEX.c.rowid,
            _SQLITE_INDEX.c.body,
            index.op("MATCH")(fts5_expression(terms)),
            func.bm25(index, *SQLITE_WEIGHTS),
        )
    query = cast(tsquery_expression(terms), postgresql.TSQUERY)
    vector = POSTGRES_INDEX.c.vector
    return _Dialect(
        POSTGRES_INDEX,
        POSTGRES_INDEX.c.revision_id,
        POSTGRES_INDEX.c.body,
        vector.op("@@")(query),
        -func.ts_rank(vector, query),
    )


def _statement(
    found: _Dialect,
    office: OfficeRef,
    type_code: str | None,
    state: str | None,
    since: date | None,
    until: date | None,
    limit: int,
) -> Select[Any]:
    statement = (
        select(
            DOCUMENT_TABLE.c.number,
            REVISION_TABLE.c.revno,
            REVISION_TABLE.c.title,
            REVISION_TABLE.c.fields,
            REVISION_TABLE.c.original_filename,
            REVISION_TABLE.c.created_at,
            STATE_TABLE.c.state,
            TYPE_TABLE.c.code.label("type_code"),
            found.body,
        )
        .select_from(found.index)
        .join(REVISION_TABLE, REVISION_TABLE.c.id == found.index_id)
        .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
        .where(found.matches, DOCUMENT_TABLE.c.office_id == office.id)
        .order_by(found.rank, REVISION_TABLE.c.created_at.desc(), REVISION_TABLE.c.id.desc())
        .limit(limit)
    )
    if type_code is not None:
        statement = statement.where(TYPE_TABLE.c.code == type_code)
    if state is not None:
        statement = statement.where(STATE_TABLE.c.state == state)
    if since is not None:
        statement = statement.where(
            REVISION_TABLE.c.created_at >= day_start(since, office.timezone)
        )
    if until is not None:
        statement = statement.where(
            REVISION_TABLE.c.created_at < day_start(until + timedelta(days=1), office.timezone)
        )
    return statement


def _unindexed(connection: Connection, found: _Dialect, office: OfficeRef) -> int:
    """Revisions of the office with no index entry."""
    return int(
        connection.execute(
            select(func.count())
            .select_from(REVISION_TABLE)
            .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)
            .outerjoin(found.index, found.index_id == REVISION_TABLE.c.id)
            .where(DOCUMENT_TABLE.c.office_id == office.id, found.index_id.is_(None))
        ).scalar_one()
    )


def _hit(terms: Sequence[Term], row: Any) -> SearchHit:
    fields = json.loads(row.fields)
    shown = snippet(
        terms,
        [
            "\n".join(f"{name}: {value}" for name, value in fields.items()),
            row.body,
            row.title,
            row.original_filename,
            row.number,
        ],
    ) or Snippet(row.title, ())
    return SearchHit(
        row.number,
        row.revno,
        row.title,
        row.state,
        row.type_code,
        as_utc(row.created_at),
        shown.text,
        shown.highlights,
    )


def search(
    runtime: Runtime,
    office: OfficeRef,
    text: str,
    *,
    type_code: str | None = None,
    state: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = DEFAULT_LIMIT,
) -> SearchResults:
    """The revisions of ``office`` whose number, title, fields, file name or text hold every
    word of ``text`` (see :mod:`qms_engine.search.terms`), filtered by type, current state and
    the office's days ``since`` … ``until`` (both included) on which they were written."""
    terms = parse_query(text)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            _("--limit {limit} is out of range").format(limit=limit),
            hint=_("give 1 to {max_limit}").format(max_limit=MAX_LIMIT),
        )
    if since is not None and until is not None and since > until:
        raise InvalidInput(
            _("--since {since} is after --until {until}").format(since=since, until=until),
            hint=_("give the earlier day as --since"),
        )
    type_code, state = runtime.plugins.document_filters(
        [office.office_type], office.code, type_code, state
    )
    with runtime.engine.connect() as connection:
        found = _dialect(connection, terms)
        rows = connection.execute(
            _statement(found, office, type_code, state, since, until, limit)
        ).all()
        unindexed = _unindexed(connection, found, office)
    return SearchResults(
        office.code, office.timezone, text, [_hit(terms, row) for row in rows], unindexed
    )
