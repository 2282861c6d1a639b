"""Several processes writing at once: the chain stays linear, nothing is lost or applied twice."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path

import docx
from sqlalchemy import select

from qms_engine.chain.reader import verify_chain
from qms_engine.documents.master_list import list_documents
from qms_engine.documents.revisions import create_document
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import QmsError
from qms_engine.extension.manager import load_plugins
from qms_engine.people.keys import rotate, unlock
from qms_engine.people.offices import add_office
from qms_engine.people.users import grant_roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import EVENT_TABLE
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TEST_PASSPHRASE, TestOffice

CONTEXT = multiprocessing.get_context("spawn")  # each worker opens its own connections


def _write_docx(path: Path, text: str) -> Path:
    document = docx.Document()
    document.add_paragraph(text)
    document.save(str(path))
    return path


def _approve(root: str, username: str, number: str, start: object) -> str:
    """Worker: wait for the start signal, then try to approve; report what happened."""
    runtime = Runtime.open(Workspace.load(Path(root)), load_plugins())
    try:
        signer = unlock(runtime, username, TEST_PASSPHRASE)
        start.wait()  # type: ignore[attr-defined]
        take_transition(runtime, number=number, transition="approve", actor=signer)
        return "approved"
    except QmsError as error:
        return f"refused: {error}"
    finally:
        runtime.close()


def _create_many(root: str, office: str, username: str, count: int, start: object) -> list[str]:
    """Worker: create ``count`` documents as fast as possible; returns their numbers."""
    runtime = Runtime.open(Workspace.load(Path(root)), load_plugins())
    try:
        signer = unlock(runtime, username, TEST_PASSPHRASE)
        where = runtime.office(office)
        folder = Path(root) / f"drafts-{office}-{username}"
        folder.mkdir(exist_ok=True)
        files = [
            _write_docx(folder / f"{i}.docx", f"{office} {username} {i}") for i in range(count)
        ]
        start.wait()  # type: ignore[attr-defined]
        return [
            create_document(
                runtime, where, actor=signer, type_code="SOP", title=f"SOP {i}", path=path
            ).number
            for i, path in enumerate(files)
        ]
    finally:
        runtime.close()


def test_two_approvers_racing_exactly_one_wins(qms_office: TestOffice, tmp_path: Path) -> None:
    """Four approvals of one revision at once: one is applied, the rest are told it is done."""
    runtime, signers = qms_office.runtime, qms_office.signers
    number = create_document(
        runtime,
        qms_office.office,
        actor=signers["author"],
        type_code="SOP",
        title="Race",
        path=_write_docx(tmp_path / "r.docx", "race"),
    ).number
    take_transition(runtime, number=number, transition="submit", actor=signers["author"])
    start = CONTEXT.Manager().Event()
    approvers = [qms_office.username("approver"), qms_office.username("approver2")] * 2
    with CONTEXT.Pool(len(approvers)) as pool:
        pending = [
            pool.apply_async(_approve, (str(qms_office.root), who, number, start))
            for who in approvers
        ]
        start.set()
        outcomes = [result.get(timeout=120) for result in pending]
    assert sorted(outcomes)[0] == "approved"
    assert Counter(o == "approved" for o in outcomes) == Counter({True: 1, False: 3})
    assert all("already approved" in o for o in outcomes if o != "approved")
    with runtime.engine.connect() as connection:
        verify_chain(connection, qms_office.office)
    approvals = [e for e in _office_events(runtime, qms_office.office.id) if e.endswith("approved")]
    assert approvals == ["document.revision.approved"]


def test_writers_in_one_and_many_offices_keep_every_chain_linear(qms_office: TestOffice) -> None:
    """Processes creating documents in one office and in a second office at the same time:
    every document is numbered once, every event is written once, both chains verify."""
    runtime, signers = qms_office.runtime, qms_office.signers
    second = add_office(
        runtime,
        actor=signers["admin"],
        from_office=qms_office.office,
        code="PS-TEST2",
        name="थाना दूसरा",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )
    authors = [qms_office.username("author"), qms_office.username("author2")]
    for username in authors:
        grant_roles(runtime, second, actor=signers["admin"], username=username, roles=["author"])
        # The admin announced their key in PS-TEST2: there it is the admin's registration, so
        # each chooses a key of their own (registered by them in both offices) before acting.
        own = next(s for s in signers.values() if s.username == username)
        rotate(runtime, second, actor=own, username=username, new_passphrase=TEST_PASSPHRASE)
    per_worker = 6
    plan = [(office, who) for office in ("PS-TEST1", "PS-TEST2") for who in authors]
    start = CONTEXT.Manager().Event()
    with CONTEXT.Pool(len(plan)) as pool:
        pending = [
            pool.apply_async(_create_many, (str(qms_office.root), office, who, per_worker, start))
            for office, who in plan
        ]
        start.set()
        numbers = [number for result in pending for number in result.get(timeout=300)]
    assert len(numbers) == len(set(numbers)) == len(plan) * per_worker
    for office in (qms_office.office, second):
        listed = [d.number for d in list_documents(runtime, office=office)]
        expected = [f"{office.code}/SOP/{i:03d}" for i in range(1, 2 * per_worker + 1)]
        assert sorted(listed) == expected
        with runtime.engine.connect() as connection:
            events = verify_chain(connection, office)
        created = [e for e in _office_events(runtime, office.id) if e == "document.created"]
        assert len(created) == 2 * per_worker
        assert events > 0


def _office_events(runtime: Runtime, office_id: int) -> list[str]:
    """The actions of an office's chain, in order."""
    with runtime.engine.connect() as connection:
        return list(
            connection.execute(
                select(EVENT_TABLE.c.action)
                .where(EVENT_TABLE.c.office_id == office_id)
                .order_by(EVENT_TABLE.c.seq)
            ).scalars()
        )
