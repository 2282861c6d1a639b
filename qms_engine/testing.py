"""Pytest fixtures for qms-engine and plugin authors (loaded by the ``pytest11`` entry point).

``qms_office`` gives a real workspace (SQLite file, blob store) with one police station and a
user for every role; ``make_docx`` writes real .docx files with python-docx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest

from qms_engine.audit import OfficeRef
from qms_engine.offices import init_workspace
from qms_engine.runtime import Runtime
from qms_engine.users import add_user

OFFICE_CODE = "PS-TEST1"
STAFF = {
    "author": ("anita", "ASI Anita Sharma"),
    "author2": ("mohan", "HC Mohan Lal"),
    "reviewer": ("rakesh", "SI Rakesh Verma"),
    "approver": ("sks", "Inspector S. K. Singh"),
    "approver2": ("meena", "Inspector Meena Kumari"),
    "quality_coordinator": ("priya", "HC Priya Yadav"),
    "clerk": ("ramesh", "Constable Ramesh (clerk)"),
    "auditor": ("audit", "Shri A. Auditor"),
}


@dataclass(frozen=True)
class TestOffice:
    """A workspace with one office and a user per role: ``users["approver"]`` is a username."""

    runtime: Runtime
    office: OfficeRef
    users: dict[str, str]
    root: Path


@pytest.fixture
def qms_office(tmp_path: Path) -> Iterator[TestOffice]:
    """A fresh police-station workspace on a real SQLite file, with staff in every role."""
    result = init_workspace(
        tmp_path / "ws",
        office_type="police_station",
        office_code=OFFICE_CODE,
        office_name="कोतवाली परीक्षण",
        admin="admin",
        admin_name="Admin",
    )
    runtime = Runtime.open(result.workspace)
    office = runtime.office()
    for key, (username, full_name) in STAFF.items():
        role = key.rstrip("0123456789")
        add_user(
            runtime, office, actor="admin", username=username, full_name=full_name, roles=[role]
        )
    try:
        yield TestOffice(
            runtime, office, {key: name for key, (name, _) in STAFF.items()}, result.workspace.root
        )
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
