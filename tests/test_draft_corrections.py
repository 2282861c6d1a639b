"""Drafts that can be corrected: an author replaces a returned draft's file, or discards it.

A replacement keeps the revision number and state, is signed (``document.revision.replaced``,
naming the new and the old file) and leaves the old file in the store; a discard is the
``discard`` transition of ``sop-revision``, which only the revision's author may take.  Both go
through the engine and the CLI, on SQLite and PostgreSQL, and ``qms audit verify`` (online and
on a bundle) accepts what the engine wrote and follows the revision to its newest file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qms_engine.audit.bundle import export_bundle
from qms_engine.audit.verify import verify_bundle, verify_office
from qms_engine.documents.master_list import document_detail, list_documents
from qms_engine.documents.revisions import (
    export_revision,
    replace_revision_file,
)
from qms_engine.errors import NotFound, PermissionDenied, RuleViolation
from qms_engine.testing import TestOffice
from tests.test_cli import invoke, run

if TYPE_CHECKING:
    from tests.conftest import Desk, Stored

HINDI_REASON = "धारा 3 का पाठ सुधारा गया"


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def replace(office: TestOffice, number: str, path: Path, who: str = "author", **kw: object) -> int:
    """Replace the draft's file as ``who``; returns the revision number."""
    revision = replace_revision_file(
        office.runtime,
        actor=office.signers[who],
        number=number,
        path=path,
        reason=str(kw.pop("reason", HINDI_REASON)),
        **kw,  # type: ignore[arg-type]
    )
    return revision.revno


def assert_verifies(office: TestOffice, tmp_path: Path) -> None:
    """``qms audit verify`` accepts the office, online and on an exported bundle with blobs."""
    office.runtime.engine.dispose()
    online = verify_office(office.runtime, office.office)
    assert online.problems == []
    bundle = tmp_path / "bundle"
    export_bundle(office.runtime, office.office, bundle, include_blobs=True)
    assert verify_bundle(bundle).problems == []


@pytest.fixture
def returned(desk: Desk) -> str:
    """An SOP by the author, submitted and returned to draft by the reviewer with a reason."""
    number = desk.new_sop()
    desk.act(number, "submit")
    desk.act(number, "reject", comment="धारा 3 अधूरी है")
    return number


# --------------------------------------------------------------------------- replacement


def test_author_corrects_a_returned_draft_which_is_then_issued(
    qms_office: TestOffice, desk: Desk, returned: str, tmp_path: Path
) -> None:
    """The corrected file takes the draft's place (same revision, still draft), goes through
    review to effective, and is what ``doc get`` hands out; the old file stays in the store and
    the history names both; verification follows the replacement."""
    first = document_detail(qms_office.runtime, returned).revisions[0]
    corrected = desk.docx("SOP", "धारा 3 पूरी")
    assert replace(qms_office, returned, corrected) == 0
    (revision,) = document_detail(qms_office.runtime, returned).revisions
    assert (revision.revno, revision.state, revision.sha256) == (0, "draft", sha256(corrected))
    assert revision.original_filename == corrected.name
    assert qms_office.runtime.store.path(first.sha256).exists()  # the old file is kept
    desk.issue(returned)
    out = tmp_path / "out.docx"
    handed = export_revision(qms_office.runtime, number=returned, destination=out)
    assert (handed.revno, handed.state, out.read_bytes()) == (
        0,
        "effective",
        corrected.read_bytes(),
    )
    (event,) = [
        e
        for e in document_detail(qms_office.runtime, returned).history
        if e.action == "document.revision.replaced"
    ]
    payload = event.payload
    assert (payload["previous_sha256"], payload["sha256"], payload["reason"]) == (
        first.sha256,
        sha256(corrected),
        HINDI_REASON,
    )
    assert_verifies(qms_office, tmp_path)


def test_a_draft_may_be_corrected_twice_and_a_new_revision_too(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """A draft is replaced again before submission; an issued document's new draft revision
    (revision 1) is corrected the same way, picked as the one in draft."""
    number = desk.new_sop()
    replace(qms_office, number, desk.docx("SOP", "second try"))
    replace(qms_office, number, desk.docx("SOP", "third try"))
    desk.issue(number)
    desk.revise(number)
    assert replace(qms_office, number, desk.docx("SOP", "revision 1, corrected")) == 1
    assert_verifies(qms_office, tmp_path)


def test_only_the_author_may_replace(
    qms_office: TestOffice, desk: Desk, returned: str, stored: Callable[[], Stored]
) -> None:
    """Another author (or anyone without a creator role) is refused and nothing is written."""
    before = stored()
    new_file = desk.docx("SOP", "not mine")
    for who in ("author2", "reviewer"):
        with pytest.raises(PermissionDenied, match="only the author of PS-TEST1/SOP/001#0 may"):
            replace(qms_office, returned, new_file, who=who)
    assert stored() == before


def test_no_replacement_after_submission(
    qms_office: TestOffice, desk: Desk, stored: Callable[[], Stored]
) -> None:
    """A submitted revision keeps its file; the refusal says how to get it back to draft."""
    number = desk.new_sop()
    desk.act(number, "submit")
    before = stored()
    with pytest.raises(RuleViolation, match="revision 0 is in_review") as refused:
        replace(qms_office, number, desk.docx("SOP", "late change"))
    assert refused.value.hint == "it must first be returned to draft (reject)"
    desk.act(number, "approve")
    desk.act(number, "make_effective")
    with pytest.raises(RuleViolation, match="revision 0 is effective") as refused:
        replace(qms_office, number, desk.docx("SOP", "later change"))
    assert (
        refused.value.hint == "start a new revision instead: qms doc revise PS-TEST1/SOP/001 FILE"
    )
    assert stored().events == before.events + 2


def test_replacement_must_change_the_file(
    qms_office: TestOffice, desk: Desk, make_docx: Callable[..., Path], tmp_path: Path
) -> None:
    """The draft's own file, or another revision's, is refused as a replacement."""
    rev0 = desk.docx("SOP", "issue 1")
    number = desk.new_sop(path=rev0)
    with pytest.raises(RuleViolation, match="is the file PS-TEST1/SOP/001#0 has already"):
        replace(qms_office, number, rev0)
    desk.issue(number)
    desk.revise(number)
    with pytest.raises(RuleViolation, match=r"identical to revision 0 of \S+ \(effective\)"):
        replace(qms_office, number, rev0)


def test_replacement_passes_the_file_checks_and_needs_a_reason(
    qms_office: TestOffice, desk: Desk, returned: str, tmp_path: Path
) -> None:
    """A file of a type the SOP does not accept, or an empty reason, is refused."""
    text = tmp_path / "notes.txt"
    text.write_text("not a document", encoding="utf-8")
    with pytest.raises(RuleViolation, match=r"\.txt"):
        replace(qms_office, returned, text)
    with pytest.raises(RuleViolation, match="the reason for the replacement is empty"):
        replace(qms_office, returned, desk.docx(), reason="  ")


def test_register_records_are_never_replaced(qms_office: TestOffice, desk: Desk) -> None:
    """A GD entry is filed once: replacing its file is refused, pointing to a correction entry."""
    number = desk.file_record("रोजनामचा प्रविष्टि 17")
    with pytest.raises(RuleViolation, match="filed once and never replaced") as refused:
        replace(qms_office, number, desk.docx("GD 17 b"), who="clerk")
    assert "correction entry" in str(refused.value.hint)


def test_explicit_revision_must_exist(qms_office: TestOffice, desk: Desk, returned: str) -> None:
    """``--rev`` naming no revision is NotFound, listing those that exist."""
    with pytest.raises(NotFound, match=r"has no revision 3 \(revisions: 0\)"):
        replace(qms_office, returned, desk.docx(), revno=3)


def test_search_finds_the_corrected_text_not_the_replaced_one(
    qms_office: TestOffice, desk: Desk, make_docx: Callable[..., Path]
) -> None:
    """The full-text index follows the replacement in the same transaction (Hindi words)."""
    from qms_engine.search.query import search

    number = desk.new_sop(path=make_docx("v1.docx", "SOP", "पुराना मालखाना नियम"))
    replace(qms_office, number, make_docx("v2.docx", "SOP", "नवीन शस्त्रागार नियम"))

    def found(word: str) -> list[str]:
        return [hit.number for hit in search(qms_office.runtime, qms_office.office, word).hits]

    assert (found("शस्त्रागार"), found("मालखाना")) == ([number], [])


@pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)
def test_verification_follows_the_newest_file(
    qms_office: TestOffice, desk: Desk, returned: str, raw_sqlite: Callable[[str], None]
) -> None:
    """An insider who points the replaced draft back at its old file is named by
    ``qms audit verify``: the chain says the revision holds the new file."""
    old = document_detail(qms_office.runtime, returned).revisions[0].sha256
    corrected = desk.docx("SOP", "corrected")
    replace(qms_office, returned, corrected)
    raw_sqlite(f"UPDATE revision SET sha256 = '{old}'")
    qms_office.runtime.engine.dispose()
    result = verify_office(qms_office.runtime, qms_office.office)
    assert (
        f"table revision, {returned}#0, field sha256: chain says '{sha256(corrected)}', "
        f"database says '{old}'"
    ) in result.problems


# --------------------------------------------------------------------------- discarding


def test_author_discards_a_draft_and_may_start_again(
    qms_office: TestOffice, desk: Desk, returned: str, tmp_path: Path
) -> None:
    """Discarded (signed, with the reason): the master list shows it, it is no longer open, so
    a new revision may be started, and the chain verifies."""
    result = desk.act(returned, "discard", who="author", comment="यह प्रक्रिया अब नहीं चाहिए")
    assert (result.from_state, result.to_state) == ("draft", "discarded")
    (summary,) = list_documents(qms_office.runtime, office=qms_office.office)
    assert (summary.latest_state, summary.effective_revno) == ("discarded", None)
    assert desk.revise(returned) == 1
    assert_verifies(qms_office, tmp_path)


def test_only_the_author_discards_and_only_a_draft_with_a_reason(
    qms_office: TestOffice, desk: Desk, stored: Callable[[], Stored]
) -> None:
    """Another author, a discard without a comment, or of a submitted revision: all refused,
    nothing written."""
    number = desk.new_sop()
    before = stored()
    with pytest.raises(PermissionDenied, match=r"only its author \(anita\) may discard"):
        desk.act(number, "discard", who="author2", comment="not needed")
    with pytest.raises(RuleViolation, match="'discard' needs a comment"):
        desk.act(number, "discard", who="author")
    assert stored() == before
    desk.act(number, "submit")
    with pytest.raises(RuleViolation, match="'discard' needs a revision in draft"):
        desk.act(number, "discard", who="author", comment="not needed")


def test_a_discarded_draft_is_not_replaced(qms_office: TestOffice, desk: Desk) -> None:
    """Discarded is final: its file cannot be replaced any more."""
    number = desk.new_sop()
    desk.act(number, "discard", who="author", comment="duplicate of SOP 002")
    with pytest.raises(RuleViolation, match="revision 0 is discarded"):
        replace(qms_office, number, desk.docx())


# --------------------------------------------------------------------------- the CLI


def test_replace_and_discard_through_the_cli(
    qms_office: TestOffice, desk: Desk, returned: str, tmp_path: Path
) -> None:
    """``qms doc replace`` (text and --json) and ``qms doc act … discard``; refusals exit 4
    (not the author) and 5 (not a draft) with the reason, and verification passes."""
    ws = qms_office.root
    corrected = desk.docx("SOP", "सुधरा हुआ")
    out = invoke(
        "-w", ws, "doc", "replace", returned, corrected, "--reason", HINDI_REASON, "--as=anita"
    )
    assert f"{returned} revision 0 (draft): file replaced, sha256 {sha256(corrected)}" in out
    again = desk.docx("SOP", "फिर से")
    shown = json.loads(
        invoke("-w", ws, "doc", "replace", returned, again, "--reason=typo", "--as=anita", "--json")
    )
    assert (shown["revno"], shown["state"], shown["sha256"]) == (0, "draft", sha256(again))

    refused = run("-w", ws, "doc", "replace", returned, desk.docx(), "--reason=x", "--as=mohan")
    assert refused.returncode == 4, refused.stderr
    assert "only the author of" in refused.stderr

    invoke("-w", ws, "doc", "act", returned, "submit", "--as=anita")
    late = run("-w", ws, "doc", "replace", returned, desk.docx(), "--reason=x", "--as=anita")
    assert late.returncode == 5, late.stderr
    assert "only a revision in draft can have its file replaced" in late.stderr

    other = desk.new_sop("Second procedure")
    gone = invoke("-w", ws, "doc", "act", other, "discard", "--comment", "दोहराव", "--as=anita")
    assert f"{other} revision 0: draft → discarded" in gone
    assert "PS-TEST1: OK" in invoke("-w", ws, "audit", "verify", "--jobs=1")


def test_replace_help_names_the_rules() -> None:
    """``qms doc replace --help`` says who may do it and when."""
    shown = " ".join(invoke("doc", "replace", "--help").split())
    assert "draft revision of NUMBER (its author only)" in shown
    assert "Register records are never replaced" in shown


def test_new_revision_after_a_discard_may_reuse_no_old_file(desk: Desk) -> None:
    """A new revision still must differ from every earlier revision, the discarded one too."""
    path = desk.docx("SOP", "draft")
    number = desk.new_sop(path=path)
    desk.act(number, "discard", who="author", comment="restart")
    with pytest.raises(RuleViolation, match="identical to revision 0"):
        desk.revise(number, path=path, reason="restart")


def test_the_workflow_says_who_alone_may_discard() -> None:
    """``qms wf show sop-revision --json``: ``discard`` is for the revision's author only."""
    shown = json.loads(invoke("wf", "show", "sop-revision", "--json"))
    discard = shown["transitions"]["discard"]
    assert (discard["sources"], discard["target"], discard["by"]) == (
        ["draft"],
        "discarded",
        ["author"],
    )
    assert shown["states"]["discarded"]["terminal"] is True
