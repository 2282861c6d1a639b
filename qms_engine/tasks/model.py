"""The shapes every task source shares: a task, the actions it offers, whose queue, and
the office a source reads (:class:`Scope`)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, select

from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.runtime import Runtime
from qms_engine.storage.models import ROLE_TABLE, USER_TABLE


@dataclass(frozen=True)
class Action:
    """One thing the person may do about a task, and the command that does it."""

    name: str
    command: str


@dataclass(frozen=True)
class Returned:
    """The transition that sent a revision back to its workflow's initial state (a rejection):
    who took it, when (UTC) and the comment they gave, for the author who corrects it."""

    by: str
    at: datetime
    transition: str
    comment: str


@dataclass(frozen=True)
class Task:
    """Something that waits for ``user``: what it is about, and what they may do about it."""

    user: str
    kind: str
    """``revision``, ``record``, ``adoption``, ``periodic_review``, ``quarantined``,
    ``workflow``, ``nonconformity``, ``nc_action``, ``audit_finding`` or ``feedback_erasure``."""
    subject: str
    """``NUMBER#REV`` for a revision, ``FOLDER/NAME`` for an inbox file, a workflow's name, an
    NC's number, ``NC#A1`` for an action, ``AUDIT#3`` for an audit's checklist item."""
    title: str
    state: str | None
    actions: tuple[Action, ...]
    since: datetime | None
    """When it started waiting (UTC)."""
    due: date | None = None
    overdue: bool = False
    returned: Returned | None = None
    """For a revision sent back to its author: by whom, when and why."""
    note: str = ""
    """What the person should know to act, when the title does not say it (who else must act,
    why nobody may take the next step)."""


@dataclass(frozen=True)
class TaskList:
    """The tasks of one person (or of everyone: ``user`` is None) in one office."""

    office: str
    timezone: str
    user: str | None
    tasks: list[Task]


@dataclass(frozen=True)
class Person:
    """Someone whose queue is wanted: their account and their roles in the office."""

    id: int
    username: str
    roles: frozenset[str]


def people_of(connection: Connection, office: OfficeRef, user_id: int | None) -> list[Person]:
    """Active people holding a role in the office (or only user ``user_id``, whatever its
    kind)."""
    statement = (
        select(USER_TABLE.c.id, USER_TABLE.c.username, ROLE_TABLE.c.role)
        .join(ROLE_TABLE, ROLE_TABLE.c.user_id == USER_TABLE.c.id)
        .where(ROLE_TABLE.c.office_id == office.id, USER_TABLE.c.active)
        .order_by(USER_TABLE.c.username)
    )
    if user_id is None:
        statement = statement.where(USER_TABLE.c.kind == "person")
    else:
        statement = statement.where(USER_TABLE.c.id == user_id)
    roles: dict[tuple[int, str], set[str]] = {}
    for user_id, name, role in connection.execute(statement):
        roles.setdefault((user_id, name), set()).add(role)
    return [Person(user_id, name, frozenset(held)) for (user_id, name), held in roles.items()]


@dataclass(frozen=True)
class Scope:
    """What every task source is handed: the office, read through one connection."""

    runtime: Runtime
    office: OfficeRef
    connection: Connection
    today: date

    def command(self, *words: str, office_wide: bool = False) -> str:
        """A ``qms`` command line, quoted for a shell; ``office_wide`` commands name the office
        (a document number already names its own)."""
        where = ("--office", self.office.code) if office_wide else ()
        return shlex.join(("qms", *where, *words))


TaskSource = Callable[[Scope, Sequence[Person]], Iterable[Task]]
