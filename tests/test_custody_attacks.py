"""Attacks on the chain of custody: each forged hand-over must make ``qms audit verify`` fail.

One real history is written through the engine (:mod:`qms_engine.custody`): two malkhana
entries, the first taken to court and back, the second disposed of by an order.  Each test
then plays an insider who writes the SQLite file, or holds a valid key: a forged
``custody.moved`` is appended to the chain, correctly linked, hashed and signed with the real
key of the clerk it names, so only the custody rule it breaks can catch it — and both the online
check and the check of an exported bundle must fail at that event, saying why.  A row written
by SQL alone (a disposal nobody signed, a broken seal marked intact) is caught by the table's
comparison with the chain.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from qms_engine.chain.events import CUSTODY_MOVED
from qms_engine.chain.signing import Signer
from qms_engine.clock import local_today, to_utc_text, utc_now
from qms_engine.custody import move
from qms_engine.documents.revisions import create_document
from qms_engine.extension.manager import load_plugins
from qms_engine.runtime import Runtime
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import STAFF
from tests.test_audit_attacks import History, _docx, verdicts
from tests.test_capa_attacks import assert_caught
from tests.test_cli import run

# The attacks edit the SQLite file directly, as an insider with the workspace folder would.
pytestmark = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)

FIELDS = {
    "case_number": "112/2026",
    "items": "देसी पिस्तौल (country-made pistol)",
    "seal_number": "S-0457",
    "depositing_officer": "SI Rakesh Verma",
}


@dataclass(frozen=True)
class Items:
    """The malkhana entries of the honest history."""

    returned: str  # to court and back: in the malkhana
    disposed: str  # disposed of by an order: moves no more


def build_custody(runtime: Runtime, signers: dict[str, Signer], files: Path) -> Items:
    """Through the engine: two entries filed; one to court and back, one disposed of."""
    office = runtime.office()
    files.mkdir(exist_ok=True)
    numbers = [
        create_document(
            runtime,
            office,
            actor=signers["clerk"],
            type_code="MALKHANA",
            title=title,
            path=_docx(files, f"{n}.docx", title, "Seizure memo"),
            fields=FIELDS,
        ).number
        for n, title in enumerate(("जब्त पिस्तौल", "जब्त शराब"))
    ]
    today = local_today(office.timezone)
    clerk = signers["clerk"]
    for to, back in (("court", today + timedelta(days=7)), ("malkhana", None)):
        move(
            runtime,
            number=numbers[0],
            actor=clerk,
            to=to,
            received_by="Court moharrir" if back else "HC Malkhana Moharrir",
            seal_intact=True,
            expected_back=back,
        )
    move(
        runtime,
        number=numbers[1],
        actor=signers["quality_coordinator"],
        to="disposed",
        received_by="नीलामी समिति",
        seal_intact=True,
        order="CJM order 45/2026",
    )
    return Items(*numbers)


@pytest.fixture(scope="module")
def custody_template(
    qms_office_template: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Items]:
    """The staffed workspace with the custody history written through the engine."""
    root = tmp_path_factory.mktemp("custody-history") / "ws"
    shutil.copytree(qms_office_template.root, root)
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        items = build_custody(runtime, qms_office_template.signers, root.parent / "files")
    finally:
        runtime.close()
    return root, items


@pytest.fixture
def hist(
    custody_template: tuple[Path, Items], qms_office_template: Any, tmp_path: Path
) -> Iterator[History]:
    """A fresh copy of the custody history for one test."""
    root = tmp_path / "ws"
    shutil.copytree(custody_template[0], root)
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        yield History(
            runtime,
            runtime.office(),
            dict(qms_office_template.signers),
            root,
            list(qms_office_template.issued),
        )
    finally:
        runtime.close()


@pytest.fixture
def items(custody_template: tuple[Path, Items]) -> Items:
    return custody_template[1]


def moved(to: str, source: str = "malkhana", **changes: Any) -> dict[str, Any]:
    """A ``custody.moved`` payload (to court unless ``to`` says otherwise)."""
    return {
        "from": source,
        "to": to,
        "received_by": "HC Ramesh",
        "seal_intact": True,
        "expected_back": "",
        "order": "",
        "note": "",
        **changes,
    }


def forge(hist: History, who: str, subject: str, payload: dict[str, Any], **body: Any) -> int:
    """Append a ``custody.moved`` about ``subject``, signed with the real key of the staff
    member ``who`` in their one role."""
    _username, full_name, role = STAFF[who]
    with hist.db() as db:
        return db.append(
            hist.signers[who],
            role=role,
            action=CUSTODY_MOVED.action,
            subject=subject,
            payload=payload,
            meaning=CUSTODY_MOVED.meaning,
            signer_name=full_name,
            **body,
        )


def test_the_honest_custody_history_verifies_online_and_as_a_bundle(
    hist: History, tmp_path: Path
) -> None:
    """Everything the engine wrote verifies, online, as a bundle and through `qms audit verify`."""
    for where, result in verdicts(hist, tmp_path).items():
        assert result.ok, (where, result.problems)
    done = run("-w", hist.root, "audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_disposal_without_an_order_signed_with_a_real_key_is_caught(
    hist: History, items: Items, tmp_path: Path
) -> None:
    """The clerk's own key signs a disposal naming no order: the chain says so."""
    seq = forge(hist, "clerk", items.returned, moved("disposed"))
    assert_caught(hist, tmp_path, seq, "a move to 'disposed' needs the reference of the order")
    done = run("-w", hist.root, "audit", "verify")
    assert done.returncode == 6, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (
            moved("disposed", order="\u200b", received_by="नीलामी समिति"),
            "a move to 'disposed' needs the reference of the order",
        ),
        (
            moved("disposed", order=" \u2060\ufeff\u200d ", received_by="नीलामी समिति"),
            "a move to 'disposed' needs the reference of the order",
        ),
        (
            moved("disposed", order="CJM order 45/2026", received_by="\u200b"),
            "'received_by' must be who received it, not empty",
        ),
    ],
    ids=["zero-width order", "invisible order", "invisible receiver"],
)
def test_an_invisible_order_or_receiver_signed_with_a_real_key_is_caught(
    hist: History, items: Items, tmp_path: Path, payload: dict[str, Any], fragment: str
) -> None:
    """The clerk's own key signs a disposal whose order, or whose receiver, is characters
    that show nothing (a zero-width space, a word joiner): blank, as the write path says, so
    the chain says so online and in the bundle, and `qms audit verify` fails (exit 6)."""
    seq = forge(hist, "clerk", items.returned, payload)
    assert_caught(hist, tmp_path, seq, fragment)
    done = run("-w", hist.root, "audit", "verify")
    assert done.returncode == 6, done.stdout + done.stderr


def test_a_move_from_the_wrong_place_is_caught(hist: History, items: Items, tmp_path: Path) -> None:
    """An item in the malkhana "returned from the FSL": not where the chain says it is."""
    seq = forge(hist, "clerk", items.returned, moved("malkhana", "fsl"))
    assert_caught(hist, tmp_path, seq, "moved from 'fsl', but it is at 'malkhana'")


def test_a_move_after_disposal_is_caught(hist: History, items: Items, tmp_path: Path) -> None:
    """Disposed property "taken to court" afterwards: nothing moves after a final place."""
    back = (date.today() + timedelta(days=5)).isoformat()
    seq = forge(hist, "clerk", items.disposed, moved("court", "disposed", expected_back=back))
    assert_caught(hist, tmp_path, seq, "a final place: nothing moves after it")


@pytest.mark.parametrize(
    ("who", "payload", "fragment"),
    [
        ("author", moved("fsl", expected_back="2099-01-01"), "handed over as 'author'"),
        ("clerk", moved("court"), "needs the day it is expected back"),
        ("clerk", moved("thana"), "'thana' is not one of its places"),
        ("clerk", moved("court", "court"), "moved from 'court' to the same place"),
    ],
)
def test_other_broken_rules_are_caught(
    hist: History, items: Items, tmp_path: Path, who: str, payload: dict[str, Any], fragment: str
) -> None:
    """A hand-over by someone who keeps no register, to court with no day it is due back, to
    a place the register does not have, or to where it already is."""
    seq = forge(hist, who, items.returned, payload)
    assert_caught(hist, tmp_path, seq, fragment)


def test_a_move_of_a_record_never_filed_is_caught(hist: History, tmp_path: Path) -> None:
    """A hand-over of an entry the chain never filed."""
    seq = forge(hist, "clerk", "PS-TEST1/MAL/2026/9999", moved("court", expected_back="2099-01-01"))
    assert_caught(hist, tmp_path, seq, "no such record was filed in this chain")


def test_a_disposal_written_by_sql_alone_is_caught(
    hist: History, items: Items, tmp_path: Path
) -> None:
    """A movement row nobody signed (the returned item "disposed of") and a seal marked
    intact afterwards are differences between the table and the chain."""
    with hist.db() as db:
        document_id, user_id = db.connection.execute(
            "SELECT document.id, app_user.id FROM document, app_user "
            "WHERE document.number = ? AND app_user.username = 'ramesh'",
            (items.returned,),
        ).fetchone()
        db.connection.execute(
            "INSERT INTO custody_movement (office_id, document_id, from_place, to_place, "
            "received_by, seal_intact, expected_back, order_ref, note, moved_by, moved_at, "
            "event_seq) VALUES (?, ?, 'malkhana', 'disposed', 'x', 1, NULL, '', '', ?, ?, ?)",
            (hist.office.id, document_id, user_id, to_utc_text(utc_now()), db.last_seq() + 1),
        )
        db.connection.execute(
            "UPDATE custody_movement SET seal_intact = 0 WHERE to_place = 'court'"
        )
    result = hist.verify()
    assert not result.ok
    found = "\n".join(result.problems)
    assert f"table custody_movement, {items.returned} at event #" in found
    assert "no event of the chain created it" in found
    assert "field seal_intact: chain says True, database says False" in found
