"""`qms record-room …`: records deposited by class, weeded only through an approved list.

Deposit a closed file in the record room (अभिलेखागार) under a class of the retention
schedule, propose a disposal list of records whose retention has run out, have another person
approve it, weed them, and list what is kept and the lists.  The rules are the engine's
(:mod:`qms_engine.record_room`); this module parses and formats.
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
from qms_engine.i18n import _, ngettext

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer
    from qms_engine.record_room.room import DisposalListRow


@click.group("record-room")
def record_room() -> None:
    """The record room (अभिलेखागार): retention by record class, weeding by approved list.

    \b
      qms record-room deposit COL-BSR/FILE/2026/00001 --class D --closed 2026-11-29 --as harish
      qms record-room propose COL-BSR/FILE/2023/00007 COL-BSR/FILE/2023/00009 --as harish
      qms record-room approve COL-BSR/DL/2029/001 --comment 'Checked' --as adm
      qms record-room reject COL-BSR/DL/2029/002 --comment 'File 7 is in a case' --as adm
      qms record-room weed COL-BSR/DL/2029/001 --as harish
      qms record-room list
    """


@record_room.command("deposit")
@click.argument("number")
@click.option("--class", "record_class", required=True, help="Its record class (e.g. A, D).")
@click.option(
    "--closed", required=True, callback=day_only, help="The day the file was closed, YYYY-MM-DD."
)
@signer_option
@json_option
@pass_app
def deposit_command(
    app: AppContext,
    number: str,
    record_class: str,
    closed: date,
    signer: Signer,
    as_json: bool,
) -> None:
    """Deposit record NUMBER of the office in the record room, signed (a clerk)."""
    from qms_engine.record_room.room import deposit

    kept = deposit(
        app.runtime,
        office=app.office(),
        actor=signer,
        number=number,
        record_class=record_class,
        closed=closed,
    )
    if as_json:
        print_json(kept)
        return
    until = (
        _("kept permanently")
        if kept.weed_from is None
        else _("may be weeded from {day}").format(day=kept.weed_from.isoformat())
    )
    console().print(
        _("{number}: in the record room, class {code}, {until} (event #{seq})").format(
            number=kept.number, code=kept.record_class, until=until, seq=kept.event_seq
        )
    )


def _say_list(listed: DisposalListRow, as_json: bool) -> None:
    if as_json:
        print_json(listed)
        return
    if listed.weeded:
        state = _("weeded")
    elif listed.rejected:
        state = _("rejected by {who}").format(who=listed.approved_by)
    elif listed.approved_by:
        state = _("approved by {who}").format(who=listed.approved_by)
    else:
        state = _("awaiting approval")
    count = len(listed.records)
    console().print(
        ngettext(
            "{number}: {count} record, proposed by {who}, {state}",
            "{number}: {count} records, proposed by {who}, {state}",
            count,
        ).format(number=listed.number, count=count, who=listed.proposed_by, state=state)
    )


@record_room.command("propose")
@click.argument("numbers", nargs=-1, required=True)
@signer_option
@json_option
@pass_app
def propose_command(
    app: AppContext, numbers: tuple[str, ...], signer: Signer, as_json: bool
) -> None:
    """Propose a disposal list of the records NUMBERS, each past its retention, signed."""
    from qms_engine.record_room.room import propose

    _say_list(propose(app.runtime, office=app.office(), actor=signer, records=numbers), as_json)


@record_room.command("approve")
@click.argument("number")
@click.option("--comment", default="", help="What was checked (Hindi is fine).")
@signer_option
@json_option
@pass_app
def approve_command(
    app: AppContext, number: str, comment: str, signer: Signer, as_json: bool
) -> None:
    """Approve disposal list NUMBER, signed (an approver who did not propose it)."""
    from qms_engine.record_room.room import approve

    _say_list(approve(app.runtime, number=number, actor=signer, comment=comment), as_json)


@record_room.command("reject")
@click.argument("number")
@click.option("--comment", required=True, help="Why it is rejected (Hindi is fine).")
@signer_option
@json_option
@pass_app
def reject_command(
    app: AppContext, number: str, comment: str, signer: Signer, as_json: bool
) -> None:
    """Reject disposal list NUMBER, saying why, signed (an approver who did not propose it).

    Its records may then be proposed on another list."""
    from qms_engine.record_room.room import reject

    _say_list(reject(app.runtime, number=number, actor=signer, comment=comment), as_json)


@record_room.command("weed")
@click.argument("number")
@signer_option
@json_option
@pass_app
def weed_command(app: AppContext, number: str, signer: Signer, as_json: bool) -> None:
    """Weed every record of approved disposal list NUMBER today, signed.

    Refused whole if the list is not approved or a record's retention has not run out."""
    from qms_engine.record_room.room import weed

    weeded = weed(app.runtime, number=number, actor=signer)
    if as_json:
        print_json(weeded)
        return
    for kept in weeded:
        console().print(
            _("{number}: weeded on {day} ({list})").format(
                number=kept.number, day=kept.weeded_on, list=number
            )
        )


@record_room.command("list")
@click.option("--weeded", is_flag=True, help="Weeded records too.")
@json_option
@pass_app
def list_command(app: AppContext, weeded: bool, as_json: bool) -> None:
    """The records in the record room, with the day each may be weeded, and the lists."""
    from qms_engine.record_room.room import disposal_lists, list_kept

    office = app.office()
    with app.runtime.engine.connect() as connection:
        kept = list_kept(connection, office, include_weeded=weeded)
        lists = disposal_lists(connection, office)
    if as_json:
        print_json({"records": kept, "lists": lists})
        return
    print_table(
        _("Record room of {office}").format(office=office.code),
        [_("Number"), _("Class"), _("Closed"), _("Weed from"), _("Weeded")],
        [
            (
                row.number,
                row.record_class,
                row.closed_on.isoformat(),
                row.weed_from.isoformat() if row.weed_from else _("permanent"),
                f"{row.weeded_on} ({row.weeded_list})" if row.weeded_on else "",
            )
            for row in kept
        ],
        empty=_("The record room of {office} holds no records.").format(office=office.code),
    )
    for listed in lists:
        _say_list(listed, False)


COMMANDS = [record_room]
