"""Typed register entries: written as text, read back with their place in the book and the
corrections that link them.

An entry's text becomes its file (UTF-8 ``.txt``), filed through the document write path like
any record, so the blob store, the signed ``document.revision.created`` and the search index
hold it; the rules of its register (numbering, day book, corrections, required fields) are
applied there (:mod:`qms_engine.documents.register_entries`).  Entries are never edited: a
mistake is corrected by a later entry that names it (``corrects``), and both show the link.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, select
from sqlalchemy.sql import ColumnElement

from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import as_utc, local_text
from qms_engine.documents.register_entries import CLOSING, ENTRY, required_field_problems
from qms_engine.documents.revisions import MAX_TITLE, create_document, load_document
from qms_engine.errors import InvalidInput, NotFound, RuleViolation
from qms_engine.i18n import _
from qms_engine.registry.office_types import DocumentTypeSpec
from qms_engine.rules.text import control_characters, is_blank
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    REGISTER_ENTRY_TABLE,
    REVISION_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)

TEXT_FILE = ".txt"


@dataclass(frozen=True)
class Entry:
    """A register entry as ``qms register show`` and ``list`` give it."""

    number: str
    register: str
    title: str
    entry: str
    """``opening``, ``closing`` or ``entry``."""
    period: str
    day: str | None
    written_at: datetime
    written: str
    """When, in the office's time zone (``2026-11-29 10:10 IST``)."""
    by: str
    fields: Mapping[str, object]
    corrects: str | None
    corrected_by: tuple[str, ...]
    late: bool
    """A closing written after its day."""
    text: str | None = None
    """The typed text (``show`` only; None for a filed file that is no text)."""


def write_entry(
    runtime: Runtime,
    office: OfficeRef,
    *,
    actor: Signer,
    type_code: str,
    text: str,
    fields: Mapping[str, str] | None = None,
    kind: str = ENTRY,
    corrects: str | None = None,
) -> Entry:
    """File ``text`` as the next entry of register ``type_code`` in ``office``, signed by
    ``actor``: an opening or closing of a day book (``kind``), or an entry correcting an
    earlier one (``corrects``, its number).  The text may run over several lines; it and the
    fields hold no control characters (they are signed as typed and printed)."""
    spec = register_type(runtime, office, type_code)
    if spec.kind != "register":
        raise RuleViolation(
            _("{code} is no register: write its documents with `qms doc new`").format(
                code=spec.code
            )
        )
    if TEXT_FILE not in spec.allowed_extensions:
        raise RuleViolation(
            _("{title} records are filed as files ({kinds}), not typed").format(
                title=_(spec.title), kinds=", ".join(spec.allowed_extensions)
            ),
            hint=_("qms doc new FILE --type {code}").format(code=spec.code),
        )
    if is_blank(text):
        raise RuleViolation(_("the entry's text is empty"), hint=_("give --text"))
    fields = dict(fields or {})
    _plain(text, "--text", lines=True)
    for name, value in fields.items():
        _plain(f"{name}={value}", f"--field {name}")
    required = required_field_problems(spec, fields, None)
    if required:
        raise RuleViolation("; ".join(required))
    first = text.strip().splitlines()[0].strip()
    title = first if len(first) <= MAX_TITLE else first[: MAX_TITLE - 1] + "…"
    with tempfile.TemporaryDirectory(prefix="qms-entry-") as folder:
        path = Path(folder) / f"{spec.code.lower()}-entry{TEXT_FILE}"
        path.write_text(text, encoding="utf-8")
        revision = create_document(
            runtime,
            office,
            actor=actor,
            type_code=spec.code,
            title=title,
            path=path,
            reason=_("Typed entry"),
            fields=fields,
            allow_duplicate=True,  # the same words may well be written on two occasions
            kind=kind,
            corrects=corrects,
        )
    return show_entry(runtime, revision.number)


def register_type(runtime: Runtime, office: OfficeRef, type_code: str) -> DocumentTypeSpec:
    """The type ``type_code`` (in any letter case: ``gd`` is ``GD``) of ``office``'s type."""
    office_type = runtime.plugins.registry.office_type(office.office_type)
    for spec in office_type.document_types:
        if spec.code.casefold() == type_code.strip().casefold():
            return spec
    return office_type.document_type(type_code)  # refused, naming the known types


def _plain(text: str, option: str, *, lines: bool = False) -> None:
    """Refuse control characters (escape, bell, bidi overrides …) in typed text: signed as
    typed, they would act on every terminal the entry is later shown on."""
    found = control_characters(text, lines=lines)
    if found:
        raise InvalidInput(
            _("{option} holds control characters ({chars})").format(
                option=option, chars=", ".join(found)
            ),
            hint=_("type plain text (line breaks are fine in --text)"),
        )


def _entries() -> Select[Any]:
    corrected = DOCUMENT_TABLE.alias("corrected")
    return (
        select(
            DOCUMENT_TABLE.c.id,
            DOCUMENT_TABLE.c.number,
            TYPE_TABLE.c.code,
            REVISION_TABLE.c.title,
            REGISTER_ENTRY_TABLE.c.entry,
            REGISTER_ENTRY_TABLE.c.period,
            REGISTER_ENTRY_TABLE.c.day,
            DOCUMENT_TABLE.c.created_at,
            USER_TABLE.c.username,
            REVISION_TABLE.c.fields,
            corrected.c.number,
            REVISION_TABLE.c.sha256,
            REVISION_TABLE.c.media_type,
        )
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .join(REGISTER_ENTRY_TABLE, REGISTER_ENTRY_TABLE.c.document_id == DOCUMENT_TABLE.c.id)
        .join(
            REVISION_TABLE,
            (REVISION_TABLE.c.document_id == DOCUMENT_TABLE.c.id) & (REVISION_TABLE.c.revno == 0),
        )
        .join(USER_TABLE, USER_TABLE.c.id == REVISION_TABLE.c.author_id)
        .outerjoin(corrected, corrected.c.id == REGISTER_ENTRY_TABLE.c.corrects_id)
        .order_by(DOCUMENT_TABLE.c.id)
    )


def _read(
    connection: Connection, office: OfficeRef, where: ColumnElement[bool]
) -> list[tuple[Entry, str, str]]:
    """Entries matching ``where``, each with its file's SHA-256 and media type."""
    rows = connection.execute(_entries().where(where)).all()
    ids = [row[0] for row in rows]
    corrected_by: dict[int, list[str]] = {}
    if ids:
        for target, number in connection.execute(
            select(REGISTER_ENTRY_TABLE.c.corrects_id, DOCUMENT_TABLE.c.number)
            .join(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == REGISTER_ENTRY_TABLE.c.document_id)
            .where(REGISTER_ENTRY_TABLE.c.corrects_id.in_(ids))
            .order_by(DOCUMENT_TABLE.c.id)
        ):
            corrected_by.setdefault(target, []).append(number)
    found = []
    for (
        doc_id,
        number,
        code,
        title,
        entry,
        period,
        day,
        created_at,
        by,
        fields,
        corrects,
        sha256,
        media_type,
    ) in rows:
        written_at = as_utc(created_at)
        written = local_text(written_at, office.timezone)
        late = entry == CLOSING and day is not None and day < written[:10]
        found.append(
            (
                Entry(
                    number,
                    code,
                    title,
                    entry,
                    period,
                    day,
                    written_at,
                    written,
                    by,
                    json.loads(fields),
                    corrects,
                    tuple(corrected_by.get(doc_id, ())),
                    late,
                ),
                sha256,
                media_type,
            )
        )
    return found


def show_entry(runtime: Runtime, number: str) -> Entry:
    """Entry ``number`` with its text, the entry it corrects and those correcting it."""
    with runtime.engine.connect() as connection:
        document = load_document(connection, number)
        found = _read(connection, document.office, DOCUMENT_TABLE.c.id == document.id)
    if not found:
        raise NotFound(
            _(
                "{number} is no register entry (a document, or a record of a register without "
                "register rules)"
            ).format(number=document.number),
            hint=_("see `qms doc show {number}`").format(number=document.number),
        )
    entry, sha256, media_type = found[0]
    text = None
    if media_type.startswith("text/plain"):
        text = runtime.store.path(sha256).read_bytes().decode("utf-8", "replace")
    return replace(entry, text=text)


def list_entries(
    runtime: Runtime, office: OfficeRef, type_code: str, day: date | None = None
) -> list[Entry]:
    """The entries of register ``type_code`` of ``office``, oldest first; ``day``: only that
    diary day's (a day book), or those written that day (office time)."""
    spec = register_type(runtime, office, type_code)
    where = (DOCUMENT_TABLE.c.office_id == office.id) & (TYPE_TABLE.c.code == spec.code)
    with runtime.engine.connect() as connection:
        found = [entry for entry, _sha, _media in _read(connection, office, where)]
    if day is None:
        return found
    wanted = day.isoformat()
    return [entry for entry in found if (entry.day or entry.written[:10]) == wanted]
