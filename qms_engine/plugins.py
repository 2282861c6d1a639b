"""Finding and calling plugins (pluggy).

Every plugin, built-in or third-party, comes in through the ``qms_engine.plugins`` entry point
group.  ``QMS_DISABLE_PLUGINS=name,name`` blocks plugins by entry-point name (for debugging a
broken install).  Each caller gets a fresh manager from :func:`get_plugin_manager`; there is no
import-time global, so tests can build one with exactly the plugins they want.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy

from qms_engine import hookspecs
from qms_engine.errors import PluginError
from qms_engine.registry import TypeRegistry
from qms_engine.workflow_definitions import (
    WorkflowDefinition,
    WorkflowDefinitionError,
    load_workflows,
)

ENTRY_POINT_GROUP = "qms_engine.plugins"
PROJECT_NAME = "qms_engine"


def get_plugin_manager(*, extra_plugins: Iterable[tuple[str, object]] = ()) -> pluggy.PluginManager:
    """A plugin manager with every installed plugin loaded (plus ``extra_plugins``, for tests)."""
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    blocked = {name.strip() for name in os.environ.get("QMS_DISABLE_PLUGINS", "").split(",")}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in blocked or manager.is_registered(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: {exc}",
                hint=f"reinstall it, or set QMS_DISABLE_PLUGINS={entry_point.name} to skip it",
            ) from exc
        _register(manager, entry_point.name, plugin)
    for name, plugin in extra_plugins:
        _register(manager, name, plugin)
    return manager


def _register(manager: pluggy.PluginManager, name: str, plugin: object) -> None:
    try:
        manager.register(plugin, name=name)
        manager.check_pending()
    except (ValueError, pluggy.PluginValidationError) as exc:
        manager.unregister(name=name)
        raise PluginError(f"plugin {name!r} is not a valid qms-engine plugin: {exc}") from exc


def hook_calls(
    manager: pluggy.PluginManager, hook_name: str
) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Each plugin's implementation of a hook, as (plugin name, call), in pluggy's call order
    (the most recently registered plugin first).

    Calling plugin by plugin lets an exception name the plugin that raised it.
    """
    for impl in reversed(getattr(manager.hook, hook_name).get_hookimpls()):
        name = manager.get_name(impl.plugin) or repr(impl.plugin)
        yield name, _naming_errors(name, hook_name, impl.function, impl.argnames)


def _naming_errors(
    plugin: str, hook_name: str, function: Callable[..., Any], argnames: Sequence[str]
) -> Callable[..., Any]:
    def call(**kwargs: Any) -> Any:
        try:
            return function(**{arg: kwargs[arg] for arg in argnames})
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f"plugin {plugin!r} raised in {hook_name}: {exc!r}") from exc

    return call


def call_each(
    manager: pluggy.PluginManager, hook_name: str, **kwargs: Any
) -> list[tuple[str, Any]]:
    """Call every implementation of a hook; returns (plugin name, result) pairs."""
    return [(name, call(**kwargs)) for name, call in hook_calls(manager, hook_name)]


@dataclass(frozen=True)
class PluginSet:
    """What the installed plugins add up to: types, roles and workflows, checked together."""

    manager: pluggy.PluginManager
    registry: TypeRegistry
    workflows: dict[str, WorkflowDefinition]

    @classmethod
    def load(cls, manager: pluggy.PluginManager | None = None) -> PluginSet:
        """Load every plugin's contributions and check that they fit together."""
        manager = manager or get_plugin_manager()
        registry = TypeRegistry()
        for name, call in hook_calls(manager, "qms_register_types"):
            registry.current_plugin = name
            call(registry=registry)
        folders: list[Path] = []
        for _name, result in call_each(manager, "qms_workflow_dirs"):
            folders.extend(Path(folder) for folder in result or ())
        try:
            workflows = load_workflows(folders, registry.roles)
        except WorkflowDefinitionError as exc:
            raise PluginError(f"invalid workflow definition: {exc}") from exc
        plugins = cls(manager=manager, registry=registry, workflows=workflows)
        plugins._check_workflows_exist()
        return plugins

    def _check_workflows_exist(self) -> None:
        for office_type in self.registry:
            for spec in office_type.document_types:
                if spec.workflow not in self.workflows:
                    known = ", ".join(sorted(self.workflows)) or "none"
                    raise PluginError(
                        f"plugin {self.registry.owner(office_type.code)!r}: document type "
                        f"{office_type.code}/{spec.code} uses unknown workflow {spec.workflow!r} "
                        f"(known: {known})"
                    )
