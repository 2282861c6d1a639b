"""`qms register …`: typed register entries (the General Diary, FIR, cyber complaints …).

Write an entry (a day book's opening or closing, or an entry correcting an earlier one), show
one with its links ("corrects" / "corrected by"), list a register's entries (of a day), and
list what the registers show missing (serials skipped, past days not closed).  The rules are
the engine's (:mod:`qms_engine.registers`, :mod:`qms_engine.documents.register_entries`);
this module parses and formats.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from qms_engine.cli.documents import _fields as parse_fields
from qms_engine.cli.tables import Column, clean_text
from qms_engine.i18n import _

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer
    from qms_engine.registers.entries import Entry


@click.group()
def register() -> None:
    """Register entries typed at the desk, under their books' rules.

    Entries are numbered without gaps (per year, or per day), never edited: a mistake is
    corrected by a later entry naming it (--corrects).  A day book (the General Diary) is
    opened each day (--opening, with the persons in custody) and closed (--closing, with the
    cash balance).  For example:

    \b
      qms register write GD --opening --text 'Day opened' --field custody=none
      qms register write GD --text 'SI Verma left on patrol with 2 constables'
      qms register write GD --corrects PS-KOT39/GD/2026/00002 --text 'With 3 constables'
      qms register write GD --closing --text 'Day closed' --field cash_balance=1200
    """


@register.command("write")
@click.argument("type_code", metavar="TYPE")
@click.option("--text", required=True, help="What the entry says (Hindi is fine).")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="A field of the entry, e.g. custody=none or case_number=112/2026 (repeatable).",
)
@click.option("--corrects", metavar="NUMBER", help="The earlier entry this one corrects.")
@click.option("--opening", is_flag=True, help="The day's opening entry.")
@click.option("--closing", is_flag=True, help="The day's closing entry.")
@signer_option
@json_option
@pass_app
def register_write(
    app: AppContext,
    type_code: str,
    text: str,
    fields: tuple[str, ...],
    corrects: str | None,
    opening: bool,
    closing: bool,
    signer: Signer,
    as_json: bool,
) -> None:
    """Write the next entry of register TYPE (GD, FIR, CYBER …), signed."""
    from qms_engine.registers.entries import write_entry

    if opening and closing:
        raise click.UsageError(
            _("--opening and --closing are two entries: write the opening, then the closing")
        )
    kind = "opening" if opening else "closing" if closing else None
    entry = write_entry(
        app.runtime,
        app.office(),
        actor=signer,
        type_code=type_code,
        text=text,
        fields=parse_fields(fields),
        kind=kind or "entry",
        corrects=corrects,
    )
    if as_json:
        print_json(entry)
        return
    console().print(_("{number} written ({what})").format(number=entry.number, what=_kind(entry)))
    if entry.corrects:
        console().print(_("corrects {number}").format(number=entry.corrects))


def _kind(entry: Entry) -> str:
    """An entry's place in its book, in words."""
    if entry.late:
        return _("late closing of {day}").format(day=entry.day)
    return {
        "opening": _("opening of {day}"),
        "closing": _("closing of {day}"),
    }.get(entry.entry, _("entry")).format(day=entry.day)


@register.command("show")
@click.argument("number")
@json_option
@pass_app
def register_show(app: AppContext, number: str, as_json: bool) -> None:
    """An entry: its text, fields, place in the book and its corrections, both ways."""
    from qms_engine.registers.entries import show_entry

    entry = show_entry(app.runtime, number)
    if as_json:
        print_json(entry)
        return
    out = console()
    out.print(clean_text(f"{entry.number}  {entry.title}"), markup=False, highlight=False)
    lines = [
        (_("register"), entry.register),
        (_("kind"), _kind(entry)),
        (_("written"), f"{entry.written} ({entry.by})"),
        *((name, str(value)) for name, value in sorted(entry.fields.items())),
        *([(_("corrects"), entry.corrects)] if entry.corrects else []),
        *((_("corrected by"), number) for number in entry.corrected_by),
    ]
    for label, value in lines:
        out.print(clean_text(f"  {label}: {value}"), markup=False, highlight=False)
    if entry.text is not None:
        out.print("", clean_text(entry.text), sep="\n", markup=False, highlight=False)


@register.command("list")
@click.argument("type_code", metavar="TYPE")
@click.option("--day", callback=day_only, metavar="YYYY-MM-DD", help="Only this day's entries.")
@json_option
@pass_app
def register_list(app: AppContext, type_code: str, day: date | None, as_json: bool) -> None:
    """The entries of register TYPE, oldest first (--day: one day's)."""
    from qms_engine.registers.entries import list_entries

    entries = list_entries(app.runtime, app.office(), type_code, day)
    if as_json:
        print_json(entries)
        return
    print_entries(type_code, entries)


def print_entries(type_code: str, entries: Sequence[Entry]) -> None:
    """Entries of one register as a table, each with the corrections linking it."""
    print_table(
        _("{code} entries").format(code=type_code.upper()),
        [_("Number"), _("Written"), _("Kind"), Column(_("Title"), fold=True), _("Links")],
        [
            (
                entry.number,
                entry.written,
                _kind(entry),
                entry.title,
                "; ".join(
                    [
                        *(
                            [_("corrects {number}").format(number=entry.corrects)]
                            if entry.corrects
                            else []
                        ),
                        *(_("corrected by {number}").format(number=n) for n in entry.corrected_by),
                    ]
                ),
            )
            for entry in entries
        ],
        empty=_("No entries."),
    )


@register.command("gaps")
@json_option
@pass_app
def register_gaps(app: AppContext, as_json: bool) -> None:
    """What the office's registers show missing: serials skipped, past days not closed.

    Exits 5 when something is missing, so a script can act on it.
    """
    from qms_engine.errors import RuleViolation
    from qms_engine.registers import gaps

    office = app.office()
    with app.runtime.engine.connect() as connection:
        found = gaps(connection, office)
    if as_json:
        print_json(found)
    else:
        print_table(
            _("Register gaps in {office}").format(office=office.code),
            [_("Register"), Column(_("What"), fold=True)],
            [(gap.register, gap.what) for gap in found],
            empty=_("No gaps: every serial is there and every past day is closed."),
        )
    if found:
        raise click.exceptions.Exit(RuleViolation.exit_code)


COMMANDS = [register]
