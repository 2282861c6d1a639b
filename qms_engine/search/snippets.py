"""The few words around a match, to show why a revision was found.

Made here rather than by the database (FTS5 ``snippet()``, PostgreSQL ``ts_headline``), so that
they find the words the index found on both databases: ``ts_headline`` re-reads the text with
PostgreSQL's own parser, which does not split ``S-0457`` or ``112/2026`` as the index does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qms_engine.search.terms import Term
from qms_engine.search.text import Word, normalise, words

WORDS_BEFORE = 6
WORDS_AFTER = 14
MAX_CHARS = 200
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Snippet:
    """A short text and the character spans in it that matched the search."""

    text: str
    highlights: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Found:
    """The words of a text read up to a little after its first match, and where that match is."""

    words: list[Word]
    first: int
    size: int
    more: bool
    """Whether words follow the last one read."""


def _first_match(terms: Sequence[Term], text: str) -> _Found | None:
    """The first match of a term in ``text``, reading only as far as the snippet needs."""
    seen: list[Word] = []
    found: tuple[int, int] | None = None
    for word in words(text):
        if found is not None and len(seen) >= found[0] + WORDS_AFTER:
            return _Found(seen, *found, more=True)
        seen.append(word)
        if found is None:
            for term in terms:
                size = len(term.lexemes)
                if len(seen) >= size and term.matches([w.lexeme for w in seen[-size:]]):
                    found = (len(seen) - size, size)
                    break
    return None if found is None else _Found(seen, *found, more=False)


def _spans(terms: Sequence[Term], window: Sequence[Word]) -> list[tuple[int, int]]:
    """The character spans of every term match inside ``window``, in order, never overlapping."""
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(window):
        size = next(
            (
                len(term.lexemes)
                for term in terms
                if index + len(term.lexemes) <= len(window)
                and term.matches([w.lexeme for w in window[index : index + len(term.lexemes)]])
            ),
            0,
        )
        if size:
            spans.append((window[index].start, window[index + size - 1].end))
        index += max(size, 1)
    return spans


def _assemble(text: str, start: int, end: int, spans: Iterable[tuple[int, int]]) -> Snippet:
    """``text[start:end]`` on one line, ``…`` where it was cut, and where the matches are."""
    pieces = ["…"] if start > 0 else []
    highlights = []
    cursor = start
    for span_start, span_end in spans:
        pieces.append(_SPACES.sub(" ", text[cursor:span_start]))
        offset = len("".join(pieces))
        pieces.append(_SPACES.sub(" ", text[span_start:span_end]))
        highlights.append((offset, offset + len(pieces[-1])))
        cursor = span_end
    pieces.append(_SPACES.sub(" ", text[cursor:end]))
    if end < len(text):
        pieces.append("…")
    joined = "".join(pieces)
    shift = len(joined) - len(joined.lstrip())
    kept = joined.strip()[: MAX_CHARS * 2]  # even one enormous "word" stays readable
    return Snippet(
        kept,
        tuple((a - shift, b - shift) for a, b in highlights if b - shift <= len(kept)),
    )


def snippet(terms: Sequence[Term], sources: Iterable[str]) -> Snippet | None:
    """The words around the first match in the first of ``sources`` that has one, else None."""
    for source in sources:
        text = normalise(source)
        found = _first_match(terms, text)
        if found is None:
            continue
        seen = found.words
        low, high = max(0, found.first - WORDS_BEFORE), len(seen)
        last_of_match = found.first + found.size - 1
        while high - low > 1 and seen[high - 1].end - seen[low].start > MAX_CHARS:
            if high - 1 > last_of_match:
                high -= 1
            elif low < found.first:
                low += 1
            else:
                break
        start = seen[low].start if low > 0 else 0
        end = seen[high - 1].end if high < len(seen) or found.more else len(text)
        return _assemble(text, start, end, _spans(terms, seen[low:high]))
    return None
