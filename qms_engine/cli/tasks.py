"""`qms tasks`: what needs a person's action now in an office, and the command for each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    json_option,
    output_width,
    pass_app,
    print_json,
    print_table,
    reader_option,
    when,
)
from qms_engine.cli.tables import cell_width, shell_lines, wrap
from qms_engine.i18n import _

if TYPE_CHECKING:
    from qms_engine.tasks import Task, TaskList


def _what(task: Task) -> str:
    """The subject (a number stays whole) over the title; an inbox file's folder apart from
    its name, so that a long file name does not widen the table by its folder too.  A word of
    the title wider than the subject is folded to the subject's width: the column is as wide
    as its numbers need, never wider for one unbroken word."""
    subject = task.subject
    if task.kind == "quarantined":
        folder, _slash, name = subject.rpartition("/")
        subject = f"{folder}/\n{name}" if folder else name
    widest = max(cell_width(line) for line in subject.split("\n"))
    title = " ".join(
        "\n".join(wrap(word, widest, fold=True)) if cell_width(word) > widest else word
        for word in task.title.split(" ")
    )
    return f"{subject}\n{title}"


def _row(task: Task, timezone: str, everyone: bool, with_due: bool) -> list[str]:
    """A task's row: (who,) (due,) since, kind and state, what."""
    row = [
        when(task.since, timezone),
        "\n".join(filter(None, (task.kind.replace("_", " "), task.state))),
        _what(task),
    ]
    if with_due:
        row.insert(
            0, _("OVERDUE {day}").format(day=task.due) if task.overdue else str(task.due or "")
        )
    if everyone:
        row.insert(0, task.user)
    return row


def print_tasks(result: TaskList) -> None:
    """A queue as a table, one row per task with the command of each thing to do under it
    (across the whole width, wrapped between words), or a sentence when empty."""
    everyone = result.user is None
    with_due = any(task.due for task in result.tasks)
    columns = [
        *([_("Who")] if everyone else []),
        *([_("Due")] if with_due else []),
        _("Since"),
        _("Kind"),
        _("What"),  # never folded: a document number stays whole
    ]
    width = output_width()
    if everyone:
        title = _("Everyone's tasks in {office}").format(office=result.office)
        empty = _("Nothing needs anyone's action in {office}.").format(office=result.office)
    else:
        title = _("Tasks for {user} in {office}").format(user=result.user, office=result.office)
        empty = _("Nothing needs your action in {office}.").format(office=result.office)
    print_table(
        title,
        columns,
        [_row(task, result.timezone, everyone, with_due) for task in result.tasks],
        empty=empty,
        below=[_below(task, result.timezone, width) for task in result.tasks],
    )


def _below(task: Task, timezone: str, width: int) -> list[str]:
    """Under a task: why a draft came back to its author, if it did, what else to know (who
    must act), then the commands."""
    notes = [task.note] if task.note else []
    if task.returned is not None:
        back = task.returned
        said = f": {back.comment}" if back.comment else ""
        notes.insert(
            0,
            _("sent back by {user} ({transition}) on {moment}{said}").format(
                user=back.by, transition=back.transition, moment=when(back.at, timezone), said=said
            ),
        )
    lines = [f"  {line}" for note in notes for line in wrap(note, width - 2, fold=True)]
    return lines + [line for action in task.actions for line in shell_lines(action.command, width)]


@click.command("tasks")
@click.option(
    "--all",
    "everyone",
    is_flag=True,
    help="Everyone's queue in the office, by person (quality coordinators and admins).",
)
@reader_option
@json_option
@pass_app
def tasks_command(app: AppContext, everyone: bool, username: str, as_json: bool) -> None:
    """What needs your action in the office now, most urgent first, with the command for each.

    Revisions to submit, review, approve or make effective and records to verify (only those
    your roles and segregation of duties let you act on), drafts the inbox filed in your name
    to adopt, periodic reviews due within 30 days or overdue (whoever may confirm them),
    quarantined inbox files (clerks, quality coordinators) and changed workflows to register
    (admins).  Overdue first, then the longest waiting; times in the office's zone.  A draft
    sent back to you says who sent it back, when and why, and offers `qms doc replace`.  Each
    task's commands are printed under it, wrapped with a trailing \\ so they paste as one.
    """
    from qms_engine.tasks import tasks_for

    result = tasks_for(app.runtime, app.office(), username, everyone=everyone)
    if as_json:
        print_json(result)
        return
    print_tasks(result)


COMMANDS = [tasks_command]
