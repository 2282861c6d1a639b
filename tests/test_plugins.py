"""Plugins are found through the ``qms_engine.plugins`` entry point and checked when loaded.

Third-party plugins are real installed distributions: each test writes a package and its
``.dist-info`` (with ``entry_points.txt``) into a temporary folder on ``sys.path``, exactly what
``pip install`` leaves behind.
"""

from __future__ import annotations

import functools
import importlib
import sys
import textwrap
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from qms_engine.api import hookimpl
from qms_engine.audit.verify import verify_office
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.documents.master_list import document_detail, list_documents
from qms_engine.documents.revisions import create_document, export_revision, revise_document
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import PluginError, RuleViolation
from qms_engine.extension.manager import get_plugin_manager, load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import unlock
from qms_engine.registry.hook_values import CommittedEvent, Submission
from qms_engine.registry.office_types import DocumentTypeSpec, OfficeType, TypeRegistry
from qms_engine.runtime import Runtime
from qms_engine.testing import TEST_PASSPHRASE, TestOffice, staff_member

if TYPE_CHECKING:
    from tests.conftest import Desk

COLLECTORATE = '''
"""A collectorate office type, as a third party would ship it."""

from qms_engine.api import DocumentTypeSpec, OfficeType, hookimpl


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


def file_sop_with(office: TestOffice, desk: Desk, *plugins: tuple[str, object]) -> str:
    """Create an SOP "SOP" through a runtime that also has ``plugins`` registered; returns its
    number."""
    manager = get_plugin_manager(extra_plugins=plugins)
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


@pytest.mark.parametrize("failing_first", [True, False], ids=["failing-called-first", "last"])
def test_failing_listener_neither_undoes_nor_hides_the_write(
    qms_office: TestOffice, desk: Desk, caplog: pytest.LogCaptureFixture, failing_first: bool
) -> None:
    """A listener that raises is logged by name; the SOP stays filed and the other listeners
    hear every event, whether they are called before or after the failing one."""
    failing, other = ("failing_test", Listener(fail=True)), ("other_test", Listener())
    # pluggy calls the most recently registered plugin first
    listeners = (other, failing) if failing_first else (failing, other)
    number = file_sop_with(qms_office, desk, *listeners)
    assert [r.state for r in document_detail(qms_office.runtime, number).revisions] == ["draft"]
    assert len(other[1].heard) == 2
    assert len(failing[1].heard) == 2
    assert caplog.text.count("listener failing_test failed") == 2
    assert "other_test failed" not in caplog.text
    assert "SMS gateway unreachable" in caplog.text


class Objection:
    """A plugin that objects to every submission."""

    @hookimpl
    def qms_validate_submission(self, submission: Submission) -> list[str]:
        """Object, naming the title."""
        return [f"{submission.title}: the inner plugin objects"]


class WrappingReviewer:
    """A ``wrapper=True`` implementation: runs around every other validator."""

    def __init__(self) -> None:
        self.saw: list[list[str]] = []

    @hookimpl(wrapper=True)
    def qms_validate_submission(
        self, submission: Submission
    ) -> Generator[None, list[list[str]], list[list[str]]]:
        """Let the others run, look at their answers, add one of its own."""
        results = yield
        self.saw.append([problem for result in results for problem in result or ()])
        return [*results, ["the wrapper adds its own objection"]]


def test_wrapper_hook_wraps_the_other_implementations(qms_office: TestOffice, desk: Desk) -> None:
    """A ``@hookimpl(wrapper=True)`` validator sees every other plugin's answer and can add to
    it: hooks are called through pluggy, not plugin by plugin."""
    wrapper = WrappingReviewer()
    with pytest.raises(RuleViolation) as refused:
        file_sop_with(qms_office, desk, ("wrapper_test", wrapper), ("inner", Objection()))
    assert wrapper.saw == [["SOP: the inner plugin objects"]]
    assert str(refused.value) == "SOP: the inner plugin objects; the wrapper adds its own objection"


class Ordered:
    """A listener that notes its name in a shared list when called."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    @hookimpl(tryfirst=True)
    def qms_event_committed(self, event: CommittedEvent) -> None:
        """Note the call."""
        self.calls.append(self.name)


class Plain(Ordered):
    """The same, without ``tryfirst``."""

    @hookimpl
    def qms_event_committed(self, event: CommittedEvent) -> None:
        """Note the call."""
        self.calls.append(self.name)


def test_tryfirst_listener_is_called_before_later_registered_ones(
    qms_office: TestOffice, desk: Desk
) -> None:
    """``tryfirst`` is honoured: pluggy's ordering, not the engine's, decides who hears first."""
    calls: list[str] = []
    file_sop_with(
        qms_office,
        desk,
        ("early", Ordered("early", calls)),
        ("plain", Plain("plain", calls)),
    )
    assert calls == ["early", "plain"] * 2


class FailingBehindWrapper:
    """A validator that crashes; a pass-through wrapper is registered around it."""

    @hookimpl
    def qms_validate_submission(self, submission: Submission) -> list[str]:
        """Crash."""
        raise ZeroDivisionError("bad arithmetic")


class PassThroughWrapper:
    """A wrapper that lets every result and error pass."""

    @hookimpl(wrapper=True)
    def qms_validate_submission(
        self, submission: Submission
    ) -> Generator[None, list[list[str]], list[list[str]]]:
        """Pass everything through."""
        return (yield)


def test_error_behind_a_wrapper_names_the_plugin_that_raised(
    qms_office: TestOffice, desk: Desk
) -> None:
    """An exception that passes through a wrapper still names the plugin that raised it."""
    with pytest.raises(
        PluginError, match="plugin 'crashing_test' raised in qms_validate_submission"
    ):
        file_sop_with(
            qms_office,
            desk,
            ("crashing_test", FailingBehindWrapper()),
            ("wrapper", PassThroughWrapper()),
        )


class Registrar:
    """Registers one office type; two instances of this class are two plugins."""

    def __init__(self, code: str) -> None:
        self.code = code

    @hookimpl
    def qms_register_types(self, registry: TypeRegistry) -> None:
        """Register the office type ``code``."""
        registry.add_office_type(
            OfficeType(
                code=self.code,
                title="Test office",
                document_types=(
                    DocumentTypeSpec(code="SOP", title="SOP", workflow="sop-revision"),
                ),
            )
        )


def test_registry_names_the_plugin_even_for_two_instances_of_one_class() -> None:
    """Each registration is owned by the plugin that made it, and a clash names both."""
    manager = get_plugin_manager(
        extra_plugins=[
            ("first_test", Registrar("shared_office")),
            ("second_test", Registrar("x_office")),
        ]
    )
    plugins = load_plugins(manager)
    assert plugins.registry.owner("shared_office") == "first_test"
    assert plugins.registry.owner("x_office") == "second_test"
    clash = get_plugin_manager(
        extra_plugins=[
            ("first_test", Registrar("shared_office")),
            ("second_test", Registrar("shared_office")),
        ]
    )
    with pytest.raises(PluginError) as refused:
        load_plugins(clash)
    # pluggy calls the later registration first, so it owns the code; the other is refused
    assert str(refused.value) == (
        "plugin 'first_test': office type 'shared_office' is already registered by 'second_test'"
    )


ISSUE_CONTROL = """
name = "issue-control"
initial = "draft"

[states.draft]
open = true

[states.issued]
in_force = true
exclusive = "replaced"
starts_review_clock = true

[states.replaced]

[transitions.issue]
from = ["draft"]
to = "issued"
roles = ["approver"]
meaning = "issued"
not_by = ["author"]
"""


class IssuingOffice:
    """An office type whose documents are in force in a state called ``issued``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @hookimpl
    def qms_register_types(self, registry: TypeRegistry) -> None:
        """An office that keeps orders."""
        registry.add_office_type(
            OfficeType(
                code="order_office_test",
                title="Order office",
                document_types=(
                    DocumentTypeSpec(
                        code="ORDER", title="Standing order", workflow="issue-control"
                    ),
                ),
            )
        )

    @hookimpl
    def qms_workflow_dirs(self) -> list[Path]:
        """The folder holding ``issue-control``."""
        return [self.folder]


@contextmanager
def staffed_office(
    tmp_path: Path, plugin_name: str, plugin: Callable[[Path], object], office_type: str
) -> Iterator[tuple[Runtime, OfficeRef, Signer, Signer]]:
    """A workspace of ``office_type`` (from ``plugin``, given the folder holding the
    ``issue-control`` workflow), with a writer (author) and a chief (approver) who chose their
    own keys."""
    (tmp_path / "wf").mkdir()
    (tmp_path / "wf" / "issue-control.toml").write_text(ISSUE_CONTROL, encoding="utf-8")
    plugins = load_plugins(
        get_plugin_manager(extra_plugins=[(plugin_name, plugin(tmp_path / "wf"))])
    )
    result = init_workspace(
        tmp_path / "ws",
        plugins=plugins,
        office_type=office_type,
        office_code="OO-TEST",
        office_name="आदेश कार्यालय",
        admin="admin",
        admin_name="Admin",
        admin_passphrase=TEST_PASSPHRASE,
        office_passphrase=TEST_PASSPHRASE,
    )
    runtime = Runtime.open(result.workspace, plugins)
    try:
        admin = unlock(runtime, "admin", TEST_PASSPHRASE)
        writer, chief = (
            staff_member(runtime, result.office, admin, name, name.title(), [role])
            for name, role in (("writer", "author"), ("chief", "approver"))
        )
        yield runtime, result.office, writer, chief
    finally:
        runtime.close()


def test_in_force_state_comes_from_the_workflow_not_its_name(
    tmp_path: Path, make_docx: Callable[..., Path]
) -> None:
    """A workflow whose in-force state is called ``issued``: the master list, its state filter
    and ``export_revision`` treat an issued revision as the one in force (the engine knows no
    state by the name ``effective``)."""
    with staffed_office(tmp_path, "orders_test", IssuingOffice, "order_office_test") as (
        runtime,
        office,
        writer,
        chief,
    ):
        first = make_docx("order-1.docx", "Order", "first text")
        number = create_document(
            runtime, office, actor=writer, type_code="ORDER", title="Order", path=first
        ).number
        take_transition(runtime, number=number, transition="issue", actor=chief)
        revise_document(
            runtime,
            actor=writer,
            number=number,
            path=make_docx("order-2.docx", "Order", "second text"),
            reason="clarify",
        )
        (summary,) = list_documents(runtime)
        assert (summary.effective_revno, summary.latest_revno, summary.latest_state) == (
            0,
            1,
            "draft",
        )
        assert [s.number for s in list_documents(runtime, state="issued")] == [number]
        exported = export_revision(runtime, number=number, destination=tmp_path / "out.docx")
        assert (exported.revno, exported.state) == (0, "issued")
        assert (tmp_path / "out.docx").read_bytes() == first.read_bytes()
        assert verify_office(runtime, office).ok


@pytest.mark.parametrize("meaning", ["filed", "superseded", "created"])
def test_transition_meaning_may_not_collide_with_a_fixed_event_kind(
    tmp_path: Path, meaning: str
) -> None:
    """A transition whose meaning would be recorded as another kind of event (``filed`` →
    ``document.revision.filed``) is refused when plugins load, naming the file and key."""
    (tmp_path / "wf").mkdir()
    text = ISSUE_CONTROL.replace('meaning = "issued"', f'meaning = "{meaning}"')
    (tmp_path / "wf" / "issue-control.toml").write_text(text, encoding="utf-8")
    manager = get_plugin_manager(extra_plugins=[("orders_test", IssuingOffice(tmp_path / "wf"))])
    with pytest.raises(PluginError, match=r"transitions\.issue\.meaning: '" + meaning) as refused:
        load_plugins(manager)
    assert "issue-control.toml" in str(refused.value)


class Heard:
    """A plain listener that notes its name in a shared list, and fails after it if asked."""

    def __init__(self, name: str, calls: list[str], fail: bool = False) -> None:
        self.name, self.calls, self.fail = name, calls, fail

    @hookimpl
    def qms_event_committed(self, event: CommittedEvent) -> None:
        """Note the call; fail if asked to."""
        self.calls.append(self.name)
        if self.fail:
            raise ConnectionError(f"{self.name} cannot reach its server")


class Around:
    """A ``wrapper=True`` listener noting ``name:before`` and ``name:after``; fails after the
    other listeners if asked."""

    def __init__(self, name: str, calls: list[str], fail: bool = False) -> None:
        self.name, self.calls, self.fail = name, calls, fail

    @hookimpl(wrapper=True)
    def qms_event_committed(self, event: CommittedEvent) -> Generator[None, None, None]:
        """Note before and after the other listeners; fail after them if asked to."""
        self.calls.append(f"{self.name}:before")
        yield
        self.calls.append(f"{self.name}:after")
        if self.fail:
            raise RuntimeError(f"{self.name} failed after the others")


def test_wrapper_failing_after_the_listeners_is_logged_once_and_calls_nobody_again(
    qms_office: TestOffice, desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener wrapper raising after ``yield`` is logged once per event, naming it, and no
    listener is called twice."""
    calls: list[str] = []
    number = file_sop_with(
        qms_office,
        desk,
        ("a_test", Heard("a", calls)),
        ("b_test", Heard("b", calls)),
        ("w_test", Around("w", calls, fail=True)),
    )
    assert [r.state for r in document_detail(qms_office.runtime, number).revisions] == ["draft"]
    assert calls == ["w:before", "b", "a", "w:after"] * 2
    assert caplog.text.count("listener w_test failed in qms_event_committed") == 2
    assert len(caplog.records) == 2


def test_failing_listener_keeps_the_wrapper_around_every_listener(
    qms_office: TestOffice, desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    """With a wrapper present, a failing listener is logged by name and the wrapper still runs
    around all the listeners, each called once per event."""
    calls: list[str] = []
    file_sop_with(
        qms_office,
        desk,
        ("failing_test", Heard("failing", calls, fail=True)),
        ("plain_test", Heard("plain", calls)),
        ("w_test", Around("w", calls)),
    )
    assert calls == ["w:before", "plain", "failing", "w:after"] * 2
    assert caplog.text.count("listener failing_test failed in qms_event_committed") == 2
    assert len(caplog.records) == 2


def registrar_plugin(code: str, *, fail: bool = False) -> object:
    """A plugin made by a factory: every plugin it makes runs the same code (a closure)."""

    @hookimpl
    def qms_register_types(registry: TypeRegistry) -> None:
        if fail:
            raise LookupError(f"{code}: no such template")
        registry.add_office_type(
            OfficeType(
                code=code,
                title="Factory office",
                document_types=(
                    DocumentTypeSpec(code="SOP", title="SOP", workflow="sop-revision"),
                ),
            )
        )

    return SimpleNamespace(qms_register_types=qms_register_types)


def test_closures_from_one_factory_own_what_each_registers() -> None:
    """Two plugins made by one factory (the same code) each own the office type it registered."""
    manager = get_plugin_manager(
        extra_plugins=[
            ("first_test", registrar_plugin("first_office")),
            ("second_test", registrar_plugin("second_office")),
        ]
    )
    registry = load_plugins(manager).registry
    assert (registry.owner("first_office"), registry.owner("second_office")) == (
        "first_test",
        "second_test",
    )


def test_closure_that_raises_is_named_not_its_twin() -> None:
    """Of two plugins made by one factory, the one that raised is named."""
    manager = get_plugin_manager(
        extra_plugins=[
            ("raising_test", registrar_plugin("raising_office", fail=True)),
            ("quiet_test", registrar_plugin("quiet_office")),
        ]
    )
    with pytest.raises(PluginError, match="plugin 'raising_test' raised in qms_register_types"):
        load_plugins(manager)


def audited(function: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator a plugin author might put on every hook method (all share its code)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


class DecoratedRaising:
    """A plugin whose hook method sits under a shared ``functools.wraps`` decorator."""

    @hookimpl
    @audited
    def qms_register_types(self, registry: TypeRegistry) -> None:
        """Fail the way a buggy plugin does."""
        raise KeyError("office_code")


class DecoratedQuiet:
    """Another plugin under the same decorator, which does nothing."""

    @hookimpl
    @audited
    def qms_register_types(self, registry: TypeRegistry) -> None:
        """Register nothing."""


def test_plugin_under_a_shared_decorator_is_named() -> None:
    """A hook method under a decorator shared with other plugins is still named when it
    raises (not ``<unknown plugin>``, not the other plugin)."""
    manager = get_plugin_manager(
        extra_plugins=[("decorated_test", DecoratedRaising()), ("quiet_test", DecoratedQuiet())]
    )
    with pytest.raises(
        PluginError, match="plugin 'decorated_test' raised in qms_register_types: KeyError"
    ):
        load_plugins(manager)


class RaisingPluginError:
    """A plugin that reports its own trouble as a PluginError, with a hint."""

    @hookimpl
    def qms_register_types(self, registry: TypeRegistry) -> None:
        """Refuse to start."""
        raise PluginError("the SP office needs the lxml package", hint="pip install lxml")


def test_plugin_error_raised_by_a_plugin_gets_its_name() -> None:
    """A PluginError a plugin raises gets the plugin's name added, and keeps its hint."""
    manager = get_plugin_manager(extra_plugins=[("sp_test", RaisingPluginError())])
    with pytest.raises(PluginError) as refused:
        load_plugins(manager)
    assert str(refused.value) == "plugin 'sp_test': the SP office needs the lxml package"
    assert refused.value.hint == "pip install lxml"


class RefusingValidator:
    """A validator that refuses by raising RuleViolation, as the plugin API allows."""

    @hookimpl
    def qms_validate_submission(self, submission: Submission) -> list[str]:
        """Refuse, with a hint."""
        raise RuleViolation("the SOP has no approval page", hint="add the approval page")


def test_rule_violation_from_a_validator_passes_unchanged(
    qms_office: TestOffice, desk: Desk
) -> None:
    """A RuleViolation raised by qms_validate_submission reaches the caller as it was raised
    (exit code 5, its own message and hint), not as a PluginError."""
    with pytest.raises(RuleViolation) as refused:
        file_sop_with(qms_office, desk, ("refusing_test", RefusingValidator()))
    assert type(refused.value) is RuleViolation
    assert (str(refused.value), refused.value.hint, refused.value.exit_code) == (
        "the SOP has no approval page",
        "add the approval page",
        5,
    )


class OldStyleWrapper:
    """An old-style ``hookwrapper=True`` validator that notes whether the others raised."""

    def __init__(self) -> None:
        self.outcomes: list[str] = []

    @hookimpl(hookwrapper=True)
    def qms_validate_submission(self, submission: Submission) -> Generator[None, Any, None]:
        """Note the outcome of the other validators."""
        outcome = yield
        self.outcomes.append("raised" if outcome.exception else "returned")


def test_error_behind_an_old_style_hookwrapper_names_the_plugin_that_raised(
    qms_office: TestOffice, desk: Desk
) -> None:
    """An old-style ``hookwrapper=True`` still runs around the others, and an error passing
    through it names the plugin that raised it."""
    wrapper = OldStyleWrapper()
    with pytest.raises(
        PluginError, match="plugin 'crashing_test' raised in qms_validate_submission"
    ):
        file_sop_with(
            qms_office, desk, ("crashing_test", FailingBehindWrapper()), ("old_test", wrapper)
        )
    assert wrapper.outcomes == ["raised"]


class WrapperRaisingBeforeYield:
    """A ``wrapper=True`` validator that crashes before the others run."""

    @hookimpl(wrapper=True)
    def qms_validate_submission(
        self, submission: Submission
    ) -> Generator[None, list[list[str]], list[list[str]]]:
        """Crash, then (never) pass through."""
        if submission.title:
            raise ZeroDivisionError("the wrapper's own bug")
        return (yield)


def test_wrapper_that_raises_itself_is_named(qms_office: TestOffice, desk: Desk) -> None:
    """A wrapper whose own code raises is the plugin named, not the one it wraps."""
    with pytest.raises(PluginError, match="plugin 'buggy_wrapper' raised in qms_validate_sub"):
        file_sop_with(
            qms_office,
            desk,
            ("inner", Objection()),
            ("buggy_wrapper", WrapperRaisingBeforeYield()),
        )


class StringValidator:
    """A validator returning one problem as a bare string instead of a list."""

    @hookimpl
    def qms_validate_submission(self, submission: Submission) -> str:
        """Object, wrongly typed."""
        return "title too short"


def test_validator_returning_a_string_is_a_plugin_error(qms_office: TestOffice, desk: Desk) -> None:
    """A qms_validate_submission returning a string (not a list) is a PluginError naming the
    plugin and what it returned, not a problem per character."""
    with pytest.raises(PluginError) as refused:
        file_sop_with(qms_office, desk, ("stringy_test", StringValidator()))
    assert str(refused.value) == (
        "plugin 'stringy_test': qms_validate_submission returned 'title too short' (str); it "
        "must return None or a list of problems (str)"
    )


class StringWrapper:
    """A ``wrapper=True`` validator that replaces everyone's answers by a string."""

    @hookimpl(wrapper=True)
    def qms_validate_submission(
        self, submission: Submission
    ) -> Generator[None, list[list[str]], str]:
        """Return the wrong type."""
        yield
        return "no"


def test_wrapper_returning_the_wrong_type_is_a_plugin_error(
    qms_office: TestOffice, desk: Desk
) -> None:
    """A wrapper must hand back a list of per-plugin answers: a string is a PluginError naming
    the wrapper."""
    with pytest.raises(PluginError, match=r"plugin 'stringy_wrapper': its qms_validate_sub"):
        file_sop_with(qms_office, desk, ("stringy_wrapper", StringWrapper()))


class NumberedFolders:
    """A plugin whose qms_workflow_dirs returns a number."""

    @hookimpl
    def qms_workflow_dirs(self) -> int:
        """Return the wrong type."""
        return 5


def test_workflow_dirs_returning_a_number_is_a_plugin_error() -> None:
    """qms_workflow_dirs returning 5 is a PluginError naming the plugin and the value, not a
    bare TypeError."""
    manager = get_plugin_manager(extra_plugins=[("folders_test", NumberedFolders())])
    with pytest.raises(PluginError) as refused:
        load_plugins(manager)
    assert str(refused.value) == (
        "plugin 'folders_test': qms_workflow_dirs returned 5 (int); it must return None or a "
        "list of folders (str or Path)"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "filename_patterns",
            r"GD_(?P<n>\d+)",
            r"document type 'GD': filename_patterns must be a tuple of strings, got str "
            r"'GD_\(\?P<n>\\\\d\+\)' \(for one, write \(",
        ),
        ("creator_roles", "clerk", "creator_roles must be a tuple of strings, got str 'clerk'"),
        ("allowed_extensions", [".pdf"], r"must be a tuple of strings, got list \['.pdf'\]"),
        ("field_labels", {"Date": 1}, "field_labels must map labels"),
    ],
)
def test_document_type_fields_of_the_wrong_type_are_refused(
    field: str, value: object, message: str
) -> None:
    """A DocumentTypeSpec field given the wrong type (a string where a tuple of strings is
    declared) is refused when the type is declared, naming the type and the field."""
    with pytest.raises(TypeError, match=message):
        DocumentTypeSpec("GD", "General Diary", "record-filing", **{field: value})  # type: ignore[arg-type]


class MixedOffice(IssuingOffice):
    """An office keeping SOPs (in force when ``effective``) and orders (when ``issued``)."""

    @hookimpl
    def qms_register_types(self, registry: TypeRegistry) -> None:
        """An office with both kinds of document."""
        registry.add_office_type(
            OfficeType(
                code="mixed_office_test",
                title="Mixed office",
                document_types=(
                    DocumentTypeSpec(code="SOP", title="SOP", workflow="sop-revision"),
                    DocumentTypeSpec(
                        code="ORDER", title="Standing order", workflow="issue-control"
                    ),
                ),
            )
        )


def test_state_filter_uses_each_documents_own_in_force_state(
    tmp_path: Path, make_docx: Callable[..., Path]
) -> None:
    """``list_documents(state=...)`` counts a document as in that state through its own
    workflow's in-force state: an issued order is not listed as ``effective`` (the SOP
    workflow's in-force state), and is listed as ``issued``."""
    with staffed_office(tmp_path, "mixed_test", MixedOffice, "mixed_office_test") as (
        runtime,
        office,
        writer,
        chief,
    ):
        order = create_document(
            runtime,
            office,
            actor=writer,
            type_code="ORDER",
            title="Order",
            path=make_docx("order.docx", "Order", "text"),
        ).number
        take_transition(runtime, number=order, transition="issue", actor=chief)
        sop = create_document(
            runtime,
            office,
            actor=writer,
            type_code="SOP",
            title="SOP",
            path=make_docx("sop.docx", "SOP", "text"),
        ).number
        assert [s.number for s in list_documents(runtime, state="effective")] == []
        assert [s.number for s in list_documents(runtime, state="issued")] == [order]
        assert [s.number for s in list_documents(runtime, state="draft")] == [sop]
