"""Internal audits (ISO 9001 9.2): who audits what, and what each checklist item showed.

A quality coordinator plans an audit: title, scope, date, its auditors (each enrolled, active
and holding the ``auditor`` role in the office) and checklist items, an ISO clause (``7.5.3``,
``8.5.1 a``) or a document or register record of the office (its number in any letter case,
recorded as the real number), each with its auditor and the owner of the area audited (a
person), if any.  The auditor of an area does not audit their own work: an item's auditor is
not its area's owner and, for a document, wrote none of its revisions and signed no step of its
revision in force (its approval, making it effective, a periodic review) — when the audit is
planned, and again when the finding is recorded (someone who wrote a revision of the document
since is no longer independent of it).  The verifier holds every plan and finding to that rule
(the write path's reading of "signed" is the broader one).

Each item gets one finding, from its own auditor: it conforms, an observation (with its note),
or a nonconformity, which raises its NC in the same transaction: the finding's event names the
NC, and the ``nc.raised`` event (source ``internal_audit``, finding ``AUDIT#n``) follows it.
Audits are numbered by the office type's ``audit_numbering`` (serials per calendar year of the
office's local date).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select, update

from qms_engine.capa.nonconformities import next_nc_number, raise_nc_in
from qms_engine.capa.numbers import next_number
from qms_engine.chain import events
from qms_engine.chain.authorisation import CLAUSE_WORDS, FINDING_RESULTS, is_iso_clause
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import as_utc, local_today, utc_now, years_after
from qms_engine.documents.revisions import MAX_TITLE, named_author
from qms_engine.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from qms_engine.i18n import _
from qms_engine.people.permissions import (
    find_member,
    load_actor,
    require_role,
)
from qms_engine.rules.capa_terms import EARLIEST_AUDIT, FINDING_SEVERITIES, MAX_AUDIT_YEARS
from qms_engine.rules.roles import AUDITOR, QUALITY_COORDINATOR
from qms_engine.rules.text import is_blank
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    ACTION_TABLE,
    AUDIT_ITEM_TABLE,
    AUDIT_TABLE,
    DOCUMENT_TABLE,
    OFFICE_TABLE,
    REVISION_TABLE,
    STATE_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)

NONCONFORMITY = "nonconformity"
CONFORMS = "conforms"
NC_SEVERITIES = FINDING_SEVERITIES
"""How grave a nonconformity finding is (an observation is a finding of its own)."""
MAX_REF = 128


@dataclass(frozen=True)
class AuditItem:
    """A checklist item as planned: an ISO clause (``7.5.3``) or a document number, its
    auditor, and the owner of the area audited (``""``: none named)."""

    ref: str
    auditor: str
    area_owner: str = ""


@dataclass(frozen=True)
class AuditRef:
    """An audit just planned: its number, how many items, and its event."""

    office: str
    number: str
    items: int
    event_seq: int


@dataclass(frozen=True)
class FindingRef:
    """A finding just recorded: its subject (``AUDIT#n``), result, the NC it raised (``""``:
    none) and its event."""

    audit: str
    item: int
    subject: str
    result: str
    nc: str
    event_seq: int


@dataclass(frozen=True)
class ItemRow:
    """A checklist item as stored: what is audited, by whom, and its finding once recorded."""

    n: int
    ref: str
    auditor: str
    area_owner: str
    result: str | None
    note: str | None
    nc: str | None
    recorded_at: dt.datetime | None
    recorded_seq: int | None


@dataclass(frozen=True)
class AuditRow:
    """An internal audit as stored, with its checklist items in order."""

    office: str
    timezone: str
    number: str
    title: str
    scope: str
    date: dt.date
    auditors: list[str]
    planned_by: str
    planned_at: dt.datetime
    event_seq: int
    items: list[ItemRow]

    @property
    def open_items(self) -> list[int]:
        """The items whose finding is still to be recorded."""
        return [item.n for item in self.items if item.result is None]


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    id: int
    username: str


def _check_plan(
    title: str, scope: str, auditors: Sequence[str], items: Sequence[AuditItem]
) -> None:
    if is_blank(title):
        raise InvalidInput(_("the audit's title is empty"), hint=_("give --title"))
    if len(title) > MAX_TITLE:
        raise InvalidInput(
            _("the title is {count} characters; at most {max_title} are allowed").format(
                count=len(title), max_title=MAX_TITLE
            )
        )
    if is_blank(scope):
        raise InvalidInput(
            _("the audit's scope is empty"), hint=_("give --scope saying which processes it covers")
        )
    if not auditors:
        raise InvalidInput(_("an audit needs at least one auditor"), hint=_("give --auditor USER"))
    if not items:
        raise InvalidInput(
            _("an audit needs at least one checklist item"),
            hint=_('give --item "REF=AUDITOR[:AREA_OWNER]", e.g. --item "7.5.3=audit:priya"'),
        )
    for n, item in enumerate(items, 1):
        if is_blank(item.ref):
            raise InvalidInput(
                _("item {n}: its reference is empty (an ISO clause or a document)").format(n=n)
            )
        if len(item.ref.strip()) > MAX_REF:
            raise InvalidInput(
                _("item {n}: its reference is longer than {max_ref} characters").format(
                    n=n, max_ref=MAX_REF
                )
            )


def _auditor(connection: Connection, office: OfficeRef, name: str) -> _Person:
    """An auditor named in a plan: enrolled, active and an auditor of ``office``."""
    member = find_member(connection, name, office)
    username, roles = member.username, member.roles
    if not member.active:
        raise RuleViolation(
            _("auditor {username} is deactivated and cannot audit").format(username=repr(username)),
            hint=_("name another auditor"),
        )
    if AUDITOR not in roles:
        raise RuleViolation(
            _("{username} does not hold the auditor role in {code} (has: {value})").format(
                username=repr(username),
                code=office.code,
                value=", ".join(sorted(roles)) or _("none"),
            ),
            hint=_(
                "an admin can grant it: qms --office {code} user grant "
                "{username} auditor --as ADMIN"
            ).format(code=office.code, username=username),
        )
    return _Person(member.id, username)


def _area_owner(connection: Connection, office: OfficeRef, n: int, name: str) -> _Person | None:
    """The owner of item ``n``'s area: a person holding a role in ``office``, or none."""
    if not name.strip():
        return None
    try:
        member = find_member(connection, name, office)
    except NotFound as exc:
        raise NotFound(
            _("item {n}: area owner: {exc}").format(n=n, exc=exc), hint=exc.hint
        ) from None
    username = member.username
    if member.kind == "service":
        raise RuleViolation(
            _("item {n}: {username} is a service account, not the owner of an area").format(
                n=n, username=repr(username)
            ),
            hint=_("name the person of this office whose area it is, or leave it out"),
        )
    if not member.roles:
        raise RuleViolation(
            _("item {n}: area owner {username} holds no role in {code}").format(
                n=n, username=repr(username), code=office.code
            ),
            hint=_("name the person of this office whose area it is, or leave it out"),
        )
    return _Person(member.id, username)


@dataclass(frozen=True)
class _Document:
    id: int
    number: str
    workflow: str
    kind: str
    """"document" (controlled) or "register" (a register record)."""


def _document(connection: Connection, office: OfficeRef, ref: str) -> _Document | None:
    """The document of ``office`` that ``ref`` names (in any letter case), if it names one; a
    ref shaped like one of the office's numbers that names none is refused as a typo."""
    row = connection.execute(
        select(
            DOCUMENT_TABLE.c.id,
            DOCUMENT_TABLE.c.number,
            TYPE_TABLE.c.workflow,
            TYPE_TABLE.c.kind,
        )
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .where(
            DOCUMENT_TABLE.c.office_id == office.id,
            func.lower(DOCUMENT_TABLE.c.number) == ref.lower(),
        )
    ).first()
    if row is not None:
        return _Document(*row)
    if ref.lower().startswith(f"{office.code.lower()}/"):
        raise NotFound(
            _("no document numbered {ref} in {code}").format(ref=repr(ref), code=office.code),
            hint=_("see `qms doc list`; for an ISO clause give its number, e.g. 7.5.3"),
        )
    return None


def _own_work(
    connection: Connection, office: OfficeRef, document: _Document, in_force: str | None
) -> dict[str, str]:
    """Who must not audit ``document``, by user name, and why: whoever wrote one of its
    revisions (or is named as the author of one the inbox filed), and whoever signed a step of
    its revision in force (``in_force``: its workflow's in-force state)."""
    own: dict[str, str] = {}
    revisions = connection.execute(
        select(REVISION_TABLE.c.revno, USER_TABLE.c.username, USER_TABLE.c.kind)
        .join(USER_TABLE, USER_TABLE.c.id == REVISION_TABLE.c.author_id)
        .where(REVISION_TABLE.c.document_id == document.id)
        .order_by(REVISION_TABLE.c.revno)
    ).all()
    for revno, author, kind in revisions:
        subject = f"{document.number}#{revno}"
        own.setdefault(author, f"wrote {subject}")
        named = named_author(connection, office, subject) if kind == "service" else None
        if named:
            own.setdefault(named, f"is named as the author of {subject}")
    if in_force is None:
        return own
    steps = connection.execute(
        select(REVISION_TABLE.c.revno, ACTION_TABLE.c.transition, USER_TABLE.c.username)
        .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
        .join(ACTION_TABLE, ACTION_TABLE.c.revision_id == REVISION_TABLE.c.id)
        .join(USER_TABLE, USER_TABLE.c.id == ACTION_TABLE.c.actor_id)
        .where(REVISION_TABLE.c.document_id == document.id, STATE_TABLE.c.state == in_force)
        .order_by(ACTION_TABLE.c.event_seq)
    ).all()
    for revno, transition, actor in steps:
        own.setdefault(
            actor, f"took {transition!r} on {document.number}#{revno}, the revision in force"
        )
    return own


@dataclass(frozen=True)
class _PlannedItem:
    n: int
    ref: str
    auditor: _Person
    area_owner: _Person | None

    def payload(self) -> dict[str, str]:
        owner = self.area_owner.username if self.area_owner else ""
        return {"ref": self.ref, "auditor": self.auditor.username, "area_owner": owner}


def _plan_item(
    connection: Connection,
    runtime: Runtime,
    office: OfficeRef,
    n: int,
    item: AuditItem,
    auditors: Mapping[str, _Person],
) -> _PlannedItem:
    """Item ``n`` checked: its auditor one of ``auditors``, independent of what it audits."""
    ref = item.ref.strip()
    named = auditors.get(item.auditor.strip().lower())
    if named is None:
        raise InvalidInput(
            _(
                "item {n} ({ref}): its auditor {strip} is not one of the audit's auditors ({items})"
            ).format(
                n=n,
                ref=ref,
                strip=repr(item.auditor.strip()),
                items=", ".join(a.username for a in auditors.values()),
            ),
            hint=_("add --auditor {strip}, or name one of them for the item").format(
                strip=item.auditor.strip()
            ),
        )
    owner = _area_owner(connection, office, n, item.area_owner)
    instead = "name another of the audit's auditors for it"
    if owner is not None and owner.id == named.id:
        raise RuleViolation(
            _(
                "item {n} ({ref}): {username} owns that area and may not audit "
                "it: the auditor of an area does not audit their own work"
            ).format(n=n, ref=ref, username=repr(named.username)),
            hint=instead,
        )
    document = _document(connection, office, ref)
    if document is None:
        if not is_iso_clause(ref):
            raise InvalidInput(
                _(
                    "item {n}: {ref} is neither {clause_words} nor the number of a "
                    "document or record of {code}"
                ).format(n=n, ref=repr(ref), clause_words=_(CLAUSE_WORDS), code=office.code),
                hint=_(
                    'give the clause (--item "7.5.3={username}") or the full number '
                    '(--item "{code}/SOP/001={username}"); `qms doc list` shows the '
                    "numbers"
                ).format(username=named.username, code=office.code),
            )
        return _PlannedItem(n, ref, named, owner)
    why = _not_independent(connection, runtime, office, document, named.username)
    if why:
        raise RuleViolation(
            _(
                "item {n} ({number}): {username} {why} and may not audit it: the "
                "auditor of an area does not audit their own work"
            ).format(n=n, number=document.number, username=repr(named.username), why=why),
            hint=instead,
        )
    return _PlannedItem(n, document.number, named, owner)


def _not_independent(
    connection: Connection, runtime: Runtime, office: OfficeRef, document: _Document, auditor: str
) -> str:
    """Why ``auditor`` would audit their own work in auditing ``document`` ("": they would
    not)."""
    in_force = runtime.plugins.in_force_states().get(document.workflow)
    return _own_work(connection, office, document, in_force).get(auditor, "")


def _check_date(date: dt.date, office: OfficeRef) -> None:
    """An audit is dated from :data:`EARLIEST_AUDIT` to :data:`MAX_AUDIT_YEARS` years after
    the office's today."""
    today = local_today(office.timezone)
    latest = years_after(today, MAX_AUDIT_YEARS)
    if date < EARLIEST_AUDIT:
        raise InvalidInput(
            _("the audit's date {date} is before {earliest_audit}").format(
                date=date.isoformat(), earliest_audit=EARLIEST_AUDIT.isoformat()
            ),
            hint=_("give the day of the audit: --date YYYY-MM-DD"),
        )
    if date > latest:
        raise InvalidInput(
            _(
                "the audit's date {date} is more than {max_audit_years} years "
                "ahead (today is {today} in {code}; the latest allowed is "
                "{latest})"
            ).format(
                date=date.isoformat(),
                max_audit_years=MAX_AUDIT_YEARS,
                today=today.isoformat(),
                code=office.code,
                latest=latest.isoformat(),
            ),
            hint=_("give the day of the audit: --date YYYY-MM-DD"),
        )


def plan_audit(
    runtime: Runtime,
    *,
    office: OfficeRef,
    actor: Signer,
    title: str,
    scope: str,
    date: dt.date,
    auditors: Sequence[str],
    items: Sequence[AuditItem],
) -> AuditRef:
    """A quality coordinator plans an internal audit of ``office``: its signed
    ``internal_audit.planned`` event and its rows, refused whole if any auditor or item breaks
    the rules (see the module's docstring)."""
    title, scope = title.strip(), scope.strip()
    _check_plan(title, scope, auditors, items)
    _check_date(date, office)
    with runtime.unit_of_work() as work:
        connection = work.connection
        work.lock(office)
        planner = load_actor(connection, actor, office)
        role = require_role(planner, {QUALITY_COORDINATOR}, office, _("plan internal audits"))
        people: dict[str, _Person] = {}
        for name in auditors:
            person = _auditor(connection, office, name)
            people.setdefault(person.username.lower(), person)
        planned = [
            _plan_item(connection, runtime, office, n, item, people)
            for n, item in enumerate(items, 1)
        ]
        now = utc_now()
        numbering = runtime.plugins.registry.office_type(office.office_type).audit_numbering
        allotted = next_number(connection, AUDIT_TABLE, office, numbering, now)
        number = allotted.number
        names = [person.username for person in people.values()]
        record = work.append(
            office,
            planner,
            events.AUDIT_PLANNED,
            number,
            {
                "title": title,
                "scope": scope,
                "date": date.isoformat(),
                "auditors": names,
                "items": [item.payload() for item in planned],
            },
            role=role,
        )
        audit_id = connection.execute(
            insert(AUDIT_TABLE).returning(AUDIT_TABLE.c.id),
            {
                "office_id": office.id,
                "number": number,
                "serial_year": allotted.year,
                "serial": allotted.serial,
                "title": title,
                "scope": scope,
                "audit_date": date,
                "auditors": json.dumps(names, ensure_ascii=False),
                "planned_by": planner.id,
                "planned_at": now,
                "event_seq": record.seq,
            },
        ).scalar_one()
        connection.execute(
            insert(AUDIT_ITEM_TABLE),
            [
                {
                    "audit_id": audit_id,
                    "n": item.n,
                    "ref": item.ref,
                    "auditor_id": item.auditor.id,
                    "area_owner_id": item.area_owner.id if item.area_owner else None,
                }
                for item in planned
            ],
        )
    return AuditRef(office.code, number, len(planned), record.seq)


# --- findings --------------------------------------------------------------------------------


def _check_finding(result: str, note: str, severity: str) -> None:
    if result not in FINDING_RESULTS:
        raise InvalidInput(
            _("unknown finding {result}").format(result=repr(result)),
            hint=_("give --result {finding_results}").format(
                finding_results=" | ".join(FINDING_RESULTS)
            ),
        )
    if result != CONFORMS and is_blank(note):
        raise InvalidInput(
            _("a finding of {result} needs a note saying what was found").format(result=result),
            hint=_("give --note"),
        )
    if result == NONCONFORMITY and severity not in NC_SEVERITIES:
        raise InvalidInput(
            _("unknown severity {severity} for a nonconformity").format(severity=repr(severity)),
            hint=_("give --severity {nc_severities}").format(
                nc_severities=" | ".join(NC_SEVERITIES)
            ),
        )


def _raise_finding_nc(
    work: UnitOfWork,
    runtime: Runtime,
    office: OfficeRef,
    auditor: Actor,
    *,
    audit: AuditRow,
    item: ItemRow,
    note: str,
    severity: str,
    title: str,
) -> None:
    """The NC a nonconformity finding raises, right after the finding's event (which named the
    number :func:`next_nc_number` gave under the same lock): about the item's clause, or its
    document or register record."""
    document = _document(work.connection, office, item.ref)
    raise_nc_in(
        work,
        runtime,
        office,
        auditor,
        title=title or f"Internal audit {audit.number}, item {item.n}: {item.ref}",
        description=note,
        source="internal_audit",
        severity=severity,
        clause="" if document else item.ref,
        documents=[document.number] if document and document.kind == "document" else [],
        records=[document.number] if document and document.kind == "register" else [],
        finding=f"{audit.number}#{item.n}",
    )


def record_finding(
    runtime: Runtime,
    *,
    audit: str,
    item: int,
    actor: Signer,
    result: str,
    note: str,
    severity: str = "minor",
    nc_title: str = "",
) -> FindingRef:
    """The item's own auditor records its one finding: ``conforms``, an ``observation`` or a
    ``nonconformity`` (which raises an NC of ``severity``, titled ``nc_title`` or after the
    item, in the same transaction)."""
    note = note.strip()
    _check_finding(result, note, severity)
    if len(nc_title.strip()) > MAX_TITLE:
        raise InvalidInput(
            _("--nc-title is {count} characters; at most {max_title} are allowed").format(
                count=len(nc_title.strip()), max_title=MAX_TITLE
            ),
            hint=_("say it in a line: the note is the NC's description"),
        )
    with runtime.engine.connect() as connection:
        office = runtime.office(load_audit(connection, audit).office)
    with runtime.unit_of_work() as work:
        connection = work.connection
        work.lock(office)
        found = load_audit(connection, audit)  # as it stands under the lock
        _on_or_after(found, office)
        auditor = load_actor(connection, actor, office)
        role = require_role(auditor, {AUDITOR}, office, _("record audit findings"))
        row = _item_for(found, item, auditor)
        _still_independent(connection, runtime, office, found, row)
        subject = f"{found.number}#{row.n}"
        nc = next_nc_number(work, runtime, office) if result == NONCONFORMITY else ""
        now = utc_now()
        record = work.append(
            office,
            auditor,
            events.FINDING_RECORDED,
            subject,
            {"result": result, "note": note, "nc": nc},
            role=role,
        )
        if nc:
            _raise_finding_nc(
                work,
                runtime,
                office,
                auditor,
                audit=found,
                item=row,
                note=note,
                severity=severity,
                title=nc_title.strip(),
            )
        connection.execute(
            update(AUDIT_ITEM_TABLE)
            .where(
                AUDIT_ITEM_TABLE.c.audit_id
                == select(AUDIT_TABLE.c.id)
                .where(AUDIT_TABLE.c.number == found.number)
                .scalar_subquery(),
                AUDIT_ITEM_TABLE.c.n == row.n,
            )
            .values(
                result=result,
                note=note,
                nc_number=nc or None,
                recorded_at=now,
                recorded_seq=record.seq,
            )
        )
    return FindingRef(found.number, row.n, subject, result, nc, record.seq)


def _still_independent(
    connection: Connection, runtime: Runtime, office: OfficeRef, audit: AuditRow, item: ItemRow
) -> None:
    """Refuse the finding of an item whose auditor, since the audit was planned, wrote a
    revision of its document or signed its revision now in force."""
    document = _document(connection, office, item.ref)
    why = _not_independent(connection, runtime, office, document, item.auditor) if document else ""
    if why:
        raise RuleViolation(
            _(
                "item {n} of {number} ({ref}): {auditor} {why} since the audit "
                "was planned, and may no longer record its finding: the auditor "
                "of an area does not audit their own work"
            ).format(
                n=item.n, number=audit.number, ref=item.ref, auditor=repr(item.auditor), why=why
            ),
            hint=_(
                "the quality coordinator plans the item again with another "
                "auditor: qms internal-audit plan …"
            ),
        )


def _on_or_after(audit: AuditRow, office: OfficeRef) -> None:
    """A finding is recorded on the audit's day or later (the office's calendar)."""
    today = local_today(office.timezone)
    if today < audit.date:
        raise RuleViolation(
            _(
                "{number} is planned for {date}: its findings are recorded from "
                "that day on (today is {today} in {code})"
            ).format(
                number=audit.number,
                date=audit.date.isoformat(),
                today=today.isoformat(),
                code=office.code,
            ),
            hint=_("record the finding once the audit has taken place"),
        )


def _item_for(audit: AuditRow, n: int, auditor: Actor) -> ItemRow:
    """Item ``n`` of ``audit``, if ``auditor`` is its auditor and it has no finding yet."""
    items = {item.n: item for item in audit.items}
    row = items.get(n)
    if row is None:
        raise NotFound(
            _("{number} has no item {n} (items 1–{count})").format(
                number=audit.number, n=n, count=len(items)
            ),
            hint=_("see `qms internal-audit show {number}`").format(number=audit.number),
        )
    if row.auditor != auditor.username:
        raise PermissionDenied(
            _(
                "item {n} of {number} ({ref}) is audited by {auditor}: only they "
                "record its finding, not {username}"
            ).format(
                n=n,
                number=audit.number,
                ref=row.ref,
                auditor=repr(row.auditor),
                username=repr(auditor.username),
            ),
            hint=_("ask {auditor}").format(auditor=row.auditor),
        )
    if row.result is not None:
        raise RuleViolation(
            _(
                "item {n} of {number} ({ref}) already has its finding ({result}, "
                "event #{recorded_seq}): one finding per item"
            ).format(
                n=n,
                number=audit.number,
                ref=row.ref,
                result=row.result,
                recorded_seq=row.recorded_seq,
            ),
            hint=_("a further problem found later is raised as an NC of its own: qms nc raise"),
        )
    return row


# --- reading ---------------------------------------------------------------------------------

_PLANNER = USER_TABLE.alias("planner")
_ITEM_AUDITOR = USER_TABLE.alias("item_auditor")
_OWNER = USER_TABLE.alias("area_owner")


def _audits() -> Select[Any]:
    return (
        select(
            AUDIT_TABLE.c.id,
            OFFICE_TABLE.c.code,
            OFFICE_TABLE.c.timezone,
            AUDIT_TABLE.c.number,
            AUDIT_TABLE.c.title,
            AUDIT_TABLE.c.scope,
            AUDIT_TABLE.c.audit_date,
            AUDIT_TABLE.c.auditors,
            _PLANNER.c.username,
            AUDIT_TABLE.c.planned_at,
            AUDIT_TABLE.c.event_seq,
        )
        .join(OFFICE_TABLE, OFFICE_TABLE.c.id == AUDIT_TABLE.c.office_id)
        .join(_PLANNER, _PLANNER.c.id == AUDIT_TABLE.c.planned_by)
        .order_by(AUDIT_TABLE.c.serial_year, AUDIT_TABLE.c.serial)
    )


def _items(connection: Connection, audit_ids: Sequence[int]) -> dict[int, list[ItemRow]]:
    rows = connection.execute(
        select(
            AUDIT_ITEM_TABLE.c.audit_id,
            AUDIT_ITEM_TABLE.c.n,
            AUDIT_ITEM_TABLE.c.ref,
            _ITEM_AUDITOR.c.username,
            func.coalesce(_OWNER.c.username, ""),
            AUDIT_ITEM_TABLE.c.result,
            AUDIT_ITEM_TABLE.c.note,
            AUDIT_ITEM_TABLE.c.nc_number,
            AUDIT_ITEM_TABLE.c.recorded_at,
            AUDIT_ITEM_TABLE.c.recorded_seq,
        )
        .join(_ITEM_AUDITOR, _ITEM_AUDITOR.c.id == AUDIT_ITEM_TABLE.c.auditor_id)
        .outerjoin(_OWNER, _OWNER.c.id == AUDIT_ITEM_TABLE.c.area_owner_id)
        .where(AUDIT_ITEM_TABLE.c.audit_id.in_(audit_ids))
        .order_by(AUDIT_ITEM_TABLE.c.audit_id, AUDIT_ITEM_TABLE.c.n)
    ).all()
    items: dict[int, list[ItemRow]] = {}
    for audit_id, n, ref, auditor, owner, result, note, nc, recorded_at, seq in rows:
        at = as_utc(recorded_at) if recorded_at else None
        items.setdefault(audit_id, []).append(
            ItemRow(n, ref, auditor, owner, result, note, nc, at, seq)
        )
    return items


def _rows(connection: Connection, audits: Sequence[Any]) -> list[AuditRow]:
    items = _items(connection, [row[0] for row in audits]) if audits else {}
    found = []
    for audit_id, code, timezone, number, title, scope, day, auditors, by, at, seq in audits:
        found.append(
            AuditRow(
                code,
                timezone,
                number,
                title,
                scope,
                day,
                json.loads(auditors),
                by,
                as_utc(at),
                seq,
                items.get(audit_id, []),
            )
        )
    return found


def load_audit(connection: Connection, number: str) -> AuditRow:
    """The internal audit ``number`` with its items, or a NotFound naming it."""
    rows = connection.execute(_audits().where(AUDIT_TABLE.c.number == number.strip())).all()
    if not rows:
        raise NotFound(
            _("no internal audit numbered {number}").format(number=repr(number)),
            hint=_("see `qms internal-audit list`"),
        )
    return _rows(connection, rows)[0]


def list_audits(connection: Connection, office: OfficeRef) -> list[AuditRow]:
    """Every internal audit of ``office``, oldest first, with their items."""
    rows = connection.execute(_audits().where(AUDIT_TABLE.c.office_id == office.id)).all()
    return _rows(connection, rows)
