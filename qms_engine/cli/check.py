"""`qms check`: what an office lacks before an audit (`qms check readiness`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    console,
    json_option,
    output_width,
    pass_app,
    print_json,
    print_table,
)
from qms_engine.cli.tables import Column, shell_lines
from qms_engine.i18n import _, ngettext

if TYPE_CHECKING:
    from qms_engine.reports.readiness import OfficeReadiness


@click.group()
def check() -> None:
    """Checks to run before an ISO 9001 audit: `qms check readiness`."""


def print_readiness(report: OfficeReadiness) -> None:
    """An office's findings as a table (clause, finding, what it is about, what is missing),
    each with the command that mends it under it; a sentence when there are none."""
    from qms_engine.reports.findings import FINDING_KINDS

    place = f"{report.office} ({report.name})"
    day = report.today.isoformat()
    width = output_width()
    print_table(
        _("What an ISO 9001 audit of {office} would find missing on {day}").format(
            office=place, day=day
        ),
        [
            Column(_("Clause")),
            Column(_("Finding"), fold=True),
            Column(_("About")),
            Column(_("What is missing"), fold=True),
        ],
        [
            [finding.clause, _(FINDING_KINDS[finding.kind]), finding.shown_subject(), finding.what]
            for finding in report.findings
        ],
        empty=_("{office}: nothing an ISO 9001 audit would find missing on {day}.").format(
            office=place, day=day
        ),
        below=[shell_lines(finding.command, width) for finding in report.findings],
    )


@check.command("readiness")
@click.option(
    "--office",
    "office_codes",
    multiple=True,
    metavar="CODE",
    help="Only this office (repeatable); default: `qms --office CODE`'s, else the workspace's.",
)
@click.option("--all-offices", is_flag=True, help="Every office in the deployment.")
@json_option
@pass_app
def check_readiness(
    app: AppContext, office_codes: tuple[str, ...], all_offices: bool, as_json: bool
) -> None:
    """What an ISO 9001 audit would find missing in each office today (exit 5 if anything).

    Required SOPs of the office type with no revision in force (its own, or a district SOP
    it adopted, at the district's revision in force), periodic reviews overdue,
    inbox drafts whose author has not signed for them, registers with gaps, register records
    filed more than a day ago (before yesterday) and not yet verified, revisions whose
    stored file is missing or no longer matches its SHA-256, citizen-charter applications past
    their time limit, case property or files out past their return, and open major
    nonconformities: each with the ISO 9001 clause it touches and the command that mends it,
    --as someone who may run it.
    Exit 0 when nothing is missing, 5 when something is, so a script can gate on it.  Reads
    only.
    """
    from qms_engine.errors import RuleViolation
    from qms_engine.people.offices import list_offices
    from qms_engine.reports.readiness import office_readiness

    if all_offices and office_codes:
        raise click.UsageError(_("give --office CODE or --all-offices, not both"))
    runtime = app.runtime
    codes = (
        [office.code for office in list_offices(runtime)]
        if all_offices
        else list(dict.fromkeys(office_codes)) or [app.office().code]
    )
    reports = [office_readiness(runtime, runtime.office(code)) for code in codes]
    missing = sum(len(report.findings) for report in reports)
    if as_json:
        print_json({"ready": not missing, "offices": reports})
    else:
        for report in reports:
            print_readiness(report)
        console().print(
            ngettext(
                "{count} thing an audit would find missing.",
                "{count} things an audit would find missing.",
                missing,
            ).format(count=missing)
            if missing
            else _("Ready: nothing an audit would find missing."),
            soft_wrap=True,
        )
    if missing:
        click.get_current_context().exit(RuleViolation.exit_code)


COMMANDS = [check]
