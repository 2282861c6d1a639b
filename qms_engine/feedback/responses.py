"""Importing a feedback form's export: each station's new responses in one signed event, and
poor ones raising (or joining) a nonconformity in the same transaction.

The form is the one the office type of ``--office`` declares (with ``qms.toml``'s extra
headers); the file may hold every station of a district.  Each station is one transaction,
all or nothing: the importer must be a quality coordinator there, its new responses go into
one ``feedback.received`` event (subject ``OFFICE/FEEDBACK/<first 12 hex of the file's
SHA-256>``) and the ``feedback_response`` table, and its poor responses, grouped as the form
says (:mod:`.poor_ratings`), raise an ``nc.raised`` (source ``citizen_feedback``) or, when the
period's nonconformity is still open, an ``nc.feedback.linked``.  A response already in the
office is skipped ("already imported"), so importing a file again, or a later export that
repeats it, imports nothing twice.  A station that cannot be imported (the importer holds no
role there) is reported with its lines; the other stations still go in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from sqlalchemy import insert, select

from qms_engine.capa.nonconformities import link_feedback_in, raise_nc_in
from qms_engine.capa.records import load_nc
from qms_engine.chain import events
from qms_engine.chain.authorisation import RULES
from qms_engine.chain.canonical import canonical_text
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import Actor, OfficeRef, UnitOfWork
from qms_engine.clock import to_utc_text
from qms_engine.errors import ConfigurationError, QmsError
from qms_engine.feedback.forms import Export, Problem, Response, read_export
from qms_engine.feedback.poor_ratings import PoorGroup, poor_groups
from qms_engine.feedback.settings import FeedbackSettings, feedback_settings
from qms_engine.feedback.stations import Station, StationIndex, deployment_offices
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.registry.feedback_forms import FeedbackForm
from qms_engine.runtime import Runtime
from qms_engine.storage.models import FEEDBACK_TABLE

CLAUSE = "9.1.2"
"""ISO 9001:2015, customer satisfaction: what poor citizen feedback is a nonconformity of."""
COMMENTS_IN_DESCRIPTION = 5
COMMENT_CHARACTERS = 300


@dataclass(frozen=True)
class StationImport:
    """What one station's transaction did."""

    office: str
    imported: int
    already: int
    """Responses of the file already in the office (skipped)."""
    poor: int
    """Poor responses among the imported ones."""
    event_seq: int | None
    """The ``feedback.received`` event (None when nothing was new)."""
    raised: tuple[str, ...]
    linked: tuple[str, ...]
    """Open nonconformities the poor responses joined."""


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
    stations: tuple[StationImport, ...]
    problems: tuple[str, ...]
    """``FILE:LINE: what is wrong — what to do``, in line order."""
    personal_columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]


def _form(runtime: Runtime, office: OfficeRef, settings: FeedbackSettings) -> FeedbackForm:
    """The feedback form of ``office``'s type, with qms.toml's extra headers."""
    office_type = runtime.plugins.registry.office_type(office.office_type)
    if office_type.feedback is None:
        raise ConfigurationError(
            f"{office.code} is a {office_type.title}, whose plugin declares no citizen "
            "feedback form",
            hint="import with --office naming a station whose office type has one",
        )
    return settings.extend(office_type.feedback)


def import_feedback(
    runtime: Runtime, *, path: Path, actor: Signer, office: str | None = None
) -> ImportResult:
    """Import the form export at ``path`` as ``actor``, read with the form of ``office``'s
    type (default: the workspace's office).  Raises InvalidInput when nothing can be read."""
    settings = feedback_settings(runtime.workspace)
    form = _form(runtime, runtime.office(office), settings)
    offices = {o.code: o for o in deployment_offices(runtime)}
    index = StationIndex(
        [Station(o.code, o.name, o.timezone) for o in offices.values()],
        settings.stations,
        where=f"{settings.source}: feedback.stations",
    )
    export = read_export(path, form, index)
    problems = list(export.problems)
    refused = len({problem.line for problem in problems})
    done = []
    by_station = sorted(export.responses, key=lambda r: (r.station, r.line))
    for code, rows in groupby(by_station, key=lambda r: r.station):
        responses = list(rows)
        try:
            done.append(_import_station(runtime, offices[code], actor, form, export, responses))
        except QmsError as exc:
            problems.append(_station_refused(code, responses, exc))
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
        tuple(done),
        tuple(p.text(export.file) for p in sorted(problems, key=lambda p: p.line)),
        export.personal_columns,
        export.ignored_columns,
    )


def _station_refused(code: str, responses: Sequence[Response], error: QmsError) -> Problem:
    """One problem for a station whose responses could not go in, naming their lines."""
    lines = [r.line for r in responses]
    more = f" (and lines {', '.join(map(str, lines[1:]))} of {code})" if len(lines) > 1 else ""
    return Problem(
        lines[0],
        f"{code}: {error}{more}",
        error.hint or f"nothing of {code} was imported; correct this and import the file again",
    )


def _import_station(
    runtime: Runtime,
    office: OfficeRef,
    actor: Signer,
    form: FeedbackForm,
    export: Export,
    responses: Sequence[Response],
) -> StationImport:
    """One station's responses, all or nothing, in one transaction."""
    with runtime.unit_of_work() as work:
        work.lock(office)
        user = load_actor(work.connection, actor, office)
        rule = RULES[events.FEEDBACK_RECEIVED.action]
        role = require_role(user, rule.roles or (), office, "import citizen feedback")
        stored = set(
            work.connection.execute(
                select(FEEDBACK_TABLE.c.response_id).where(
                    FEEDBACK_TABLE.c.office_id == office.id,
                    FEEDBACK_TABLE.c.response_id.in_([r.response_id for r in responses]),
                )
            ).scalars()
        )
        new = [r for r in responses if r.response_id not in stored]
        if not new:
            return StationImport(office.code, 0, len(stored), 0, None, (), ())
        record = work.append(
            office,
            user,
            events.FEEDBACK_RECEIVED,
            f"{office.code}/FEEDBACK/{export.sha256[:12]}",
            {
                "file_sha256": export.sha256,
                "file_name": Path(export.file).name,
                "responses": [
                    {
                        "id": r.response_id,
                        "time": to_utc_text(r.time),
                        "ratings": dict(r.ratings),
                        "comment": r.comment,
                    }
                    for r in new
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
                    "comment": r.comment,
                    "event_seq": record.seq,
                }
                for r in new
            ],
        )
        groups = poor_groups(form, new, office.timezone)
        raised, linked = [], []
        for group in groups:
            number = _open_nc(work, runtime, office, group)
            ids = [r.response_id for r in group.responses]
            if number is not None:
                link_feedback_in(work, runtime, office, user, number=number, responses=ids)
                linked.append(number)
            else:
                raised.append(_raise(work, runtime, office, user, form, export, group))
    return StationImport(
        office.code,
        len(new),
        len(stored),
        sum(len(g.responses) for g in groups),
        record.seq,
        tuple(raised),
        tuple(dict.fromkeys(linked)),
    )


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
    """Raise the nonconformity of a group of poor responses; returns its number."""
    members = group.responses
    averages = ", ".join(
        f"{form.label(name)} {sum(r.ratings[name] for r in members) / len(members):.1f}"
        for name in form.ratings
    )
    said = [r.comment for r in members if r.comment][:COMMENTS_IN_DESCRIPTION]
    quoted = "; ".join(
        f"“{c[:COMMENT_CHARACTERS]}{'…' if len(c) > COMMENT_CHARACTERS else ''}”" for c in said
    )
    description = (
        f"{len(members)} citizen response(s) rated {form.label(form.poor_rating)} "
        f"{form.poor_at_most} or less of 5 in {group.period} (from {Path(export.file).name}). "
        f"Their averages: {averages}." + (f" What they wrote: {quoted}." if quoted else "")
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
        responses=[r.response_id for r in members],
    )
    return raised.number
