"""Attacks on the signed audit trail: each tampering must make verification fail, precisely.

Every test builds (a copy of) one real history — two SOPs submitted, approved, made effective,
one rejected with a comment, one revised and re-issued — then changes the SQLite database, the
blob store or an exported bundle the way an insider with file access could, and checks that
``verify_office`` / ``verify_bundle`` fail with the *first* problem naming the right event and
saying what is wrong.  Where an attack needs signatures, the test signs with the real keys of the
staff (the fixture hands them out unlocked), so only the one thing the attack breaks is wrong.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
import sqlite3
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from qms_engine.audit.bundle import export_bundle
from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key
from qms_engine.audit.verify import AuditResult, verify_bundle, verify_office
from qms_engine.chain.canonical import canonical_bytes, canonical_text
from qms_engine.chain.encoding import GENESIS_HASH, event_body
from qms_engine.chain.signing import Signer, fingerprint
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.cli import cli
from qms_engine.clock import to_utc_text, utc_now
from qms_engine.documents.master_list import signed_history
from qms_engine.documents.revisions import (
    adopt_revision,
    create_document,
    replace_revision_file,
    revise_document,
)
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import IntegrityError, PermissionDenied, RuleViolation
from qms_engine.extension.manager import load_plugins
from qms_engine.people.keys import revoke, rotate, unlock
from qms_engine.people.users import grant_roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import Event
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import STAFF, TEST_PASSPHRASE

# The attacks edit the SQLite file directly, as an insider with the workspace folder would.
pytestmark = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)

SOP1 = "PS-TEST1/SOP/001"
SOP2 = "PS-TEST1/SOP/002"
EVENT_COLUMNS = (
    "recorded_at",
    "actor",
    "action",
    "subject",
    "payload",
    "meaning",
    "signer_name",
    "signer_role",
    "key_fingerprint",
    "prev_hash",
    "hash",
    "signature",
)


# --------------------------------------------------------------------------- the history


def _docx(folder: Path, name: str, title: str, *paragraphs: str) -> Path:
    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for text in paragraphs or (f"Body of {name}",):
        document.add_paragraph(text)
    path = folder / name
    document.save(str(path))
    return path


def build_history(
    runtime: Runtime, office: OfficeRef, s: Mapping[str, Signer], files: Path
) -> None:
    """Two SOPs through the workflow, a rejection with a comment, and a revision re-issued."""
    files.mkdir(parents=True, exist_ok=True)
    create_document(
        runtime,
        office,
        actor=s["author"],
        type_code="SOP",
        title="Station office procedure",
        path=_docx(files, "sop1.docx", "Station office procedure"),
    )
    create_document(
        runtime,
        office,
        actor=s["author2"],
        type_code="SOP",
        title="General Diary (GD) upkeep",
        path=_docx(files, "sop2.docx", "General Diary (GD) upkeep"),
    )
    take_transition(runtime, number=SOP1, transition="submit", actor=s["author"])
    take_transition(runtime, number=SOP2, transition="submit", actor=s["author2"])
    take_transition(runtime, number=SOP1, transition="approve", actor=s["approver"])
    take_transition(runtime, number=SOP1, transition="make_effective", actor=s["approver"])
    take_transition(
        runtime, number=SOP2, transition="reject", actor=s["reviewer"], comment="Section 3 missing"
    )
    revise_document(
        runtime,
        actor=s["author"],
        number=SOP1,
        path=_docx(files, "sop1-r1.docx", "Station office procedure", "Revised duty roster"),
        reason="Duty roster changed",
    )
    take_transition(runtime, number=SOP1, transition="submit", actor=s["author"])
    take_transition(runtime, number=SOP1, transition="approve", actor=s["approver2"])
    take_transition(
        runtime, number=SOP1, transition="make_effective", actor=s["quality_coordinator"]
    )


@pytest.fixture(scope="module")
def history_template(qms_office_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The staffed workspace with the history written through the engine, built once."""
    template, signers = qms_office_template.root, qms_office_template.signers
    root = tmp_path_factory.mktemp("attack-history") / "ws"
    shutil.copytree(template, root)
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        build_history(runtime, runtime.office(), signers, root.parent / "files")
    finally:
        runtime.close()
    return root


@dataclass
class History:
    """An open copy of the history workspace, with the staff's signers."""

    runtime: Runtime
    office: OfficeRef
    signers: dict[str, Signer]
    root: Path
    extra_signers: list[Signer] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.root / "qms.sqlite3"

    def verify(self, **kwargs: Any) -> AuditResult:
        self.runtime.engine.dispose()  # no pooled connection holds a stale snapshot
        return verify_office(self.runtime, self.office, **kwargs)

    @property
    def by_fingerprint(self) -> dict[str, Signer]:
        return {s.fingerprint: s for s in [*self.signers.values(), *self.extra_signers]}

    def db(self) -> Tampering:
        self.runtime.engine.dispose()
        return Tampering(self)


@pytest.fixture
def hist(
    history_template: Path,
    qms_office_template: Any,
    tmp_path: Path,
) -> Iterator[History]:
    """A fresh copy of the history for one test."""
    root = tmp_path / "ws"
    shutil.copytree(history_template, root)
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        yield History(
            runtime,
            runtime.office(),
            dict(qms_office_template.signers),
            root,
            list(qms_office_template.issued),
        )
    finally:
        runtime.close()


# --------------------------------------------------------------------------- tampering helpers


class Tampering:
    """Direct SQLite access to the event table, as an insider with the file would have."""

    def __init__(self, hist: History) -> None:
        self.hist = hist
        self.connection = sqlite3.connect(hist.db_path)
        self.connection.row_factory = sqlite3.Row

    def __enter__(self) -> Tampering:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.connection.commit()
        self.connection.close()

    def row(self, seq: int) -> dict[str, Any]:
        found = self.connection.execute("SELECT * FROM event WHERE seq = ?", (seq,)).fetchone()
        assert found is not None, f"no event #{seq}"
        return dict(found)

    def seq_of(self, action: str, subject: str, nth: int = 0) -> int:
        rows = self.connection.execute(
            "SELECT seq FROM event WHERE action = ? AND subject = ? ORDER BY seq",
            (action, subject),
        ).fetchall()
        return int(rows[nth][0])

    def last_seq(self) -> int:
        return int(self.connection.execute("SELECT max(seq) FROM event").fetchone()[0])

    def head(self) -> tuple[int, str]:
        seq, digest = self.connection.execute("SELECT seq, hash FROM chain_head").fetchone()
        return int(seq), str(digest)

    def update(self, seq: int, **changes: Any) -> None:
        """Change columns of one event without touching its hash or signature."""
        assignments = ", ".join(f"{name} = ?" for name in changes)
        self.connection.execute(
            f"UPDATE event SET {assignments} WHERE seq = ?", (*changes.values(), seq)
        )

    def set_head(self, seq: int, digest: str) -> None:
        self.connection.execute("UPDATE chain_head SET seq = ?, hash = ?", (seq, digest))

    def shift_up(self, from_seq: int) -> None:
        """Renumber events ``from_seq``… one place up, leaving a gap at ``from_seq``."""
        self.connection.execute("UPDATE event SET seq = -(seq + 1) WHERE seq >= ?", (from_seq,))
        self.connection.execute("UPDATE event SET seq = -seq WHERE seq < 0")

    def insert(self, seq: int, **columns: Any) -> None:
        """A new row at ``seq``; hash and signature are placeholders until :meth:`reseal`."""
        row = {
            "office_id": self.hist.office.id,
            "seq": seq,
            "prev_hash": GENESIS_HASH,
            "hash": f"placeholder-{seq}",
            "signature": "00" * 64,
            **columns,
        }
        if not isinstance(row["payload"], str):
            row["payload"] = canonical_text(row["payload"])
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.connection.execute(
            f"INSERT INTO event ({names}) VALUES ({marks})", tuple(row.values())
        )

    def reseal(self, from_seq: int, sign_with: Mapping[int, Signer] | None = None) -> str:
        """Re-sign and re-link events ``from_seq``… in chain order; move the chain head.

        Each event's ``prev`` becomes the previous event's (new) hash, its hash is recomputed
        from :func:`qms_engine.audit.event_body`, and it is signed by ``sign_with[seq]`` or else
        by the real signer owning the key the event names.  Returns the new head hash.
        """
        sign_with = dict(sign_with or {})
        keys = self.hist.by_fingerprint
        prev = GENESIS_HASH if from_seq == 1 else self.row(from_seq - 1)["hash"]
        seqs = [
            int(r[0])
            for r in self.connection.execute(
                "SELECT seq FROM event WHERE seq >= ? ORDER BY seq", (from_seq,)
            )
        ]
        for seq in seqs:
            row = self.row(seq)
            row["prev_hash"] = prev
            signer = sign_with.get(seq) or keys[row["key_fingerprint"]]
            row["key_fingerprint"] = signer.fingerprint
            body = event_body(Event.model_validate(row), self.hist.office.code)
            encoded = canonical_bytes(body)
            digest = hashlib.sha256(encoded).hexdigest()
            self.update(
                seq,
                prev_hash=prev,
                key_fingerprint=signer.fingerprint,
                hash=digest,
                signature=signer.sign(encoded).hex(),
            )
            prev = digest
        last = self.last_seq()
        self.set_head(last, self.row(last)["hash"])
        return prev

    def append(self, signer: Signer, *, role: str, **columns: Any) -> int:
        """A forged event at the end of the chain, correctly linked and signed by ``signer``."""
        seq = self.last_seq() + 1
        columns.setdefault("recorded_at", to_utc_text(utc_now()))
        columns.setdefault("actor", signer.username)
        self.insert(seq, signer_role=role, key_fingerprint=signer.fingerprint, **columns)
        self.reseal(seq, {seq: signer})
        return seq

    def event_count(self) -> int:
        return int(self.connection.execute("SELECT count(*) FROM event").fetchone()[0])


def fresh_signer(username: str) -> Signer:
    """A brand-new Ed25519 key that was never registered anywhere."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return Signer(username, fingerprint(public), key)


def assert_fails_at(result: AuditResult, seq: int, *fragments: str) -> str:
    """Verification failed, and its first problem is at event ``seq`` and says ``fragments``."""
    assert not result.ok, "tampering went unnoticed"
    first = result.problems[0]
    assert first.startswith(f"event #{seq}: "), result.problems
    for fragment in fragments:
        assert fragment in first, result.problems
    return first


def problem_seqs(result: AuditResult) -> set[int | None]:
    """The event numbers named by the problems (None for problems about something else)."""
    seqs: set[int | None] = set()
    for problem in result.problems:
        if problem.startswith("event #"):
            seqs.add(int(problem.split("#", 1)[1].split(":", 1)[0]))
        else:
            seqs.add(None)
    return seqs


def state_snapshot(hist: History) -> tuple[int, tuple[int, str], int]:
    """Events, chain head and workflow actions: what a refused command must leave unchanged."""
    with hist.db() as db:
        actions = int(db.connection.execute("SELECT count(*) FROM revision_action").fetchone()[0])
        return db.event_count(), db.head(), actions


# --------------------------------------------------------------------------- the clean history


def test_clean_history_verifies(hist: History) -> None:
    """The untouched history verifies: every event, key, rule and blob."""
    result = hist.verify()
    assert result.ok, result.problems
    assert result.events >= 45
    assert result.blobs == 3


def test_reseal_helper_is_faithful(hist: History) -> None:
    """Re-signing an unchanged history with the real keys reproduces it exactly."""
    with hist.db() as db:
        before = [db.row(seq)["hash"] for seq in range(1, db.last_seq() + 1)]
        db.reseal(1)
        after = [db.row(seq)["hash"] for seq in range(1, db.last_seq() + 1)]
    assert before == after
    assert hist.verify().ok


# --------------------------------------------------------------------------- altered rows


def test_changed_payload(hist: History) -> None:
    """A rejection comment rewritten in the database no longer matches its hash."""
    with hist.db() as db:
        seq = db.seq_of("document.revision.rejected", f"{SOP2}#0")
        payload = json.loads(db.row(seq)["payload"])
        payload["comment"] = "Looks fine"
        db.update(seq, payload=canonical_text(payload))
    result = hist.verify()
    assert_fails_at(result, seq, "content does not match its hash", "altered after it was written")
    assert any("signature does not verify" in p for p in result.problems)
    assert problem_seqs(result) == {seq}


@pytest.mark.parametrize("backdated", [True, False])
def test_changed_timestamp(hist: History, backdated: bool) -> None:
    """An approval's recorded_at changed: back-dated out of order, or nudged by a microsecond."""
    with hist.db() as db:
        seq = db.seq_of("document.revision.approved", f"{SOP1}#0")
        recorded = db.row(seq)["recorded_at"]
        nudged = recorded[:-2] + str((int(recorded[-2]) + 1) % 10) + "Z"
        changed = "2020-01-01T00:00:00.000000Z" if backdated else nudged
        if not backdated:
            assert db.row(seq - 1)["recorded_at"] <= changed <= db.row(seq + 1)["recorded_at"]
        db.update(seq, recorded_at=changed)
    result = hist.verify()
    if backdated:
        assert_fails_at(result, seq, f"time {changed} is earlier than the previous event's")
        assert any("content does not match its hash" in p for p in result.problems)
    else:
        assert_fails_at(result, seq, "content does not match its hash")
    assert problem_seqs(result) == {seq}


def test_changed_actor(hist: History) -> None:
    """An approval re-attributed to another approver no longer matches its hash."""
    with hist.db() as db:
        seq = db.seq_of("document.revision.approved", f"{SOP1}#0")
        db.update(seq, actor=hist.signers["approver2"].username)
    assert_fails_at(hist.verify(), seq, "content does not match its hash")


def test_deleted_middle_event(hist: History) -> None:
    """Deleting an event in the middle breaks the numbering and the links right there."""
    with hist.db() as db:
        seq = db.seq_of("document.revision.rejected", f"{SOP2}#0")
        db.connection.execute("DELETE FROM event WHERE seq = ?", (seq,))
    first = assert_fails_at(hist.verify(), seq, f"sequence number {seq + 1} where #{seq}")
    assert "removed, inserted or reordered" in first


def test_swapped_events(hist: History) -> None:
    """Two events exchanged (every column but seq) break the link at the first of them."""
    with hist.db() as db:
        a = db.seq_of("document.revision.approved", f"{SOP1}#0")
        b = db.seq_of("document.revision.rejected", f"{SOP2}#0")
        row_a, row_b = db.row(a), db.row(b)
        db.update(a, hash=f"swap-{a}")  # the hash column is unique
        db.update(b, **{c: row_a[c] for c in EVENT_COLUMNS})
        db.update(a, **{c: row_b[c] for c in EVENT_COLUMNS})
    assert_fails_at(
        hist.verify(), a, f"does not match event #{a - 1}'s hash", "removed, inserted or reordered"
    )


@pytest.mark.parametrize("claimed_key", ["fresh", "admin"])
def test_inserted_forged_event(hist: History, claimed_key: str) -> None:
    """A forged role grant inserted mid-chain, perfectly linked, fails on its key or signature."""
    forger = fresh_signer("admin")
    hist.extra_signers.append(forger)
    with hist.db() as db:
        seq = db.seq_of("document.revision.approved", f"{SOP1}#0")
        admin_row = db.row(db.seq_of("user.role.granted", "anita"))
        db.shift_up(seq)
        db.insert(
            seq,
            recorded_at=db.row(seq - 1)["recorded_at"],
            actor="admin",
            action="user.role.granted",
            subject="anita",
            payload={"role": "approver"},
            meaning="granted role",
            signer_name=admin_row["signer_name"],
            signer_role="admin",
            key_fingerprint=forger.fingerprint,
        )
        db.reseal(seq, {seq: forger})
        if claimed_key == "admin":  # claim the real admin key, but the signature is the forger's
            row = db.row(seq)
            row["key_fingerprint"] = hist.signers["admin"].fingerprint
            body = canonical_bytes(event_body(Event.model_validate(row), hist.office.code))
            db.update(
                seq,
                key_fingerprint=row["key_fingerprint"],
                hash=hashlib.sha256(body).hexdigest(),
                signature=forger.sign(body).hex(),
            )
            db.reseal(seq + 1)
    result = hist.verify()
    if claimed_key == "fresh":
        assert_fails_at(
            result, seq, f"signed with key {forger.fingerprint[:16]}", "never registered"
        )
    else:
        assert_fails_at(result, seq, "signature does not verify")
    assert problem_seqs(result) == {seq}, result.problems


def test_signature_copied_from_another_event(hist: History) -> None:
    """A signature copied from another event of the same signer does not verify."""
    with hist.db() as db:
        first = db.seq_of("document.revision.approved", f"{SOP1}#0")
        seq = db.seq_of("document.revision.made_effective", f"{SOP1}#0")
        assert db.row(first)["actor"] == db.row(seq)["actor"]
        db.update(seq, signature=db.row(first)["signature"])
    result = hist.verify()
    assert_fails_at(result, seq, "signature does not verify", "copied from another event")
    assert problem_seqs(result) == {seq}


def test_resigned_with_another_users_key(hist: History) -> None:
    """Meena re-attributes her approval to the SHO but can only sign it with her own key."""
    meena, sks = hist.signers["approver2"], hist.signers["approver"]
    with hist.db() as db:
        seq = db.seq_of("document.revision.approved", f"{SOP1}#1")
        sks_name = db.row(db.seq_of("document.revision.approved", f"{SOP1}#0"))["signer_name"]
        assert db.row(seq)["actor"] == meena.username
        db.update(seq, actor=sks.username, signer_name=sks_name)
        db.reseal(seq, {seq: meena})
    result = hist.verify()
    assert_fails_at(result, seq, f"signed by {sks.username!r} with {meena.username!r}'s key")
    assert problem_seqs(result) == {seq}


def test_key_used_after_revocation(hist: History) -> None:
    """An event forged with a stolen key after its revocation fails even though it is linked."""
    rakesh = hist.signers["reviewer"]
    take_transition(
        hist.runtime, number=SOP2, transition="submit", actor=hist.signers["author2"], comment=""
    )
    revoke(hist.runtime, hist.office, actor=hist.signers["admin"], username="rakesh", reason="lost")
    with hist.db() as db:
        template = db.row(db.seq_of("document.revision.rejected", f"{SOP2}#0"))
        seq = db.append(
            rakesh,
            role="reviewer",
            action="document.revision.rejected",
            subject=f"{SOP2}#0",
            payload=dict(json.loads(template["payload"]), comment="Forged after revocation"),
            meaning="rejected",
            signer_name=template["signer_name"],
        )
        revoked_at = db.seq_of("key.revoked", "rakesh")
    result = hist.verify()
    assert_fails_at(
        result,
        seq,
        f"signed with key {rakesh.fingerprint[:16]}",
        f"which was revoked at event #{revoked_at}",
    )
    assert problem_seqs(result) == {seq}


def test_revoked_key_cannot_backdate_a_new_event(hist: History) -> None:
    """A thief with a revoked key appends an event dated before the revocation: still refused."""
    rakesh = hist.signers["reviewer"]
    take_transition(hist.runtime, number=SOP2, transition="submit", actor=hist.signers["author2"])
    revoke(hist.runtime, hist.office, actor=hist.signers["admin"], username="rakesh", reason="lost")
    with hist.db() as db:
        template = db.row(db.seq_of("document.revision.rejected", f"{SOP2}#0"))
        submitted = db.row(db.seq_of("document.revision.authored", f"{SOP2}#0", nth=1))
        seq = db.append(
            rakesh,
            role="reviewer",
            recorded_at=submitted["recorded_at"],  # back-dated: before the key.revoked event
            action="document.revision.rejected",
            subject=f"{SOP2}#0",
            payload=dict(json.loads(template["payload"]), comment="Forged, back-dated"),
            meaning="rejected",
            signer_name=template["signer_name"],
        )
        revoked_at = db.seq_of("key.revoked", "rakesh")
    result = hist.verify()
    assert_fails_at(result, seq, "is earlier than the previous event's")
    assert (
        f"event #{seq}: signed with key {rakesh.fingerprint[:16]}…, which was revoked at "
        f"event #{revoked_at}" in result.problems
    )
    assert problem_seqs(result) == {seq}


def test_segregation_of_duties_forged(hist: History) -> None:
    """An approval rewritten as the author's own, re-signed with her real key, breaks SoD."""
    anita = hist.signers["author"]
    grant_roles(
        hist.runtime, hist.office, actor=hist.signers["admin"], username="anita", roles=["approver"]
    )
    files = hist.root.parent / "files"
    files.mkdir(exist_ok=True)
    number = create_document(
        hist.runtime,
        hist.office,
        actor=anita,
        type_code="SOP",
        title="Malkhana (case property) management",
        path=_docx(files, "sop3.docx", "Malkhana"),
    ).number
    take_transition(hist.runtime, number=number, transition="submit", actor=anita)
    take_transition(
        hist.runtime, number=number, transition="approve", actor=hist.signers["approver"]
    )
    take_transition(
        hist.runtime, number=number, transition="make_effective", actor=hist.signers["approver2"]
    )
    assert hist.verify().ok
    with hist.db() as db:
        seq = db.seq_of("document.revision.approved", f"{number}#0")
        anita_name = db.row(db.seq_of("document.created", number))["signer_name"]
        db.update(seq, actor="anita", signer_name=anita_name)
        db.reseal(seq, {seq: anita})
    result = hist.verify()
    assert_fails_at(
        result, seq, "'anita' wrote this revision and may not approve it", "segregation"
    )
    assert problem_seqs(result) == {seq}


def test_signer_role_not_held(hist: History) -> None:
    """A rejection re-signed (with the reviewer's real key) as 'approver', a role he lacks."""
    with hist.db() as db:
        seq = db.seq_of("document.revision.rejected", f"{SOP2}#0")
        db.update(seq, signer_role="approver")
        db.reseal(seq)
    result = hist.verify()
    assert_fails_at(result, seq, "'rakesh' signed as 'approver' without holding that role")
    assert problem_seqs(result) == {seq}


# --------------------------------------------------------------------------- blobs


def _blob(hist: History) -> tuple[str, Path]:
    with hist.db() as db:
        row = db.row(db.seq_of("document.revision.created", f"{SOP1}#0"))
    sha = json.loads(row["payload"])["sha256"]
    return sha, hist.root / "blobs" / "objects" / sha[:2] / sha[2:4] / sha


def test_replaced_blob(hist: History) -> None:
    """Content swapped under a revision's hash is reported as replaced."""
    sha, path = _blob(hist)
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    result = hist.verify()
    assert not result.ok
    assert result.problems[0].startswith(f"blob {sha[:16]}…: content hashes to")
    assert "replaced or damaged" in result.problems[0]
    assert len(result.problems) == 1


def test_missing_blob(hist: History) -> None:
    """A deleted blob is reported as missing."""
    sha, path = _blob(hist)
    path.unlink()
    result = hist.verify()
    assert result.problems == [
        f"blob {sha[:16]}…: missing (a revision points at content that is gone)"
    ]


# --------------------------------------------------------------------------- the tail


def test_tail_removed_without_head_update(hist: History) -> None:
    """Deleting the newest events but not the chain head is caught by the head."""
    with hist.db() as db:
        last = db.last_seq()
        db.connection.execute("DELETE FROM event WHERE seq > ?", (last - 3,))
    result = hist.verify()
    assert len(result.problems) == 1
    assert f"chain head says #{last}" in result.problems[0]
    assert "removed from the end" in result.problems[0]


def _checkpoint_then_more(hist: History) -> tuple[str, int]:
    office_key = unlock_office_key(hist.runtime, hist.office, TEST_PASSPHRASE)
    record = record_checkpoint(
        hist.runtime, hist.office, actor=hist.signers["quality_coordinator"], office_key=office_key
    )
    take_transition(hist.runtime, number=SOP2, transition="submit", actor=hist.signers["author2"])
    take_transition(hist.runtime, number=SOP2, transition="approve", actor=hist.signers["approver"])
    return record.code, record.seq


def test_tail_removed_with_head_caught_by_checkpoint(hist: History) -> None:
    """Tail and chain head cut back together: only the stored checkpoint notices."""
    code, checkpoint_seq = _checkpoint_then_more(hist)
    keep = checkpoint_seq - 2
    with hist.db() as db:
        db.connection.execute("DELETE FROM event WHERE seq > ?", (keep,))
        db.set_head(keep, db.row(keep)["hash"])
    result = hist.verify()
    assert result.problems == [
        f"checkpoint {code}: the chain ends at #{keep} but had {checkpoint_seq} events when "
        "the checkpoint was taken: its tail was removed"
    ]


def test_tail_and_checkpoints_removed_caught_by_paper_code(hist: History) -> None:
    """If the checkpoint rows go too, the short code written on paper still catches the cut (and
    the tables, a projection of the chain, no longer match it)."""
    code, checkpoint_seq = _checkpoint_then_more(hist)
    keep = checkpoint_seq - 2
    with hist.db() as db:
        db.connection.execute("DELETE FROM event WHERE seq > ?", (keep,))
        db.connection.execute("DELETE FROM checkpoint")
        db.set_head(keep, db.row(keep)["hash"])
    cut = f"code {code}: the chain ends at #{keep}: its tail was removed"
    without_code = hist.verify().problems
    assert cut not in without_code
    assert any("the chain has no event" in p for p in without_code)  # the projection check
    assert cut in hist.verify(codes=[code]).problems


def test_checkpoint_detects_rewritten_history(hist: History) -> None:
    """A chain re-signed wholesale with every real key still contradicts the checkpoint."""
    code, checkpoint_seq = _checkpoint_then_more(hist)
    with hist.db() as db:
        seq = db.seq_of("document.revision.rejected", f"{SOP2}#0")
        payload = json.loads(db.row(seq)["payload"])
        db.update(seq, payload=canonical_text(dict(payload, comment="All fine")))
        db.reseal(seq)
    result = hist.verify(codes=[code])
    assert f"checkpoint {code}: event #{checkpoint_seq} now hashes to" in result.problems[0]
    assert result.problems[1] == (
        f"code {code}: event #{checkpoint_seq} no longer matches: the chain was rewritten"
    )


# --------------------------------------------------------------------------- bundles


@pytest.fixture
def bundle(hist: History, tmp_path: Path) -> Path:
    path = tmp_path / "bundle"
    export_bundle(hist.runtime, hist.office, path, include_blobs=True)
    assert verify_bundle(path).ok
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rewrite_manifest(path: Path, section: str, **changes: Any) -> None:
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest[section].update(changes)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")


def test_bundle_without_keys(hist: History, bundle: Path) -> None:
    """A bundle whose keys.json was deleted is refused, naming the file."""
    (bundle / "keys.json").unlink()
    result = verify_bundle(bundle)
    assert result.problems == [f"{bundle / 'keys.json'}: missing from the bundle"]


def test_bundle_altered_key_list(hist: History, bundle: Path) -> None:
    """A public key replaced in keys.json (manifest fixed) is caught by the chain cross-check."""
    keys_path = bundle / "keys.json"
    keys = json.loads(keys_path.read_text(encoding="utf-8"))
    target = next(k for k in keys if k["owner"] == "sks")
    target["public_key"] = "ab" * 32
    keys_path.write_text(json.dumps(keys, indent=2, sort_keys=True), encoding="utf-8")
    _rewrite_manifest(bundle, "keys", sha256=_sha(keys_path))
    result = verify_bundle(bundle)
    assert result.problems == [
        f"key list: key {target['fingerprint'][:16]}… differs from the chain's key.registered "
        "event (altered key list)"
    ]


@pytest.mark.parametrize("fix_manifest", [False, True])
def test_bundle_events_cut_mid_line(hist: History, bundle: Path, fix_manifest: bool) -> None:
    """events.jsonl cut in the middle of a line: the manifest digest, or the parser, objects."""
    events_path = bundle / "events.jsonl"
    data = events_path.read_bytes()
    lines = data.count(b"\n")
    events_path.write_bytes(data[: len(data) - 40])
    if fix_manifest:
        _rewrite_manifest(bundle, "events", sha256=_sha(events_path))
    result = verify_bundle(bundle)
    assert len(result.problems) == 1
    if fix_manifest:
        assert f"line {lines} is not a whole event" in result.problems[0]
        assert "truncated or damaged" in result.problems[0]
    else:
        assert "the file was altered or truncated" in result.problems[0]


def test_bundle_events_cut_by_lines_caught_by_checkpoint(hist: History, tmp_path: Path) -> None:
    """Whole events dropped and the manifest made consistent: the signed checkpoint objects."""
    code, checkpoint_seq = _checkpoint_then_more(hist)
    path = tmp_path / "cut-bundle"
    export_bundle(hist.runtime, hist.office, path, include_blobs=True)
    events_path = path / "events.jsonl"
    keep = checkpoint_seq - 2
    lines = events_path.read_bytes().splitlines(keepends=True)[:keep]
    events_path.write_bytes(b"".join(lines))
    head = json.loads(lines[-1])["hash"]
    _rewrite_manifest(path, "events", count=keep, head=head, sha256=_sha(events_path))
    result = verify_bundle(path)
    assert result.problems == [
        f"checkpoint {code}: the chain ends at #{keep} but had {checkpoint_seq} events when "
        "the checkpoint was taken: its tail was removed"
    ]
    assert not verify_bundle(path, codes=[code]).ok


def test_bundle_blob_byte_changed(hist: History, tmp_path: Path) -> None:
    """One byte of a blob in a --blobs bundle changed: reported as replaced or damaged."""
    path = tmp_path / "blob-bundle"
    summary = export_bundle(hist.runtime, hist.office, path, include_blobs=True)
    assert summary.blobs == 3
    assert verify_bundle(path).ok
    sha, _ = _blob(hist)
    blob = path / "blobs" / sha
    blob.chmod(stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    result = verify_bundle(path)
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"blob {sha[:16]}…: content hashes to")
    assert "replaced or damaged" in result.problems[0]


# --------------------------------------------------------------------------- keys in use


def test_wrong_passphrase_is_refused_and_writes_nothing(hist: History) -> None:
    """A wrong passphrase unlocks neither a user key nor the office key; nothing is written."""
    before = state_snapshot(hist)
    with pytest.raises(PermissionDenied, match="wrong passphrase for sks's signing key"):
        unlock(hist.runtime, "sks", "not-the-passphrase")
    with pytest.raises(PermissionDenied, match="wrong passphrase"):
        unlock_office_key(hist.runtime, hist.office, "not-the-passphrase")
    assert state_snapshot(hist) == before
    assert hist.verify().ok


def test_revoked_user_cannot_act(hist: History) -> None:
    """After revocation the old signer is refused and the key cannot be unlocked again."""
    revoke(hist.runtime, hist.office, actor=hist.signers["admin"], username="mohan", reason="lost")
    before = state_snapshot(hist)
    with pytest.raises(PermissionDenied, match="was revoked"):
        take_transition(
            hist.runtime, number=SOP2, transition="submit", actor=hist.signers["author2"]
        )
    with pytest.raises(PermissionDenied, match="no valid signing key"):
        unlock(hist.runtime, "mohan", TEST_PASSPHRASE)
    assert state_snapshot(hist) == before
    assert hist.verify().ok


def test_rotation_by_admin(hist: History, tmp_path: Path) -> None:
    """After an admin rotates a key (a forgotten passphrase): old events verify, the old key
    is dead, the admin's new key signs nothing but the user's own next rotation, and the key
    the user then chooses signs her work."""
    old = hist.signers["author"]
    new_fp = rotate(
        hist.runtime,
        hist.office,
        actor=hist.signers["admin"],
        username="anita",
        new_passphrase="new-passphrase-1",
    )
    issued = unlock(hist.runtime, "anita", "new-passphrase-1")
    assert issued.fingerprint == new_fp != old.fingerprint
    with pytest.raises(PermissionDenied, match="no longer valid"):
        take_transition(hist.runtime, number=SOP2, transition="submit", actor=old)
    revise = _docx(hist.root.parent, "r2.docx", "Station office procedure", "Third issue")
    with pytest.raises(PermissionDenied, match="was issued by an admin"):
        revise_document(hist.runtime, actor=issued, number=SOP1, path=revise, reason="Third")
    rotate(
        hist.runtime, hist.office, actor=issued, username="anita", new_passphrase="own-choice-12"
    )
    own = unlock(hist.runtime, "anita", "own-choice-12")
    revise_document(hist.runtime, actor=own, number=SOP1, path=revise, reason="Third issue")
    with hist.db() as db:
        mine = db.connection.execute(
            "SELECT seq, key_fingerprint FROM event WHERE actor = 'anita' ORDER BY seq"
        ).fetchall()
    assert mine[-1][1] == own.fingerprint
    assert {fp for _, fp in mine[-3:-1]} == {issued.fingerprint}  # her rotation, nothing else
    for where, result in verdicts(hist, tmp_path).items():
        assert result.ok, (where, result.problems)


def test_admin_cannot_sign_as_someone_with_a_key_they_issued(hist: History, tmp_path: Path) -> None:
    """An admin rotates the SHO's key to a passphrase the admin chose, then "approves" as the
    SHO with it: the engine refuses, and the same approval forged into the chain fails
    verification online and on a bundle (the issued key may sign only the SHO's own change)."""
    rotate(
        hist.runtime,
        hist.office,
        actor=hist.signers["admin"],
        username="sks",
        new_passphrase="admin-knows-it",
    )
    as_sks = unlock(hist.runtime, "sks", "admin-knows-it")
    with pytest.raises(PermissionDenied, match="was issued by an admin"):
        take_transition(hist.runtime, number=SOP2, transition="submit", actor=as_sks)
    seq = _forge_transition(
        hist,
        as_sks,
        "approver",
        "Inspector S. K. Singh",
        {"transition": "withdraw", "from": "effective", "to": "obsolete", "comment": "old"},
        action="document.revision.withdrawn",
        subject=f"{SOP1}#1",
        meaning="withdrawn",
    )
    assert_both_fail_at(hist, tmp_path, seq, "someone else registered for 'sks'")


def test_rotation_by_the_user_themself(hist: History) -> None:
    """A user rotating their own key leaves a history that still verifies."""
    rotate(
        hist.runtime,
        hist.office,
        actor=hist.signers["author"],
        username="anita",
        new_passphrase="new-passphrase-1",
    )
    result = hist.verify()
    assert result.ok, result.problems


# ------------------------------------------------------------------- signature manifestation


def test_signed_history_shows_and_checks_signatures(hist: History) -> None:
    """The document history prints name, role, meaning, key, and a live signature check."""
    timezone, entries = signed_history(hist.runtime, SOP1)
    assert timezone == "Asia/Kolkata"
    assert entries and all(e.signature_valid for e in entries)
    approval = next(e for e in entries if e.action == "document.revision.approved")
    assert (approval.signer, approval.username, approval.role, approval.meaning) == (
        "Inspector S. K. Singh",
        "sks",
        "approver",
        "approved",
    )
    assert approval.key_fingerprint == hist.signers["approver"].fingerprint
    with hist.db() as db:
        signature = bytearray.fromhex(db.row(approval.seq)["signature"])
        signature[0] ^= 0x01
        db.update(approval.seq, signature=signature.hex())
    _, entries = signed_history(hist.runtime, SOP1)
    assert [e.seq for e in entries if not e.signature_valid] == [approval.seq]


# --------------------------------------------------------------------------- parallel check


@pytest.mark.parametrize("tamper", [False, True])
def test_parallel_verification_gives_same_verdict(hist: History, tamper: bool) -> None:
    """jobs=2 (real worker processes) reaches exactly the verdict of jobs=1."""
    if tamper:
        with hist.db() as db:
            seq = db.seq_of("document.revision.approved", f"{SOP1}#1")
            db.update(seq, signature=db.row(seq - 1)["signature"])
    workers: list[int] = []

    def progress(_done: int) -> None:
        workers.append(len(multiprocessing.active_children()))

    serial = hist.verify(jobs=1)
    parallel = hist.verify(jobs=2, progress=progress)
    assert max(workers) >= 1, "no worker process was started"
    assert (parallel.ok, parallel.problems, parallel.events) == (
        serial.ok,
        serial.problems,
        serial.events,
    )
    assert serial.ok is not tamper


# ------------------------------------------------------------ insiders with a valid key (issue 9)
#
# Each forgery below is appended to the end of the chain, correctly linked and signed with a
# real, registered, unrevoked key of the person doing it: links, hashes and signatures are all
# fine.  Only the authorisation table (qms_engine.chain.authorisation) and the workflow rules
# can catch them, online and from an exported bundle alike.


def verdicts(
    hist: History, tmp_path: Path, office: OfficeRef | None = None
) -> dict[str, AuditResult]:
    """The online verdict and the verdict on a bundle exported from the same database, of
    ``office`` (default: the history's)."""
    online = hist.verify() if office is None else verify_office(hist.runtime, office)
    bundle_path = tmp_path / "insider-bundle"
    export_bundle(hist.runtime, office or hist.office, bundle_path, include_blobs=True)
    offline = verify_bundle(bundle_path)
    return {"online": online, "bundle": offline}


def assert_both_fail_at(
    hist: History, tmp_path: Path, seq: int, *fragments: str, office: OfficeRef | None = None
) -> None:
    """Online and bundle verification both fail first at event ``seq``, saying ``fragments``."""
    for where, result in verdicts(hist, tmp_path, office).items():
        try:
            assert_fails_at(result, seq, *fragments)
        except AssertionError as failure:
            raise AssertionError(f"{where}: {failure}") from None


def _key_payload(owner: str, signer: Signer, purpose: str = "user") -> dict[str, str]:
    public = signer.private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {
        "owner": owner,
        "fingerprint": signer.fingerprint,
        "public_key": public.hex(),
        "purpose": purpose,
    }


@pytest.mark.parametrize(
    ("role", "fragment"),
    [
        ("author", "rule 'key registration': signed as 'author'; allowed: admin, key holder"),
        ("key holder", "'anita' may act as key holder only on their own key, not 'sks''s"),
    ],
)
def test_author_registers_a_key_in_the_sho_s_name(
    hist: History, tmp_path: Path, role: str, fragment: str
) -> None:
    """An author registers a key she made as the SHO's, to sign "his" approvals: refused by
    the key registration rule, whatever role she signs in."""
    anita, fake = hist.signers["author"], fresh_signer("sks")
    with hist.db() as db:
        seq = db.append(
            anita,
            role=role,
            action="key.registered",
            subject="sks",
            payload=_key_payload("sks", fake),
            meaning="registered key",
            signer_name="ASI Anita Sharma",
        )
    assert_both_fail_at(hist, tmp_path, seq, fragment)


@pytest.mark.parametrize(
    ("action", "meaning", "subject", "payload", "role", "fragment"),
    [
        pytest.param(
            "user.role.granted",
            "granted role",
            "anita",
            {"role": "admin"},
            "author",
            "rule 'role grants': signed as 'author'; allowed: admin",
            id="grants-herself-admin",
        ),
        pytest.param(
            "key.retired",
            "retired key",
            "sks",
            {"owner": "sks", "fingerprint": "f" * 64},
            "key holder",
            "rule 'key retirement'",
            id="retires-someone-elses-key",
        ),
        pytest.param(
            "audit.checkpoint.recorded",
            "recorded checkpoint",
            "PS-TEST1",
            {"seq": 1, "head": "0" * 64, "signature": "00" * 64},
            "author",
            "rule 'checkpoints': signed as 'author'",
            id="records-a-checkpoint",
        ),
        pytest.param(
            "document.revision.adored",
            "adored",
            f"{SOP1}#1",
            {"transition": "adore", "from": "effective", "to": "effective"},
            "author",
            "workflow 'sop-revision' has no transition 'adore'",
            id="invents-a-transition",
        ),
        pytest.param(
            "document.annotated",
            "annotated",
            SOP1,
            {},
            "author",
            "meaning 'annotated' is not 'document.annotated''s",
            id="invents-an-action",
        ),
    ],
)
def test_key_holder_acts_outside_her_rule(
    hist: History,
    tmp_path: Path,
    action: str,
    meaning: str,
    subject: str,
    payload: dict[str, Any],
    role: str,
    fragment: str,
) -> None:
    """An author, with her own valid key, writes events no rule lets her sign."""
    with hist.db() as db:
        seq = db.append(
            hist.signers["author"],
            role=role,
            action=action,
            subject=subject,
            payload=payload,
            meaning=meaning,
            signer_name="ASI Anita Sharma",
        )
    assert_both_fail_at(hist, tmp_path, seq, fragment)


def test_admin_cannot_grant_a_role_to_themselves(hist: History, tmp_path: Path) -> None:
    """Nobody grants a role to themselves: the engine refuses it, and a forged grant fails."""
    admin = hist.signers["admin"]
    with pytest.raises(PermissionDenied, match="may not do this to themselves"):
        grant_roles(hist.runtime, hist.office, actor=admin, username="admin", roles=["approver"])
    with hist.db() as db:
        seq = db.append(
            admin,
            role="admin",
            action="user.role.granted",
            subject="admin",
            payload={"role": "approver"},
            meaning="granted role",
            signer_name="Station Admin",
        )
    assert_both_fail_at(hist, tmp_path, seq, "rule 'role grants'", "to themselves")


def test_second_office_key_is_refused(hist: History, tmp_path: Path) -> None:
    """An admin registering another office key (to sign checkpoints of a rewritten history)."""
    with hist.db() as db:
        seq = db.append(
            hist.signers["admin"],
            role="admin",
            action="key.registered",
            subject="PS-TEST1",
            payload=_key_payload("PS-TEST1", fresh_signer("PS-TEST1"), purpose="office"),
            meaning="registered key",
            signer_name="Station Admin",
        )
    assert_both_fail_at(hist, tmp_path, seq, "a second office key")


def _forge_transition(
    hist: History, signer: Signer, role: str, name: str, payload: dict[str, Any], **columns: Any
) -> int:
    with hist.db() as db:
        return db.append(
            signer,
            role=role,
            action=columns.pop("action"),
            subject=columns.pop("subject"),
            payload=payload,
            meaning=columns.pop("meaning"),
            signer_name=name,
        )


def test_approval_without_naming_its_transition(hist: History, tmp_path: Path) -> None:
    """An author approves her own draft with events that name no transition: each is refused,
    since every state change must name the transition the workflow checks."""
    anita = hist.signers["author"]
    seq = _forge_transition(
        hist,
        anita,
        "author",
        "ASI Anita Sharma",
        {"from": "draft", "to": "approved", "comment": ""},
        action="document.revision.approved",
        subject=f"{SOP2}#0",
        meaning="approved",
    )
    assert_both_fail_at(hist, tmp_path, seq, "changes a revision without naming its transition")


@pytest.mark.parametrize(
    ("subject", "state", "fragment"),
    [
        (f"{SOP2}#1", "effective", "created in state 'effective'"),
        (f"{SOP1}#0", "draft", "the revision is created a second time"),
    ],
    ids=["born-effective", "created-twice"],
)
def test_revision_creation_outside_the_workflow(
    hist: History, tmp_path: Path, subject: str, state: str, fragment: str
) -> None:
    """A revision must be created once, in its workflow's initial state."""
    payload = {
        "sha256": "ab" * 32,
        "size": 1,
        "media_type": "application/pdf",
        "original_filename": "x.pdf",
        "title": "Forged",
        "reason": "forged",
        "fields": {},
        "state": state,
    }
    with hist.db() as db:
        seq = db.append(
            hist.signers["author"],
            role="author",
            action="document.revision.created",
            subject=subject,
            payload=payload,
            meaning="authored",
            signer_name="ASI Anita Sharma",
        )
    assert_both_fail_at(hist, tmp_path, seq, fragment)


def test_supersession_that_sets_any_state(hist: History, tmp_path: Path) -> None:
    """A ``superseded`` event that no transition into an exclusive state caused is refused."""
    seq = _forge_transition(
        hist,
        hist.signers["quality_coordinator"],
        "quality_coordinator",
        "HC Priya Yadav",
        {"from": "effective", "to": "draft", "by_revision": 1},
        action="document.revision.superseded",
        subject=f"{SOP1}#1",
        meaning="superseded",
    )
    assert_both_fail_at(hist, tmp_path, seq, "only the exclusive rule supersedes")


def test_withdrawal_without_the_required_comment(hist: History, tmp_path: Path) -> None:
    """A withdrawal (comment required) written without a comment fails verification."""
    seq = _forge_transition(
        hist,
        hist.signers["approver"],
        "approver",
        "Inspector S. K. Singh",
        {"transition": "withdraw", "from": "effective", "to": "obsolete", "comment": ""},
        action="document.revision.withdrawn",
        subject=f"{SOP1}#1",
        meaning="withdrawn",
    )
    assert_both_fail_at(hist, tmp_path, seq, "'withdraw' needs a comment saying why")


def test_transition_recorded_under_another_meaning(hist: History, tmp_path: Path) -> None:
    """An approval recorded as ``made_effective`` (the meaning a signer declares) is refused."""
    seq = _forge_transition(
        hist,
        hist.signers["approver"],
        "approver",
        "Inspector S. K. Singh",
        {"transition": "withdraw", "from": "effective", "to": "obsolete", "comment": "old"},
        action="document.revision.made_effective",
        subject=f"{SOP1}#1",
        meaning="made effective",
    )
    assert_both_fail_at(hist, tmp_path, seq, "not as its meaning 'withdrawn'")


def test_clock_that_went_back_never_breaks_the_chain(
    hist: History, caplog: pytest.LogCaptureFixture
) -> None:
    """After an event stamped five minutes ahead (a server clock later stepped back by NTP), the
    next event keeps that time instead of going back, a warning is logged, and the chain
    verifies."""
    with hist.db() as db:
        last = db.last_seq()
        ahead = to_utc_text(utc_now() + timedelta(minutes=5))  # later than every event so far
        db.update(last, recorded_at=ahead)
        db.reseal(last)
    take_transition(hist.runtime, number=SOP2, transition="submit", actor=hist.signers["author2"])
    with hist.db() as db:
        assert db.row(db.last_seq())["recorded_at"] == ahead
    assert "before the previous event's" in caplog.text
    result = hist.verify()
    assert result.ok, result.problems


def test_key_holder_is_no_role_for_anything_but_ones_own_key(hist: History, tmp_path: Path) -> None:
    """The auditor adds a document type whose creators are "key holder", signing as key
    holder (a role nobody is granted): refused, so no one can mint a type to file under."""
    with hist.db() as db:
        seq = db.append(
            hist.signers["auditor"],
            role="key holder",
            action="office.document_type.added",
            subject="PS-TEST1/NOTE",
            payload={
                "title": "Note",
                "kind": "document",
                "workflow": "sop-revision",
                "review_period_days": None,
                "creator_roles": ["key holder"],
            },
            meaning="added document type",
            signer_name="Shri A. Auditor",
        )
    assert_both_fail_at(hist, tmp_path, seq, "'audit' signed as 'key holder' without holding")


def test_type_added_by_a_non_admin_must_come_with_its_first_document(
    hist: History, tmp_path: Path
) -> None:
    """A creator may add a type a plugin brought later only by filing its first document in the
    same step; a type added on its own by an author is refused at the next event."""
    with hist.db() as db:
        db.append(
            hist.signers["author"],
            role="author",
            action="office.document_type.added",
            subject="PS-TEST1/NOTE",
            payload={
                "title": "Note",
                "kind": "document",
                "workflow": "sop-revision",
                "review_period_days": None,
                "creator_roles": ["author"],
            },
            meaning="added document type",
            signer_name="ASI Anita Sharma",
        )
        seq = db.append(
            hist.signers["author"],
            role="key holder",
            action="key.retired",
            subject="anita",
            payload={"owner": "anita", "fingerprint": "0" * 64},
            meaning="retired key",
            signer_name="ASI Anita Sharma",
        )
    assert_both_fail_at(hist, tmp_path, seq, "without filing its first document right after")


def test_exclusive_step_that_leaves_the_old_revision_in_force(
    hist: History, tmp_path: Path
) -> None:
    """Revision 2 made effective while revision 1 stays effective (its supersession left out):
    two revisions in force at once fail verification."""
    revise_document(
        hist.runtime,
        actor=hist.signers["author"],
        number=SOP1,
        path=_docx(tmp_path, "sop1-r2.docx", "Station office procedure", "Third issue"),
        reason="Third issue",
    )
    take_transition(hist.runtime, number=SOP1, transition="submit", actor=hist.signers["author"])
    take_transition(hist.runtime, number=SOP1, transition="approve", actor=hist.signers["approver"])
    with hist.db() as db:
        seq = db.append(
            hist.signers["approver2"],
            role="approver",
            action="document.revision.made_effective",
            subject=f"{SOP1}#2",
            payload={"transition": "make_effective", "from": "approved", "to": "effective"},
            meaning="made effective",
            signer_name="Inspector Meena Kumari",
        )
    expected = f"event #{seq}: {SOP1}#1: still 'effective' after {SOP1}#2 entered it"
    for where, result in verdicts(hist, tmp_path).items():
        assert any(p.startswith(expected) for p in result.problems), (where, result.problems)


@pytest.mark.parametrize("comment", [None, 7, "   "], ids=["null", "number", "blank"])
def test_required_comment_must_be_text(hist: History, tmp_path: Path, comment: object) -> None:
    """A required comment given as null, a number or blanks is no comment."""
    seq = _forge_transition(
        hist,
        hist.signers["approver"],
        "approver",
        "Inspector S. K. Singh",
        {"transition": "withdraw", "from": "effective", "to": "obsolete", "comment": comment},
        action="document.revision.withdrawn",
        subject=f"{SOP1}#1",
        meaning="withdrawn",
    )
    assert_both_fail_at(hist, tmp_path, seq, "'withdraw' needs a comment saying why")


def test_duplicate_of_a_record_never_filed(hist: History, tmp_path: Path) -> None:
    """A "duplicate set aside" naming a record that does not exist is refused."""
    with hist.db() as db:
        seq = db.append(
            hist.signers["clerk"],
            role="clerk",
            action="ingest.duplicate.set_aside",
            subject="PS-TEST1/GD/2026/09999",
            payload={"claim": "c", "file": "x.pdf", "inbox": "GD", "sha256": "ab" * 32},
            meaning="set aside duplicate",
            signer_name="Constable Ramesh",
        )
    assert_both_fail_at(hist, tmp_path, seq, "a repeat of a record never filed")


def test_a_key_holder_cannot_end_someone_elses_key(hist: History, tmp_path: Path) -> None:
    """Anita "retires" the SHO's key in an event about her own key: the retirement is refused
    (and the SHO's genuine later work is not blamed)."""
    sks = hist.signers["approver"]
    with hist.db() as db:
        seq = db.append(
            hist.signers["author"],
            role="key holder",
            action="key.retired",
            subject="anita",
            payload={"owner": "anita", "fingerprint": sks.fingerprint},
            meaning="retired key",
            signer_name="ASI Anita Sharma",
        )
    assert_both_fail_at(hist, tmp_path, seq, "belongs to 'sks'")
    take_transition(hist.runtime, number=SOP2, transition="submit", actor=hist.signers["author2"])
    take_transition(hist.runtime, number=SOP2, transition="approve", actor=sks)
    assert problem_seqs(hist.verify()) == {seq}


def test_the_office_key_cannot_be_retired(hist: History, tmp_path: Path) -> None:
    """An admin retiring the office key (to register one of his own for checkpoints) fails."""
    with hist.db() as db:
        office_key = db.connection.execute(
            "SELECT fingerprint FROM signing_key WHERE office_id IS NOT NULL"
        ).fetchone()[0]
        seq = db.append(
            hist.signers["admin"],
            role="admin",
            action="key.retired",
            subject="PS-TEST1",
            payload={"owner": "PS-TEST1", "fingerprint": office_key},
            meaning="retired key",
            signer_name="Station Admin",
        )
    assert_both_fail_at(hist, tmp_path, seq, "(office key)")


def test_a_document_type_cannot_be_added_twice(hist: History, tmp_path: Path) -> None:
    """Re-adding the SOP type with other creators or kind (to bypass its rules) is refused."""
    with hist.db() as db:
        seq = db.append(
            hist.signers["admin"],
            role="admin",
            action="office.document_type.added",
            subject="PS-TEST1/SOP",
            payload={
                "title": "SOP",
                "kind": "register",
                "workflow": "sop-revision",
                "review_period_days": None,
                "creator_roles": ["clerk"],
            },
            meaning="added document type",
            signer_name="Station Admin",
        )
    assert_both_fail_at(hist, tmp_path, seq, "the document type is added a second time")


def test_an_event_dated_in_the_future_is_refused(hist: History, tmp_path: Path) -> None:
    """An event dated years ahead (to pin every later time) fails verification."""
    with hist.db() as db:
        seq = db.append(
            hist.signers["author"],
            role="key holder",
            action="key.retired",
            subject="anita",
            payload={"owner": "anita", "fingerprint": "0" * 64},
            meaning="retired key",
            signer_name="ASI Anita Sharma",
            recorded_at="2999-12-31T23:59:59.999999Z",
        )
    assert_both_fail_at(hist, tmp_path, seq, "is in the future")


def test_the_inbox_service_cannot_author_a_controlled_document_directly(hist: History) -> None:
    """A service account creates SOP drafts only through the inbox, naming their author."""
    from qms_engine.testing import staff_member

    service = staff_member(
        hist.runtime,
        hist.office,
        hist.signers["admin"],
        "ingest",
        "Inbox service",
        ["author", "clerk"],
        kind="service",
    )
    with pytest.raises(PermissionDenied, match="is a service"):
        create_document(
            hist.runtime,
            hist.office,
            actor=service,
            type_code="SOP",
            title="Direct",
            path=_docx(hist.root.parent, "direct.docx", "Direct"),
        )


# ------------------------------------------------- corrected and discarded drafts (issue 11)
#
# SOP2#0 is Mohan's draft, returned to him by the reviewer.  Each forgery is signed with a
# real, valid key; only the rules of document.revision.replaced and the workflow's `by` catch it.


def _file_of(hist: History, subject: str) -> str:
    """The SHA-256 of the file a revision was created with (a blob in the store)."""
    with hist.db() as db:
        created = db.row(db.seq_of("document.revision.created", subject))
    return str(json.loads(created["payload"])["sha256"])


def _replacement(hist: History, who: str, name: str) -> int:
    """Append a ``document.revision.replaced`` putting SOP1#0's file into Mohan's draft
    SOP2#0, signed by ``who``'s own key."""
    new, old = _file_of(hist, f"{SOP1}#0"), _file_of(hist, f"{SOP2}#0")
    with hist.db() as db:
        return db.append(
            hist.signers[who],
            role="author",
            action="document.revision.replaced",
            subject=f"{SOP2}#0",
            payload={
                "sha256": new,
                "size": 1,
                "media_type": "application/pdf",
                "original_filename": "swapped.pdf",
                "previous_sha256": old,
                "reason": "forged",
            },
            meaning="authored",
            signer_name=name,
        )


def test_a_draft_s_file_replaced_by_another_author(hist: History, tmp_path: Path) -> None:
    """Anita puts a file of her own into Mohan's returned draft: only its author may."""
    seq = _replacement(hist, "author", "ASI Anita Sharma")
    assert_both_fail_at(
        hist, tmp_path, seq, "only its author 'mohan' may replace its file, not 'anita'"
    )


def test_a_file_replaced_after_submission(hist: History, tmp_path: Path) -> None:
    """Mohan submits his draft, then swaps its file while it is in review."""
    take_transition(hist.runtime, number=SOP2, transition="submit", actor=hist.signers["author2"])
    seq = _replacement(hist, "author2", "HC Mohan Lal")
    assert_both_fail_at(hist, tmp_path, seq, "file replaced while 'in_review'; only in 'draft'")


def test_a_draft_discarded_by_someone_else(hist: History, tmp_path: Path) -> None:
    """Anita discards Mohan's draft: the workflow lets only the revision's author do that."""
    seq = _forge_transition(
        hist,
        hist.signers["author"],
        "author",
        "ASI Anita Sharma",
        {
            "transition": "discard",
            "from": "draft",
            "to": "discarded",
            "comment": "not needed",
            "sha256": _file_of(hist, f"{SOP2}#0"),
        },
        action="document.revision.discarded",
        subject=f"{SOP2}#0",
        meaning="discarded",
    )
    assert_both_fail_at(
        hist, tmp_path, seq, "only its author may discard this revision, not 'anita'"
    )


# ------------------------------------------------- the file a transition signs for (issue 11)
#
# Every transition names the revision's file (payload.sha256).  Now that a draft's file can be
# replaced, a signature of approval must bind the very file approved, not the one before.


def _correct_and_resubmit(hist: History, folder: Path) -> str:
    """Mohan corrects his returned draft SOP2#0 with a new file and submits it again; the new
    file's SHA-256."""
    corrected = replace_revision_file(
        hist.runtime,
        actor=hist.signers["author2"],
        number=SOP2,
        path=_docx(folder, "sop2-corrected.docx", "General Diary (GD) upkeep", "Section 3"),
        reason="Section 3 added",
    )
    take_transition(hist.runtime, number=SOP2, transition="submit", actor=hist.signers["author2"])
    return corrected.sha256


def test_a_corrected_draft_approved_by_the_engine_verifies(hist: History, tmp_path: Path) -> None:
    """submit, reject, replace, submit, approve: the approval names the corrected file, and the
    chain verifies online and as a bundle."""
    corrected = _correct_and_resubmit(hist, tmp_path)
    approval = take_transition(
        hist.runtime, number=SOP2, transition="approve", actor=hist.signers["approver"]
    )
    with hist.db() as db:
        named = json.loads(db.row(approval.event_seq)["payload"])["sha256"]
    assert named == corrected != _file_of(hist, f"{SOP2}#0")
    for where, result in verdicts(hist, tmp_path).items():
        assert result.ok, (where, result.problems)


@pytest.mark.parametrize("named", ["the file before the correction", "an arbitrary hash"])
def test_an_approval_signed_for_another_file(hist: History, tmp_path: Path, named: str) -> None:
    """The SHO, with his own valid key, signs the approval of Mohan's corrected draft naming
    another file than the one in review: `qms audit verify` fails at that event, online and on
    an exported bundle (exit 6)."""
    corrected = _correct_and_resubmit(hist, tmp_path)
    other = (
        _file_of(hist, f"{SOP2}#0")
        if named == "the file before the correction"
        else hashlib.sha256(b"a file nobody filed").hexdigest()
    )
    seq = _forge_transition(
        hist,
        hist.signers["approver"],
        "approver",
        "Inspector S. K. Singh",
        {
            "transition": "approve",
            "from": "in_review",
            "to": "approved",
            "comment": "",
            "sha256": other,
        },
        action="document.revision.approved",
        subject=f"{SOP2}#0",
        meaning="approved",
    )
    says = f"'approve' names the file {other[:16]}…, but its current file is {corrected[:16]}…"
    assert_both_fail_at(hist, tmp_path, seq, says)
    bundle = tmp_path / "insider-bundle"  # exported by assert_both_fail_at
    for args in (
        ["-w", str(hist.root), "audit", "verify", "--jobs=1"],
        ["audit", "verify", "--bundle", str(bundle), "--jobs=1"],
    ):
        result = CliRunner().invoke(cli, args)
        assert isinstance(result.exception, IntegrityError), result.output  # `qms` exits 6
        assert result.exception.exit_code == 6
        assert f"first: event #{seq}: {SOP2}#0: {says}" in result.output


# ------------------------------------------- what a revision's events must hold (issue 11 review)
#
# Each forgery below is signed with a real, valid key; the write path refuses every one of them,
# so an insider writes the events themselves.  Only the rules the chain alone carries catch them.


def _content(sha256: str, **changes: Any) -> dict[str, Any]:
    """A complete ``document.revision.created`` payload naming ``sha256``, then ``changes``."""
    return {
        "sha256": sha256,
        "size": 8,
        "media_type": "application/pdf",
        "original_filename": "forged.pdf",
        "title": "Forged",
        "reason": "forged",
        "fields": {},
        "state": "draft",
        **changes,
    }


def _forge(hist: History, who: str, action: str, subject: str, payload: dict[str, Any]) -> int:
    """Append ``action`` (meaning ``authored``) about ``subject``, signed by the staff member
    ``who`` in the one role they hold."""
    _username, full_name, role = STAFF[who]
    with hist.db() as db:
        return db.append(
            hist.signers[who],
            role=role,
            action=action,
            subject=subject,
            payload=payload,
            meaning="authored",
            signer_name=full_name,
        )


def test_a_replacement_without_its_size_is_refused_and_the_tables_stay_compared(
    hist: History, tmp_path: Path
) -> None:
    """Mohan replaces his returned draft's file with a payload that lacks ``size``; an insider
    then points the revision at another file and title.  The chain fails at the replacement
    (online and as a bundle), and the tables' comparison says it cannot compare that row
    instead of skipping it (it used to stop there, so the UPDATE went unnoticed)."""
    from qms_engine.audit.projection import projection_problems
    from qms_engine.chain.reader import stored_chain

    old, new = _file_of(hist, f"{SOP2}#0"), _file_of(hist, f"{SOP1}#1")
    payload = {
        "sha256": new,
        "media_type": "application/pdf",
        "original_filename": "fixed.pdf",
        "previous_sha256": old,
        "reason": "fix",
    }
    seq = _forge(hist, "author2", "document.revision.replaced", f"{SOP2}#0", payload)
    with hist.db() as db:
        db.connection.execute(
            "UPDATE revision SET sha256 = ?, title = 'Anything' WHERE sha256 = ?", (new, old)
        )
    assert_both_fail_at(hist, tmp_path, seq, "malformed payload: lacks 'size'")
    with hist.runtime.engine.connect() as connection:
        found = projection_problems(connection, hist.office, stored_chain(connection, hist.office))
    assert (
        f"table revision, {SOP2}#0: cannot be compared with the chain: event #{seq} "
        "(document.revision.replaced) lacks or garbles 'size' in its payload"
    ) in found


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"sha256": ""}, "'sha256' must be a SHA-256 (64 lowercase hex digits), not ''"),
        ({"sha256": "AB" * 32}, "'sha256' must be a SHA-256 (64 lowercase hex digits)"),
        ({"sha256": None}, "'sha256' must be a SHA-256 (64 lowercase hex digits), not None"),
        ({"size": -1}, "'size' must be an integer ≥ 0, not -1"),
        ({"size": True}, "'size' must be an integer ≥ 0, not True"),
        ({"reason": 7}, "'reason' must be a string, not 7"),
        ({"note": "x"}, "unknown 'note'"),
    ],
    ids=["empty-sha256", "upper-case-sha256", "null-sha256", "negative", "bool", "reason", "extra"],
)
def test_a_revision_created_with_a_malformed_payload(
    hist: History, tmp_path: Path, changes: dict[str, Any], says: str
) -> None:
    """A new SOP whose revision names no file (sha256 ``""``: approvals would bind nothing),
    or a payload otherwise not of its shape (docs/audit-bundle.md §6 content payloads)."""
    number = "PS-TEST1/SOP/003"
    _forge(hist, "author", "document.created", number, {"type": "SOP", "title": "X", "serial": 3})
    payload = {**_content(hashlib.sha256(b"a file").hexdigest()), **changes}
    seq = _forge(hist, "author", "document.revision.created", f"{number}#0", payload)
    assert_both_fail_at(hist, tmp_path, seq, "rule 'revisions': malformed payload: ", says)


def test_the_engine_never_writes_a_malformed_content_payload(hist: History) -> None:
    """The write path applies the same table: a revision naming no file is refused, unwritten."""
    from qms_engine.chain import events
    from qms_engine.chain.unit_of_work import unit_of_work
    from qms_engine.people.permissions import load_actor

    before = state_snapshot(hist)
    refused = "malformed payload: 'sha256' must be a SHA-256"
    with (
        pytest.raises(PermissionDenied, match=refused),
        unit_of_work(hist.runtime.engine) as work,
    ):
        anita = load_actor(work.connection, hist.signers["author"], hist.office)
        work.append(
            hist.office,
            anita,
            events.REVISION_CREATED,
            f"{SOP2}#1",
            _content(""),
            role="author",
            allowed_roles=("author",),
        )
    assert state_snapshot(hist) == before


@pytest.mark.parametrize("chain", ["recorded", "older chain"])
def test_a_register_record_revised(hist: History, tmp_path: Path, chain: str) -> None:
    """A clerk adds revision 1 to a GD entry (the write path refuses: append-only).  The type's
    event says ``append_only``; a chain written before it was recorded holds every register
    type to it."""
    gd = create_document(
        hist.runtime,
        hist.office,
        actor=hist.signers["clerk"],
        type_code="GD",
        title="GD entry 1",
        path=_docx(hist.root.parent, "gd1.docx", "GD entry 1", "Arrived 10:00"),
    ).number
    with pytest.raises(RuleViolation, match="append-only"):
        revise_document(
            hist.runtime,
            actor=hist.signers["clerk"],
            number=gd,
            path=_docx(hist.root.parent, "gd1-b.docx", "GD entry 1", "Seized 2 kg"),
            reason="x",
        )
    with hist.db() as db:
        added = db.seq_of("office.document_type.added", "PS-TEST1/GD")
        payload = json.loads(db.row(added)["payload"])
        assert payload["append_only"] is True
        if chain == "older chain":
            del payload["append_only"]
            db.update(added, payload=canonical_text(payload))
            db.reseal(added)
    forged = _content(hashlib.sha256(b"Seized 2 kg").hexdigest(), state="filed")
    seq = _forge(hist, "clerk", "document.revision.created", f"{gd}#1", forged)
    assert_both_fail_at(hist, tmp_path, seq, f"{gd}#1: GD records are append-only, never revised")


@pytest.mark.parametrize(
    ("subject", "file_of", "says"),
    [
        (
            f"{SOP2}#1",
            f"{SOP2}#0",
            f"created while {SOP2}#0 is still 'draft' (a document has one open revision",
        ),
        (f"{SOP1}#2", f"{SOP1}#0", f"its file is {SOP1}#0's (a revision changes the file)"),
        (f"{SOP1}#3", None, "numbered '3', but revision 2 comes next"),
    ],
    ids=["second-open-revision", "same-file", "numbering-gap"],
)
def test_a_new_revision_against_its_document(
    hist: History, tmp_path: Path, subject: str, file_of: str | None, says: str
) -> None:
    """A second open revision of Mohan's SOP; a new revision of SOP 1 with the file of its
    first revision; a revision number that skips one."""
    sha256 = _file_of(hist, file_of) if file_of else hashlib.sha256(b"new text").hexdigest()
    who = "author2" if subject.startswith(SOP2) else "author"
    seq = _forge(hist, who, "document.revision.created", subject, _content(sha256))
    assert_both_fail_at(hist, tmp_path, seq, says)


# ------------------------------------------- drafts filed from the inbox, in every office
#
# Who is a service is said only by the `user.created` of the office that enrolled them, so the
# rules for inbox drafts rest on the filing itself: a `document.revision.filed` of a `document`
# type names its author (`source.author`), who is not its filer and signs before anything else.

SECOND = "PS-TEST2"


@dataclass
class SecondOffice:
    """PS-TEST2, added by the admin of PS-TEST1, with an SOP draft the inbox service filed there
    naming Anita, which she has not yet signed for."""

    office: OfficeRef
    number: str
    anita: Signer
    service: Signer


@pytest.fixture
def second_office(hist: History) -> SecondOffice:
    """Office add, the service and Anita choosing their own keys there, the draft filed."""
    from qms_engine.testing import TestOffice
    from tests.ingest_fixtures import draft_in_an_office_added_later

    staffed = TestOffice(hist.runtime, hist.office, hist.signers, hist.root)
    second, number, service = draft_in_an_office_added_later(staffed)
    return SecondOffice(second, number, unlock(hist.runtime, "anita", TEST_PASSPHRASE), service)


def _filed_file(hist: History, where: OfficeRef, subject: str) -> str:
    """The SHA-256 a ``document.revision.filed`` event of ``where`` names for ``subject``."""
    from sqlalchemy import select

    from qms_engine.storage.models import EVENT_TABLE

    with hist.runtime.engine.connect() as connection:
        payload = connection.execute(
            select(EVENT_TABLE.c.payload).where(
                EVENT_TABLE.c.office_id == where.id,
                EVENT_TABLE.c.subject == subject,
                EVENT_TABLE.c.action == "document.revision.filed",
            )
        ).scalar_one()
    return str(json.loads(payload)["sha256"])


def _sign_in(
    hist: History, where: OfficeRef, signer: Signer, kind: Any, subject: str, payload: Any
) -> int:
    """An event written with a valid key by someone who skips the engine's domain checks (the
    authorisation table still applies): what an insider with their own key can produce."""
    from qms_engine.chain.unit_of_work import unit_of_work
    from qms_engine.people.permissions import load_actor

    with unit_of_work(hist.runtime.engine) as work:
        actor = load_actor(work.connection, signer, where)
        return work.append(
            where, actor, kind, subject, payload, role="author", allowed_roles=("author",)
        ).seq


def test_an_inbox_draft_adopted_in_an_office_added_later_verifies(
    hist: History, second_office: SecondOffice, tmp_path: Path
) -> None:
    """Anita signs for the draft the service filed in PS-TEST2 and submits it: the office
    added later verifies online and as a bundle (it used to fail: its chain has no
    `user.created` saying the filer is a service)."""
    number = second_office.number
    adopt_revision(hist.runtime, number=number, actor=second_office.anita)
    take_transition(hist.runtime, number=number, transition="submit", actor=second_office.anita)
    for where, result in verdicts(hist, tmp_path, second_office.office).items():
        assert result.ok, (where, result.problems)


@pytest.mark.parametrize("act", ["replace", "discard"])
def test_the_service_acts_on_a_draft_before_its_author_signs(
    hist: History, second_office: SecondOffice, tmp_path: Path, act: str
) -> None:
    """The inbox service, not Anita, replaces the draft's file or discards it in PS-TEST2:
    the engine refuses both; written all the same, the chain fails there."""
    from qms_engine.chain import events

    number, service = second_office.number, second_office.service
    subject = f"{number}#0"
    with pytest.raises(RuleViolation, match="the author it names must first sign for it"):
        if act == "replace":
            replace_revision_file(
                hist.runtime,
                actor=service,
                number=number,
                path=_docx(tmp_path, "service.docx", "Beat patrol", "service's own text"),
                reason="x",
            )
        else:
            take_transition(
                hist.runtime, number=number, transition="discard", actor=service, comment="x"
            )
    current = _filed_file(hist, second_office.office, subject)
    if act == "replace":
        kind, payload = (
            events.REVISION_REPLACED,
            {
                "sha256": hashlib.sha256(b"service's own text").hexdigest(),
                "size": 18,
                "media_type": "application/pdf",
                "original_filename": "service.pdf",
                "previous_sha256": current,
                "reason": "x",
            },
        )
        says = "file replaced before the draft's named author 'anita' signed for it"
    else:
        kind = events.revision_transition("discarded")
        payload = {"transition": "discard", "from": "draft", "to": "discarded"}
        payload |= {"comment": "gone", "sha256": current}
        says = "'discard' before the draft's named author 'anita' signed for it"
    seq = _sign_in(hist, second_office.office, service, kind, subject, payload)
    assert_both_fail_at(hist, tmp_path, seq, says, office=second_office.office)


def test_the_service_files_a_draft_naming_itself_and_adopts_it(
    hist: History, second_office: SecondOffice, tmp_path: Path
) -> None:
    """An insider who can use the unattended service's key files an SOP draft naming the
    service itself as its author, and signs for it as the service: the engine refuses to file
    it; written all the same, the chain fails at the filing and at the adoption."""
    from qms_engine.chain import events
    from qms_engine.chain.unit_of_work import unit_of_work
    from qms_engine.documents.revisions import write_new_document
    from qms_engine.files import inspect_file
    from qms_engine.people.permissions import load_actor

    office, service = second_office.office, second_office.service
    number = f"{SECOND}/SOP/002"
    sha256 = hashlib.sha256(b"a draft nobody wrote").hexdigest()
    source = {"inbox": "SOP-DRAFTS", "file": "ghost.docx", "claim": "c-1", "author": "ingest"}
    ghost = _docx(tmp_path, "ghost.docx", "Ghost")
    spec = hist.runtime.plugins.registry.office_type("police_station").document_type("SOP")
    with (
        pytest.raises(PermissionDenied, match="must name its author, someone other than 'ingest'"),
        unit_of_work(hist.runtime.engine) as work,
    ):
        write_new_document(
            work,
            hist.runtime,
            office,
            spec,
            author=load_actor(work.connection, service, office),
            role="author",
            facts=inspect_file(ghost, (".docx",), "SOP"),
            sha256=sha256,
            title="Ghost",
            reason="x",
            fields={},
            source=source,
        )
    created = {"type": "SOP", "title": "Ghost", "serial": 2}
    _sign_in(hist, office, service, events.DOCUMENT_CREATED, number, created)
    filed = _sign_in(
        hist,
        office,
        service,
        events.RECORD_FILED,
        f"{number}#0",
        _content(sha256, source=source),
    )
    adopted = _sign_in(
        hist, office, service, events.REVISION_ADOPTED, f"{number}#0", {"author": "ingest"}
    )
    assert_both_fail_at(
        hist,
        tmp_path,
        filed,
        "the draft names 'ingest', who filed it, as its author",
        office=office,
    )
    assert (
        f"event #{adopted}: {number}#0: 'ingest' filed the draft, and cannot also sign as its "
        "author"
    ) in verify_office(hist.runtime, office).problems


def test_a_person_cannot_file_a_draft_through_the_inbox(hist: History, tmp_path: Path) -> None:
    """The verifier holds every inbox filing of a draft to its named author's signature,
    whoever filed it, so the engine files drafts from the inbox only as the inbox service:
    Anita running the ingester on Mohan's draft is refused, and the file quarantined."""
    from qms_engine.ingest.offices import open_inbox
    from qms_engine.ingest.steps import IngestContext
    from qms_engine.testing import TestOffice
    from tests.ingest_fixtures import IngestDesk, add_ingest_user

    staffed = TestOffice(hist.runtime, hist.office, hist.signers, hist.root)
    add_ingest_user(staffed)
    desk = IngestDesk(staffed)
    desk.context = IngestContext(hist.runtime, hist.signers["author"], open_inbox(hist.runtime))
    folder = desk.folder("SOP-DRAFTS") / "mohan"
    folder.mkdir()
    _docx(folder, "patrol.docx", "Patrol", "Mohan's text")
    (outcome,) = desk.run(folder)
    assert (outcome.status, outcome.step) == ("quarantined", "file the record"), outcome
    assert "'anita' is no service" in (outcome.problem or "")
