"""The plugin API: every name a plugin author uses, in one module.

Import from here and nowhere else in ``qms_engine``: the engine's modules may move between
releases, these names will not (``tests/test_api.py`` pins them).  ``docs/plugins.md`` is the
guide; the hooks themselves are specified in :mod:`qms_engine.extension.hookspecs`.

- :data:`hookimpl` marks a hook implementation (``@hookimpl``, ``@hookimpl(wrapper=True)``,
  ``@hookimpl(tryfirst=True)`` … as pluggy documents them).
- Registering types: :class:`TypeRegistry` (handed to ``qms_register_types``),
  :class:`OfficeType`, :class:`DocumentTypeSpec` (a register kept as a day book:
  :class:`DayBook`), :class:`FeedbackForm` (a station's citizen
  feedback form; :data:`DEFAULT_PERSONAL`, the personal columns every form drops, to extend),
  and for an office with desks and a citizen charter :class:`Desk`, :class:`Service` and
  :class:`RecordClass` (``OfficeType.desks``, ``.services``, ``.record_classes``).
- A register's items that move (case property, files between desks): :class:`Custody`
  (``DocumentTypeSpec.custody``), and :func:`custody_commands`, their ``move|where|out``
  commands for ``qms_cli_commands``.
- Values handed to hooks: :class:`Submission`, :class:`CommittedEvent`.
- Ingestion steps (``qms_ingest_steps``): :class:`Step`, :class:`FunctionStep`,
  :class:`Intake`, :class:`IngestContext`, and the two ways a step stops a file:
  :class:`StepFailed` (quarantine it, with advice) and :class:`Transient` (try again later).
- Errors a plugin may raise: :class:`PluginError`, :class:`RuleViolation`.
- The words a person reads: :func:`N_` marks a title (a document type's, an office type's, a
  place's, desk's, service's or record class's, a required SOP's, a feedback label) so the
  catalog can hold its Hindi; the engine translates it where it shows it.  It returns its
  argument unchanged, so what the chain records is the plugin's own text.
"""

from __future__ import annotations

import pluggy

from qms_engine.errors import PluginError, RuleViolation
from qms_engine.i18n import N_
from qms_engine.ingest.steps import (
    FunctionStep,
    IngestContext,
    Intake,
    Step,
    StepFailed,
    Transient,
)
from qms_engine.registry.charter import Desk, RecordClass, Service
from qms_engine.registry.commands import custody_commands
from qms_engine.registry.custody import Custody
from qms_engine.registry.feedback_forms import DEFAULT_PERSONAL, FeedbackForm
from qms_engine.registry.hook_values import CommittedEvent, Submission
from qms_engine.registry.office_types import DayBook, DocumentTypeSpec, OfficeType, TypeRegistry
from qms_engine.registry.plugin_set import HOOK_PROJECT as _HOOK_PROJECT

hookimpl = pluggy.HookimplMarker(_HOOK_PROJECT)
"""Marks a function as the implementation of the hook of the same name."""

__all__ = [
    "DEFAULT_PERSONAL",
    "N_",
    "CommittedEvent",
    "Custody",
    "DayBook",
    "Desk",
    "DocumentTypeSpec",
    "FeedbackForm",
    "FunctionStep",
    "IngestContext",
    "Intake",
    "OfficeType",
    "PluginError",
    "RecordClass",
    "RuleViolation",
    "Service",
    "Step",
    "StepFailed",
    "Submission",
    "Transient",
    "TypeRegistry",
    "custody_commands",
    "hookimpl",
]
