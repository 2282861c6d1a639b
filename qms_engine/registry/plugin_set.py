"""What the installed plugins add up to, and calling their hooks through pluggy.

Hooks are always called through the plugin manager, so ``@hookimpl(wrapper=True)``,
``tryfirst``/``trylast`` and ``firstresult`` behave as pluggy documents them.  When an
implementation raises, the error names the plugin it came from (found from the traceback), so
an office knows which plugin to fix or disable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pluggy

from qms_engine.errors import PluginError
from qms_engine.registry.frames import owner_of
from qms_engine.registry.office_types import TypeRegistry
from qms_engine.rules.workflows import WorkflowDefinition

HOOK_PROJECT = "qms_engine"
"""The pluggy project name: markers and the manager must agree on it."""

log = logging.getLogger("qms_engine")


def _raising_plugin(
    manager: pluggy.PluginManager, hook_name: str, traceback: TracebackType | None
) -> object | None:
    """The plugin whose implementation raised: the innermost implementation frame (a wrapper
    that let the error pass through sits further out)."""
    frames = []
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    impls = getattr(manager.hook, hook_name).get_hookimpls()
    return owner_of(frames, ((impl.function, impl.plugin) for impl in impls))


def _name(manager: pluggy.PluginManager, plugin: object | None) -> str:
    return (manager.get_name(plugin) if plugin is not None else None) or "<unknown plugin>"


def call_hook(manager: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Any:
    """Call a hook through pluggy; an exception from a plugin becomes a :class:`PluginError`
    that names the plugin.  Returns what pluggy returns (a list, or one result for
    ``firstresult`` hooks)."""
    try:
        return getattr(manager.hook, hook_name)(**kwargs)
    except PluginError:
        raise
    except Exception as exc:
        plugin = _name(manager, _raising_plugin(manager, hook_name, exc.__traceback__))
        raise PluginError(f"plugin {plugin!r} raised in {hook_name}: {exc!r}") from exc


@dataclass(frozen=True)
class PluginSet:
    """The loaded plugins: their manager, the types and roles they registered, their workflows
    (checked together when loaded, by :func:`qms_engine.extension.manager.load_plugins`)."""

    manager: pluggy.PluginManager
    registry: TypeRegistry
    workflows: Mapping[str, WorkflowDefinition]

    def in_force_states(self) -> dict[str, str]:
        """Each workflow's in-force state (the one whose revision is current), by workflow."""
        return {
            name: workflow.in_force_state
            for name, workflow in self.workflows.items()
            if workflow.in_force_state is not None
        }

    def call(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a hook (see :func:`call_hook`)."""
        return call_hook(self.manager, hook_name, **kwargs)

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call a notification hook whose listeners must all hear, even when one fails.

        Each failure is logged naming its plugin; the listeners that had not been called yet
        are then called through pluggy again, without the one that failed.
        """
        skipped: list[object] = []
        while True:
            try:
                self.manager.subset_hook_caller(hook_name, remove_plugins=skipped)(**kwargs)
                return
            except Exception as exc:
                failing = _raising_plugin(self.manager, hook_name, exc.__traceback__)
                log.error(
                    "listener %s failed in %s: %r", _name(self.manager, failing), hook_name, exc
                )
                impls = getattr(self.manager.hook, hook_name).get_hookimpls()
                order = [impl.plugin for impl in reversed(impls) if impl.plugin not in skipped]
                if failing not in order:
                    return
                skipped.extend(order[: order.index(failing) + 1])
