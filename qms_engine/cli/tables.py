"""Tables for people: sized to the output's width, nothing cut, Hindi rows aligned.

Every table the CLI prints goes through :func:`render_table` (by way of
:func:`qms_engine.cli.context.print_table`).  Why not rich's ``Table``: rich counts a spacing
vowel sign (Unicode category Mc, the ``ा`` of मालखाना or the ``ि`` of प्रक्रिया) as taking no
cell, where terminals give it one (glibc's ``wcwidth``, xterm, VTE, PuTTY, Windows Terminal, and
the ``wcwidth`` package since 2026), so a row of Hindi came out shorter than the others; and
when a table is too wide rich shortens any column, a document number included (``PS-KOT3…``).

Here a cell's width is what a terminal gives it (:func:`cell_width`); columns wrap at spaces;
a word is never cut, except in a column marked ``fold`` (free text such as titles and
details), where an over-long word is folded, preferably after ``/ . _ -``, never inside a
letter cluster (क्र stays whole).  If the words that must stay whole do not fit, the table is
wider than the output rather than cutting them.

Only the standard library is imported: every command module loads this for ``--help``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

GUTTER = "  "
"""Between two columns."""

FOLD_MIN = 10
"""The narrowest a ``fold`` column is squeezed to (if its header's longest word allows)."""

_BREAK_AFTER = frozenset("/._-:,;")
"""Where a folded word is best broken (after a path, dotted name or date separator)."""

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Embeddings, overrides and isolates: they would reorder the columns after them."""


@dataclass(frozen=True)
class Column:
    """A table column: its header, and whether an over-long word in it may be folded.

    Leave ``fold`` off for identifiers (document numbers, user names, hashes, dates): they
    are never broken.  Turn it on for free text (titles, names, comments, event details).
    """

    header: str
    fold: bool = False


@functools.lru_cache(maxsize=4096)
def _char_width(char: str) -> int:
    category = unicodedata.category(char)
    if category in ("Mn", "Me") or (category == "Cf" and char != "\u00ad"):
        return 0  # non-spacing marks (्, ं, े), joiners and other format characters
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 2
    return 1  # letters, and spacing vowel signs (ा, ि, ी: category Mc) too


def cell_width(text: str) -> int:
    """Terminal cells ``text`` takes, counted as terminals count them (see the module doc)."""
    return sum(_char_width(char) for char in text)


def clean_text(cell: object) -> str:
    """Text for a terminal with control characters made harmless (each shown as �): a tab or
    a carriage return would move the cursor, an escape could restyle the terminal or clear
    it, a bidi override reorder what follows.  Every cell and every line :func:`wrap` gives
    is cleaned so; print other user text (a heading, a description) through it too."""
    text = "" if cell is None else str(cell)
    text = text.replace("\r\n", "\n").replace("\t", " ")
    return "".join(
        "\ufffd"
        if char in _BIDI_CONTROLS or (char != "\n" and unicodedata.category(char) == "Cc")
        else char
        for char in text
    )


def _clusters(word: str) -> list[str]:
    """Letter clusters: a letter with the marks after it; a virama or a zero-width joiner
    joins the next letter to it (क्र, प्र stay whole)."""
    clusters: list[str] = []
    for char in word:
        joined = clusters and (
            unicodedata.category(char).startswith("M")
            or _char_width(char) == 0
            or clusters[-1][-1] == "\u200d"
            or unicodedata.combining(clusters[-1][-1]) == 9  # a virama
        )
        if joined:
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def _fold(word: str, width: int) -> list[str]:
    """``word`` in pieces at most ``width`` cells wide (a cluster wider than that alone)."""
    pieces: list[str] = []
    current: list[str] = []
    for cluster in _clusters(word):
        if current and cell_width("".join(current) + cluster) > width:
            breaks = [i + 1 for i, c in enumerate(current) if c[-1] in _BREAK_AFTER]
            cut = breaks[-1] if breaks else len(current)
            pieces.append("".join(current[:cut]))
            current = current[cut:]
        current.append(cluster)
    pieces.append("".join(current))
    return pieces


@functools.lru_cache(maxsize=65536)
def _wrapped(text: str, width: int, fold: bool) -> tuple[str, ...]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if cell_width(paragraph) <= width:
            lines.append(paragraph)
            continue
        line = ""
        for word in paragraph.split():
            for piece in _fold(word, width) if fold else [word]:
                joined = f"{line} {piece}" if line else piece
                if line and cell_width(joined) > width:
                    lines.append(line)
                    line = piece
                else:
                    line = joined
        lines.append(line)
    return tuple(lines)


def wrap(text: str, width: int, *, fold: bool = False) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken at spaces; a longer word is
    folded if ``fold``, else left whole (and wider).  A line that fits is kept as written,
    its control characters made harmless (:func:`clean_text`)."""
    return list(_wrapped(clean_text(text), width, fold))


def _longest_word(text: str) -> int:
    return max((cell_width(word) for word in text.split()), default=0)


class _Layout:
    """Chooses the columns' widths for a table that must fit ``available`` cells."""

    def __init__(self, columns: Sequence[Column], cells: list[list[str]]) -> None:
        self.columns, self.cells = columns, cells
        self.natural: list[int] = []
        """Each column's width unwrapped."""
        self.least: list[int] = []
        """Each column's narrowest: its longest word that may not be folded (a folded
        column's words count up to :data:`FOLD_MIN`)."""
        for index, column in enumerate(columns):
            texts = [column.header, *(row[index] for row in cells)]
            words = max(_longest_word(text) for text in texts[1:]) if cells else 0
            self.natural.append(max(cell_width(line) for t in texts for line in t.split("\n")))
            self.least.append(
                max(_longest_word(column.header), min(words, FOLD_MIN) if column.fold else words, 1)
            )

    def fitted(self, index: int, width: int) -> int:
        """The width column ``index`` really takes when wrapped to ``width`` (within its
        least and natural): its longest line, which wrapping at spaces often leaves short."""
        width = max(self.least[index], min(self.natural[index], width))
        if width == self.natural[index]:
            return width
        fold = self.columns[index].fold
        lines = [*_wrapped(self.columns[index].header, width, False)]
        lines += [line for row in self.cells for line in _wrapped(row[index], width, fold)]
        return max(cell_width(line) for line in lines)

    def height(self, widths: Sequence[int]) -> int:
        """Lines the table takes with these widths."""
        return sum(
            max(
                len(_wrapped(text, width, fold))
                for text, width, fold in zip(row, widths, folds, strict=True)
            )
            for row, folds in (
                ([c.header for c in self.columns], [False] * len(widths)),
                *((row, [c.fold for c in self.columns]) for row in self.cells),
            )
        )

    def spread(self, available: int, first: frozenset[int]) -> list[int]:
        """Columns ``first`` narrowed to their least, the others to the largest common cap
        that fits; then what is left over to the most narrowed, ``first`` ones last."""
        widths = [self.fitted(i, 0) if i in first else 0 for i in range(len(self.columns))]
        others = [i for i in range(len(widths)) if i not in first]
        budget = available - sum(widths)
        low, high = 0, max(self.natural)
        while low < high:  # the largest cap that fits (none fits: the words win)
            middle = (low + high + 1) // 2
            fits = sum(self.fitted(i, middle) for i in others) <= budget
            low, high = (middle, high) if fits else (low, middle - 1)
        for i in others:
            widths[i] = self.fitted(i, low)
        need = sorted(others, key=lambda i: widths[i] - self.natural[i]) + sorted(first)
        for i in need:
            spare = available - sum(widths)
            if spare > 0 and widths[i] < self.natural[i]:
                widths[i] = self.fitted(i, widths[i] + spare)
        return widths

    def widths(self, available: int) -> list[int]:
        """As wide as the content if the table fits; else the lowest table of three ways to
        narrow it: all columns alike, phrases (dates, names) first, or free text first."""
        if sum(self.natural) <= available:
            return self.natural
        folded = frozenset(i for i, c in enumerate(self.columns) if c.fold)
        phrases = frozenset(range(len(self.columns))) - folded
        ways = [self.spread(available, group) for group in (frozenset(), phrases, folded)]
        return min(ways, key=self.height)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cell_width(text))


def render_table(
    columns: Sequence[str | Column],
    rows: Sequence[Sequence[object]],
    width: int,
    *,
    below: Sequence[Sequence[str]] = (),
) -> list[str]:
    """The lines of a table (header, rule, rows) for an output ``width`` cells wide; under row
    ``i``, the lines ``below[i]`` as they are (a task's commands, across the whole width)."""
    specs = [c if isinstance(c, Column) else Column(c) for c in columns]
    cells = [[clean_text(cell) for cell in row] for row in rows]
    widths = _Layout(specs, cells).widths(width - len(GUTTER) * (len(specs) - 1))

    def lines_of(texts: Sequence[str], folds: Sequence[bool]) -> list[str]:
        wrapped = [
            _wrapped(text, size, fold)
            for text, size, fold in zip(texts, widths, folds, strict=True)
        ]
        return [
            GUTTER.join(
                _pad(lines[i] if i < len(lines) else "", size)
                for lines, size in zip(wrapped, widths, strict=True)
            ).rstrip()
            for i in range(max(len(lines) for lines in wrapped))
        ]

    folds = [spec.fold for spec in specs]
    out = lines_of([spec.header for spec in specs], [False] * len(specs))
    out.append(GUTTER.join("─" * size for size in widths))
    for index, row in enumerate(cells):
        out.extend(lines_of(row, folds))
        out.extend(clean_text(line) for line in (below[index] if index < len(below) else ()))
    return out


_SHELL_WORD = re.compile(r"""(?:[^\s'"]|'[^']*'|"[^"]*")+""")
"""A word of a command as :func:`shlex.join` writes it (``'…'`` where needed, and ``"'"`` for
a quote inside)."""


def _shell_words(command: str) -> list[str]:
    """The words of a shell command as written (quotes, ``&&``), an option kept with its
    value (``--as asharma``)."""
    words: list[str] = []
    for word in _SHELL_WORD.findall(command):
        if words and words[-1].startswith("--") and " " not in words[-1] and word[:1] != "-":
            words[-1] += f" {word}"
        else:
            words.append(word)
    return words


def shell_lines(command: str, width: int, indent: str = "  ") -> list[str]:
    """A shell command (its words as :func:`shlex.join` writes them) in lines of at most
    ``width`` cells, each after ``indent``, broken between its words with a ``\\`` at the end
    of a line: pasted into a shell, the lines are still the one command.  An option stays with
    its value; a word longer than a line stays whole."""
    words = _shell_words(command)
    lines: list[str] = []
    line = indent
    for word in words:
        joined = f"{line} {word}" if line.strip() else f"{line}{word}"
        if line.strip() and cell_width(joined) + len(" \\") > width:
            lines.append(f"{line} \\")
            line = f"{indent}    {word}"
        else:
            line = joined
    return [*lines, line]
