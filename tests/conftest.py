"""Shared fixtures: a desk that files and moves SOPs as the staff, and a snapshot of what is stored.

The workspace itself (``qms_office``) and real .docx files (``make_docx``) come from the
``qms_engine.testing`` pytest plugin, exactly as a plugin author would get them.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Table, func, select

from qms_engine.documents.revisions import create_document, revise_document
from qms_engine.documents.transitions import TransitionResult, take_transition
from qms_engine.i18n import use_language
from qms_engine.storage.models import (
    ACTION_TABLE,
    DOCUMENT_TABLE,
    EVENT_TABLE,
    REVISION_TABLE,
    STATE_TABLE,
)
from qms_engine.testing import TestOffice

# Hypothesis (tests/test_properties.py): the same examples on every run, so CI fails on a bug and
# never by luck.  A fixed seed, a modest budget, no deadline (a slow CI machine is no bug), no
# example database written into the tree, and a blob to replay a failure with.
# HYPOTHESIS_PROFILE=explore searches afresh with more examples, for a local run.
settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, print_blob=True, database=None
)
settings.register_profile(
    "explore", settings.get_profile("ci"), derandomize=False, max_examples=1000
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The police station's General Diary is a day book (opened and closed each day) unless a
# deployment keeps it on paper.  The suite's offices file scanned GD pages from the inbox at any
# hour, so they are made with the day book off; tests/test_registers*.py make offices with it on.
os.environ["QMS_GD_DAY_BOOK"] = "off"


@pytest.fixture(autouse=True)
def _no_terminal_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's ``COLUMNS`` or ``LINES``: tables the tests read are laid
    out for a pipe (or the width a test sets itself), never wrapped to someone's terminal."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts in English (whatever ``QMS_LANG`` the developer has), and a
    ``--lang hi`` a test ran does not outlive it."""
    monkeypatch.delenv("QMS_LANG", raising=False)
    with use_language("en"):
        yield


# Who takes each transition unless a test says otherwise.
DEFAULT_ACTOR = {
    "submit": "author",
    "approve": "approver",
    "reject": "reviewer",
    "make_effective": "quality_coordinator",
    "withdraw": "quality_coordinator",
    "archive": "quality_coordinator",
}
ISSUE = ("submit", "approve", "make_effective")


@dataclass
class Desk:
    """Files SOPs and takes transitions as the office's staff (role keys of ``qms_office``)."""

    office: TestOffice
    make_docx: Callable[..., Path]
    _files: int = 0

    def docx(self, title: str = "SOP", text: str | None = None) -> Path:
        """A new, distinct .docx file."""
        self._files += 1
        return self.make_docx(f"file-{self._files}.docx", title, text or f"Text {self._files}")

    def new_sop(
        self,
        title: str = "Station office procedure",
        *,
        who: str = "author",
        path: Path | None = None,
    ) -> str:
        """Create an SOP (revision 0, draft) from ``path`` or a new file; returns its number."""
        revision = create_document(
            self.office.runtime,
            self.office.office,
            actor=self.office.signers[who],
            type_code="SOP",
            title=title,
            path=path or self.docx(title),
        )
        return revision.number

    def file_record(
        self,
        title: str,
        *,
        type_code: str = "GD",
        path: Path | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> str:
        """File a register record (a GD entry unless ``type_code`` says otherwise) as the
        clerk, from ``path`` or a new file; returns its number."""
        revision = create_document(
            self.office.runtime,
            self.office.office,
            actor=self.office.signers["clerk"],
            type_code=type_code,
            title=title,
            path=path or self.docx(title),
            fields=fields,
        )
        return revision.number

    def revise(
        self, number: str, *, who: str = "author", reason: str = "Updated", path: Path | None = None
    ) -> int:
        """Start a new draft revision from ``path`` or a new file; returns its revision number."""
        revision = revise_document(
            self.office.runtime,
            actor=self.office.signers[who],
            number=number,
            path=path or self.docx(),
            reason=reason,
        )
        return revision.revno

    def act(
        self, number: str, transition: str, who: str | None = None, comment: str = ""
    ) -> TransitionResult:
        """Take one transition, by default as the role that normally takes it."""
        return take_transition(
            self.office.runtime,
            number=number,
            transition=transition,
            actor=self.office.signers[who or DEFAULT_ACTOR[transition]],
            comment=comment,
        )

    def issue(self, number: str) -> TransitionResult:
        """Submit, approve and make effective the open draft; returns the last result."""
        results = [self.act(number, step) for step in ISSUE]
        return results[-1]


@pytest.fixture
def desk(qms_office: TestOffice, make_docx: Callable[..., Path]) -> Desk:
    """A desk working in the test office."""
    return Desk(qms_office, make_docx)


@dataclass(frozen=True)
class Stored:
    """Everything a write could leave behind: row counts, blobs and staging files."""

    events: int
    documents: int
    revisions: int
    states: int
    actions: int
    blobs: tuple[str, ...]
    staging: tuple[str, ...]


def _count(office: TestOffice, table: Table) -> int:
    with office.runtime.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def stored(qms_office: TestOffice) -> Callable[[], Stored]:
    """Call it before and after a refused request: equal snapshots mean nothing was written."""

    def snapshot() -> Stored:
        store = qms_office.runtime.store
        return Stored(
            events=_count(qms_office, EVENT_TABLE),
            documents=_count(qms_office, DOCUMENT_TABLE),
            revisions=_count(qms_office, REVISION_TABLE),
            states=_count(qms_office, STATE_TABLE),
            actions=_count(qms_office, ACTION_TABLE),
            blobs=tuple(store.iter_hashes()),
            staging=tuple(sorted(path.name for path in store.tmp_dir.iterdir())),
        )

    return snapshot


@pytest.fixture
def raw_sqlite(qms_office: TestOffice) -> Callable[[str], None]:
    """Run SQL on the workspace's SQLite file behind the engine's back, as an insider could."""

    def run(sql: str) -> None:
        connection = sqlite3.connect(qms_office.root / "qms.sqlite3")
        try:
            with connection:
                connection.executescript(sql)
        finally:
            connection.close()

    return run
