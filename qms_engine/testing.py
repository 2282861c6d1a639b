"""Pytest fixtures for qms-engine and plugin authors (loaded by the ``pytest11`` entry point).

``qms_office`` gives a real workspace (database, blob store) with one police station, a user
for every role, and their unlocked signing keys; ``make_docx`` writes real .docx files.

Every workspace fixture is parametrised by backend: ``sqlite`` (a file in the workspace) and
``postgresql`` (a fresh database on the server named by ``QMS_TEST_POSTGRES_URL``, which
``.ci/postgres`` starts).  Without that variable the PostgreSQL cases are skipped — except under
``CI=true``, where they fail, so CI can never pass without testing PostgreSQL.

Making a key costs a deliberate tenth of a second (scrypt), so the staffed workspace is built
once per session and backend, and each test gets its own copy (a copied folder, and on
PostgreSQL a database cloned from a template).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import rotate, unlock
from qms_engine.people.users import add_user
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.workspace import CONFIG_NAME, Workspace

OFFICE_CODE = "PS-TEST1"
TEST_PASSPHRASE = "test-passphrase"
STAFF = {
    roles.AUTHOR: ("anita", "ASI Anita Sharma", roles.AUTHOR),
    "author2": ("mohan", "HC Mohan Lal", roles.AUTHOR),
    roles.REVIEWER: ("rakesh", "SI Rakesh Verma", roles.REVIEWER),
    roles.APPROVER: ("sks", "Inspector S. K. Singh", roles.APPROVER),
    "approver2": ("meena", "Inspector Meena Kumari", roles.APPROVER),
    roles.QUALITY_COORDINATOR: ("priya", "HC Priya Yadav", roles.QUALITY_COORDINATOR),
    roles.CLERK: ("ramesh", "Constable Ramesh", roles.CLERK),
    roles.AUDITOR: ("audit", "Shri A. Auditor", roles.AUDITOR),
}
"""Signer key (``signers["author2"]``) → user name, full name and the one role granted."""


@dataclass(frozen=True)
class TestOffice:
    """A workspace with one office and a signer per role: ``signers["approver"]``."""

    __test__ = False  # not a test class, despite its name

    runtime: Runtime
    office: OfficeRef
    signers: dict[str, Signer]
    root: Path

    def username(self, who: str) -> str:
        """The user name behind a role key such as ``"approver2"``."""
        return self.signers[who].username


BACKENDS = ("sqlite", "postgresql")
POSTGRES_ENV = "QMS_TEST_POSTGRES_URL"


class PostgresServer:
    """The test server: creates and drops uniquely named databases on it."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def create(self, template: str | None = None) -> str:
        """A new, empty (or template-cloned) database; returns its URL."""
        name = f"qms_test_{uuid.uuid4().hex[:12]}"
        clone = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}{clone} ENCODING 'UTF8'")
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`create`, disconnecting anyone still on it."""
        name = make_url(url).database
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def qms_postgres() -> PostgresServer | None:
    """The PostgreSQL test server, or None when none is configured (outside CI)."""
    url = os.environ.get(POSTGRES_ENV)
    return PostgresServer(url) if url else None


@pytest.fixture(scope="session", params=BACKENDS)
def qms_backend(request: pytest.FixtureRequest, qms_postgres: PostgresServer | None) -> str:
    """The database backend under test: each workspace test runs on both."""
    backend = str(request.param)
    if backend == "postgresql" and qms_postgres is None:
        message = f"PostgreSQL tests need {POSTGRES_ENV} (`bash .ci/run` starts a server)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must test PostgreSQL: {message}")
        pytest.skip(message)
    return backend


@pytest.fixture
def qms_database_url(qms_backend: str, qms_postgres: PostgresServer | None) -> Iterator[str | None]:
    """A database URL for a new workspace: None (SQLite in the workspace) or a fresh database."""
    if qms_backend == "sqlite" or qms_postgres is None:
        yield None
        return
    url = qms_postgres.create()
    try:
        yield url
    finally:
        qms_postgres.drop(url)


@dataclass(frozen=True)
class _Template:
    root: Path
    signers: dict[str, Signer]
    database: str | None  # PostgreSQL template database name
    issued: list[Signer]
    """The temporary keys the admin issued (retired since), for tests that re-sign history."""


def staff_member(
    runtime: Runtime,
    office: OfficeRef,
    admin: Signer,
    username: str,
    full_name: str,
    roles: Collection[str],
    passphrase: str = TEST_PASSPHRASE,
    kind: str = "person",
    issued: list[Signer] | None = None,
) -> Signer:
    """Enrol a user as an admin does, then let them choose their own key as they must before
    acting (the admin's key for them is temporary); returns their unlocked signer.  The
    temporary key is appended to ``issued`` if given."""
    add_user(
        runtime,
        office,
        actor=admin,
        username=username,
        full_name=full_name,
        roles=roles,
        passphrase=passphrase,
        kind=kind,
    )
    temporary = unlock(runtime, username, passphrase)
    rotate(runtime, office, actor=temporary, username=username, new_passphrase=passphrase)
    if issued is not None:
        issued.append(temporary)
    return unlock(runtime, username, passphrase)


@pytest.fixture(scope="session")
def qms_office_template(
    qms_backend: str,
    qms_postgres: PostgresServer | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[_Template]:
    """A staffed police-station workspace, built once per backend; tests copy it."""
    root = tmp_path_factory.mktemp(f"qms-template-{qms_backend}") / "ws"
    url = qms_postgres.create() if qms_backend == "postgresql" and qms_postgres else None
    result = init_workspace(
        root,
        plugins=load_plugins(),
        office_type="police_station",
        office_code=OFFICE_CODE,
        office_name="कोतवाली परीक्षण",
        admin="admin",
        admin_name="Station Admin",
        admin_passphrase=TEST_PASSPHRASE,
        office_passphrase=TEST_PASSPHRASE,
        database_url=url,
    )
    runtime = Runtime.open(result.workspace, load_plugins())
    try:
        admin = unlock(runtime, "admin", TEST_PASSPHRASE)
        signers = {roles.ADMIN: admin}
        issued: list[Signer] = []
        for key, (username, full_name, role) in STAFF.items():
            signers[key] = staff_member(
                runtime, result.office, admin, username, full_name, [role], issued=issued
            )
    finally:
        runtime.close()
    yield _Template(root, signers, make_url(url).database if url else None, issued)
    if url and qms_postgres:
        qms_postgres.drop(url)


@pytest.fixture
def qms_office(
    qms_office_template: _Template, qms_postgres: PostgresServer | None, tmp_path: Path
) -> Iterator[TestOffice]:
    """A fresh copy of the staffed workspace (SQLite file or PostgreSQL database), for one test."""
    root = tmp_path / "ws"
    shutil.copytree(qms_office_template.root, root)
    url = None
    if qms_office_template.database and qms_postgres:
        url = qms_postgres.create(template=qms_office_template.database)
        config = root / CONFIG_NAME
        lines = config.read_text(encoding="utf-8").splitlines()
        config.write_text(
            "\n".join(
                f"database_url = {json.dumps(url)}" if line.startswith("database_url") else line
                for line in lines
            )
            + "\n",
            encoding="utf-8",
        )
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        yield TestOffice(runtime, runtime.office(), dict(qms_office_template.signers), root)
    finally:
        runtime.close()
        if url and qms_postgres:
            qms_postgres.drop(url)


@pytest.fixture
def make_docx(tmp_path: Path) -> Callable[..., Path]:
    """Write a real .docx: ``make_docx("name.docx", "title", "paragraph", …)``."""
    folder = tmp_path / "files"
    folder.mkdir(exist_ok=True)

    def make(name: str, title: str = "SOP", *paragraphs: str) -> Path:
        document = docx.Document()
        document.core_properties.title = title
        document.add_heading(title, level=1)
        for text in paragraphs or (f"Body of {name}",):
            document.add_paragraph(text)
        path = folder / name
        document.save(str(path))
        return path

    return make
