"""Finding a workspace the way git finds a repository, creating one, and its database schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import qms_engine.storage.models  # noqa: F401  (the tables the migrations must produce)
from qms_engine.errors import ConfigurationError
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.runtime import Runtime
from qms_engine.storage.database import check_schema_current, create_db_engine, upgrade
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
    """The police station's inbox has one folder per register and one for SOP drafts."""
    inbox = qms_office.root / "inbox"
    assert {"GD", "MALKHANA", "DAK", "ARMS", "PASSPORT", "SOP-DRAFTS"} == {
        p.name for p in inbox.iterdir() if p.is_dir()
    }


def test_migrations_produce_exactly_the_models_schema(tmp_path: Path) -> None:
    """The Alembic migrations build the same schema the SQLModel models declare."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    try:
        upgrade(engine)
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_on_a_current_database_is_a_no_op(qms_office: TestOffice) -> None:
    """Upgrading a database that is already current changes nothing."""
    before, after = upgrade(qms_office.runtime.engine)
    assert before == after
    check_schema_current(qms_office.runtime.engine)


def test_database_without_schema_is_refused_with_the_upgrade_hint(tmp_path: Path) -> None:
    """Opening an empty database is refused, pointing at ``qms db upgrade``."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
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
    monkeypatch.setenv("QMS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(ConfigurationError, match="qms-engine needs"):
        Runtime.open(Workspace.load(qms_office.root), load_plugins())
