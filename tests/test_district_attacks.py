"""Attacks on the district's record: a station that cuts or rewrites its chain after the SP
office witnessed a checkpoint (even re-signing with valid keys), and an insider at the SP office
who forges district events with a valid personal key or edits the district tables.  Each must
make verification fail at the district — `qms district verify`, and `qms audit verify` of the
SP office online and on its exported bundle — naming what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from qms_engine.audit.bundle import export_bundle
from qms_engine.audit.verify import verify_bundle, verify_office
from qms_engine.chain import events
from qms_engine.chain.district_rules import witness_statement
from qms_engine.chain.events import EventKind
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.district.imports import witnessed_of
from qms_engine.district.verify import verify_station
from qms_engine.errors import IntegrityError
from qms_engine.people.permissions import load_actor
from qms_engine.rules import roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import (
    CHECKPOINT_TABLE,
    DISTRICT_EVENT_TABLE,
    DISTRICT_STATION_TABLE,
    EVENT_TABLE,
)
from qms_engine.testing import TestOffice
from tests.conftest import Desk
from tests.district_fixtures import (
    SP_CODE,
    District,
    checkpoint,
    cut_chain,
    export,
    own_district,
    shared_district,
)
from tests.test_cli import run

__all__ = ["own_district", "shared_district"]  # fixtures, used by name

STATION = "PS-TEST1"


def forge(
    runtime: Runtime,
    office: OfficeRef,
    signer: Signer,
    role: str,
    kind: EventKind,
    subject: str,
    payload: dict[str, Any],
) -> int:
    """An insider appends an event with their own valid key through the engine's lowest
    write path: its authorisation row holds (role, exact payload), nothing else is checked."""
    with runtime.unit_of_work() as work:
        person = load_actor(work.connection, signer, office)
        record = work.append(office, person, kind, subject, payload, role=role)
    return record.seq


def forge_at_sp(district: District, kind: EventKind, subject: str, payload: dict[str, Any]) -> int:
    """An SP admin forges a district event."""
    return forge(
        district.runtime, district.office, district.admin, roles.ADMIN, kind, subject, payload
    )


def assert_fails_at(
    runtime: Runtime, office: OfficeRef, tmp_path: Path, seq: int, fragment: str
) -> None:
    """The office's verification fails first at event ``seq``, saying ``fragment``, online and
    on a bundle exported from the same database."""
    bundle = tmp_path / f"{office.code}-bundle"
    export_bundle(runtime, office, bundle)
    verdicts = {"online": verify_office(runtime, office), "bundle": verify_bundle(bundle)}
    for where, result in verdicts.items():
        assert not result.ok, f"{where}: the forgery went unnoticed"
        assert result.problems[0].startswith(f"event #{seq}: "), (where, result.problems)
        assert fragment in result.problems[0], (where, result.problems)


def assert_sp_fails_at(district: District, tmp_path: Path, seq: int, fragment: str) -> None:
    assert_fails_at(district.runtime, district.office, tmp_path, seq, fragment)


def witnessed_station(desk: Desk, station: TestOffice, district: District, tmp_path: Path) -> int:
    """The station's SOP, a checkpoint; the district takes its bundle (unless shared) and
    witnesses it.  Returns the checkpoint's event number."""
    desk.new_sop("Women help desk")
    record = checkpoint(station)
    if district.runtime is not station.runtime:
        district.take(export(station, tmp_path / "b1"))
    assert [w.seq for w in district.witness()] == [record.seq]
    return record.seq


# --------------------------------------------------------------------------- the station


def test_a_shared_station_cut_after_a_witnessed_checkpoint_fails_at_the_district(
    desk: Desk, qms_office: TestOffice, shared_district: District, tmp_path: Path
) -> None:
    """The insider removes the checkpoint and the events since (and its row): the station's
    own checkpoint list agrees, but the district's witness does not — `qms district verify`
    and the SP office's `qms audit verify` exit 6."""
    seq = witnessed_station(desk, qms_office, shared_district, tmp_path)
    assert verify_station(shared_district.runtime, shared_district.office, STATION).ok
    cut_chain(qms_office, seq - 1)
    result = verify_station(shared_district.runtime, shared_district.office, STATION)
    assert not result.ok
    assert any(
        f"ends at #{seq - 1} but had {seq} events" in p and "its tail was removed" in p
        for p in result.problems
    ), result.problems
    sp = ("-w", qms_office.root, "--office", shared_district.office.code)
    for command in (("district", "verify", STATION), ("audit", "verify", "--no-blobs")):
        done = run(*sp, *command)
        assert done.returncode == 6, done.stdout + done.stderr
        assert "its tail was removed" in done.stdout, done.stdout


def test_a_shared_station_rewritten_with_valid_keys_fails_at_the_district(
    desk: Desk, qms_office: TestOffice, shared_district: District, tmp_path: Path
) -> None:
    """Cut below the witnessed checkpoint, then written on through the engine with the staff's
    valid keys past the old length: the chain verifies as a chain, not against the witness."""
    seq = witnessed_station(desk, qms_office, shared_district, tmp_path)
    cut_chain(qms_office, seq - 1)
    desk.new_sop("Arms and ammunition upkeep")
    result = verify_station(shared_district.runtime, shared_district.office, STATION)
    assert not result.ok
    assert not [p for p in result.problems if not p.startswith("witnessed by")], result.problems
    assert any(f"event #{seq} now hashes to" in p for p in result.problems), result.problems


def test_an_imported_station_cut_and_re_signed_fails_at_the_district(
    desk: Desk, qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """The station re-exports a cut chain written on with valid keys: a bundle that verifies
    on its own is refused at import naming the event, and fails `district verify --bundle`."""
    seq = witnessed_station(desk, qms_office, own_district, tmp_path)
    cut_chain(qms_office, seq - 1)
    desk.new_sop("Arms and ammunition upkeep")
    desk.new_sop("Passport verification")
    bundle = export(qms_office, tmp_path / "b2")
    assert verify_bundle(bundle, check_blobs=False).ok
    with pytest.raises(IntegrityError, match=f"event #{seq} of the bundle differs"):
        own_district.take(bundle)
    result = verify_station(own_district.runtime, own_district.office, STATION, bundle=bundle)
    assert any(f"event #{seq} now hashes to" in p for p in result.problems), result.problems
    assert verify_station(own_district.runtime, own_district.office, STATION).ok  # as held


def test_a_forged_station_checkpoint_is_not_witnessed(
    qms_office: TestOffice, shared_district: District
) -> None:
    """A checkpoint row written by SQL (no office-key signature) is refused by the witness
    (exit 6) instead of being countersigned."""
    record = checkpoint(qms_office)
    with qms_office.runtime.engine.begin() as connection:
        connection.execute(
            insert(CHECKPOINT_TABLE),
            {
                "office_id": qms_office.office.id,
                "seq": record.seq + 1,
                "head_hash": record.head_hash,
                "recorded_at": record.recorded_at,
                "key_fingerprint": record.key_fingerprint,
                "signature": "00" * 64,
            },
        )
    with pytest.raises(IntegrityError, match="not witnessed"):
        shared_district.witness()


# --------------------------------------------------------------------------- the SP office


def _witness_payload(district: District, signer_key: Any, witness_key: str) -> dict[str, Any]:
    head, time, signature = "ab" * 32, "2026-11-29T05:00:00.000000Z", "cd" * 64
    statement = witness_statement(district.office.code, STATION, 3, head, time, signature)
    return {
        "seq": 3,
        "head": head,
        "recorded_at": time,
        "key": "ef" * 32,
        "signature": signature,
        "witness_key": witness_key,
        "witness_signature": signer_key.sign(statement).hex(),
    }


def test_a_witness_signed_with_a_personal_key_is_caught(
    shared_district: District, tmp_path: Path
) -> None:
    """An SP admin countersigns with their own key instead of the office key."""
    admin = shared_district.admin
    seq = forge_at_sp(
        shared_district,
        events.CHECKPOINT_WITNESSED,
        STATION,
        _witness_payload(shared_district, admin, admin.fingerprint),
    )
    assert_sp_fails_at(shared_district, tmp_path, seq, "not the office key of")


def test_a_witness_naming_the_office_key_without_its_signature_is_caught(
    shared_district: District, tmp_path: Path
) -> None:
    """The office key's fingerprint, but a signature the admin made: it does not verify."""
    office_key = shared_district.office_key().fingerprint
    seq = forge_at_sp(
        shared_district,
        events.CHECKPOINT_WITNESSED,
        STATION,
        _witness_payload(shared_district, shared_district.admin, office_key),
    )
    assert_sp_fails_at(shared_district, tmp_path, seq, "witness signature does not verify")


def test_a_witness_of_an_office_outside_the_district_is_caught(
    shared_district: District, tmp_path: Path
) -> None:
    key = shared_district.office_key()
    payload = _witness_payload(shared_district, key, key.fingerprint)
    payload_for_other = {**payload}
    statement = witness_statement(
        shared_district.office.code,
        "PS-OTHER",
        3,
        payload["head"],
        payload["recorded_at"],
        payload["signature"],
    )
    payload_for_other["witness_signature"] = key.sign(statement).hex()
    seq = forge_at_sp(shared_district, events.CHECKPOINT_WITNESSED, "PS-OTHER", payload_for_other)
    assert_sp_fails_at(shared_district, tmp_path, seq, "not a station of this district")


def test_an_import_that_rewrites_what_was_held_is_caught(
    qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """A second district.bundle.imported starting again at #1 (a rewritten history taken in
    by an insider) breaks the rule that imports only extend."""
    summary = own_district.take(export(qms_office, tmp_path / "b1"))
    seq = forge_at_sp(
        own_district,
        events.BUNDLE_IMPORTED,
        STATION,
        {
            "name": qms_office.office.name,
            "office_type": "police_station",
            "timezone": qms_office.office.timezone,
            "from_seq": 1,
            "to_seq": summary.held + 1,
            "head": "ab" * 32,
        },
    )
    assert_sp_fails_at(own_district, tmp_path, seq, "an import extends what is held")


def test_held_events_removed_from_the_district_tables_are_caught(
    qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """An insider at the district deletes the last events it holds of a station (and lowers
    the count): the SP chain's import record disagrees, in `district verify` and in the SP
    office's own verification."""
    held = own_district.take(export(qms_office, tmp_path / "b1")).held
    with own_district.runtime.engine.begin() as connection:
        connection.execute(
            delete(DISTRICT_EVENT_TABLE).where(DISTRICT_EVENT_TABLE.c.seq > held - 2)
        )
        connection.execute(update(DISTRICT_STATION_TABLE).values(events=held - 2))
    own_district.runtime.engine.dispose()
    result = verify_station(own_district.runtime, own_district.office, STATION)
    assert any("the district's copy was altered" in p for p in result.problems), result.problems
    sp = verify_office(own_district.runtime, own_district.office)
    assert any("table district_station" in p and "field events" in p for p in sp.problems), (
        sp.problems
    )
    assert any("table district_event" in p for p in sp.problems), sp.problems


def test_an_older_district_sop_adopted_again_is_caught(
    qms_office: TestOffice, shared_district: District, tmp_path: Path
) -> None:
    """The station's quality coordinator records, with a valid key, that it adopted an older
    revision of the district SOP after a newer one: the station's chain fails, online and as
    a bundle."""
    qc = qms_office.signers["quality_coordinator"]
    number = f"{SP_CODE}/SOP/001"

    def adopted(revno: int) -> dict[str, Any]:
        return {"district": SP_CODE, "revno": revno, "sha256": "ab" * 32, "title": "Beat patrol"}

    station, runtime = qms_office.office, qms_office.runtime
    qc_role = roles.QUALITY_COORDINATOR
    forge(runtime, station, qc, qc_role, events.SOP_ADOPTED, number, adopted(1))
    seq = forge(runtime, station, qc, qc_role, events.SOP_ADOPTED, number, adopted(0))
    assert_fails_at(runtime, station, tmp_path, seq, "never an older one")


# --------------------------------------------------------------------------- witnessing again


def _sp_events(district: District) -> list[str]:
    """The SP chain's actions, in order."""
    with district.runtime.engine.connect() as connection:
        return list(
            connection.execute(
                select(EVENT_TABLE.c.action)
                .where(EVENT_TABLE.c.office_id == district.office.id)
                .order_by(EVENT_TABLE.c.seq)
            ).scalars()
        )


def test_a_station_checkpoint_forking_from_a_witnessed_one_is_refused_naming_both_heads(
    desk: Desk, qms_office: TestOffice, shared_district: District, tmp_path: Path
) -> None:
    """Cut below the witnessed checkpoint and written on with valid keys until a new
    checkpoint falls on the witnessed event: `qms district witness` exits 6 naming both heads,
    and records nothing (not even the station's other new checkpoint)."""
    seq = witnessed_station(desk, qms_office, shared_district, tmp_path)
    (witnessed,) = witnessed_of_station(shared_district)
    cut_chain(qms_office, seq - 1)
    checkpoint(qms_office)  # at #seq-1, recorded as event #seq
    fork = checkpoint(qms_office)
    assert fork.seq == seq and fork.head_hash != witnessed["head"]
    before = _sp_events(shared_district)
    sp = ("-w", qms_office.root, "--office", SP_CODE)
    refused = run(*sp, "district", "witness", "--as", "admin")
    assert refused.returncode == 6, refused.stdout + refused.stderr
    assert witnessed["head"][:16] in refused.stderr and fork.head_hash[:16] in refused.stderr
    assert "forked" in refused.stderr, refused.stderr
    assert _sp_events(shared_district) == before


def test_a_station_rewritten_since_its_witness_is_not_witnessed_again(
    desk: Desk, qms_office: TestOffice, shared_district: District, tmp_path: Path
) -> None:
    """Cut below the witnessed checkpoint, written on with valid keys, a new checkpoint at
    another event: the earlier witness is checked against the chain first, so the district
    does not countersign the rewritten chain."""
    seq = witnessed_station(desk, qms_office, shared_district, tmp_path)
    cut_chain(qms_office, seq - 1)
    desk.new_sop("Arms and ammunition upkeep")
    assert checkpoint(qms_office).seq > seq
    before = _sp_events(shared_district)
    with pytest.raises(IntegrityError, match=f"event #{seq} now hashes to"):
        shared_district.witness()
    assert _sp_events(shared_district) == before


def witnessed_of_station(district: District) -> list[Any]:
    """The witness payloads of the SP chain for the test station."""
    with district.runtime.engine.connect() as connection:
        return list(witnessed_of(connection, district.office, STATION).values())


def test_a_held_event_body_edited_at_the_district_is_caught(
    desk: Desk, qms_office: TestOffice, own_district: District, tmp_path: Path
) -> None:
    """An insider at the district rewrites the title in the body of an event it holds of a
    station (hash and signature left as they were): `qms audit verify` of the SP office fails
    (exit 6) naming the station's event, and so does `qms district verify`."""
    desk.new_sop("Women help desk")
    own_district.take(export(qms_office, tmp_path / "b1"))
    with own_district.runtime.engine.begin() as connection:
        seq, body = connection.execute(
            select(DISTRICT_EVENT_TABLE.c.seq, DISTRICT_EVENT_TABLE.c.body).where(
                DISTRICT_EVENT_TABLE.c.action == events.DOCUMENT_CREATED.action
            )
        ).one()
        assert "Women help desk" in body
        connection.execute(
            update(DISTRICT_EVENT_TABLE)
            .where(DISTRICT_EVENT_TABLE.c.seq == seq)
            .values(body=body.replace("Women help desk", "Men help desk"))
        )
    own_district.runtime.engine.dispose()
    sp = ("-w", own_district.root, "--office", SP_CODE)
    for command in (("audit", "verify", "--no-blobs"), ("district", "verify", STATION)):
        done = run(*sp, *command)
        assert done.returncode == 6, done.stdout + done.stderr
        assert f"event #{seq}" in done.stdout and STATION in done.stdout, done.stdout
