"""Plugins are found through the ``qms_engine.plugins`` entry point and checked when loaded.

Third-party plugins are real installed distributions: each test writes a package and its
``.dist-info`` (with ``entry_points.txt``) into a temporary folder on ``sys.path``, exactly what
``pip install`` leaves behind.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qms_engine.api import hookimpl
from qms_engine.documents.master_list import document_detail
from qms_engine.documents.revisions import create_document
from qms_engine.errors import PluginError
from qms_engine.extension.manager import get_plugin_manager, load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.registry.hook_values import CommittedEvent
from qms_engine.registry.office_types import DocumentTypeSpec, OfficeType, TypeRegistry
from qms_engine.runtime import Runtime
from qms_engine.testing import TEST_PASSPHRASE, TestOffice

if TYPE_CHECKING:
    from conftest import Desk

COLLECTORATE = '''
"""A collectorate office type, as a third party would ship it."""

from qms_engine.api import hookimpl
from qms_engine.api import DocumentTypeSpec, OfficeType
from qms_engine.extension.manager import load_plugins


@hookimpl
def qms_register_types(registry):
    registry.add_office_type(
        OfficeType(
            code="collectorate_test",
            title="Collectorate (test)",
            document_types=(
                DocumentTypeSpec(code="SOP", title="Collectorate SOP", workflow="sop-revision"),
            ),
        )
    )
'''


@pytest.fixture
def install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str, str], None]]:
    """``install(entry_point_name, module_name, source)``: a plugin distribution on sys.path."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def add(name: str, module: str, source: str) -> None:
        package = site / module
        package.mkdir()
        (package / "__init__.py").write_text(textwrap.dedent(source), encoding="utf-8")
        dist_info = site / f"{module}-0.1.dist-info"
        dist_info.mkdir()
        distribution = module.replace("_", "-")
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n", encoding="utf-8"
        )
        (dist_info / "entry_points.txt").write_text(
            f"[qms_engine.plugins]\n{name} = {module}\n", encoding="utf-8"
        )
        modules.append(module)
        importlib.invalidate_caches()

    yield add
    for module in modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()


def test_builtin_plugins_come_through_the_entry_point() -> None:
    """The default workflows and the police station are ordinary entry-point plugins."""
    names = {name for name, _plugin in get_plugin_manager().list_name_plugin()}
    assert {"default_workflows", "police_station"} <= names


def test_third_party_plugin_is_found_and_usable(
    install: Callable[[str, str, str], None], tmp_path: Path
) -> None:
    """An installed collectorate plugin is loaded and a workspace of its office type can be made."""
    install("collectorate_test", "qms_collectorate_test", COLLECTORATE)
    manager = get_plugin_manager()
    assert "collectorate_test" in {name for name, _ in manager.list_name_plugin()}
    result = init_workspace(
        tmp_path / "collectorate",
        plugins=load_plugins(),
        office_type="collectorate_test",
        office_code="DC-TEST",
        office_name="जिलाधिकारी कार्यालय",
        admin="admin",
        admin_name="Collectorate Admin",
        admin_passphrase=TEST_PASSPHRASE,
        office_passphrase=TEST_PASSPHRASE,
    )
    runtime = Runtime.open(result.workspace, load_plugins())
    try:
        office = runtime.office()
        owner = runtime.plugins.registry.owner("collectorate_test")
    finally:
        runtime.close()
    assert (
        office.code,
        office.office_type,
        owner,
    ) == ("DC-TEST", "collectorate_test", "collectorate_test")


def test_plugin_that_fails_to_import_is_named(install: Callable[[str, str, str], None]) -> None:
    """A plugin whose import raises is a PluginError naming it, with a hint to disable it."""
    install("broken_test", "qms_broken_test", "raise ImportError('needs the lxml package')\n")
    with pytest.raises(PluginError, match=r"plugin 'broken_test' .* failed to load") as failed:
        get_plugin_manager()
    assert "QMS_DISABLE_PLUGINS=broken_test" in (failed.value.hint or "")


def test_disabled_broken_plugin_is_skipped(
    install: Callable[[str, str, str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``QMS_DISABLE_PLUGINS`` lets the engine start despite a broken plugin."""
    install("broken_test", "qms_broken_test", "raise ImportError('needs the lxml package')\n")
    monkeypatch.setenv("QMS_DISABLE_PLUGINS", "broken_test")
    names = {name for name, _plugin in get_plugin_manager().list_name_plugin()}
    assert "broken_test" not in names
    assert "police_station" in names


def test_disabling_police_station_removes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """``QMS_DISABLE_PLUGINS=police_station`` removes the plugin and its office type."""
    monkeypatch.setenv("QMS_DISABLE_PLUGINS", "police_station")
    plugins = load_plugins()
    names = {name for name, _plugin in plugins.manager.list_name_plugin()}
    assert ("police_station" in names, "police_station" in plugins.registry.office_types) == (
        False,
        False,
    )
    assert "sop-revision" in plugins.workflows


class RaisingPlugin:
    """A plugin whose registration hook crashes."""

    @hookimpl
    def qms_register_types(self, registry: TypeRegistry) -> None:
        """Fail the way a buggy plugin does."""
        raise KeyError("office_code")


def test_plugin_whose_hook_raises_is_named_with_the_hook() -> None:
    """An exception inside a hook becomes a PluginError naming the plugin and the hook."""
    manager = get_plugin_manager(extra_plugins=[("raising_test", RaisingPlugin())])
    with pytest.raises(PluginError, match="plugin 'raising_test' raised in qms_register_types"):
        load_plugins(manager)


class UnknownWorkflowPlugin:
    """A plugin registering a document type whose workflow nobody defines."""

    @hookimpl
    def qms_register_types(self, registry: TypeRegistry) -> None:
        """Register an SP office whose SOPs use a missing workflow."""
        registry.add_office_type(
            OfficeType(
                code="sp_office_test",
                title="SP office",
                document_types=(
                    DocumentTypeSpec(code="SOP", title="SP SOP", workflow="sp-approval"),
                ),
            )
        )


def test_document_type_with_unknown_workflow_is_refused() -> None:
    """A document type naming a workflow that is not loaded is a PluginError naming both."""
    manager = get_plugin_manager(extra_plugins=[("sp_test", UnknownWorkflowPlugin())])
    with pytest.raises(
        PluginError, match="plugin 'sp_test': document type sp_office_test/SOP uses unknown"
    ) as refused:
        load_plugins(manager)
    assert "'sp-approval'" in str(refused.value)


class MisspeltHookPlugin:
    """A plugin implementing a hook that does not exist."""

    @hookimpl
    def qms_not_a_hook(self) -> None:
        """Nobody calls this."""


class WrongArgumentPlugin:
    """A plugin whose hook asks for an argument the hook does not have."""

    @hookimpl
    def qms_register_types(self, registry: TypeRegistry, office: str) -> None:
        """Never called."""


@pytest.mark.parametrize(
    ("plugin", "detail"),
    [(MisspeltHookPlugin(), "qms_not_a_hook"), (WrongArgumentPlugin(), "office")],
)
def test_hook_without_matching_spec_is_refused(plugin: object, detail: str) -> None:
    """A hook implementation that matches no hook specification is a PluginError naming it."""
    with pytest.raises(
        PluginError, match="plugin 'odd_test' is not a valid qms-engine plugin"
    ) as e:
        get_plugin_manager(extra_plugins=[("odd_test", plugin)])
    assert detail in str(e.value)


def test_fresh_manager_has_no_leftovers_from_extra_plugins() -> None:
    """Each call builds a fresh manager: a plugin added to one is absent from the next."""
    get_plugin_manager(extra_plugins=[("raising_test", RaisingPlugin())])
    names = {name for name, _plugin in get_plugin_manager().list_name_plugin()}
    assert "raising_test" not in names


class Listener:
    """A plugin that records every committed event, or fails on each one."""

    def __init__(self, fail: bool = False) -> None:
        self.heard: list[tuple[int, str]] = []
        self.fail = fail

    @hookimpl
    def qms_event_committed(self, event: CommittedEvent) -> None:
        """Record the event, then fail if asked to."""
        self.heard.append((event.seq, event.action))
        if self.fail:
            raise ConnectionError("SMS gateway unreachable")


def file_sop_with(office: TestOffice, desk: Desk, *listeners: tuple[str, Listener]) -> str:
    """Create an SOP through a runtime that has ``listeners`` registered; returns its number."""
    manager = get_plugin_manager(extra_plugins=listeners)
    runtime = Runtime.open(office.runtime.workspace, load_plugins(manager))
    try:
        return create_document(
            runtime,
            office.office,
            actor=office.signers["author"],
            type_code="SOP",
            title="SOP",
            path=desk.docx(),
        ).number
    finally:
        runtime.close()


def test_listener_hears_each_committed_event_in_order(qms_office: TestOffice, desk: Desk) -> None:
    """``qms_event_committed`` is called once per event, in chain order, after the commit."""
    listener = Listener()
    number = file_sop_with(qms_office, desk, ("listener_test", listener))
    history = document_detail(qms_office.runtime, number).history
    assert [(e.seq, e.action) for e in history] == listener.heard


def test_failing_listener_neither_undoes_nor_hides_the_write(
    qms_office: TestOffice, desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that raises is logged by name; the SOP stays filed and other listeners hear."""
    other = Listener()
    number = file_sop_with(
        qms_office, desk, ("failing_test", Listener(fail=True)), ("other_test", other)
    )
    assert [r.state for r in document_detail(qms_office.runtime, number).revisions] == ["draft"]
    assert len(other.heard) == 2
    assert "failing_test" in caplog.text
    assert "SMS gateway unreachable" in caplog.text
