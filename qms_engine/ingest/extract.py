"""Reading record metadata from what a clerk dropped: .docx text, a JSON sidecar, the file name.

Everything here treats its input as hostile.  A ``.docx`` is a ZIP package, so before python-docx
sees it the package is inspected with :mod:`zipfile`: a file that is not a ZIP, is encrypted, or
looks like a ZIP bomb is refused from its headers alone (nothing decompressed), and then every
part is streamed through a bounded reader, because a bomb can lie in its headers.  Whatever goes
wrong, the caller gets an :class:`ExtractionError` saying what is wrong and what the clerk should
do — never a traceback, so one bad file cannot stop the watched folder.

Fields come from two-column tables (``Entry number | 17``) and ``Label: value`` paragraphs; labels
are normalised (:func:`normalise_label`) and mapped to field names by the plugin's ``labels``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import posixpath
import re
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from types import MappingProxyType
from typing import IO, Any
from xml.etree import ElementTree

import docx
from docx.document import Document as DocxDocument
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.styles.style import ParagraphStyle
from docx.table import Table
from docx.text.paragraph import Paragraph

from qms_engine.files import NotRegularFile, open_regular
from qms_engine.i18n import N_, _
from qms_engine.ingest.inbox import sidecar_of
from qms_engine.search.text import CENTRAL_DIRECTORY_BYTES_PER_ENTRY, central_directory_extent

MAX_FIELDS = 500
MAX_VALUE_CHARS = 2_000
MAX_LABEL_CHARS = 80  # longer "labels" are sentences that happen to contain a colon
MAX_TITLE_CHARS = 300
MAX_HEADINGS = 1_000
MAX_PROPERTY_CHARS = 2_000
MAX_SIDECAR_BYTES = 1024 * 1024
SMALL_MEMBER = 1024 * 1024  # the ratio limit ignores parts smaller than this (uncompressed)
CHUNK = 64 * 1024
MAX_READ_AHEAD_BYTES = 256 * 1024 * 1024  # larger files are read from the staged blob instead
SPOOL_BYTES = 16 * 1024 * 1024  # a worker's snapshot stays in memory up to this size

SAVE_AS_DOCX = N_(
    "open it in Word or LibreOffice and save it as Word Document (.docx), then drop it again"
)
CALL_ADMIN = N_(
    "do not open it; move it aside and contact the system administrator, "
    "who should check where it came from"
)
PASSWORD_ADVICE = N_(
    "remove the password (in Word: File > Info > Protect Document > Encrypt with Password, "
    "clear it), save it as Word Document (.docx), then drop it again"
)
STRICT_NAMESPACE = "http://purl.oclc.org/ooxml/"
WORD_STRICT_MAIN = "http://purl.oclc.org/ooxml/wordprocessingml/main"
CFB_SIGNATURE = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .doc, or an encrypted .docx
)
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
CFB_SCAN_BYTES = 8 * 1024 * 1024

# Heading styles by name or id, casefolded.  Word localises style names (German "Überschrift 1",
# whose id Word mangles to "berschrift1"), so this is best effort; an outline level on the style
# (what Word's navigation pane uses) catches the rest.
HEADING_PREFIXES = (
    "heading",
    "title",
    "überschrift",
    "berschrift",
    "titel",
    "titre",
    "título",
    "titulo",
    "शीर्षक",
)
LABEL_SEPARATORS = ":।："  # ASCII colon, Devanagari danda, full-width colon


@dataclass(frozen=True)
class Extracted:
    """What a document says about itself; the pipeline decides what to trust."""

    title: str | None
    """Core-properties title, else the first heading, else the first non-empty paragraph."""
    fields: dict[str, str]
    """Record fields, e.g. ``{"case_number": "123/2026", "seal_number": "S-45"}``."""
    headings: list[str]
    properties: dict[str, str]
    """Core properties that are set (title, subject, author, keywords, created, modified, ...)."""


class ExtractionError(Exception):
    """Why a file cannot be read, and what the clerk should do; str() is the problem."""

    def __init__(self, problem: str, advice: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.advice = advice

    def __reduce__(self) -> tuple[type[ExtractionError], tuple[str, str]]:
        # Raised in worker processes too (documents are read ahead on every core).
        return (ExtractionError, (self.problem, self.advice))


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on a .docx package: generous for real documents, tight for ZIP bombs."""

    max_entries: int = 5_000
    max_total_uncompressed: int = 256 * 1024 * 1024
    max_member_uncompressed: int = 64 * 1024 * 1024
    max_ratio: int = 200
    """Uncompressed / compressed size of one part (parts under 1 MiB uncompressed exempt)."""


DEFAULT_LIMITS = ZipLimits()
_NO_LABELS: Mapping[str, str] = MappingProxyType({})


# --------------------------------------------------------------------------------------- labels


def _is_trim(char: str) -> bool:
    """Punctuation, symbols, separators and controls are trimmed from a label's ends."""
    return char.isspace() or unicodedata.category(char)[0] in "PSZC"


def normalise_label(text: str) -> str:
    """One spelling per label, so "Case No.:", " case  no " and "CASE NO" all map alike.

    Casefolded and NFC-normalised; punctuation, symbols and spaces trimmed from both ends; inner
    whitespace runs become ``_``.  Devanagari (and any other script) is kept as it is.
    """
    text = unicodedata.normalize("NFC", text).casefold()
    start, end = 0, len(text)
    while start < end and _is_trim(text[start]):
        start += 1
    while end > start and _is_trim(text[end - 1]):
        end -= 1
    return "_".join(text[start:end].split())


class _FieldCollector:
    """Collects fields in document order: first occurrence wins, bounded count and size."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self._labels = {normalise_label(key): value for key, value in labels.items()}
        self.fields: dict[str, str] = {}

    def add(self, label: str, value: str) -> None:
        key = normalise_label(label)
        value = value.strip()
        if not key or not value or len(key) > MAX_LABEL_CHARS or len(self.fields) >= MAX_FIELDS:
            return
        name = self._labels.get(key, key)
        if name not in self.fields:
            self.fields[name] = value[:MAX_VALUE_CHARS]

    def add_row(self, cells: Sequence[str]) -> None:
        """Label = first non-empty cell; value = next cell not repeating it (merged cells)."""
        texts = [cell.strip() for cell in cells]
        first = next((i for i, text in enumerate(texts) if text), None)
        if first is None:
            return
        label = texts[first]
        value = next((text for text in texts[first + 1 :] if text != label), None)
        if value is not None:
            self.add(label, value)

    def add_line(self, text: str) -> None:
        """``Label: value`` (also with a danda ``।`` or a full-width colon ``：``).

        Only the first line's first separator counts, and only within a label's length, so a
        paragraph of prose costs one short scan.
        """
        head = text[: MAX_LABEL_CHARS * 2]
        positions = [head.find(separator) for separator in LABEL_SEPARATORS]
        found = [position for position in positions if position > 0]
        if not found:
            return
        split = min(found)
        label = text[:split]
        if "\n" not in label and any(char.isalpha() for char in label):
            self.add(label, text[split + 1 :])


# ---------------------------------------------------------------------------- package checks


def _not_a_docx(name: str, why: str) -> ExtractionError:
    return ExtractionError(
        _("{name} is not a Word .docx document ({why})").format(name=name, why=why), _(SAVE_AS_DOCX)
    )


def _bomb(name: str, why: str) -> ExtractionError:
    return ExtractionError(
        _("{name} looks like a ZIP bomb: {why}").format(name=name, why=why), _(CALL_ADMIN)
    )


def _size(count: int) -> str:
    return f"{count:,} bytes"


def _refuse_non_zip(name: str, handle: IO[bytes]) -> ExtractionError:
    """The most helpful reason a file without a ZIP end record is not a .docx."""
    handle.seek(0)
    head = handle.read(len(CFB_SIGNATURE))
    size = handle.seek(0, 2)
    if name.startswith("~$") and size < 4096:
        return ExtractionError(
            _(
                "{name} is not a Word .docx document (it is the lock file Word "
                "keeps beside a document while it is open, not a ZIP package)"
            ).format(name=name),
            _(
                "nothing to file: close the document in Word and the lock file "
                "disappears; drop the document itself"
            ),
        )
    if head == CFB_SIGNATURE:
        handle.seek(0)
        seen = b""
        while handle.tell() < CFB_SCAN_BYTES:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            if ENCRYPTED_PACKAGE in seen[-len(ENCRYPTED_PACKAGE) :] + chunk:
                return ExtractionError(
                    _("{name} is password-protected (Word encrypted the whole document)").format(
                        name=name
                    ),
                    _(PASSWORD_ADVICE),
                )
            seen = chunk
        return _not_a_docx(
            name, _("it is not a ZIP package but an older Word 97-2003 .doc or other OLE file")
        )
    if head.startswith(b"PK"):
        return ExtractionError(
            _(
                "{name} is not a readable Word .docx document (the ZIP package "
                "is incomplete or damaged: it has no central directory; it may "
                "not have finished copying)"
            ).format(name=name),
            _(
                "if it was still being copied, drop it again once the copy has finished; "
                "otherwise {advice}"
            ).format(advice=_(SAVE_AS_DOCX)),
        )
    return _not_a_docx(
        name, _("it is not a ZIP package; it may be a renamed .doc, a PDF, or damaged")
    )


def _main_part(archive: zipfile.ZipFile) -> tuple[str | None, bool]:
    """(main document part name, is ISO/IEC 29500 Strict) from ``_rels/.rels``, best effort."""
    try:
        info = archive.getinfo("_rels/.rels")
        if info.file_size > SMALL_MEMBER:
            return None, False
        with archive.open(info) as member:
            data = member.read(SMALL_MEMBER + 1)
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # OPC forbids DTDs; no entity games
            return None, False
        root = ElementTree.fromstring(data)
    except Exception:
        return None, False  # python-docx will say what is wrong with the package
    for relationship in root:
        kind = relationship.get("Type", "")
        if kind.endswith("/officeDocument") and relationship.get("TargetMode") != "External":
            target = relationship.get("Target", "")
            if not target:
                return None, False
            main = posixpath.normpath(posixpath.join("/", target)).lstrip("/")
            return main, kind.startswith(STRICT_NAMESPACE)
    return None, False


def _read_bounded(
    name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits, budget: int
) -> int:
    """Decompress one part in chunks, never past its declared size; return the bytes it held.

    :mod:`zipfile` stops at the declared size, so the reader is given a copy of the entry that
    declares one byte more than may be read: a part that delivers that byte lied in its
    headers.  The copy carries no CRC (zipfile would check it against the cut-off data); the
    CRC is checked here instead, over the whole part.
    """
    declared = info.file_size
    cap = min(declared, limits.max_member_uncompressed, budget)
    probe = copy.copy(info)
    probe.file_size = cap + 1
    del probe.CRC
    actual = 0
    crc = 0
    try:
        with archive.open(probe) as member:
            while chunk := member.read(min(CHUNK, cap + 1 - actual)):
                actual += len(chunk)
                if actual > cap:
                    break
                crc = zlib.crc32(chunk, crc)
    except Exception as exc:
        raise _damaged(name, info, f"{type(exc).__name__}: {_short(exc)}") from None
    if actual > declared:
        raise _bomb(
            name,
            _(
                "part {filename} declares {size} uncompressed but holds more (its headers lie)"
            ).format(filename=repr(info.filename), size=_size(declared)),
        )
    if actual > cap:
        raise _bomb(
            name, _("its parts decompress to more than {size} in total").format(size=_size(budget))
        )
    if actual < declared:
        raise _damaged(
            name,
            info,
            _("it holds {size}, not the {size2} declared").format(
                size=_size(actual), size2=_size(declared)
            ),
        )
    if crc != info.CRC:
        raise _damaged(name, info, _("its CRC-32 checksum does not match"))
    return actual


def _damaged(name: str, info: zipfile.ZipInfo, why: str) -> ExtractionError:
    return ExtractionError(
        _("{name} is damaged: its part {filename} cannot be read ({why})").format(
            name=name, filename=repr(info.filename), why=why
        ),
        _(SAVE_AS_DOCX),
    )


def _check_package(name: str, handle: IO[bytes], limits: ZipLimits) -> bool:
    """Refuse what python-docx must not open; return whether the package is Strict OOXML."""
    extent = central_directory_extent(handle)
    if extent is None:
        raise _refuse_non_zip(name, handle)
    entries, directory = extent
    if entries > limits.max_entries:
        raise _bomb(
            name,
            _("it has {entries:,} entries (limit {max_entries:,})").format(
                entries=entries, max_entries=limits.max_entries
            ),
        )
    if directory > max(limits.max_entries, 1) * CENTRAL_DIRECTORY_BYTES_PER_ENTRY:
        raise _bomb(
            name,
            _(
                "its table of contents is {size}, too big for {max_entries:,} "
                "entries (limit on entries)"
            ).format(size=_size(directory), max_entries=limits.max_entries),
        )
    try:
        handle.seek(0)
        archive = zipfile.ZipFile(handle)
    except Exception as exc:
        raise ExtractionError(
            _(
                "{name} is not a readable Word .docx document (the ZIP package "
                "is damaged: {name2}: {short})"
            ).format(name=name, name2=type(exc).__name__, short=_short(exc)),
            _(SAVE_AS_DOCX),
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_entries:
            raise _bomb(
                name,
                _("it has {count:,} entries (limit {max_entries:,})").format(
                    count=len(members), max_entries=limits.max_entries
                ),
            )
        if any(info.flag_bits & 0x1 for info in members):
            raise ExtractionError(
                _("{name} is password-protected (encrypted ZIP)").format(name=name),
                _(PASSWORD_ADVICE),
            )
        total = 0
        for info in members:
            total += info.file_size
            if info.file_size > limits.max_member_uncompressed:
                raise _bomb(
                    name,
                    _(
                        "part {filename} declares {size} uncompressed (limit per part {size2})"
                    ).format(
                        filename=repr(info.filename),
                        size=_size(info.file_size),
                        size2=_size(limits.max_member_uncompressed),
                    ),
                )
            if info.file_size >= SMALL_MEMBER and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                ratio = info.file_size // max(info.compress_size, 1)
                raise _bomb(
                    name,
                    _(
                        "part {filename} expands {ratio:,} times when decompressed "
                        "(limit on compression ratio {max_ratio:,})"
                    ).format(filename=repr(info.filename), ratio=ratio, max_ratio=limits.max_ratio),
                )
        if total > limits.max_total_uncompressed:
            raise _bomb(
                name,
                _("its parts declare {size} uncompressed in total (limit {size2})").format(
                    size=_size(total), size2=_size(limits.max_total_uncompressed)
                ),
            )
        names = {info.filename for info in members}
        if "[Content_Types].xml" not in names:
            raise _not_a_docx(
                name,
                _(
                    "the ZIP package has no [Content_Types].xml; it may be another "
                    "kind of ZIP file renamed to .docx"
                ),
            )
        main, strict = _main_part(archive)
        if main is not None and main not in names:
            raise _not_a_docx(
                name, _("its main document part {main} is missing").format(main=repr(main))
            )
        budget = limits.max_total_uncompressed
        # The main part first: it is what python-docx parses, and what a bomb would target.
        for info in sorted(members, key=lambda info: info.filename != main):
            budget -= _read_bounded(name, archive, info, limits, budget)
    return strict


# ------------------------------------------------------------------------------- extraction


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_title(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """The one normalisation of a title derived from a file name, a field or a document.

    Control characters (newline, ESC, DEL, C1 controls …) and lone surrogates (from a file name
    that is not valid UTF-8) become spaces, whitespace runs one space, both ends trimmed, at
    most ``limit`` characters.  Format characters such as the zero-width joiner that Devanagari
    needs are kept.
    """
    kept = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") else char for char in text
    )
    return " ".join(kept.split())[:limit]


def _clean(text: str, limit: int) -> str:
    return clean_title(text, limit)


def _is_heading_style(style: ParagraphStyle | None, seen: int = 0) -> bool:
    if style is None or seen > 10:
        return False
    for label in (style.name, style.style_id):
        if label and label.casefold().startswith(HEADING_PREFIXES):
            return True
    level = style.element.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
    if level is not None and level.get(qn("w:val"), "") in set("012345678"):
        return True
    base = style.base_style
    return isinstance(base, ParagraphStyle) and _is_heading_style(base, seen + 1)


class _Headings:
    """Memoised per style id: style lookups in python-docx walk the whole styles part."""

    def __init__(self) -> None:
        self._known: dict[str | None, bool] = {}

    def __call__(self, paragraph: Paragraph) -> bool:
        style_id = paragraph._p.style
        if style_id not in self._known:
            self._known[style_id] = style_id is not None and _is_heading_style(paragraph.style)
        return self._known[style_id]


def _properties(document: DocxDocument) -> dict[str, str]:
    """Core properties actually present (python-docx invents defaults when the part is absent)."""
    try:
        document.part.package.part_related_by(RT.CORE_PROPERTIES)
    except KeyError:
        return {}
    core = document.core_properties
    found: dict[str, str] = {}
    texts = {
        "title": core.title,
        "subject": core.subject,
        "author": core.author,
        "keywords": core.keywords,
        "last_modified_by": core.last_modified_by,
    }
    for key, text in texts.items():
        cleaned = _clean(text or "", MAX_PROPERTY_CHARS)
        if cleaned:
            found[key] = cleaned
    for key, moment in (("created", core.created), ("modified", core.modified)):
        if isinstance(moment, datetime):
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            found[key] = moment.astimezone(UTC).isoformat()
    return found


def _read(document: DocxDocument, labels: Mapping[str, str]) -> Extracted:
    properties = _properties(document)
    collector = _FieldCollector(labels)
    is_heading = _Headings()
    headings: list[str] = []
    first_text: str | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = row.cells
                if len(cells) >= 2:
                    collector.add_row([cell.text for cell in cells])
            continue
        text = block.text
        if not text.strip():
            continue
        if first_text is None:
            first_text = _clean(text, MAX_TITLE_CHARS)
        if is_heading(block):
            if len(headings) < MAX_HEADINGS:
                headings.append(_clean(text, MAX_TITLE_CHARS))
        else:
            collector.add_line(text)
    title = properties.get("title") or (headings[0] if headings else first_text)
    return Extracted(
        title=title[:MAX_TITLE_CHARS] if title else None,
        fields=collector.fields,
        headings=headings,
        properties=properties,
    )


def extract_docx(
    path: Path, labels: Mapping[str, str] = _NO_LABELS, limits: ZipLimits = DEFAULT_LIMITS
) -> Extracted:
    """Title, fields, headings and core properties of a .docx, or ExtractionError saying why not.

    ``labels`` maps a label as the clerk types it (``"Case No."``, ``"मुकदमा संख्या"``) to a
    field name; labels not in it are kept normalised.  Only a regular file is opened
    (:func:`~qms_engine.files.open_regular`: never a named pipe or a link).
    """
    try:
        with open_regular(path) as handle:
            return read_docx(handle, path.name, labels, limits)
    except OSError as exc:
        raise ExtractionError(
            _("{name} could not be opened ({name2}: {short})").format(
                name=path.name, name2=type(exc).__name__, short=_short(exc)
            ),
            _("check that the file is still there and readable, then drop it again"),
        ) from None


def read_docx(
    handle: IO[bytes],
    name: str,
    labels: Mapping[str, str] = _NO_LABELS,
    limits: ZipLimits = DEFAULT_LIMITS,
) -> Extracted:
    """:func:`extract_docx` of the bytes in an open, seekable ``handle`` (a file named ``name``).

    The package is checked against ``limits`` before python-docx reads it; the same handle is
    then given to python-docx, so what was checked is what is parsed.  The pipeline hands it
    the staged blob, so the fields are read from exactly the bytes that are stored.
    """
    try:
        strict = _check_package(name, handle, limits)
        handle.seek(0)
        try:
            document = docx.Document(handle)
        except Exception as exc:
            if strict:
                raise ExtractionError(
                    _(
                        "{name} is saved as Strict Open XML (ISO/IEC 29500 Strict, "
                        "namespace {word_strict_main}), which this system cannot read"
                    ).format(name=name, word_strict_main=WORD_STRICT_MAIN),
                    _(
                        'open it in Word and use Save As with the type "Word Document '
                        '(.docx)" (not "Strict Open XML Document"), then drop it again'
                    ),
                ) from None
            raise ExtractionError(
                _("{name} could not be read as a Word document ({name2}: {short})").format(
                    name=name, name2=type(exc).__name__, short=_short(exc)
                ),
                _(SAVE_AS_DOCX),
            ) from None
        return _read(document, labels)
    except ExtractionError:
        raise
    except OSError as exc:
        raise ExtractionError(
            _("{name} could not be opened ({name2}: {short})").format(
                name=name, name2=type(exc).__name__, short=_short(exc)
            ),
            _("check that the file is still there and readable, then drop it again"),
        ) from None
    except Exception as exc:  # a malformed document must quarantine one file, not the inbox
        raise ExtractionError(
            _("{name} could not be read as a Word document ({name2}: {short})").format(
                name=name, name2=type(exc).__name__, short=_short(exc)
            ),
            _(SAVE_AS_DOCX),
        ) from None


@dataclass(frozen=True)
class ReadAhead:
    """What a worker read from a snapshot of a file: the snapshot's SHA-256 and its result.

    The pipeline uses it only if ``sha256`` is the hash of the bytes it stored; otherwise (the
    file changed in between, through a second name) it reads the stored bytes itself.
    """

    sha256: str | None
    extracted: Extracted | None = None
    error: ExtractionError | None = None


def read_ahead_docx(path: Path, labels: Mapping[str, str] = _NO_LABELS) -> ReadAhead:
    """In a worker process: copy the file while hashing it, then read the copy.

    Never raises: a file that cannot be snapshot (gone, not a regular file, too large) gives
    ``sha256=None`` and the pipeline reads the staged blob instead.
    """
    digest = hashlib.sha256()
    try:
        with (
            open_regular(path) as source,
            tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as snapshot,
        ):
            size = 0
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > MAX_READ_AHEAD_BYTES:
                    return ReadAhead(None)
                digest.update(chunk)
                snapshot.write(chunk)
            snapshot.seek(0)
            try:
                return ReadAhead(digest.hexdigest(), read_docx(snapshot, path.name, labels))
            except ExtractionError as refused:
                return ReadAhead(digest.hexdigest(), error=refused)
    except OSError:
        return ReadAhead(None)


# ------------------------------------------------------------------------ sidecar and name


def _sidecar_error(sidecar: Path, why: str) -> ExtractionError:
    return ExtractionError(
        _("the sidecar {name} {why}").format(name=sidecar.name, why=why),
        _(
            "correct {name} (a JSON object of field names to text, numbers "
            'or true/false, e.g. {{"case_number": "123/2026"}}), or remove '
            "it, then drop the file again"
        ).format(name=sidecar.name),
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(_("field {key} appears more than once").format(key=repr(key)))
        result[key] = value
    return result


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _printable(text: str) -> str:
    return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)


def _reject_constant(constant: str) -> None:
    raise ValueError(_("{constant} is not a number").format(constant=constant))


def sidecar_fields(path: Path) -> dict[str, str]:
    """Fields from ``<path>.json`` (e.g. ``scan.pdf.json``), for files with no text of their own.

    No sidecar gives ``{}``.  The sidecar must be a JSON object of field → string, number or
    true/false (given as ``"true"``/``"false"``); anything else is refused, not guessed at.
    """
    sidecar = sidecar_of(path)
    if sidecar is None:  # its name would be too long for any file system: there is none
        return {}
    try:
        if not sidecar.exists() and not sidecar.is_symlink():
            return {}
        with open_regular(sidecar) as handle:
            data = handle.read(MAX_SIDECAR_BYTES + 1)
    except NotRegularFile:
        raise _sidecar_error(sidecar, _("is not a regular file")) from None
    except OSError as exc:
        why = _("cannot be read ({name}: {short})").format(
            name=type(exc).__name__, short=_short(exc)
        )
        raise _sidecar_error(sidecar, why) from None
    if len(data) > MAX_SIDECAR_BYTES:
        raise _sidecar_error(
            sidecar, _("is larger than {size}").format(size=_size(MAX_SIDECAR_BYTES))
        )
    try:
        parsed = json.loads(
            data.decode("utf-8-sig"),
            object_pairs_hook=_unique_keys,
            parse_constant=_reject_constant,
        )
    except UnicodeDecodeError:
        raise _sidecar_error(sidecar, _("is not UTF-8 text")) from None
    except ValueError as exc:  # json.JSONDecodeError, duplicate keys, NaN, huge integers
        raise _sidecar_error(
            sidecar, _("is not valid JSON ({short})").format(short=_short(exc))
        ) from None
    except RecursionError:
        raise _sidecar_error(sidecar, _("is nested too deeply")) from None
    if not isinstance(parsed, dict):
        raise _sidecar_error(
            sidecar, _("must hold a JSON object, not {name}").format(name=type(parsed).__name__)
        )
    if len(parsed) > MAX_FIELDS:
        raise _sidecar_error(
            sidecar,
            _("has {count:,} fields (at most {max_fields})").format(
                count=len(parsed), max_fields=MAX_FIELDS
            ),
        )
    fields: dict[str, str] = {}
    for key, value in parsed.items():
        if not key.strip():
            raise _sidecar_error(sidecar, _("has a field with an empty name"))
        for text in (key, value):
            if isinstance(text, str) and _has_surrogate(text):
                raise _sidecar_error(
                    sidecar,
                    _(
                        "has an invalid character in {value} {printable} (a lone UTF-16 "
                        "surrogate escape such as \\ud800, which is no character at all)"
                    ).format(
                        value="the field name" if text is key else "field",
                        printable=repr(_printable(key)),
                    ),
                )
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            kind = "null" if value is None else type(value).__name__
            raise _sidecar_error(
                sidecar,
                _("gives field {key} a {kind} value (not text)").format(key=repr(key), kind=kind),
            )
        if len(text) > MAX_VALUE_CHARS:
            raise _sidecar_error(
                sidecar,
                _("gives field {key} {count:,} characters (at most {max_value_chars})").format(
                    key=repr(key), count=len(text), max_value_chars=MAX_VALUE_CHARS
                ),
            )
        fields[key] = text
    return fields


def filename_fields(name: str, patterns: Sequence[re.Pattern[str]]) -> dict[str, str]:
    """Fields from a file name such as ``GD_17_2026-11-24.pdf``, for scans with no sidecar.

    The first pattern that fully matches the stem gives its named groups (groups that did not
    take part are left out); no match gives ``{}``.  Patterns are compiled, and so checked,
    when the plugin declares its document type.
    """
    stem = PurePath(name).stem
    for pattern in patterns:
        match = pattern.fullmatch(stem)
        if match:
            return {key: value for key, value in match.groupdict().items() if value is not None}
    return {}
