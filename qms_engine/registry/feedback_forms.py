"""A citizen feedback form, as an office-type plugin declares it: which column of a form's CSV
export holds what, which ratings it asks for, and when a response counts as poor.

Declared once by the plugin (``OfficeType(feedback=FeedbackForm(...))``) and checked here when
it is made, so a mistake in a plugin fails when the plugin loads, naming the field, and never
half-way through an import.  Reading an export with it is :mod:`qms_engine.feedback.forms`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from qms_engine.chain.authorisation import SEVERITIES

TIME = "time"
STATION = "station"
COMMENT = "comment"
GROUPS = ("response", "week", "month")
RATING_SCALE = range(1, 6)
"""Every rating is an integer 1 (worst) … 5 (best)."""
MAX_KEEP_DAYS = 36_500
"""A century: the longest a plugin may keep comments (a date that far back still exists)."""

_RATING_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

DEFAULT_PERSONAL = (
    "name",
    "full name",
    "your name",
    "phone",
    "phone number",
    "mobile",
    "mobile number",
    "mobile no",
    "contact number",
    "email",
    "email address",
    "address",
    "नाम",
    "आपका नाम",
    "मोबाइल",
    "मोबाइल नंबर",
    "मोबाइल नम्बर",
    "फ़ोन नंबर",
    "फोन नंबर",
    "पता",
)
"""Header variants of columns with a person's name, number or address: dropped unread."""

GOOGLE_FORMS_TIMES = (
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%Y/%m/%d %I:%M:%S %p",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
)
"""How Google Forms and Sheets write a response's time (the sheet's locale decides the order of
day and month); ISO 8601 with an offset is always understood as well."""


def loose_key(text: str) -> str:
    """A header or station name as it is compared: NFC, case-folded, without spaces,
    punctuation or symbols ("Police Station / थाना:" and "police station थाना" are the same
    header, "ps-kot39" and "PS-KOT39" the same station)."""
    normal = unicodedata.normalize("NFC", text).casefold()
    return "".join(char for char in normal if unicodedata.category(char)[0] not in "PSZC")


@dataclass(frozen=True)
class FeedbackForm:
    """The columns and rules of a station's citizen feedback form (a Google Form, say)."""

    columns: Mapping[str, tuple[str, ...]]
    """Field → the header variants that name its column (English, Hindi …): the fields are
    ``time``, ``station``, ``comment`` (optional) and each name in :attr:`ratings`."""
    ratings: tuple[str, ...] = ("behaviour", "action_taken", "timeliness", "overall")
    """The ratings the form asks for, each 1 (worst) … 5 (best), in the order shown."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Rating → the label summaries and charts show ("Behaviour / व्यवहार"); default: its name."""
    personal: tuple[str, ...] = DEFAULT_PERSONAL
    """Header variants of columns that are dropped unread (name, phone, email …)."""
    time_formats: tuple[str, ...] = GOOGLE_FORMS_TIMES
    """``strptime`` formats of the time column, tried in order (one per file)."""
    day_first: bool | None = None
    """Whether the sheet writes the day before the month, for a file whose every time reads
    both ways (11/01/2026); None: such a file is refused (qms.toml ``[feedback] day_first``
    may say it for a deployment)."""
    rating_labels: Mapping[str, int] = field(default_factory=dict)
    """Answers a rating's cell may hold instead of its number ({"Excellent": 5, "उत्कृष्ट": 5
    …}), compared as headers are (case, spaces and punctuation aside)."""
    poor_at_most: int = 2
    """A response is poor when its :attr:`poor_rating` is at most this."""
    poor_rating: str = "overall"
    group: Literal["response", "week", "month"] = "week"
    """One nonconformity per station for each poor response, or per ISO week, or per month."""
    severity: str = "minor"
    """The severity of a nonconformity raised by poor feedback."""
    keep_days: int = 730
    """How long a response's comment is kept, in days: ``qms feedback erase`` blanks the
    comments of responses older than this (never of younger ones).  The ratings and times stay
    for good, signed in the office's audit trail."""

    def __post_init__(self) -> None:
        where = "feedback form"
        for name in ("ratings", "personal", "time_formats"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(item, str) for item in value):
                one = f" (for one, write ({value!r},))" if isinstance(value, str) else ""
                raise TypeError(
                    f"{where}: {name} must be a tuple of strings, got "
                    f"{type(value).__name__} {value!r}{one}"
                )
        if not self.ratings:
            raise ValueError(f"{where}: ratings must name at least one rating")
        for rating in self.ratings:
            if not _RATING_NAME.match(rating) or rating in (TIME, STATION, COMMENT):
                raise ValueError(
                    f"{where}: rating name {rating!r} must be lowercase letters, digits and "
                    f"underscores, and not {TIME!r}, {STATION!r} or {COMMENT!r}"
                )
        if len(set(self.ratings)) != len(self.ratings):
            raise ValueError(f"{where}: ratings {list(self.ratings)} name one rating twice")
        self._check_columns(where)
        self._check_labels(where)
        self._check_rating_labels(where)
        if self.day_first not in (None, True, False):
            raise TypeError(f"{where}: day_first must be True, False or None")
        if self.poor_rating not in self.ratings:
            raise ValueError(
                f"{where}: poor_rating {self.poor_rating!r} is not one of the ratings "
                f"{list(self.ratings)}"
            )
        if not isinstance(self.poor_at_most, int) or self.poor_at_most not in RATING_SCALE[:-1]:
            raise ValueError(f"{where}: poor_at_most must be 1 … 4, got {self.poor_at_most!r}")
        if self.group not in GROUPS:
            raise ValueError(f"{where}: group must be one of {list(GROUPS)}, got {self.group!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"{where}: severity must be one of {list(SEVERITIES)}, got {self.severity!r}"
            )
        if not self.time_formats:
            raise ValueError(f"{where}: time_formats must give at least one format")
        if type(self.keep_days) is not int or not 1 <= self.keep_days <= MAX_KEEP_DAYS:
            raise ValueError(
                f"{where}: keep_days must be a whole number of days, 1 … {MAX_KEEP_DAYS}, got "
                f"{self.keep_days!r}"
            )

    def _check_columns(self, where: str) -> None:
        columns = self.columns
        if not isinstance(columns, Mapping) or not all(
            isinstance(name, str)
            and isinstance(variants, tuple)
            and variants
            and all(isinstance(variant, str) and loose_key(variant) for variant in variants)
            for name, variants in columns.items()
        ):
            raise TypeError(
                f"{where}: columns must map each field (str) to a non-empty tuple of header "
                f"variants (str), got {type(columns).__name__} {columns!r}"
            )
        fields = {TIME, STATION, COMMENT, *self.ratings}
        missing = [name for name in (TIME, STATION, *self.ratings) if name not in columns]
        if missing:
            raise ValueError(f"{where}: columns gives no header for {missing}")
        unknown = sorted(set(columns) - fields)
        if unknown:
            raise ValueError(
                f"{where}: columns names unknown field(s) {unknown} (fields: {sorted(fields)})"
            )
        owner: dict[str, str] = {}
        named = [(name, v) for name, variants in columns.items() for v in variants]
        for name, variant in [*named, *(("personal", v) for v in self.personal)]:
            key = loose_key(variant)
            if owner.setdefault(key, name) != name:
                raise ValueError(
                    f"{where}: the header {variant!r} is given for both {owner[key]!r} and {name!r}"
                )

    def _check_labels(self, where: str) -> None:
        labels = self.labels
        if not isinstance(labels, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in labels.items()
        ):
            raise TypeError(f"{where}: labels must map rating names (str) to labels (str)")
        unknown = sorted(set(labels) - set(self.ratings))
        if unknown:
            raise ValueError(f"{where}: labels names unknown rating(s) {unknown}")

    def _check_rating_labels(self, where: str) -> None:
        answers = self.rating_labels
        if not isinstance(answers, Mapping) or not all(
            isinstance(text, str) and loose_key(text) and type(value) is int
            for text, value in answers.items()
        ):
            raise TypeError(f"{where}: rating_labels must map answers (str) to ratings (int)")
        for text, value in answers.items():
            if value not in RATING_SCALE:
                raise ValueError(f"{where}: rating_labels {text!r} must be 1 … 5, got {value}")
            if self._answers[loose_key(text)] != value:
                raise ValueError(f"{where}: rating_labels gives {text!r} two ratings")

    @functools.cached_property
    def _answers(self) -> dict[str, int]:
        return {loose_key(text): value for text, value in self.rating_labels.items()}

    def rating_value(self, text: str) -> int | None:
        """The rating an answer of :attr:`rating_labels` stands for (None: it is none)."""
        return self._answers.get(loose_key(text)) if self.rating_labels else None

    def label(self, rating: str) -> str:
        """What a summary or chart calls ``rating``."""
        return self.labels.get(rating) or rating.replace("_", " ").capitalize()

    def is_poor(self, ratings: Mapping[str, int]) -> bool:
        """Whether a response with ``ratings`` is a poor one."""
        return ratings[self.poor_rating] <= self.poor_at_most
