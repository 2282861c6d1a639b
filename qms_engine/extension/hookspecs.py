"""Every hook a plugin can implement, grouped by when it is called.

A plugin is any importable module or object registered under the ``qms_engine.plugins`` entry
point group; it implements hooks with ``@qms_engine.hookimpl``.  The built-in office types and
workflow folders are plugins registered exactly the same way.  ``docs/plugins.md`` is the guide.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from qms_engine.ingest.steps import Step
    from qms_engine.registry.hook_values import CommittedEvent, Submission
    from qms_engine.registry.office_types import TypeRegistry

hookspec = pluggy.HookspecMarker("qms_engine")


# --- Start-up: what a plugin contributes ------------------------------------------------------


@hookspec
def qms_register_types(registry: TypeRegistry) -> None:
    """Add office types, their document and register types, and extra roles.

    Called once, when the plugin manager is built, before any command runs.

    :param registry: call ``registry.add_office_type(OfficeType(...))`` and
        ``registry.add_role(name, description)``; the registry checks what it is given and
        names the plugin in any error.
    :returns: nothing.
    """


@hookspec
def qms_workflow_dirs() -> list[Path]:
    """Folders holding declarative workflow definitions (``*.toml``).

    Called once, when the engine loads workflows; every definition is validated then.

    :returns: a list of folders (may be empty).  Workflow names must be unique across plugins.
    """


# --- Writing: before a new revision or record is stored ----------------------------------------


@hookspec
def qms_validate_submission(submission: Submission) -> list[str]:
    """Check a new revision or register record before anything is written.

    Called for every plugin, inside no transaction, after the engine's own checks (file
    present, non-empty, allowed type).

    :param submission: the office, document type, file facts and metadata of what is filed.
    :returns: a list of problems, each a sentence naming the field and what to do; an empty list
        (or ``None``) means the plugin has no objection.  Any problem refuses the submission.
    """


@hookspec
def qms_ingest_steps(steps: list[Step]) -> None:
    """Add, remove or reorder steps of the watched-folder ingestion pipeline.

    Called once per ``qms watch`` / ``qms ingest`` run, before any file is processed.

    :param steps: the ordered list of steps (see :mod:`qms_engine.ingest.pipeline`), to change
        in place; each has a ``name`` and ``run(intake, context)``, which may raise
        ``StepFailed`` (quarantine, with advice for the clerk) or ``Transient`` (retry later).
        Keep "file the record" last: it commits.
    :returns: nothing.
    """


# --- After commit --------------------------------------------------------------------------------


@hookspec
def qms_event_committed(event: CommittedEvent) -> None:
    """React to an event that is now durably in the audit chain (notify, index, export …).

    Called after the transaction that wrote the event has committed, once per event, in chain
    order.  An exception here is logged (``qms_engine`` logger) naming the plugin; it cannot
    undo the event, and the other listeners are still called.

    :param event: the committed event (office code, sequence number, action, subject, payload).
    :returns: nothing.
    """
