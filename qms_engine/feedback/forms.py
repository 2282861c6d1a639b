"""Reading a feedback form's CSV export (a Google Forms or Sheets download) with the office
type's :class:`~qms_engine.registry.feedback_forms.FeedbackForm`.

The file's bytes are read once (so a pipe, ``/dev/stdin``, works): their SHA-256 names the
import, and they are read as UTF-16 (with its byte-order mark: Excel's "Unicode Text"), else
UTF-8 (with or without a byte-order mark), else Windows-1252 (what Excel writes on an English
Windows); the result says which.  Blank lines before the header are skipped.  The header is
split at commas, semicolons or tabs, whichever finds more of the form's columns, and matched
field by field against the form's variants; a missing column stops the import, naming it and
the headers found.  Each row is then read on its own: a bad one (a rating that is not a whole
number 1–5, a time in no known format, an unknown station, more or fewer cells than the
header) is reported as ``FILE: row R (line L): what is wrong — what to do`` — R the row a
spreadsheet shows, L the line a text editor shows (a quoted comment may span lines) — quoting
its cells only scrubbed (:func:`~qms_engine.feedback.privacy.quoted`), and the others still
count.  Personal columns (name, mobile …) and any unused column are dropped as the file is
parsed: only the cells the form uses are ever kept.

A response's id (:mod:`.identity`) is computed from what is kept of it — station, UTC time,
ratings and its occurrence among identical rows — never from a cell as written, so the same
response in a later, longer or differently formatted export has the same id: re-importing
imports nothing twice.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TextIO

from qms_engine.clock import utc_now, zone
from qms_engine.errors import InvalidInput
from qms_engine.feedback.identity import ResponseIds
from qms_engine.feedback.privacy import quoted, scrub_comment
from qms_engine.feedback.stations import Station, StationIndex
from qms_engine.i18n import _
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
EARLIEST_YEAR = 2000
"""A response dated before this is a mistake in the sheet (0001 is an empty date's year)."""
DELIMITERS = (",", ";", "\t")
"""How cells may be separated: commas (Google, Excel in English), semicolons (Excel where the
decimal mark is a comma), tabs (Excel's "Unicode Text")."""
RATING_DIGITS = {
    **{str(value): value for value in RATING_SCALE},
    **{chr(0x0966 + value): value for value in RATING_SCALE},  # Devanagari १ … ५
}
"""What a rating's cell may hold (spaces aside): one ASCII or Devanagari digit 1–5."""
_OFFSET = re.compile(
    r"\s*(?:GMT|UTC)\s*(?:([+-])([0-9]{1,2})(?::?([0-9]{2}))?)?\s*$", re.IGNORECASE
)
"""A zone after the time, as the form's own download writes it: ``… 2:35:12 pm GMT+5:30``."""
_OFFSETS = (timedelta(hours=-12), timedelta(hours=14))
"""The UTC offsets of the world's zones, from Baker Island to Kiribati."""
_LOST_LETTERS = re.compile(r"(?<!\S)\?{2,}(?!\S)")
"""A word of question marks: what Excel's ANSI "CSV (Comma delimited)" writes for Hindi."""
_SAVE_AS_CSV = "download the export again as CSV; nothing was imported"


@dataclass(frozen=True)
class Response:
    """One citizen's response, as it is kept (see :mod:`.privacy`)."""

    line: int
    """The line of the file the row starts on."""
    row: int
    """The row a spreadsheet shows it on (the header's row counted)."""
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
    row: int | None = None
    """The spreadsheet row (None when only the line is known)."""

    def text(self, file: str) -> str:
        """``FILE: row R (line L): what is wrong — what to do`` (``row R`` alone when the row
        is its line)."""
        return f"{file}: {_place(self.line, self.row)}: {self.what} — {self.todo}"


@dataclass(frozen=True)
class Export:
    """What a form's CSV export held: the good responses, and the rows that were refused."""

    file: str
    """The file as it was named (in every message)."""
    sha256: str
    encoding: str
    """``UTF-8``, ``UTF-8 with BOM``, ``UTF-16`` or ``Windows-1252``."""
    time_format: str
    responses: tuple[Response, ...]
    problems: tuple[Problem, ...]
    rows: int
    """Rows read (blank lines aside)."""
    personal_columns: tuple[str, ...]
    """Headers of the personal columns dropped unread."""
    ignored_columns: tuple[str, ...]
    """Headers of the other columns the form does not use (dropped too)."""
    warnings: tuple[str, ...]
    """What was read but may not be what the sheet meant (no comment column, Hindi lost)."""


@dataclass(frozen=True)
class _Row:
    line: int
    row: int
    cells: Mapping[str, str]
    """Field → its cell (only the fields the form uses)."""
    width: int

    def problem(self, what: str, todo: str) -> Problem:
        return Problem(self.line, what, todo, self.row)


@dataclass(frozen=True)
class _Table:
    width: int
    personal: tuple[str, ...]
    ignored: tuple[str, ...]
    rows: list[_Row]
    warnings: list[str]


def read_export(
    path: Path,
    form: FeedbackForm,
    stations: StationIndex,
    *,
    file: str | None = None,
    now: datetime | None = None,
) -> Export:
    """Read the export at ``path`` (named ``file`` in messages, default the path as given); a
    time after ``now`` (default: the present) is in the future.

    Raises :class:`InvalidInput` (nothing can be read: an empty file, a spreadsheet, text in
    no known encoding, a header missing a required column, times that read two ways); bad rows
    are in the result.
    """
    name = file or str(path)
    data = _read(path, name)
    if data.startswith(b"PK\x03\x04"):
        raise InvalidInput(
            _("{name} is a spreadsheet (.xlsx or .ods), not a CSV file").format(name=name),
            hint=_("in Google Sheets: File → Download → Comma-separated values (.csv)"),
        )
    encoding, python_codec = _encoding(data, name)
    sha256 = hashlib.sha256(data).hexdigest()
    table = _table(data, python_codec, name, form)
    del data  # the rows hold what is used of it
    rows = len(table.rows)
    if not rows:
        raise InvalidInput(
            _("{name} has a header but no responses").format(name=name),
            hint=_("download the export again once responses have come in; nothing was imported"),
        )
    times, responses, problems = _responses(table, form, stations, name, now or utc_now())
    return Export(
        name,
        sha256,
        encoding,
        times.chosen or "",
        tuple(responses),
        tuple(problems),
        rows,
        table.personal,
        table.ignored,
        (*table.warnings, *times.warnings),
    )


def _place(line: int, row: int | None) -> str:
    if row is None:
        return f"line {line}"
    return f"row {row}" if row == line else f"row {row} (line {line})"


def _read(path: Path, name: str) -> bytes:
    """The file's bytes, read once: a pipe cannot be read again."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            _("cannot read {name}: {strerror}").format(name=name, strerror=exc.strerror)
        ) from None
    if not data:
        raise InvalidInput(
            _("{name} is empty").format(name=name),
            hint=_("download the form's responses as CSV and try again"),
        )
    return data


def _encoding(data: bytes, name: str) -> tuple[str, str]:
    """The file's encoding (as the result names it, and as Python does): UTF-16 with its
    byte-order mark, UTF-8, else Windows-1252; refused if it is none, or UTF damaged."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if _undecodable(data, "utf-16") is not None:
            raise InvalidInput(
                _("{name}: the file is UTF-16 text (it starts so) but is damaged").format(
                    name=name
                ),
                hint=_SAVE_AS_CSV,
            )
        return "UTF-16", "utf-16"
    bad = _undecodable(data, "utf-8")
    if bad is None:
        bom = data.startswith(codecs.BOM_UTF8)
        return ("UTF-8 with BOM" if bom else "UTF-8"), "utf-8-sig"
    line = data.count(b"\n", 0, bad) + 1
    if max(data.decode("utf-8", errors="ignore"), default="") >= "\u0800":
        raise InvalidInput(
            _(
                "{name}: line {line} is not valid UTF-8, though the file holds "
                "UTF-8 text (Hindi) elsewhere: the file is damaged"
            ).format(name=name, line=line),
            hint=_SAVE_AS_CSV,
        )
    if _undecodable(data, "cp1252") is None:
        return "Windows-1252", "cp1252"
    raise InvalidInput(
        _("{name}: line {line}: the file is neither UTF-8 nor Windows-1252 text").format(
            name=name, line=line
        ),
        hint=_("save it as CSV UTF-8 (Excel: Save As → CSV UTF-8); nothing was imported"),
    )


def _undecodable(data: bytes, codec: str) -> int | None:
    """Where ``data`` stops being text in ``codec`` (None: it is text throughout)."""
    try:
        data.decode(codec)
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _table(data: bytes, codec: str, name: str, form: FeedbackForm) -> _Table:
    """The header matched and the used cells of every row (personal ones never kept)."""
    with _field_limit(len(data) + 1):  # no cell is longer than the file
        delimiter = max(DELIMITERS, key=lambda d: _columns_found(data, codec, d, form))
        records = _records(data, codec, delimiter, name)
        found = next(((line, row, cells) for line, row, cells in records if _filled(cells)), None)
        if found is None:
            raise InvalidInput(
                _("{name} is empty (blank lines only)").format(name=name),
                hint=_("download the form's responses as CSV and try again"),
            )
        header_line, header_row, header = found
        fields, personal, ignored, warnings = _match_header(
            header, form, name, (header_line, header_row)
        )
        rows = [
            _Row(
                at,
                row,
                {f: cells[i] if i < len(cells) else "" for f, i in fields.items()},
                len(cells),
            )
            for at, row, cells in records
            if _filled(cells)
        ]
    warnings += _lost_letters(header, rows, name)
    return _Table(len(header), personal, ignored, rows, warnings)


@contextmanager
def _field_limit(size: int) -> Iterator[None]:
    """Let the csv module read cells up to ``size`` characters (its default stops at 128 KiB:
    a pasted essay of a comment would stop the whole file)."""
    before = csv.field_size_limit()
    csv.field_size_limit(max(before, size))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _filled(cells: Sequence[str]) -> bool:
    return any(cell.strip() for cell in cells)


class _Lines:
    """The text's lines, counting the line breaks read: a carriage return alone inside a
    quoted cell ends a line for the csv module, not in a text editor."""

    def __init__(self, handle: TextIO, end: str) -> None:
        self._handle = handle
        self._end = end
        self.breaks = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._handle)
        self.breaks += line.endswith(self._end)
        return line


def _records(
    data: bytes, codec: str, delimiter: str, name: str
) -> Iterator[tuple[int, int, list[str]]]:
    """Each record with the line it starts on and its spreadsheet row (blank ones counted)."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding=codec, newline="")
    lines = _Lines(text, "\n" if b"\n" in data else "\r")
    reader = csv.reader(lines, delimiter=delimiter)
    row = 0
    while True:
        line = lines.breaks + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(
                _("{name}: {place}: not readable as CSV ({exc})").format(
                    name=name, place=_place(line, row + 1), exc=exc
                ),
                hint=_SAVE_AS_CSV,
            ) from None
        row += 1
        yield line, row, cells


def _columns_found(data: bytes, codec: str, delimiter: str, form: FeedbackForm) -> int:
    """How many of the form's fields the header names when split at ``delimiter``."""
    wanted = _wanted(form)
    try:
        records = _records(data, codec, delimiter, "")
        header = next((cells for _line, _row, cells in records if _filled(cells)), [])
    except InvalidInput:
        return 0
    return len({wanted[key] for key in map(loose_key, header) if key in wanted})


def _wanted(form: FeedbackForm) -> dict[str, str]:
    """A header's loose key → the field it names."""
    return {loose_key(v): f for f, variants in form.columns.items() for v in variants}


def _match_header(
    header: Sequence[str], form: FeedbackForm, name: str, at: tuple[int, int]
) -> tuple[dict[str, int], tuple[str, ...], tuple[str, ...], list[str]]:
    """Field → column index, the headers of the personal and the unused columns, and the
    warnings (a second comment column, none at all)."""
    where = f"{name}: {_place(*at)}"
    wanted = _wanted(form)
    personal_keys = {loose_key(variant) for variant in form.personal}
    fields: dict[str, int] = {}
    personal: list[str] = []
    ignored: list[str] = []
    warnings: list[str] = []
    for index, cell in enumerate(header):
        key = loose_key(cell)
        field = wanted.get(key)
        if field is None:
            (personal if key in personal_keys else ignored).append(cell)
        elif field == COMMENT and field in fields:
            ignored.append(cell)
            warnings.append(
                f"{where}: columns {fields[field] + 1} ({header[fields[field]]!r}) and "
                f"{index + 1} ({cell!r}) both look like the comment; only column "
                f"{fields[field] + 1} is read — rename the other in the sheet to import both"
            )
        elif field in fields:
            raise InvalidInput(
                _(
                    "{where}: columns {value} ({value2}) and {value3} ({cell}) both hold {field}"
                ).format(
                    where=where,
                    value=fields[field] + 1,
                    value2=repr(header[fields[field]]),
                    value3=index + 1,
                    cell=repr(cell),
                    field=repr(field),
                ),
                hint=_("delete or rename one of them; nothing was imported"),
            )
        else:
            fields[field] = index
    missing = [f for f in (TIME, STATION, *form.ratings) if f not in fields]
    if missing:
        expected = "; ".join(f"{f}: {' or '.join(map(repr, form.columns[f]))}" for f in missing)
        raise InvalidInput(
            _(
                "{where}: the header has no column for {missing} (headers found: "
                "{items}; cells split at commas, semicolons or tabs)"
            ).format(where=where, missing=", ".join(missing), items=", ".join(map(repr, header))),
            hint=_(
                "name the columns as the form does ({expected}), or add the "
                "headers to qms.toml [feedback.columns]; nothing was imported"
            ).format(expected=expected),
        )
    if COMMENT in form.columns and COMMENT not in fields:
        example = ignored[0] if ignored else "Comments"
        warnings.append(
            _(
                "{where}: no column is the comment ({items}), so no comment is "
                "imported — if one is, add its header to qms.toml: "
                '[feedback.columns] comment = ["{example}"]'
            ).format(
                where=where, items=" or ".join(map(repr, form.columns[COMMENT])), example=example
            )
        )
    return fields, tuple(personal), tuple(ignored), warnings


def _lost_letters(header: Sequence[str], rows: Sequence[_Row], name: str) -> list[str]:
    """A warning if words of the file are question marks: Hindi saved as ANSI text."""
    if any(_LOST_LETTERS.search(cell) for cell in header):
        where = "in the header"
    else:
        lost = (
            r for r in rows if _LOST_LETTERS.search(f"{r.cells[STATION]} {r.cells.get(COMMENT)}")
        )
        first = next(lost, None)
        if first is None:
            return []
        where = f"from {_place(first.line, first.row)} on"
    return [
        _(
            "{name}: question marks stand where letters were ({where}): the "
            "file was saved as ANSI text (Excel's “CSV (Comma delimited)”), "
            "which loses Hindi — save the sheet as “CSV UTF-8 (Comma "
            "delimited)” and import that file"
        ).format(name=name, where=where)
    ]


def _responses(
    table: _Table, form: FeedbackForm, stations: StationIndex, name: str, now: datetime
) -> tuple[_Times, list[Response], list[Problem]]:
    times = _Times.of(table.rows, form, name, now)
    ids = ResponseIds()
    responses, problems = [], []
    table.rows.reverse()  # each row is let go once its response is made: popped from the end
    while table.rows:
        row = table.rows.pop()
        if row.width != table.width:  # cells shifted: any of them may hold anything
            problems.append(
                row.problem(
                    _("the row has {width} cells, the header has {width2}").format(
                        width=row.width, width2=table.width
                    ),
                    "a comma in a comment outside quotes? correct the row in the sheet, or "
                    "download the export again as CSV",
                )
            )
            continue
        found: list[Problem] = []
        station = stations.find(row.cells[STATION])
        if isinstance(station, str):
            found.append(_station_problem(row, station))
        ratings = _ratings(row, form, found)
        time = None
        if isinstance(station, Station):
            time = times.utc(row, station, found)
        if found or not isinstance(station, Station) or time is None:
            problems += found
            continue
        response_id = ids.next(station.code, time, ratings)
        comment = scrub_comment(row.cells.get(COMMENT, ""))
        responses.append(
            Response(row.line, row.row, station.code, response_id, time, ratings, comment)
        )
    return times, responses, problems


def _station_problem(row: _Row, why: str) -> Problem:
    cell = scrub_comment(row.cells[STATION])[:40] or "NAME"
    return row.problem(
        why,
        _(
            "correct it in the sheet, or name its office in qms.toml: "
            '[feedback.stations] "{cell}" = "OFFICE-CODE"'
        ).format(cell=cell),
    )


def _ratings(row: _Row, form: FeedbackForm, found: list[Problem]) -> dict[str, int]:
    ratings = {}
    for rating in form.ratings:
        cell = row.cells[rating].strip()
        value = RATING_DIGITS.get(cell) or form.rating_value(cell)
        if value is not None:
            ratings[rating] = value
            continue
        what = (
            f"{form.label(rating)} is empty"
            if not cell
            else _("{label} is {quoted}, not a whole number 1–5").format(
                label=form.label(rating), quoted=quoted(cell)
            )
        )
        found.append(row.problem(what, "correct it in the sheet (1 worst … 5 best)"))
    return ratings


@dataclass(frozen=True)
class _Times:
    """How a file's times are read: one format for the whole file, so that 03/04/2026 is read
    in the order of day and month the file's other times show — or, when every time reads
    both ways, the form's ``day_first`` says (else the file is refused)."""

    chosen: str | None
    """The format that reads the most of the file's times; None if none reads any."""
    known: tuple[str, ...]
    now: datetime
    warnings: tuple[str, ...] = ()
    """Said when the form's ``day_first`` chose between two readings of every time."""

    @classmethod
    def of(cls, rows: Sequence[_Row], form: FeedbackForm, name: str, now: datetime) -> _Times:
        known = (*form.time_formats, ISO)
        cells = [row.cells[TIME] for row in rows]
        counts = {f: sum(_parse_time(cell, f) is not None for cell in cells) for f in known}
        best = max(counts.values())
        if not best:
            return cls(None, known, now)
        tied = [f for f in known if counts[f] == best]
        if len(tied) == 1:
            return cls(tied[0], known, now)
        readings = {f: [_parse_time(cell, f) for cell in cells] for f in tied}
        ways = _ways(tied, readings)
        if len(ways) > 1 and form.day_first is not None:
            both = ways
            ways = _ways([f for f in tied if _day_first(f) in (None, form.day_first)], readings)
            if len(ways) == 1:
                _check_not_future(rows, readings[ways[0]], ways[0], form.day_first, now, name)
                other = next(f for f in both if f != ways[0])
                said = _read_as_configured(name, form.day_first, ways[0], other)
                return cls(ways[0], known, now, (said,))
        if len(ways) > 1:
            raise _two_ways(rows, ways[0], ways[1], readings, name)
        return cls(ways[0], known, now)

    def utc(self, row: _Row, station: Station, found: list[Problem]) -> datetime | None:
        """The row's time in UTC (a time without a zone is the station's), or None with the
        problem added to ``found``."""
        cell = row.cells[TIME].strip()
        moment = _parse_time(cell, self.chosen) if self.chosen else None
        if moment is None:
            found.append(row.problem(self._unread(cell), "correct it in the sheet"))
            return None
        if moment.year < EARLIEST_YEAR:
            found.append(
                row.problem(
                    _("the time {quoted} is before {earliest_year}").format(
                        quoted=quoted(cell), earliest_year=EARLIEST_YEAR
                    ),
                    "correct it in the sheet (an empty date?)",
                )
            )
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone(station.timezone))
        if _after(moment, self.now):
            found.append(
                row.problem(
                    _("the time {quoted} is in the future").format(quoted=quoted(cell)),
                    _("check the order of day and month (read as {chosen})").format(
                        chosen=self.chosen
                    ),
                )
            )
            return None
        return moment.astimezone(UTC)

    def _unread(self, cell: str) -> str:
        """Why ``cell`` is no time of the file."""
        if not cell:
            return "the time is empty"
        offset = _OFFSET.search(cell)
        if offset and _offset(offset) is None:
            return _(
                "the time {quoted} has no real zone: {strip} is not between GMT-12:00 and GMT+14:00"
            ).format(quoted=quoted(cell), strip=repr(offset.group().strip()))
        if self.chosen is None:
            known = "; ".join(self.known)
            return _("the time {quoted} is in none of the form's formats ({known})").format(
                quoted=quoted(cell), known=known
            )
        return _("the time {quoted} is not in the file's format ({chosen})").format(
            quoted=quoted(cell), chosen=self.chosen
        )


def _ways(formats: Sequence[str], readings: Mapping[str, Sequence[datetime | None]]) -> list[str]:
    """The first of ``formats`` for each different reading of the file's times."""
    firsts: dict[tuple[datetime | None, ...], str] = {}
    for time_format in formats:
        firsts.setdefault(tuple(readings[time_format]), time_format)
    return list(firsts.values())


def _day_first(time_format: str) -> bool | None:
    """Whether ``time_format`` writes the day before the month (None: the year comes first,
    or it lacks either)."""
    day, month = time_format.find("%d"), time_format.find("%m")
    years = [p for p in (time_format.find("%Y"), time_format.find("%y")) if p >= 0]
    if day < 0 or month < 0 or (years and min(years) < min(day, month)):
        return None
    return day < month


def _order(day_first: bool) -> str:
    return "day first" if day_first else "month first"


def _two_ways(
    rows: Sequence[_Row],
    first: str,
    second: str,
    readings: Mapping[str, Sequence[datetime | None]],
    name: str,
) -> InvalidInput:
    """The file refused: its times read as well in ``first`` as in ``second``."""
    pairs = list(zip(readings[first], readings[second], strict=True))
    differ = [i for i, (one, other) in enumerate(pairs) if one != other]
    index = next((i for i in differ if None not in pairs[i]), differ[0])
    one, other = pairs[index]
    row = rows[index]
    return InvalidInput(
        _(
            "{name}: the file's times read two ways, e.g. {place}: {quoted} "
            "is {day} ({first}) or {day2} ({second})"
        ).format(
            name=name,
            place=_place(row.line, row.row),
            quoted=quoted(row.cells[TIME]),
            day=_day(one),
            first=first,
            day2=_day(other),
            second=second,
        ),
        hint=_(
            "say which order of day and month the sheet writes, in qms.toml: "
            " [feedback]  day_first = true  (or false); a plugin's form may "
            "say it (FeedbackForm day_first); nothing was imported"
        ),
    )


def _day(moment: datetime | None) -> str:
    return "not a time" if moment is None else f"{moment:%d %B %Y}"


def _read_as_configured(name: str, day_first: bool, chosen: str, other: str) -> str:
    return _(
        "{name}: every time in the file reads two ways; they were read "
        "{order} ({chosen}) as configured (qms.toml [feedback] "
        "day_first, else the office type's form), not {order2} ({other}) "
        "— if the sheet writes the {order2}, set day_first = {lower} in "
        "qms.toml before the next import"
    ).format(
        name=name,
        order=_order(day_first),
        chosen=chosen,
        order2=_order(not day_first),
        other=other,
        lower=str(not day_first).lower(),
    )


def _check_not_future(
    rows: Sequence[_Row],
    moments: Sequence[datetime | None],
    chosen: str,
    day_first: bool,
    now: datetime,
    name: str,
) -> None:
    """Refuse the file if a time read in the configured order of day and month (every one
    would read the other way too) falls in the future: the sheet writes the other order."""
    for row, moment in zip(rows, moments, strict=True):
        if moment is not None and moment.year >= EARLIEST_YEAR and _after(moment, now):
            raise InvalidInput(
                _(
                    "{name}: {place}: read {order} as configured ({chosen}), the "
                    "time {quoted} is {day}, in the future"
                ).format(
                    name=name,
                    place=_place(row.line, row.row),
                    order=_order(day_first),
                    chosen=chosen,
                    quoted=quoted(row.cells[TIME]),
                    day=_day(moment),
                ),
                hint=_(
                    "if the sheet writes the {order}, set day_first = {value} in "
                    "qms.toml [feedback]; nothing was imported"
                ).format(order=_order(not day_first), value="false" if day_first else "true"),
            )


def _after(moment: datetime, now: datetime) -> bool:
    """Whether ``moment`` is after ``now`` (a few minutes' clock difference aside); a time
    without a zone is taken in the zone furthest ahead (its earliest instant)."""
    if moment.year > now.year + 1:  # also keeps 31 December 9999 from overflowing
        return True
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(_OFFSETS[1]))
    return moment > now + timedelta(minutes=5)


def _offset(match: re.Match[str]) -> timezone | None:
    """The UTC offset a ``GMT+5:30`` names, or None if no zone has it."""
    sign, hours, minutes = match.groups()
    if int(minutes or 0) >= 60:
        return None
    delta = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    delta = -delta if sign == "-" else delta
    return timezone(delta) if _OFFSETS[0] <= delta <= _OFFSETS[1] else None


def _parse_time(text: str, time_format: str) -> datetime | None:
    """``text`` in ``time_format`` (naive: the office's local time), or None."""
    text = text.strip()
    offset = None
    match = _OFFSET.search(text)
    if match and time_format != ISO:
        offset = _offset(match)
        if offset is None:
            return None
        text = text[: match.start()]
    try:
        moment = (
            datetime.fromisoformat(text)
            if time_format == ISO
            else datetime.strptime(text, time_format)
        )
    except ValueError:
        return None
    return moment.replace(tzinfo=offset) if offset is not None else moment
