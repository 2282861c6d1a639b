"""`qms tasks`: what needs a person's action now in an office, and the command for each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    json_option,
    pass_app,
    print_json,
    print_table,
    reader_option,
    when,
)

if TYPE_CHECKING:
    from qms_engine.tasks import Task, TaskList


def _rows(task: Task, timezone: str, everyone: bool, with_due: bool) -> list[list[str]]:
    """One row per action; the task itself is described on the first."""
    described = [when(task.since, timezone), "\n".join(filter(None, (task.kind, task.state)))]
    described.append(f"{task.subject}\n{task.title}")
    if with_due:
        overdue = "OVERDUE " if task.overdue else ""
        described.insert(0, f"{overdue}{task.due}" if task.due else "")
    if everyone:
        described.insert(0, task.user)
    return [
        [*(described if n == 0 else [""] * len(described)), action.name, action.command]
        for n, action in enumerate(task.actions)
    ]


def print_tasks(result: TaskList) -> None:
    """A queue as a table (one row per action, with its command), or a sentence when empty."""
    everyone = result.user is None
    whose = "anyone's" if everyone else "your"
    with_due = any(task.due for task in result.tasks)
    columns = [
        *(["Who"] if everyone else []),
        *(["Due"] if with_due else []),
        "Since",
        "Kind",
        "What",  # never folded: a document number stays whole
        "Action",
        "Command",
    ]
    print_table(
        f"Everyone's tasks in {result.office}"
        if everyone
        else f"Tasks for {result.user} in {result.office}",
        columns,
        [row for task in result.tasks for row in _rows(task, result.timezone, everyone, with_due)],
        empty=f"Nothing needs {whose} action in {result.office}.",
    )


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
    to adopt, periodic reviews due within 30 days or overdue (quality coordinators),
    quarantined inbox files (clerks, quality coordinators) and changed workflows to register
    (admins).  Overdue first, then the longest waiting; times in the office's zone.
    """
    from qms_engine.tasks import tasks_for

    result = tasks_for(app.runtime, app.office(), username, everyone=everyone)
    if as_json:
        print_json(result)
        return
    print_tasks(result)


COMMANDS = [tasks_command]
