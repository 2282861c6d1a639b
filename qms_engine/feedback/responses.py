"""Importing a feedback form's export: each station's new responses signed, and poor ones
raising (or joining) a nonconformity in the same transaction.

The form is the one the office type of ``--office`` declares (with ``qms.toml``'s extra
headers); the file may hold every station of a district, and a row naming an office whose type
declares no form (the SP office) is refused with its station.  Each station is one
transaction, all or nothing: the importer must be a quality coordinator there; its new
responses go into ``feedback.received`` events (subject ``OFFICE/FEEDBACK/<first 12 hex of
the file's SHA-256>``, at most :data:`RESPONSES_PER_EVENT` responses each) and the
``feedback_response`` table; and its poor responses, grouped as the form says
(:mod:`.poor_ratings`), raise an ``nc.raised`` (source ``citizen_feedback``) or, when the
period's nonconformity is still open, an ``nc.feedback.linked``.

A comment is signed only as its salted SHA-256 (:mod:`qms_engine.chain.comments`): its words
and salt stay in the table, so ``qms feedback erase`` (:mod:`.retention`) can blank them once
the form's ``keep_days`` have passed.  A comment longer than :data:`COMMENT_LIMIT` characters
is cut (the result counts them).  A response already in the office is skipped ("already
imported"), so importing a file again, or a later export that repeats it in any format,
imports nothing twice (:mod:`.identity`).  A station that cannot be imported (no role there,
no form for its type, a database error) is reported with its lines; the others still go in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import DBAPIError

from qms_engine.capa.nonconformities import link_feedback_in, raise_nc_in
from qms_engine.capa.records import load_nc
from qms_engine.chain import events
from qms_engine.chain.authorisation import RULES
from qms_engine.chain.canonical import canonical_text
from qms_engine.chain.comments import comment_sha256, new_salt
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import to_utc_text
from qms_engine.errors import ConfigurationError, QmsError
from qms_engine.feedback.forms import Export, Problem, Response, read_export
from qms_engine.feedback.poor_ratings import PoorGroup, poor_groups
from qms_engine.feedback.privacy import scrub_comment
from qms_engine.feedback.settings import feedback_settings
from qms_engine.feedback.stations import Station, StationIndex, deployment_offices
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.registry.feedback_forms import FeedbackForm
from qms_engine.runtime import Runtime
from qms_engine.storage.batches import batches
from qms_engine.storage.models import FEEDBACK_TABLE

CLAUSE = "9.1.2"
"""ISO 9001:2015, customer satisfaction: what poor citizen feedback is a nonconformity of."""
COMMENT_LIMIT = 2_000
"""Characters of a comment kept: a longer one is cut (ending in "…"), and the import says so."""
RESPONSES_PER_EVENT = 1_000
"""Responses per ``feedback.received`` (and ids per ``nc.raised`` / ``nc.feedback.linked``):
a district's year of feedback makes many events of a bounded size, not one huge one."""
ROWS_NAMED = 20
"""Rows a refused station's problem names (then "and N more")."""


@dataclass(frozen=True)
class StationImport:
    """What one station's transaction did."""

    office: str
    imported: int
    already: int
    """Responses of the file already in the office (skipped)."""
    poor: int
    """Poor responses among the imported ones."""
    comments_cut: int
    """Comments longer than :data:`COMMENT_LIMIT` characters, kept cut."""
    event_seqs: tuple[int, ...]
    """The ``feedback.received`` events (none when nothing was new)."""
    raised: tuple[str, ...]
    linked: tuple[str, ...]
    """Open nonconformities the poor responses joined."""


@dataclass(frozen=True)
class StationRefused:
    """A station none of whose rows went in, and why."""

    office: str
    rows: int
    reason: str
    exit_code: int
    """What the refusal alone would exit with: 2 no feedback form for its office type, 4 no
    role, 7 a database error …"""


@dataclass(frozen=True)
class ImportResult:
    """What an import did, station by station, and the rows it refused."""

    file: str
    sha256: str
    encoding: str
    time_format: str
    rows: int
    imported: int
    already: int
    refused: int
    """Rows not imported: bad rows and the rows of stations that could not be imported."""
    comments_cut: int
    comment_limit: int
    stations: tuple[StationImport, ...]
    refused_stations: tuple[StationRefused, ...]
    problems: tuple[str, ...]
    """``FILE: row R (line L): what is wrong — what to do``, in row order."""
    personal_columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    warnings: tuple[str, ...]
    """What was read but may not be what the sheet meant (:attr:`.forms.Export.warnings`)."""


def required_form(runtime: Runtime, office: OfficeRef) -> FeedbackForm:
    """The feedback form of ``office``'s type; ConfigurationError (exit 2) when it has none."""
    office_type = runtime.plugins.registry.office_type(office.office_type)
    if office_type.feedback is None:
        raise ConfigurationError(
            _("{code} is a {title}, whose plugin declares no citizen feedback form").format(
                code=office.code, title=_(office_type.title)
            ),
            hint=_(
                "feedback is kept for stations only: take {code}'s rows out of "
                "the file, or correct their station"
            ).format(code=office.code),
        )
    return office_type.feedback


def import_feedback(
    runtime: Runtime, *, path: Path, actor: Signer, office: str | None = None
) -> ImportResult:
    """Import the form export at ``path`` as ``actor``, read with the form of ``office``'s
    type (default: the workspace's office).  Raises InvalidInput when nothing can be read."""
    settings = feedback_settings(runtime.workspace)
    form = settings.extend(required_form(runtime, runtime.office(office)))
    offices = {o.code: o for o in deployment_offices(runtime)}
    index = StationIndex(
        [Station(o.code, o.name, o.timezone) for o in offices.values()],
        settings.stations,
        where=f"{settings.source}: feedback.stations",
    )
    export = read_export(path, form, index)
    problems = list(export.problems)
    refused = len({problem.line for problem in problems})
    done, failed = [], []
    by_station: dict[str, list[Response]] = {}
    for response in export.responses:
        by_station.setdefault(response.station, []).append(response)
    for code in sorted(by_station):
        responses = by_station.pop(code)  # each station's rows freed once it is done
        try:
            done.append(_import_station(runtime, offices[code], actor, form, export, responses))
        except (QmsError, DBAPIError) as exc:
            refusal = _refusal(code, len(responses), exc)
            failed.append(refusal)
            hint = getattr(exc, "hint", None) or (
                _("nothing of {code} was imported; correct this and import the file again").format(
                    code=code
                )
            )
            problems.append(_station_refused(code, responses, refusal.reason, hint))
            refused += len(responses)
    return ImportResult(
        export.file,
        export.sha256,
        export.encoding,
        export.time_format,
        export.rows,
        sum(s.imported for s in done),
        sum(s.already for s in done),
        refused,
        sum(s.comments_cut for s in done),
        COMMENT_LIMIT,
        tuple(done),
        tuple(failed),
        tuple(p.text(export.file) for p in sorted(problems, key=lambda p: p.line)),
        export.personal_columns,
        export.ignored_columns,
        export.warnings,
    )


def _refusal(code: str, rows: int, error: QmsError | DBAPIError) -> StationRefused:
    if isinstance(error, QmsError):
        return StationRefused(code, rows, str(error), error.exit_code)
    return StationRefused(
        code, rows, _("the database refused the import: {orig}").format(orig=error.orig), 7
    )


def _station_refused(code: str, responses: Sequence[Response], why: str, hint: str) -> Problem:
    """One problem for a station whose responses could not go in, naming their rows."""
    rows = [r.row for r in responses]
    shown = ", ".join(map(str, rows[1:ROWS_NAMED]))
    more = f" and {len(rows) - ROWS_NAMED} more" if len(rows) > ROWS_NAMED else ""
    also = f" (and rows {shown}{more} of {code})" if len(rows) > 1 else ""
    return Problem(responses[0].line, f"{code}: {why}{also}", hint, responses[0].row)


def _import_station(
    runtime: Runtime,
    office: OfficeRef,
    actor: Signer,
    form: FeedbackForm,
    export: Export,
    responses: Sequence[Response],
) -> StationImport:
    """One station's responses, all or nothing, in one transaction (refused when its office
    type has no feedback form: it is no station)."""
    required_form(runtime, office)
    with runtime.unit_of_work() as work:
        work.lock(office)
        user = load_actor(work.connection, actor, office)
        rule = RULES[events.FEEDBACK_RECEIVED.action]
        role = require_role(user, rule.roles or (), office, _("import citizen feedback"))
        stored = _stored(work.connection, office, [r.response_id for r in responses])
        new = [r for r in responses if r.response_id not in stored]
        if not new:
            return StationImport(office.code, 0, len(stored), 0, 0, (), (), ())
        seqs, cut = [], 0
        for some in batches(new, RESPONSES_PER_EVENT):
            kept = [_kept(r) for r in some]
            cut += sum(comment != r.comment for (comment, _blob), r in zip(kept, some, strict=True))
            seqs.append(_receive(work, office, user, role, form, export, some, kept))
        groups = poor_groups(form, new, office.timezone)
        raised, linked = [], []
        for group in groups:
            number = _open_nc(work, runtime, office, group)
            ids = [r.response_id for r in group.responses]
            if number is None:
                number = _raise(work, runtime, office, user, form, export, group)
                raised.append(number)
                ids = ids[RESPONSES_PER_EVENT:]  # the NC names the first ones itself
            elif number not in linked:
                linked.append(number)
            for some_ids in batches(ids, RESPONSES_PER_EVENT):
                link_feedback_in(work, runtime, office, user, number=number, responses=some_ids)
    return StationImport(
        office.code,
        len(new),
        len(stored),
        sum(len(g.responses) for g in groups),
        cut,
        tuple(seqs),
        tuple(raised),
        tuple(linked),
    )


def _stored(connection: Connection, office: OfficeRef, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` the office holds already."""
    found: set[str] = set()
    for some in batches(ids):
        found.update(
            connection.execute(
                select(FEEDBACK_TABLE.c.response_id).where(
                    FEEDBACK_TABLE.c.office_id == office.id,
                    FEEDBACK_TABLE.c.response_id.in_(list(some)),
                )
            ).scalars()
        )
    return found


def _kept(response: Response) -> tuple[str, str]:
    """The comment as it is kept (cut to :data:`COMMENT_LIMIT` characters) and a new salt."""
    comment = response.comment
    if len(comment) > COMMENT_LIMIT:
        comment = comment[: COMMENT_LIMIT - 1].rstrip() + "…"
    return comment, new_salt()


def _receive(
    work: UnitOfWork,
    office: OfficeRef,
    user: Actor,
    role: str,
    form: FeedbackForm,
    export: Export,
    responses: Sequence[Response],
    kept: Sequence[tuple[str, str]],
) -> int:
    """One ``feedback.received`` event for ``responses`` (each comment only as its salted
    digest, the form's rule of a poor response with them, so the verifier holds every poor
    one to its NC) and their rows (the comment and salt); returns the event's seq."""
    record = work.append(
        office,
        user,
        events.FEEDBACK_RECEIVED,
        f"{office.code}/FEEDBACK/{export.sha256[:12]}",
        {
            "file_sha256": export.sha256,
            "file_name": shown_name(export),
            "poor": {"rating": form.poor_rating, "at_most": form.poor_at_most},
            "responses": [
                {
                    "id": r.response_id,
                    "time": to_utc_text(r.time),
                    "ratings": dict(r.ratings),
                    "comment_sha256": comment_sha256(salt, comment),
                }
                for r, (comment, salt) in zip(responses, kept, strict=True)
            ],
        },
        role=role,
    )
    work.connection.execute(
        insert(FEEDBACK_TABLE),
        [
            {
                "office_id": office.id,
                "response_id": r.response_id,
                "responded_at": r.time,
                "ratings": canonical_text(dict(r.ratings)),
                "comment": comment,
                "comment_salt": salt,
                "event_seq": record.seq,
            }
            for r, (comment, salt) in zip(responses, kept, strict=True)
        ],
    )
    return record.seq


def shown_name(export: Export) -> str:
    """The export's file name as the chain records it: scrubbed like a comment, since a
    clerk may have named the file after the caller (``Ramesh_9876543210.csv``)."""
    return scrub_comment(Path(export.file).name)


def _open_nc(work: UnitOfWork, runtime: Runtime, office: OfficeRef, group: PoorGroup) -> str | None:
    """The open nonconformity that poor feedback of the group's period already raised, if any
    (the latest, should a closed one have been followed by another)."""
    if group.start is None or group.end is None:
        return None
    numbers = work.connection.execute(
        select(FEEDBACK_TABLE.c.nc_number)
        .where(
            FEEDBACK_TABLE.c.office_id == office.id,
            FEEDBACK_TABLE.c.nc_number.is_not(None),
            FEEDBACK_TABLE.c.responded_at >= group.start,
            FEEDBACK_TABLE.c.responded_at < group.end,
        )
        .distinct()
    ).scalars()
    candidates = []
    for number in numbers:
        nc = load_nc(work.connection, number)
        workflow = runtime.plugins.workflows.get(nc.workflow)
        if nc.source == "citizen_feedback" and workflow and not workflow.states[nc.state].terminal:
            candidates.append(nc)
    return max(candidates, key=lambda nc: nc.event_seq).number if candidates else None


def _raise(
    work: UnitOfWork,
    runtime: Runtime,
    office: OfficeRef,
    user: Actor,
    form: FeedbackForm,
    export: Export,
    group: PoorGroup,
) -> str:
    """Raise the nonconformity of a group of poor responses; returns its number.  Its signed
    description gives counts and averages only, never a citizen's words: the comments stay
    in the table (erasable), where ``qms nc show`` reads them while they are kept."""
    members = group.responses
    averages = ", ".join(
        f"{form.label(name)} {sum(r.ratings[name] for r in members) / len(members):.1f}"
        for name in form.ratings
    )
    commented = sum(1 for r in members if r.comment)
    description = (
        f"{len(members)} citizen response(s) rated {form.label(form.poor_rating)} "
        f"{form.poor_at_most} or less of 5 in {group.period} (from {shown_name(export)}). "
        f"Their averages: {averages}. {commented} of them left a comment (see the linked "
        "responses)."
    )
    raised = raise_nc_in(
        work,
        runtime,
        office,
        user,
        title=f"Poor citizen feedback: {office.code}, {group.period}",
        description=description,
        source="citizen_feedback",
        severity=form.severity,
        clause=CLAUSE,
        responses=[r.response_id for r in members[:RESPONSES_PER_EVENT]],
    )
    return raised.number
