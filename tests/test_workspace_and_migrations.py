"""Finding a workspace the way git finds a repository, creating one, and its database schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import inspect
from sqlmodel import SQLModel

from qms_engine.chain.reader import verify_chain
from qms_engine.cli import cli
from qms_engine.errors import ConfigurationError
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.runtime import Runtime
from qms_engine.storage.database import (
    _alembic_config,
    check_schema_current,
    create_db_engine,
    upgrade,
)
from qms_engine.storage.models import is_model_table  # and the tables the migrations produce
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TEST_PASSPHRASE, TestOffice


@pytest.fixture(autouse=True)
def no_workspace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without the workspace environment variables."""
    monkeypatch.delenv("QMS_WORKSPACE", raising=False)
    monkeypatch.delenv("QMS_DATABASE_URL", raising=False)


def new_workspace(root: Path, database_url: str | None = None) -> Path:
    """Create a police station workspace at ``root``."""
    init_workspace(
        root,
        plugins=load_plugins(),
        office_type="police_station",
        office_code="PS-NEW1",
        office_name="थाना नया",
        admin="admin",
        admin_name="Admin",
        admin_passphrase=TEST_PASSPHRASE,
        office_passphrase=TEST_PASSPHRASE,
        database_url=database_url,
    )
    return root


def test_find_from_a_nested_subfolder(qms_office: TestOffice) -> None:
    """From a folder deep inside the workspace, the workspace itself is found."""
    nested = qms_office.root / "inbox" / "GD" / "2026" / "November"
    nested.mkdir(parents=True)
    assert qms_office.root.resolve() == Workspace.find(start=nested).root


def test_find_uses_qms_workspace_variable(
    qms_office: TestOffice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``QMS_WORKSPACE`` names the workspace wherever the command runs."""
    monkeypatch.setenv("QMS_WORKSPACE", str(qms_office.root))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert qms_office.root.resolve() == Workspace.find(start=elsewhere).root


def test_outside_any_workspace_is_a_configuration_error(tmp_path: Path) -> None:
    """Outside every workspace the error says where it looked and how to fix it."""
    with pytest.raises(ConfigurationError, match="no qms workspace in") as refused:
        Workspace.find(start=tmp_path)
    assert "qms init" in (refused.value.hint or "")
    assert "--workspace" in (refused.value.hint or "")


def test_qms_database_url_overrides_the_config(
    qms_office: TestOffice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``QMS_DATABASE_URL`` wins over ``database_url`` in qms.toml."""
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    monkeypatch.setenv("QMS_DATABASE_URL", url)
    assert url == Workspace.load(qms_office.root).database_url


def test_relative_sqlite_path_is_relative_to_the_workspace(tmp_path: Path) -> None:
    """The default SQLite database lives inside the workspace, so the folder can be moved whole."""
    root = new_workspace(tmp_path / "ws")
    assert f"sqlite:///{root.resolve() / 'qms.sqlite3'}" == Workspace.load(root).database_url


def test_init_refuses_an_existing_workspace(qms_office: TestOffice) -> None:
    """``init`` on a folder that already has qms.toml is refused, and the file is untouched."""
    config = (qms_office.root / "qms.toml").read_bytes()
    with pytest.raises(ConfigurationError, match="is already a workspace"):
        new_workspace(qms_office.root)
    assert config == (qms_office.root / "qms.toml").read_bytes()


def test_inbox_has_a_folder_per_register(qms_office: TestOffice) -> None:
    """The police station's inbox folder has one folder per register and one for SOP drafts."""
    inbox = qms_office.root / "inbox" / qms_office.office.code
    assert {"GD", "MALKHANA", "DAK", "ARMS", "PASSPORT", "SOP-DRAFTS"} == {
        p.name for p in inbox.iterdir() if p.is_dir()
    }


def test_migrations_produce_exactly_the_models_schema(tmp_path: Path) -> None:
    """The Alembic migrations build the same schema the SQLModel models declare (besides the
    search index, which has none)."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", create=True)
    models_only = {
        "include_name": lambda name, kind, _parents: kind != "table" or is_model_table(name)
    }
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=models_only)
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_on_a_current_database_is_a_no_op(qms_office: TestOffice) -> None:
    """Upgrading a database that is already current changes nothing."""
    before, after = upgrade(qms_office.runtime.engine)
    assert before == after
    check_schema_current(qms_office.runtime.engine)


def test_upgrade_from_0003_adds_the_actor_index(qms_office: TestOffice) -> None:
    """A workspace whose database is at 0003 (before the event actor index) is refused until
    ``qms db upgrade`` brings it to the newest schema, with the index, its chain untouched."""
    engine = qms_office.runtime.engine
    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0003")
    with pytest.raises(ConfigurationError, match="schema is at 0003"):
        check_schema_current(engine)
    upgraded = CliRunner().invoke(cli, ["-w", str(qms_office.root), "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    with engine.connect() as connection:
        head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
    assert head is not None and head >= "0004"
    assert f"Database upgraded from 0003 to {head}." in upgraded.stdout
    check_schema_current(engine)
    with engine.connect() as connection:
        indexes = {ix["name"] for ix in inspect(connection).get_indexes("event")}
        assert "ix_event_office_id_actor_seq" in indexes
        assert verify_chain(connection, qms_office.office) > 0


def test_database_without_schema_is_refused_with_the_upgrade_hint(tmp_path: Path) -> None:
    """Opening an empty database is refused, pointing at ``qms db upgrade``."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}", create=True)
    try:
        with pytest.raises(ConfigurationError, match="schema is at nothing") as refused:
            check_schema_current(engine)
    finally:
        engine.dispose()
    assert "qms db upgrade" in (refused.value.hint or "")


def test_runtime_refuses_a_workspace_whose_database_is_empty(
    qms_office: TestOffice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workspace pointed at an empty database does not open."""
    (tmp_path / "empty.sqlite3").touch()
    monkeypatch.setenv("QMS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(ConfigurationError, match="qms-engine needs"):
        Runtime.open(Workspace.load(qms_office.root), load_plugins())


def test_opening_a_missing_sqlite_file_is_refused_without_creating_it(tmp_path: Path) -> None:
    """An engine for a SQLite file that does not exist is refused and makes no file."""
    missing = tmp_path / "typo.sqlite3"
    with pytest.raises(ConfigurationError, match=r"typo\.sqlite3 does not exist"):
        create_db_engine(f"sqlite:///{missing}")
    assert not missing.exists()


def _config(root: Path, **keys: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = ["[workspace]", 'office = "PS-NEW1"', *(f'{k} = "{v}"' for k, v in keys.items())]
    (root / "qms.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({"inbox": "."}, "workspace.inbox"),
        ({"inbox": ".."}, "workspace.inbox"),
        ({"inbox": "../elsewhere"}, "workspace.inbox"),
        ({"inbox": "/tmp"}, "workspace.inbox"),
        ({"blob_store": "/"}, "workspace.blob_store"),
        ({"blob_store": "."}, "workspace.blob_store"),
        ({"database_url": "sqlite:////tmp/outside.sqlite3"}, "workspace.database_url"),
        ({"database_url": "sqlite:///../outside.sqlite3"}, "workspace.database_url"),
    ],
)
def test_workspace_places_outside_the_folder_are_refused(
    tmp_path: Path, keys: dict[str, str], named: str
) -> None:
    """Inbox, blob store and SQLite database must lie inside the workspace: else an error naming
    qms.toml and the key."""
    root = _config(tmp_path / "ws", **keys)
    with pytest.raises(ConfigurationError, match=named) as refused:
        Workspace.load(root)
    assert str(root / "qms.toml") in str(refused.value)


@pytest.mark.parametrize(
    "keys",
    [
        {"inbox": "blobs/inbox"},
        {"blob_store": "inbox/blobs"},
        {"inbox": "data", "blob_store": "data"},
        {"database_url": "sqlite:///inbox/qms.sqlite3"},
        {"database_url": "sqlite:///blobs/qms.sqlite3"},
    ],
)
def test_workspace_places_that_overlap_are_refused(tmp_path: Path, keys: dict[str, str]) -> None:
    """Inbox, blob store and SQLite database never overlap (the watcher would move the others)."""
    root = _config(tmp_path / "ws", **keys)
    with pytest.raises(ConfigurationError, match="overlap"):
        Workspace.load(root)


def test_workspace_places_inside_and_apart_are_accepted(tmp_path: Path) -> None:
    """Custom places inside the workspace and apart from each other are accepted."""
    root = _config(
        tmp_path / "ws", inbox="in", blob_store="store/blobs", database_url="sqlite:///db/q.sqlite3"
    )
    workspace = Workspace.load(root)
    assert workspace.inbox_dir == root.resolve() / "in"
    assert workspace.blob_dir == root.resolve() / "store" / "blobs"
