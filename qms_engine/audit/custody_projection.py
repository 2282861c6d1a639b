"""The ``custody_movement`` table as a projection of the chain (see :mod:`.projection`).

Each row is written only in the transaction that appends its ``custody.moved`` event, so the
chain alone says what it holds: the record, from, to, who received it, the seal, the day it
is due back, the order, the note, who handed it over (the signer) and the event.  A row the
chain did not write (a disposal inserted by SQL), one it wrote that is gone, and any field that
differs (a seal marked intact afterwards, an item "returned" by an UPDATE) are reported.  A
row's time must lie between the events around its own (stamped just before its event).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from qms_engine.audit.rows import Lines, Window, as_text
from qms_engine.chain import events
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.storage.models import CUSTODY_TABLE, DOCUMENT_TABLE, USER_TABLE

_Body = Mapping[str, Any]
_FIELDS = (
    ("from_place", "from"),
    ("to_place", "to"),
    ("received_by", "received_by"),
    ("seal_intact", "seal_intact"),
    ("expected_back", "expected_back"),
    ("order_ref", "order"),
    ("note", "note"),
)
"""Each column and the payload member it holds."""

_MOVEMENTS = (
    select(
        CUSTODY_TABLE.c.event_seq,
        DOCUMENT_TABLE.c.number,
        CUSTODY_TABLE.c.from_place,
        CUSTODY_TABLE.c.to_place,
        CUSTODY_TABLE.c.received_by,
        CUSTODY_TABLE.c.seal_intact,
        as_text(CUSTODY_TABLE.c.expected_back).label("expected_back"),
        CUSTODY_TABLE.c.order_ref,
        CUSTODY_TABLE.c.note,
        USER_TABLE.c.username.label("moved_by"),
        as_text(CUSTODY_TABLE.c.moved_at).label("moved_at"),
    )
    .outerjoin(DOCUMENT_TABLE, DOCUMENT_TABLE.c.id == CUSTODY_TABLE.c.document_id)
    .outerjoin(USER_TABLE, USER_TABLE.c.id == CUSTODY_TABLE.c.moved_by)
)


class CustodyProjection:
    """Takes in an office's ``custody.moved`` events; compares ``custody_movement`` with them."""

    def __init__(self, office: OfficeRef, window: Callable[[], list[Window]]) -> None:
        self.office = office
        self._window = window
        self.moves: dict[int, tuple[dict[str, Any], list[Window]]] = {}
        """Event seq → the row it must have written (by column), and its time window."""

    def handlers(self) -> dict[str, Callable[[_Body, str], None]]:
        """The events this projection takes in, by action."""
        return {events.CUSTODY_MOVED.action: self._moved}

    def _moved(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        row = {column: payload[member] for column, member in _FIELDS}
        row["expected_back"] = row["expected_back"] or None
        row["number"], row["moved_by"] = body["subject"], body["actor"]
        self.moves[body["seq"]] = (row, self._window())

    def problems(self, connection: Connection) -> list[str]:
        """Every difference between ``custody_movement`` and the chain fed."""
        lines = Lines("custody_movement")
        expected = dict(self.moves)
        query = _MOVEMENTS.where(CUSTODY_TABLE.c.office_id == self.office.id)
        for row in connection.execute(query):
            name = f"{row.number} at event #{row.event_seq}"
            found = expected.pop(row.event_seq, None)
            if found is None:
                lines.inserted(name)
                continue
            chain, slot = found
            stored = row._mapping
            for column in ("number", *(column for column, _ in _FIELDS), "moved_by"):
                database = stored[column]
                if column == "seal_intact" and database is not None:
                    database = bool(database)
                if chain[column] != database:
                    lines.differs(name, column, chain[column], database)
            lines.time(name, "moved_at", slot[0], row.moved_at)
        for seq, (chain, _slot) in expected.items():
            lines.deleted(f"{chain['number']} at event #{seq}")
        return lines.taken()
