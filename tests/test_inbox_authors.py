"""A human author for every SOP draft that comes through the inbox.

The inbox service files what clerks drop, but it cannot be the author of a controlled document:
then the person who wrote a draft could approve it.  A draft names its author (a per-person
folder, a sidecar, or the .docx author property, matched to an enrolled author); it cannot be
submitted until that person has signed for it, and segregation of duties then holds them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from qms_engine.audit.verify import verify_office
from qms_engine.chain import events
from qms_engine.chain.unit_of_work import unit_of_work
from qms_engine.cli import cli
from qms_engine.documents.revisions import adopt_revision, named_author
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import PermissionDenied, RuleViolation
from qms_engine.people.permissions import load_actor
from qms_engine.people.users import grant_roles
from qms_engine.testing import TestOffice, staff_member
from tests.ingest_fixtures import (
    IngestDesk,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
)
from tests.test_cli import PASSPHRASES


def drop_draft(desk: IngestDesk, make_docx: Callable[..., Path], name: str, **sidecar: str) -> Path:
    """A real .docx SOP draft in inbox/SOP-DRAFTS/<name>, with a sidecar if fields are given."""
    source = make_docx(Path(name).name, "Beat patrol", f"Draft text of {name}")
    path = desk.drop("SOP-DRAFTS", name, source.read_bytes())
    if sidecar:
        path.with_name(path.name + ".json").write_text(json.dumps(sidecar), encoding="utf-8")
    return path


def test_draft_without_a_named_author_is_quarantined_with_advice(
    ingest_desk: IngestDesk, make_docx: Callable[..., Path]
) -> None:
    """A draft that names nobody enrolled as an author goes to quarantine, saying how to fix it."""
    drop_draft(ingest_desk, make_docx, "patrol.docx", author="nobody-here")
    (outcome,) = ingest_desk.run()
    assert (outcome.status, outcome.step) == ("quarantined", "find the author")
    assert "'nobody-here' is no enrolled author here" in (outcome.problem or "")
    draft = next(p for p in ingest_desk.quarantined("SOP-DRAFTS") if p.suffix == ".docx")
    advice = ingest_desk.error_note(draft)["What to do"]
    assert "inbox/PS-TEST1/SOP-DRAFTS/<your user name>/" in advice


@pytest.mark.parametrize("how", ["folder", "sidecar"])
def test_named_author_signs_before_the_draft_moves_on(
    qms_office: TestOffice, ingest_desk: IngestDesk, make_docx: Callable[..., Path], how: str
) -> None:
    """A draft in inbox/SOP-DRAFTS/anita/ (or naming her in a sidecar) is filed naming her; it
    cannot be submitted, nor signed for by anyone else, until she signs for it."""
    runtime, s = qms_office.runtime, qms_office.signers
    if how == "folder":
        drop_draft(ingest_desk, make_docx, "anita/patrol.docx")
    else:
        drop_draft(ingest_desk, make_docx, "patrol.docx", author="ASI Anita Sharma")
    (outcome,) = ingest_desk.run()
    assert outcome.status == "filed", outcome
    number = outcome.number or ""
    with pytest.raises(RuleViolation, match="the author it names must first sign for it"):
        take_transition(runtime, number=number, transition="submit", actor=s["author"])
    with pytest.raises(PermissionDenied, match="naming 'anita' as its author"):
        adopt_revision(runtime, number=number, actor=s["author2"])
    adopt_revision(runtime, number=number, actor=s["author"])
    take_transition(runtime, number=number, transition="submit", actor=s["author"])
    assert verify_office(runtime, qms_office.office).ok


def test_a_per_person_folder_names_its_author_in_any_letter_case(
    qms_office: TestOffice, ingest_desk: IngestDesk, make_docx: Callable[..., Path]
) -> None:
    """A draft in inbox/SOP-DRAFTS/ASharma/ is filed naming 'asharma' as stored (user names
    are read without letter case everywhere, as ``--as ASharma`` is), and she adopts it."""
    runtime = qms_office.runtime
    asharma = staff_member(
        runtime, qms_office.office, qms_office.signers["admin"], "asharma", "अनीता शर्मा", ["author"]
    )
    drop_draft(ingest_desk, make_docx, "ASharma/patrol.docx")
    (outcome,) = ingest_desk.run()
    assert outcome.status == "filed", outcome
    number = outcome.number or ""
    with runtime.engine.connect() as connection:
        assert named_author(connection, qms_office.office, f"{number}#0") == "asharma"
    adopted = CliRunner().invoke(
        cli,
        ["-w", str(qms_office.root), "doc", "adopt", number, "--as", "ASHARMA"],
        env=PASSPHRASES,
    )
    assert adopted.exit_code == 0, adopted.output
    take_transition(runtime, number=number, transition="submit", actor=asharma)
    assert verify_office(runtime, qms_office.office).ok


def test_an_approver_who_wrote_a_draft_cannot_approve_it_through_the_inbox(
    qms_office: TestOffice, ingest_desk: IngestDesk, make_docx: Callable[..., Path]
) -> None:
    """The SHO, also an author, drops his own draft: once he signs for it he is its author, and
    segregation of duties stops him approving it (before, the inbox service was the author)."""
    runtime, s = qms_office.runtime, qms_office.signers
    grant_roles(runtime, qms_office.office, actor=s["admin"], username="sks", roles=["author"])
    drop_draft(ingest_desk, make_docx, "sks/station-duty.docx")
    (outcome,) = ingest_desk.run()
    number = outcome.number or ""
    adopt_revision(runtime, number=number, actor=s["approver"])
    take_transition(runtime, number=number, transition="submit", actor=s["approver"])
    with pytest.raises(PermissionDenied, match="'sks' wrote this revision and may not approve"):
        take_transition(runtime, number=number, transition="approve", actor=s["approver"])
    take_transition(runtime, number=number, transition="approve", actor=s["approver2"])
    assert verify_office(runtime, qms_office.office).ok


def test_transition_on_an_unsigned_draft_fails_verification(
    qms_office: TestOffice, ingest_desk: IngestDesk, make_docx: Callable[..., Path]
) -> None:
    """An insider who writes the submission of an inbox draft nobody signed for (skipping the
    engine's check) is caught by the verifier: the chain itself says no author signed."""
    runtime = qms_office.runtime
    drop_draft(ingest_desk, make_docx, "anita/patrol.docx")
    (outcome,) = ingest_desk.run()
    subject = f"{outcome.number}#0"
    with unit_of_work(runtime.engine) as work:
        work.lock(qms_office.office)
        anita = load_actor(work.connection, qms_office.signers["author"], qms_office.office)
        seq = work.append(
            qms_office.office,
            anita,
            events.revision_transition("authored"),
            subject,
            {"transition": "submit", "from": "draft", "to": "in_review", "comment": ""},
            role="author",
        ).seq
    problems = verify_office(runtime, qms_office.office).problems
    assert any(
        p.startswith(f"event #{seq}: ") and "before the draft's named author 'anita'" in p
        for p in problems
    ), problems
