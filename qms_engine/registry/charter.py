"""What a collectorate-like office type declares beyond its documents: its desks (पटल), the
public services of its citizen charter with their time limits, and the record classes of its
record room with their retention periods.

These are plugin declarations; the office's chain records the charter and the retention
schedule (``service.charter.recorded``, ``record_room.schedule.recorded``) when the office is
created, and the rules are checked against what the chain recorded, never against the
installed plugin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from qms_engine.chain import events
from qms_engine.chain.events import EventKind
from qms_engine.rules.text import is_blank

_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
MAX_DAYS = 3650
"""The longest time limit a service may have (ten years)."""
_DESK = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
"""A desk's code is lowercase, as a place of custody is (a file moves between desks)."""


@dataclass(frozen=True)
class Desk:
    """A desk (पटल) of the office and the registers (document type codes) it keeps; its
    code is lowercase (``revenue``), so it can be a place a file (नस्ती) moves to."""

    code: str
    title: str
    registers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    """A public service of the citizen charter: an application is disposed of within ``days``
    days of its receipt, at ``desk``."""

    code: str
    title: str
    days: int
    desk: str


@dataclass(frozen=True)
class RecordClass:
    """A class of records in the record room, kept ``retention_years`` after the file was
    closed (None: kept permanently, never weeded)."""

    code: str
    title: str
    retention_years: int | None = None


def charter_problems(
    desks: tuple[Desk, ...],
    services: tuple[Service, ...],
    record_classes: tuple[RecordClass, ...],
    document_types: frozenset[str],
) -> Iterator[str]:
    """Every way the declarations are malformed (codes, unknown desks or registers, days)."""
    kinds = (
        ("desk", desks, _DESK, "lowercase"),
        ("service", services, _CODE, "upper case"),
        ("record class", record_classes, _CODE, "upper case"),
    )
    for what, items, pattern, case in kinds:
        seen: set[str] = set()
        for item in items:
            if not pattern.match(item.code):
                yield f"{what} code {item.code!r} must be {case} letters, digits, '-' or '_'"
            if item.code in seen:
                yield f"{what} {item.code!r} is listed twice"
            seen.add(item.code)
            if is_blank(item.title):
                yield f"{what} {item.code!r} has no title"
    desk_codes = {desk.code for desk in desks}
    for desk in desks:
        for register in desk.registers:
            if register not in document_types:
                yield f"desk {desk.code!r} keeps {register!r}, which is no document type here"
    for service in services:
        if service.desk not in desk_codes:
            yield f"service {service.code!r} is handled at desk {service.desk!r}, not declared"
        if type(service.days) is not int or not 0 < service.days <= MAX_DAYS:
            yield f"service {service.code!r}: days must be a whole number from 1 to {MAX_DAYS}"
    for record_class in record_classes:
        years = record_class.retention_years
        if years is not None and (type(years) is not int or years < 0):
            yield f"record class {record_class.code!r}: retention_years must be ≥ 0 or None"


def declared_events(
    desks: tuple[Desk, ...], services: tuple[Service, ...], record_classes: tuple[RecordClass, ...]
) -> list[tuple[EventKind, dict[str, Any]]]:
    """The events that record what an office type declares: its charter (when it has desks or
    services) and its retention schedule (when it has record classes), with their payloads."""
    found: list[tuple[EventKind, dict[str, Any]]] = []
    if desks or services:
        found.append((events.CHARTER_RECORDED, charter_payload(desks, services)))
    if record_classes:
        found.append((events.SCHEDULE_RECORDED, schedule_payload(record_classes)))
    return found


def charter_payload(desks: tuple[Desk, ...], services: tuple[Service, ...]) -> dict[str, Any]:
    """The ``service.charter.recorded`` payload: the desks and the services, as the chain
    records them."""
    return {
        "desks": [{"code": d.code, "title": d.title} for d in desks],
        "services": [
            {"code": s.code, "title": s.title, "days": s.days, "desk": s.desk} for s in services
        ],
    }


def schedule_payload(record_classes: tuple[RecordClass, ...]) -> dict[str, Any]:
    """The ``record_room.schedule.recorded`` payload: each class and its retention."""
    return {
        "classes": [
            {"code": c.code, "title": c.title, "retention_years": c.retention_years}
            for c in record_classes
        ]
    }
