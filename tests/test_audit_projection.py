"""The tables are a projection of the chain, and verification proves it.

Each attack is one real SQL edit made behind the engine's back on a real workspace (SQLite, and
PostgreSQL when a server is configured), the way an insider with database access could: the
signed chain is untouched, so only the comparison of the tables with the chain's projection
(:mod:`qms_engine.audit.projection`) can notice.  ``verify_office`` must then fail, naming the
table, the row and the field.  The positive tests run realistic lives, in two offices, and
find no difference at all.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key
from qms_engine.audit.projection import projection_problems
from qms_engine.audit.verify import AuditResult, verify_office
from qms_engine.chain.encoding import GENESIS_HASH
from qms_engine.chain.reader import stored_chain
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.demo import build_demo
from qms_engine.documents.revisions import create_document, export_revision
from qms_engine.documents.transitions import take_transition
from qms_engine.extension.manager import load_plugins
from qms_engine.people.keys import revoke, rotate, unlock
from qms_engine.people.offices import add_office
from qms_engine.people.users import add_user, deactivate_user, grant_roles, revoke_roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import EVENT_TABLE, KEY_TABLE, USER_TABLE
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import OFFICE_CODE, TEST_PASSPHRASE, TestOffice, staff_member
from tests.conftest import Desk
from tests.ingest_fixtures import IngestDesk, add_ingest_user, pdf_bytes

SOP1 = f"{OFFICE_CODE}/SOP/001"
SOP2 = f"{OFFICE_CODE}/SOP/002"
REVISIONS_OF = "SELECT r.id FROM revision r JOIN document d ON d.id = r.document_id"


# --------------------------------------------------------------------------- helpers


def tamper(office: TestOffice, /, *statements: str, **params: Any) -> None:
    """Run SQL behind the engine's back, in one transaction, as an insider with the database
    could (SQLite opened as the sqlite3 shell opens it: foreign keys not enforced)."""
    office.runtime.engine.dispose()
    url = make_url(office.runtime.workspace.database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(str(url.database))
        try:
            with connection:
                for statement in statements:
                    connection.execute(statement, params)
        finally:
            connection.close()
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as server:
            for statement in statements:
                server.execute(text(statement), params)
    finally:
        engine.dispose()


def verify(office: TestOffice, where: OfficeRef | None = None) -> AuditResult:
    """``qms audit verify`` of the office (default: the workspace's own)."""
    office.runtime.engine.dispose()
    return verify_office(office.runtime, where or office.office)


def differences(office: TestOffice, where: OfficeRef | None = None) -> list[str]:
    """The projection check alone, fed the office's stored chain through one connection."""
    runtime, where = office.runtime, where or office.office
    runtime.engine.dispose()
    with runtime.engine.connect() as connection:
        return projection_problems(
            connection,
            where,
            stored_chain(connection, where),
        )


def assert_caught(result: AuditResult, *lines: str) -> None:
    """Verification failed, and reported each of ``lines`` exactly."""
    assert not result.ok, "tampering went unnoticed"
    for line in lines:
        assert line in result.problems, result.problems


def scalar(office: TestOffice, query: Any) -> Any:
    """One value read through the engine."""
    with office.runtime.engine.connect() as connection:
        return connection.execute(query).scalar_one()


def event_time(office: TestOffice, action: str, subject: str) -> str:
    """The time of the office's first event with this action and subject."""
    return str(
        scalar(
            office,
            select(EVENT_TABLE.c.recorded_at)
            .where(EVENT_TABLE.c.action == action, EVENT_TABLE.c.subject == subject)
            .order_by(EVENT_TABLE.c.seq)
            .limit(1),
        )
    )


def fingerprint_of(office: TestOffice, username: str) -> str:
    """The fingerprint of the user's newest key."""
    return str(
        scalar(
            office,
            select(KEY_TABLE.c.fingerprint)
            .join(USER_TABLE, USER_TABLE.c.id == KEY_TABLE.c.user_id)
            .where(USER_TABLE.c.username == username)
            .order_by(KEY_TABLE.c.id.desc())
            .limit(1),
        )
    )


def write_pdf(folder: Path, name: str, content: str) -> Path:
    """A small, real, distinct PDF."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(pdf_bytes(content))
    return path


# --------------------------------------------------------------------------- no false alarms


def test_a_realistic_life_in_two_offices_projects_exactly(
    desk: Desk, qms_office: TestOffice, tmp_path: Path
) -> None:
    """A demo-like life in two offices (SOPs, records, inbox, users, keys) leaves no difference."""
    runtime, home, s = qms_office.runtime, qms_office.office, qms_office.signers
    sop1 = desk.new_sop("Station office procedure")
    desk.issue(sop1)
    desk.revise(sop1, reason="Duty roster changed")
    desk.act(sop1, "submit")
    desk.act(sop1, "reject", comment="Section 3 missing")
    desk.act(sop1, "submit")
    desk.act(sop1, "approve", who="approver2")
    desk.act(sop1, "make_effective")  # revision 0 is superseded
    desk.act(sop1, "archive")
    sop2 = desk.new_sop("General Diary (GD) upkeep", who="author2")
    desk.act(sop2, "submit", who="author2")
    desk.act(sop2, "approve")
    desk.act(sop2, "make_effective")
    desk.act(sop2, "withdraw", comment="Merged into the station office procedure")
    create_document(
        runtime,
        home,
        actor=s["author"],
        type_code="SOP",
        title="मालखाना प्रबंधन",
        path=desk.docx("मालखाना"),
        fields={"owner": "SHO", "pages": "4"},
    )
    gd = create_document(
        runtime,
        home,
        actor=s["clerk"],
        type_code="GD",
        title="GD entry 5: night patrol",
        path=write_pdf(tmp_path / "scans", "gd-5.pdf", "GD 5"),
        fields={"entry_number": "5", "officer": "HC Mohan Lal"},
    )
    take_transition(runtime, number=gd.number, transition="verify", actor=s["reviewer"])

    add_ingest_user(qms_office)
    inbox = IngestDesk(qms_office)
    inbox.drop("GD", "GD_17_2026-11-24.pdf")
    same = pdf_bytes("the same scan, dropped twice")
    inbox.drop("GD", "scan-a.pdf", same)
    assert [o.status for o in inbox.run()] == ["filed", "filed"]
    inbox.drop("GD", "scan-b.pdf", same)
    assert [o.status for o in inbox.run()] == ["duplicate"]

    admin = s["admin"]
    add_user(
        runtime,
        home,
        actor=admin,
        username="vikram",
        full_name="SI Vikram Rathore",
        roles=["reviewer"],
        passphrase=TEST_PASSPHRASE,
    )
    grant_roles(runtime, home, actor=admin, username="vikram", roles=["approver"])
    revoke_roles(runtime, home, actor=admin, username="vikram", roles=["reviewer"])
    record_checkpoint(
        runtime,
        home,
        actor=s["quality_coordinator"],
        office_key=unlock_office_key(runtime, home, TEST_PASSPHRASE),
    )

    second = add_office(
        runtime,
        actor=admin,
        from_office=home,
        code="PS-TEST2",
        name="थाना दूसरा",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )
    kavita = staff_member(runtime, second, admin, "kavita", "ASI Kavita Singh", ["author"])
    grant_roles(runtime, second, actor=admin, username="sks", roles=["approver"])
    grant_roles(runtime, second, actor=admin, username="vikram", roles=["reviewer"])
    # announced in PS-TEST2 by the admin, the SHO's key must be his own choice there too
    rotate(runtime, second, actor=s["approver"], username="sks", new_passphrase="sho-own-key")
    sho = unlock(runtime, "sks", "sho-own-key")
    there = create_document(
        runtime, second, actor=kavita, type_code="SOP", title="Dak handling", path=desk.docx()
    )
    take_transition(runtime, number=there.number, transition="submit", actor=kavita)
    take_transition(runtime, number=there.number, transition="approve", actor=sho)

    rotate(runtime, home, actor=s["author"], username="anita", new_passphrase="new-passphrase-1")
    rotate(runtime, home, actor=admin, username="sks", new_passphrase="new-passphrase-2")
    revoke(runtime, home, actor=admin, username="rakesh", reason="Phone lost")
    deactivate_user(runtime, home, actor=admin, username="vikram", reason="Transferred")
    deactivate_user(runtime, home, actor=admin, username="mohan", reason="Retired")

    for office in (home, second):
        result = verify(qms_office, office)
        assert result.ok, result.problems
        assert differences(qms_office, office) == []


def test_the_demo_workspace_projects_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace `qms demo` builds verifies with its tables exactly the chain's projection."""
    monkeypatch.setenv("QMS_GD_DAY_BOOK", "on")  # as `qms demo` makes it (conftest: off)
    built = build_demo(tmp_path / "demo", lambda _line: None)
    runtime = Runtime.open(Workspace.load(built.root), load_plugins())
    try:
        result = verify_office(runtime, runtime.office())
    finally:
        runtime.close()
    assert result.ok, result.problems


def test_projection_takes_event_bodies_or_chain_events(desk: Desk, qms_office: TestOffice) -> None:
    """Fed the chain's events or just their bodies, the projection finds the same differences."""
    number = desk.new_sop()
    tamper(qms_office, "UPDATE document SET title = 'Forged' WHERE number = :n", n=number)
    runtime, office = qms_office.runtime, qms_office.office
    with runtime.engine.connect() as connection:
        chain = list(stored_chain(connection, office))
        from_events = projection_problems(connection, office, chain)
        from_bodies = projection_problems(connection, office, [e.body for e in chain])
    assert (
        from_events
        == from_bodies
        == [
            f"table document, {number}, field title: chain says 'Station office procedure', "
            "database says 'Forged'"
        ]
    )


# --------------------------------------------------------------------------- documents


def test_unapproved_draft_made_effective_by_one_update(
    desk: Desk, qms_office: TestOffice, tmp_path: Path
) -> None:
    """A draft made effective by UPDATE (so `qms doc get` hands it out) fails verification."""
    assert desk.new_sop() == SOP1
    desk.issue(SOP1)
    desk.revise(SOP1, reason="Unapproved change")
    tamper(
        qms_office,
        f"UPDATE revision_state SET state = 'superseded' WHERE revision_id IN "
        f"({REVISIONS_OF} WHERE d.number = :n AND r.revno = 0)",
        f"UPDATE revision_state SET state = 'effective' WHERE revision_id IN "
        f"({REVISIONS_OF} WHERE d.number = :n AND r.revno = 1)",
        n=SOP1,
    )
    handed_out = export_revision(qms_office.runtime, number=SOP1, destination=tmp_path / "out")
    assert handed_out.revno == 1  # the attack works on the tables alone …
    assert_caught(  # … and verification names it
        verify(qms_office),
        f"table revision_state, {SOP1}#1, field state: chain says 'draft', "
        "database says 'effective'",
        f"table revision_state, {SOP1}#0, field state: chain says 'effective', "
        "database says 'superseded'",
    )


def test_revision_hash_pointed_at_another_blob(desk: Desk, qms_office: TestOffice) -> None:
    """A revision's SHA-256 pointed at another document's blob is named, with both hashes."""
    desk.new_sop("First")
    desk.new_sop("Second")
    revision = f"{REVISIONS_OF} WHERE d.number = :n"
    with qms_office.runtime.engine.connect() as connection:
        first, second = (
            connection.execute(
                text(f"SELECT sha256 FROM revision WHERE id IN ({revision})"), {"n": number}
            ).scalar_one()
            for number in (SOP1, SOP2)
        )
    tamper(
        qms_office,
        f"UPDATE revision SET sha256 = :sha WHERE id IN ({revision})",
        n=SOP2,
        sha=first,
    )
    assert_caught(
        verify(qms_office),
        f"table revision, {SOP2}#0, field sha256: chain says '{second}', database says '{first}'",
    )


def test_titles_edited(desk: Desk, qms_office: TestOffice) -> None:
    """A document's and a revision's title rewritten in the tables are both named."""
    desk.new_sop("Station office procedure")
    tamper(
        qms_office,
        "UPDATE document SET title = 'Arms register' WHERE number = :n",
        f"UPDATE revision SET title = 'Arms register' WHERE id IN ({REVISIONS_OF} "
        "WHERE d.number = :n)",
        n=SOP1,
    )
    assert_caught(
        verify(qms_office),
        f"table document, {SOP1}, field title: chain says 'Station office procedure', "
        "database says 'Arms register'",
        f"table revision, {SOP1}#0, field title: chain says 'Station office procedure', "
        "database says 'Arms register'",
    )


def test_record_fields_edited(qms_office: TestOffice, tmp_path: Path) -> None:
    """A register record's fields (its evidence) rewritten in the table are named."""
    record = create_document(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["clerk"],
        type_code="GD",
        title="GD entry 9",
        path=write_pdf(tmp_path, "gd-9.pdf", "GD 9"),
        fields={"entry_number": "9", "officer": "HC Mohan Lal"},
    )
    forged = json.dumps({"entry_number": "9", "officer": "SI Rakesh Verma"}, separators=(",", ":"))
    tamper(
        qms_office,
        f"UPDATE revision SET fields = :f WHERE id IN ({REVISIONS_OF} WHERE d.number = :n)",
        n=record.number,
        f=forged,
    )
    assert_caught(
        verify(qms_office),
        f"table revision, {record.number}#0, field fields: chain says "
        '\'{"entry_number":"9","officer":"HC Mohan Lal"}\', '
        f"database says '{forged}'",
    )


def test_review_date_postponed(desk: Desk, qms_office: TestOffice) -> None:
    """An effective SOP's periodic-review due date pushed back by UPDATE is named."""
    desk.new_sop()
    desk.issue(SOP1)
    due = scalar(
        qms_office,
        text(
            f"SELECT review_due FROM revision_state WHERE revision_id IN ({REVISIONS_OF} "
            f"WHERE d.number = '{SOP1}')"
        ),
    )
    assert due is not None
    tamper(
        qms_office,
        f"UPDATE revision_state SET review_due = '2099-12-31' WHERE revision_id IN "
        f"({REVISIONS_OF} WHERE d.number = :n)",
        n=SOP1,
    )
    assert_caught(
        verify(qms_office),
        f"table revision_state, {SOP1}#0, field review_due: chain says '{due}', "
        "database says '2099-12-31'",
    )


def test_revision_backdated(desk: Desk, qms_office: TestOffice) -> None:
    """A revision's creation time moved back by a year is outside what its event allows."""
    desk.new_sop()
    created = event_time(qms_office, "document.revision.created", f"{SOP1}#0")
    tamper(
        qms_office,
        f"UPDATE revision SET created_at = '2025-01-01T00:00:00.000000Z' WHERE id IN "
        f"({REVISIONS_OF} WHERE d.number = :n)",
        n=SOP1,
    )
    problems = verify(qms_office).problems
    (line,) = [p for p in problems if p.startswith(f"table revision, {SOP1}#0, field created_at")]
    assert line.endswith(f"and {created}, database says '2025-01-01T00:00:00.000000Z'"), line


def test_approval_reattributed_in_the_action_table(desk: Desk, qms_office: TestOffice) -> None:
    """Who took a transition, rewritten in ``revision_action``, is named against its event."""
    desk.new_sop()
    desk.issue(SOP1)
    seq = scalar(
        qms_office,
        select(EVENT_TABLE.c.seq).where(
            EVENT_TABLE.c.action == "document.revision.approved",
            EVENT_TABLE.c.subject == f"{SOP1}#0",
        ),
    )
    tamper(
        qms_office,
        "UPDATE revision_action SET actor_id = (SELECT id FROM app_user WHERE username = 'meena')"
        " WHERE event_seq = :seq",
        seq=seq,
    )
    assert_caught(
        verify(qms_office),
        f"table revision_action, {SOP1}#0 at event #{seq}, field actor: chain says 'sks', "
        "database says 'meena'",
    )


def test_document_deleted(desk: Desk, qms_office: TestOffice) -> None:
    """A document deleted with everything below it is named, row by row."""
    desk.new_sop()
    desk.issue(SOP1)
    revisions = f"{REVISIONS_OF} WHERE d.number = :n"
    tamper(
        qms_office,
        f"DELETE FROM revision_action WHERE revision_id IN ({revisions})",
        f"DELETE FROM revision_state WHERE revision_id IN ({revisions})",
        f"DELETE FROM revision WHERE id IN ({revisions})",
        "DELETE FROM document WHERE number = :n",
        n=SOP1,
    )
    deleted = "the chain created it, the database lacks it (deleted)"
    assert_caught(
        verify(qms_office),
        f"table document, {SOP1}: {deleted}",
        f"table revision, {SOP1}#0: {deleted}",
        f"table revision_state, {SOP1}#0: {deleted}",
    )
    assert sum("table revision_action" in p and deleted in p for p in verify(qms_office).problems)


@pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)
def test_document_row_deleted_alone(desk: Desk, qms_office: TestOffice) -> None:
    """On SQLite with constraints off, a document deleted alone leaves revisions named orphans."""
    desk.new_sop()
    tamper(qms_office, "DELETE FROM document WHERE number = :n", n=SOP1)
    result = verify(qms_office)
    assert_caught(
        result, f"table document, {SOP1}: the chain created it, the database lacks it (deleted)"
    )
    assert any("its document is gone (deleted)" in p for p in result.problems), result.problems


def test_document_inserted_and_in_force(desk: Desk, qms_office: TestOffice) -> None:
    """A document no event created (copied from a real one, made effective) is named."""
    desk.new_sop()
    copy = f"{OFFICE_CODE}/SOP/099"
    tamper(
        qms_office,
        "INSERT INTO document (office_id, document_type_id, serial_year, serial, number, title, "
        "created_at) SELECT office_id, document_type_id, serial_year, 99, :copy, 'Forged SOP', "
        "created_at FROM document WHERE number = :n",
        "INSERT INTO revision (document_id, revno, sha256, size, media_type, original_filename, "
        "title, change_reason, fields, author_id, created_at) SELECT "
        "(SELECT id FROM document WHERE number = :copy), revno, sha256, size, media_type, "
        f"original_filename, 'Forged SOP', change_reason, fields, author_id, created_at "
        f"FROM revision WHERE id IN ({REVISIONS_OF} WHERE d.number = :n)",
        "INSERT INTO revision_state (revision_id, workflow, state, entered_at) SELECT "
        f"r.id, 'sop-revision', 'effective', r.created_at FROM revision r WHERE r.id IN "
        f"({REVISIONS_OF} WHERE d.number = :copy)",
        n=SOP1,
        copy=copy,
    )
    inserted = "in the database, but no event of the chain created it"
    assert_caught(
        verify(qms_office),
        f"table document, {copy}: {inserted} (inserted, or the chain was cut)",
        f"table revision, {copy}#0: {inserted} (inserted, or the chain was cut)",
        f"table revision_state, {copy}#0: {inserted} (inserted, or the chain was cut)",
    )


# --------------------------------------------------------------------------- people and keys


def test_user_renamed(qms_office: TestOffice) -> None:
    """A user's full name (printed beside every signature) rewritten in the table is named."""
    tamper(qms_office, "UPDATE app_user SET full_name = 'DSP R. Verma' WHERE username = 'rakesh'")
    assert_caught(
        verify(qms_office),
        "table app_user, rakesh, field full_name: chain says 'SI Rakesh Verma', "
        "database says 'DSP R. Verma'",
    )


@pytest.mark.parametrize("change", ["granted", "revoked"])
def test_role_granted_or_revoked_by_sql(qms_office: TestOffice, change: str) -> None:
    """A role added or removed in ``user_role`` behind the chain's back is named."""
    if change == "granted":
        tamper(
            qms_office,
            "INSERT INTO user_role (user_id, office_id, role) SELECT u.id, o.id, 'approver' "
            "FROM app_user u, office o WHERE u.username = 'anita' AND o.code = :office",
            office=OFFICE_CODE,
        )
        line = f"table user_role, anita as approver in {OFFICE_CODE}: in the database, but no"
    else:
        tamper(
            qms_office,
            "DELETE FROM user_role WHERE role = 'auditor' AND user_id = "
            "(SELECT id FROM app_user WHERE username = 'audit')",
        )
        line = f"table user_role, audit as auditor in {OFFICE_CODE}: the chain created it"
    result = verify(qms_office)
    assert not result.ok
    assert any(p.startswith(line) for p in result.problems), result.problems


def test_user_inserted(qms_office: TestOffice) -> None:
    """A user account no chain enrolled is named."""
    tamper(
        qms_office,
        "INSERT INTO app_user (username, full_name, kind, active, created_at) "
        "VALUES ('ghost', 'Nobody', 'person', :yes, '2026-01-01T00:00:00.000000Z')",
        yes=True,
    )
    assert_caught(
        verify(qms_office),
        "table app_user, ghost: in the database, but no office's chain enrolled this user "
        "(inserted)",
    )


def test_deactivated_user_reactivated(qms_office: TestOffice) -> None:
    """A deactivated user switched back on by UPDATE is named."""
    s = qms_office.signers
    deactivate_user(
        qms_office.runtime, qms_office.office, actor=s["admin"], username="mohan", reason="Left"
    )
    tamper(qms_office, "UPDATE app_user SET active = :yes WHERE username = 'mohan'", yes=True)
    assert_caught(
        verify(qms_office),
        "table app_user, mohan, field active: chain says False, database says True",
    )


def test_revoked_key_switched_back_on(qms_office: TestOffice) -> None:
    """A revoked key made valid again in the key table (so a thief could sign) is named."""
    runtime, s = qms_office.runtime, qms_office.signers
    revoke(runtime, qms_office.office, actor=s["admin"], username="rakesh", reason="Phone lost")
    fingerprint = fingerprint_of(qms_office, "rakesh")
    tamper(
        qms_office,
        "UPDATE signing_key SET valid_until = NULL, revoked_reason = NULL WHERE fingerprint = :f",
        f=fingerprint,
    )
    problems = verify(qms_office).problems
    name = f"table signing_key, {fingerprint[:16]}…"
    assert f"{name}, field revoked_reason: chain says 'Phone lost', database says None" in problems
    (until,) = [p for p in problems if p.startswith(f"{name}, field valid_until")]
    assert until.endswith("database says None"), until


def test_issued_key_passed_off_as_the_owners_own(qms_office: TestOffice) -> None:
    """An admin-issued key marked in the table as the owner's own (so it could sign) is named."""
    with qms_office.runtime.engine.connect() as connection:
        fingerprint = connection.execute(
            text(
                "SELECT fingerprint FROM key_registration WHERE own = :no "
                "ORDER BY event_seq LIMIT 1"
            ),
            {"no": False},
        ).scalar_one()
    tamper(
        qms_office,
        "UPDATE key_registration SET own = :yes WHERE fingerprint = :f",
        yes=True,
        f=fingerprint,
    )
    assert_caught(
        verify(qms_office),
        f"table key_registration, {fingerprint[:16]}… in {OFFICE_CODE}, field own: "
        "chain says False, database says True",
    )


# --------------------------------------------------------------------------- receipts


def test_receipt_rewritten(qms_office: TestOffice) -> None:
    """An inbox receipt pointed at another record is named against its filing event."""
    add_ingest_user(qms_office)
    inbox = IngestDesk(qms_office)
    inbox.drop("GD", "GD_17_2026-11-24.pdf")
    inbox.drop("GD", "GD_18_2026-11-24.pdf")
    assert [o.status for o in inbox.run()] == ["filed", "filed"]
    (first, second) = inbox.receipts()
    tamper(
        qms_office,
        "UPDATE ingest_receipt SET number = :other WHERE claim_id = :claim",
        other=second["number"],
        claim=first["claim_id"],
    )
    assert_caught(
        verify(qms_office),
        f"table ingest_receipt, {first['claim_id']}, field number: chain says "
        f"'{first['number']}', database says '{second['number']}'",
    )


# --------------------------------------------------------------------------- whole chains


def test_wiped_chain_with_documents_still_listed(desk: Desk, qms_office: TestOffice) -> None:
    """A wiped chain with its head reset fails; the office and its documents are named."""
    desk.new_sop()
    desk.issue(SOP1)
    tamper(
        qms_office,
        "DELETE FROM event WHERE office_id = (SELECT id FROM office WHERE code = :office)",
        "UPDATE chain_head SET seq = 0, hash = :genesis "
        "WHERE office_id = (SELECT id FROM office WHERE code = :office)",
        office=OFFICE_CODE,
        genesis=GENESIS_HASH,
    )
    result = verify(qms_office)
    assert result.events == 0
    assert not result.ok
    found = differences(qms_office)
    cut = "in the database, but no event of the chain created it (inserted, or the chain was cut)"
    assert (
        f"table office, {OFFICE_CODE}: in the database, but its chain has no office.created "
        "event (the chain is empty or was cut)"
    ) in found
    assert f"table document, {SOP1}: {cut}" in found
    assert f"table revision_state, {SOP1}#0: {cut}" in found


def test_chain_cut_back_with_its_head(desk: Desk, qms_office: TestOffice) -> None:
    """Events cut from the end with the head moved back: the rows they wrote are named."""
    desk.new_sop()
    desk.issue(SOP1)
    desk.revise(SOP1)
    submitted = desk.act(SOP1, "submit").event_seq
    tamper(
        qms_office,
        "DELETE FROM event WHERE seq >= :seq AND office_id = "
        "(SELECT id FROM office WHERE code = :office)",
        "UPDATE chain_head SET seq = :seq - 1, hash = (SELECT hash FROM event WHERE seq = :seq - 1"
        " AND office_id = (SELECT id FROM office WHERE code = :office)) "
        "WHERE office_id = (SELECT id FROM office WHERE code = :office)",
        seq=submitted,
        office=OFFICE_CODE,
    )
    assert_caught(
        verify(qms_office),
        f"table revision_state, {SOP1}#1, field state: chain says 'draft', "
        "database says 'in_review'",
        f"table revision_action, {SOP1}#1 at event #{submitted}: in the database, but the "
        f"chain has no event #{submitted} (inserted, or the chain was cut)",
    )


def test_office_without_a_chain(qms_office: TestOffice) -> None:
    """An office row inserted by SQL, with no chain of its own, is named by every office."""
    tamper(
        qms_office,
        "INSERT INTO office (code, name, office_type, timezone, created_at) VALUES "
        "('PS-GHOST', 'Ghost station', 'police_station', 'Asia/Kolkata', "
        "'2026-01-01T00:00:00.000000Z')",
    )
    assert_caught(
        verify(qms_office),
        "table office, PS-GHOST: in the database, but its own chain has no office.created "
        "event (an office inserted, or its chain emptied or cut)",
    )


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE document_type SET workflow = 'record-filing' WHERE code = 'SOP'",
        "UPDATE office SET office_type = 'sp_office'",
    ],
)
def test_office_setup_rows_edited(qms_office: TestOffice, edit: str) -> None:
    """The office's own rows (its type, its document types' workflows) are held to the chain."""
    tamper(qms_office, edit)
    field = "workflow" if "document_type" in edit else "office_type"
    result = verify(qms_office)
    assert not result.ok
    assert any(f", field {field}: chain says" in p for p in result.problems), result.problems


def test_workflow_registration_repointed(qms_office: TestOffice) -> None:
    """A workflow registration pointed at another digest (to run an unregistered definition)."""
    with qms_office.runtime.engine.connect() as connection:
        registered = connection.execute(
            text(
                "SELECT w.sha256 FROM workflow_registration w JOIN office o ON o.id = w.office_id "
                "WHERE o.code = :office AND w.name = 'sop-revision'"
            ),
            {"office": OFFICE_CODE},
        ).scalar_one()
    tamper(
        qms_office,
        "UPDATE workflow_registration SET sha256 = :forged WHERE name = 'sop-revision'",
        forged="f" * 64,
    )
    assert_caught(
        verify(qms_office),
        f"table workflow_registration, {OFFICE_CODE}/sop-revision, field sha256: chain says "
        f"'{registered}', database says '{'f' * 64}'",
    )


def test_differences_are_sorted_and_named_by_natural_keys(
    desk: Desk, qms_office: TestOffice
) -> None:
    """Rows are named by document number, never database ids, and listed sorted, run after run."""
    for title in ("A", "B", "C"):
        desk.new_sop(title)
    tamper(qms_office, "UPDATE document SET title = 'X'")
    found = differences(qms_office)
    assert found == sorted(found)
    assert [line.split(",")[1].strip() for line in found] == [
        f"{OFFICE_CODE}/SOP/00{n}" for n in (1, 2, 3)
    ]
    assert found == differences(qms_office)
