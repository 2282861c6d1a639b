"""Every hook a plugin can implement, grouped by when it is called.

A plugin is any importable module or object registered under the ``qms_engine.plugins`` entry
point group; it implements hooks with ``@hookimpl``, imported from :mod:`qms_engine.api`.  The
built-in office types and workflow folders are plugins registered exactly the same way.
``docs/plugins.md`` is the guide.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import pluggy

from qms_engine.registry.attribution import ListOf
from qms_engine.registry.plugin_set import HOOK_PROJECT

if TYPE_CHECKING:
    from qms_engine.ingest.steps import Step
    from qms_engine.registry.hook_values import CommittedEvent, Submission
    from qms_engine.registry.office_types import TypeRegistry

hookspec = pluggy.HookspecMarker(HOOK_PROJECT)

RESULTS = {
    "qms_cli_commands": ListOf((click.Command,), "click commands (click.Command)"),
    "qms_validate_submission": ListOf((str,), "problems (str)"),
    "qms_workflow_dirs": ListOf((str, Path), "folders (str or Path)"),
}
"""What an implementation of a hook whose result the engine reads may return; anything else is
a :class:`~qms_engine.errors.PluginError` naming the plugin (a string is not a list of problems)."""

LISTENERS = frozenset({"qms_event_committed"})
"""Notification hooks: a listener's exception is logged naming it and swallowed, so the others
still hear (see :meth:`~qms_engine.registry.plugin_set.PluginSet.notify`)."""


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

    :returns: a list of folders, ``str`` or ``Path`` (may be empty; anything else is a
        ``PluginError`` naming the plugin).  Workflow names must be unique across plugins.
    """


@hookspec
def qms_cli_commands() -> list[click.Command]:
    """Top-level commands the plugin adds to ``qms`` (``qms malkhana where ITEM``).

    Called once per ``qms`` run, and only when the command line must know every command: the
    root ``qms --help``, or a command name that is not a core one.  A core command, and its
    ``--help``, never load the plugins.  Import the engine inside the commands, not at the
    top of the module, so ``qms --help`` stays quick.

    :returns: a list of ``click.Command`` (groups too), each named; a name that is a core
        command's or another plugin's, anything but a list of click commands, or an
        exception, is a ``PluginError`` naming the plugin: none of its commands is added
        (the other plugins' are), ``qms --help`` says so on standard error and ``qms
        plugins`` says why.  A register whose items move
        (``DocumentTypeSpec.custody``) gets its ``move|where|out`` group from
        ``qms_engine.api.custody_commands(name, register=CODE, help=...)``.
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
        Anything but ``None`` or a list of strings (a bare string, say) is a ``PluginError``
        naming the plugin.  To refuse with one message and a hint instead, raise
        ``RuleViolation(message, hint=...)``: it reaches the user unchanged (exit code 5).
    """


@hookspec
def qms_ingest_steps(steps: list[Step]) -> None:
    """Add, remove or reorder steps of the watched-folder ingestion pipeline.

    Called once per ``qms watch`` / ``qms ingest`` run, before any file is processed.

    :param steps: the ordered list of steps (the defaults are in
        :mod:`qms_engine.ingest.pipeline`), to change in place; each is a ``Step`` with a
        ``name`` and ``run(intake, context)``, which may raise ``StepFailed`` (quarantine, with
        advice for the clerk) or ``Transient`` (retry later); these types are
        :mod:`qms_engine.api`'s (defined in :mod:`qms_engine.ingest.steps`).
        Keep "file the record" last: it commits.
    :returns: nothing.
    """


# --- After commit --------------------------------------------------------------------------------


@hookspec
def qms_event_committed(event: CommittedEvent) -> None:
    """React to an event that is now durably in the audit chain (notify, index, export …).

    Called after the transaction that wrote the event has committed, once per event, in chain
    order, all listeners in one pluggy call.  An exception from a listener is logged
    (``qms_engine`` logger) naming the plugin and goes no further: it cannot undo the event,
    the other listeners are still called, and a ``wrapper=True`` listener still sees them all.
    A wrapper's own exception is logged the same way, once.

    :param event: the committed event (office code, sequence number, action, subject, payload).
    :returns: nothing.
    """
