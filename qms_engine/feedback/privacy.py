"""What is kept of a citizen's response, and what never is.

Kept (in the office's signed audit trail and the ``feedback_response`` table): the time of the
response, the station, the ratings, and the comment with every phone number and e-mail address
removed.  Never kept, nor held in memory beyond the one CSV row being read: the columns the
form declares personal (name, mobile number, e-mail, address …) and any other column the form
does not use.  So no summary, chart or export can ever show a name or a phone number: they are
not there.  A name typed into a comment cannot be recognised and stays.  What is kept is a
record of the office's monitoring of citizen satisfaction (ISO 9001 9.1.2), signed into its
audit trail, and is kept as long as that trail (README: "Citizen feedback").
"""

from __future__ import annotations

import re
import unicodedata

NUMBER_REMOVED = "[number removed]"
EMAIL_REMOVED = "[email removed]"

_DIGIT = "[0-9\u0966-\u096f]"  # ASCII and Devanagari digits
_SEPARATOR = "[ .\\-()\u00a0]{0,2}"
_LONG_NUMBER = re.compile(
    rf"(?<![0-9\u0966-\u096f])\+?\(?{_DIGIT}(?:{_SEPARATOR}{_DIGIT}){{9,}}(?![0-9\u0966-\u096f])"
)
"""Ten or more digits, perhaps split by spaces, hyphens, dots or brackets: a mobile number with
or without +91 or 0, a landline with its STD code, an Aadhaar number."""
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def scrub_comment(text: str) -> str:
    """A citizen's comment as it is kept: NFC, trimmed, without control characters, phone
    numbers (any run of ten or more digits, ASCII or Devanagari) or e-mail addresses."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text))
    text = _EMAIL.sub(EMAIL_REMOVED, text)
    return _LONG_NUMBER.sub(NUMBER_REMOVED, text).strip()
