"""Tasks from the inbox: quarantined files, for a clerk to fix and put back."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence

from qms_engine.ingest.inbox import NO_OFFICE, Quarantined, quarantined_files
from qms_engine.rules.roles import CLERK, QUALITY_COORDINATOR
from qms_engine.tasks.model import Action, Person, Scope, Task

_INBOX_KEEPERS = frozenset({CLERK, QUALITY_COORDINATOR})


def _put_back(scope: Scope, item: Quarantined) -> Action:
    """Once the file is fixed: ``qms inbox retry``, or, for a file that fits no register or
    no office (which retry leaves alone), a move into the right register folder, from the
    workspace's folder (the inbox lies inside it), so that no path is as long as both."""
    if item.retriable and item.office != NO_OFFICE:
        return Action("retry", scope.command("inbox", "retry", item.path.name, office_wide=True))
    workspace = scope.runtime.workspace
    here = shlex.join(("cd", str(workspace.root)))
    source = item.path.relative_to(workspace.root)
    folder = (workspace.inbox_dir / scope.office.code).relative_to(workspace.root)
    return Action("move", f"{here} && {shlex.join(('mv', str(source), f'{folder}/REGISTER/'))}")


def inbox_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """Files the office's inbox quarantined (and, for the workspace's own office, those that
    were dropped outside every office's folder): a clerk fixes each and puts it back."""
    keepers = [person for person in people if person.roles & _INBOX_KEEPERS]
    if not keepers:
        return
    workspace = scope.runtime.workspace
    items = quarantined_files(workspace, scope.office.code)
    if scope.office.code == workspace.office_code:
        items += quarantined_files(workspace, NO_OFFICE)
    for item in items:
        action = _put_back(scope, item)
        for person in keepers:
            yield Task(
                person.username,
                "quarantined",
                f"{item.folder}/{item.path.name}",
                item.problem,
                None,
                (action,),
                item.since,
            )
