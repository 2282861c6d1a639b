"""`qms feedback …`: citizens' feedback on stations — the QR code, importing the form's
export, and the per-station summary with its chart."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    bold,
    console,
    day_only,
    error_console,
    json_option,
    pass_app,
    print_json,
    print_table,
    signer_option,
)
from qms_engine.cli.tables import Column
from qms_engine.i18n import _

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer
    from qms_engine.feedback.responses import ImportResult
    from qms_engine.feedback.summary import FeedbackSummary

_OFFICE_HELP = (
    "The station (office code; default: --office before the command, else the workspace's)."
)


@click.group()
def feedback() -> None:
    """Citizen feedback: QR codes, form imports, summaries, erasing old comments (README:
    "Citizen feedback")."""


@feedback.command("qr")
@click.option("--office", "office", metavar="CODE", help=_OFFICE_HELP)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The image to write: FILE.png (to print) or FILE.svg (to design a poster).",
)
@json_option
@pass_app
def feedback_qr(app: AppContext, office: str | None, output: Path, as_json: bool) -> None:
    """Write the QR code of a station's feedback form (qms.toml: [feedback] url, where
    {office} stands for the office code)."""
    from qms_engine.feedback.qr import station_qr

    made = station_qr(app.runtime, office=office or app.office_code, path=output)
    for warning in made.warnings:
        error_console().print(_("Warning: {warning}").format(warning=warning), soft_wrap=True)
    if as_json:
        print_json(made)
        return
    console().print(
        bold(
            str(made.path),
            _(
                ": QR code ({kind}, version {version}, error correction {error}) "
                "for {office} → {url}"
            ).format(
                kind=made.kind.upper(),
                version=made.version,
                error=made.error,
                office=made.office,
                url=made.url,
            ),
        ),
        soft_wrap=True,
    )


@feedback.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--office",
    "office",
    metavar="CODE",
    help="Read the file with the form of this office's type (default: --office before the "
    "command, else the workspace's office); the file may hold any station.",
)
@json_option
@signer_option
@pass_app
def feedback_import(
    app: AppContext, file: Path, office: str | None, as_json: bool, signer: Signer
) -> None:
    """Import a feedback form's CSV export (Google Forms; UTF-8, UTF-16 or Excel's
    Windows-1252; commas, semicolons or tabs), as a quality coordinator of each station in it.
    FILE may be a pipe (/dev/stdin): it is read once.

    Names and phone numbers are dropped unread; comments are kept on one line, without phone
    numbers or e-mail addresses, cut at 2,000 characters.  Bad rows
    are reported by spreadsheet row (and line) and the rest go in, one transaction per
    station; a file whose every time reads both as day/month and month/day is refused until
    qms.toml says which ([feedback] day_first = true or false); responses already
    imported are skipped.  Poor ratings raise a nonconformity per station and period (the
    form's rule), or join the period's open one.  Exit 0: every row went in (or was in
    already); 1: some rows were refused; 2: nothing could be read.
    """
    from qms_engine.feedback.responses import import_feedback

    result = import_feedback(app.runtime, path=file, actor=signer, office=office or app.office_code)
    if as_json:
        print_json(result)
    else:
        _print_import(result)
    if result.refused:
        click.get_current_context().exit(1)


def _print_import(result: ImportResult) -> None:
    """The import in sentences: what went in per station, what was dropped, what was refused."""
    console().print(
        bold(
            _("Imported {count} response(s) from {file}").format(
                count=result.imported, file=result.file
            ),
            _(
                " ({encoding}); {already} already imported, {refused} refused, of {rows} row(s)."
            ).format(
                encoding=result.encoding,
                already=result.already,
                refused=result.refused,
                rows=result.rows,
            ),
        ),
        soft_wrap=True,
    )
    if result.personal_columns:
        dropped = ", ".join(result.personal_columns)
        console().print(
            _("Dropped unread (personal): {columns}.").format(columns=dropped), soft_wrap=True
        )
    if result.ignored_columns:
        unused = ", ".join(result.ignored_columns)
        console().print(
            _("Not used by the form (not read): {columns}.").format(columns=unused),
            soft_wrap=True,
        )
    for warning in result.warnings:
        error_console().print(_("Warning: {warning}").format(warning=warning), soft_wrap=True)
    if result.comments_cut:
        console().print(
            _("Cut {count} comment(s) longer than {limit} characters to that length.").format(
                count=result.comments_cut, limit=f"{result.comment_limit:,}"
            ),
            soft_wrap=True,
        )
    for station in result.stations:
        ncs = [_("raised {number}").format(number=n) for n in station.raised] + [
            _("joined {number}").format(number=n) for n in station.linked
        ]
        poor = (
            _("; {count} poor: {ncs}").format(count=station.poor, ncs=", ".join(ncs))
            if station.poor
            else ""
        )
        console().print(
            _("{office}: {new} new, {already} already imported{poor}").format(
                office=station.office, new=station.imported, already=station.already, poor=poor
            ),
            soft_wrap=True,
        )
    if result.problems:
        error_console().print(
            _("Refused {count} row(s):").format(count=result.refused), soft_wrap=True
        )
        for problem in result.problems:
            error_console().print(f"  {problem}", soft_wrap=True)


@feedback.command("erase")
@click.option(
    "--before",
    required=True,
    callback=day_only,
    metavar="YYYY-MM-DD",
    help="Erase the comments of responses from before this day (midnight in each office's "
    "zone); at the latest today less the form's keep_days.",
)
@json_option
@signer_option
@pass_app
def feedback_erase(app: AppContext, before: date, as_json: bool, signer: Signer) -> None:
    """Erase the comments of old citizen responses, in every station where you are a quality
    coordinator, once the form's keep_days have passed (a police station keeps them 730
    days).

    Each comment and its salt are blanked; the response's time, station and ratings stay, and
    the audit trail signs which responses' comments were erased (feedback.comments.erased).
    `qms audit verify` keeps passing: the trail holds only a salted digest of each comment.
    A date later than the form allows is refused, naming the latest allowed; nothing is
    erased then.  Exit 1: some station refused (its key or role; the others were erased).
    """
    from qms_engine.feedback.retention import erase_comments

    result = erase_comments(app.runtime, before=before, actor=signer)
    if as_json:
        print_json(result)
    else:
        console().print(
            bold(
                _("Erased the comments of {count} response(s)").format(count=result.erased),
                _(" from before {day}.").format(day=before.isoformat()),
            ),
            soft_wrap=True,
        )
        for office in result.offices:
            console().print(
                _("{office}: {count} erased").format(office=office.office, count=office.erased),
                soft_wrap=True,
            )
        for problem in result.problems:
            error_console().print(
                _("Not erased in {problem}").format(problem=problem), soft_wrap=True
            )
    if result.problems:
        click.get_current_context().exit(1)


@feedback.command("summary")
@click.option(
    "--office",
    "office",
    metavar="CODE",
    help="One station (default: --office before the command, else every station with a form).",
)
@click.option("--since", callback=day_only, metavar="YYYY-MM-DD", help="From this day on.")
@click.option("--until", callback=day_only, metavar="YYYY-MM-DD", help="Up to this day, inclusive.")
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.png",
    help="Also draw the summary as a PNG chart (Hindi and English labels).",
)
@json_option
@pass_app
def feedback_summary_command(
    app: AppContext,
    office: str | None,
    since: date | None,
    until: date | None,
    chart: Path | None,
    as_json: bool,
) -> None:
    """Per station: responses, the average of each rating and the share of poor ones, for the
    SP office's review.  Days are each station's calendar days.  No name, phone number or
    comment is ever shown (none is stored but comments, which stay out of the summary)."""
    from dataclasses import asdict

    from qms_engine.errors import InvalidInput
    from qms_engine.feedback.chart import draw_chart
    from qms_engine.feedback.output import write_image
    from qms_engine.feedback.summary import feedback_summary

    if chart is not None and chart.suffix.lower() != ".png":
        raise InvalidInput(
            _("--chart {chart}: the chart is a PNG").format(chart=chart),
            hint=_("give a name ending in .png"),
        )
    summary = feedback_summary(
        app.runtime, office=office or app.office_code, since=since, until=until
    )
    if chart is not None:
        write_image(chart, draw_chart(summary), "--chart")
    if as_json:
        print_json({**asdict(summary), "chart": str(chart) if chart else None})
        return
    _print_summary(summary)
    if chart is not None:
        console().print(_("Chart: {chart}").format(chart=chart), soft_wrap=True)


def _print_summary(summary: FeedbackSummary) -> None:
    """One row per station; the averages one per line, so that a form with many ratings still
    fits the terminal."""
    print_table(
        _("Citizen feedback, {period} (poor: {rating} ≤ {at_most})").format(
            period=summary.period,
            rating=_(summary.labels[summary.poor_rating]),
            at_most=summary.poor_at_most,
        ),
        [
            Column(_("Station"), fold=True),
            _("Responses"),
            Column(_("Average rating (1 to 5)"), fold=True),
            _("NCs"),
        ],
        [
            (
                f"{station.office}\n{station.name}",
                _("{responses}\n{poor} poor ({share})").format(
                    responses=station.responses,
                    poor=station.poor,
                    share=f"{station.poor_share:.0%}",
                ),
                "\n".join(
                    f"{station.averages[r]:.2f}  {_(summary.labels[r])}"
                    if r in station.averages
                    else f"–  {_(summary.labels[r])}"
                    for r in summary.ratings
                ),
                "\n".join(station.ncs),
            )
            for station in summary.stations
        ],
    )


COMMANDS = [feedback]
