"""Erasing citizens' comments once the form's ``keep_days`` have passed (``qms feedback erase``).

A comment is personal data a citizen wrote, needed to act on poor feedback, not for ever.  The
signed chain states each comment only as its salted SHA-256 (:mod:`qms_engine.chain.comments`),
so erasing it is blanking its words and its salt in the ``feedback_response`` table — after
which nothing gives them back — in the transaction that appends a signed
``feedback.comments.erased`` event naming the responses (subject
``OFFICE/FEEDBACK/ERASED/<date>``, at most :data:`~.responses.RESPONSES_PER_EVENT` ids each).
The time, station and ratings stay, signed: the record of monitoring citizen satisfaction
(ISO 9001 9.1.2) keeps its numbers.

A quality coordinator erases, in every office where they are one whose type declares a form,
the comments of responses from before a date (midnight in the office's zone); a date later than
today less the form's ``keep_days`` is refused before anything is written, since those comments
are still to be kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, select, update

from qms_engine.chain import events
from qms_engine.chain.authorisation import RULES
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import day_start, from_utc_text, local_today
from qms_engine.errors import InvalidInput, PermissionDenied, QmsError
from qms_engine.feedback.responses import RESPONSES_PER_EVENT, required_form
from qms_engine.feedback.stations import deployment_offices
from qms_engine.i18n import _
from qms_engine.people.permissions import find_user, load_actor, require_role
from qms_engine.registry.feedback_forms import FeedbackForm
from qms_engine.runtime import Runtime
from qms_engine.storage.batches import batches
from qms_engine.storage.models import FEEDBACK_TABLE, ROLE_TABLE

_ROLES = RULES[events.FEEDBACK_ERASED.action].roles or frozenset()


@dataclass(frozen=True)
class OfficeErasure:
    """What was erased in one office."""

    office: str
    erased: int
    """Responses whose comment was blanked (0: none was older and still kept)."""
    event_seqs: tuple[int, ...]
    """The ``feedback.comments.erased`` events."""


@dataclass(frozen=True)
class ErasureResult:
    """What ``qms feedback erase`` did, office by office."""

    before: date
    erased: int
    offices: tuple[OfficeErasure, ...]
    problems: tuple[str, ...]
    """``OFFICE: why`` for each office where nothing could be erased (its key, its role …):
    the other offices are erased all the same."""


def latest_allowed(form: FeedbackForm, office: OfficeRef, today: date | None = None) -> date:
    """The latest ``--before`` date the form allows in ``office`` on ``today`` (default: its
    local date now): that date less ``keep_days``."""
    return (today or local_today(office.timezone)) - timedelta(days=form.keep_days)


def erasable(office: OfficeRef, before: date) -> Select[tuple[str, datetime]]:
    """The responses of ``office`` from before ``before`` (midnight in its zone) whose comment
    is still kept, oldest first: what ``qms feedback erase --before`` blanks."""
    return (
        select(FEEDBACK_TABLE.c.response_id, FEEDBACK_TABLE.c.responded_at)
        .where(
            FEEDBACK_TABLE.c.office_id == office.id,
            FEEDBACK_TABLE.c.erased_at.is_(None),
            FEEDBACK_TABLE.c.responded_at < day_start(before, office.timezone),
        )
        .order_by(FEEDBACK_TABLE.c.responded_at, FEEDBACK_TABLE.c.id)
    )


def erase_comments(runtime: Runtime, *, before: date, actor: Signer) -> ErasureResult:
    """Blank the comments of responses from before ``before`` in every office with a feedback
    form where ``actor`` is a quality coordinator, one transaction per office (an office
    that refuses, e.g. a key not yet the user's own there, is in the result's problems).

    PermissionDenied when they are one nowhere; InvalidInput (nothing written) when ``before``
    is later than some office's :func:`latest_allowed`."""
    offices = _coordinated(runtime, actor.username)
    if not offices:
        raise PermissionDenied(
            _(
                "{username} is a quality coordinator of no office with a "
                "feedback form, so erases no comments"
            ).format(username=repr(actor.username)),
            hint=_(
                "a station's admin grants it: qms --office CODE user grant "
                "{username} quality_coordinator --as ADMIN"
            ).format(username=actor.username),
        )
    forms = [(office, required_form(runtime, office)) for office in offices]
    latest, strictest, keep = min(
        ((latest_allowed(form, office), office, form.keep_days) for office, form in forms),
        key=lambda limit: limit[0],
    )
    if before > latest:
        raise InvalidInput(
            _(
                "--before {before}: {code} keeps comments {keep} days, so the "
                "latest date allowed is {latest}"
            ).format(
                before=before.isoformat(), code=strictest.code, keep=keep, latest=latest.isoformat()
            ),
            hint=_("give --before {latest} or earlier; nothing was erased").format(
                latest=latest.isoformat()
            ),
        )
    done, problems = [], []
    for office in offices:
        try:
            done.append(_erase_in(runtime, office, actor, before))
        except QmsError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            problems.append(f"{office.code}: {exc}{hint}")
    return ErasureResult(before, sum(o.erased for o in done), tuple(done), tuple(problems))


def _coordinated(runtime: Runtime, username: str) -> list[OfficeRef]:
    """The offices with a feedback form where ``username`` holds a role that may erase."""
    with runtime.engine.connect() as connection:
        user_id, _name = find_user(connection, username)
        held = set(
            connection.execute(
                select(ROLE_TABLE.c.office_id).where(
                    ROLE_TABLE.c.user_id == user_id, ROLE_TABLE.c.role.in_(sorted(_ROLES))
                )
            ).scalars()
        )
    registry = runtime.plugins.registry
    return [
        office
        for office in deployment_offices(runtime)
        if office.id in held and registry.office_type(office.office_type).feedback is not None
    ]


def _erase_in(runtime: Runtime, office: OfficeRef, actor: Signer, before: date) -> OfficeErasure:
    """One office's comments from before ``before`` (its midnight), in one transaction."""
    with runtime.unit_of_work() as work:
        work.lock(office)
        user = load_actor(work.connection, actor, office)
        role = require_role(user, _ROLES, office, _("erase citizens' comments"))
        ids = list(work.connection.execute(erasable(office, before)).scalars())
        seqs = []
        for some in batches(ids, RESPONSES_PER_EVENT):
            record = work.append(
                office,
                user,
                events.FEEDBACK_ERASED,
                f"{office.code}/FEEDBACK/ERASED/{before.isoformat()}",
                {"before": before.isoformat(), "responses": list(some)},
                role=role,
            )
            erased_at = from_utc_text(record.recorded_at)
            for chunk in batches(some):
                work.connection.execute(
                    update(FEEDBACK_TABLE)
                    .where(
                        FEEDBACK_TABLE.c.office_id == office.id,
                        FEEDBACK_TABLE.c.response_id.in_(list(chunk)),
                    )
                    .values(comment="", comment_salt=None, erased_at=erased_at)
                )
            seqs.append(record.seq)
    return OfficeErasure(office.code, len(ids), tuple(seqs))
