"""A station's chain checked at the district against every checkpoint the district witnessed.

``qms district verify STATION`` (and ``qms audit verify`` of the SP office) verifies the
station's chain as the district sees it — from the shared database, as imported, or a bundle
the station sends now — and then each witnessed checkpoint against it: a chain that ends below
a witnessed event, or hashes to something else there, fails, whatever keys re-signed it; so
does a station checkpoint whose signature is not the station office key's.  For an imported
station the events held must also be those the SP chain's imports recorded (count and head); a
bundle must also extend the events the district holds, as its import would require.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from qms_engine.audit.checkpoints import CheckpointRecord, checkpoint_problems
from qms_engine.audit.verify import AuditResult
from qms_engine.chain import events
from qms_engine.chain.encoding import ChainEvent
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.chain.verifier import ChainReport, Problem, verify_chain_events
from qms_engine.district.imports import held_problems, verified_copy, witnessed_of
from qms_engine.district.stations import (
    Station,
    district_events,
    require_district,
    station_chain,
    station_named,
    stations_of,
)
from qms_engine.errors import IntegrityError
from qms_engine.i18n import _
from qms_engine.runtime import Runtime
from qms_engine.storage.database import read_snapshot


@dataclass(frozen=True)
class Witness:
    """A station checkpoint the SP chain witnessed."""

    seq: int
    head: str
    recorded_at: str
    key: str
    signature: str

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> Witness:
        """From a ``district.checkpoint.witnessed`` payload (the SP chain verifies its shape)."""
        return cls(
            int(payload.get("seq", 0)),
            str(payload.get("head", "")),
            str(payload.get("recorded_at", "")),
            str(payload.get("key", "")),
            str(payload.get("signature", "")),
        )


def witness_problems(
    district: str, station: str, witnesses: Iterable[Witness], report: ChainReport
) -> list[str]:
    """Every way the station chain of ``report`` disagrees with a witnessed checkpoint."""
    office_keys = {k: i.public_key for k, i in report.keys.items() if i.purpose == "office"}
    found = []
    for witness in witnesses:
        record = CheckpointRecord(
            station, witness.seq, witness.head, witness.recorded_at, witness.key, witness.signature
        )
        for problem in checkpoint_problems(
            record, office_keys, report.events, report.hashes_at.get(witness.seq)
        ):
            found.append(
                _("witnessed by {district}: {problem}").format(district=district, problem=problem)
            )
    return found


def _result(
    station: str, report: ChainReport, witnesses: list[Witness], district: str
) -> AuditResult:
    result = AuditResult(station, events=report.events, checkpoints=len(witnesses))
    result.blobs_checked = False
    result.problems.extend(str(p) for p in sorted(report.problems, key=Problem.order))
    result.problems.extend(witness_problems(district, station, witnesses, report))
    return result


def _witnesses(connection: Connection, district: OfficeRef, station: str) -> list[Witness]:
    return [
        Witness.of(p) for _seq, p in sorted(witnessed_of(connection, district, station).items())
    ]


def station_report(
    connection: Connection, station: Station, remember: Iterable[int] = ()
) -> ChainReport:
    """The station's chain as the district sees it, verified (hashes kept at ``remember``)."""
    return verify_chain_events(station.code, station_chain(connection, station), remember=remember)


def _imports_held(
    connection: Connection, district: OfficeRef, station: Station, report: ChainReport
) -> list[str]:
    """An imported station's events held are exactly those its imports recorded."""
    imports = list(
        district_events(connection, district, events.BUNDLE_IMPORTED.action, station.code)
    )
    if not imports:
        return [
            _("{station}: no import of it is recorded in the SP chain").format(station=station.code)
        ]
    seq, _subject, last = imports[-1]
    if report.events != last.get("to_seq") or report.head_hash != last.get("head"):
        return [
            _(
                "{station}: the district holds {count} events ending {head}…, but its last "
                "import (SP event #{seq}) recorded {to_seq} ending {expected}…: the district's "
                "copy was altered"
            ).format(
                station=station.code,
                count=report.events,
                head=report.head_hash[:16],
                seq=seq,
                to_seq=last.get("to_seq"),
                expected=str(last.get("head", ""))[:16],
            )
        ]
    return []


def verify_station(
    runtime: Runtime, district: OfficeRef, code: str, *, bundle: Path | None = None
) -> AuditResult:
    """Verify a station of the district against every checkpoint the district witnessed: its
    chain as held (shared or imported), or ``bundle`` (verified whole, then compared)."""
    require_district(runtime, district)
    with read_snapshot(runtime.engine) as connection:
        station = station_named(connection, district, code)
        witnesses = _witnesses(connection, district, station.code)
        if bundle is None:
            seqs = [w.seq for w in witnesses]
            report = station_report(connection, station, seqs)
            result = _result(station.code, report, witnesses, district.code)
            if not station.shared:
                result.problems.extend(_imports_held(connection, district, station, report))
            return result
        held = [event.hash for event in station_chain(connection, station)]
    return _verify_bundle_against(district, station, witnesses, held, bundle)


def _verify_bundle_against(
    district: OfficeRef, station: Station, witnesses: list[Witness], held: list[str], bundle: Path
) -> AuditResult:
    """``bundle`` verified whole, then against the witnesses and the events the district holds
    (the checks an import of it makes, so a bundle that passes here also imports)."""
    with tempfile.TemporaryDirectory(prefix="qms-district-") as scratch:
        try:
            copy = verified_copy(bundle, Path(scratch))
        except IntegrityError as exc:
            return AuditResult(station.code, problems=[str(exc)], blobs_checked=False)
        if copy.reader.office != station.code:
            return AuditResult(
                station.code,
                problems=[
                    _("{path}: the bundle of {other}, not of {station}").format(
                        path=bundle, other=copy.reader.office, station=station.code
                    )
                ],
                blobs_checked=False,
            )
        hashes: list[str] = []

        def noting_hashes() -> Iterator[ChainEvent]:
            """The bundle's events, read once: verified, and their hashes kept for the
            comparison with what the district holds."""
            for event in copy.events():
                hashes.append(event.hash)
                yield event

        report = verify_chain_events(
            station.code, noting_hashes(), remember=[w.seq for w in witnesses]
        )
    result = _result(station.code, report, witnesses, district.code)
    result.problems.extend(held_problems(station.code, hashes, held))
    return result


def verify_district(runtime: Runtime, district: OfficeRef) -> list[AuditResult]:
    """Every station of the district, verified against its witnessed checkpoints."""
    with runtime.engine.connect() as connection:
        codes = [s.code for s in stations_of(connection, district)]
    return [verify_station(runtime, district, code) for code in codes]


def verify_overseen(runtime: Runtime, office: OfficeRef) -> list[AuditResult]:
    """For ``qms audit verify`` of an office: if it is a district, each of its stations
    verified against its witnesses (labelled as seen by the district); otherwise nothing."""
    office_type = runtime.plugins.registry.office_types.get(office.office_type)
    if office_type is None or not office_type.oversees:
        return []
    return [
        replace(
            result,
            office=_("{station} (witnessed by {district})").format(
                station=result.office, district=office.code
            ),
        )
        for result in verify_district(runtime, office)
    ]
