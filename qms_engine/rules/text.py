"""What counts as blank and as one line of text, the same for every write path and for the
verifier.

A required field the engine accepts must be one the verifier (and the independent verifier of
docs/audit-bundle.md §7) finds given, so both ask :func:`is_blank`; text that is signed as typed
and printed wherever it is shown (a register entry, a custody hand-over's receiver, an
applicant's name, a disposal note, an approver's comment) must hold no control characters
(:func:`control_characters`, :func:`require_one_line`).
"""

from __future__ import annotations

import unicodedata

from qms_engine.errors import InvalidInput
from qms_engine.i18n import _

INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
"""Unicode categories that show nothing: controls, format characters (zero-width space,
joiners, bidi marks, soft hyphen), spaces and line or paragraph separators."""
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Embeddings, overrides and isolates: they reorder what follows on a terminal."""


def is_blank(value: object) -> bool:
    """Whether a field's value gives nothing: absent (None), or text of invisible characters
    only (:data:`INVISIBLE`).  Any other value (a number, true or false) is given."""
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    return all(unicodedata.category(char) in INVISIBLE for char in value)


def control_characters(text: str, *, lines: bool = False) -> list[str]:
    """The control characters (escape, bell …), bidi overrides and line or paragraph
    separators in ``text``, each as ``U+XXXX`` (empty: none); ``lines`` allows line breaks
    (``\\n``, ``\\r\\n``) and tabs, as in a multi-line entry."""
    allowed = {"\n", "\t"} if lines else set()
    return sorted(
        {
            f"U+{ord(char):04X}"
            for char in (text.replace("\r\n", "\n") if lines else text)
            if char not in allowed
            and (unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS)
        }
    )


def require_one_line(value: str, option: str) -> None:
    """Refuse a line break or a control character in ``value`` (given with ``option``, e.g.
    ``--applicant``): it would be signed as typed and printed raw wherever it is shown."""
    if control_characters(value):
        raise InvalidInput(
            _("{option} holds a line break or a control character").format(option=option),
            hint=_("give {option} as one line of plain text").format(option=option),
        )
