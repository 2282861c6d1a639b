"""`qms internal-audit …`: internal audits (ISO 9001 9.2) — plan, record findings, read."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    bold,
    console,
    day_only,
    json_option,
    output_width,
    pass_app,
    print_json,
    print_table,
    signer_option,
    when,
)
from qms_engine.cli.tables import Column, wrap
from qms_engine.errors import InvalidInput
from qms_engine.i18n import _
from qms_engine.rules.capa_terms import FINDING_RESULTS, FINDING_SEVERITIES

if TYPE_CHECKING:
    from qms_engine.capa.internal_audits import AuditItem, AuditRow
    from qms_engine.chain.signing import Signer

ITEM_FORM = "REF=AUDITOR[:AREA_OWNER]"


def _items(values: tuple[str, ...]) -> list[AuditItem]:
    """``--item`` values: ``7.5.3=audit:priya``, ``PS-KOT39/SOP/001=audit``."""
    from qms_engine.capa.internal_audits import AuditItem

    items = []
    for value in values:
        ref, sep, people = value.rpartition("=")
        auditor, _colon, owner = people.partition(":")
        if not sep or not ref.strip() or not auditor.strip():
            raise InvalidInput(
                _("--item {value} must look like {form}").format(value=repr(value), form=ITEM_FORM),
                hint=_('e.g. --item "7.5.3=audit:priya" or --item "PS-KOT39/SOP/001=audit"'),
            )
        items.append(AuditItem(ref.strip(), auditor.strip(), owner.strip()))
    return items


@click.group("internal-audit")
def internal_audit() -> None:
    """Internal audits (ISO 9001 9.2): plan who audits what, record each item's finding.

    Nobody audits their own work: an item's auditor is not the owner of its area and, for a
    document, neither wrote it nor signed its revision in force.  A nonconformity finding
    raises an NC (`qms nc show`) in the same signed step.
    """


@internal_audit.command("plan")
@click.option("--title", required=True, help="What the audit is (Hindi is fine).")
@click.option("--scope", required=True, help="The processes, clauses and places it covers.")
@click.option(
    "--date",
    "audit_date",
    required=True,
    callback=day_only,
    metavar="YYYY-MM-DD",
    help="The day of the audit.",
)
@click.option(
    "--auditor",
    "auditors",
    multiple=True,
    required=True,
    metavar="USER",
    help="An auditor (repeatable): enrolled, active, with the auditor role here.",
)
@click.option(
    "--item",
    "item_values",
    multiple=True,
    required=True,
    metavar=ITEM_FORM,
    help="A checklist item (repeatable, in order): an ISO clause (7.5.3) or a document number, "
    "the auditor who audits it, and optionally whose area it is, e.g. 7.5.3=audit:priya.",
)
@signer_option
@json_option
@pass_app
def plan(
    app: AppContext,
    title: str,
    scope: str,
    audit_date: dt.date,
    auditors: tuple[str, ...],
    item_values: tuple[str, ...],
    signer: Signer,
    as_json: bool,
) -> None:
    """Plan an internal audit (a quality coordinator): numbered OFFICE/IA/YEAR/NN, signed."""
    from qms_engine.capa.internal_audits import plan_audit

    planned = plan_audit(
        app.runtime,
        office=app.office(),
        actor=signer,
        title=title,
        scope=scope,
        date=audit_date,
        auditors=auditors,
        items=_items(item_values),
    )
    if as_json:
        print_json(planned)
        return
    console().print(
        _("{number} planned with {count} item(s) (event #{seq})").format(
            number=planned.number, count=planned.items, seq=planned.event_seq
        )
    )


@internal_audit.command("finding")
@click.argument("audit")
@click.argument("item", type=click.IntRange(1))
@click.option(
    "--result",
    required=True,
    type=click.Choice(FINDING_RESULTS),
    help="What the item showed; a nonconformity raises an NC.",
)
@click.option("--note", default="", help="What was found (required unless it conforms).")
@click.option(
    "--severity",
    type=click.Choice(FINDING_SEVERITIES),
    help="How grave a nonconformity is (default: minor).",
)
@click.option("--nc-title", default="", help="Title of the NC raised (default: after the item).")
@signer_option
@json_option
@pass_app
def finding(
    app: AppContext,
    audit: str,
    item: int,
    result: str,
    note: str,
    severity: str | None,
    nc_title: str,
    signer: Signer,
    as_json: bool,
) -> None:
    """Record the finding of checklist ITEM (1, 2 …) of AUDIT: only the item's auditor, once."""
    from qms_engine.capa.internal_audits import record_finding

    if result != "nonconformity" and (severity or nc_title):
        raise click.UsageError(_("--severity and --nc-title go with --result nonconformity only"))
    recorded = record_finding(
        app.runtime,
        audit=audit,
        item=item,
        actor=signer,
        result=result,
        note=note,
        severity=severity or "minor",
        nc_title=nc_title,
    )
    if as_json:
        print_json(recorded)
        return
    raised = _("; raised {number}").format(number=recorded.nc) if recorded.nc else ""
    console().print(
        _("{subject}: {result}{raised} (event #{seq})").format(
            subject=recorded.subject, result=recorded.result, raised=raised, seq=recorded.event_seq
        )
    )


def _print_audit(audit: AuditRow) -> None:
    """An audit for people: what, when, by whom, then each item with its finding."""
    tz, width = audit.timezone, output_width()
    heading = "\n".join(wrap(f"{audit.number} — {audit.title}", width, fold=True))
    console().print(bold(audit.number, heading.removeprefix(audit.number)), soft_wrap=True)
    about = _(
        "Scope: {scope}\nAudit on {day} by {auditors}; planned by {planner} on {moment} "
        "(event #{seq}). Times in {timezone}."
    ).format(
        scope=audit.scope,
        day=audit.date.isoformat(),
        auditors=", ".join(audit.auditors),
        planner=audit.planned_by,
        moment=when(audit.planned_at, tz),
        seq=audit.event_seq,
        timezone=tz,
    )
    console().print("\n".join(wrap(about, width, fold=True)), soft_wrap=True)
    print_table(
        _("Checklist"),
        [
            "#",
            _("Ref"),
            _("Auditor (area owner)"),
            _("Finding, NC"),
            Column(_("Note"), fold=True),
            Column(_("Recorded"), fold=True),
        ],
        [
            (
                item.n,
                item.ref,
                item.auditor + (f"\n({item.area_owner})" if item.area_owner else ""),
                "\n".join(filter(None, (item.result or _("(to record)"), item.nc))),
                item.note,
                when(item.recorded_at, tz),
            )
            for item in audit.items
        ],
    )


@internal_audit.command("show")
@click.argument("audit")
@json_option
@pass_app
def show(app: AppContext, audit: str, as_json: bool) -> None:
    """Show AUDIT: scope, date, auditors, and each item's auditor and finding (times in the
    office's zone; UTC under --json)."""
    from qms_engine.capa.internal_audits import load_audit

    with app.runtime.engine.connect() as connection:
        found = load_audit(connection, audit)
    if as_json:
        print_json(found)
        return
    _print_audit(found)


@internal_audit.command("list")
@json_option
@pass_app
def list_command(app: AppContext, as_json: bool) -> None:
    """The office's internal audits, oldest first: date, auditors, findings recorded, NCs."""
    from qms_engine.capa.internal_audits import list_audits

    office = app.office()
    with app.runtime.engine.connect() as connection:
        audits = list_audits(connection, office)
    if as_json:
        print_json(audits)
        return
    print_table(
        _("Internal audits of {code}").format(code=office.code),
        [_("Number"), Column(_("Title"), fold=True), _("Date"), _("Auditors"), _("Findings")],
        [
            (
                a.number,
                a.title,
                a.date.isoformat(),
                ", ".join(a.auditors),
                _("{done} of {total}").format(
                    done=len(a.items) - len(a.open_items), total=len(a.items)
                ),
            )
            for a in audits
        ],
        empty=_("No internal audits in {code} yet.").format(code=office.code),
        below=[
            [
                _("  raised {number} (item {n})").format(number=item.nc, n=item.n)
                for item in a.items
                if item.nc
            ]
            for a in audits
        ],
    )


COMMANDS = [internal_audit]
