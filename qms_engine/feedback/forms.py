"""Reading a feedback form's CSV export (a Google Forms or Sheets download) with the office
type's :class:`~qms_engine.registry.feedback_forms.FeedbackForm`.

The file is read as UTF-8 (with or without a byte-order mark), else as Windows-1252 (what Excel
writes on an English Windows); the result says which.  The header (line 1) is matched field by
field against the form's variants; a missing column stops the import, naming it and the
headers found.  Each row is then read on its own: a bad one (a rating that is not a whole
number 1–5, a time in no known format, an unknown station) is reported as
``FILE:LINE: what is wrong — what to do``, with the physical line a spreadsheet shows, and the
others still count.  Personal columns (name, mobile …) and any unused column are dropped as
each row is read: only the cells the form uses are ever kept.

A response's id is the first 16 hex digits of the SHA-256 of its station and its used cells
(and, for rows identical in every used cell, which of them it is), so the same row of a later,
longer export has the same id: re-importing imports nothing twice.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TextIO

from qms_engine.clock import utc_now, zone
from qms_engine.errors import InvalidInput
from qms_engine.feedback.privacy import scrub_comment
from qms_engine.feedback.stations import Station, StationIndex
from qms_engine.registry.feedback_forms import (
    COMMENT,
    RATING_SCALE,
    STATION,
    TIME,
    FeedbackForm,
    loose_key,
)

ISO = "ISO 8601"
"""The time format always understood besides the form's: ``2026-11-24T10:40:46+05:30``."""
_OFFSET = re.compile(r"\s*(?:GMT|UTC)\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?\s*$", re.IGNORECASE)
"""A zone after the time, as the form's own download writes it: ``… 2:35:12 pm GMT+5:30``."""


@dataclass(frozen=True)
class Response:
    """One citizen's response, as it is kept (see :mod:`.privacy`)."""

    line: int
    station: str
    """The office code."""
    response_id: str
    time: datetime
    """UTC."""
    ratings: Mapping[str, int]
    comment: str


@dataclass(frozen=True)
class Problem:
    """Why a row of the file was not imported."""

    line: int
    what: str
    todo: str

    def text(self, file: str) -> str:
        """``FILE:LINE: what is wrong — what to do``."""
        return f"{file}:{self.line}: {self.what} — {self.todo}"


@dataclass(frozen=True)
class Export:
    """What a form's CSV export held: the good responses, and the rows that were refused."""

    file: str
    """The file as it was named (in every message)."""
    sha256: str
    encoding: str
    """``UTF-8``, ``UTF-8 with BOM`` or ``Windows-1252``."""
    time_format: str
    responses: tuple[Response, ...]
    problems: tuple[Problem, ...]
    rows: int
    """Rows read (blank lines aside)."""
    personal_columns: tuple[str, ...]
    """Headers of the personal columns dropped unread."""
    ignored_columns: tuple[str, ...]
    """Headers of the other columns the form does not use (dropped too)."""


@dataclass(frozen=True)
class _Row:
    line: int
    cells: Mapping[str, str]
    """Field → its cell (only the fields the form uses)."""
    width: int


@dataclass(frozen=True)
class _Table:
    fields: Mapping[str, int]
    width: int
    personal: tuple[str, ...]
    ignored: tuple[str, ...]
    rows: list[_Row]


@dataclass
class _Bytes:
    """What one pass over the file's bytes, line by line, tells before it is parsed."""

    sha256: str = ""
    head: bytes = b""
    not_utf8: int | None = None
    """The first line that is not UTF-8."""
    not_cp1252: int | None = None
    """The first line that is not Windows-1252 (which leaves five bytes undefined)."""
    utf8_text: bool = False
    """Whether a line holds UTF-8 text no Windows-1252 file could (Devanagari …)."""


def read_export(
    path: Path, form: FeedbackForm, stations: StationIndex, *, file: str | None = None
) -> Export:
    """Read the export at ``path`` (named ``file`` in messages, default the path as given).

    Raises :class:`InvalidInput` (nothing can be read: an empty file, a spreadsheet, text in
    no known encoding, a header missing a required column); bad rows are in the result.
    """
    name = file or str(path)
    scanned = _scan(path, name)
    if scanned.head.startswith(b"PK\x03\x04"):
        raise InvalidInput(
            f"{name} is a spreadsheet (.xlsx or .ods), not a CSV file",
            hint="in Google Sheets: File → Download → Comma-separated values (.csv)",
        )
    encoding, python_codec = _encoding(scanned, name)
    with path.open(encoding=python_codec, newline="") as handle:
        table = _table(handle, name, form)
    if not table.rows:
        raise InvalidInput(
            f"{name} has a header but no responses",
            hint="download the export again once responses have come in; nothing was imported",
        )
    time_format, responses, problems = _responses(table, form, stations)
    return Export(
        name,
        scanned.sha256,
        encoding,
        time_format,
        tuple(responses),
        tuple(problems),
        len(table.rows),
        table.personal,
        table.ignored,
    )


def _scan(path: Path, name: str) -> _Bytes:
    """The file's SHA-256, first bytes and encoding, one line in memory at a time."""
    digest = hashlib.sha256()
    found = _Bytes()
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                digest.update(line)
                found.head = found.head or line[:4]
                try:
                    found.utf8_text |= max(line.decode("utf-8"), default="") >= "\u0800"
                except UnicodeDecodeError:
                    found.not_utf8 = found.not_utf8 or number
                try:
                    line.decode("cp1252")
                except UnicodeDecodeError:
                    found.not_cp1252 = found.not_cp1252 or number
    except OSError as exc:
        raise InvalidInput(f"cannot read {name}: {exc.strerror}") from None
    if not found.head:
        raise InvalidInput(
            f"{name} is empty", hint="download the form's responses as CSV and try again"
        )
    found.sha256 = digest.hexdigest()
    return found


def _encoding(scanned: _Bytes, name: str) -> tuple[str, str]:
    """The file's encoding (as the result names it, and as Python does): UTF-8, else
    Windows-1252; refused if it is neither, or UTF-8 damaged."""
    if scanned.not_utf8 is None:
        bom = scanned.head.startswith(codecs.BOM_UTF8)
        return ("UTF-8 with BOM" if bom else "UTF-8"), "utf-8-sig"
    if scanned.utf8_text:
        raise InvalidInput(
            f"{name}:{scanned.not_utf8}: this line is not valid UTF-8, though the file holds "
            "UTF-8 text (Hindi) elsewhere: the file is damaged",
            hint="download the export again as CSV; nothing was imported",
        )
    if scanned.not_cp1252 is None:
        return "Windows-1252", "cp1252"
    raise InvalidInput(
        f"{name}:{scanned.not_utf8}: the file is neither UTF-8 nor Windows-1252 text",
        hint="save it as CSV UTF-8 (Excel: Save As → CSV UTF-8); nothing was imported",
    )


def _table(handle: TextIO, name: str, form: FeedbackForm) -> _Table:
    """The header matched and the used cells of every row (personal ones never kept)."""
    reader = csv.reader(handle)
    rows = _records(reader, name)
    first = next(rows, None)
    if first is None:
        raise InvalidInput(
            f"{name} is empty", hint="download the form's responses as CSV and try again"
        )
    header = first[1]
    fields, personal, ignored = _match_header(header, form, name)
    kept = [
        _Row(line, {f: cells[i] if i < len(cells) else "" for f, i in fields.items()}, len(cells))
        for line, cells in rows
        if any(cell.strip() for cell in cells)
    ]
    return _Table(fields, len(header), personal, ignored, kept)


def _records(reader: Iterator[list[str]], name: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the physical line it starts on (a quoted comment may span lines)."""
    line_num = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(
                f"{name}:{line_num + 1}: not readable as CSV ({exc})",
                hint="download the export again as CSV; nothing was imported",
            ) from None
        start, line_num = line_num + 1, reader.line_num  # type: ignore[attr-defined]
        yield start, cells


def _match_header(
    header: Sequence[str], form: FeedbackForm, name: str
) -> tuple[dict[str, int], tuple[str, ...], tuple[str, ...]]:
    """Field → column index, and the headers of the personal and the unused columns."""
    wanted = {loose_key(v): f for f, variants in form.columns.items() for v in variants}
    personal_keys = {loose_key(variant) for variant in form.personal}
    fields: dict[str, int] = {}
    personal: list[str] = []
    ignored: list[str] = []
    for index, cell in enumerate(header):
        key = loose_key(cell)
        field = wanted.get(key)
        if field is None:
            (personal if key in personal_keys else ignored).append(cell)
        elif field in fields:
            raise InvalidInput(
                f"{name}:1: columns {fields[field] + 1} ({header[fields[field]]!r}) and "
                f"{index + 1} ({cell!r}) both hold {field!r}",
                hint="delete or rename one of them; nothing was imported",
            )
        else:
            fields[field] = index
    missing = [f for f in (TIME, STATION, *form.ratings) if f not in fields]
    if missing:
        expected = "; ".join(f"{f}: {' or '.join(map(repr, form.columns[f]))}" for f in missing)
        raise InvalidInput(
            f"{name}:1: the header has no column for {', '.join(missing)} (headers found: "
            f"{', '.join(map(repr, header))})",
            hint=f"name the columns as the form does ({expected}), or add the headers to "
            "qms.toml [feedback.columns]; nothing was imported",
        )
    return fields, tuple(personal), tuple(ignored)


def _responses(
    table: _Table, form: FeedbackForm, stations: StationIndex
) -> tuple[str, list[Response], list[Problem]]:
    times = _Times.of([row.cells[TIME] for row in table.rows], form.time_formats)
    seen: Counter[tuple[str, ...]] = Counter()
    responses, problems = [], []
    for row in table.rows:
        found: list[Problem] = []
        station = stations.find(row.cells[STATION])
        if isinstance(station, str):
            found.append(_station_problem(row, station))
        ratings = _ratings(row, form, found)
        if row.width > table.width:
            found.append(
                Problem(
                    row.line,
                    f"the row has {row.width} cells, the header {table.width}",
                    "a comma in a comment outside quotes? download the export again as CSV",
                )
            )
        time = None
        if isinstance(station, Station):
            time = times.utc(row, station, found)
        if found or not isinstance(station, Station) or time is None:
            problems += found
            continue
        used = (station.code, *(row.cells[f] for f in sorted(row.cells)))
        seen[used] += 1
        response_id = hashlib.sha256(
            "\x1f".join((*used, str(seen[used]))).encode("utf-8")
        ).hexdigest()[:16]
        comment = scrub_comment(row.cells.get(COMMENT, ""))
        responses.append(Response(row.line, station.code, response_id, time, ratings, comment))
    return times.chosen or "", responses, problems


def _station_problem(row: _Row, why: str) -> Problem:
    cell = row.cells[STATION].strip() or "NAME"
    return Problem(
        row.line,
        why,
        f"correct it in the sheet, or name its office in qms.toml: [feedback.stations] "
        f'"{cell}" = "OFFICE-CODE"',
    )


def _ratings(row: _Row, form: FeedbackForm, found: list[Problem]) -> dict[str, int]:
    ratings = {}
    for rating in form.ratings:
        cell = row.cells[rating].strip()
        try:
            value = int(cell)
        except ValueError:
            value = 0
        if value in RATING_SCALE:
            ratings[rating] = value
            continue
        what = (
            f"{form.label(rating)} is empty"
            if not cell
            else (f"{form.label(rating)} is {cell!r}, not a whole number 1–5")
        )
        found.append(Problem(row.line, what, "correct it in the sheet (1 worst … 5 best)"))
    return ratings


@dataclass(frozen=True)
class _Times:
    """How a file's times are read: one format for the whole file, so that 03/04/2026 is read
    in the order of day and month the file's other times show."""

    chosen: str | None
    """The format that reads the most of the file's times (the first on a tie); None if none
    reads any."""
    known: tuple[str, ...]
    now: datetime

    @classmethod
    def of(cls, cells: Sequence[str], formats: Sequence[str]) -> _Times:
        known = (*formats, ISO)
        counts = [sum(_parse_time(cell, f) is not None for cell in cells) for f in known]
        chosen = known[counts.index(max(counts))] if max(counts) else None
        return cls(chosen, known, utc_now())

    def utc(self, row: _Row, station: Station, found: list[Problem]) -> datetime | None:
        """The row's time in UTC (a time without a zone is the station's), or None with the
        problem added to ``found``."""
        cell = row.cells[TIME].strip()
        moment = _parse_time(cell, self.chosen) if self.chosen else None
        if moment is None:
            if not cell:
                what = "the time is empty"
            elif self.chosen is None:
                what = (
                    f"the time {cell!r} is in none of the form's formats ({'; '.join(self.known)})"
                )
            else:
                what = f"the time {cell!r} is not in the file's format ({self.chosen})"
            found.append(Problem(row.line, what, "correct it in the sheet"))
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone(station.timezone))
        moment = moment.astimezone(UTC)
        if moment > self.now + timedelta(minutes=5):
            found.append(
                Problem(
                    row.line,
                    f"the time {cell!r} is in the future",
                    f"check the order of day and month (read as {self.chosen})",
                )
            )
            return None
        return moment


def _parse_time(text: str, time_format: str) -> datetime | None:
    """``text`` in ``time_format`` (naive: the office's local time), or None."""
    text = text.strip()
    offset = None
    match = _OFFSET.search(text)
    if match and time_format != ISO:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
        offset = timezone(-delta if sign == "-" else delta)
        text = text[: match.start()]
    try:
        moment = (
            datetime.fromisoformat(text)
            if time_format == ISO
            else datetime.strptime(text, time_format)
        )
    except ValueError:
        return None
    return moment.replace(tzinfo=offset) if offset else moment
