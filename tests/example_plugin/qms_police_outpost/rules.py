"""The outpost's filing rule: a complaint's date received is a real date, written YYYY-MM-DD.

An outpost registers no FIR; it forwards each complaint to its police station, which counts
the days from the date received.  That the field is given at all is declared in
:mod:`qms_police_outpost.office` (``required_fields``) and enforced by the engine; this rule
adds what a declaration cannot say, and refuses before anything is written, saying what to
type instead.
"""

from __future__ import annotations

from datetime import date

from qms_engine.api import Submission

COMPLAINT = "COMPLAINT"


def complaint_problems(submission: Submission) -> list[str]:
    """A complaint whose ``received_on`` is not a date, with what to write instead."""
    if submission.document_type.code != COMPLAINT:
        return []
    received = str(submission.metadata.get("received_on", "")).strip()
    if not received or _is_date(received):  # a missing one is the engine's to report
        return []
    return [
        f"{submission.original_filename}: field 'received_on' is {received!r}, not a date — "
        "write it as YYYY-MM-DD, e.g. received_on=2026-11-29"
    ]


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10  # 2026-11-29, not the 20261129 that fromisoformat also takes
