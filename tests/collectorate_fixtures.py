"""A real collectorate workspace for the services and record-room tests, on SQLite and
PostgreSQL (``qms_database_url``): the collectorate plugin's office, its admin, and a person
per role the rules name, each with their own key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result

from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.cli import cli as main_cli
from qms_engine.clock import utc_now, years_after
from qms_engine.documents.revisions import create_document
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import unlock
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TEST_PASSPHRASE, staff_member
from tests.test_cli import PASSPHRASES, run

CODE = "COL-BSR"
STAFF = {
    "clerk": ("sunita", "पटल सहायक सुनीता", roles.CLERK),
    "clerk2": ("harish", "Record keeper Harish", roles.CLERK),
    "approver": ("adm", "ADM (Finance and Revenue)", roles.APPROVER),
    "coordinator": ("qc", "Quality coordinator", roles.QUALITY_COORDINATOR),
}


@dataclass(frozen=True)
class Collectorate:
    """The workspace, its office and a signer per key of :data:`STAFF` (and ``admin``)."""

    runtime: Runtime
    office: OfficeRef
    signers: dict[str, Signer]
    root: Path

    def file(self, tmp_path: Path, title: str = "भूमि विवाद नस्ती") -> str:
        """File a FILE (नस्ती) record as the clerk; its number."""
        path = tmp_path / f"{title}.pdf"
        path.write_bytes(b"%PDF-1.4\n% " + title.encode() + b"\n%%EOF\n")
        made = create_document(
            self.runtime,
            self.office,
            actor=self.signers["clerk"],
            type_code="FILE",
            title=title,
            path=path,
        )
        return made.number

    def to_record_room(self, number: str) -> str:
        """Hand file ``number`` over to the record room (where it must be to be deposited)."""
        from qms_engine.custody.movements import move

        move(
            self.runtime,
            number=number,
            actor=self.signers["clerk"],
            to="record_room",
            received_by="Record keeper Harish",
            seal_intact=True,
        )
        return number

    def sop(self, path: Path) -> str:
        """A draft SOP (a controlled document, never deposited) from the .docx ``path``,
        written by the clerk made an author; its number."""
        from qms_engine.people.users import grant_roles

        grant_roles(
            self.runtime, self.office, actor=self.signers["admin"], username="sunita",
            roles=["author"],
        )  # fmt: skip
        made = create_document(
            self.runtime, self.office, actor=self.signers["clerk"], type_code="SOP",
            title="Office procedure", path=path,
        )  # fmt: skip
        return made.number

    def closed_file(self, tmp_path: Path, title: str = "भूमि विवाद नस्ती") -> str:
        """A FILE record filed and handed over to the record room; its number."""
        return self.to_record_room(self.file(tmp_path, title))


@pytest.fixture
def collectorate(qms_database_url: str | None, tmp_path: Path) -> Iterator[Collectorate]:
    """A fresh collectorate (जिलाधिकारी कार्यालय, बुलंदशहर) with its staff."""
    yield from open_collectorate(qms_database_url, tmp_path)


def open_collectorate(database_url: str | None, tmp_path: Path) -> Iterator[Collectorate]:
    """Make the collectorate's workspace in ``tmp_path``, yield it open, then close it."""
    root = tmp_path / "col"
    init_workspace(
        root,
        plugins=load_plugins(),
        office_type="collectorate",
        office_code=CODE,
        office_name="कलेक्ट्रेट बुलंदशहर",
        admin="admin",
        admin_name="Collectorate admin",
        admin_passphrase=TEST_PASSPHRASE,
        office_passphrase=TEST_PASSPHRASE,
        database_url=database_url,
    )
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        office = runtime.office()
        admin = unlock(runtime, "admin", TEST_PASSPHRASE)
        signers = {"admin": admin}
        for key, (username, full_name, role) in STAFF.items():
            signers[key] = staff_member(runtime, office, admin, username, full_name, [role])
        yield Collectorate(runtime, office, signers, root)
    finally:
        runtime.close()


def later(days: int = 0, years: int = 0) -> time_machine.travel:
    """The clock moved on ``years`` and ``days`` from now (and ticking): run the code that
    acts then, and the verification of what it wrote, inside it."""
    moment = utc_now()
    return time_machine.travel(
        years_after(moment.date(), years) - moment.date() + moment + timedelta(days=days),
        tick=True,
    )


def cli(col: Collectorate, *args: str) -> Result:
    """``qms -w WORKSPACE ARGS`` in-process, every passphrase in the environment (an engine
    error propagates: for its exit code, see :func:`refused`)."""
    return CliRunner().invoke(
        main_cli, ["-w", str(col.root), *args], env=PASSPHRASES, catch_exceptions=False
    )


def refused(col: Collectorate, *args: str) -> tuple[int, str]:
    """``qms -w WORKSPACE ARGS`` as a process, for its exit code and what it said."""
    done = run("-w", col.root, *args)
    return done.returncode, done.stdout + done.stderr
