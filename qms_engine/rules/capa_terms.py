"""The words of nonconformity records, named once: the write path, the verifier (through
:mod:`qms_engine.chain.authorisation`) and the command line's help and choices all use these.

Only constants: ``qms nc --help`` loads this module without the engine.
"""

from __future__ import annotations

from datetime import date

NC_SOURCES = (
    "internal_audit",
    "external_audit",
    "citizen_feedback",
    "complaint",
    "process_monitoring",
)
"""Where a nonconformity was found (``nc.raised`` payload ``source``)."""

SEVERITIES = ("major", "minor", "observation")
"""How serious a nonconformity is (``nc.raised`` payload ``severity``)."""

FINDING_SEVERITIES = ("major", "minor")
"""How grave a nonconformity an audit finding raises is (an observation is a finding of its
own)."""

ACTION_TYPES = ("immediate", "corrective", "preventive", "improvement")
"""What an action of an NC's plan is (``nc.action.added`` payload ``type``)."""

FINDING_RESULTS = ("conforms", "observation", "nonconformity")
"""What a checklist item of an internal audit showed (``internal_audit.finding`` ``result``)."""

MAX_DUE_YEARS = 5
"""How far ahead an action may be due: a later date is a typo (9999-12-31), not a plan."""

EARLIEST_AUDIT = date(2000, 1, 1)
"""No internal audit of this system is dated before it: an earlier date is a typo."""

MAX_AUDIT_YEARS = 2
"""How far ahead an audit may be planned (ISO 9001 audits follow a yearly programme)."""


def spoken(values: tuple[str, ...]) -> str:
    """``values`` as a sentence lists them: ``major, minor or observation``."""
    return f"{', '.join(values[:-1])} or {values[-1]}" if len(values) > 1 else "".join(values)
