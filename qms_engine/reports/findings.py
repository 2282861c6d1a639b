"""A finding of a readiness report: what an auditor would find missing, under which ISO 9001
clause, and the command that mends it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qms_engine.i18n import N_, _, current_language

_DEVANAGARI = re.compile("[\u0900-\u097f]")

FINDING_KINDS = {
    "sop_missing": N_("Required SOP missing"),
    "sop_not_effective": N_("Required SOP not in force"),
    "review_overdue": N_("Periodic review overdue"),
    "draft_not_adopted": N_("Inbox draft not adopted"),
    "register_gap": N_("Register gap"),
    "record_not_verified": N_("Register records not verified"),
    "file_missing": N_("Stored file missing"),
    "file_damaged": N_("Stored file changed"),
    "service_overdue": N_("Service past its time limit"),
    "custody_overdue": N_("Item out past its return"),
    "major_nc_open": N_("Major nonconformity open"),
}
"""Every kind of finding (its code in ``--json``) → its label, shown with :func:`_`."""
TITLED = frozenset({"sop_missing", "sop_not_effective"})
"""The kinds whose subject is a title the office type's plugin gives (a required SOP)."""


@dataclass(frozen=True)
class Finding:
    """One thing an auditor would find missing, and the command that mends it."""

    kind: str
    """A key of :data:`FINDING_KINDS`."""
    clause: str
    """The ISO 9001:2015 clause it touches (``7.5.2``)."""
    subject: str
    """What it is about: a required SOP's title, a document or NC number, a register's code."""
    what: str
    """What is missing, in the current language."""
    command: str
    """The ``qms`` command (quoted for a shell) that mends it, or shows how."""

    def shown_subject(self) -> str:
        """The subject as shown: a plugin's title in the current language (:func:`shown_title`);
        a number or a code as it is."""
        return shown_title(self.subject) if self.kind in TITLED else self.subject


def shown_title(title: str) -> str:
    """A plugin's title in the current language: the Hindi or the English side of a bilingual
    "English / हिन्दी" title (either order), else the catalog's translation of it."""
    sides = [side.strip() for side in title.split(" / ")]
    hindi = [side for side in sides if _DEVANAGARI.search(side)]
    if len(sides) == 2 and len(hindi) == 1:
        (english,) = [side for side in sides if side not in hindi]
        return hindi[0] if current_language() == "hi" else english
    return _(title)
