"""A district for the tests: an SP office over the test station, in the station's own (shared)
database or in a workspace of its own that imports the station's bundles, plus the station's
moves (checkpoints, bundles, a chain cut behind the engine's back) the district must see."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from qms_engine.audit.bundle import export_bundle
from qms_engine.audit.checkpoints import CheckpointRecord, record_checkpoint, unlock_office_key
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.district.imports import ImportSummary, import_bundle
from qms_engine.district.stations import join_station
from qms_engine.district.witness import Witnessed, witness_checkpoints
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import unlock
from qms_engine.people.offices import add_office
from qms_engine.runtime import Runtime
from qms_engine.storage.models import CHECKPOINT_TABLE, EVENT_TABLE, HEAD_TABLE
from qms_engine.testing import TEST_PASSPHRASE, PostgresServer, TestOffice

SP_CODE = "SP-BGT"
SP_NAME = "पुलिस अधीक्षक कार्यालय बालाघाट"


@dataclass(frozen=True)
class District:
    """An SP office, its runtime and its admin (who witnesses and imports too)."""

    runtime: Runtime
    office: OfficeRef
    admin: Signer
    root: Path

    def office_key(self) -> Signer:
        return unlock_office_key(self.runtime, self.office, TEST_PASSPHRASE)

    def witness(self, station: str | None = None) -> list[Witnessed]:
        return witness_checkpoints(
            self.runtime,
            self.office,
            actor=self.admin,
            office_key=self.office_key(),
            station=station,
        )

    def take(self, bundle: Path) -> ImportSummary:
        return import_bundle(self.runtime, self.office, actor=self.admin, bundle=bundle)


@pytest.fixture
def shared_district(qms_office: TestOffice) -> District:
    """The SP office added to the station's own database, the station joined to it."""
    admin = qms_office.signers["admin"]
    sp = add_office(
        qms_office.runtime,
        actor=admin,
        from_office=qms_office.office,
        code=SP_CODE,
        name=SP_NAME,
        office_type="sp_office",
        office_passphrase=TEST_PASSPHRASE,
    )
    join_station(qms_office.runtime, sp, actor=admin, station_code=qms_office.office.code)
    return District(qms_office.runtime, sp, admin, qms_office.root)


@pytest.fixture
def own_district(
    qms_backend: str, qms_postgres: PostgresServer | None, tmp_path: Path
) -> Iterator[District]:
    """An SP office in a workspace (and database) of its own: it sees stations only through
    the bundles they send."""
    url = qms_postgres.create() if qms_backend == "postgresql" and qms_postgres else None
    result = init_workspace(
        tmp_path / "sp",
        plugins=load_plugins(),
        office_type="sp_office",
        office_code=SP_CODE,
        office_name=SP_NAME,
        admin="spadmin",
        admin_name="SP office admin",
        admin_passphrase=TEST_PASSPHRASE,
        office_passphrase=TEST_PASSPHRASE,
        database_url=url,
    )
    runtime = Runtime.open(result.workspace, load_plugins())
    try:
        admin = unlock(runtime, "spadmin", TEST_PASSPHRASE)
        yield District(runtime, result.office, admin, result.workspace.root)
    finally:
        runtime.close()
        if url and qms_postgres:
            qms_postgres.drop(url)


def checkpoint(station: TestOffice) -> CheckpointRecord:
    """The station's quality coordinator records a checkpoint with the station key."""
    return record_checkpoint(
        station.runtime,
        station.office,
        actor=station.signers["quality_coordinator"],
        office_key=unlock_office_key(station.runtime, station.office, TEST_PASSPHRASE),
    )


def export(station: TestOffice, path: Path, *, blobs: bool = False) -> Path:
    """The station's audit bundle, as it sends it to the district (with its files or not)."""
    export_bundle(station.runtime, station.office, path, include_blobs=blobs)
    return path


def cut_chain(station: TestOffice, keep: int) -> None:
    """An insider with the database removes every event after ``keep`` (and the checkpoints
    taken since), and moves the head back: the station's chain ends at ``keep``."""
    office_id = station.office.id
    with station.runtime.engine.begin() as connection:
        connection.execute(
            delete(EVENT_TABLE).where(
                EVENT_TABLE.c.office_id == office_id, EVENT_TABLE.c.seq > keep
            )
        )
        connection.execute(
            delete(CHECKPOINT_TABLE).where(
                CHECKPOINT_TABLE.c.office_id == office_id, CHECKPOINT_TABLE.c.seq >= keep
            )
        )
        digest = connection.execute(
            select(EVENT_TABLE.c.hash).where(
                EVENT_TABLE.c.office_id == office_id, EVENT_TABLE.c.seq == keep
            )
        ).scalar_one()
        connection.execute(
            update(HEAD_TABLE)
            .where(HEAD_TABLE.c.office_id == office_id)
            .values(seq=keep, hash=digest)
        )
    station.runtime.engine.dispose()
