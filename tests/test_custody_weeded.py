"""A file (नस्ती) the record room weeded no longer exists: it is never handed over again.

The engine refuses the hand-over (on SQLite and PostgreSQL, through the API and the CLI), and
a hand-over forged after the weeding, signed with the clerk's real key, makes `qms audit
verify` fail at that event, online and on a bundle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qms_engine.chain import events
from qms_engine.clock import local_today
from qms_engine.custody import move
from qms_engine.errors import RuleViolation
from qms_engine.record_room.room import approve, deposit, propose, weed
from tests.collectorate_fixtures import Collectorate, collectorate, later, refused
from tests.test_audit_attacks import History
from tests.test_capa_attacks import assert_caught
from tests.test_collectorate_attacks import Made, forge, hist
from tests.test_custody_attacks import moved

__all__ = ["collectorate", "hist"]  # the fixtures, imported for pytest


def test_a_weeded_file_is_not_handed_over(collectorate: Collectorate, tmp_path: Path) -> None:
    """A class E file (a year) weeded a year and a day on: a hand-over to a desk is refused
    (exit 5), through the engine and `qms custody move`."""
    col, s = collectorate, collectorate.signers
    number = col.closed_file(tmp_path, "डाक नस्ती")
    today = local_today(col.office.timezone)
    deposit(
        col.runtime, office=col.office, actor=s["clerk2"], number=number, record_class="E",
        closed=today,
    )  # fmt: skip
    with later(years=1, days=1):
        listed = propose(col.runtime, office=col.office, actor=s["clerk2"], records=[number])
        approve(col.runtime, number=listed.number, actor=s["approver"], comment="ठीक")
        weed(col.runtime, number=listed.number, actor=s["clerk2"])
        with pytest.raises(RuleViolation, match="was weeded from the record room"):
            move(
                col.runtime, number=number, actor=s["clerk"], to="revenue",
                received_by="राजस्व पटल", seal_intact=True,
            )  # fmt: skip
        code, said = refused(
            col, "custody", "move", number, "--to", "revenue", "--received-by", "राजस्व पटल",
            "--seal", "intact", "--as", "sunita",
        )  # fmt: skip
        assert code == 5 and "was weeded from the record room" in said, said


@pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)
def test_a_hand_over_after_weeding_is_caught(hist: tuple[History, Made], tmp_path: Path) -> None:
    """The clerk's own key signs a hand-over of the weeded file from the dak to the revenue
    desk: the chain says it was moved after the record room weeded it."""
    history, made = hist
    payload = moved("revenue", "record_room", received_by="राजस्व पटल")
    seq = forge(history, "clerk", events.CUSTODY_MOVED, made.yearly, **payload)
    assert_caught(history, tmp_path, seq, "moved after the record room weeded it")
