"""A police station's rules for what may be filed.

A malkhana entry is worthless in court without the case it belongs to and the seal it was
deposited under, so both are required before the record is accepted.
"""

from __future__ import annotations

from qms_engine.api import Submission

MALKHANA_REQUIRED = {
    "case_number": "the case/FIR number the property belongs to",
    "seal_number": "the number of the seal the property was deposited under",
}


def malkhana_problems(submission: Submission) -> list[str]:
    """Missing case number or seal on a malkhana entry, each with what to add."""
    if submission.document_type.code != "MALKHANA":
        return []
    return [
        f"{submission.original_filename}: field {name!r} is missing — add {why}"
        for name, why in MALKHANA_REQUIRED.items()
        if not str(submission.metadata.get(name, "")).strip()
    ]
