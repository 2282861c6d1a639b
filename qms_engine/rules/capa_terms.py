"""The words of nonconformity records, named once: the write path, the verifier (through
:mod:`qms_engine.chain.authorisation`) and the command line's help and choices all use these.

Only constants: ``qms nc --help`` loads this module without the engine.
"""

from __future__ import annotations

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


def spoken(values: tuple[str, ...]) -> str:
    """``values`` as a sentence lists them: ``major, minor or observation``."""
    return f"{', '.join(values[:-1])} or {values[-1]}" if len(values) > 1 else "".join(values)
