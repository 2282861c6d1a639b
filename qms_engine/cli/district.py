"""`qms district …`: an SP office over its stations (run with --office SP-CODE, or in the SP
office's own workspace): join, import bundles, witness checkpoints, verify, district views."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from qms_engine.cli.context import (
    AppContext,
    Passphrase,
    console,
    json_option,
    office_passphrase_option,
    pass_app,
    print_json,
    print_table,
    signer_option,
)
from qms_engine.errors import IntegrityError
from qms_engine.i18n import N_, _

T = TypeVar("T")

if TYPE_CHECKING:
    from qms_engine.audit.verify import AuditResult
    from qms_engine.chain.signing import Signer
    from qms_engine.district.witness import Witnessed


@click.group()
def district() -> None:
    """The SP office over its police stations: bundles, witnessed checkpoints, views."""


@district.command("join")
@click.argument("station")
@signer_option
@json_option
@pass_app
def district_join(app: AppContext, station: str, signer: Signer, as_json: bool) -> None:
    """Make office STATION of this database one of the district's stations (an SP admin)."""
    from qms_engine.district.stations import join_station

    district = app.office()
    joined = join_station(app.runtime, district, actor=signer, station_code=station)
    if as_json:
        print_json(joined)
        return
    console().print(
        _("{station} — {name} is now a station of {district}").format(
            station=joined.code, name=joined.name, district=district.code
        )
    )


@district.command("import")
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@signer_option
@json_option
@pass_app
def district_import(app: AppContext, bundle: Path, signer: Signer, as_json: bool) -> None:
    """Verify a station's audit BUNDLE and keep its signed history at the district.

    A later, longer bundle of the same station extends what is held.  A bundle that disagrees
    with it (another event at a number held, a witnessed checkpoint contradicted) is refused
    with exit 6, naming the event; nothing is imported then.

    An older bundle (the exact beginning of what is held: pen drives arrive out of order)
    imports nothing and exits 5.  If it is the station's current chain, the chain was cut:
    `qms district verify STATION --bundle BUNDLE` says so (exit 6).
    """
    from qms_engine.district.imports import import_bundle

    summary = import_bundle(app.runtime, app.office(), actor=signer, bundle=bundle)
    if as_json:
        print_json({**summary.__dict__, "added": summary.added})
        return
    if summary.event_seq is None:
        console().print(
            _("{station}: nothing new; the district holds its {count} events already").format(
                station=summary.station, count=summary.held
            )
        )
        return
    console().print(
        _(
            "{station}: verified; events #{first}–#{last} imported ({checkpoints} new "
            "checkpoint(s) to witness)"
        ).format(
            station=summary.station,
            first=summary.held_before + 1,
            last=summary.held,
            checkpoints=summary.checkpoints,
        )
    )


@district.command("witness")
@click.argument("station", required=False)
@signer_option
@office_passphrase_option
@json_option
@pass_app
def district_witness(
    app: AppContext,
    station: str | None,
    signer: Signer,
    office_passphrase: Passphrase,
    as_json: bool,
) -> None:
    """Countersign, with the SP office key, each station checkpoint received and not yet
    witnessed (of STATION, or of every station).

    Two passphrases: yours (a quality coordinator or an admin of the SP office) and the SP
    office key's.  The station's chain is verified first, with every earlier witness: a
    station whose chain does not verify, or whose checkpoint forks from a witnessed one, gets
    nothing witnessed; the other stations' checkpoints are, then the command exits 6 naming it.
    """
    from qms_engine.audit.checkpoints import unlock_office_key
    from qms_engine.district.witness import StationsNotWitnessed, witness_checkpoints

    office = app.office()
    with office_passphrase.blamed():
        office_key = unlock_office_key(app.runtime, office, office_passphrase.text)
    try:
        done = witness_checkpoints(
            app.runtime, office, actor=signer, office_key=office_key, station=station
        )
    except StationsNotWitnessed as refused:
        _print_witnessed(refused.done, office.code, as_json)
        raise
    _print_witnessed(done, office.code, as_json)


def _print_witnessed(done: list[Witnessed], district: str, as_json: bool) -> None:
    if as_json:
        print_json([{**w.__dict__, "code": w.code} for w in done])
        return
    if not done:
        console().print(_("No checkpoint is waiting to be witnessed."))
    for witnessed in done:
        console().print(
            _("Witnessed {code} (event #{seq} of {district}'s chain)").format(
                code=witnessed.code, seq=witnessed.event_seq, district=district
            )
        )


@district.command("verify")
@click.argument("station", required=False)
@click.option(
    "--bundle",
    type=click.Path(file_okay=False, path_type=Path),
    help="Verify this bundle of STATION (not imported) against the district's witnesses.",
)
@json_option
@pass_app
def district_verify(
    app: AppContext, station: str | None, bundle: Path | None, as_json: bool
) -> None:
    """Verify STATION's chain (or every station's) against every checkpoint the district
    witnessed: a chain cut below one, or rewritten, fails (exit 6)."""
    from qms_engine.district.verify import verify_district, verify_station

    if bundle is not None and station is None:
        raise click.UsageError(_("--bundle needs the STATION it is from"))
    office = app.office()
    results = (
        [verify_station(app.runtime, office, station, bundle=bundle)]
        if station is not None
        else verify_district(app.runtime, office)
    )
    report_stations(results, as_json)


def report_stations(results: list[AuditResult], as_json: bool) -> None:
    """Print each station's verdict; exit 6 when one failed."""
    if as_json:
        print_json([{**r.__dict__, "ok": r.ok} for r in results])
    else:
        if not results:
            console().print(_("The district has no stations yet."))
        for result in results:
            if result.ok:
                console().print(
                    _("{station}: OK — {events} events, {witnessed} witnessed checkpoints").format(
                        station=result.office, events=result.events, witnessed=result.checkpoints
                    )
                )
                continue
            console().print(
                _("{station}: FAILED — {count} problem(s)").format(
                    station=result.office, count=len(result.problems)
                )
            )
            for problem in result.problems[:20]:
                console().print(f"  {problem}", markup=False)
    failed = [r.office for r in results if not r.ok]
    if failed:
        raise IntegrityError(
            _("verification failed at the district for {stations}").format(
                stations=", ".join(failed)
            )
        )


def _show(
    rows: Sequence[T],
    as_json: bool,
    title: str,
    columns: Sequence[str],
    cells: Callable[[T], Sequence[object]],
    empty: str,
) -> None:
    """A district view: ``rows`` as JSON, or a table of ``cells(row)`` (``empty``: none)."""
    if as_json:
        print_json(rows)
    else:
        print_table(title, columns, [cells(row) for row in rows], empty=empty)


_STATUS_COLUMNS = (
    N_("Station"),
    N_("Seen"),
    N_("Events"),
    N_("Last event"),
    N_("Witnessed"),
    N_("Verified"),
)


@district.command("status")
@json_option
@pass_app
def district_status(app: AppContext, as_json: bool) -> None:
    """Per station: how it is seen, its last event, its last witnessed checkpoint, and whether
    its chain verifies against the district's witnesses."""
    from qms_engine.cli.context import when
    from qms_engine.clock import from_utc_text
    from qms_engine.district.views import district_status as status_of

    office = app.office()
    _show(
        status_of(app.runtime, office),
        as_json,
        _("Stations of {district}").format(district=office.code),
        [_(c) for c in _STATUS_COLUMNS],
        lambda row: (
            row.station,
            _("shared database") if row.shared else _("imported bundles"),
            row.events,
            f"{when(from_utc_text(row.last_time), office.timezone)} {row.last_action}"
            if row.last_time
            else "",
            f"#{row.witnessed}" if row.witnessed else _("none"),
            _("yes") if row.verified else _("NO: {problem}").format(problem=row.problem),
        ),
        _("The district has no stations yet."),
    )


@district.command("master-list")
@click.option(
    "--kind",
    type=click.Choice(["document", "register", "all"], case_sensitive=False),
    default="document",
    show_default=True,
    help="Documents, records or all.",
)
@json_option
@pass_app
def district_master_list(app: AppContext, kind: str, as_json: bool) -> None:
    """The consolidated master list: each station's documents (or register records, or both:
    --kind, as `qms doc list --kind`), the revision in force (else the latest), its state and
    review due date."""
    from qms_engine.district.views import master_list

    office = app.office()
    empty = {
        "document": _("No station of {district} has a document yet."),
        "register": _("No station of {district} has a register record yet."),
        "all": _("No station of {district} has a document or a register record yet."),
    }
    _show(
        master_list(app.runtime, office, None if kind == "all" else kind),
        as_json,
        _("Master list of the stations of {district}").format(district=office.code),
        [_("Station"), _("Number"), _("Rev"), _("Title"), _("State"), _("Review due")],
        lambda e: (e.station, e.number, e.revno, e.title, e.state, e.review_due or ""),
        empty[kind].format(district=office.code),
    )


@district.command("nc")
@json_option
@pass_app
def district_nc(app: AppContext, as_json: bool) -> None:
    """Open nonconformities per station, with each action past its due date."""
    from qms_engine.district.views import open_ncs

    office = app.office()
    _show(
        open_ncs(app.runtime, office),
        as_json,
        _("Open nonconformities of the stations of {district}").format(district=office.code),
        [_("Station"), _("Number"), _("Severity"), _("State"), _("Title"), _("Overdue actions")],
        lambda nc: (
            nc.station,
            nc.number,
            nc.severity,
            nc.state,
            nc.title,
            ", ".join(
                _("{action} ({owner}, due {due})").format(
                    action=a.action.rsplit("#", 1)[-1], owner=a.owner, due=a.due
                )
                for a in nc.overdue_actions
            ),
        ),
        _("No station of {district} has an open nonconformity.").format(district=office.code),
    )


@district.command("reviews")
@json_option
@pass_app
def district_reviews(app: AppContext, as_json: bool) -> None:
    """Documents in force at the stations whose periodic review is past due."""
    from qms_engine.district.views import overdue_reviews

    office = app.office()
    _show(
        overdue_reviews(app.runtime, office),
        as_json,
        _("Overdue reviews at the stations of {district}").format(district=office.code),
        [_("Station"), _("Number"), _("Rev"), _("Title"), _("Review due")],
        lambda e: (e.station, e.number, e.revno, e.title, e.review_due),
        _("No review is overdue at the stations of {district}.").format(district=office.code),
    )


@district.command("feedback")
@json_option
@pass_app
def district_feedback(app: AppContext, as_json: bool) -> None:
    """Citizen feedback figures per station: responses, poor ones, average of each rating."""
    from qms_engine.district.views import feedback_figures

    office = app.office()
    _show(
        feedback_figures(app.runtime, office),
        as_json,
        _("Citizen feedback at the stations of {district}").format(district=office.code),
        [_("Station"), _("Responses"), _("Poor"), _("Averages")],
        lambda f: (
            f.station,
            f.responses,
            f.poor,
            ", ".join(f"{name} {value:.2f}" for name, value in f.averages.items()),
        ),
        _("The district has no stations yet."),
    )


@district.group("sop")
def district_sop() -> None:
    """District SOPs that stations adopt."""


@district_sop.command("adopt")
@click.argument("number")
@signer_option
@json_option
@pass_app
def district_sop_adopt(app: AppContext, number: str, signer: Signer, as_json: bool) -> None:
    """The station (--office STATION) adopts the revision in force of district SOP NUMBER
    (e.g. SP-BGT/SOP/001), signed by its quality coordinator or approver."""
    from qms_engine.district.sops import adopt_sop

    adopted = adopt_sop(app.runtime, app.office(), actor=signer, number=number)
    if as_json:
        print_json(adopted)
        return
    console().print(
        _("{station} adopted {number} revision {revno} ({title}), file {sha}…").format(
            station=adopted.station,
            number=adopted.number,
            revno=adopted.revno,
            title=adopted.title,
            sha=adopted.sha256[:16],
        )
    )


@district_sop.command("status")
@json_option
@pass_app
def district_sop_status(app: AppContext, as_json: bool) -> None:
    """Each district SOP in force at each station: the revision it adopted, and whether that
    is the one in force."""
    from qms_engine.district.sops import sop_status

    office = app.office()
    _show(
        sop_status(app.runtime, office),
        as_json,
        _("District SOPs at the stations of {district}").format(district=office.code),
        [_("Station"), _("Number"), _("Title"), _("In force"), _("Adopted"), _("Current")],
        lambda row: (
            row.station,
            row.number,
            row.title,
            row.in_force,
            _("none") if row.adopted is None else row.adopted,
            _("yes") if row.current else _("NO"),
        ),
        _("{district} has no SOP in force yet.").format(district=office.code),
    )


COMMANDS = [district]
