"""The plugin API is one module with pinned names, and plugins import nothing else.

Like httpx's ``test_exported_members.py``: a name added to or dropped from the API is a
deliberate change that shows up here (and in the changelog), never an accident of a refactor.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import qms_engine.api

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_SOURCES = [
    *sorted((ROOT / "plugins").rglob("*.py")),
    ROOT / "qms_engine" / "default_workflows.py",  # a built-in plugin, registered like any other
    *sorted((ROOT / "tests" / "example_plugin").rglob("*.py")),  # docs/plugins.md's example
]
PLUGINS_DOC = ROOT / "docs" / "plugins.md"
TEST_SIDE = {"qms_engine.cli", "qms_engine.testing", "qms_engine.extension.manager"}
"""The host side a plugin's tests may import besides the API (docs/plugins.md, "Test it")."""

PINNED = [
    "CommittedEvent",
    "Custody",
    "DEFAULT_PERSONAL",
    "DayBook",
    "Desk",
    "DocumentTypeSpec",
    "FeedbackForm",
    "FunctionStep",
    "IngestContext",
    "Intake",
    "N_",
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


def test_exported_names_are_pinned() -> None:
    """``qms_engine.api.__all__`` is exactly the pinned list."""
    assert sorted(qms_engine.api.__all__) == PINNED


def test_every_public_name_is_exported() -> None:
    """Every public name in the module is in ``__all__`` (nothing public by accident)."""
    public = {
        name
        for name, value in vars(qms_engine.api).items()
        if not name.startswith("_") and name != "annotations" and not _is_module(value)
    }
    assert public == set(qms_engine.api.__all__)


def test_exported_classes_come_from_the_engine() -> None:
    """Every exported class is the engine's own (not a re-export of a library's type)."""
    for name in PINNED:
        value = getattr(qms_engine.api, name)
        if isinstance(value, type):
            assert value.__module__.startswith("qms_engine."), name


def _is_module(value: object) -> bool:
    return type(value).__name__ == "module"


def _engine_imports(source: str) -> list[str]:
    """The ``qms_engine`` modules a piece of Python source imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "qms_engine":
                modules = [f"qms_engine.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [m for m in modules if m.split(".")[0] == "qms_engine"]
    return found


def test_the_scan_sees_engine_imports() -> None:
    """The import scan finds every form of import, so the plugin checks below can fail."""
    source = (
        "import qms_engine.runtime\nfrom qms_engine import api\nfrom qms_engine.chain import x\n"
    )
    assert _engine_imports(source) == ["qms_engine.runtime", "qms_engine.api", "qms_engine.chain"]


def test_plugins_import_only_the_plugin_api() -> None:
    """Nothing under ``plugins/`` (nor the built-in workflow plugin, nor the guide's example
    package in ``tests/example_plugin``) imports another engine module: a plugin written
    against the API survives any internal move."""
    assert PLUGIN_SOURCES, "no plugin sources found"
    offending = {
        str(path.relative_to(ROOT)): sorted(set(imports) - {"qms_engine.api"})
        for path in PLUGIN_SOURCES
        if set(imports := _engine_imports(path.read_text(encoding="utf-8"))) - {"qms_engine.api"}
    }
    assert offending == {}


def test_plugin_guide_examples_import_only_the_plugin_api() -> None:
    """Every Python example in ``docs/plugins.md`` that imports the engine uses the API only,
    except those that show a plugin's own tests: they may drive the CLI, use the test fixtures'
    names and build a plugin manager."""
    blocks = re.findall(r"```python\n(.*?)```", PLUGINS_DOC.read_text(encoding="utf-8"), re.S)
    # Excerpts quoted from the example package (headed by their file) are no whole programs;
    # the test above scans the files they come from.
    examples = [block for block in blocks if not block.startswith("# tests/example_plugin/")]
    imports = [module for block in examples for module in _engine_imports(block)]
    assert "qms_engine.api" in imports
    assert set(imports) - {"qms_engine.api"} <= TEST_SIDE
