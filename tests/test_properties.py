"""Property-based guards (issue 10): whatever arrives at a parser or a boundary, the engine gives
a correct result or a clear error of its documented class / exit code — never a traceback, never
a partial write.

Hypothesis generates the inputs; the settings profile in tests/conftest.py fixes the seed
(``derandomize``) and the example budget, so CI runs the same examples every time, and a failure
prints the example (and a blob to reproduce it with ``@reproduce_failure``).  The slow properties
(bundles, the inbox, the CLI) use a smaller budget of their own.  Workspaces are SQLite: the
properties are about parsing, not about the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from qms_engine.audit.verify import verify_bundle, verify_office
from qms_engine.chain.canonical import MAX_SAFE_INTEGER, canonical_bytes
from qms_engine.cli import main
from qms_engine.errors import ConfigurationError
from qms_engine.ingest.extract import ExtractionError, sidecar_fields
from qms_engine.ingest.inbox import is_ignored, is_sidecar
from qms_engine.rules.workflows import WorkflowDefinition, WorkflowDefinitionError, load_workflow
from qms_engine.storage.workspace import CONFIG_NAME, Workspace
from tests.conftest import Desk
from tests.ingest_fixtures import IngestDesk, ingest_desk_fixture  # noqa: F401  (the fixture)
from tests.test_audit_bundle_strict import (  # noqa: F401  (the exported-bundle fixture)
    exported_fixture,
    make_docx_module_fixture,
)
from tests.test_cli import PASSPHRASES
from tests.test_workflow_definitions import ROLES

SQLITE = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)
# Fixtures built once per test and shared by its examples (each example checks its own part).
SHARED_FIXTURE = [HealthCheck.function_scoped_fixture]
SLOW = 20  # examples for the properties that run a whole bundle, inbox or command per example

SOP_WORKFLOW = Path(__file__).parent.parent / "workflows" / "sop-revision.toml"

# --------------------------------------------------------------------------- strategies

# Any Unicode text, lone surrogates included (they must be refused, not written).
ANY_TEXT = st.text(st.characters(codec=None))
SAFE_INT = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)


def json_values(
    text: st.SearchStrategy[str] = ANY_TEXT, ints: st.SearchStrategy[Any] = SAFE_INT
) -> st.SearchStrategy[Any]:
    """JSON values: null, booleans, integers, strings, and lists and objects of them."""
    scalars = st.none() | st.booleans() | ints | text
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=12,
    )


def has_surrogate(value: Any) -> bool:
    """Does any string (or key) in ``value`` hold a lone UTF-16 surrogate?"""
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(has_surrogate(k) or has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_surrogate(item) for item in value)
    return False


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry below ``folder``: relative path → SHA-256 of a file, or its kind."""
    seen = {}
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(root) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                seen[key] = "link"
            elif path.is_dir():
                seen[key] = "dir"
            else:
                seen[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh temporary folder for one example, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="qms-prop-") as name:
        yield Path(name)


# --------------------------------------------------------------------------- 1. canonical JSON


@given(json_values(ints=st.integers() | st.floats()))
def test_canonical_json_round_trips_or_refuses(value: Any) -> None:
    """canonical_bytes either round-trips through json.loads and is idempotent, or raises."""
    try:
        encoded = canonical_bytes(value)
    except (TypeError, ValueError):
        return
    assert not has_surrogate(value)
    assert json.loads(encoded) == value
    assert canonical_bytes(json.loads(encoded)) == encoded


@given(json_values())
def test_canonical_json_accepts_every_engine_value(value: Any) -> None:
    """Safe integers and surrogate-free text are always encoded; lone surrogates are refused."""
    if has_surrogate(value):
        with pytest.raises(ValueError):
            canonical_bytes(value)
    else:
        assert json.loads(canonical_bytes(value)) == value


@given(
    st.integers(min_value=MAX_SAFE_INTEGER + 1)
    | st.integers(max_value=-MAX_SAFE_INTEGER - 1)
    | st.floats()
)
def test_canonical_json_refuses_unsafe_numbers(number: float) -> None:
    """Floats and integers beyond ±(2^53 − 1) are refused, alone or nested."""
    values: list[Any] = [number, [number], {"a": {"b": number}}]
    for value in values:
        with pytest.raises(TypeError):
            canonical_bytes(value)


# --------------------------------------------------------------------------- 2. bundles


def reseal_events(bundle: Path) -> None:
    """Make the manifest's digest of events.jsonl agree, as an informed forger would."""
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    manifest["events"]["sha256"] = hashlib.sha256(
        (bundle / "events.jsonl").read_bytes()
    ).hexdigest()
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    (bundle / "manifest.json").write_text(text, encoding="utf-8")


def line_replacements(original: bytes) -> st.SearchStrategy[bytes]:
    """Bytes to put in place of one event line: noise, JSON, or the line with one byte changed."""
    flipped = st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)).map(
        lambda change: original[: change[0]] + bytes([change[1]]) + original[change[0] + 1 :]
    )
    return (
        st.binary(max_size=200)
        | json_values().map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass"))
        | flipped
        | st.just(original)
    )


@SQLITE
@settings(max_examples=SLOW)
@given(data=st.data())
def test_a_replaced_event_line_is_refused_never_raises_never_writes(
    exported: Path, data: st.DataObject
) -> None:
    """One events.jsonl line replaced (manifest resealed): problems unless unchanged; no write."""
    lines = (exported / "events.jsonl").read_bytes().split(b"\n")[:-1]
    number = data.draw(st.integers(0, len(lines) - 1), label="line index")
    new = data.draw(line_replacements(lines[number]), label="new line")
    with scratch() as place:
        bundle = place / "bundle"
        shutil.copytree(exported, bundle)
        lines[number] = new
        (bundle / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
        reseal_events(bundle)
        before = snapshot(place)
        result = verify_bundle(bundle)
        assert snapshot(place) == before
    unchanged = new == (exported / "events.jsonl").read_bytes().split(b"\n")[number]
    assert result.ok == unchanged, result.problems


def manifest_replacements(original: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Bytes for manifest.json: noise, any JSON, or the real one with one member changed."""

    def edit(change: tuple[tuple[str, ...], Any]) -> bytes:
        where, value = change
        manifest = json.loads(json.dumps(original))
        target = manifest
        for step in where[:-1]:
            target = target[step]
        if value is DELETE:
            del target[where[-1]]
        else:
            target[where[-1]] = value
        return json.dumps(manifest, indent=2).encode("utf-8", "surrogatepass")

    members = [(key,) for key in original] + [
        (key, inner)
        for key, value in original.items()
        if isinstance(value, dict)
        for inner in value
    ]
    edited = st.tuples(
        st.sampled_from(sorted(members)), json_values() | st.just(DELETE) | st.floats()
    ).map(edit)
    return (
        st.binary(max_size=200)
        | json_values().map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass"))
        | edited
    )


DELETE = object()


def same_manifest(data: bytes, original: dict[str, Any]) -> bool:
    """Does ``data`` say what the real manifest says (its export time aside, which is free)?"""
    try:
        value = json.loads(data)
    except ValueError:
        return False
    if not isinstance(value, dict):
        return False
    value.pop("exported_at", None)
    return value == {k: v for k, v in original.items() if k != "exported_at"}


@SQLITE
@settings(max_examples=SLOW)
@given(data=st.data())
def test_a_replaced_manifest_is_refused_never_raises_never_writes(
    exported: Path, data: st.DataObject
) -> None:
    """Any manifest.json other than the real one gives problems; never raises, never writes."""
    original = json.loads((exported / "manifest.json").read_bytes())
    new = data.draw(manifest_replacements(original), label="manifest.json")
    with scratch() as place:
        bundle = place / "bundle"
        shutil.copytree(exported, bundle)
        (bundle / "manifest.json").write_bytes(new)
        before = snapshot(place)
        result = verify_bundle(bundle)
        assert snapshot(place) == before
    if result.ok:
        assert same_manifest(new, original), new


# --------------------------------------------------------------------------- 3. sidecars


@settings(suppress_health_check=SHARED_FIXTURE)
@given(
    st.binary(max_size=300)
    | json_values().map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass"))
    | st.dictionaries(ANY_TEXT, json_values(), max_size=5).map(
        lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")
    )
)
def test_a_sidecar_gives_text_fields_or_an_extraction_error(tmp_path: Path, data: bytes) -> None:
    """Any bytes as ``scan.pdf.json``: a dict of str → str, or ExtractionError; nothing else."""
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n")
    (tmp_path / "scan.pdf.json").write_bytes(data)
    try:
        fields = sidecar_fields(scan)
    except ExtractionError as exc:
        assert str(exc)
        return
    assert isinstance(fields, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    for text in (*fields, *fields.values()):
        text.encode("utf-8")  # no lone surrogate gets through


# --------------------------------------------------------------------------- 4. workflow TOML


def toml_literal(value: Any) -> str:
    """``value`` written as TOML (JSON strings, integers, booleans and arrays are TOML too)."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        items = ", ".join(
            f"{json.dumps(k, ensure_ascii=False)} = {toml_literal(v)}" for k, v in value.items()
        )
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def mutated_workflow() -> st.SearchStrategy[str]:
    """sop-revision.toml with one line dropped, replaced by noise, or given another value."""
    lines = SOP_WORKFLOW.read_text(encoding="utf-8").splitlines()

    def change(edit: tuple[int, str, str, Any]) -> str:
        number, how, noise, value = edit
        copy = list(lines)
        if how == "drop":
            del copy[number]
        elif how == "noise":
            copy[number] = noise
        elif "=" in copy[number]:
            copy[number] = copy[number].split("=", 1)[0] + "= " + toml_literal(value)
        return "\n".join(copy) + "\n"

    return st.tuples(
        st.integers(0, len(lines) - 1),
        st.sampled_from(["drop", "noise", "value"]),
        ANY_TEXT,
        json_values(text=st.sampled_from(sorted(ROLES)) | ANY_TEXT),
    ).map(change)


@settings(suppress_health_check=SHARED_FIXTURE)
@given(ANY_TEXT | mutated_workflow())
def test_a_workflow_file_loads_or_names_itself_in_the_error(tmp_path: Path, text: str) -> None:
    """Any workflow TOML: a WorkflowDefinition, or WorkflowDefinitionError naming the file."""
    path = tmp_path / "workflow.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        definition = load_workflow(path, ROLES)
    except WorkflowDefinitionError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(definition, WorkflowDefinition)


def test_the_real_workflow_loads() -> None:
    """The unmutated sop-revision.toml loads (so the mutations above start from a valid file)."""
    assert load_workflow(SOP_WORKFLOW, ROLES).name == "sop-revision"


# --------------------------------------------------------------------------- 5. qms.toml


def workspace_tables() -> st.SearchStrategy[str]:
    """A ``[workspace]`` table: an office, and the other keys (or unknown ones) with any value."""
    text = st.text(st.characters(codec="utf-8"), max_size=20)
    paths = st.text(st.sampled_from("ab./\\~:क \x00\n") | st.characters(codec="utf-8"), max_size=20)
    values = (
        paths
        | st.sampled_from(["blobs", "inbox", "sqlite:///qms.sqlite3", "sqlite://", "../x", "/"])
        | paths.map(lambda p: "sqlite:///" + p)
        | json_values(text=text)
    )
    known = st.fixed_dictionaries(
        {"office": text | json_values(text=text)},
        optional={key: values for key in ("database_url", "blob_store", "inbox")},
    )
    unknown = st.dictionaries(text, values, max_size=2)
    return st.tuples(known, unknown | st.just({})).map(
        lambda parts: (
            "[workspace]\n"
            + "".join(
                f"{json.dumps(k, ensure_ascii=False)} = {toml_literal(v)}\n"
                for k, v in {**parts[1], **parts[0]}.items()
            )
        )
    )


@settings(suppress_health_check=SHARED_FIXTURE)
@given(ANY_TEXT | workspace_tables())
@example('[workspace]\noffice = "X"\nblob_store = "a\\u0000b"\n')  # was a ValueError
@example('[workspace]\noffice = "X"\ndatabase_url = "sqlite:///a\\u0000b"\n')
def test_qms_toml_loads_or_is_a_configuration_error(tmp_path: Path, text: str) -> None:
    """Any qms.toml: a Workspace, or ConfigurationError; never another exception; nothing made."""
    root = tmp_path / "ws"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    (root / CONFIG_NAME).write_bytes(text.encode("utf-8", "surrogatepass"))
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("QMS_DATABASE_URL", raising=False)
        try:
            workspace = Workspace.load(root)
        except ConfigurationError as exc:
            assert str(exc)
        else:
            assert isinstance(workspace.office_code, str)
            for place in (workspace.blob_dir, workspace.inbox_dir):
                assert place.is_relative_to(root.resolve()) and place != root.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"]
    assert [p.name for p in root.iterdir()] == [CONFIG_NAME]


# --------------------------------------------------------------------------- 6. inbox names


def file_names() -> st.SearchStrategy[str]:
    """Valid file names: any characters but '/' and NUL (Devanagari, controls …), ≤ 255 bytes."""
    stem = st.text(
        st.characters(codec="utf-8", exclude_characters="/\x00")
        | st.sampled_from("कखगधारा\u094d\u200d\t\n\r\x1b\x7f"),
        min_size=1,
        max_size=120,
    )
    suffix = st.sampled_from([".pdf", ".PDF", ".docx", ".txt", ".json", ".part", ""])
    return (
        st.tuples(stem, suffix)
        .map("".join)
        .filter(lambda n: n not in (".", "..") and len(n.encode()) <= 255)
    )


@SQLITE
@settings(max_examples=SLOW, suppress_health_check=SHARED_FIXTURE)
@given(name=file_names())
def test_any_file_name_is_filed_quarantined_or_a_duplicate(
    ingest_desk: IngestDesk, name: str
) -> None:
    """A file of any valid name in inbox/GD/ is filed, quarantined with a note, or a duplicate."""
    desk = ingest_desk
    dropped = desk.drop("GD", name)
    outcomes = desk.run()
    if is_ignored(name) or is_sidecar(dropped):
        assert outcomes == []
        assert desk.inbox.counts()["GD"]["ignored"] == 1
        dropped.unlink()
    else:
        (outcome,) = outcomes
        event(outcome.status)
        assert outcome.status in ("filed", "quarantined", "duplicate"), outcome
        assert not dropped.exists()
        if outcome.status == "quarantined":
            held = [p for p in desk.quarantined("GD") if p.name == name]
            assert held and held[0].with_name(held[0].name + ".error.txt").exists()
    counts = desk.inbox.counts()["GD"]
    settled = counts["processed"] + counts["duplicates"] + counts["quarantined"]
    assert settled == len(desk.outcomes)
    assert counts["processed"] == sum(o.status == "filed" for o in desk.outcomes)
    assert (counts["pending"], counts["in_progress"], counts["ignored"]) == (0, 0, 0)
    assert desk.claimed() == []


# --------------------------------------------------------------------------- 7. CLI text


# Text as it can arrive in argv: no NUL; undecodable bytes come as surrogate escapes.
ARG_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60) | (
    st.binary(max_size=40)
    .filter(lambda b: b"\x00" not in b)
    .map(lambda b: b.decode("utf-8", "surrogateescape"))
)


def qms(root: Path, *args: str) -> tuple[int, str]:
    """Run the console script's ``main()`` in-process: exit code and all it printed."""
    with (
        CliRunner().isolation(env=PASSPHRASES) as (stdout, stderr, _),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(sys, "argv", ["qms", "-w", str(root), *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
        output = stdout.getvalue() + stderr.getvalue()
    return code, output.decode("utf-8", "replace")


@SQLITE
@settings(max_examples=SLOW * 2, suppress_health_check=SHARED_FIXTURE)
@given(data=st.data())
def test_cli_text_arguments_give_a_documented_exit_code(desk: Desk, data: st.DataObject) -> None:
    """Any --title/--comment/--field/--as/--reason text: exit code 0–7, no traceback."""
    office = desk.office
    number = desk.new_sop("Property SOP")
    users = [office.username(who) for who in ("author", "approver", "quality_coordinator")]
    actor = data.draw(st.sampled_from(users) | ARG_TEXT, label="--as")
    text = data.draw(ARG_TEXT, label="text")
    command = data.draw(st.sampled_from(["new", "field", "act", "revise"]), label="command")
    file = str(desk.docx())
    if command == "new":
        args = ["doc", "new", file, "--type=SOP", f"--title={text}"]
    elif command == "field":
        name = data.draw(ARG_TEXT, label="field name")
        args = ["doc", "new", file, "--type=GD", "--title=GD entry", f"--field={name}={text}"]
    elif command == "act":
        transition = data.draw(st.sampled_from(["submit", "reject", "withdraw"]))
        args = ["doc", "act", number, transition, f"--comment={text}"]
    else:
        args = ["doc", "revise", number, file, f"--reason={text}", f"--title={text}"]
    code, output = qms(office.root, *args, f"--as={actor}")
    event(f"{command}: exit {code}")
    assert code in range(8), output
    assert "Traceback" not in output
    assert not verify_office(office.runtime, office.office, check_blobs=True).problems
