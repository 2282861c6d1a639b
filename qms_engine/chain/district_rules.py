"""The district rules of an audit chain: an SP office's stations, imported bundles, witnesses.

Checked from the SP office's chain alone by the verifier (:mod:`qms_engine.chain.verifier`
hands each event of :data:`KINDS` to :class:`DistrictRules`), so an insider who writes the
database, or holds a valid key, cannot record what these rules forbid without ``qms audit
verify`` of the SP office failing, online and from a bundle:

- a station joins the district once (``district.station.joined``), and is then read from the
  shared database; a station seen through its bundles (``district.bundle.imported``) never
  joins, and a joined one is never imported;
- a station's imports extend what the district holds, never rewrite or shorten it: each names
  the events it adds, ``from_seq`` = the events held before + 1 up to ``to_seq`` ≥ ``from_seq``,
  and the station's name, office type and time zone never change between imports;
- a checkpoint is witnessed (``district.checkpoint.witnessed``) once per station and event
  number, only for a station of the district, and for an imported station only at an event the
  district holds; the witness is countersigned by the SP office key registered in this chain
  (and not ended), over :func:`witness_statement` — a personal key alone cannot forge one;
- a station adopts each revision of a district SOP once, never an older one than it adopted
  before (``district.sop.adopted``, in the station's chain).

Whether the station's own chain agrees with the witnesses is checked where both are at hand
(:mod:`qms_engine.district.verify`), since the SP chain does not hold the station's events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from qms_engine.chain import events
from qms_engine.chain.authorisation import Attempt
from qms_engine.chain.canonical import canonical_bytes
from qms_engine.chain.signing import verify_signature
from qms_engine.i18n import _

KINDS = frozenset(
    kind.action
    for kind in (
        events.STATION_JOINED,
        events.BUNDLE_IMPORTED,
        events.CHECKPOINT_WITNESSED,
        events.SOP_ADOPTED,
    )
)
"""The fixed event kinds whose rules live here."""


def witness_statement(
    district: str, station: str, seq: int, head: str, recorded_at: str, signature: str
) -> bytes:
    """The canonical bytes the SP office key signs when it witnesses a station checkpoint:
    ``{"district", "head", "seq", "signature", "station", "time", "type": "qms-witness",
    "v": 1}`` (``time`` and ``signature`` are the station checkpoint's)."""
    return canonical_bytes(
        {
            "v": 1,
            "type": "qms-witness",
            "district": district,
            "station": station,
            "seq": seq,
            "head": head,
            "time": recorded_at,
            "signature": signature,
        }
    )


class _Key(Protocol):
    public_key: str
    purpose: str
    ended_at: int | None


class _Report(Protocol):
    @property
    def office(self) -> str: ...

    @property
    def keys(self) -> Mapping[str, _Key]: ...


class DistrictFacts(Protocol):
    """What the district rules read of the verifier's state."""

    @property
    def report(self) -> _Report: ...

    def problem(self, seq: int, what: str, rank: int = 2) -> None: ...


@dataclass(slots=True)
class _Imported:
    name: object
    office_type: object
    timezone: object
    held: int


@dataclass
class DistrictRules:
    """Per-chain district state (per station, small) and checks; ``chain`` is the verifier."""

    chain: DistrictFacts
    joined: set[str] = field(default_factory=set)
    imported: dict[str, _Imported] = field(default_factory=dict)
    witnessed: set[tuple[str, int]] = field(default_factory=set)
    adopted: dict[str, int] = field(default_factory=dict)
    """District SOP adopted by this (station) chain → the revision adopted last."""

    def apply(self, seq: int, action: str, attempt: Attempt) -> None:
        """Check one event of :data:`KINDS` against the chain so far, then take it in."""
        station, payload = attempt.subject, attempt.payload
        if action == events.STATION_JOINED.action:
            self._joined(seq, station)
        elif action == events.BUNDLE_IMPORTED.action:
            self._imported(seq, station, payload)
        elif action == events.SOP_ADOPTED.action:
            self._adopted(seq, station, payload.get("revno"))
        else:
            self._witnessed(seq, station, payload)

    def finish(self, seq: int) -> None:
        """Nothing is left pending at the chain's end (every rule is checked at its event)."""

    def _adopted(self, seq: int, number: str, revno: object) -> None:
        """A station adopts each revision of a district SOP once, never going back."""
        before = self.adopted.get(number)
        if not isinstance(revno, int):
            return  # the shape check reports it
        if before is not None and revno <= before:
            self.chain.problem(
                seq,
                _(
                    "{number}: revision {revno} adopted after revision {before} (a station "
                    "adopts each revision once, never an older one)"
                ).format(number=number, revno=revno, before=before),
            )
        self.adopted[number] = max(revno, before if before is not None else revno)

    def _joined(self, seq: int, station: str) -> None:
        if station == self.chain.report.office:
            self.chain.problem(
                seq, _("{station}: a district is not its own station").format(station=station)
            )
        elif station in self.joined:
            self.chain.problem(
                seq, _("{station}: joins the district a second time").format(station=station)
            )
        elif station in self.imported:
            self.chain.problem(
                seq,
                _("{station}: joins the district, but its bundles were imported before").format(
                    station=station
                ),
            )
        self.joined.add(station)

    def _imported(self, seq: int, station: str, payload: Mapping[str, Any]) -> None:
        if station in self.joined or station == self.chain.report.office:
            self.chain.problem(
                seq,
                _("{station}: a bundle imported for a station of this database").format(
                    station=station
                ),
            )
            return
        before = self.imported.get(station)
        held = before.held if before else 0
        first, last = payload.get("from_seq"), payload.get("to_seq")
        if first != held + 1 or not isinstance(last, int) or last < held + 1:
            self.chain.problem(
                seq,
                _(
                    "{station}: the import adds events #{first}–#{last}, but the district held "
                    "#{held}: an import extends what is held, from #{next} on"
                ).format(station=station, first=first, last=last, held=held, next=held + 1),
            )
        facts = (payload.get("name"), payload.get("office_type"), payload.get("timezone"))
        if before is not None and facts != (before.name, before.office_type, before.timezone):
            self.chain.problem(
                seq,
                _(
                    "{station}: its name, office type or time zone differ from the earlier import"
                ).format(station=station),
            )
        self.imported[station] = _Imported(*facts, max(held, last if isinstance(last, int) else 0))

    def _witnessed(self, seq: int, station: str, payload: Mapping[str, Any]) -> None:
        at = payload.get("seq")
        if station not in self.joined and station not in self.imported:
            self.chain.problem(
                seq,
                _("{station}: witnessed, but not a station of this district").format(
                    station=station
                ),
            )
        elif station in self.imported and isinstance(at, int) and at > self.imported[station].held:
            self.chain.problem(
                seq,
                _(
                    "{station}: checkpoint #{seq} witnessed, but the district holds only "
                    "#{held} of its events"
                ).format(station=station, seq=at, held=self.imported[station].held),
            )
        if (station, at) in self.witnessed:
            self.chain.problem(
                seq,
                _("{station}: checkpoint #{seq} witnessed a second time").format(
                    station=station, seq=at
                ),
            )
        if isinstance(at, int):
            self.witnessed.add((station, at))
        self._countersigned(seq, station, payload)

    def _countersigned(self, seq: int, station: str, payload: Mapping[str, Any]) -> None:
        """The witness signature is the SP office key's, over the witness statement."""
        key_id = str(payload.get("witness_key", ""))
        key = self.chain.report.keys.get(key_id)
        if key is None or key.purpose != "office" or key.ended_at is not None:
            self.chain.problem(
                seq,
                _(
                    "{station}: witnessed with key {key}…, not the office key of {office} "
                    "registered in this chain"
                ).format(station=station, key=key_id[:16], office=self.chain.report.office),
            )
            return
        try:
            statement = witness_statement(
                self.chain.report.office,
                station,
                payload["seq"],
                payload["head"],
                payload["recorded_at"],
                payload["signature"],
            )
            good = verify_signature(
                bytes.fromhex(key.public_key),
                bytes.fromhex(str(payload.get("witness_signature", ""))),
                statement,
            )
        except (KeyError, TypeError, ValueError):
            good = False
        if not good:
            self.chain.problem(
                seq,
                _(
                    "{station}: the office key's witness signature does not verify (forged, "
                    "or the checkpoint it witnesses was altered)"
                ).format(station=station),
            )
