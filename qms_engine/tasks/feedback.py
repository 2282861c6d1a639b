"""Tasks from citizen feedback: comments kept longer than the form's ``keep_days``, for a
quality coordinator to erase (``qms feedback erase``), so that retention does not depend on
someone remembering it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from qms_engine.feedback.retention import erasable, latest_allowed
from qms_engine.i18n import _
from qms_engine.rules.roles import QUALITY_COORDINATOR
from qms_engine.tasks.model import Action, Person, Scope, Task


def erasure_tasks(scope: Scope, people: Sequence[Person]) -> Iterable[Task]:
    """The office's responses whose comments have been kept past the form's ``keep_days``:
    one overdue task for each of its quality coordinators, with the erase command."""
    coordinators = [person for person in people if QUALITY_COORDINATOR in person.roles]
    office_type = scope.runtime.plugins.registry.office_type(scope.office.office_type)
    if not coordinators or office_type.feedback is None:
        return
    before = latest_allowed(office_type.feedback, scope.office, scope.today)
    rows = scope.connection.execute(erasable(scope.office, before)).all()
    if not rows:
        return
    title = _("{count} citizens' comment(s) kept longer than {keep_days} days: erase them").format(
        count=len(rows), keep_days=office_type.feedback.keep_days
    )
    for person in coordinators:
        command = scope.command(
            "feedback", "erase", "--before", before.isoformat(), "--as", person.username
        )
        yield Task(
            person.username,
            "feedback_erasure",
            f"{scope.office.code}/FEEDBACK",
            title,
            None,
            (Action("erase", command),),
            rows[0].responded_at,
            before,
            True,
        )
