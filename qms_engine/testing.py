"""Pytest fixtures for qms-engine and plugin authors (loaded by the ``pytest11`` entry point).

``qms_office`` gives a real workspace (SQLite file, blob store) with one police station, a user
for every role, and their unlocked signing keys; ``make_docx`` writes real .docx files.

Making a key costs a deliberate tenth of a second (scrypt), so the staffed workspace is built
once per session and each test gets its own copy of the folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest

from qms_engine.audit import OfficeRef
from qms_engine.keys import unlock
from qms_engine.offices import init_workspace
from qms_engine.runtime import Runtime
from qms_engine.signing import Signer
from qms_engine.users import add_user
from qms_engine.workspace import Workspace

OFFICE_CODE = "PS-TEST1"
TEST_PASSPHRASE = "test-passphrase"
STAFF = {
    "author": ("anita", "ASI Anita Sharma"),
    "author2": ("mohan", "HC Mohan Lal"),
    "reviewer": ("rakesh", "SI Rakesh Verma"),
    "approver": ("sks", "Inspector S. K. Singh"),
    "approver2": ("meena", "Inspector Meena Kumari"),
    "quality_coordinator": ("priya", "HC Priya Yadav"),
    "clerk": ("ramesh", "Constable Ramesh"),
    "auditor": ("audit", "Shri A. Auditor"),
}


@dataclass(frozen=True)
class TestOffice:
    """A workspace with one office and a signer per role: ``signers["approver"]``."""

    runtime: Runtime
    office: OfficeRef
    signers: dict[str, Signer]
    root: Path

    def username(self, who: str) -> str:
        """The user name behind a role key such as ``"approver2"``."""
        return self.signers[who].username


@pytest.fixture(scope="session")
def qms_office_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Signer]]:
    """A staffed police-station workspace, built once; tests copy it."""
    root = tmp_path_factory.mktemp("qms-template") / "ws"
    result = init_workspace(
        root,
        office_type="police_station",
        office_code=OFFICE_CODE,
        office_name="कोतवाली परीक्षण",
        admin="admin",
        admin_name="Station Admin",
        admin_passphrase=TEST_PASSPHRASE,
        office_passphrase=TEST_PASSPHRASE,
    )
    runtime = Runtime.open(result.workspace)
    try:
        admin = unlock(runtime, "admin", TEST_PASSPHRASE)
        signers = {"admin": admin}
        for key, (username, full_name) in STAFF.items():
            add_user(
                runtime,
                result.office,
                actor=admin,
                username=username,
                full_name=full_name,
                roles=[key.rstrip("0123456789")],
                passphrase=TEST_PASSPHRASE,
            )
            signers[key] = unlock(runtime, username, TEST_PASSPHRASE)
    finally:
        runtime.close()
    return root, signers


@pytest.fixture
def qms_office(
    qms_office_template: tuple[Path, dict[str, Signer]], tmp_path: Path
) -> Iterator[TestOffice]:
    """A fresh copy of the staffed workspace on a real SQLite file, for one test."""
    template, signers = qms_office_template
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    runtime = Runtime.open(Workspace.load(root))
    try:
        yield TestOffice(runtime, runtime.office(), dict(signers), root)
    finally:
        runtime.close()


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
