"""What the index reads: normalised text, its words, and the text of a .docx.

One tokenizer for both databases, so a search finds the same revisions on SQLite and on
PostgreSQL.  A word is a run of letters, digits and combining marks (Unicode categories ``L``,
``N`` and ``M``): Devanagari vowel signs (matras, ``Mc``/``Mn``), the virama and the
nukta are part of their word, so ``मालखाना`` and ``क्षेत्र`` are one word each.  (SQLite
FTS5's ``unicode61`` tokenizer splits words at every combining mark unless told otherwise, so
that ``मालखाना`` is indexed as ``म``, ``लख``, ``न`` and a search for ``मिल`` would find
``माला``.)  A word is indexed as written, nukta and all; a search tries it with and without
(:func:`nukta_spellings`).
Everything else separates words: ``112/2026`` is ``112`` and ``2026``, ``S-0457`` is ``s`` and
``0457``.  Words are lowercased and Latin letters lose their accents (``Café`` is ``cafe``),
as FTS5 does with ``remove_diacritics 2``; the zero-width joiner and non-joiner (which only
change how a conjunct is drawn) and the soft hyphen are dropped.

A .docx is read defensively: it may be anything a user filed.  Only its main part
(``word/document.xml``) is decompressed, streamed and bounded, and parsed as it streams; python-
docx is not used, because it loads every part of the package into memory first.  Whatever goes
wrong, the caller gets :class:`UnreadableText` and indexes the revision without its text.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from xml.etree import ElementTree

MAX_TEXT_CHARS = 200_000
"""Text indexed per file: a long SOP is some 60,000 characters."""
MAX_XML_BYTES = 32 * 1024 * 1024
"""The most of a .docx's main part ever decompressed (a ZIP bomb stops here)."""
MAX_ENTRIES = 5_000
"""Parts a .docx may have for its text to be read (the inbox refuses more, too)."""
CENTRAL_DIRECTORY_BYTES_PER_ENTRY = 1024  # generous: name + extra + comment of a real entry
CHUNK = 64 * 1024
MAIN_PART = "word/document.xml"
WORD_NAMESPACES = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",  # ISO/IEC 29500 Strict
)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200c\u200d"))  # soft hyphen, ZWNJ, ZWJ


class UnreadableText(Exception):
    """A file's text cannot be read; str() says why.  The revision is indexed without it."""


def normalise(text: str) -> str:
    """NFC, without the invisible characters that do not change a word (see the module)."""
    return unicodedata.normalize("NFC", text).translate(_INVISIBLE)


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    """A run of word characters: ``\\w`` covers letters and digits (not ``_``), and the combining
    marks ``\\w`` leaves out are listed, found from the Unicode database once (planes 0, 1 and
    14 hold every mark)."""
    ranges: list[str] = []
    start = None
    for code in itertools.chain(range(0x20000), range(0xE0000, 0xE1001)):
        is_mark = code < 0xE1000 and unicodedata.category(chr(code))[0] == "M"
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            ranges.append(f"{chr(start)}-{chr(code - 1)}")
            start = None
    return re.compile(f"(?:[^\\W_]|[{''.join(ranges)}])+")


def _fold(word: str) -> str:
    """Lowercase; a Latin letter loses its accents (``é`` → ``e``), nothing else is touched."""
    lowered = word.lower()
    if lowered.isascii():
        return lowered
    return "".join(
        unicodedata.normalize("NFD", char)[0] if _is_latin(char) else char for char in lowered
    )


def _is_latin(char: str) -> bool:
    code = ord(char)
    return 0x00C0 <= code < 0x0250 or 0x1E00 <= code < 0x1F00


NUKTA = "\u093c"
"""The Devanagari nukta (ज़ is ज and a nukta: in NFC, क़ … य़, U+0958–U+095F, stay decomposed)."""
NUKTA_LETTERS = frozenset(
    unicodedata.normalize("NFD", chr(code))[0] for code in range(0x958, 0x960)
)
"""The letters Hindi writes with or without a nukta: क ख ग ज ड ढ फ य."""
MAX_NUKTA_PLACES = 4
"""Letters of a word that may take a nukta, beyond which only two spellings are tried."""


def without_nukta(word: str) -> str:
    """``word`` (normalised) without its nuktas: कागज़ and कागज, रोज़नामचा and रोजनामचा are one
    word to a reader, however it was typed."""
    return word.replace(NUKTA, "")


def nukta_spellings(word: str) -> list[str]:
    """The spellings of ``word`` with and without a nukta on each letter that takes one
    (:data:`NUKTA_LETTERS`), as typed first: what an index of either spelling may hold.  A
    word with more than :data:`MAX_NUKTA_PLACES` such letters: as typed and without nukta."""
    bare = without_nukta(word)
    places = [index for index, char in enumerate(bare) if char in NUKTA_LETTERS]
    if len(places) > MAX_NUKTA_PLACES:
        return list(dict.fromkeys((word, bare)))
    spellings = [word]
    for marks in itertools.product(("", NUKTA), repeat=len(places)):
        letters = list(bare)
        for index, mark in zip(places, marks, strict=True):
            letters[index] += mark
        spellings.append("".join(letters))
    return list(dict.fromkeys(spellings))


@dataclass(frozen=True)
class Word:
    """A word of a normalised text: its indexed form and where it stands."""

    lexeme: str
    start: int
    end: int


def words(text: str) -> Iterator[Word]:
    """The words of ``text`` (already :func:`normalise`-d), in order."""
    for match in _word_pattern().finditer(text):
        yield Word(_fold(match.group()), match.start(), match.end())


def lexemes(text: str) -> list[str]:
    """Just the indexed forms of the words of ``text`` (normalised here)."""
    return [word.lexeme for word in words(normalise(text))]


# ------------------------------------------------------------------------------ .docx text


def central_directory_extent(handle: IO[bytes]) -> tuple[int, int] | None:
    """(entries, central directory bytes) of a ZIP file from its end record, or None if it has
    none.  Read before :class:`zipfile.ZipFile`, which parses (and allocates) every entry, so
    that a package declaring millions of entries is refused unopened."""
    handle.seek(0, 2)
    size = handle.tell()
    tail_length = min(size, 22 + 0xFFFF)
    handle.seek(size - tail_length)
    tail = handle.read(tail_length)
    position = tail.rfind(b"PK\x05\x06")
    if position < 0 or position + 22 > len(tail):
        return None
    entries = int.from_bytes(tail[position + 10 : position + 12], "little")
    directory = int.from_bytes(tail[position + 12 : position + 16], "little")
    locator = tail[position - 20 : position] if position >= 20 else b""
    if (entries == 0xFFFF or directory == 0xFFFFFFFF) and locator[:4] == b"PK\x06\x07":
        handle.seek(int.from_bytes(locator[8:16], "little"))
        record = handle.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            entries = int.from_bytes(record[32:40], "little")
            directory = int.from_bytes(record[40:48], "little")
    return entries, directory


class _TextCollector:
    """Collects the text of a WordprocessingML body as its elements end, up to a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.length = 0

    @property
    def full(self) -> bool:
        return self.length >= self.limit

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def end(self, element: ElementTree.Element) -> None:
        namespace, _, name = element.tag[1:].partition("}")
        if namespace not in WORD_NAMESPACES:
            return
        if name == "t" and element.text:  # deleted text is w:delText, never indexed
            self._add(element.text)
        elif name == "tab" or name == "tc":
            self._add(" ")
        elif name in ("br", "cr", "tr"):
            self._add("\n")
        elif name == "p":
            self._add("\n")
            element.clear()  # its text is taken: keep memory flat on a long document

    def text(self) -> str:
        return "".join(self.parts)[: self.limit].strip()


def _refuse_package(handle: IO[bytes]) -> None:
    extent = central_directory_extent(handle)
    if extent is None:
        raise UnreadableText("it is not a ZIP package")
    entries, directory = extent
    if entries > MAX_ENTRIES or directory > MAX_ENTRIES * CENTRAL_DIRECTORY_BYTES_PER_ENTRY:
        raise UnreadableText(f"its package has {entries:,} parts (more than {MAX_ENTRIES:,})")


def docx_text(handle: IO[bytes], limit: int = MAX_TEXT_CHARS) -> str:
    """The paragraphs and table cells of the .docx in ``handle``, one paragraph a line, at most
    ``limit`` characters, or :class:`UnreadableText` saying why not."""
    _refuse_package(handle)
    collector = _TextCollector(limit)
    parser: ElementTree.XMLPullParser[ElementTree.Element] = ElementTree.XMLPullParser(
        events=("end",)
    )
    try:
        handle.seek(0)
        with zipfile.ZipFile(handle) as package, package.open(MAIN_PART) as part:
            read, previous = 0, b""
            while not collector.full and read < MAX_XML_BYTES:
                chunk = part.read(min(CHUNK, MAX_XML_BYTES - read))
                if not chunk:
                    break
                read += len(chunk)
                # OOXML forbids a DTD: no entity definitions, so no entity expansion games.
                if b"<!DOCTYPE" in previous[-16:] + chunk:
                    raise UnreadableText("its main part declares a DTD, which OOXML forbids")
                previous = chunk
                parser.feed(chunk)
                for event in parser.read_events():  # ("end", element) only
                    if isinstance(event[-1], ElementTree.Element):
                        collector.end(event[-1])
    except UnreadableText:
        raise
    except KeyError:
        raise UnreadableText(f"it has no {MAIN_PART}") from None
    except Exception as exc:  # a damaged or hostile file: its text is simply not indexed
        raise UnreadableText(f"{type(exc).__name__}: {exc}") from None
    return collector.text()
