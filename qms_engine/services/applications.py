"""Citizens' applications for the services of the office's citizen charter, each signed.

A clerk receives an application (``service.application.received``) for a service of the
charter the office's chain recorded: it is numbered ``OFFICE/SVC/YEAR/NNNNN``, handled at the
service's desk and due the charter's days after the day it was received (today, or up to
:data:`MAX_BACKDATE_DAYS` days before, never a later day).  A clerk or an approver disposes of
it once (``service.application.disposed``: granted or rejected), on the day it is recorded:
a disposal is never backdated, so one recorded late stays late.  :func:`overdue` lists those
not disposed of by their due day, per desk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from qms_engine.chain import events
from qms_engine.chain.authorisation import RULES
from qms_engine.chain.service_rules import recorded, recorded_services
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import as_utc, local_today, utc_now
from qms_engine.errors import InvalidInput, NotFound, RuleViolation, known_value
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.rules.service_terms import DECISIONS, MAX_BACKDATE_DAYS
from qms_engine.rules.text import is_blank, require_one_line
from qms_engine.runtime import Runtime
from qms_engine.storage.models import APPLICATION_TABLE, OFFICE_TABLE, USER_TABLE
from qms_engine.storage.serials import next_serial

NUMBERING = "{office}/SVC/{year}/{serial:05d}"


@dataclass(frozen=True)
class Application:
    """An application as the office's table holds it."""

    number: str
    service: str
    desk: str
    applicant: str
    received: date
    due: date
    received_by: str
    received_at: datetime
    event_seq: int
    decision: str | None = None
    disposed_on: date | None = None
    disposed_by: str | None = None

    def days_late(self, today: date) -> int:
        """Days past its due day: by ``today`` while open, else on the day it was disposed."""
        return ((self.disposed_on or today) - self.due).days


def _check_received(received: date, today: date, office: OfficeRef) -> None:
    if received > today:
        raise RuleViolation(
            _("the day received {received} is after today ({today} in {office})").format(
                received=received.isoformat(), today=today.isoformat(), office=office.code
            ),
            hint=_("give the day the application came in: --received YYYY-MM-DD"),
        )
    if received < today - timedelta(days=MAX_BACKDATE_DAYS):
        raise RuleViolation(
            _(
                "the day received {received} is more than {days} days ago: an application is "
                "entered within {days} days of its receipt"
            ).format(received=received.isoformat(), days=MAX_BACKDATE_DAYS)
        )


def receive_application(
    runtime: Runtime,
    *,
    office: OfficeRef,
    actor: Signer,
    service: str,
    applicant: str,
    received: date | None = None,
) -> Application:
    """A clerk receives a citizen's application for ``service`` (a code of the charter the
    chain recorded); ``received`` defaults to today, the office's local day."""
    applicant = applicant.strip()
    if is_blank(applicant):
        raise InvalidInput(_("the applicant's name is empty"), hint=_("give --applicant NAME"))
    require_one_line(applicant, "--applicant")
    with runtime.unit_of_work() as work:
        connection = work.connection
        work.lock(office)
        clerk = load_actor(connection, actor, office)
        rule = RULES[events.APPLICATION_RECEIVED.action]
        role = require_role(clerk, rule.roles or (), office, _("receive applications"))
        charter = recorded_services(recorded(connection, office.id, events.CHARTER_RECORDED))
        if not charter:
            raise RuleViolation(
                _("{office} has no citizen charter recorded in its audit trail").format(
                    office=office.code
                ),
                hint=_("an admin records it: qms service charter --as ADMIN"),
            )
        service = known_value("service", service.strip(), charter, _("the citizen charter"))
        today = local_today(office.timezone)
        received = received or today
        _check_received(received, today, office)
        days, desk = charter[service]
        due = received + timedelta(days=days)
        now = utc_now()
        serial, year = next_serial(connection, APPLICATION_TABLE, office.id, office.timezone, now)
        number = NUMBERING.format(office=office.code, year=year, serial=serial)
        payload = {
            "service": service,
            "desk": desk,
            "applicant": applicant,
            "received": received.isoformat(),
            "due": due.isoformat(),
        }
        record = work.append(office, clerk, events.APPLICATION_RECEIVED, number, payload, role=role)
        connection.execute(
            insert(APPLICATION_TABLE),
            {
                "office_id": office.id,
                "number": number,
                "serial_year": year,
                "serial": serial,
                "service": service,
                "desk": desk,
                "applicant": applicant,
                "received": received,
                "due": due,
                "received_by": clerk.id,
                "received_at": now,
                "event_seq": record.seq,
            },
        )
    return Application(
        number, service, desk, applicant, received, due, clerk.username, now, record.seq
    )


def dispose_application(
    runtime: Runtime,
    *,
    number: str,
    actor: Signer,
    decision: str,
    note: str = "",
) -> Application:
    """A clerk or an approver disposes of an application once: ``decision`` granted or
    rejected, today (the office's local day: never backdated)."""
    decision = known_value("decision", decision.strip(), DECISIONS, _("decisions"))
    note = note.strip()
    require_one_line(note, "--note")
    with runtime.engine.connect() as connection:
        office = _office_of(connection, number)
    with runtime.unit_of_work() as work:
        connection = work.connection
        work.lock(office)
        officer = load_actor(connection, actor, office)
        rule = RULES[events.APPLICATION_DISPOSED.action]
        role = require_role(officer, rule.roles or (), office, _("dispose of applications"))
        current = load_application(connection, number)
        if current.decision is not None:
            raise RuleViolation(
                _("{number} was already disposed of ({decision}, {day})").format(
                    number=number, decision=current.decision, day=current.disposed_on
                )
            )
        day = local_today(office.timezone)
        if day < current.received:
            raise RuleViolation(
                _("{number} was received on {received}, after today ({today})").format(
                    number=number,
                    received=current.received.isoformat(),
                    today=day.isoformat(),
                )
            )
        payload = {"decision": decision, "disposed": day.isoformat(), "note": note}
        now = utc_now()
        record = work.append(
            office, officer, events.APPLICATION_DISPOSED, number, payload, role=role
        )
        connection.execute(
            update(APPLICATION_TABLE)
            .where(APPLICATION_TABLE.c.number == number)
            .values(
                decision=decision,
                disposed_on=day,
                disposed_by=officer.id,
                disposed_at=now,
                disposed_seq=record.seq,
                note=payload["note"],
            )
        )
        return load_application(connection, number)


_DISPOSER = USER_TABLE.alias("disposer")
_APPLICATIONS = (
    select(
        APPLICATION_TABLE,
        USER_TABLE.c.username.label("receiver"),
        _DISPOSER.c.username.label("disposer"),
    )
    .join(USER_TABLE, USER_TABLE.c.id == APPLICATION_TABLE.c.received_by)
    .outerjoin(_DISPOSER, _DISPOSER.c.id == APPLICATION_TABLE.c.disposed_by)
)


def _application(row: Row[Any]) -> Application:
    r = row._mapping
    return Application(
        r["number"],
        r["service"],
        r["desk"],
        r["applicant"],
        r["received"],
        r["due"],
        r["receiver"],
        as_utc(r["received_at"]),
        r["event_seq"],
        r["decision"],
        r["disposed_on"],
        r["disposer"],
    )


def _office_of(connection: Connection, number: str) -> OfficeRef:
    row = connection.execute(
        select(OFFICE_TABLE)
        .join(APPLICATION_TABLE, APPLICATION_TABLE.c.office_id == OFFICE_TABLE.c.id)
        .where(APPLICATION_TABLE.c.number == number)
    ).first()
    if row is None:
        raise NotFound(
            _("no application {number}").format(number=number),
            hint=_("`qms service list` lists them"),
        )
    return OfficeRef(row.id, row.code, row.name, row.office_type, row.timezone)


def load_application(connection: Connection, number: str) -> Application:
    """Application ``number``, or NotFound."""
    row = connection.execute(_APPLICATIONS.where(APPLICATION_TABLE.c.number == number)).first()
    if row is None:
        raise NotFound(
            _("no application {number}").format(number=number),
            hint=_("`qms service list` lists them"),
        )
    return _application(row)


def list_applications(
    connection: Connection,
    office: OfficeRef,
    *,
    desk: str | None = None,
    open_only: bool = False,
) -> list[Application]:
    """The office's applications, oldest first (of one desk; only those not disposed of)."""
    query = _APPLICATIONS.where(APPLICATION_TABLE.c.office_id == office.id)
    if desk is not None:
        query = query.where(APPLICATION_TABLE.c.desk == desk)
    if open_only:
        query = query.where(APPLICATION_TABLE.c.decision.is_(None))
    return [_application(row) for row in connection.execute(query.order_by(APPLICATION_TABLE.c.id))]


def overdue(
    connection: Connection, office: OfficeRef, today: date, *, desk: str | None = None
) -> dict[str, list[Application]]:
    """Applications not disposed of by their due day, as of ``today``, per desk (desks in
    order, the most overdue first)."""
    late: dict[str, list[Application]] = {}
    for application in list_applications(connection, office, desk=desk, open_only=True):
        if application.due < today:
            late.setdefault(application.desk, []).append(application)
    return {
        name: sorted(rows, key=lambda a: (a.due, a.number)) for name, rows in sorted(late.items())
    }


def desks(runtime: Runtime, office: OfficeRef) -> Sequence[str]:
    """The desk codes the office type declares (for checking ``--desk``)."""
    return [desk.code for desk in runtime.plugins.registry.office_type(office.office_type).desks]
