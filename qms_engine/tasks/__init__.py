"""What needs a person's action now (``qms tasks``), by their roles in an office.

Tasks are derived, never stored: each comes from the current state of the office, so a task is
gone the moment someone does it.  :data:`TASK_SOURCES` lists where they come from, one function
per kind of work; a new capability adds its own source to that list.
A source is handed everyone whose queue is wanted, so it reads the office once for a
coordinator's view of all queues (``--all``) as for one person's.

Nobody is shown work they may not do.  Revision and record tasks are derived from the workflow
definitions: a revision waiting in a state offers the transitions out of it whose rules
(:func:`~qms_engine.chain.authorisation.transition_problems`, the very function the write path
and the verifier apply: roles, ``by``, and segregation of duties through ``not_by``) let the
person take it; a periodic review due offers, the same way, the transition that confirms the
revision in force unchanged (``confirm_review``).  A revision the inbox filed for a person
is theirs to adopt before anyone may move it, and a workflow whose installed definition is not
the one registered blocks every transition until an admin registers it: both are tasks of
their own.  Nonconformities are offered the same way from their CAPA workflow (the NC's actions
count too: nobody is offered a close while one is open, nor a verification of their own
action), and each owner sees their open actions, overdue first.
"""

from __future__ import annotations

from qms_engine.tasks.documents import waiting_states
from qms_engine.tasks.model import Task, TaskList
from qms_engine.tasks.queue import TASK_SOURCES, tasks_for

__all__ = ["TASK_SOURCES", "Task", "TaskList", "tasks_for", "waiting_states"]
