"""The daily-work CLI as its people meet it (a user-level review of issue 11's commands).

Tables fit 80 columns, long office codes and inbox paths included, each task's commands under
it, wrapped so that a pasted command is still one command; user names and filter values in any
letter case; ``doc get -o -`` to standard output; refusals that say who may act or what the
filters were; a draft sent back shows why and offers ``doc replace``; ``doc history`` tells a
submit from a replacement; a discarded draft is no duplicate; a corrected draft's earlier files
can be handed out; Hindi words are found with or without the nukta.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.cli import cli
from qms_engine.cli.tables import shell_lines
from qms_engine.documents.revisions import create_document, never_went_ahead
from qms_engine.documents.transitions import take_transition
from qms_engine.people.keys import unlock
from qms_engine.people.offices import add_office
from qms_engine.runtime import Runtime
from qms_engine.search.terms import MAX_SPELLINGS, parse_query
from qms_engine.storage.models import EVENT_TABLE
from qms_engine.testing import TEST_PASSPHRASE, TestOffice, staff_member
from tests.ingest_fixtures import (
    IngestDesk,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
)
from tests.test_cli import PASSPHRASES, run
from tests.test_cli_output import body_rows, terminal_cells

if TYPE_CHECKING:
    from tests.conftest import Desk

LONG_CODE = "PS-GBNAGAR-KOTWALI-SEC39"
REJECTION = "धारा 3 में नकद शेष लिखने का समय भी लिखें; the cash entry needs the time of day too"


def qms(office: TestOffice, *args: str | Path, columns: int = 80) -> Result:
    """``qms -w WORKSPACE ARGS`` in-process, ``COLUMNS`` set, every passphrase given."""
    return CliRunner().invoke(
        cli,
        ["-w", str(office.root), *map(str, args)],
        env={**PASSPHRASES, "COLUMNS": str(columns)},
    )


def shown(office: TestOffice, *args: str | Path, columns: int = 80) -> str:
    """The standard output of ``qms ARGS``, insisting on exit code 0."""
    result = qms(office, *args, columns=columns)
    assert result.exit_code == 0, result.output
    return result.stdout


def widest(output: str) -> int:
    """The widest line of ``output``, in the cells a terminal gives it."""
    return max(len(terminal_cells(line)) for line in output.splitlines())


def pasted(output: str) -> str:
    """``output`` with every wrapped command joined back, as a shell reads a pasted one."""
    return re.sub(r" \\\n +", " ", output)


# --- tables that fit 80 columns -------------------------------------------------------------


def test_a_wrapped_command_pastes_back_as_the_same_command() -> None:
    """A command broken over lines at 30 columns is, to a shell, the very same command: quotes,
    an option with its value and ``&&`` kept whole; only a word longer than a line is wider."""
    command = shlex.join(["qms", "doc", "act", "PS-X/SOP/001", "discard", "--comment", "it's"])
    moved = "cd '/tmp/a b/ws' && mv inbox/quarantine/_no-office/UNSORTED/x.pdf inbox/PS-X/R/"
    for text in (command + " --as anita", moved):
        lines = shell_lines(text, 30)
        assert len(lines) > 1
        assert all(len(line) <= 30 or len(line.split()) == 2 for line in lines)  # or one word
        assert shlex.split(pasted("\n".join(lines))) == shlex.split(text)
    lines = shell_lines(command, 30)
    assert not any(line.rstrip(" \\").endswith("--comment") for line in lines)  # with its value


def test_tasks_fit_80_columns_with_each_command_under_its_task(
    qms_office: TestOffice, desk: Desk, ingest_desk: IngestDesk
) -> None:
    """Everyone's queue, a clerk's (a file dropped outside every office, whose long path is
    moved from the workspace folder) and an approver's fit 80 columns, and each command the
    JSON gives is there, under its task, whole once pasted."""
    number = desk.new_sop("मालखाना प्रबंधन की मानक संचालन प्रक्रिया")
    desk.act(number, "submit")
    desk.file_record(
        "जब्त मोटरसाइकिल (seized motorcycle)",
        type_code="MALKHANA",
        fields={
            "case_number": "112/2026",
            "seal_number": "S-0457",
            "items": "मोटरसाइकिल",
            "depositing_officer": "SI Verma",
        },
    )
    (ingest_desk.context.inbox.root / "स्कैन-बिना-फ़ोल्डर-2026-11-29.pdf").write_bytes(
        pdf_bytes("stray")
    )
    ingest_desk.run(ingest_desk.context.inbox.root)
    # The workspace's folder is one word that is never cut (it must paste whole): on a line of
    # its own, indented and continued, it may be wider than 80 where the test's folder is long
    # (pytest-xdist adds a level to it).
    limit = max(80, len(str(qms_office.root)) + len("        ") + len(" \\"))
    for who in (["--all", "--as", "priya"], ["--as", "ramesh"], ["--as", "sks"]):
        text = shown(qms_office, "tasks", *who)
        assert widest(text) <= limit, text
        data = json.loads(shown(qms_office, "tasks", *who, "--json"))
        commands = [action["command"] for task in data["tasks"] for action in task["actions"]]
        assert commands
        assert all(f"\n  {command}\n" in pasted(text) for command in commands), text
    (move,) = [
        a["command"]
        for t in json.loads(shown(qms_office, "tasks", "--as", "ramesh", "--json"))["tasks"]
        for a in t["actions"]
        if a["name"] == "move"
    ]
    assert move.startswith(f"cd {shlex.quote(str(qms_office.root))} && mv ")
    assert "quarantine/_no-office/" in move.split(" && ")[1]


@dataclass(frozen=True)
class LongOffice:
    """A second office with a long code, its staff (role → signer) and a document of each kind."""

    office: OfficeRef
    signers: dict[str, Signer]
    sop: str
    record: str


def _file(
    runtime: Runtime,
    office: OfficeRef,
    signer: Signer,
    path: Path,
    type_code: str,
    title: str,
    fields: dict[str, str] | None = None,
) -> str:
    """File ``path`` in ``office`` as ``signer``: the new document's number."""
    revision = create_document(
        runtime, office, actor=signer, type_code=type_code, title=title, path=path, fields=fields
    )
    return revision.number


@pytest.fixture
def long_office(qms_office: TestOffice, desk: Desk) -> LongOffice:
    """PS-GBNAGAR-KOTWALI-SEC39 beside PS-TEST1, with its own staff: an effective SOP sent back
    in its next revision, and a malkhana record waiting for verification."""
    runtime, admin = qms_office.runtime, qms_office.signers["admin"]
    long = add_office(
        runtime,
        actor=admin,
        from_office=qms_office.office,
        code=LONG_CODE,
        name="कोतवाली सेक्टर 39, गौतम बुद्ध नगर",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )
    staff = {
        "author": "kavita",
        "reviewer": "vikram",
        "approver": "suresh",
        "quality_coordinator": "neha",
        "clerk": "dinesh",
    }
    signers = {
        role: staff_member(runtime, long, admin, name, f"{name.title()} ({role})", [role])
        for role, name in staff.items()
    }
    sop = _file(
        runtime,
        long,
        signers["author"],
        desk.docx("SOP", "शिकायत पंजीकरण"),
        type_code="SOP",
        title="शिकायत पंजीकरण की मानक संचालन प्रक्रिया (registering a citizen's complaint)",
    )
    for step, who in (("submit", "author"), ("approve", "approver")):
        take_transition(runtime, number=sop, transition=step, actor=signers[who])
    take_transition(runtime, number=sop, transition="make_effective", actor=signers["approver"])
    record = _file(
        runtime,
        long,
        signers["clerk"],
        desk.docx("Seizure", "मोटरसाइकिल UP16 AB 1234"),
        type_code="MALKHANA",
        title="जब्त मोटरसाइकिल (seized motorcycle)",
        fields={
            "case_number": "112/2026",
            "seal_number": "S-0457",
            "items": "मोटरसाइकिल",
            "depositing_officer": "उप निरीक्षक",
        },
    )
    return LongOffice(long, signers, sop, record)


def test_every_table_fits_80_columns_with_a_long_office_code(
    qms_office: TestOffice, desk: Desk, long_office: LongOffice
) -> None:
    """With a 24-character office code, every table an office's people read fits 80 columns,
    and no document number is cut."""
    sop, record = long_office.sop, long_office.record
    where = ("--office", LONG_CODE)
    shown(qms_office, *where, "doc", "revise", sop, desk.docx("SOP", "v2"), "--reason", "Time",
          "--as", "kavita")  # fmt: skip
    shown(qms_office, *where, "doc", "act", sop, "submit", "--as", "kavita")
    shown(qms_office, *where, "doc", "act", sop, "reject", "--comment", REJECTION, "--as", "vikram")
    for args in (
        ("tasks", "--all", "--as", "neha"),
        ("tasks", "--as", "kavita"),
        ("tasks", "--as", "vikram"),
        ("doc", "list"),
        ("doc", "list", "--all-offices"),
        ("doc", "show", sop),
        ("doc", "show", record),
        ("doc", "history", sop),
        ("doc", "due", "--within", "400"),
        ("log",),
        ("search", "मोटरसाइकिल"),
        ("office", "list"),
        ("user", "list"),
        ("key", "list"),
        ("wf", "show", "sop-revision"),
    ):
        text = shown(qms_office, *where, *args)
        wide = [line for line in text.splitlines() if len(terminal_cells(line)) > 80]
        assert not wide, (args, wide)
        assert not re.search(rf"{LONG_CODE}/\S*…", text)
    listed = shown(qms_office, *where, "doc", "list")
    assert {sop, record} <= set(listed.split())


# --- user names and filter values in any case ------------------------------------------------


def test_user_names_are_found_in_any_letter_case(qms_office: TestOffice, desk: Desk) -> None:
    """``--as ANITA`` acts, and signs, as anita; ``tasks --as PRIYA`` is priya's queue; the
    engine's unlock gives the stored name; an unknown name is still exit 3."""
    number = desk.new_sop()
    assert shown(qms_office, "doc", "act", number, "submit", "--as", "ANITA")
    with qms_office.runtime.engine.connect() as connection:
        actor = connection.execute(
            select(EVENT_TABLE.c.actor).order_by(EVENT_TABLE.c.seq.desc()).limit(1)
        ).scalar()
    assert actor == "anita"
    assert unlock(qms_office.runtime, "Anita", TEST_PASSPHRASE).username == "anita"
    assert "Tasks for sks in PS-TEST1" in shown(qms_office, "tasks", "--as", "SKS")
    everyone = json.loads(shown(qms_office, "tasks", "--all", "--as", "Priya", "--json"))
    assert {task["user"] for task in everyone["tasks"]} >= {"sks", "meena"}
    assert json.loads(shown(qms_office, "log", "--user", "ANITA", "--json"))[-1]["actor"] == "anita"
    shown(qms_office, "user", "grant", "MOHAN", "reviewer", "--as", "Admin")
    assert "reviewer" in shown(qms_office, "user", "list", columns=200)
    unknown = run("-w", qms_office.root, "tasks", "--as", "NOBODY")
    assert unknown.returncode == 3, unknown.stderr
    assert "no user 'NOBODY'" in unknown.stderr


def test_type_and_state_filters_take_any_letter_case(qms_office: TestOffice, desk: Desk) -> None:
    """``doc list`` and ``search`` both take ``sop``/``Effective``/``DOCUMENT`` as the plugins
    spell them, and both still refuse what there is not, listing the valid ones."""
    number = desk.new_sop("Beat patrol")
    desk.issue(number)
    listed = shown(qms_office, "doc", "list", "--type", "sop", "--state", "Effective")
    assert number in listed
    assert number in shown(qms_office, "doc", "list", "--kind", "DOCUMENT")
    found = json.loads(
        shown(qms_office, "search", "patrol", "--type", "Sop", "--state", "EFFECTIVE", "--json")
    )
    assert [hit["number"] for hit in found["hits"]] == [number]
    for command in (("doc", "list"), ("search", "patrol")):
        refused = run("-w", qms_office.root, *command, "--type", "SOP", "--state", "filed")
        assert refused.returncode == 2, refused.stderr
        assert "no state 'filed' in the workflow of SOP" in refused.stderr


# --- doc get to standard output, and a corrected draft's earlier files ------------------------


def test_doc_get_dash_writes_the_bytes_to_standard_output(
    qms_office: TestOffice, desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-o -`` writes the verified bytes to stdout and what they are to stderr; no file named
    ``-`` appears; with --json (which would share stdout) it is a usage error."""
    source = desk.docx("SOP", "in force")
    number = desk.new_sop(path=source)
    desk.issue(number)
    monkeypatch.chdir(tmp_path)
    result = qms(qms_office, "doc", "get", number, "-o", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == source.read_bytes()
    assert f"standard output: {number} revision 0 (effective), sha256 verified" in result.stderr
    assert not (tmp_path / "-").exists()
    refused = run("-w", qms_office.root, "doc", "get", number, "-o", "-", "--json", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert refused.stdout == ""


def test_a_rejected_file_is_handed_out_after_its_replacement(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """After ``doc replace``, ``doc show`` lists the draft's files (the rejected one marked
    replaced) and ``doc get --rev 0 --file PREFIX`` hands out the rejected file's bytes; a
    short, unknown or foreign prefix is refused."""
    rejected, corrected = desk.docx("SOP", "first try"), desk.docx("SOP", "corrected")
    number = desk.new_sop(path=rejected)
    desk.act(number, "submit")
    desk.act(number, "reject", comment="Section 3 missing")
    shown(qms_office, "doc", "replace", number, corrected, "--reason", "Section 3 added",
          "--as", "anita")  # fmt: skip
    detail = json.loads(shown(qms_office, "doc", "show", number, "--json"))
    files = detail["revisions"][0]["files"]
    assert [(f["by"], f["reason"]) for f in files] == [
        ("anita", "Initial issue"),
        ("anita", "Section 3 added"),
    ]
    old = files[0]["sha256"]
    text = shown(qms_office, "doc", "show", number)
    assert widest(text) <= 80
    assert "Files of drafts corrected in place" in text
    rows = body_rows(text, "Files of drafts corrected in place")
    assert [row[:2] for row in rows] == [["0", old[:12]], ["0", files[1]["sha256"][:12]]]
    assert "(replaced)" in text
    out = tmp_path / "rejected.docx"
    said = shown(qms_office, "doc", "get", number, "--rev", "0", "--file", old[:8], "-o", out)
    assert out.read_bytes() == rejected.read_bytes()
    assert f"its earlier file {old[:12]}" in said
    for prefix, code in ((old[:4], 2), ("0123456789", 3)):
        refused = run("-w", qms_office.root, "doc", "get", number, "--file", prefix, "-o", "-")
        assert refused.returncode == code, refused.stderr
        assert refused.stdout == ""


# --- hints that say who may act, and what was asked ------------------------------------------


def test_refusals_say_who_may_and_what_this_person_may_do(
    qms_office: TestOffice, desk: Desk
) -> None:
    """Discarding someone else's draft names its author (not a role to grant); a transition
    the state does not allow lists only those this person may take, or says where to look."""
    number = desk.new_sop()
    discard = run("-w", qms_office.root, "doc", "act", number, "discard", "--comment", "x",
                  "--as", "sks")  # fmt: skip
    assert discard.returncode == 4, discard.stderr
    assert f"only its author (anita) may discard {number}#0, not 'sks'" in discard.stderr
    assert "Hint: ask anita" in discard.stderr
    assert "user grant" not in discard.stderr
    approve = run("-w", qms_office.root, "doc", "act", number, "approve", "--as", "sks")
    assert approve.returncode == 5, approve.stderr
    assert "nothing sks may take on it now; `qms wf show sop-revision`" in approve.stderr
    own = run("-w", qms_office.root, "doc", "act", number, "approve", "--as", "anita")
    assert "anita may take now: discard, submit" in own.stderr


def test_a_replacement_equal_to_another_revision_names_it(
    qms_office: TestOffice, desk: Desk
) -> None:
    """A draft's file replaced by the content of an earlier, discarded revision: the refusal
    names that revision and its state, not "a replacement must change the file"."""
    first = desk.docx("SOP", "first")
    number = desk.new_sop(path=first)
    desk.act(number, "discard", who="author", comment="start again")
    desk.revise(number, path=desk.docx("SOP", "second"))
    refused = run("-w", qms_office.root, "doc", "replace", number, first, "--reason", "back",
                  "--as", "anita")  # fmt: skip
    assert refused.returncode == 5, refused.stderr
    assert f"identical to revision 0 of {number} (discarded)" in refused.stderr
    assert "a replacement must change the file" not in refused.stderr


def test_an_empty_search_names_its_filters_and_dates_are_real_days(
    qms_office: TestOffice, desk: Desk
) -> None:
    """No hit says which filters were given; 2026-02-30 is "not a real date" for search and
    log alike (exit 2)."""
    desk.new_sop("मानक संचालन प्रक्रिया")
    text = shown(qms_office, "search", "प्रक्रिया", "--type", "MALKHANA", "--since", "2026-01-01")
    assert text.strip() == (
        "Nothing in PS-TEST1 matches 'प्रक्रिया' among the revisions that match "
        "--type MALKHANA --since 2026-01-01."
    )
    for command in (("search", "x", "--since"), ("log", "--until")):
        refused = run("-w", qms_office.root, *command, "2026-02-30")
        assert refused.returncode == 2, refused.stderr
        assert "'2026-02-30' is not a real date" in refused.stderr
        assert "February 2026 has 28 days" in refused.stderr


# --- a draft sent back, and the history of its signatures ------------------------------------


def test_a_returned_draft_shows_why_and_offers_replace(qms_office: TestOffice, desk: Desk) -> None:
    """After a rejection the author's task says who sent it back, when and why, and offers
    ``doc replace`` first; the command as offered (FILE and the reason filled in) works."""
    number = desk.new_sop()
    desk.act(number, "submit")
    desk.act(number, "reject", comment=REJECTION)
    (task,) = json.loads(shown(qms_office, "tasks", "--as", "anita", "--json"))["tasks"]
    assert [a["name"] for a in task["actions"]] == ["replace", "submit", "discard"]
    assert (task["returned"]["by"], task["returned"]["transition"]) == ("rakesh", "reject")
    assert task["returned"]["comment"] == REJECTION
    text = shown(qms_office, "tasks", "--as", "anita")
    assert widest(text) <= 80
    assert "sent back by rakesh (reject) on " in text
    assert "the cash entry needs" in text
    words = shlex.split(task["actions"][0]["command"])
    assert words[:4] == ["qms", "doc", "replace", number]
    fixed = str(desk.docx("SOP", "corrected"))
    words = [fixed if w == "FILE" else "Time added" if w == "WHAT_CHANGED" else w for w in words]
    shown(qms_office, *words[1:])
    (task,) = json.loads(shown(qms_office, "tasks", "--as", "anita", "--json"))["tasks"]
    assert task["returned"] is not None  # still returned until submitted again
    desk.act(number, "submit")
    assert json.loads(shown(qms_office, "tasks", "--as", "anita", "--json"))["tasks"] == []


def test_a_fresh_draft_offers_no_replace(qms_office: TestOffice, desk: Desk) -> None:
    """A draft nobody sent back is the author's to submit or discard, nothing more."""
    desk.new_sop()
    (task,) = json.loads(shown(qms_office, "tasks", "--as", "anita", "--json"))["tasks"]
    assert [a["name"] for a in task["actions"]] == ["submit", "discard"]
    assert task["returned"] is None


def test_doc_history_tells_a_submit_from_a_replacement(qms_office: TestOffice, desk: Desk) -> None:
    """Both mean "authored"; the Action column (and --json's transition) tells them apart,
    within 80 columns."""
    number = desk.new_sop()
    desk.act(number, "submit")
    desk.act(number, "reject", comment="fix")
    shown(qms_office, "doc", "replace", number, desk.docx("SOP", "v2"), "--reason", "fixed",
          "--as", "anita")  # fmt: skip
    desk.act(number, "submit")
    text = shown(qms_office, "doc", "history", number)
    assert widest(text) <= 80
    rows = [line.split() for line in text.splitlines() if re.match(r"\d+ +0 ", line)]
    assert [row[3] for row in rows] == ["revision", "submit", "reject", "revision", "submit"]
    entries = json.loads(shown(qms_office, "doc", "history", number, "--json"))
    assert [(e["action"], e["transition"]) for e in entries if e["meaning"] == "authored"] == [
        ("document.created", ""),
        ("document.revision.created", ""),
        ("document.revision.authored", "submit"),
        ("document.revision.replaced", ""),
        ("document.revision.authored", "submit"),
    ]


# --- duplicates: a discarded draft is no record ------------------------------------------------


def test_content_only_in_a_discarded_draft_is_no_duplicate(
    qms_office: TestOffice, desk: Desk, ingest_desk: IngestDesk
) -> None:
    """A file whose only copy is a discarded draft is filed again without --allow-duplicate, by
    `doc new` and by the inbox; content of a revision that went ahead still counts."""
    workflows = qms_office.runtime.plugins.workflows
    assert never_went_ahead(workflows["sop-revision"]) == {"discarded"}
    assert never_went_ahead(workflows["record-filing"]) == frozenset()
    abandoned = desk.docx("SOP", "abandoned")
    number = desk.new_sop(path=abandoned)
    desk.act(number, "discard", who="author", comment="not needed")
    again = shown(qms_office, "doc", "new", abandoned, "--type", "SOP", "--title", "Again",
                  "--as", "anita")  # fmt: skip
    assert "PS-TEST1/SOP/002 revision 0 created" in again
    desk.issue("PS-TEST1/SOP/002")
    repeated = run("-w", qms_office.root, "doc", "new", abandoned, "--type", "SOP", "--title",
                   "Third", "--as", "anita")  # fmt: skip
    assert repeated.returncode == 5, repeated.stderr
    assert "repeats PS-TEST1/SOP/002 revision 0 (effective)" in repeated.stderr
    discarded = desk.docx("SOP", "inbox copy")
    desk.act(desk.new_sop(path=discarded), "discard", who="author", comment="by mistake")
    ingest_desk.drop("SOP-DRAFTS", "anita/copy.docx", discarded.read_bytes())
    (outcome,) = ingest_desk.run()
    assert outcome.status == "filed", outcome


# --- Hindi with and without nukta ---------------------------------------------------------


def test_hindi_words_are_found_with_or_without_nukta(qms_office: TestOffice, desk: Desk) -> None:
    """कागज finds "जब्त कागज़", रोजनामचा finds "रोज़नामचा", ज़ब्त finds "जब्त"; the snippet
    shows the text as written, the match highlighted; a phrase works too."""
    memo = desk.make_docx("memo.docx", "Memo", "जब्त कागज़ और रोज़नामचा की प्रति थाने में रखी गई।")
    number = desk.new_sop("जब्ती ज्ञापन", path=memo)
    for query in ("कागज", "रोजनामचा", "ज़ब्त", "कागज़", '"जब्त कागज"', "रोज*"):
        found = json.loads(shown(qms_office, "search", query, "--json"))
        assert [hit["number"] for hit in found["hits"]] == [number], query
        (hit,) = found["hits"]
        assert "जब्त कागज़ और रोज़नामचा" in hit["snippet"]
        marked = [hit["snippet"][start:end] for start, end in hit["highlights"]]
        assert marked and all(word in ("जब्त", "कागज़", "रोज़नामचा", "जब्त कागज़") for word in marked)
    assert json.loads(shown(qms_office, "search", "कागजात", "--json"))["hits"] == []


def test_a_term_tries_a_bounded_number_of_spellings() -> None:
    """Each letter that takes a nukta doubles a word's spellings; a long phrase of such words
    falls back to fewer, never more than MAX_SPELLINGS."""
    (word,) = parse_query("कागज")
    assert len(word.spellings()) == 8
    (phrase,) = parse_query('"कागज कागज कागज कागज कागज कागज कागज"')
    assert 1 <= len(phrase.spellings()) <= MAX_SPELLINGS
    (plain,) = parse_query("112/2026")
    assert plain.spellings() == [("112", "2026")]
