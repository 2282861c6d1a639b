"""Handing over a register's item, and reading where each one is.

A movement is one signed ``custody.moved`` event and one ``custody_movement`` row, written in
the same transaction, by whoever hands the item over (a creator role of the register, or a
quality coordinator).  The rules are the ones the register type's
``office.document_type.added`` event recorded (:func:`recorded_custody`), checked by
:func:`qms_engine.chain.custody_rules.move_problems`, which the verifier applies too: from
where the item is, to another of its places, nothing after a final place, an order for a
disposal, the day it is due back (today to a year ahead, the office's calendar) for a place
it returns from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from qms_engine.chain import events
from qms_engine.chain.custody_rules import move_problems, movers, recorded_problem
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import as_utc, local_today, utc_now
from qms_engine.documents.revisions import DocumentRef, load_document, spelt_number
from qms_engine.errors import IntegrityError, InvalidInput, RuleViolation, known_value
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.registry.custody import Custody
from qms_engine.rules.text import is_blank, require_one_line
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    CUSTODY_TABLE,
    DOCUMENT_TABLE,
    EVENT_TABLE,
    TYPE_TABLE,
    USER_TABLE,
)


@dataclass(frozen=True)
class Movement:
    """One hand-over, as it was recorded."""

    number: str
    from_place: str
    to_place: str
    received_by: str
    seal_intact: bool
    expected_back: date | None
    order: str
    note: str
    moved_by: str
    moved_at: datetime
    event_seq: int


@dataclass(frozen=True)
class Whereabouts:
    """Where a record's item is now, since when, who holds it and when it is due back."""

    number: str
    type_code: str
    title: str
    place: str
    place_title: str
    since: datetime
    """UTC: its latest hand-over, or its filing when it never moved."""
    holder: str
    """Who received it last ("" while it has never left its home)."""
    expected_back: date | None
    moved_by: str
    seal_intact: bool | None
    """The seal's state at its latest hand-over (None: never moved)."""
    order: str
    final: bool
    """It reached a final place (disposed of, weeded): it moves no more."""


def recorded_custody(connection: Connection, office: OfficeRef, type_code: str) -> Custody | None:
    """The custody rules type ``type_code`` of ``office`` recorded when it was added (its
    ``office.document_type.added`` event), or None when it keeps no chain of custody."""
    text = connection.execute(
        select(EVENT_TABLE.c.payload).where(
            EVENT_TABLE.c.office_id == office.id,
            EVENT_TABLE.c.action == events.DOCUMENT_TYPE_ADDED.action,
            EVENT_TABLE.c.subject == f"{office.code}/{type_code}",
        )
    ).scalar()
    payload: Mapping[str, Any] = json.loads(text) if text else {}
    if "custody" not in payload:
        return None
    if recorded_problem(payload["custody"]) is not None:
        raise IntegrityError(
            _("{office}/{type}: the custody rules its event recorded are malformed").format(
                office=office.code, type=type_code
            ),
            hint=_("run `qms audit verify`"),
        )
    recorded = payload["custody"]
    return Custody(
        home=recorded["home"],
        places=tuple(recorded["places"]),
        returns=tuple(recorded["returns"]),
        final=tuple(recorded["final"]),
        order_needed=tuple(recorded["order_needed"]),
    )


def _custody_of(
    runtime: Runtime, connection: Connection, office: OfficeRef, type_code: str, what: str
) -> tuple[Custody, tuple[str, ...]]:
    """The custody rules of type ``type_code`` (with the installed plugin's titles of its
    places) and its creator roles; refused, naming ``what``, when it keeps no chain of
    custody."""
    recorded = recorded_custody(connection, office, type_code)
    if recorded is None:
        raise RuleViolation(
            _("{what} is a {type} record, which keeps no chain of custody").format(
                what=what, type=type_code
            ),
            hint=_("only records of a register with custody places move (malkhana, files)"),
        )
    spec = runtime.plugins.registry.office_type(office.office_type).document_type(type_code)
    titles = spec.custody.titles if spec.custody is not None else {}
    known = {place: title for place, title in titles.items() if place in recorded.places}
    return replace(recorded, titles=known), spec.creator_roles


def move(
    runtime: Runtime,
    *,
    number: str,
    actor: Signer,
    to: str,
    received_by: str,
    seal_intact: bool,
    expected_back: date | None = None,
    order: str = "",
    note: str = "",
    register: str | None = None,
    from_place: str | None = None,
    command: str = "qms custody",
) -> Movement:
    """Hand the item of record ``number`` over to place ``to``, received by ``received_by``:
    signed by ``actor``, recorded with its row in one transaction.  ``register``: a record of
    that type only (``qms malkhana move`` moves malkhana entries); ``from_place``: refused
    unless the item is there; ``command``: the command a refusal's hint names."""
    received_by, order, note, to = received_by.strip(), order.strip(), note.strip(), to.strip()
    _one_line(received_by=received_by, order=order, note=note)
    if is_blank(received_by):
        raise InvalidInput(
            _("who received it is empty"), hint=_("give the receiver's name: --received-by NAME")
        )
    with runtime.unit_of_work() as work:
        connection = work.connection
        document = _document(connection, number, register)
        office = document.office
        work.lock(office)
        _not_weeded(connection, office, document.number)
        custody, creators = _custody_of(
            runtime, connection, office, document.type_code, document.number
        )
        user = load_actor(connection, actor, office)
        role = require_role(
            user,
            movers(creators),
            office,
            _("hand over {type} items").format(type=document.type_code),
        )
        at = _signed_place(connection, document, custody)
        if from_place is not None and from_place.strip() != at:
            raise RuleViolation(
                _("{number} is at {at}, not at {place}").format(
                    number=document.number, at=at, place=from_place.strip()
                ),
                hint=_("`{command} where {number}` shows where it is").format(
                    command=command, number=document.number
                ),
            )
        payload = {
            "from": at,
            "to": to,
            "received_by": received_by,
            "seal_intact": seal_intact,
            "expected_back": expected_back.isoformat() if expected_back else "",
            "order": order,
            "note": note,
        }
        problems = move_problems(custody.record(), at, payload, local_today(office.timezone))
        if problems:
            raise RuleViolation(
                f"{document.number}: " + "; ".join(problems),
                hint=_refusal_hint(custody, at, payload, document.number, command),
            )
        seq = work.head(office)[0] + 1
        moved_at = utc_now()
        connection.execute(
            insert(CUSTODY_TABLE),
            {
                "office_id": office.id,
                "document_id": document.id,
                "from_place": at,
                "to_place": to,
                "received_by": received_by,
                "seal_intact": seal_intact,
                "expected_back": expected_back,
                "order_ref": order,
                "note": note,
                "moved_by": user.id,
                "moved_at": moved_at,
                "event_seq": seq,
            },
        )
        record = work.append(
            office,
            user,
            events.CUSTODY_MOVED,
            document.number,
            payload,
            role=role,
            allowed_roles=movers(creators),
        )
    return Movement(
        document.number,
        at,
        to,
        received_by,
        seal_intact,
        expected_back,
        order,
        note,
        user.username,
        moved_at,
        record.seq,
    )


def _document(connection: Connection, number: str, register: str | None) -> DocumentRef:
    """Record ``number``, refused unless it is of type ``register`` (when given)."""
    document = load_document(connection, spelt_number(connection, number))
    if register is not None and document.type_code != register:
        raise RuleViolation(
            _("{number} is a {type} record, not a {register} entry").format(
                number=document.number, type=document.type_code, register=register
            ),
            hint=_("give the number of a {register} entry").format(register=register),
        )
    return document


ONE_LINE = {"received_by": "--received-by", "order": "--order", "note": "--note"}
"""The one-line fields of a hand-over, and the option each is given with."""


def _one_line(**given: str) -> None:
    """Refuse a line break or a control character in a one-line field of a hand-over."""
    for name, value in given.items():
        require_one_line(value, ONE_LINE[name])


def _not_weeded(connection: Connection, office: OfficeRef, number: str) -> None:
    """Refuse a record the record room weeded (a signed ``record_room.records.weeded`` names
    it): it no longer exists to be handed over."""
    weedings = connection.execute(
        select(EVENT_TABLE.c.payload).where(
            EVENT_TABLE.c.office_id == office.id,
            EVENT_TABLE.c.action == events.RECORDS_WEEDED.action,
        )
    ).scalars()
    if any(number in (json.loads(text).get("records") or ()) for text in weedings):
        raise RuleViolation(
            _("{number} was weeded from the record room: it moves no more").format(number=number),
            hint=_("`qms record-room list --weeded` shows the records weeded"),
        )


def _signed_place(connection: Connection, document: DocumentRef, custody: Custody) -> str:
    """Where the chain says the item is: the ``to`` of its latest signed ``custody.moved``
    (its home when it never moved).  The ``custody_movement`` table is a projection an
    insider can edit: when its latest row disagrees, nothing is signed on its word."""
    event = connection.execute(
        select(EVENT_TABLE.c.seq, EVENT_TABLE.c.payload)
        .where(
            EVENT_TABLE.c.office_id == document.office.id,
            EVENT_TABLE.c.action == events.CUSTODY_MOVED.action,
            EVENT_TABLE.c.subject == document.number,
        )
        .order_by(EVENT_TABLE.c.seq.desc())
        .limit(1)
    ).first()
    row = connection.execute(
        select(CUSTODY_TABLE.c.event_seq, CUSTODY_TABLE.c.to_place)
        .where(CUSTODY_TABLE.c.document_id == document.id)
        .order_by(CUSTODY_TABLE.c.event_seq.desc())
        .limit(1)
    ).first()
    signed = (event.seq, json.loads(event.payload).get("to")) if event else (None, custody.home)
    projected = (row.event_seq, row.to_place) if row else (None, custody.home)
    if projected != signed:
        raise IntegrityError(
            _("{number}: the custody table disagrees with the audit chain").format(
                number=document.number
            ),
            hint=_("run `qms audit verify`"),
        )
    return str(signed[1])


def _refusal_hint(
    custody: Custody, at: str, payload: Mapping[str, Any], number: str, command: str
) -> str:
    """What a refused hand-over may do instead: the places it may go from where it is, and
    the option a place needs."""
    to = payload["to"]
    if at in custody.final:
        return _("{at} is final; `{command} where {number}` shows it").format(
            at=at, command=command, number=number
        )
    hints = [
        _("from {at} it may go to: {places}").format(
            at=at, places=", ".join(place for place in custody.places if place != at)
        )
    ]
    if to in custody.order_needed and not payload["order"]:
        hints.append(
            _("name the order: `{command} move {number} --to {place} --order REF`").format(
                command=command, number=number, place=to
            )
        )
    if to in custody.returns:
        hints.append(_("give the day it is due back: --expected-back YYYY-MM-DD"))
    return "; ".join(hints)


def where(runtime: Runtime, number: str, *, register: str | None = None) -> Whereabouts:
    """Where the item of record ``number`` (of type ``register``, if given) is now, since
    when, and who holds it."""
    with runtime.engine.connect() as connection:
        document = _document(connection, number, register)
        custody, _creators = _custody_of(
            runtime, connection, document.office, document.type_code, document.number
        )
        row = connection.execute(
            _whereabouts_query().where(DOCUMENT_TABLE.c.id == document.id)
        ).one()
    return _whereabouts(row, custody)


def out(
    runtime: Runtime,
    office: OfficeRef,
    *,
    register: str | None = None,
    overdue_on: date | None = None,
) -> list[Whereabouts]:
    """The items of ``office`` away from their home now (of one ``register`` type, if given),
    longest away first; with ``overdue_on``, only those due back before that day.  An
    unknown ``register`` (typed in any letter case) is refused, listing those with custody."""
    if register is not None:
        kinds = runtime.plugins.registry.office_type(office.office_type).document_types
        known = [spec.code for spec in kinds if spec.custody is not None]
        register = known_value(_("register"), register, known, office.code, any_case=True)
    with runtime.engine.connect() as connection:
        query = _whereabouts_query().where(
            DOCUMENT_TABLE.c.office_id == office.id, CUSTODY_TABLE.c.id.is_not(None)
        )
        if register is not None:
            query = query.where(TYPE_TABLE.c.code == register)
        if overdue_on is not None:
            query = query.where(CUSTODY_TABLE.c.expected_back < overdue_on)
        rows = connection.execute(query.order_by(CUSTODY_TABLE.c.moved_at)).all()
        rules = {
            code: _custody_of(runtime, connection, office, code, code)[0]
            for code in {row.type_code for row in rows}
        }
    found = [_whereabouts(row, rules[row.type_code]) for row in rows]
    return [item for item in found if item.place != rules[item.type_code].home and not item.final]


def out_overdue(
    runtime: Runtime, office: OfficeRef, today: date, *, register: str | None = None
) -> list[Whereabouts]:
    """The items of ``office`` out past the day they were expected back (before ``today``)."""
    return out(runtime, office, register=register, overdue_on=today)


def _whereabouts_query() -> Any:
    """Each document with its latest movement (none: NULL columns)."""
    later = CUSTODY_TABLE.alias("later")
    latest = (
        select(func.max(later.c.event_seq))
        .where(later.c.document_id == DOCUMENT_TABLE.c.id)
        .scalar_subquery()
    )
    return (
        select(
            DOCUMENT_TABLE.c.number,
            DOCUMENT_TABLE.c.title,
            DOCUMENT_TABLE.c.created_at,
            TYPE_TABLE.c.code.label("type_code"),
            CUSTODY_TABLE.c.id,
            CUSTODY_TABLE.c.to_place,
            CUSTODY_TABLE.c.received_by,
            CUSTODY_TABLE.c.seal_intact,
            CUSTODY_TABLE.c.expected_back,
            CUSTODY_TABLE.c.order_ref,
            CUSTODY_TABLE.c.moved_at,
            USER_TABLE.c.username,
        )
        .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
        .outerjoin(
            CUSTODY_TABLE,
            and_(
                CUSTODY_TABLE.c.document_id == DOCUMENT_TABLE.c.id,
                CUSTODY_TABLE.c.event_seq == latest,
            ),
        )
        .outerjoin(USER_TABLE, USER_TABLE.c.id == CUSTODY_TABLE.c.moved_by)
    )


def _whereabouts(row: Any, custody: Custody) -> Whereabouts:
    moved = row.id is not None
    place = row.to_place if moved else custody.home
    return Whereabouts(
        number=row.number,
        type_code=row.type_code,
        title=row.title,
        place=place,
        place_title=custody.title(place),
        since=as_utc(row.moved_at if moved else row.created_at),
        holder=row.received_by if moved else "",
        expected_back=row.expected_back if moved else None,
        moved_by=row.username if moved else "",
        seal_intact=bool(row.seal_intact) if moved else None,
        order=row.order_ref if moved else "",
        final=place in custody.final,
    )
