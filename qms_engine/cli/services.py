"""`qms service …`: citizens' applications for the services of the office's citizen charter.

Receive an application (numbered, due the charter's days later), dispose of it once, list the
applications and those past their time limit per desk (पटल).  The rules are the engine's
(:mod:`qms_engine.services`); this module parses and formats.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    console,
    day_only,
    json_option,
    pass_app,
    print_json,
    print_table,
    signer_option,
)
from qms_engine.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer
    from qms_engine.chain.unit_of_work import OfficeRef
    from qms_engine.services.applications import Application

COLUMNS = (N_("Number"), N_("Service"), N_("Applicant"), N_("Received"), N_("Due"), N_("State"))


@click.group()
def service() -> None:
    """Citizen-charter services: applications received, disposed of within the time limit.

    \b
      qms service apply INCOME_CERT --applicant 'रामलाल' --as sunita
      qms service dispose COL-BSR/SVC/2026/00001 granted --as adm
      qms service overdue --desk revenue
    """


@service.command("apply")
@click.argument("code")
@click.option("--applicant", required=True, help="The applicant's name (Hindi is fine).")
@click.option(
    "--received",
    callback=day_only,
    help="The day it came in, YYYY-MM-DD (default today; at most 30 days ago).",
)
@signer_option
@json_option
@pass_app
def service_apply(
    app: AppContext,
    code: str,
    applicant: str,
    received: date | None,
    signer: Signer,
    as_json: bool,
) -> None:
    """Receive an application for the charter's service CODE, signed (a clerk).

    It is due the charter's days after the day received, at the service's desk."""
    from qms_engine.services.applications import receive_application

    made = receive_application(
        app.runtime,
        office=app.office(),
        actor=signer,
        service=code,
        applicant=applicant,
        received=received,
    )
    if as_json:
        print_json(made)
        return
    console().print(
        _(
            "{number}: {service} at desk {desk}, received {received}, due {due} (event #{seq})"
        ).format(
            number=made.number,
            service=made.service,
            desk=made.desk,
            received=made.received.isoformat(),
            due=made.due.isoformat(),
            seq=made.event_seq,
        )
    )


@service.command("dispose")
@click.argument("number")
@click.argument("decision", type=click.Choice(["granted", "rejected"]))
@click.option("--note", default="", help="What was decided, e.g. the certificate's number.")
@signer_option
@json_option
@pass_app
def service_dispose(
    app: AppContext,
    number: str,
    decision: str,
    note: str,
    signer: Signer,
    as_json: bool,
) -> None:
    """Dispose of application NUMBER (granted or rejected) today, once, signed.

    The day disposed of is the day it is recorded: a late disposal shows as late."""
    from qms_engine.services.applications import dispose_application

    done = dispose_application(
        app.runtime, number=number, actor=signer, decision=decision, note=note
    )
    if as_json:
        print_json(done)
        return
    late = done.days_late(date.max)  # disposed of: counted to the day it was
    console().print(
        _("{number}: {decision} on {day}").format(
            number=done.number, decision=done.decision, day=done.disposed_on
        )
        + (_(" ({late})").format(late=_days_late(late)) if late > 0 else "")
    )


def _days_late(days: int) -> str:
    return ngettext("{days} day late", "{days} days late", days).format(days=days)


def _state(row: Application, today: date) -> str:
    if row.decision is not None:
        return _("{decision} {day}").format(decision=row.decision, day=row.disposed_on)
    late = row.days_late(today)
    return _days_late(late) if late > 0 else _("open")


def _rows(rows: list[Application], today: date) -> list[tuple[str, ...]]:
    return [
        (
            row.number,
            row.service,
            row.applicant,
            row.received.isoformat(),
            row.due.isoformat(),
            _state(row, today),
        )
        for row in rows
    ]


def _desk(app: AppContext, office: OfficeRef, desk: str | None) -> str | None:
    from qms_engine.errors import known_value
    from qms_engine.services.applications import desks

    if desk is None:
        return None
    return known_value("desk", desk, desks(app.runtime, office), office.code)


@service.command("overdue")
@click.option("--desk", help="Only this desk's (its code, e.g. revenue).")
@click.option("--on", "day", callback=day_only, help="As of this day (default today).")
@json_option
@pass_app
def service_overdue(app: AppContext, desk: str | None, day: date | None, as_json: bool) -> None:
    """Applications past their time limit and not disposed of, per desk (पटल)."""
    from qms_engine.clock import local_today
    from qms_engine.services.applications import overdue

    office = app.office()
    desk = _desk(app, office, desk)
    today = day or local_today(office.timezone)
    with app.runtime.engine.connect() as connection:
        late = overdue(connection, office, today, desk=desk)
    if as_json:
        print_json(late)
        return
    if not late:
        console().print(
            _("No application of {office} is past its time limit on {day}.").format(
                office=office.code, day=today.isoformat()
            )
        )
    for name, rows in late.items():
        print_table(
            _("Desk {desk}: past the time limit on {day}").format(desk=name, day=today),
            [_(column) for column in COLUMNS],
            _rows(rows, today),
        )


@service.command("list")
@click.option("--desk", help="Only this desk's (its code, e.g. revenue).")
@click.option("--open", "open_only", is_flag=True, help="Only those not disposed of.")
@json_option
@pass_app
def service_list(app: AppContext, desk: str | None, open_only: bool, as_json: bool) -> None:
    """The office's applications, oldest first."""
    from qms_engine.clock import local_today
    from qms_engine.services.applications import list_applications

    office = app.office()
    desk = _desk(app, office, desk)
    with app.runtime.engine.connect() as connection:
        rows = list_applications(connection, office, desk=desk, open_only=open_only)
    if as_json:
        print_json(rows)
        return
    print_table(
        _("Applications of {office}").format(office=office.code),
        [_(column) for column in COLUMNS],
        _rows(rows, local_today(office.timezone)),
        empty=_("No applications in {office}.").format(office=office.code),
    )


@service.command("charter")
@signer_option
@pass_app
def service_charter(app: AppContext, signer: Signer) -> None:
    """Record the office type's citizen charter and retention schedule again (an admin).

    For when the plugin changed a service's time limit or a record class, or for an office
    created before its type declared them; what is current is left alone."""
    from qms_engine.services.charter import record_declarations

    office = app.office()
    done = record_declarations(app.runtime, office=office, actor=signer)
    console().print(
        _("{office}: recorded {what}").format(office=office.code, what=", ".join(done))
        if done
        else _("{office}: the recorded charter and schedule are current").format(office=office.code)
    )


COMMANDS = [service]
