"""``qms district import BUNDLE``: a station's audit bundle verified and its signed history kept.

The bundle's chain, keys and checkpoints are first copied into a private folder (regular files
only, never through a symbolic link), so what is verified is exactly what is kept, whatever
happens to the bundle meanwhile.  The copy is verified by the existing bundle verifier
(:func:`qms_engine.audit.verify.verify_bundle`; the revisions' files are not imported, so not
checked: verify them at the station with ``qms audit verify --bundle``).  A later bundle of the
same station must extend what the district holds: an event held with another hash or a witnessed
checkpoint it contradicts is refused (exit 6), naming the event.  An exact prefix of what is held
(an older bundle: pen drives arrive out of order) adds nothing and is refused as older (exit 5):
by itself it cannot be told from a chain cut back, so the claim that it is the station's chain
now is ``qms district verify STATION --bundle``'s to judge (:func:`held_problems`, exit 6).  The
import is a signed ``district.bundle.imported`` event of the SP chain, written with the events it
adds.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from qms_engine.audit.bundle import (
    CHECKPOINTS,
    EVENTS,
    KEYS,
    MANIFEST,
    BundleReader,
    read_manifest,
)
from qms_engine.audit.checkpoints import CheckpointRecord
from qms_engine.audit.verify import verify_bundle
from qms_engine.chain import events
from qms_engine.chain.canonical import canonical_text
from qms_engine.chain.encoding import ChainEvent
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.district.stations import (
    Station,
    district_events,
    find_station,
    is_office_here,
    require_district,
    require_overseen,
)
from qms_engine.errors import IntegrityError, InvalidInput, RuleViolation
from qms_engine.i18n import _
from qms_engine.people.permissions import load_actor, require_role
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    DISTRICT_CHECKPOINT_TABLE,
    DISTRICT_EVENT_TABLE,
    DISTRICT_STATION_TABLE,
)

IMPORTERS = frozenset({roles.QUALITY_COORDINATOR, roles.ADMIN})
_BATCH = 500


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: the station, the events held before and now, checkpoints kept."""

    station: str
    held_before: int
    held: int
    checkpoints: int
    event_seq: int | None
    """The SP chain's ``district.bundle.imported`` event (None: nothing new, nothing written)."""

    @property
    def added(self) -> int:
        """Events the import added."""
        return self.held - self.held_before


def _copy_regular(source: Path, target: Path) -> None:
    """Copy one bundle file, refusing a symbolic link or anything but a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(source, flags)
    except FileNotFoundError:
        raise IntegrityError(_("{path}: missing from the bundle").format(path=source)) from None
    except OSError as exc:
        raise IntegrityError(
            _("{path}: cannot be read as a regular file ({why}); a bundle holds no links").format(
                path=source, why=exc.strerror or exc
            )
        ) from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise IntegrityError(_("{path}: not a regular file").format(path=source))
        with target.open("wb") as out:
            shutil.copyfileobj(handle, out)


@dataclass(frozen=True)
class VerifiedBundle:
    """A private, verified copy of a station's bundle (its chain, keys and checkpoints)."""

    path: Path
    reader: BundleReader
    office_type: str

    def events(self) -> Iterator[ChainEvent]:
        """The station's events, from the verified copy."""
        return self.reader.events()

    def checkpoints(self) -> list[CheckpointRecord]:
        """The checkpoints the bundle listed (each verified against the chain)."""
        return self.reader.checkpoints()


def verified_copy(bundle: Path, folder: Path) -> VerifiedBundle:
    """Copy ``bundle``'s chain, keys and checkpoints into ``folder`` and verify the copy with the
    bundle verifier; an :class:`IntegrityError` naming the first problem if it fails."""
    if not bundle.is_dir() or bundle.is_symlink():
        raise InvalidInput(
            _("{path} is not a folder, so not an audit bundle").format(path=bundle),
            hint=_("give the folder `qms audit export --out` wrote at the station"),
        )
    if not os.path.lexists(bundle / MANIFEST):
        raise InvalidInput(
            _("{path} holds no {manifest}, so it is not an audit bundle").format(
                path=bundle, manifest=MANIFEST
            ),
            hint=_("give the folder `qms audit export --out` wrote at the station"),
        )
    for name in (MANIFEST, EVENTS, KEYS, CHECKPOINTS):
        _copy_regular(bundle / name, folder / name)
    if read_manifest(folder / MANIFEST).blobs is not None:  # read strictly first
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        manifest["blobs"] = None  # the files are not imported: verify the chain without them
        (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    result = verify_bundle(folder, check_blobs=False)
    if not result.ok:
        raise IntegrityError(
            _("{path}: the bundle does not verify ({count} problem(s)); first: {first}").format(
                path=bundle, count=len(result.problems), first=result.problems[0]
            ),
            hint=_("see them all: qms audit verify --bundle {path} --no-blobs").format(path=bundle),
        )
    reader = BundleReader(folder)
    return VerifiedBundle(folder, reader, _office_type(reader))


def _office_type(reader: BundleReader) -> str:
    """The station's office type, as its chain's ``office.created`` states it."""
    for event in reader.events():
        body = event.body
        if (
            body.get("action") == events.OFFICE_CREATED.action
            and body.get("subject") == reader.office
        ):
            return str(body["payload"].get("office_type", ""))
    return ""  # the verifier reported a chain without its office.created


def witnessed_of(
    connection: Connection, district: OfficeRef, station: str
) -> dict[int, Mapping[str, Any]]:
    """The station's checkpoints the SP chain witnessed: seq → the witness event's payload."""
    found = district_events(connection, district, events.CHECKPOINT_WITNESSED.action, station)
    witnessed: dict[int, Mapping[str, Any]] = {}
    for _seq, _subject, payload in found:
        seq = payload.get("seq")
        if isinstance(seq, int):  # any other is the SP chain verifier's to report
            witnessed[seq] = payload
    return witnessed


def import_bundle(
    runtime: Runtime, district: OfficeRef, *, actor: Signer, bundle: Path
) -> ImportSummary:
    """Verify a station's bundle and keep its history at the district (see the module)."""
    oversees = require_district(runtime, district)
    with tempfile.TemporaryDirectory(prefix="qms-district-") as scratch:
        copy = verified_copy(bundle, Path(scratch))
        code = copy.reader.office
        require_overseen(oversees, code, copy.office_type)
        with runtime.unit_of_work() as work:
            connection = work.connection
            work.lock(district)
            person = load_actor(connection, actor, district)
            role = require_role(person, IMPORTERS, district, _("import station bundles"))
            if code == district.code or is_office_here(connection, code):
                raise RuleViolation(
                    _(
                        "{station} is an office of this database: the district reads its chain "
                        "there (qms district join {station})"
                    ).format(station=code)
                )
            station = find_station(connection, district, code)
            if station is not None and station.shared:
                raise RuleViolation(
                    _("{station} joined the district from this database").format(station=code)
                )
            held = _held_hashes(connection, station)
            added = _compare_and_collect(connection, district, code, copy, held, bundle)
            if not added:
                return ImportSummary(code, len(held), len(held), 0, None)
            manifest = copy.reader.manifest
            record = work.append(
                district,
                person,
                events.BUNDLE_IMPORTED,
                code,
                {
                    "name": manifest.office_name,
                    "office_type": copy.office_type,
                    "timezone": manifest.timezone,
                    "from_seq": len(held) + 1,
                    "to_seq": len(held) + len(added),
                    "head": added[-1][2],
                },
                role=role,
            )
            station_id = _keep_station(connection, district, station, copy, record.seq, added)
            _keep_events(connection, station_id, added)
            kept = _keep_checkpoints(connection, station_id, copy.checkpoints())
        return ImportSummary(code, len(held), len(held) + len(added), kept, record.seq)


def _held_hashes(connection: Connection, station: Station | None) -> list[str]:
    if station is None:
        return []
    rows = connection.execute(
        select(DISTRICT_EVENT_TABLE.c.seq, DISTRICT_EVENT_TABLE.c.hash)
        .where(DISTRICT_EVENT_TABLE.c.station_id == station.id)
        .order_by(DISTRICT_EVENT_TABLE.c.seq)
    ).all()
    hashes = [row.hash for row in rows]
    if [row.seq for row in rows] != list(range(1, len(rows) + 1)) or len(rows) != station.events:
        raise IntegrityError(
            _(
                "the district's copy of {station} is damaged (events missing or added behind the "
                "engine's back): run qms district verify {station}"
            ).format(station=station.code)
        )
    return hashes


def held_problems(code: str, hashes: Sequence[str], held: Sequence[str]) -> list[str]:
    """Where a chain of station ``code`` (its event hashes, oldest first) does not extend the
    events the district holds: the first held event with another hash, or fewer events.  One
    rule for the import (which refuses) and ``qms district verify --bundle`` (which reports)."""
    found = []
    for seq, (digest, expected) in enumerate(zip(hashes, held, strict=False), start=1):
        if digest != expected:
            found.append(_disagrees(code, seq, _("the district holds another event there")))
            break
    if len(hashes) < len(held):
        found.append(
            _cut(_("the district holds #{held}").format(held=len(held)), code, len(hashes))
        )
    return found


def _witness_problems(
    code: str, hashes: Sequence[str], witnessed: Mapping[int, Mapping[str, Any]]
) -> list[str]:
    """Where a chain of ``code`` contradicts a checkpoint the district witnessed, or ends below
    one."""
    found = [
        _disagrees(code, seq, _("it contradicts the checkpoint the district witnessed"))
        for seq, witness in sorted(witnessed.items())
        if seq <= len(hashes) and witness.get("head") != hashes[seq - 1]
    ]
    beyond = sorted(seq for seq in witnessed if seq > len(hashes))
    if beyond:
        found.append(
            _cut(
                _("the district witnessed its checkpoint at event #{seq}").format(seq=beyond[0]),
                code,
                len(hashes),
            )
        )
    return found


_Added = tuple[int, str, str, str, str]  # seq, action, hash, body, signature


def _compare_and_collect(
    connection: Connection,
    district: OfficeRef,
    code: str,
    copy: VerifiedBundle,
    held: list[str],
    bundle: Path,
) -> list[_Added]:
    """The bundle's events beyond those held; refused (exit 6) where it disagrees with them or
    with a witnessed checkpoint, or is shorter; as older (exit 5) when it is an exact prefix of
    them."""
    hashes: list[str] = []
    added: list[_Added] = []
    for count, event in enumerate(copy.events(), start=1):
        hashes.append(event.hash)
        if count > len(held):
            body = dict(event.body)
            added.append(
                (
                    count,
                    str(body.get("action", "")),
                    event.hash,
                    canonical_text(body),
                    event.signature,
                )
            )
    if len(hashes) < len(held) and hashes == held[: len(hashes)]:
        raise _older(code, len(hashes), len(held), bundle)
    witnessed = witnessed_of(connection, district, code)
    problems = _witness_problems(code, hashes, witnessed) + held_problems(code, hashes, held)
    if problems:
        raise IntegrityError(
            problems[0], hint=_("nothing was imported; what the district holds stays as it was")
        )
    return added


def _older(code: str, count: int, held: int, bundle: Path) -> RuleViolation:
    """An exact prefix of what is held: an older bundle come late, or the station's chain cut
    back — only ``qms district verify --bundle`` (the claim that it is the chain now) can say
    the second, so importing it is a refused rule, not evidence of tampering."""
    return RuleViolation(
        _(
            "{station}: the bundle is older than what the district holds (it ends at event "
            "#{count}, the district holds #{held}): nothing was imported"
        ).format(station=code, count=count, held=held),
        hint=_(
            "if this is the station's current chain, it was cut: "
            "`qms district verify {station} --bundle {path}` says so"
        ).format(station=code, path=bundle),
    )


def _cut(why: str, code: str, count: int) -> str:
    return _(
        "{station}: the bundle ends at event #{count}, but {why}: the station's chain was cut"
    ).format(station=code, count=count, why=why)


def _disagrees(code: str, seq: int, why: str) -> str:
    return _(
        "{station}: event #{seq} of the bundle differs from the district's record ({why}): "
        "the station's chain was rewritten"
    ).format(station=code, seq=seq, why=why)


def _keep_station(
    connection: Connection,
    district: OfficeRef,
    station: Station | None,
    copy: VerifiedBundle,
    event_seq: int,
    added: list[_Added],
) -> int:
    manifest = copy.reader.manifest
    values = {
        "name": manifest.office_name,
        "office_type": copy.office_type,
        "timezone": manifest.timezone,
        "events": added[-1][0],
        "head_hash": added[-1][2],
        "event_seq": event_seq,
    }
    if station is not None:
        connection.execute(
            update(DISTRICT_STATION_TABLE)
            .where(DISTRICT_STATION_TABLE.c.id == station.id)
            .values(values)
        )
        return station.id
    return int(
        connection.execute(
            insert(DISTRICT_STATION_TABLE).returning(DISTRICT_STATION_TABLE.c.id),
            {**values, "district_id": district.id, "code": manifest.office, "office_id": None},
        ).scalar_one()
    )


def _keep_events(connection: Connection, station_id: int, added: list[_Added]) -> None:
    for start in range(0, len(added), _BATCH):
        connection.execute(
            insert(DISTRICT_EVENT_TABLE),
            [
                {
                    "station_id": station_id,
                    "seq": seq,
                    "action": action,
                    "body": body,
                    "hash": digest,
                    "signature": signature,
                }
                for seq, action, digest, body, signature in added[start : start + _BATCH]
            ],
        )


def _keep_checkpoints(
    connection: Connection, station_id: int, checkpoints: list[CheckpointRecord]
) -> int:
    """Keep the bundle's checkpoints the district did not have (for witnessing)."""
    have = set(
        connection.execute(
            select(DISTRICT_CHECKPOINT_TABLE.c.seq).where(
                DISTRICT_CHECKPOINT_TABLE.c.station_id == station_id
            )
        ).scalars()
    )
    new = [c for c in checkpoints if c.seq not in have]
    if new:
        connection.execute(
            insert(DISTRICT_CHECKPOINT_TABLE),
            [
                {
                    "station_id": station_id,
                    "seq": c.seq,
                    "head_hash": c.head_hash,
                    "recorded_at": c.recorded_at,
                    "key_fingerprint": c.key_fingerprint,
                    "signature": c.signature,
                }
                for c in new
            ],
        )
    return len(new)
