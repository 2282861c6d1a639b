"""`qms search`: find documents and register records by number, title, fields or text."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    bold,
    console,
    day_only,
    error_console,
    filters_given,
    json_option,
    output_width,
    pass_app,
    print_json,
    when,
)
from qms_engine.cli.tables import wrap
from qms_engine.i18n import _

if TYPE_CHECKING:
    from qms_engine.search.query import SearchHit, SearchResults


def _at_spaces(text: str, width: int) -> str:
    """``text`` with some of its spaces made line breaks, so that its lines fit ``width`` as a
    terminal counts cells (a longer word stays whole): the same length, so that offsets into
    it (the highlights) still hold."""
    broken = "\n".join(wrap(text, width))
    return broken if broken.replace("\n", " ") == text else text


def _show_hit(hit: SearchHit, timezone: str) -> None:
    """A hit: its number (bold) and what it is, its title, the words around the match (the
    matched ones highlighted), laid out for the output's width."""
    from rich.text import Text

    width = output_width()
    said = _("{number}  rev {revno}  {type}  {state}  ").format(
        number=hit.number, revno=hit.revno, type=hit.type_code, state=hit.state
    )
    heading = "\n".join(wrap(said + when(hit.created_at, timezone), width))
    console().print(bold(hit.number, heading.removeprefix(hit.number)), soft_wrap=True)
    shown = [hit.title] if hit.snippet == hit.title else [hit.title, hit.snippet]
    for text in shown:
        found = Text(_at_spaces(text, width - 2))
        if text is hit.snippet:
            for start, end in hit.highlights:
                found.stylize("bold yellow", start, end)
        for line in found.split("\n"):
            console().print(Text.assemble("  ", line), soft_wrap=True)


def print_search_results(results: SearchResults, filters: str = "") -> None:
    """Each hit: number, revision, type, state, date and title, and the words around the match;
    with none, a sentence saying so, naming the ``filters`` given (``--type SOP …``)."""
    from rich.text import Text

    if not results.hits:
        among = (
            _(" among the revisions that match {filters}").format(filters=filters)
            if filters
            else ""
        )
        said = _("Nothing in {office} matches {query}{among}.").format(
            office=results.office, query=repr(results.query), among=among
        )
        console().print(Text(said), soft_wrap=True)
    for hit in results.hits:
        _show_hit(hit, results.timezone)


@click.command("search")
@click.argument("text", required=False)
@click.option("--type", "type_code", metavar="CODE", help="Only this type (e.g. SOP, MALKHANA).")
@click.option("--state", help="Only revisions now in this state (e.g. effective, draft, filed).")
@click.option(
    "--since",
    metavar="DATE",
    callback=day_only,
    help="Only revisions written on or after this day (YYYY-MM-DD).",
)
@click.option(
    "--until",
    metavar="DATE",
    callback=day_only,
    help="Only revisions written on or before this day.",
)
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many results.")
@click.option(
    "--reindex",
    is_flag=True,
    help="First rebuild the index of the whole workspace from the documents and their files "
    "(after `qms db upgrade` from a version without search).",
)
@json_option
@pass_app
def search_command(
    app: AppContext,
    text: str | None,
    type_code: str | None,
    state: str | None,
    since: date | None,
    until: date | None,
    limit: int,
    reindex: bool,
    as_json: bool,
) -> None:
    """Find the revisions of the office whose number, title, register fields (case/FIR number,
    seal number, officer, dates …), file name or .docx text hold every word of TEXT.

    Hindi and English alike.  "Quoted words" must stand together, in order, as must the parts
    of 112/2026; a word ending in * matches the start of words (मालख* finds मालखाना).  Best
    match first (number and title count most), then newest; days are the office's calendar.
    """
    from qms_engine.search.index import reindex as rebuild
    from qms_engine.search.query import search

    if text is None and not reindex:
        raise click.UsageError(_("give the words to search for (or --reindex)"))
    if reindex:
        count = rebuild(app.runtime.engine, app.runtime.store)
        if text is None:
            if as_json:
                print_json({"reindexed": count})
            else:
                console().print(_("Indexed {count} revisions.").format(count=count))
            return
    results = search(
        app.runtime,
        app.office(),
        text or "",
        type_code=type_code,
        state=state,
        since=since,
        until=until,
        limit=limit,
    )
    if results.unindexed and not as_json:
        error_console().print(
            _(
                "Warning: {count} revisions of {office} are not in the search index yet (filed "
                "before it existed); run `qms search --reindex`."
            ).format(count=results.unindexed, office=results.office),
            soft_wrap=True,
        )
    if as_json:
        print_json(results)
    else:
        given = filters_given(type=type_code, state=state, since=since, until=until)
        print_search_results(results, given)


COMMANDS = [search_command]
