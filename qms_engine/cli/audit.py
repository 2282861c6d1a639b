"""`qms log` and `qms audit …`: reading, checkpointing, exporting and verifying the audit trail."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    Passphrase,
    bold,
    console,
    day_or_moment,
    filters_given,
    jobs_option,
    json_option,
    office_passphrase_option,
    pass_app,
    print_json,
    progress_bars,
    signer_option,
)
from qms_engine.cli.views import print_log, write_log_csv
from qms_engine.errors import IntegrityError
from qms_engine.i18n import _

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date, datetime

    from rich.progress import Progress, TaskID

    from qms_engine.audit.log import LogQuery
    from qms_engine.audit.verify import AuditResult
    from qms_engine.chain.signing import Signer


@click.command("log")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(0),
    help="How many of the newest matching events (default 20; with --csv all); 0: all.",
)
@click.option("--user", metavar="USER", help="Only events this user signed.")
@click.option("--document", metavar="NUMBER", help="Only events about this document.")
@click.option(
    "--since",
    metavar="DATE",
    callback=day_or_moment,
    help="From this day (YYYY-MM-DD, in the office's time zone) or ISO timestamp on.",
)
@click.option(
    "--until",
    metavar="DATE",
    callback=day_or_moment,
    help="Up to this day (the whole day, in the office's time zone) or ISO timestamp.",
)
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="Print CSV for a spreadsheet (UTF-8 with BOM, times in the office's zone).",
)
@json_option
@pass_app
def log(
    app: AppContext,
    limit: int | None,
    user: str | None,
    document: str | None,
    since: date | datetime | None,
    until: date | datetime | None,
    as_csv: bool,
    as_json: bool,
) -> None:
    """The office's audit log (newest last): who did what, when, to what, signed as whom.

    Filters combine: `qms log --user asharma --document PS-KOT39/SOP/001 --since 2026-11-01
    --until 2026-11-30` is every event she signed about that SOP in November.
    """
    from qms_engine.audit.log import LogQuery, read_log

    if as_csv and as_json:
        raise click.UsageError(_("--csv and --json: choose one"))
    if limit is None:
        limit = 0 if as_csv else 20
    office = app.office()
    query = LogQuery(user, document, since, until, limit or None)
    events = read_log(app.runtime, office, query)
    if as_csv:
        write_log_csv(events, office)
    elif as_json:
        print_json(
            [
                {
                    **e.model_dump(exclude={"office_id"}),
                    "payload": json.loads(e.payload),
                    "office": office.code,
                }
                for e in events
            ]
        )
    else:
        print_log(
            events,
            office,
            title=_("Audit log of {code} ({name})").format(code=office.code, name=office.name),
            empty=_filters_text(office.code, query),
        )


def _filters_text(code: str, query: LogQuery) -> str:
    """The sentence an empty log prints, with the filters given (``--user …``) as typed."""
    given = filters_given(
        user=query.user, document=query.document, since=query.since, until=query.until
    )
    if given:
        return _("No events in {code}'s log match {filters}.").format(code=code, filters=given)
    return _("No events in {code}'s log.").format(code=code)


@click.group()
def audit() -> None:
    """Checkpoint, export and verify the signed, tamper-evident audit trail."""


def _total_of(bar: Progress, task: TaskID) -> Callable[[int], None]:
    """Sets the bar's total once the verifier knows how many events its snapshot holds."""
    return lambda total: bar.update(task, total=total)


def _report(results: list[AuditResult], as_json: bool) -> None:
    if as_json:
        print_json([{**r.__dict__, "ok": r.ok} for r in results])
    else:
        for result in results:
            blobs = (
                _("{count} blobs").format(count=result.blobs)
                if result.blobs_checked
                else _("blobs NOT checked")
            )
            checked = _("{events} events, {checkpoints} checkpoints, {codes} codes, {blobs}")
            checked = checked.format(
                events=result.events,
                checkpoints=result.checkpoints,
                codes=result.codes,
                blobs=blobs,
            )
            if result.ok:
                console().print(
                    _("{office}: OK — {checked}").format(office=result.office, checked=checked)
                )
                continue
            console().print(
                _("{office}: FAILED — {checked}; {count} problem(s)").format(
                    office=result.office, checked=checked, count=len(result.problems)
                )
            )
            console().print(_("  first: {problem}").format(problem=result.problems[0]))
            for problem in result.problems[1:20]:
                console().print(_("  also:  {problem}").format(problem=problem))
    failed = [r.office for r in results if not r.ok]
    if failed:
        raise IntegrityError(
            _("verification failed for {offices}").format(offices=", ".join(failed))
        )


@audit.command("verify")
@click.option(
    "--bundle",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Verify an exported bundle instead of the database (no database needed).",
)
@click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="CODE",
    help="A checkpoint code from paper, e.g. PS-KOT39#40:WZG27-P822P-P3ST (any letter case; "
    "spaces and hyphens between groups do not matter); repeatable. With --all-offices, each "
    "code is checked against the office it names.",
)
@click.option("--all-offices", is_flag=True, help="Every office in the deployment.")
@click.option(
    "--no-blobs",
    is_flag=True,
    help="Do not check the revisions' files (blobs); the verdict then says so. Without it, a "
    "bundle exported without blobs fails with 'blobs NOT checked'.",
)
@jobs_option("for signature checks")
@json_option
@pass_app
def audit_verify(
    app: AppContext,
    bundle: Path | None,
    codes: tuple[str, ...],
    all_offices: bool,
    no_blobs: bool,
    jobs: int,
    as_json: bool,
) -> None:
    """Check every hash link, signature, key, workflow rule, checkpoint and blob (exit 6 if bad).

    A checkpoint code that is malformed, mistyped (its check character does not match) or for
    an office not verified is a usage error (exit 2): it is refused before any checking.
    """
    from qms_engine.audit.checkpoints import codes_by_office
    from qms_engine.audit.verify import verify_bundle, verify_office
    from qms_engine.district.verify import verify_overseen
    from qms_engine.people.offices import list_offices

    if bundle is not None:
        with progress_bars() as bar:
            task = bar.add_task(_("Verifying {name}").format(name=bundle.name), total=None)
            result = verify_bundle(
                bundle,
                jobs=jobs,
                codes=codes,
                progress=functools.partial(bar.advance, task),
                check_blobs=not no_blobs,
            )
        _report([result], as_json)
        return
    runtime = app.runtime
    offices = (
        [runtime.office(o.code) for o in list_offices(runtime)] if all_offices else [app.office()]
    )
    papers = codes_by_office(codes, [office.code for office in offices])
    results = []
    for office in offices:
        with progress_bars() as bar:
            task = bar.add_task(_("Verifying {name}").format(name=office.code), total=None)
            results.append(
                verify_office(
                    runtime,
                    office,
                    jobs=jobs,
                    codes=[paper.text for paper in papers[office.code]],
                    progress=functools.partial(bar.advance, task),
                    check_blobs=not no_blobs,
                    on_head=_total_of(bar, task),
                )
            )
        results.extend(verify_overseen(runtime, office))  # a district: its stations too
    _report(results, as_json)


@audit.command("checkpoint")
@signer_option
@office_passphrase_option
@json_option
@pass_app
def audit_checkpoint(
    app: AppContext, signer: Signer, office_passphrase: Passphrase, as_json: bool
) -> None:
    """Record a checkpoint signed by the office key; prints the code to write on paper.

    Two passphrases are needed: the actor's own (a quality coordinator or an admin; with
    --passphrase-file or $QMS_PASSPHRASE) and the office key's (--office-passphrase-file or
    $QMS_OFFICE_PASSPHRASE), chosen at `qms init` or `qms office add`.  The code ends in a
    check character, so a copying mistake is later reported as such.
    """
    from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key

    office = app.office()
    with office_passphrase.blamed():
        office_key = unlock_office_key(app.runtime, office, office_passphrase.text)
    record = record_checkpoint(app.runtime, office, actor=signer, office_key=office_key)
    if as_json:
        print_json({**record.__dict__, "code": record.code})
        return
    console().print(
        _("Checkpoint of {code} at event #{seq}.").format(code=office.code, seq=record.seq)
    )
    console().print(_("Write this code in the register, or send it to the SP office:"))
    console().print(bold(f"  {record.code}"))


@audit.command("export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="New folder for the bundle.",
)
@click.option(
    "--blobs/--no-blobs",
    default=False,
    show_default=True,
    help="Also copy every revision's file into the bundle.",
)
@json_option
@pass_app
def audit_export(app: AppContext, out: Path, blobs: bool, as_json: bool) -> None:
    """Export the office's audit bundle for offline verification (docs/audit-bundle.md)."""
    from qms_engine.audit.bundle import export_bundle

    summary = export_bundle(app.runtime, app.office(), out, include_blobs=blobs)
    if as_json:
        print_json(summary)
        return
    console().print(
        _(
            "Wrote {path}: {events} events, {keys} keys, {checkpoints} checkpoints, {blobs} blobs"
        ).format(
            path=summary.path,
            events=summary.events,
            keys=summary.keys,
            checkpoints=summary.checkpoints,
            blobs=summary.blobs,
        )
    )
    console().print(
        _("Verify offline with: qms audit verify --bundle {path}").format(path=summary.path)
    )


COMMANDS = [log, audit]
