"""Whose queue: every task source read for the people asked about, most urgent first."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, select

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import local_today
from qms_engine.errors import PermissionDenied
from qms_engine.i18n import _
from qms_engine.people.permissions import find_user
from qms_engine.rules.roles import ADMIN, QUALITY_COORDINATOR
from qms_engine.runtime import Runtime
from qms_engine.storage.models import USER_TABLE
from qms_engine.tasks.capa import finding_tasks, nc_action_tasks, nc_tasks
from qms_engine.tasks.documents import adoption_tasks, review_tasks, revision_tasks, workflow_tasks
from qms_engine.tasks.feedback import erasure_tasks
from qms_engine.tasks.inbox import inbox_tasks
from qms_engine.tasks.model import Person, Scope, Task, TaskList, TaskSource, people_of

TASK_SOURCES: tuple[TaskSource, ...] = (
    revision_tasks,
    adoption_tasks,
    review_tasks,
    inbox_tasks,
    workflow_tasks,
    nc_tasks,
    nc_action_tasks,
    finding_tasks,
    erasure_tasks,
)
"""Where tasks come from: one function per kind of work, each handed the office and the people
whose queues are wanted."""

COORDINATORS = frozenset({QUALITY_COORDINATOR, ADMIN})
"""Who may see everyone's queue (``qms tasks --all``)."""


def _asker(connection: Connection, office: OfficeRef, username: str) -> Person:
    """The person asking (their name in any letter case), with their roles in the office
    (none: an empty queue)."""
    user_id, username = find_user(connection, username)
    active = connection.execute(select(USER_TABLE.c.active).where(USER_TABLE.c.id == user_id))
    if not active.scalar_one():
        raise PermissionDenied(
            _("user {username} is deactivated and cannot act").format(username=repr(username))
        )
    found = people_of(connection, office, user_id)
    return found[0] if found else Person(user_id, username, frozenset())


def _urgency(task: Task) -> tuple[bool, datetime, str]:
    """Overdue first, then the longest waiting; undated tasks after dated ones."""
    since = task.since or datetime.max.replace(tzinfo=UTC)
    return (not task.overdue, since, task.subject)


def tasks_for(
    runtime: Runtime,
    office: OfficeRef,
    username: str,
    *,
    everyone: bool = False,
    today: date | None = None,
) -> TaskList:
    """What needs ``username``'s action in ``office`` now, most urgent first; ``everyone``: the
    queue of every active person there, by person (only for a quality coordinator or admin)."""
    today = today or local_today(office.timezone)
    with runtime.engine.connect() as connection:
        asker = _asker(connection, office, username)
        if everyone and not asker.roles & COORDINATORS:
            raise PermissionDenied(
                _(
                    "{username} may not see everyone's tasks in {code}: needs role {coordinators}"
                ).format(
                    username=repr(asker.username),
                    code=office.code,
                    coordinators=" or ".join(sorted(COORDINATORS)),
                ),
                hint=_("`qms tasks` without --all shows your own"),
            )
        people = people_of(connection, office, None) if everyone else [asker]
        scope = Scope(runtime, office, connection, today)
        tasks = [task for source in TASK_SOURCES for task in source(scope, people)]
    tasks.sort(key=_urgency)
    if everyone:
        tasks.sort(key=lambda task: task.user)
    return TaskList(office.code, office.timezone, None if everyone else asker.username, tasks)
