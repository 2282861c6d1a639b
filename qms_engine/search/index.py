"""Writing the index: one entry per revision, in the transaction that writes the revision.

An entry holds the document's number, the revision's title, its register fields (case/FIR
number, seal number, officer, dates …) and file name, and the text of its file when that is a
.docx (:func:`~qms_engine.search.text.docx_text`).  A file whose text cannot be read is indexed
without it: indexing never refuses a filing.  The workflow state is not indexed; a search joins
it, so a transition never touches the index.

On SQLite the entry is a row of the FTS5 table ``search_index`` whose rowid is the revision's
id; FTS5 tokenizes it (as :mod:`~qms_engine.search.text` does).  On PostgreSQL the words are
made here and stored as a ``tsvector`` with their positions and weights (number and title
``A``, fields ``B``, text ``D``), so both databases index the same words whatever the server's
locale; the text is kept beside it for snippets.

The index is derived data, never part of the signed chain: :func:`reindex` rebuilds it from the
revisions and their stored files (a workspace from before the index, or any doubt about it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, Text, select, text
from sqlalchemy.dialects import postgresql

from document_store import BlobStore
from qms_engine.files import MAX_TEXT_BYTES, TEXT_MEDIA_TYPE, open_regular
from qms_engine.search.text import MAX_TEXT_CHARS, UnreadableText, docx_text, normalise, words
from qms_engine.storage.database import write_transaction
from qms_engine.storage.models import DOCUMENT_TABLE, REVISION_TABLE, SEARCH_INDEX

log = logging.getLogger("qms_engine")

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_POSITION = 16_383  # PostgreSQL keeps positions up to this; later words share it
MAX_POSITIONS_PER_WORD = 256  # and this many positions of one word
MAX_LEXEME_BYTES = 2_047  # a longer "word" is not a word anyone searches for
MAX_VECTOR_BYTES = 512 * 1024  # well inside PostgreSQL's 1 MB tsvector
REINDEX_BATCH = 100

POSTGRES_INDEX = Table(
    SEARCH_INDEX,
    MetaData(),
    Column("revision_id", Integer, primary_key=True),
    Column("body", Text, nullable=False),
    Column("vector", postgresql.TSVECTOR, nullable=False),
)
"""The PostgreSQL index table (migration 0003), outside the models' metadata."""

_SQLITE_DELETE = text(f"DELETE FROM {SEARCH_INDEX} WHERE rowid = :revision_id")
_SQLITE_OPTIMIZE = text(f"INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}) VALUES ('optimize')")
_SQLITE_INSERT = text(
    f"INSERT INTO {SEARCH_INDEX} (rowid, number, title, fields, body) "
    "VALUES (:revision_id, :number, :title, :fields, :body)"
)


@dataclass(frozen=True)
class _Entry:
    """What is indexed about one revision besides its file's text."""

    revision_id: int
    number: str
    title: str
    fields: str
    media_type: str
    sha256: str


_ENTRIES = select(
    REVISION_TABLE.c.id,
    DOCUMENT_TABLE.c.number,
    REVISION_TABLE.c.title,
    REVISION_TABLE.c.fields,
    REVISION_TABLE.c.original_filename,
    REVISION_TABLE.c.media_type,
    REVISION_TABLE.c.sha256,
).join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REVISION_TABLE.c.document_id)


def fields_text(fields_json: str, filename: str) -> str:
    """A revision's field values and file name, one a line (the names are not indexed: a
    search for "number" should not find every record with a case number)."""
    values = json.loads(fields_json)
    return "\n".join([*(str(value) for value in values.values()), filename])


def _entries(rows: Iterable[Any]) -> Iterator[_Entry]:
    for row in rows:
        yield _Entry(
            row.id,
            row.number,
            row.title,
            fields_text(row.fields, row.original_filename),
            row.media_type,
            row.sha256,
        )


def file_text(path: Path | None, media_type: str) -> str:
    """The text of a stored or submitted .docx or text file (a typed register entry), or ""
    (another kind of file, or unreadable)."""
    if path is None or media_type not in (DOCX_MEDIA_TYPE, TEXT_MEDIA_TYPE):
        return ""
    try:
        with open_regular(path) as handle:
            if media_type == TEXT_MEDIA_TYPE:
                return handle.read(MAX_TEXT_BYTES).decode("utf-8", "replace")[:MAX_TEXT_CHARS]
            return docx_text(handle)
    except (OSError, UnreadableText) as exc:
        log.warning("%s: its text is not indexed (%s)", path.name, exc)
        return ""


def _tsvector(columns: Sequence[tuple[str, str]]) -> str:
    """A ``tsvector`` literal of the words of each (text, weight), positions running on across
    the texts with a gap between them (so no phrase spans two of them)."""
    marks: dict[str, list[str]] = {}
    position, budget = 0, MAX_VECTOR_BYTES
    for column_text, weight in columns:
        for word in words(column_text):
            position += 1
            lexeme = word.lexeme
            places = marks.get(lexeme)
            if places is None:
                cost = len(lexeme.encode()) + 8
                if cost > MAX_LEXEME_BYTES or cost + 4 > budget:  # room for one position too
                    continue
                budget -= cost
                places = marks[lexeme] = []
            if len(places) < MAX_POSITIONS_PER_WORD and budget >= 4:
                budget -= 4
                places.append(f"{min(position, MAX_POSITION)}{weight}")
        position += 1
    return " ".join(f"'{lexeme}':{','.join(places)}" for lexeme, places in marks.items())


def _write(connection: Connection, entry: _Entry, body: str) -> None:
    """Put ``entry`` in the index, replacing what it held for that revision."""
    number, title, fields = normalise(entry.number), normalise(entry.title), normalise(entry.fields)
    body = normalise(body)
    if connection.dialect.name == "sqlite":
        connection.execute(_SQLITE_DELETE, {"revision_id": entry.revision_id})
        connection.execute(
            _SQLITE_INSERT,
            {
                "revision_id": entry.revision_id,
                "number": number,
                "title": title,
                "fields": fields,
                "body": body,
            },
        )
        return
    vector = _tsvector([(number, "A"), (title, "A"), (fields, "B"), (body, "D")])
    insert = postgresql.insert(POSTGRES_INDEX).values(
        revision_id=entry.revision_id, body=body, vector=vector
    )
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=[POSTGRES_INDEX.c.revision_id],
            set_={"body": insert.excluded.body, "vector": insert.excluded.vector},
        )
    )


def index_revision(connection: Connection, revision_id: int, content: Path | None) -> None:
    """Index revision ``revision_id`` (just written, or its file just replaced) inside the
    caller's transaction; ``content`` is its file (its text is read if it is a .docx)."""
    row = connection.execute(_ENTRIES.where(REVISION_TABLE.c.id == revision_id)).one()
    (entry,) = _entries([row])
    _write(connection, entry, file_text(content, entry.media_type))


def reindex(engine: Engine, store: BlobStore) -> int:
    """Index every revision again from its row and stored file; returns how many.

    Files are read outside the write transactions, which are short (a batch at a time), so
    people keep working meanwhile.  A revision whose file changed since it was read (a draft's
    file replaced, which indexed it anew) is left as that left it.
    """
    with engine.connect() as connection:
        entries = list(_entries(connection.execute(_ENTRIES.order_by(REVISION_TABLE.c.id))))
    for offset in range(0, len(entries), REINDEX_BATCH):
        batch = entries[offset : offset + REINDEX_BATCH]
        bodies = [file_text(store.path(entry.sha256), entry.media_type) for entry in batch]
        with write_transaction(engine) as connection:
            current = dict(
                connection.execute(
                    select(REVISION_TABLE.c.id, REVISION_TABLE.c.sha256).where(
                        REVISION_TABLE.c.id.in_([entry.revision_id for entry in batch])
                    )
                ).all()
            )
            for entry, body in zip(batch, bodies, strict=True):
                if current.get(entry.revision_id) == entry.sha256:
                    _write(connection, entry, body)
    if engine.dialect.name == "sqlite":
        with write_transaction(engine) as connection:  # merge FTS5's segments
            connection.execute(
                text(f"INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}) VALUES ('optimize')")
            )
    return len(entries)
