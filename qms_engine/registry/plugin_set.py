"""What the installed plugins add up to, and calling their hooks through pluggy.

Hooks are always called through the plugin manager, so ``@hookimpl(wrapper=True)``,
``tryfirst``/``trylast`` and ``firstresult`` behave as pluggy documents them.  When an
implementation raises, the error names the plugin it came from (each implementation is
attributed when the plugins are loaded, see :mod:`.attribution`), so an office knows which
plugin to fix or disable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy

from qms_engine.chain.canonical import canonical_sha256
from qms_engine.errors import PluginError, RuleViolation, known_value
from qms_engine.registry.attribution import raised_by
from qms_engine.registry.office_types import TypeRegistry
from qms_engine.rules.workflows import WorkflowDefinition

HOOK_PROJECT = "qms_engine"
"""The pluggy project name: markers and the manager must agree on it."""

UNKNOWN_PLUGIN = "<unknown plugin>"

log = logging.getLogger("qms_engine")


def call_hook(manager: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Any:
    """Call a hook through pluggy.  Returns what pluggy returns (a list, or one result for
    ``firstresult`` hooks).

    - A :class:`RuleViolation` a plugin raises passes unchanged: it is a refusal the plugin API
      lets a plugin give (exit code 5, with the plugin's own hint).
    - A :class:`PluginError` gets the plugin's name in front, unless its message already names
      it (the registry's own errors do).
    - Any other exception becomes a :class:`PluginError` naming the plugin and the hook.
    """
    try:
        return getattr(manager.hook, hook_name)(**kwargs)
    except RuleViolation:
        raise
    except PluginError as error:
        plugin = raised_by(error)
        if plugin is None or f"plugin {plugin!r}" in str(error):
            raise
        raise PluginError(f"plugin {plugin!r}: {error}", hint=error.hint) from error
    except Exception as error:
        plugin = raised_by(error) or UNKNOWN_PLUGIN
        raise PluginError(f"plugin {plugin!r} raised in {hook_name}: {error!r}") from error


@dataclass(frozen=True)
class PluginSet:
    """The loaded plugins: their manager, the types and roles they registered, their workflows
    (checked together when loaded, by :func:`qms_engine.extension.manager.load_plugins`)."""

    manager: pluggy.PluginManager
    registry: TypeRegistry
    workflows: Mapping[str, WorkflowDefinition]

    def workflow_digest(self, name: str) -> str:
        """The canonical SHA-256 of installed workflow ``name``'s definition (computed once):
        what its ``workflow.registered`` event records."""
        digests: dict[str, str] = self.__dict__.setdefault("_digests", {})
        if name not in digests:
            digests[name] = canonical_sha256(self.workflows[name].record())
        return digests[name]

    def in_force_states(self) -> dict[str, str]:
        """Each workflow's in-force state (the one whose revision is current), by workflow."""
        return {
            name: workflow.in_force_state
            for name, workflow in self.workflows.items()
            if workflow.in_force_state is not None
        }

    def document_filters(
        self, office_types: Iterable[str], where: str, type_code: str | None, state: str | None
    ) -> tuple[str | None, str | None]:
        """A document type and a state to filter by, as the plugins spell them (typed in any
        letter case: ``sop``, ``Effective``); else InvalidInput naming ``where`` and listing
        those there are: the types of ``office_types``, the states of their workflows (of
        ``type_code``'s alone, when given).  The one check of these filters (``doc list``,
        ``search``), so that a typo is never taken for an empty result."""
        types = self.registry.office_types
        specs = [
            spec for code in office_types if code in types for spec in types[code].document_types
        ]
        if type_code is not None:
            codes = {spec.code for spec in specs}
            type_code = known_value("document type", type_code, codes, where, any_case=True)
            specs = [spec for spec in specs if spec.code == type_code]
        if state is not None:
            states = {name for spec in specs for name in self.workflows[spec.workflow].states}
            scope = f"the workflow of {type_code}" if type_code else f"the workflows of {where}"
            state = known_value("state", state, states, scope, any_case=True)
        return type_code, state

    def call(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a hook (see :func:`call_hook`)."""
        return call_hook(self.manager, hook_name, **kwargs)

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call a notification hook (``qms_event_committed``) once, through pluggy.

        Each listener logs and swallows its own exception (its implementation was wrapped to,
        when the plugins were loaded), so every listener hears and every wrapper sees them all.
        An exception that still comes out is a ``wrapper=True`` listener's: it is logged once,
        naming that plugin, and goes no further; what is being announced has happened already.
        """
        try:
            getattr(self.manager.hook, hook_name)(**kwargs)
        except Exception as error:
            plugin = raised_by(error) or UNKNOWN_PLUGIN
            log.error("listener %s failed in %s: %r", plugin, hook_name, error)
