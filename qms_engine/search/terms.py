"""What a user typed, as search terms, and those terms in each database's query language.

A search is a few words, and every one must occur.  ``"quoted words"`` must occur together, in
that order, and so must the parts of one written word (``112/2026``: ``112`` then ``2026``); a
word ending in ``*`` matches the start of a word (``मालख*`` finds ``मालखाना``).  Nothing else
is syntax: ``AND``, ``OR``, ``NOT``, ``NEAR``, brackets, colons and a lone ``"`` are ordinary
text, so no query can be malformed.  Terms are made of the words of
:mod:`qms_engine.search.text`, which never contain a quote, a space or an operator, so quoting
them is all either query language needs.

Hindi is written with and without the nukta (कागज़ and कागज, रोज़नामचा and रोजनामचा), and a
reader takes both for one word.  The index keeps words as written; a term looks for every
spelling of its words with and without a nukta (:func:`~qms_engine.search.text.nukta_spellings`),
in both query languages alike.  So an index built before this needs no rebuild.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from qms_engine.errors import InvalidInput
from qms_engine.i18n import _
from qms_engine.search.text import lexemes, nukta_spellings, without_nukta

MAX_TERMS = 32
MAX_SPELLINGS = 64
"""Spellings of one term looked for (a phrase of many nukta letters: fewer, see
:meth:`Term.spellings`)."""
_CHUNKS = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Term:
    """Words that must occur together, in order; ``prefix``: the last one may go on."""

    lexemes: tuple[str, ...]
    prefix: bool = False

    def matches(self, found: Sequence[str]) -> bool:
        """Whether the words ``found`` (as many as the term has) are this term, nuktas aside."""
        *whole, last = map(without_nukta, self.lexemes)
        *found_whole, found_last = map(without_nukta, found)
        if found_whole != whole:
            return False
        return found_last.startswith(last) if self.prefix else found_last == last

    def spellings(self) -> list[tuple[str, ...]]:
        """The term's words as the index may hold them, each with and without a nukta, as typed
        first; at most :data:`MAX_SPELLINGS` (then each word as typed and without nukta, or,
        for a long phrase of such words, as typed only)."""
        for choices in (
            [nukta_spellings(lexeme) for lexeme in self.lexemes],
            [list(dict.fromkeys((lexeme, without_nukta(lexeme)))) for lexeme in self.lexemes],
        ):
            if math.prod(map(len, choices)) <= MAX_SPELLINGS:
                return list(itertools.product(*choices))
        return [self.lexemes]


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
            _("nothing to search for in {text}").format(text=repr(text)),
            hint=_("give a word or a number, e.g. qms search मालखाना or qms search 112/2026"),
        )
    if len(terms) > MAX_TERMS:
        raise InvalidInput(
            _("the search has {count} words; at most {max_terms} are allowed").format(
                count=len(terms), max_terms=MAX_TERMS
            )
        )
    return terms


def fts5_expression(terms: Sequence[Term]) -> str:
    """SQLite FTS5: each term its spellings as quoted phrases (``*`` after each for a prefix)
    joined by ``OR``, the terms joined by ``AND``."""
    star = " *"
    rendered = []
    for term in terms:
        phrases = [f'"{" ".join(words)}"' + star * term.prefix for words in term.spellings()]
        rendered.append("(" + " OR ".join(phrases) + ")")
    return " AND ".join(rendered)


def tsquery_expression(terms: Sequence[Term]) -> str:
    """PostgreSQL ``tsquery``: each spelling of a term its quoted lexemes joined by ``<->``
    (followed by), ``:*`` on a prefix, the spellings joined by ``|``, the terms by ``&``."""
    rendered = []
    for term in terms:
        phrases = []
        for words in term.spellings():
            quoted = [f"'{lexeme}'" for lexeme in words]
            if term.prefix:
                quoted[-1] += ":*"
            phrases.append("(" + " <-> ".join(quoted) + ")")
        rendered.append("(" + " | ".join(phrases) + ")")
    return " & ".join(rendered)
