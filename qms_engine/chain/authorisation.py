"""The authorisation table: for every kind of event, who may sign it, in which role, about whom.

Declared once, applied twice.  The write path (:meth:`UnitOfWork.append
<qms_engine.chain.unit_of_work.UnitOfWork.append>`) refuses an event that breaks its rule before
anything is written; the verifier (:mod:`qms_engine.chain.verifier`) reports, naming the rule,
every event in a chain that breaks it — whoever wrote it, with whatever key.  Document
transitions are authorised by their workflow definition, through :func:`transition_problems`,
which both use too.  The payloads of the events that name a file are held to their exact shape
here as well, so the engine never writes one that the verifier or the tables' comparison could
not read.  A new capability (corrective actions, feedback …) adds its event kinds
here, with their rules; an event kind with no rule is refused.

Whether the signer really holds the role they signed in is a fact of the chain's history (roles
granted and revoked before the event): the writer reads it from the tables inside the
transaction (:func:`qms_engine.people.permissions.load_actor`), the verifier from the chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeGuard

from qms_engine.chain import events
from qms_engine.chain.canonical import canonical_sha256
from qms_engine.clock import years_after
from qms_engine.i18n import N_, _
from qms_engine.rules.capa_terms import ACTION_TYPES as ACTION_TYPES
from qms_engine.rules.capa_terms import FINDING_RESULTS as FINDING_RESULTS
from qms_engine.rules.capa_terms import NC_SOURCES as NC_SOURCES
from qms_engine.rules.capa_terms import SEVERITIES as SEVERITIES
from qms_engine.rules.roles import (
    ADMIN,
    APPROVER,
    AUDITOR,
    CLERK,
    KEY_HOLDER,
    QUALITY_COORDINATOR,
    REVIEWER,
)
from qms_engine.rules.roles import AUTHOR as AUTHOR_ROLE
from qms_engine.rules.service_terms import DECISIONS
from qms_engine.rules.text import is_blank
from qms_engine.rules.workflows import AUDITED, AUTHOR, DONE, IMPLEMENTER, Transition


@dataclass(frozen=True)
class Attempt:
    """An event about to be written, or being verified, as the rules see it."""

    office: str
    actor: str
    role: str
    subject: str
    payload: Mapping[str, Any]
    founding: bool = False
    """The office's founding events: its chain has no admin yet, and the founder (the signer
    of its first event) sets it up (their own key, their enrolment, their own admin role)."""
    allowed_roles: Collection[str] | None = None
    """For rules whose roles depend on what is acted on: the document type's creator roles,
    or the roles of the transition that supersedes a revision."""


Condition = Callable[[Attempt], str | None]


@dataclass(frozen=True)
class Rule:
    """Who may sign one kind of event."""

    name: str
    """Quoted in refusals and verification problems: "rule 'role grants'"."""
    roles: frozenset[str] | None
    """The roles the signer may sign in; ``None``: those of :attr:`Attempt.allowed_roles`."""
    conditions: tuple[Condition, ...] = ()
    who: str = ""
    """The rule in words (docs/audit-bundle.md prints the table)."""

    def problems(self, attempt: Attempt) -> list[str]:
        """Every way ``attempt`` breaks this rule (empty: it is allowed)."""
        allowed = self.roles if self.roles is not None else attempt.allowed_roles
        found = []
        if allowed is None:
            found.append(
                _("the roles allowed here are unknown (what it acts on is not in the chain)")
            )
        elif attempt.role not in allowed and not attempt.founding:
            found.append(
                _("signed as {role!r}; allowed: {join}").format(
                    role=attempt.role, join=", ".join(sorted(allowed))
                )
            )
        found += [problem for check in self.conditions if (problem := check(attempt))]
        return [
            _("rule {name!r}: {problem}").format(name=_(self.name), problem=problem)
            for problem in found
        ]


def _own_key_as_key_holder(attempt: Attempt) -> str | None:
    if attempt.role == KEY_HOLDER and attempt.subject != attempt.actor:
        return _("{actor!r} may act as key holder only on their own key, not {subject!r}'s").format(
            actor=attempt.actor, subject=attempt.subject
        )
    return None


def _owner_is_subject(attempt: Attempt) -> str | None:
    owner = attempt.payload.get("owner")
    if owner != attempt.subject:
        return _("the key's owner {owner!r} is not the event's subject {subject!r}").format(
            owner=owner, subject=attempt.subject
        )
    return None


def _known_purpose(attempt: Attempt) -> str | None:
    purpose = attempt.payload.get("purpose")
    if purpose == "office":
        if attempt.subject != attempt.office or attempt.role != ADMIN:
            return _("only an admin registers an office key, and only for this office")
        return None
    if purpose != "user":
        return _("unknown key purpose {purpose!r} (user or office)").format(purpose=purpose)
    return None


def _not_to_themselves(attempt: Attempt) -> str | None:
    if attempt.subject == attempt.actor and not attempt.founding:
        return _("{actor!r} may not do this to themselves (another admin must)").format(
            actor=attempt.actor
        )
    return None


def _founding_only_for_themselves(attempt: Attempt) -> str | None:
    if attempt.founding and attempt.subject != attempt.actor:
        return _("while an office is founded, its founder acts only for themselves")
    return None


def _definition_hashed(attempt: Attempt) -> str | None:
    definition = attempt.payload.get("definition")
    if not isinstance(definition, Mapping) or definition.get("name") != attempt.subject:
        return _("the payload must hold the definition of workflow {subject!r}").format(
            subject=attempt.subject
        )
    try:
        digest = canonical_sha256(dict(definition))
    except (TypeError, ValueError) as exc:
        return _("the definition is not canonical JSON ({exc})").format(exc=exc)
    if digest != attempt.payload.get("sha256"):
        return _("the payload's sha256 is not that of its definition")
    return None


def _replaces_another_file(attempt: Attempt) -> str | None:
    before, after = attempt.payload.get("previous_sha256"), attempt.payload.get("sha256")
    if isinstance(after, str) and after == before:
        return _("the new file is the one it replaces")
    return None


_Shape = Mapping[str, tuple[Callable[[object], bool], str]]
"""The exact payload of an event kind (docs/audit-bundle.md §6): member → (test, in words)."""
_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: object) -> TypeGuard[str]:
    """Whether ``value`` names a file as the chain does: 64 lowercase hex digits."""
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def _is_size(value: object) -> bool:
    return type(value) is int and value >= 0  # never a bool


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _is_object(value: object) -> bool:
    return isinstance(value, Mapping)


def _is_source(value: object) -> bool:
    """Where a filed record came from: claim, file and inbox, and the author a draft names."""
    if not isinstance(value, Mapping) or not value.keys() <= {"author", "claim", "file", "inbox"}:
        return False
    if "author" in value and not (isinstance(value["author"], str) and value["author"]):
        return False
    return all(isinstance(value.get(name), str) for name in ("claim", "file", "inbox"))


_DIGEST_WORDS = N_("a SHA-256 (64 lowercase hex digits)")
_FILE_SHAPE: _Shape = {
    "sha256": (is_sha256, _DIGEST_WORDS),
    "size": (_is_size, N_("an integer ≥ 0")),
    "media_type": (_is_text, N_("a string")),
    "original_filename": (_is_text, N_("a string")),
    "reason": (_is_text, N_("a string")),
}
_CREATED_SHAPE: _Shape = {
    **_FILE_SHAPE,
    "title": (_is_text, N_("a string")),
    "state": (_is_text, N_("a string")),
    "fields": (_is_object, N_("an object")),
}
_FILED_SHAPE: _Shape = {
    **_CREATED_SHAPE,
    "source": (
        _is_source,
        N_(
            "an object of strings claim, file, inbox and, naming a draft's author, "
            "author (not empty)"
        ),
    ),
}
_REPLACED_SHAPE: _Shape = {**_FILE_SHAPE, "previous_sha256": (is_sha256, _DIGEST_WORDS)}


def _shaped(shape: _Shape) -> Condition:
    """A condition: the payload has exactly the members of ``shape``, each of its type, so no
    member the verifier and the projection compare can be missing or malformed."""

    def check(attempt: Attempt) -> str | None:
        payload = attempt.payload
        missing = sorted(shape.keys() - payload.keys())
        extra = sorted(payload.keys() - shape.keys())
        wrong = [
            _("{name!r} must be {words}, not {payload}").format(
                name=name, words=_(words), payload=_shown(payload[name])
            )
            for name, (fits, words) in shape.items()
            if name in payload and not fits(payload[name])
        ]
        found = [
            *([_("lacks {names}").format(names=", ".join(map(repr, missing)))] if missing else []),
            *([_("unknown {names}").format(names=", ".join(map(repr, extra)))] if extra else []),
            *wrong,
        ]
        return _("malformed payload: {join}").format(join="; ".join(found)) if found else None

    return check


def _shown(value: object) -> str:
    """A payload value as a problem quotes it: short, whatever its size."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:39]}…"


_RESPONSE_ID = re.compile(r"[0-9a-f]{16}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""ASCII digits only: ``\\d`` would take Devanagari ones (२०२६-…) as well."""
_CLAUSE = re.compile(r"[0-9]+(?:\.[0-9]+)*(?: ?[A-Za-z])?")
CLAUSE_WORDS = N_("an ISO clause (digits and dots, optionally a letter: 7.5.3, 8.5.1 a)")


def _one_of(values: Collection[str]) -> tuple[Callable[[object], bool], str]:
    return (lambda value: value in values), f"one of {', '.join(values)}"


def _list_of(
    fits: Callable[[object], bool], words: str, *, filled: bool = False
) -> tuple[Callable[[object], bool], str]:
    def check(value: object) -> bool:
        return isinstance(value, list) and (bool(value) or not filled) and all(map(fits, value))

    return check, f"a {'non-empty ' if filled else ''}list of {words}"


def _is_filled(value: object) -> bool:
    """Text that shows something: not blank as :func:`~qms_engine.rules.text.is_blank` says
    (a zero-width space is no order, no receiver, no title)."""
    return isinstance(value, str) and not is_blank(value)


def is_response_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` names a citizen's feedback response: 16 lowercase hex digits."""
    return isinstance(value, str) and _RESPONSE_ID.fullmatch(value) is not None


def is_iso_date(value: object) -> TypeGuard[str]:
    """Whether ``value`` is written as the chain writes a date, ``2026-11-29`` (ASCII digits;
    whether it is a real day is the CAPA rules' check)."""
    return isinstance(value, str) and _DATE.fullmatch(value) is not None


def chain_day(text: object) -> date | None:
    """The day a chain's date names (``YYYY-MM-DD``, ASCII digits), or None when it names
    none (``2026-02-30``)."""
    if not is_iso_date(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def shifted_day(day: date, by: timedelta, years: int = 0) -> date:
    """``day`` moved by ``by`` and ``years`` ahead, held within the calendar (a forged year 1
    or 9999 is a date out of bounds, not a crash)."""
    try:
        return years_after(day + by, years)
    except (OverflowError, ValueError):
        return date.max if by > timedelta(0) or years > 0 else date.min


def texts_of(value: object) -> list[str]:
    """The strings of a list member (anything else: the shape check reports it)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def is_iso_clause(value: object) -> TypeGuard[str]:
    """Whether ``value`` names an ISO 9001 clause: ``7.5.3``, ``8.5.1 a`` (an audit item's
    ``ref`` that is not a document number)."""
    return isinstance(value, str) and _CLAUSE.fullmatch(value) is not None


def _is_revno_floor(value: object) -> bool:
    return type(value) is int and value >= -1


def _is_stored_file(value: object) -> bool:
    """A file in the blob store, as evidence: its SHA-256, size, media type and name."""
    return (
        isinstance(value, Mapping)
        and value.keys() == {"sha256", "size", "media_type", "original_filename"}
        and is_sha256(value["sha256"])
        and _is_size(value["size"])
        and isinstance(value["media_type"], str)
        and isinstance(value["original_filename"], str)
    )


def _is_audit_item(value: object) -> bool:
    return (
        isinstance(value, Mapping)
        and value.keys() == {"ref", "auditor", "area_owner"}
        and _is_filled(value["ref"])
        and _is_filled(value["auditor"])
        and isinstance(value["area_owner"], str)
    )


def _is_response(value: object) -> bool:
    """One citizen's answers: id, time, ratings 1–5 by name, and the salted digest of the
    comment (:mod:`.comments`), never its words (nothing personal)."""
    if not isinstance(value, Mapping) or value.keys() != {
        "id",
        "time",
        "ratings",
        "comment_sha256",
    }:
        return False
    ratings = value["ratings"]
    return (
        is_response_id(value["id"])
        and isinstance(value["time"], str)
        and isinstance(ratings, Mapping)
        and bool(ratings)
        and all(type(r) is int and 1 <= r <= 5 for r in ratings.values())
        and is_sha256(value["comment_sha256"])
    )


def _is_poor_rule(value: object) -> bool:
    """The form's rule of a poor response: a rating's name, and the highest poor value."""
    return (
        isinstance(value, Mapping)
        and value.keys() == {"rating", "at_most"}
        and _is_filled(value["rating"])
        and type(value["at_most"]) is int
        and 1 <= value["at_most"] <= 4
    )


_FILES = _list_of(_is_stored_file, "files (sha256, size, media_type, original_filename)")
_TEXTS = _list_of(_is_text, "strings")
_RESPONSE_IDS = _list_of(is_response_id, "response ids (16 hex digits)")
_NC_RAISED_SHAPE: _Shape = {
    "title": (_is_filled, N_("a string, not empty")),
    "description": (_is_filled, N_("a string, not empty")),
    "source": _one_of(NC_SOURCES),
    "severity": _one_of(SEVERITIES),
    "clause": (_is_text, N_("a string")),
    "documents": _TEXTS,
    "records": _TEXTS,
    "evidence": _FILES,
    "responses": _RESPONSE_IDS,
    "finding": (_is_text, N_("a string")),
    "workflow": (_is_filled, N_("a string, not empty")),
    "state": (_is_filled, N_("a string, not empty")),
}
_NC_TRANSITION_SHAPE: _Shape = {
    "transition": (_is_filled, N_("a string, not empty")),
    "from": (_is_text, N_("a string")),
    "to": (_is_text, N_("a string")),
    "comment": (_is_text, N_("a string")),
}
_ACTION_ADDED_SHAPE: _Shape = {
    "type": _one_of(ACTION_TYPES),
    "description": (_is_filled, N_("a string, not empty")),
    "owner": (_is_filled, N_("a user name")),
    "due": (is_iso_date, N_("a date YYYY-MM-DD")),
    "document": (_is_text, N_("a document number, or empty")),
    "after_revno": (_is_revno_floor, N_("an integer ≥ -1")),
}
_ACTION_DONE_SHAPE: _Shape = {
    "comment": (_is_filled, N_("a string, not empty")),
    "evidence": _FILES,
}
_REASSIGNED_SHAPE: _Shape = {
    "owner": (_is_filled, N_("a user name")),
    "comment": (_is_filled, N_("a string, not empty")),
}
_LINKED_SHAPE: _Shape = {"responses": _list_of(is_response_id, "response ids", filled=True)}
_AUDIT_SHAPE: _Shape = {
    "title": (_is_filled, N_("a string, not empty")),
    "scope": (_is_filled, N_("a string, not empty")),
    "date": (is_iso_date, N_("a date YYYY-MM-DD")),
    "auditors": _list_of(_is_filled, "user names", filled=True),
    "items": _list_of(_is_audit_item, "items {ref, auditor, area_owner}", filled=True),
}
_FINDING_SHAPE: _Shape = {
    "result": _one_of(FINDING_RESULTS),
    "note": (_is_text, N_("a string")),
    "nc": (_is_text, N_("an NC number, or empty")),
}
_FEEDBACK_SHAPE: _Shape = {
    "file_sha256": (is_sha256, _DIGEST_WORDS),
    "file_name": (_is_text, N_("a string")),
    "poor": (_is_poor_rule, N_("an object {rating: a rating's name, at_most: an integer 1-4}")),
    "responses": _list_of(
        _is_response, "responses {id, time, ratings (1-5), comment_sha256}", filled=True
    ),
}
_ERASED_SHAPE: _Shape = {
    "before": (is_iso_date, N_("a date YYYY-MM-DD")),
    "responses": _list_of(is_response_id, "response ids", filled=True),
}
_HEX128 = re.compile(r"[0-9a-f]{128}")


def _is_seq(value: object) -> bool:
    return type(value) is int and value >= 1


def _is_signature(value: object) -> bool:
    return isinstance(value, str) and _HEX128.fullmatch(value) is not None


_SIGNATURE_WORDS = N_("an Ed25519 signature (128 lowercase hex digits)")
_JOINED_SHAPE: _Shape = {
    "name": (_is_filled, N_("a string, not empty")),
    "office_type": (_is_filled, N_("a string, not empty")),
}
_IMPORTED_SHAPE: _Shape = {
    **_JOINED_SHAPE,
    "timezone": (_is_filled, N_("a string, not empty")),
    "from_seq": (_is_seq, N_("an integer ≥ 1")),
    "to_seq": (_is_seq, N_("an integer ≥ 1")),
    "head": (is_sha256, _DIGEST_WORDS),
}
_WITNESSED_SHAPE: _Shape = {
    "seq": (_is_seq, N_("an integer ≥ 1")),
    "head": (is_sha256, _DIGEST_WORDS),
    "recorded_at": (_is_filled, N_("the checkpoint's time")),
    "key": (is_sha256, N_("the station office key's fingerprint")),
    "signature": (_is_signature, _SIGNATURE_WORDS),
    "witness_key": (is_sha256, N_("the SP office key's fingerprint")),
    "witness_signature": (_is_signature, _SIGNATURE_WORDS),
}
_ADOPTED_SHAPE: _Shape = {
    "district": (_is_filled, N_("the district's office code")),
    "revno": (_is_size, N_("an integer ≥ 0")),
    "sha256": (is_sha256, _DIGEST_WORDS),
    "title": (_is_filled, N_("a string, not empty")),
}


def _district_document(attempt: Attempt) -> str | None:
    district = attempt.payload.get("district")
    if isinstance(district, str) and not attempt.subject.startswith(f"{district}/"):
        return _("{subject!r} is not a document of district {district!r}").format(
            subject=attempt.subject, district=district
        )
    return None


def _document_action_floor(attempt: Attempt) -> str | None:
    """A document action names the revision after which it counts; any other names none."""
    document, floor = attempt.payload.get("document"), attempt.payload.get("after_revno")
    if document == "" and floor != -1:
        return _("an action that names no document counts after no revision (after_revno −1)")
    return None


def _auditor_independent(attempt: Attempt) -> str | None:
    """Each item's auditor is one of the audit's auditors and not the owner of its area."""
    auditors, items = attempt.payload.get("auditors"), attempt.payload.get("items")
    if not isinstance(auditors, list) or not isinstance(items, list):
        return None  # the shape check reports it
    for n, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            continue
        if item.get("auditor") not in auditors:
            return _("item {n}: its auditor {auditor!r} is not one of the auditors").format(
                n=n, auditor=item.get("auditor")
            )
        if item.get("auditor") == item.get("area_owner"):
            return _("item {n}: {auditor!r} would audit their own area").format(
                n=n, auditor=item.get("auditor")
            )
    return None


def _finding_consistent(attempt: Attempt) -> str | None:
    result, note, nc = (attempt.payload.get(k) for k in ("result", "note", "nc"))
    if (result == "nonconformity") != _is_filled(nc):
        return _("a finding names the NC it raised exactly when it is a nonconformity")
    if result != "conforms" and not _is_filled(note):
        return _("a finding of {result!r} needs a note saying what was found").format(result=result)
    return None


def _feedback_subject(attempt: Attempt) -> str | None:
    digest, responses = attempt.payload.get("file_sha256"), attempt.payload.get("responses")
    if isinstance(digest, str) and attempt.subject != f"{attempt.office}/FEEDBACK/{digest[:12]}":
        return _(
            "the subject must be {office}/FEEDBACK/ and the file's first 12 hex digits"
        ).format(office=attempt.office)
    if isinstance(responses, list):
        ids = [r.get("id") for r in responses if isinstance(r, Mapping)]
        if len(ids) != len(set(map(repr, ids))):
            return _("a response is listed twice")
    return None


def _poor_rating_given(attempt: Attempt) -> str | None:
    """Every response has the rating the form's poor rule reads."""
    poor, responses = attempt.payload.get("poor"), attempt.payload.get("responses")
    if not isinstance(poor, Mapping) or not isinstance(responses, list):
        return None  # the shape check reports it
    for response in responses:
        ratings = response.get("ratings") if isinstance(response, Mapping) else None
        if isinstance(ratings, Mapping) and poor.get("rating") not in ratings:
            return _("response {id!r} has no rating {rating!r}").format(
                id=response.get("id"), rating=poor.get("rating")
            )
    return None


def _responses_linked_by_coordinator(attempt: Attempt) -> str | None:
    """Citizens' responses are linked to a nonconformity by a quality coordinator only, when
    it is raised as when they are linked later."""
    if attempt.payload.get("responses") and attempt.role != QUALITY_COORDINATOR:
        return _(
            "only a quality coordinator raises an NC linking citizens' responses, not a {role!r}"
        ).format(role=attempt.role)
    return None


def _erasure_subject(attempt: Attempt) -> str | None:
    before, responses = attempt.payload.get("before"), attempt.payload.get("responses")
    if isinstance(before, str) and attempt.subject != f"{attempt.office}/FEEDBACK/ERASED/{before}":
        return _("the subject must be {office}/FEEDBACK/ERASED/ and payload.before").format(
            office=attempt.office
        )
    if isinstance(responses, list) and len(responses) != len(set(map(repr, responses))):
        return _("a response is listed twice")
    return None


# issue 13: the payloads of the citizen-charter and record-room events


def _is_desk(value: object) -> bool:
    return (
        isinstance(value, Mapping)
        and value.keys() == {"code", "title"}
        and _is_filled(value["code"])
        and _is_filled(value["title"])
    )


def _is_service(value: object) -> bool:
    return (
        isinstance(value, Mapping)
        and value.keys() == {"code", "title", "days", "desk"}
        and _is_filled(value["code"])
        and _is_filled(value["title"])
        and type(value["days"]) is int
        and value["days"] > 0
        and _is_filled(value["desk"])
    )


def _is_record_class(value: object) -> bool:
    if not isinstance(value, Mapping) or value.keys() != {"code", "title", "retention_years"}:
        return False
    years = value["retention_years"]
    return (
        _is_filled(value["code"])
        and _is_filled(value["title"])
        and (years is None or (type(years) is int and years >= 0))
    )


def _is_unique_list(value: object) -> bool:
    return isinstance(value, list) and len(value) == len(set(map(repr, value)))


def _subject_is_office(attempt: Attempt) -> str | None:
    if attempt.subject != attempt.office:
        return _("the subject must be the office's code {office!r}").format(office=attempt.office)
    return None


def _listed_once(attempt: Attempt) -> str | None:
    if not _is_unique_list(attempt.payload.get("records")):
        return _("a record is listed twice")
    return None


_CHARTER_SHAPE: _Shape = {
    "desks": _list_of(_is_desk, "desks {code, title}"),
    "services": _list_of(_is_service, "services {code, title, days (an integer > 0), desk}"),
}
_SCHEDULE_SHAPE: _Shape = {
    "classes": _list_of(
        _is_record_class, "record classes {code, title, retention_years (≥ 0, or null)}"
    ),
}
_APPLICATION_SHAPE: _Shape = {
    "service": (_is_filled, N_("a service code")),
    "desk": (_is_filled, N_("a desk code")),
    "applicant": (_is_filled, N_("a string, not empty")),
    "received": (is_iso_date, N_("a date YYYY-MM-DD")),
    "due": (is_iso_date, N_("a date YYYY-MM-DD")),
}
_DISPOSED_SHAPE: _Shape = {
    "decision": _one_of(DECISIONS),
    "disposed": (is_iso_date, N_("a date YYYY-MM-DD")),
    "note": (_is_text, N_("a string")),
}
_DEPOSITED_SHAPE: _Shape = {
    "class": (_is_filled, N_("a record class code")),
    "closed": (is_iso_date, N_("a date YYYY-MM-DD")),
}
_RECORD_LIST = _list_of(_is_filled, "record numbers", filled=True)
_PROPOSED_SHAPE: _Shape = {"records": _RECORD_LIST}
_APPROVED_SHAPE: _Shape = {"comment": (_is_text, N_("a string"))}
_REJECTED_SHAPE: _Shape = {"comment": (_is_filled, N_("the reason, not empty"))}
_WEEDED_SHAPE: _Shape = {"on": (is_iso_date, N_("a date YYYY-MM-DD")), "records": _RECORD_LIST}


_CUSTODY_SHAPE: _Shape = {
    "from": (_is_filled, N_("a place, not empty")),
    "to": (_is_filled, N_("a place, not empty")),
    "received_by": (_is_filled, N_("who received it, not empty")),
    "seal_intact": (lambda value: type(value) is bool, N_("true or false")),
    "expected_back": (
        lambda value: value == "" or is_iso_date(value),
        N_("a date YYYY-MM-DD, or empty"),
    ),
    "order": (_is_text, N_("a string")),
    "note": (_is_text, N_("a string")),
}


def _custody_consistent(attempt: Attempt) -> str | None:
    """An item is handed over to another place than the one it leaves."""
    before, after = attempt.payload.get("from"), attempt.payload.get("to")
    if isinstance(before, str) and before == after:
        return _("moved from {place!r} to the same place").format(place=before)
    return None


nc_transition_shape: Condition = _shaped(_NC_TRANSITION_SHAPE)
"""The exact payload of an ``nc.<meaning>`` transition (whose rule is its workflow's, see
:func:`transition_problems`): transition, from, to, comment."""

_KEY_RULES = (_own_key_as_key_holder, _owner_is_subject, _founding_only_for_themselves)
_ADMIN = frozenset({ADMIN})
_ADMIN_OR_HOLDER = frozenset({ADMIN, KEY_HOLDER})

RULES: Mapping[str, Rule] = {
    events.KEY_REGISTERED.action: Rule(
        N_("key registration"),
        _ADMIN_OR_HOLDER,
        (*_KEY_RULES, _known_purpose),
        "an admin (for a user, or the office key once), or a user for their own new key",
    ),
    events.KEY_RETIRED.action: Rule(
        N_("key retirement"),
        _ADMIN_OR_HOLDER,
        _KEY_RULES,
        "an admin, or the key's owner replacing it",
    ),
    events.KEY_REVOKED.action: Rule(
        N_("key revocation"), _ADMIN, (_owner_is_subject,), "an admin, with a reason"
    ),
    events.OFFICE_CREATED.action: Rule(
        N_("office creation"), _ADMIN, (), "the admin who founds the office"
    ),
    events.DOCUMENT_TYPE_ADDED.action: Rule(
        N_("document types"),
        None,
        (),
        "an admin, or whoever first files a type a plugin added later (in a creator role)",
    ),  # allowed_roles: see type_adders
    events.WORKFLOW_REGISTERED.action: Rule(
        N_("workflow registration"),
        _ADMIN,
        (_definition_hashed,),
        "an admin: the definition, and its SHA-256, every later event of the office is held to",
    ),
    events.USER_CREATED.action: Rule(
        N_("enrolment"),
        _ADMIN,
        (_not_to_themselves, _founding_only_for_themselves),
        "an admin, for someone else (the founder enrols themselves once)",
    ),
    events.USER_ROLE_GRANTED.action: Rule(
        N_("role grants"),
        _ADMIN,
        (_not_to_themselves, _founding_only_for_themselves),
        "an admin, to someone else: nobody grants a role to themselves (the founder aside)",
    ),
    events.USER_ROLE_REVOKED.action: Rule(N_("role revocation"), _ADMIN, (), "an admin"),
    events.USER_DEACTIVATED.action: Rule(
        N_("deactivation"), _ADMIN, (_not_to_themselves,), "an admin, for someone else"
    ),
    events.DOCUMENT_CREATED.action: Rule(
        N_("document creation"), None, (), "a creator role of the document type"
    ),
    events.REVISION_CREATED.action: Rule(
        N_("revisions"), None, (_shaped(_CREATED_SHAPE),), "a creator role of the document type"
    ),
    events.RECORD_FILED.action: Rule(
        N_("record filing"), None, (_shaped(_FILED_SHAPE),), "a creator role of the register type"
    ),
    events.REVISION_ADOPTED.action: Rule(
        N_("adoption"),
        None,
        (),
        "the human author a draft filed from the inbox names, in a creator role of its type",
    ),
    events.REVISION_REPLACED.action: Rule(
        N_("file replacement"),
        None,
        (_shaped(_REPLACED_SHAPE), _replaces_another_file),
        "the revision's author, in a creator role of its type, while it is in its workflow's "
        "initial state (never a register record)",
    ),
    events.DUPLICATE_SET_ASIDE.action: Rule(
        N_("duplicates"), None, (), "a creator role of the register type (the ingest service)"
    ),
    events.REVISION_SUPERSEDED.action: Rule(
        N_("supersession"),
        None,
        (),
        "whoever takes the transition into an exclusive state, in the same transaction",
    ),
    events.CHECKPOINT_RECORDED.action: Rule(
        N_("checkpoints"),
        frozenset({QUALITY_COORDINATOR, ADMIN}),
        (),
        "a quality coordinator or an admin",
    ),
    events.NC_RAISED.action: Rule(
        N_("raising nonconformities"),
        frozenset({QUALITY_COORDINATOR, APPROVER, AUDITOR, REVIEWER, AUTHOR_ROLE, CLERK, ADMIN}),
        (_shaped(_NC_RAISED_SHAPE), _responses_linked_by_coordinator),
        "anyone holding a role in the office; in its workflow's initial state; one that links "
        "citizens' responses, a quality coordinator",
    ),
    events.NC_ACTION_ADDED.action: Rule(
        N_("planning actions"),
        frozenset({QUALITY_COORDINATOR, APPROVER}),
        (_shaped(_ACTION_ADDED_SHAPE), _document_action_floor),
        "a quality coordinator or an approver, while the NC accepts actions; the owner enrolled, "
        "the due date not past",
    ),
    events.NC_ACTION_DONE.action: Rule(
        N_("implementing actions"),
        None,
        (_shaped(_ACTION_DONE_SHAPE),),
        "the action's owner, in any role they hold, once, while the NC accepts actions (a "
        "document action is done by its revision becoming effective instead)",
    ),
    events.NC_ACTION_REASSIGNED.action: Rule(
        N_("reassigning actions"),
        frozenset({QUALITY_COORDINATOR, APPROVER}),
        (_shaped(_REASSIGNED_SHAPE),),
        "a quality coordinator or an approver, saying why, while the NC accepts actions and the "
        "action is not done; the new owner enrolled and active",
    ),
    events.NC_FEEDBACK_LINKED.action: Rule(
        N_("linking feedback"),
        frozenset({QUALITY_COORDINATOR}),
        (_shaped(_LINKED_SHAPE),),
        "a quality coordinator, to an open NC raised from citizen feedback",
    ),
    events.AUDIT_PLANNED.action: Rule(
        N_("planning internal audits"),
        frozenset({QUALITY_COORDINATOR}),
        (_shaped(_AUDIT_SHAPE), _auditor_independent),
        "a quality coordinator; no auditor audits their own area or a document they wrote, "
        "approved or made effective",
    ),
    events.FINDING_RECORDED.action: Rule(
        N_("audit findings"),
        frozenset({AUDITOR}),
        (_shaped(_FINDING_SHAPE), _finding_consistent),
        "the item's auditor, once; a nonconformity finding raises its NC in the next event",
    ),
    events.FEEDBACK_RECEIVED.action: Rule(
        N_("citizen feedback"),
        frozenset({QUALITY_COORDINATOR}),
        (_shaped(_FEEDBACK_SHAPE), _feedback_subject, _poor_rating_given),
        "a quality coordinator of the station; each response once in the chain; each poor one "
        "linked to a nonconformity by the chain's end",
    ),
    events.FEEDBACK_ERASED.action: Rule(
        N_("erasing comments"),
        frozenset({QUALITY_COORDINATOR}),
        (_shaped(_ERASED_SHAPE), _erasure_subject),
        "a quality coordinator; each response received before, and before the date, erased once",
    ),
    # --- issue 13: custody rules ---
    events.CUSTODY_MOVED.action: Rule(
        N_("custody"),
        None,
        (_shaped(_CUSTODY_SHAPE), _custody_consistent),
        "a creator role of the register type (a clerk, the malkhana moharrir) or a quality "
        "coordinator; from where the item is, to another place of its type, never after a final "
        "place; with an order to a place that needs one, and the day it is due back (within a "
        "year) to a place it returns from",
    ),
    # --- issue 13: service and record-room rules ---
    events.CHARTER_RECORDED.action: Rule(
        N_("citizen charter"),
        _ADMIN,
        (_shaped(_CHARTER_SHAPE), _subject_is_office),
        "an admin: the desks and services (each with its time limit in days) now in force",
    ),
    events.SCHEDULE_RECORDED.action: Rule(
        N_("retention schedule"),
        _ADMIN,
        (_shaped(_SCHEDULE_SHAPE), _subject_is_office),
        "an admin: the record classes and their retention in years (null: permanent)",
    ),
    events.APPLICATION_RECEIVED.action: Rule(
        N_("receiving applications"),
        frozenset({CLERK}),
        (_shaped(_APPLICATION_SHAPE),),
        "a clerk; once; a service of the charter in force, at its desk, due its days after "
        "the day received",
    ),
    events.APPLICATION_DISPOSED.action: Rule(
        N_("disposing of applications"),
        frozenset({CLERK, APPROVER}),
        (_shaped(_DISPOSED_SHAPE),),
        "a clerk or an approver; once, for an application received, not before its receipt",
    ),
    events.RECORD_DEPOSITED.action: Rule(
        N_("depositing records"),
        frozenset({CLERK}),
        (_shaped(_DEPOSITED_SHAPE),),
        "a clerk; once; a record of this chain, in a class of the retention schedule",
    ),
    events.DISPOSAL_PROPOSED.action: Rule(
        N_("proposing disposal lists"),
        frozenset({CLERK, QUALITY_COORDINATOR}),
        (_shaped(_PROPOSED_SHAPE), _listed_once),
        "a clerk or a quality coordinator; records deposited and not weeded",
    ),
    events.DISPOSAL_APPROVED.action: Rule(
        N_("approving disposal lists"),
        frozenset({APPROVER}),
        (_shaped(_APPROVED_SHAPE),),
        "an approver who did not propose the list; once",
    ),
    events.DISPOSAL_REJECTED.action: Rule(
        N_("rejecting disposal lists"),
        frozenset({APPROVER}),
        (_shaped(_REJECTED_SHAPE),),
        "an approver who did not propose the list, saying why; once (its records are free again)",
    ),
    events.RECORDS_WEEDED.action: Rule(
        N_("weeding records"),
        frozenset({CLERK, QUALITY_COORDINATOR}),
        (_shaped(_WEEDED_SHAPE), _listed_once),
        "a clerk or a quality coordinator; only records of the approved list, each once, each "
        "past its class's retention on the day weeded (a permanent class never)",
    ),
    # --- issue 13: district rules ---
    events.STATION_JOINED.action: Rule(
        N_("district stations"),
        _ADMIN,
        (_shaped(_JOINED_SHAPE),),
        "an admin of the SP office; each station once, never one whose bundles it imports",
    ),
    events.BUNDLE_IMPORTED.action: Rule(
        N_("station bundles"),
        frozenset({QUALITY_COORDINATOR, ADMIN}),
        (_shaped(_IMPORTED_SHAPE),),
        "a quality coordinator or an admin of the SP office; each import extends the events "
        "held of the station (from_seq = held + 1), never rewrites or shortens them",
    ),
    events.CHECKPOINT_WITNESSED.action: Rule(
        N_("witnessed checkpoints"),
        frozenset({QUALITY_COORDINATOR, ADMIN}),
        (_shaped(_WITNESSED_SHAPE),),
        "a quality coordinator or an admin of the SP office, countersigned by its office key; "
        "each station checkpoint once, of a station of the district (held, if imported)",
    ),
    events.SOP_ADOPTED.action: Rule(
        N_("adopting district SOPs"),
        frozenset({QUALITY_COORDINATOR, APPROVER}),
        (_shaped(_ADOPTED_SHAPE), _district_document),
        "a quality coordinator or an approver of the station; a district document, each "
        "revision once and never an older one than adopted before",
    ),
}


def type_adders(payload: Mapping[str, Any]) -> frozenset[str]:
    """Who may add a document type to an office: an admin, or one of the type's own creator
    roles (recorded in the ``office.document_type.added`` payload)."""
    creators = payload.get("creator_roles")
    return frozenset({ADMIN, *(creators if isinstance(creators, list) else ())})


def event_problems(action: str, attempt: Attempt) -> list[str]:
    """Every way an event of a fixed kind breaks the table (transitions: see
    :func:`transition_problems`)."""
    rule = RULES.get(action)
    if rule is None:
        return [
            _("no authorisation rule for action {action!r}: no one may sign it").format(
                action=action
            )
        ]
    return rule.problems(attempt)


def transition_problems(
    transition: Transition,
    attempt: Attempt,
    *,
    is_author: bool,
    took: Callable[[str], bool],
    actions: Sequence[tuple[str, bool]] = (),
    what: str = "revision",
) -> list[str]:
    """Why ``attempt`` may not take ``transition`` on a revision or nonconformity (empty: it
    may): the roles, the required comment, who alone may take it (``by``), segregation of
    duties (``not_by``) and, for a nonconformity, the state of its actions (``actions``) of
    the workflow definition.

    ``is_author``: the actor wrote the revision (raised the NC); ``took(name)``: the actor took
    the transition ``name`` on it before, or, for ``"implementer"``, implemented one of the NC's
    actions, or, for ``"audited"``, owns the area whose audit finding raised the NC;
    ``actions``: the NC's actions that count (added since the last transition that reset
    them) as (subject, done); ``what``: "revision" or "nonconformity", for the messages."""
    found = []
    if transition.by and not any(
        is_author if entry == AUTHOR else took(entry) for entry in transition.by
    ):
        whom = " or ".join(_whom(entry, what) for entry in transition.by)
        found.append(
            _("only {whom} may {name} this {what}, not {actor!r}").format(
                whom=whom, name=transition.name, what=what, actor=attempt.actor
            )
        )
    if attempt.role not in transition.roles:
        found.append(
            _("{name!r} needs role {join}, not {role!r}").format(
                name=transition.name, join=" or ".join(transition.roles), role=attempt.role
            )
        )
    comment = attempt.payload.get("comment")
    if transition.comment_required and not _is_filled(comment):
        found.append(_("{name!r} needs a comment saying why").format(name=transition.name))
    for rule in transition.not_by:
        if rule == AUTHOR:
            if is_author:
                did = (
                    _("wrote this revision")
                    if what == "revision"
                    else _("raised this {what}").format(what=what)
                )
                found.append(
                    _(
                        "{actor!r} {did} and may not {name} it: segregation of duties needs "
                        "another person"
                    ).format(actor=attempt.actor, did=did, name=transition.name)
                )
        elif took(rule):
            did = {
                IMPLEMENTER: _("implemented one of its actions"),
                AUDITED: _("owns the area audited, whose finding raised it,"),
            }.get(rule, _("took {rule!r} on this {what}").format(rule=rule, what=what))
            found.append(
                _(
                    "{actor!r} {did} and may not also {name} it: segregation of duties "
                    "needs another person"
                ).format(actor=attempt.actor, did=did, name=transition.name)
            )
    open_actions = [subject for subject, done in actions if not done]
    if transition.actions is not None and not actions:
        found.append(
            _("{name!r} needs at least one action (none is planned)").format(name=transition.name)
        )
    elif transition.actions == DONE and open_actions:
        found.append(
            _("{name!r} needs every action done; still open: {join}").format(
                name=transition.name, join=", ".join(open_actions)
            )
        )
    return found


def _whom(entry: str, what: str) -> str:
    """Who a ``by`` entry names, in words."""
    if entry == AUTHOR:
        return _("its author") if what == "revision" else _("whoever raised it")
    if entry == IMPLEMENTER:
        return _("whoever implemented one of its actions")
    if entry == AUDITED:
        return _("the owner of the area audited")
    return _("whoever took {entry!r} on it").format(entry=entry)
