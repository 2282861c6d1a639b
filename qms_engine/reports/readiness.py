"""What an ISO 9001 audit of an office would find missing today (``qms check readiness``).

Each :class:`Finding` names the clause it touches, what is missing and the command that mends
it, ``--as`` someone who may run it (:mod:`.staff`): required SOPs with no revision in force,
of the office's own or adopted from its district (7.5.1, 7.5.2), periodic reviews overdue (7.5.2),
inbox drafts no author has signed for (7.5.2), registers with gaps or with records filed more
than a day ago and not yet verified (7.5.3), revisions whose
stored file is missing or changed (7.5.3, :mod:`.stored_files`), citizen-charter applications
past their time limit (8.2.2) and property out past its return (8.5.3, :mod:`.commitments`),
and open major nonconformities (10.2).  Everything is read from the tables the chain projects
and the blob store; nothing is written.  The texts are in the current language
(:mod:`qms_engine.i18n`); ``kind``, ``clause``, ``subject`` and ``command`` are codes, numbers
and commands, the same in every language.
"""

from __future__ import annotations

import shlex
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, select

from qms_engine import registers
from qms_engine.capa.records import list_ncs
from qms_engine.chain import events
from qms_engine.chain.authorisation import RULES, Attempt
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import as_utc, local_today, zone
from qms_engine.documents.master_list import (
    DocumentSummary,
    document_detail,
    due_reviews,
    list_documents,
)
from qms_engine.documents.transitions import may_take
from qms_engine.i18n import _, ngettext, use_language
from qms_engine.people.users import UserView
from qms_engine.reports.adopted import AdoptedSop, adopted_sops
from qms_engine.reports.commitments import custody_overdue, services_overdue
from qms_engine.reports.findings import Finding
from qms_engine.reports.staff import Staff
from qms_engine.reports.stored_files import drafts_to_adopt, in_initial_state, unverified_files
from qms_engine.rules.workflows import Transition, WorkflowDefinition
from qms_engine.runtime import Runtime
from qms_engine.storage.models import DOCUMENT_TABLE, REVISION_TABLE, STATE_TABLE, TYPE_TABLE


@dataclass(frozen=True)
class OfficeReadiness:
    """An office's findings on ``today`` (its own calendar day); ready when there are none."""

    office: str
    name: str
    office_type: str
    today: date
    findings: tuple[Finding, ...]
    ready: bool


def office_readiness(
    runtime: Runtime, office: OfficeRef, *, today: date | None = None
) -> OfficeReadiness:
    """What an ISO 9001 audit of ``office`` would find missing on ``today`` (default: the
    office's today), in the order of the clauses: documents and records (7.5), services (8.2,
    8.5), then nonconformities (10.2)."""
    today = today or local_today(office.timezone)
    documents = list_documents(runtime, office=office, kind="document")
    staff = Staff.of(runtime, office)
    findings = [
        *required_sops(runtime, office, documents, staff),
        *overdue_reviews(runtime, office, today, staff),
    ]
    with runtime.engine.connect() as connection:
        findings += drafts_to_adopt(runtime, connection, office)
        findings += register_gaps(runtime, connection, office, staff)
        findings += unverified_records(runtime, connection, office, today, staff)
        findings += unverified_files(runtime, connection, office)
        findings += services_overdue(connection, office, today, staff)
        findings += custody_overdue(runtime, office, today)
        findings += open_major_ncs(runtime, connection, office)
    return OfficeReadiness(
        office.code, office.name, office.office_type, today, tuple(findings), not findings
    )


# --- required SOPs (7.5.1, 7.5.2) ---------------------------------------------------------------


def _key(title: str) -> str:
    """A title as compared: NFC, without letter case, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", title).casefold().split())


def title_keys(title: str) -> frozenset[str]:
    """The ways ``title`` may be matched: whole, each side of a bilingual "English / हिन्दी"
    title, and its Hindi translation when the catalog gives one (a plugin's marked title)."""
    with use_language("hi"):
        hindi = _(title)
    parts = [title, hindi, *title.split(" / "), *hindi.split(" / ")]
    return frozenset(_key(part) for part in parts if part.strip())


def required_sops(
    runtime: Runtime, office: OfficeRef, documents: Sequence[DocumentSummary], staff: Staff
) -> Iterable[Finding]:
    """Each SOP the office type requires with no document of that title in force, of its own
    or a district SOP it adopted (:mod:`.adopted`): missing altogether (7.5.1), drafted but not
    approved and made effective, or adopted from the district before its revision (7.5.2)."""
    office_type = runtime.plugins.registry.office_type(office.office_type)
    specs = [spec for spec in office_type.document_types if spec.kind == "document"]
    keyed = [(doc, title_keys(doc.title)) for doc in documents]
    adopted = [
        (sop, frozenset().union(*map(title_keys, sop.titles)))
        for sop in adopted_sops(runtime, office)
    ]
    for title in office_type.required_sops:
        wanted = title_keys(title)
        matching = [doc for doc, keys in keyed if wanted & keys]
        if any(doc.effective_revno is not None for doc in matching):
            continue
        followed = [sop for sop, keys in adopted if wanted & keys]
        if any(sop.current for sop in followed):
            continue
        if followed:
            yield _behind(office, title, followed[0], staff)
            continue
        if matching:
            doc = matching[0]
            what = _("{number} rev {revno} is {state}: not yet approved and in force")
            yield Finding(
                "sop_not_effective",
                "7.5.2",
                title,
                what.format(number=doc.number, revno=doc.latest_revno, state=doc.latest_state),
                shlex.join(("qms", "doc", "show", doc.number)),
            )
            continue
        spec = specs[0] if specs else None
        words = ["qms", "--office", office.code, "doc", "new", "FILE"]
        words += ["--type", spec.code if spec else "SOP", "--title", title]
        author = staff.who(spec.creator_roles if spec else ())
        yield Finding(
            "sop_missing",
            "7.5.1",
            title,
            _("no SOP with this title has been written"),
            shlex.join([*words, "--as", author]),
        )


def _behind(office: OfficeRef, title: str, sop: AdoptedSop, staff: Staff) -> Finding:
    """A required SOP the station follows from its district, at a revision the district has
    since replaced: adopting the one in force mends it."""
    who = staff.who(RULES[events.SOP_ADOPTED.action].roles or ())
    words = ("qms", "--office", office.code, "district", "sop", "adopt", sop.number, "--as", who)
    what = _("{number} rev {adopted} adopted from the district, which has rev {revno} in force")
    return Finding(
        "sop_not_effective",
        "7.5.2",
        title,
        what.format(number=sop.number, adopted=sop.adopted, revno=sop.in_force),
        shlex.join(words),
    )


# --- periodic reviews (7.5.2) -------------------------------------------------------------------


def overdue_reviews(
    runtime: Runtime, office: OfficeRef, today: date, staff: Staff
) -> Iterable[Finding]:
    """Documents in force whose periodic review was due before ``today``: confirmed with the
    workflow's review step back into the same state (by someone it allows), or revised."""
    office_type = runtime.plugins.registry.office_type(office.office_type)
    workflows = runtime.plugins.workflows
    for item in due_reviews(runtime, office, within_days=0, today=today):
        summary = item.summary
        if not item.overdue or summary.review_due is None:
            continue
        workflow = workflows[office_type.document_type(summary.type_code).workflow]
        state = workflow.in_force_state or ""
        review = next((t for t in workflow.transitions_from(state) if t.target == state), None)
        number, rev = summary.number, str(summary.effective_revno)
        words: tuple[str, ...]
        if review:
            words = ("doc", "act", number, review.name, "--rev", rev, "--comment", "WHY")
            who = _who_may_take(runtime, office, review, f"{number}#{rev}", staff)
        else:
            words = ("doc", "revise", number, "FILE", "--reason", "WHY")
            who = staff.who(office_type.document_type(summary.type_code).creator_roles)
        late = -item.days_left
        what = _("review was due on {due}, {late}").format(
            due=summary.review_due.isoformat(),
            late=ngettext("{days} day overdue", "{days} days overdue", late).format(days=late),
        )
        command = shlex.join(("qms", *words, "--as", who))
        yield Finding("review_overdue", "7.5.2", number, what, command)


def _who_may_take(
    runtime: Runtime, office: OfficeRef, step: Transition, subject: str, staff: Staff
) -> str:
    """Who may take ``step`` (a review, a verification) on revision ``subject``, by the write
    path's own rules (:func:`~qms_engine.documents.transitions.may_take`: roles, segregation of
    duties)."""
    number, _sep, revno = subject.partition("#")
    detail = document_detail(runtime, number)
    author = next(r.author for r in detail.revisions if str(r.revno) == revno)
    taken = {
        (entry.payload.get("transition"), entry.actor)
        for entry in detail.history
        if str(entry.revno) == revno
    }

    def may(person: UserView) -> bool:
        return may_take(
            step,
            Attempt(office.code, person.username, "", subject, {}),
            person.roles,
            is_author=person.username == author,
            took=lambda name: (name, person.username) in taken,
        )

    return staff.who(step.roles, may)


# --- registers (7.5.3) --------------------------------------------------------------------------


def register_gaps(
    runtime: Runtime, connection: Connection, office: OfficeRef, staff: Staff
) -> Iterable[Finding]:
    """Each gap the registers report (:func:`qms_engine.registers.gaps`): a past day of a day
    book not closed (closed late, saying so, with its closing entry), or a serial missing or
    repeated, which the engine never writes: the audit verification says which rows went."""
    office_type = runtime.plugins.registry.office_type(office.office_type)
    for gap in registers.gaps(connection, office):
        spec = office_type.document_type(gap.register)
        day_book = spec.day_book
        if gap.serial is None and day_book is not None:
            field = f"{day_book.closing_field}=VALUE"
            words = ["register", "write", gap.register, "--closing", "--field", field]
            words += ["--text", "TEXT", "--as", staff.who(spec.creator_roles)]
        else:
            words = ["audit", "verify"]
        command = shlex.join(("qms", "--office", office.code, *words))
        yield Finding("register_gap", "7.5.3", gap.register, gap.what, command)


def unverified_records(
    runtime: Runtime, connection: Connection, office: OfficeRef, today: date, staff: Staff
) -> Iterable[Finding]:
    """Per register, its records still waiting in their workflow's first state (filed, not yet
    verified by someone other than who filed them, as ``qms tasks`` lists them) that were filed
    more than a day ago: before yesterday, in the office's days, so a day's entries have the
    next day to be verified.  The command verifies the oldest, as ``qms tasks`` prints it."""
    workflows = runtime.plugins.workflows
    yesterday = today - timedelta(days=1)
    late: dict[str, list[tuple[str, str, int, date]]] = {}
    for code, name, number, revno, filed in _filed_records(connection, office, workflows):
        if filed < yesterday:
            late.setdefault(code, []).append((name, number, revno, filed))
    for code, records in late.items():
        name, number, revno, filed = records[0]
        workflow = workflows[name]
        onward = [
            t for t in workflow.transitions_from(workflow.initial) if t.target != workflow.initial
        ]
        if not onward:
            continue  # nothing moves a record on from there: it waits for nobody
        step = onward[0]
        who = _who_may_take(runtime, office, step, f"{number}#{revno}", staff)
        words = ["qms", "doc", "act", number, step.name, "--rev", str(revno)]
        words += ["--comment", "WHY"] if step.comment_required else []
        what = ngettext(
            "{count} record filed more than a day ago (before {day}) is not yet verified: "
            "{number}, filed on {filed}",
            "{count} records filed more than a day ago (before {day}) are not yet verified; "
            "the oldest is {number}, filed on {filed}",
            len(records),
        ).format(
            count=len(records),
            day=yesterday.isoformat(),
            number=number,
            filed=filed.isoformat(),
        )
        command = shlex.join((*words, "--as", who))
        yield Finding("record_not_verified", "7.5.3", code, what, command)


def _filed_records(
    connection: Connection, office: OfficeRef, workflows: Mapping[str, WorkflowDefinition]
) -> Iterable[tuple[str, str, str, int, date]]:
    """The office's register records in their workflow's initial state: (register, workflow,
    number, revision, the office's day it was filed), oldest first within each register."""
    rows = connection.execute(
        select(
            TYPE_TABLE.c.code,
            TYPE_TABLE.c.workflow,
            DOCUMENT_TABLE.c.number,
            REVISION_TABLE.c.revno,
            REVISION_TABLE.c.created_at,
        )
        .join(REVISION_TABLE, REVISION_TABLE.c.document_id == DOCUMENT_TABLE.c.id)
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .join(STATE_TABLE, STATE_TABLE.c.revision_id == REVISION_TABLE.c.id)
        .where(
            DOCUMENT_TABLE.c.office_id == office.id,
            TYPE_TABLE.c.kind == "register",
            in_initial_state(workflows),
        )
        .order_by(TYPE_TABLE.c.code, REVISION_TABLE.c.created_at, REVISION_TABLE.c.id)
    )
    for code, workflow, number, revno, created_at in rows:
        filed = as_utc(created_at).astimezone(zone(office.timezone)).date()
        yield str(code), str(workflow), str(number), int(revno), filed


# --- nonconformities (10.2) ---------------------------------------------------------------------


def open_major_ncs(
    runtime: Runtime, connection: Connection, office: OfficeRef
) -> Iterable[Finding]:
    """Major nonconformities not yet closed (or cancelled): in any state of the office's CAPA
    workflow but a terminal one."""
    name = runtime.plugins.registry.office_type(office.office_type).nc_workflow
    workflow = runtime.plugins.workflows[name]
    open_states = [state for state, spec in workflow.states.items() if not spec.terminal]
    for nc in list_ncs(connection, office, states=open_states, severity="major"):
        raised = nc.raised_at.astimezone(zone(office.timezone)).date()
        what = _("raised on {day}, still {state}: {title}").format(
            day=raised.isoformat(), state=nc.state, title=nc.title
        )
        yield Finding(
            "major_nc_open", "10.2", nc.number, what, shlex.join(("qms", "nc", "show", nc.number))
        )
