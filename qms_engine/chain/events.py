"""Every kind of audit event, declared in one place; names read as sentences.

Each kind carries the *meaning* its signature has (ISO 9001 7.5.3 / 21 CFR 11.50): what the
signer declares by signing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qms_engine.rules.workflows import NONCONFORMITY


@dataclass(frozen=True)
class EventKind:
    """An audit action and the meaning of the signature on it."""

    action: str
    meaning: str


KEY_REGISTERED = EventKind("key.registered", "registered key")
KEY_RETIRED = EventKind("key.retired", "retired key")
KEY_REVOKED = EventKind("key.revoked", "revoked key")
OFFICE_CREATED = EventKind("office.created", "created office")
DOCUMENT_TYPE_ADDED = EventKind("office.document_type.added", "added document type")
WORKFLOW_REGISTERED = EventKind("workflow.registered", "registered workflow")
USER_CREATED = EventKind("user.created", "enrolled user")
USER_ROLE_GRANTED = EventKind("user.role.granted", "granted role")
USER_ROLE_REVOKED = EventKind("user.role.revoked", "revoked role")
USER_DEACTIVATED = EventKind("user.deactivated", "deactivated user")
DOCUMENT_CREATED = EventKind("document.created", "authored")
REVISION_CREATED = EventKind("document.revision.created", "authored")
RECORD_FILED = EventKind("document.revision.filed", "filed")
REVISION_ADOPTED = EventKind("document.revision.adopted", "authored")
"""The human author signs for a draft the inbox service filed in their name."""
REVISION_REPLACED = EventKind("document.revision.replaced", "authored")
"""The author puts a corrected file in place of a draft's: its old file stays in the history."""
DUPLICATE_SET_ASIDE = EventKind("ingest.duplicate.set_aside", "set aside duplicate")
REVISION_SUPERSEDED = EventKind("document.revision.superseded", "superseded")
CHECKPOINT_RECORDED = EventKind("audit.checkpoint.recorded", "recorded checkpoint")
NC_RAISED = EventKind("nc.raised", "raised")
"""A nonconformity recorded (ISO 9001 10.2): its transitions are ``nc.<meaning>`` events."""
NC_ACTION_ADDED = EventKind("nc.action.added", "planned action")
NC_ACTION_DONE = EventKind("nc.action.done", "implemented action")
"""The action's owner declares it done (a document action is done by its revision instead)."""
NC_ACTION_REASSIGNED = EventKind("nc.action.reassigned", "reassigned action")
"""An open action handed to a new owner (its owner left, or can no longer act), saying why."""
NC_FEEDBACK_LINKED = EventKind("nc.feedback.linked", "linked feedback")
"""Later poor citizen feedback of a period whose nonconformity is still open."""
AUDIT_PLANNED = EventKind("internal_audit.planned", "planned audit")
"""An internal audit (ISO 9001 9.2): scope, date, auditors, and who audits which item."""
FINDING_RECORDED = EventKind("internal_audit.finding", "recorded finding")
FEEDBACK_RECEIVED = EventKind("feedback.received", "imported feedback")
"""Citizens' responses of one station from one form export (ISO 9001 9.1.2)."""
FEEDBACK_ERASED = EventKind("feedback.comments.erased", "erased comments")
"""The comments (and salts) of responses older than the form's ``keep_days`` blanked."""
# --- issue 13: custody of case property and files (chain/custody_rules.py) ---
CUSTODY_MOVED = EventKind("custody.moved", "handed over")
"""A register's item (case property, a file) handed over from one place to another: the signer
hands it over, ``received_by`` takes it, with the seal's state, and the day it is due back or
the order that disposes of it."""
# --- issue 13: citizen-charter services and the record room (chain/service_rules.py) ---
CHARTER_RECORDED = EventKind("service.charter.recorded", "recorded charter")
"""The office's desks and citizen-charter services with their time limits, as in force."""
APPLICATION_RECEIVED = EventKind("service.application.received", "received application")
"""A citizen's application for a charter service: received on a day, due days later."""
APPLICATION_DISPOSED = EventKind("service.application.disposed", "disposed application")
SCHEDULE_RECORDED = EventKind("record_room.schedule.recorded", "recorded retention schedule")
"""The record classes of the office's record room and how long each is kept."""
RECORD_DEPOSITED = EventKind("record_room.record.deposited", "deposited record")
DISPOSAL_PROPOSED = EventKind("record_room.disposal.proposed", "proposed disposal list")
DISPOSAL_APPROVED = EventKind("record_room.disposal.approved", "approved disposal list")
DISPOSAL_REJECTED = EventKind("record_room.disposal.rejected", "rejected disposal list")
"""A disposal list refused by an approver (with the reason): its records are free again."""
RECORDS_WEEDED = EventKind("record_room.records.weeded", "weeded records")
"""Records of an approved disposal list destroyed (weeded), each past its retention."""
# --- issue 13: the district over its stations (chain/district_rules.py) ---
STATION_JOINED = EventKind("district.station.joined", "joined station")
"""An office of the same deployment becomes one of the district's stations (SP chain)."""
BUNDLE_IMPORTED = EventKind("district.bundle.imported", "imported station bundle")
"""A station's verified audit bundle taken in: its events up to ``to_seq`` (SP chain)."""
CHECKPOINT_WITNESSED = EventKind("district.checkpoint.witnessed", "witnessed checkpoint")
"""The SP office key countersigns a station's checkpoint (SP chain)."""
SOP_ADOPTED = EventKind("district.sop.adopted", "adopted district SOP")
"""A station adopts a revision of its district's SOP, naming its file's SHA-256 (station chain)."""

TRANSITION_PREFIX = "document.revision."
NC_TRANSITION_PREFIX = "nc."

CONTENT_KINDS = frozenset(
    kind.action for kind in (REVISION_CREATED, RECORD_FILED, REVISION_REPLACED)
)
"""The events whose ``payload.sha256`` names a file in the blob store (kept for good)."""
EVIDENCE_KINDS = frozenset(kind.action for kind in (NC_RAISED, NC_ACTION_DONE))
"""The events whose ``payload.evidence`` lists files in the blob store (each with a sha256)."""
FILE_KINDS = CONTENT_KINDS | EVIDENCE_KINDS
"""Every event that names files in the blob store (see :func:`named_files`)."""


def named_files(action: str, payload: Mapping[str, Any]) -> list[object]:
    """The blob names an event's payload records, as recorded (the caller checks each is a
    SHA-256): a revision's file, or each evidence file of an NC or an action."""
    if action in CONTENT_KINDS:
        return [payload.get("sha256")]
    evidence = payload.get("evidence") if action in EVIDENCE_KINDS else None
    if not isinstance(evidence, list):
        return []
    return [item.get("sha256") for item in evidence if isinstance(item, Mapping)]


def revision_transition(meaning: str) -> EventKind:
    """The event for a workflow transition, named by its meaning: ``document.revision.approved``."""
    return EventKind(TRANSITION_PREFIX + meaning.replace(" ", "_"), meaning)


def nc_transition(meaning: str) -> EventKind:
    """The event for a nonconformity's transition, named by its meaning: ``nc.contained``."""
    return EventKind(NC_TRANSITION_PREFIX + meaning.replace(" ", "_"), meaning)


def workflow_transition(subject: str, meaning: str) -> EventKind:
    """The event for a transition of a workflow moving ``subject`` (its definition's
    ``subject``: revisions, or nonconformities)."""
    return nc_transition(meaning) if subject == NONCONFORMITY else revision_transition(meaning)


FIXED_KINDS = {
    kind.action: kind
    for kind in (
        KEY_REGISTERED,
        KEY_RETIRED,
        KEY_REVOKED,
        OFFICE_CREATED,
        DOCUMENT_TYPE_ADDED,
        WORKFLOW_REGISTERED,
        USER_CREATED,
        USER_ROLE_GRANTED,
        USER_ROLE_REVOKED,
        USER_DEACTIVATED,
        DOCUMENT_CREATED,
        REVISION_CREATED,
        RECORD_FILED,
        REVISION_ADOPTED,
        REVISION_REPLACED,
        DUPLICATE_SET_ASIDE,
        REVISION_SUPERSEDED,
        CHECKPOINT_RECORDED,
        NC_RAISED,
        NC_ACTION_ADDED,
        NC_ACTION_DONE,
        NC_ACTION_REASSIGNED,
        NC_FEEDBACK_LINKED,
        AUDIT_PLANNED,
        FINDING_RECORDED,
        FEEDBACK_RECEIVED,
        FEEDBACK_ERASED,
        # issue 13 custody kinds
        CUSTODY_MOVED,
        # issue 13 service and record-room kinds
        CHARTER_RECORDED,
        APPLICATION_RECEIVED,
        APPLICATION_DISPOSED,
        SCHEDULE_RECORDED,
        RECORD_DEPOSITED,
        DISPOSAL_PROPOSED,
        DISPOSAL_APPROVED,
        DISPOSAL_REJECTED,
        RECORDS_WEEDED,
        # issue 13 district kinds
        STATION_JOINED,
        BUNDLE_IMPORTED,
        CHECKPOINT_WITNESSED,
        SOP_ADOPTED,
    )
}


def meaning_fits(action: str, meaning: str) -> bool:
    """Whether a recorded meaning is the one its action carries (a verifier's check)."""
    if action in FIXED_KINDS:
        return FIXED_KINDS[action].meaning == meaning
    if action.startswith(NC_TRANSITION_PREFIX):
        return action == nc_transition(meaning).action
    return action == revision_transition(meaning).action
