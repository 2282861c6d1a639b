"""Promises an office has not kept by their day: property in its care away past the day it was
due back (ISO 9001 8.5.3: case property belongs to the court and the citizen), and citizen-charter
applications not disposed of within the charter's time limit (8.2.2: the office can meet the
claims it makes for its services)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection

from qms_engine.chain import events
from qms_engine.chain.authorisation import RULES
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.custody import out_overdue
from qms_engine.i18n import _
from qms_engine.reports.findings import Finding
from qms_engine.reports.staff import Staff
from qms_engine.runtime import Runtime
from qms_engine.services.applications import overdue


def custody_overdue(runtime: Runtime, office: OfficeRef, today: date) -> Iterable[Finding]:
    """Each item out of its register's home (a court, the forensic lab, another desk) past the
    day it was expected back."""
    for item in out_overdue(runtime, office, today):
        due = item.expected_back.isoformat() if item.expected_back else ""
        what = _("at {place} with {holder}, expected back on {day}").format(
            place=item.place_title, holder=item.holder, day=due
        )
        command = shlex.join(("qms", "custody", "where", item.number))
        yield Finding("custody_overdue", "8.5.3", item.number, what, command)


def services_overdue(
    connection: Connection, office: OfficeRef, today: date, staff: Staff
) -> Iterable[Finding]:
    """Each application not disposed of by its due day, desk by desk, the most overdue first,
    with someone who may dispose of it."""
    who = staff.who(RULES[events.APPLICATION_DISPOSED.action].roles or ())
    for desk, applications in overdue(connection, office, today).items():
        for application in applications:
            what = _("{service} at desk {desk}: due on {day}, not disposed of").format(
                service=application.service, desk=desk, day=application.due.isoformat()
            )
            words = ("service", "dispose", application.number, "DECISION", "--as", who)
            command = shlex.join(("qms", *words))
            yield Finding("service_overdue", "8.2.2", application.number, what, command)
