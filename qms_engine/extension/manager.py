"""Finding and loading plugins (pluggy): the host side of the plugin API.

Every plugin, built-in or third-party, comes in through the ``qms_engine.plugins`` entry point
group.  ``QMS_DISABLE_PLUGINS=name,name`` blocks plugins by entry-point name (for debugging a
broken install).  Each caller gets a fresh manager from :func:`get_plugin_manager`; there is no
import-time global, so tests can build one with exactly the plugins they want.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from pathlib import Path

import pluggy

from qms_engine.chain import events
from qms_engine.errors import PluginError
from qms_engine.extension import hookspecs
from qms_engine.registry.attribution import attribute_hooks
from qms_engine.registry.office_types import TypeRegistry
from qms_engine.registry.plugin_set import HOOK_PROJECT, PluginSet, call_hook
from qms_engine.rules.workflows import (
    NONCONFORMITY,
    REVISION,
    WorkflowDefinition,
    WorkflowDefinitionError,
    load_workflows,
)

ENTRY_POINT_GROUP = "qms_engine.plugins"


def get_plugin_manager(*, extra_plugins: Iterable[tuple[str, object]] = ()) -> pluggy.PluginManager:
    """A plugin manager with every installed plugin loaded (plus ``extra_plugins``, for tests)."""
    manager = pluggy.PluginManager(HOOK_PROJECT)
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


def load_plugins(manager: pluggy.PluginManager | None = None) -> PluginSet:
    """Load every plugin's contributions (types, roles, workflows) and check they fit together.

    First every hook implementation registered with ``manager`` is wrapped to name its plugin
    and check what it returns (:func:`~qms_engine.registry.attribution.attribute_hooks`);
    plugins registered with ``manager`` later are not.
    """
    manager = manager or get_plugin_manager()
    attribute_hooks(manager, results=hookspecs.RESULTS, listeners=hookspecs.LISTENERS)
    registry = TypeRegistry()
    call_hook(manager, "qms_register_types", registry=registry)
    folders = [
        Path(folder)
        for result in call_hook(manager, "qms_workflow_dirs")
        for folder in result or ()
    ]
    try:
        workflows = load_workflows(folders, registry.roles)
    except WorkflowDefinitionError as exc:
        raise PluginError(f"invalid workflow definition: {exc}") from exc
    _check_workflows_exist(registry, workflows)
    _check_meanings(workflows)
    return PluginSet(manager=manager, registry=registry, workflows=workflows)


def _check_meanings(workflows: Mapping[str, WorkflowDefinition]) -> None:
    """A transition's event is named by its meaning; it must not be taken for a fixed kind
    (a meaning of "filed" would record ``document.revision.filed``, a record filing)."""
    for workflow in workflows.values():
        for transition in workflow.transitions.values():
            action = events.workflow_transition(workflow.subject, transition.meaning).action
            if action in events.FIXED_KINDS:
                raise PluginError(
                    f"invalid workflow definition: {workflow.source}: "
                    f"transitions.{transition.name}.meaning: {transition.meaning!r} would be "
                    f"recorded as {action!r}, which is another kind of event: choose another "
                    "meaning"
                )


def _check_workflows_exist(
    registry: TypeRegistry, workflows: Mapping[str, WorkflowDefinition]
) -> None:
    for office_type in registry:
        uses = [
            (f"document type {office_type.code}/{spec.code}", spec.workflow, REVISION)
            for spec in office_type.document_types
        ]
        uses.append(
            (
                f"office type {office_type.code} (nc_workflow)",
                office_type.nc_workflow,
                NONCONFORMITY,
            )
        )
        for what, name, subject in uses:
            plugin = registry.owner(office_type.code)
            if name not in workflows:
                known = ", ".join(sorted(workflows)) or "none"
                raise PluginError(
                    f"plugin {plugin!r}: {what} uses unknown workflow {name!r} (known: {known})"
                )
            if workflows[name].subject != subject:
                raise PluginError(
                    f"plugin {plugin!r}: {what} uses workflow {name!r}, which moves "
                    f"{workflows[name].subject}s, not {subject}s"
                )
