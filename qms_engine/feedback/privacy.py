"""What is kept of a citizen's response, and what never is.

Kept: the time of the response, the station and the ratings (signed in the office's audit trail
and in the ``feedback_response`` table), and the comment on one line, without control
characters, with every phone number and e-mail address removed (in the table only, the trail
holding its salted SHA-256, until ``qms feedback erase`` blanks it once the form's
``keep_days`` have passed: :mod:`.retention`).  Never kept: the columns the form declares
personal (name, mobile number, e-mail, address …) and any other column the form does not use;
they are dropped as the file is parsed, before anything is checked or stored.  So no summary,
chart or export can ever show a name or a phone number: they are not there.  A message about a
bad row quotes its cells scrubbed the same way (:func:`quoted`), since a shifted row can put a
phone number in any column.  A name typed into a comment cannot be recognised and stays.  What
is kept is a record of the office's monitoring of citizen satisfaction (ISO 9001 9.1.2)
(README: "Citizen feedback", for how long).
"""

from __future__ import annotations

import re
import unicodedata

NUMBER_REMOVED = "[number removed]"
EMAIL_REMOVED = "[email removed]"
QUOTED_CHARACTERS = 40
"""How much of a cell a message quotes."""

_SEPARATOR = r"[\s.,/_()\-\u2010-\u2015\u2212]{0,3}"
_PHONE = rf"\+?\(?[0-9](?:{_SEPARATOR}[0-9]){{9,}}"
"""Ten or more digits, perhaps split by up to three spaces, dots, commas, slashes, underscores,
dashes or brackets: a mobile number with or without +91 or 0, a landline with its STD code, an
Aadhaar number."""
_DATE = (
    r"(?:(?:0?[1-9]|[12][0-9]|3[01])[./-](?:0?[1-9]|[12][0-9]|3[01])[./-](?:[0-9]{4}|[0-9]{2})"
    r"|[0-9]{4}[./-](?:0?[1-9]|1[0-2])[./-](?:0?[1-9]|[12][0-9]|3[01]))"
    r"(?:,?\s+[0-9]{1,2}[:.][0-9]{2}(?::[0-9]{2})?)?"
)
"""A date (24.11.2026, 11/24/2026, 2026-11-24) and perhaps its time (10:30): never a phone
number."""
_NUMBERS = re.compile(rf"(?<![0-9])(?:(?P<date>{_DATE})|{_PHONE})(?![0-9])")
"""Matched against the comment with every digit written as an ASCII one (:func:`_digits`)."""
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+")
"""Starting only where a run of such characters starts, and never giving back what it took:
a long comment without an @ is read once, not once per character."""
_LINE_BREAK = re.compile(r"\s*[\n\r\v\f\x85\u2028\u2029]\s*|\t")
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (C0, C1) and the marks, embeddings, overrides and isolates of bidirectional
text, which can make a comment display as something else than it says."""


def scrub_comment(text: str) -> str:
    """A citizen's comment as it is kept: NFC, on one line (line breaks become spaces), without
    control characters or bidirectional overrides, and without phone numbers (ten or more
    digits of any script or width, a date and its time aside) or e-mail addresses; trimmed."""
    text = _LINE_BREAK.sub(" ", unicodedata.normalize("NFC", text))
    text = _INVISIBLE.sub("", text)
    text = _EMAIL.sub(EMAIL_REMOVED, text)
    kept, end = [], 0
    for match in _NUMBERS.finditer(_digits(text)):
        if match.group("date") is None:
            kept += [text[end : match.start()], NUMBER_REMOVED]
            end = match.end()
    return "".join([*kept, text[end:]]).strip()


def quoted(cell: str) -> str:
    """A cell of a citizen's row as a message may show it: scrubbed as a comment is, and cut to
    :data:`QUOTED_CHARACTERS` — a bad row's cells may hold anything (a shifted phone number)."""
    text = scrub_comment(cell)
    return repr(text if len(text) <= QUOTED_CHARACTERS else text[:QUOTED_CHARACTERS] + "…")


def _digits(text: str) -> str:
    """``text`` with every digit as an ASCII one, the same length, so that matches on it are
    spans of ``text``."""
    return text if text.isascii() else _ANY_DIGIT.sub(_ascii_digit, text)


def _ascii_digit(match: re.Match[str]) -> str:
    char = match.group()
    return (
        unicodedata.normalize("NFKC", char)
        if char in _COMPATIBILITY
        else str(unicodedata.decimal(char))
    )


def _compatibility_digits() -> str:
    """The superscript, subscript and enclosed digits (⁹ ₉ ⑨ …): not decimal digits to
    Unicode, but one ASCII digit under NFKC."""
    blocks = (range(0x00B2, 0x00BA), range(0x2070, 0x20A0), range(0x2460, 0x2800))
    found = []
    for code in (c for block in blocks for c in block):
        folded = unicodedata.normalize("NFKC", chr(code))
        if len(folded) == 1 and folded in "0123456789" and not chr(code).isdecimal():
            found.append(chr(code))
    return "".join(found)


_COMPATIBILITY = _compatibility_digits()
_ANY_DIGIT = re.compile(f"\\d|[{_COMPATIBILITY}]")
"""A digit of any script (Devanagari ९, Bengali ৯ …) or form (full-width ９, mathematical 𝟗 —
decimal digits to Unicode — or the compatibility ones)."""
