"""What a user typed, as search terms, and those terms in each database's query language.

A search is a few words, and every one must occur.  ``"quoted words"`` must occur together, in
that order, and so must the parts of one written word (``112/2026``: ``112`` then ``2026``); a
word ending in ``*`` matches the start of a word (``मालख*`` finds ``मालखाना``).  Nothing else
is syntax: ``AND``, ``OR``, ``NOT``, ``NEAR``, brackets, colons and a lone ``"`` are ordinary
text, so no query can be malformed.  Terms are made of the words of
:mod:`qms_engine.search.text`, which never contain a quote, a space or an operator, so quoting
them is all either query language needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qms_engine.errors import InvalidInput
from qms_engine.search.text import lexemes

MAX_TERMS = 32
_CHUNKS = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Term:
    """Words that must occur together, in order; ``prefix``: the last one may go on."""

    lexemes: tuple[str, ...]
    prefix: bool = False

    def matches(self, found: Sequence[str]) -> bool:
        """Whether the words ``found`` (as many as the term has) are this term."""
        *whole, last = self.lexemes
        *found_whole, found_last = found
        if found_whole != whole:
            return False
        return found_last.startswith(last) if self.prefix else found_last == last


def parse_query(text: str) -> list[Term]:
    """The terms of ``text``; InvalidInput if it has no word to look for."""
    terms = []
    for match in _CHUNKS.finditer(text):
        chunk = match.group(1) if match.group(1) is not None else match.group(2)
        found = tuple(lexemes(chunk))
        if found:
            terms.append(Term(found, prefix=chunk.rstrip().endswith("*")))
    if not terms:
        raise InvalidInput(
            f"nothing to search for in {text!r}",
            hint="give a word or a number, e.g. qms search मालखाना or qms search 112/2026",
        )
    if len(terms) > MAX_TERMS:
        raise InvalidInput(f"the search has {len(terms)} words; at most {MAX_TERMS} are allowed")
    return terms


def fts5_expression(terms: Sequence[Term]) -> str:
    """SQLite FTS5: each term a quoted phrase (``*`` after it for a prefix), all required."""
    return " ".join(
        '"' + " ".join(term.lexemes) + '"' + (" *" if term.prefix else "") for term in terms
    )


def tsquery_expression(terms: Sequence[Term]) -> str:
    """PostgreSQL ``tsquery``: each term its quoted lexemes joined by ``<->`` (followed by),
    ``:*`` on a prefix, the terms joined by ``&``."""
    rendered = []
    for term in terms:
        quoted = [f"'{lexeme}'" for lexeme in term.lexemes]
        if term.prefix:
            quoted[-1] += ":*"
        rendered.append("(" + " <-> ".join(quoted) + ")")
    return " & ".join(rendered)
