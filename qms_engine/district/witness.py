"""``qms district witness``: the SP office key countersigns each station checkpoint it receives.

A checkpoint is received from the shared database (the station's ``checkpoint`` rows) or from
an imported bundle (``district_checkpoint``).  Before countersigning, the district verifies the
station's chain as it sees it and the checkpoint, and every earlier witness, against it (the
station office key's signature, the hash at its event): a witness vouches only for what it
checked, and a checkpoint at a witnessed event with another head (a fork) is refused.  One
station that fails does not hold up the others: each is witnessed in its own transaction.
Each witness is a ``district.checkpoint.witnessed`` event of the SP chain, signed by the
person acting and countersigned by the SP office key
(:func:`qms_engine.chain.district_rules.witness_statement`); from then on, a station chain
cut below that event, or rewritten, fails verification at the district (:mod:`.verify`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from qms_engine.audit.checkpoints import CheckpointRecord, checkpoints_of
from qms_engine.chain import events
from qms_engine.chain.district_rules import witness_statement
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.district.imports import IMPORTERS, witnessed_of
from qms_engine.district.stations import (
    Station,
    require_district,
    station_named,
    stations_of,
)
from qms_engine.district.verify import Witness, station_report, witness_problems
from qms_engine.errors import IntegrityError
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.runtime import Runtime
from qms_engine.storage.database import read_snapshot
from qms_engine.storage.models import DISTRICT_CHECKPOINT_TABLE


@dataclass(frozen=True)
class Witnessed:
    """A station checkpoint the district has just countersigned."""

    station: str
    seq: int
    head: str
    event_seq: int
    """The SP chain's ``district.checkpoint.witnessed`` event."""

    @property
    def code(self) -> str:
        """The station checkpoint's short code."""
        return CheckpointRecord(self.station, self.seq, self.head, "", "", "").code


def received_checkpoints(connection: Connection, station: Station) -> list[CheckpointRecord]:
    """The station's checkpoints the district has received, oldest first."""
    if station.shared:
        return checkpoints_of(connection, station.office())
    rows = connection.execute(
        select(DISTRICT_CHECKPOINT_TABLE)
        .where(DISTRICT_CHECKPOINT_TABLE.c.station_id == station.id)
        .order_by(DISTRICT_CHECKPOINT_TABLE.c.seq)
    )
    return [
        CheckpointRecord(
            station.code, r.seq, r.head_hash, r.recorded_at, r.key_fingerprint, r.signature
        )
        for r in rows
    ]


def _forks(station: str, received: list[CheckpointRecord], done: Mapping[int, Any]) -> list[str]:
    """Received checkpoints at an already witnessed event with another head: the station's
    chain forked after the district vouched for it."""
    return [
        _(
            "{station}: event #{seq} was witnessed with head {witnessed}…, but the station's "
            "checkpoint there now names head {head}…: its chain forked"
        ).format(
            station=station,
            seq=c.seq,
            witnessed=str(done[c.seq].get("head", ""))[:16],
            head=c.head_hash[:16],
        )
        for c in received
        if c.seq in done and c.head_hash != done[c.seq].get("head")
    ]


def _to_witness(connection: Connection, district: OfficeRef, station: Station) -> list[Witness]:
    """The station's received checkpoints not yet witnessed, checked with every earlier witness
    against the station's current chain (refused, exit 6, when the chain, a checkpoint or an
    earlier witness does not verify, or a checkpoint forks from a witnessed one)."""
    done = witnessed_of(connection, district, station.code)
    received = received_checkpoints(connection, station)
    forks = _forks(station.code, received, done)
    if forks:
        raise IntegrityError(
            forks[0],
            hint=_("nothing is witnessed for {station}; see: qms district verify {station}").format(
                station=station.code
            ),
        )
    pending = [c for c in received if c.seq not in done]
    if not station.shared:
        pending = [c for c in pending if c.seq <= station.events]
    if not pending:
        return []
    candidates = [
        Witness(c.seq, c.head_hash, c.recorded_at, c.key_fingerprint, c.signature) for c in pending
    ]
    checked = [Witness.of(p) for _seq, p in sorted(done.items())] + candidates
    report = station_report(connection, station, [w.seq for w in checked])
    problems = [str(p) for p in report.problems] + witness_problems(
        district.code, station.code, checked, report
    )
    if problems:
        raise IntegrityError(
            _(
                "{station}: not witnessed, its chain or checkpoint does not verify at the "
                "district ({count} problem(s)); first: {first}"
            ).format(station=station.code, count=len(problems), first=problems[0]),
            hint=_("see them all: qms district verify {station}").format(station=station.code),
        )
    return candidates


class StationsNotWitnessed(IntegrityError):
    """Some stations were refused (a chain or checkpoint that does not verify); the checkpoints
    of the others were witnessed all the same, and are in ``done``."""

    def __init__(self, refused: list[str], done: list[Witnessed]) -> None:
        super().__init__(
            _("not witnessed, {count} station(s): {refused}").format(
                count=len(refused), refused="; ".join(refused)
            ),
            hint=_("nothing was recorded for them; see: qms district verify"),
        )
        self.done = done


def witness_checkpoints(
    runtime: Runtime,
    district: OfficeRef,
    *,
    actor: Signer,
    office_key: Signer,
    station: str | None = None,
) -> list[Witnessed]:
    """Countersign every received, not yet witnessed checkpoint of ``station`` (or of every
    station of the district) with the SP office key, one transaction per station; returns what
    was witnessed, or raises :class:`StationsNotWitnessed` (after witnessing the others) when
    a station does not verify."""
    require_district(runtime, district)
    with read_snapshot(runtime.engine) as connection:
        require_role(
            load_actor(connection, actor, district),
            IMPORTERS,
            district,
            _("witness station checkpoints"),
        )
        chosen = (
            [station_named(connection, district, station)]
            if station is not None
            else stations_of(connection, district)
        )
    done: list[Witnessed] = []
    refused: list[str] = []
    for chosen_station in chosen:
        try:
            done.extend(_witness_station(runtime, district, chosen_station, actor, office_key))
        except IntegrityError as exc:
            refused.append(str(exc))
    if refused:
        raise StationsNotWitnessed(refused, done)
    return done


def _witness_station(
    runtime: Runtime, district: OfficeRef, station: Station, actor: Signer, office_key: Signer
) -> list[Witnessed]:
    """One station's checkpoints, checked and witnessed in one transaction."""
    with read_snapshot(runtime.engine) as connection:
        pending = _to_witness(connection, district, station)
    if not pending:
        return []
    done: list[Witnessed] = []
    with runtime.unit_of_work() as work:
        work.lock(district)
        person = load_actor(work.connection, actor, district)
        role = require_role(person, IMPORTERS, district, _("witness station checkpoints"))
        already = witnessed_of(work.connection, district, station.code)
        for witness in pending:
            if witness.seq in already:
                continue  # witnessed meanwhile by someone else
            statement = witness_statement(
                district.code,
                station.code,
                witness.seq,
                witness.head,
                witness.recorded_at,
                witness.signature,
            )
            record = work.append(
                district,
                person,
                events.CHECKPOINT_WITNESSED,
                station.code,
                {
                    "seq": witness.seq,
                    "head": witness.head,
                    "recorded_at": witness.recorded_at,
                    "key": witness.key,
                    "signature": witness.signature,
                    "witness_key": office_key.fingerprint,
                    "witness_signature": office_key.sign(statement).hex(),
                },
                role=role,
            )
            done.append(Witnessed(station.code, witness.seq, witness.head, record.seq))
    return done
