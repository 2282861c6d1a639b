"""`qms custody …`: chain of custody of a register's items — hand over, where is it, what is out.

The same three commands serve a plugin's own group (``qms malkhana move|where|out``, built by
:func:`qms_engine.api.custody_commands`), held there to that plugin's register.
"""

from __future__ import annotations

import datetime as dt
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
    when,
)
from qms_engine.cli.tables import Column, clean_text
from qms_engine.i18n import N_, _

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer
    from qms_engine.custody import Whereabouts

SEALS = {"intact": True, "broken": False}
HEADINGS = (
    N_("Number"),
    N_("Place"),
    N_("Since"),
    N_("Held by"),
    N_("Expected back"),
)


def _register() -> str | None:
    """The register a plugin's group holds these commands to (None under ``qms custody``)."""
    from qms_engine.registry.commands import register_of

    return register_of(click.get_current_context())


def _line(text: str) -> str:
    """``text`` as one harmless line: a hand-over signed before line breaks and control
    characters were refused must not forge lines or restyle the terminal."""
    return clean_text(" ".join(text.splitlines()))


def _command() -> str:
    """The group the user typed (``qms custody``, ``qms malkhana``): what a hint names."""
    parent = click.get_current_context().parent
    return f"qms {parent.info_name}" if parent is not None else "qms custody"


@click.command("move")
@click.argument("number")
@click.option("--to", "to", required=True, metavar="PLACE", help="Where it goes (a place code).")
@click.option(
    "--from",
    "from_place",
    metavar="PLACE",
    help="Where you take it from: refused (exit 5) if it is not there.",
)
@click.option("--received-by", required=True, metavar="NAME", help="Who receives it there.")
@click.option(
    "--seal",
    required=True,
    type=click.Choice(tuple(SEALS)),
    help="The seal's state as it is handed over.",
)
@click.option(
    "--expected-back",
    callback=day_only,
    metavar="YYYY-MM-DD",
    help="The day it is due back (court, FSL: needed, within a year).",
)
@click.option("--order", default="", help="The order's reference (needed for a disposal).")
@click.option("--note", default="", help="Anything else to record (Hindi is fine).")
@signer_option
@json_option
@pass_app
def move(
    app: AppContext,
    number: str,
    to: str,
    from_place: str | None,
    received_by: str,
    seal: str,
    expected_back: dt.date | None,
    order: str,
    note: str,
    signer: Signer,
    as_json: bool,
) -> None:
    """Hand the item of record NUMBER over to PLACE, signed by whoever hands it over."""
    from qms_engine.custody import move as move_item

    moved = move_item(
        app.runtime,
        number=number,
        actor=signer,
        to=to,
        received_by=received_by,
        seal_intact=SEALS[seal],
        expected_back=expected_back,
        order=order,
        note=note,
        register=_register(),
        from_place=from_place,
        command=_command(),
    )
    if as_json:
        print_json(moved)
        return
    console().print(
        _line(
            _(
                "{number}: handed over from {source} to {place}, received by {who} (event #{seq})"
            ).format(
                number=moved.number,
                source=moved.from_place,
                place=moved.to_place,
                who=moved.received_by,
                seq=moved.event_seq,
            )
        ),
        soft_wrap=True,
        markup=False,
    )


@click.command("where")
@click.argument("number")
@json_option
@pass_app
def where(app: AppContext, number: str, as_json: bool) -> None:
    """Where the item of record NUMBER is now, since when, who holds it, when it is due back."""
    from qms_engine.custody import where as where_is

    found = where_is(app.runtime, number, register=_register())
    if as_json:
        print_json(found)
        return
    timezone = app.office().timezone
    lines = [
        _("{number}: {place}, since {since}").format(
            number=found.number, place=_(found.place_title), since=when(found.since, timezone)
        )
    ]
    if found.holder:
        lines.append(
            _("held by: {who} (handed over by {by})").format(who=found.holder, by=found.moved_by)
        )
    if found.expected_back:
        lines.append(_("expected back: {day}").format(day=found.expected_back.isoformat()))
    if found.order:
        lines.append(_("order: {order}").format(order=found.order))
    if found.seal_intact is False:
        lines.append(_("the seal was broken when it was last handed over"))
    if found.final:
        lines.append(_("final: it moves no more"))
    console().print("\n".join(map(_line, lines)), soft_wrap=True, markup=False)


@click.command("out")
@click.option("--overdue", is_flag=True, help="Only items past the day they were due back.")
@click.option(
    "--on",
    "on",
    callback=day_only,
    metavar="YYYY-MM-DD",
    help="Overdue as of this day (implies --overdue; default: today in the office).",
)
@click.option("--type", "type_code", metavar="CODE", help="Only this register (e.g. MALKHANA).")
@json_option
@pass_app
def out(
    app: AppContext, overdue: bool, on: dt.date | None, type_code: str | None, as_json: bool
) -> None:
    """The items away from their home now (at court, at the lab …), longest away first."""
    from qms_engine.clock import local_today
    from qms_engine.custody import out as items_out

    office = app.office()
    day = on or (local_today(office.timezone) if overdue else None)
    found = items_out(app.runtime, office, register=_register() or type_code, overdue_on=day)
    if as_json:
        print_json(found)
        return
    title = _("Overdue on {day}").format(day=day.isoformat()) if day else _("Items out")
    print_table(
        title,
        [Column(_(HEADINGS[0])), *(Column(_(h), fold=True) for h in HEADINGS[1:])],
        (_row(item, office.timezone) for item in found),
        empty=_("{title}: none.").format(title=title),
    )


def _row(item: Whereabouts, timezone: str) -> tuple[str, ...]:
    back = item.expected_back.isoformat() if item.expected_back else ""
    return (item.number, _(item.place_title), when(item.since, timezone), _line(item.holder), back)


@click.group("custody")
def custody() -> None:
    """Chain of custody of register items (case property, files): hand over, where, out.

    Every hand-over is signed by whoever hands the item over, from where it is to another
    place of its register; a disposal needs an order, a visit to court or the lab the day it
    is due back.
    """


custody.add_command(move)
custody.add_command(where)
custody.add_command(out)

COMMANDS = [custody]
