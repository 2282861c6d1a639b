"""The citizen-charter and record-room tables as a projection of the chain (see
:mod:`.projection`).

The rows of ``service_application``, ``record_room_record`` and ``disposal_list`` are written
only in the transaction that appends their event, so the chain alone says what they hold.
:class:`ServiceProjection` takes in an office's ``service.application.*`` and
``record_room.*`` events as they stream by, and reports every row the chain did not create
(an application, a deposit or a list inserted by SQL), every row it created that is gone, and
every field that differs: an application's service, desk, applicant, days received and due,
its decision and day disposed; a record's class, day closed and its weeding (a record marked
weeded by one UPDATE, or a weeding wiped); a list's records, proposer, approver (or
rejecter) and whether it was rejected.  Times (``received_at``, ``disposed_at``,
``deposited_at``, ``proposed_at``, ``approved_at``) must lie between the events around their
own.  The rows are few (one per application, record or
list), so their values are kept as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import BindParameter, Connection, Select, bindparam, select

from qms_engine.audit.rows import Lines, Window, as_text
from qms_engine.chain import events
from qms_engine.chain.canonical import canonical_text
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.storage.models import (
    APPLICATION_TABLE,
    DISPOSAL_LIST_TABLE,
    RECORD_ROOM_TABLE,
    USER_TABLE,
)

_Body = Mapping[str, Any]
Slot = list[Window]
_Row = dict[str, Any]
"""A row as the chain says it is: column → value, and ``at:`` + column → its time slot."""


class ServiceProjection:
    """The application, record-room and disposal-list rows an office's chain says exist.

    ``window()`` opens the time window of a row written with the current event.
    """

    def __init__(self, office: OfficeRef, window: Callable[[], Slot]) -> None:
        self.office = office
        self._window = window
        self.tables: dict[str, dict[str, _Row]] = {
            "service_application": {},
            "record_room_record": {},
            "disposal_list": {},
        }

    def handlers(self) -> dict[str, Callable[[_Body, str], None]]:
        """The events this projection takes in, by action."""
        return {
            events.APPLICATION_RECEIVED.action: self._received,
            events.APPLICATION_DISPOSED.action: self._disposed,
            events.RECORD_DEPOSITED.action: self._deposited,
            events.RECORDS_WEEDED.action: self._weeded,
            events.DISPOSAL_PROPOSED.action: self._proposed,
            events.DISPOSAL_APPROVED.action: self._approved,
            events.DISPOSAL_REJECTED.action: self._rejected,
        }

    # ------------------------------------------------------------------ reading the chain

    def _new(self, table: str, body: _Body, row: _Row, stamped: str) -> None:
        rows = self.tables[table]
        if body["subject"] not in rows:  # a repeat is the verifier's to report
            rows[body["subject"]] = {**row, f"at:{stamped}": self._window()}

    def _update(self, table: str, subject: Any, values: _Row, stamped: str | None) -> None:
        """A row's one later change (disposed of, weeded, approved); a repeat is the
        verifier's to report."""
        row = self.tables[table].get(subject)
        if row is not None and not row.get("changed"):
            row.update(values, changed=True)
            if stamped:
                row[f"at:{stamped}"] = self._window()

    def _received(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        row = {name: payload[name] for name in ("service", "desk", "applicant", "received", "due")}
        row |= {"received_by": body["actor"], "event_seq": body["seq"]}
        row |= dict.fromkeys(("decision", "disposed_on", "disposed_by", "disposed_seq", "note"))
        self._new("service_application", body, row, "received_at")

    def _disposed(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        values = {
            "decision": payload["decision"],
            "disposed_on": payload["disposed"],
            "disposed_by": body["actor"],
            "disposed_seq": body["seq"],
            "note": payload["note"],
        }
        self._update("service_application", body["subject"], values, "disposed_at")

    def _deposited(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        row = {
            "record_class": payload["class"],
            "closed_on": payload["closed"],
            "deposited_by": body["actor"],
            "event_seq": body["seq"],
        }
        row |= dict.fromkeys(("weeded_on", "weeded_list", "weeded_seq"))
        self._new("record_room_record", body, row, "deposited_at")

    def _weeded(self, body: _Body, time: str) -> None:
        payload = body["payload"]
        values = {"weeded_on": payload["on"], "weeded_list": body["subject"]}
        for record in payload["records"]:
            self._update("record_room_record", record, values | {"weeded_seq": body["seq"]}, None)

    def _proposed(self, body: _Body, time: str) -> None:
        row = {
            "records": canonical_text(body["payload"]["records"]),
            "proposed_by": body["actor"],
            "event_seq": body["seq"],
        }
        row |= dict.fromkeys(("approved_by", "approved_seq", "approval_comment"))
        row["rejected"] = False
        self._new("disposal_list", body, row, "proposed_at")

    def _approved(self, body: _Body, time: str, *, rejected: bool = False) -> None:
        values = {
            "approved_by": body["actor"],
            "approved_seq": body["seq"],
            "approval_comment": body["payload"]["comment"],
            "rejected": rejected,
        }
        self._update("disposal_list", body["subject"], values, "approved_at")

    def _rejected(self, body: _Body, time: str) -> None:
        self._approved(body, time, rejected=True)

    # ------------------------------------------------------------------ comparing

    def problems(self, connection: Connection) -> list[str]:
        """Every difference between the three tables and the chain fed, table by table."""
        found: list[str] = []
        for table, statement in _STATEMENTS.items():
            lines = Lines(table)
            expected = dict(self.tables[table])
            for stored in connection.execute(statement, {"office_id": self.office.id}):
                database = dict(stored._mapping)
                key = database.pop("number")
                chain = expected.pop(key, None)
                if chain is None:
                    lines.inserted(key)
                else:
                    _compare(lines, key, chain, database)
            for key in expected:
                lines.deleted(key)
            found += lines.taken()
        return found


def _compare(lines: Lines, key: str, chain: _Row, database: _Row) -> None:
    """Each column of a row against what the chain says of it (a time against its window)."""
    for column, stored in database.items():
        slot = chain.get(f"at:{column}")
        if slot is not None:
            lines.time(key, column, slot[0], stored)
        elif column.endswith("_at"):
            if stored is not None:  # stamped by an event the chain does not have
                lines.differs(key, column, None, stored)
        elif chain.get(column) != stored:
            lines.differs(key, column, chain.get(column), stored)


# ---------------------------------------------------------------------- statements

_OFFICE: BindParameter[int] = bindparam("office_id")
_RECEIVER = USER_TABLE.alias("receiver")
_DISPOSER = USER_TABLE.alias("disposer")
_DEPOSITOR = USER_TABLE.alias("depositor")
_PROPOSER = USER_TABLE.alias("proposer")
_APPROVER = USER_TABLE.alias("approver")
_APPLICATIONS = (
    select(
        APPLICATION_TABLE.c.number,
        APPLICATION_TABLE.c.service,
        APPLICATION_TABLE.c.desk,
        APPLICATION_TABLE.c.applicant,
        as_text(APPLICATION_TABLE.c.received).label("received"),
        as_text(APPLICATION_TABLE.c.due).label("due"),
        _RECEIVER.c.username.label("received_by"),
        as_text(APPLICATION_TABLE.c.received_at).label("received_at"),
        APPLICATION_TABLE.c.event_seq,
        APPLICATION_TABLE.c.decision,
        as_text(APPLICATION_TABLE.c.disposed_on).label("disposed_on"),
        _DISPOSER.c.username.label("disposed_by"),
        as_text(APPLICATION_TABLE.c.disposed_at).label("disposed_at"),
        APPLICATION_TABLE.c.disposed_seq,
        APPLICATION_TABLE.c.note,
    )
    .outerjoin(_RECEIVER, _RECEIVER.c.id == APPLICATION_TABLE.c.received_by)
    .outerjoin(_DISPOSER, _DISPOSER.c.id == APPLICATION_TABLE.c.disposed_by)
    .where(APPLICATION_TABLE.c.office_id == _OFFICE)
)
_RECORDS = (
    select(
        RECORD_ROOM_TABLE.c.number,
        RECORD_ROOM_TABLE.c.record_class,
        as_text(RECORD_ROOM_TABLE.c.closed_on).label("closed_on"),
        _DEPOSITOR.c.username.label("deposited_by"),
        as_text(RECORD_ROOM_TABLE.c.deposited_at).label("deposited_at"),
        RECORD_ROOM_TABLE.c.event_seq,
        as_text(RECORD_ROOM_TABLE.c.weeded_on).label("weeded_on"),
        RECORD_ROOM_TABLE.c.weeded_list,
        RECORD_ROOM_TABLE.c.weeded_seq,
    )
    .outerjoin(_DEPOSITOR, _DEPOSITOR.c.id == RECORD_ROOM_TABLE.c.deposited_by)
    .where(RECORD_ROOM_TABLE.c.office_id == _OFFICE)
)
_LISTS = (
    select(
        DISPOSAL_LIST_TABLE.c.number,
        DISPOSAL_LIST_TABLE.c.records,
        _PROPOSER.c.username.label("proposed_by"),
        as_text(DISPOSAL_LIST_TABLE.c.proposed_at).label("proposed_at"),
        DISPOSAL_LIST_TABLE.c.event_seq,
        _APPROVER.c.username.label("approved_by"),
        as_text(DISPOSAL_LIST_TABLE.c.approved_at).label("approved_at"),
        DISPOSAL_LIST_TABLE.c.approved_seq,
        DISPOSAL_LIST_TABLE.c.approval_comment,
        DISPOSAL_LIST_TABLE.c.rejected,
    )
    .outerjoin(_PROPOSER, _PROPOSER.c.id == DISPOSAL_LIST_TABLE.c.proposed_by)
    .outerjoin(_APPROVER, _APPROVER.c.id == DISPOSAL_LIST_TABLE.c.approved_by)
    .where(DISPOSAL_LIST_TABLE.c.office_id == _OFFICE)
)
_STATEMENTS: dict[str, Select[Any]] = {
    "service_application": _APPLICATIONS,
    "record_room_record": _RECORDS,
    "disposal_list": _LISTS,
}
