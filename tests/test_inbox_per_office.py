"""One inbox per office: each office's files are filed in its own chain, by a service enrolled
there; files outside every office are quarantined saying so; a shared inbox is moved on first
use; and the watcher prints each file with the number it got, at the office's local time.

Real workspaces (SQLite and PostgreSQL), real files, the real pipeline and watchdog observer,
and `qms` as a real process (in a pseudo-terminal for the live display).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select as sql_select

from qms_engine.audit.verify import verify_office
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import utc_now, zone
from qms_engine.errors import PermissionDenied, RuleViolation
from qms_engine.ingest.inbox import NO_OFFICE
from qms_engine.ingest.offices import open_inbox, quarantined_in
from qms_engine.ingest.pipeline import build_steps
from qms_engine.ingest.steps import IngestContext
from qms_engine.ingest.watcher import RecentRate, Runner, watch
from qms_engine.people.keys import rotate, unlock
from qms_engine.people.offices import add_office
from qms_engine.storage.inbox_layout import LAYOUT_MARK, upgrade_layout
from qms_engine.storage.models import (
    EVENT_TABLE,
    OFFICE_TABLE,
    RECEIPT_TABLE,
    ROLE_TABLE,
    USER_TABLE,
)
from qms_engine.testing import TEST_PASSPHRASE, TestOffice
from tests.clocks import ManualClock
from tests.ingest_fixtures import (
    INGEST_USER,
    IngestDesk,
    add_ingest_user,
    files_below,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
)
from tests.test_cli import QMS, run
from tests.test_watcher import watching

FIRST, SECOND = "PS-TEST1", "PS-TEST2"
SECOND_ZONE = "America/New_York"  # hours apart from Asia/Kolkata: a time shows which zone
TREES = ("inbox", "processed", "duplicates", "quarantine")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
sqlite_only = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)


def add_second_office(office: TestOffice, told: list[str] | None = None) -> OfficeRef:
    """PS-TEST2, in New York's time zone, added by the admin of PS-TEST1."""
    return add_office(
        office.runtime,
        actor=office.signers["admin"],
        from_office=office.office,
        code=SECOND,
        name="थाना दूसरा",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
        timezone=SECOND_ZONE,
        say=None if told is None else told.append,
    )


def choose_own_key(office: TestOffice) -> None:
    """The inbox service replaces the key the admin announced for it in the new office."""
    signer = unlock(office.runtime, INGEST_USER, TEST_PASSPHRASE)
    rotate(
        office.runtime,
        office.office,
        actor=signer,
        username=INGEST_USER,
        new_passphrase=TEST_PASSPHRASE,
    )


@pytest.fixture(name="two_offices")
def two_offices_fixture(qms_office: TestOffice) -> IngestDesk:
    """PS-TEST1 and PS-TEST2, the inbox service enrolled in both with a key of its own."""
    add_ingest_user(qms_office)
    add_second_office(qms_office)
    choose_own_key(qms_office)
    return IngestDesk(qms_office)


def drop(
    desk: IngestDesk, office: str, register: str, name: str, data: bytes | None = None
) -> Path:
    """Write a real small PDF (or ``data``) as ``inbox/<office>/<register>/<name>``."""
    path = desk.context.inbox.root / office / register / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf_bytes(f"{office}/{register}/{name}") if data is None else data)
    return path


def context_for(desk: IngestDesk, only: str | None) -> IngestContext:
    """An ingest context of the desk's workspace serving ``only`` (None: every office)."""
    return IngestContext(desk.runtime, desk.signer, open_inbox(desk.runtime), only=only)


# --- office add --------------------------------------------------------------------------------


def test_office_add_makes_its_inbox_and_enrols_the_inbox_service(
    qms_office: TestOffice,
) -> None:
    """`office add` makes inbox/PS-TEST2/<REGISTER>/ and gives the inbox service its roles
    there, registering its key in the new chain (which verifies); it says both."""
    add_ingest_user(qms_office)
    told: list[str] = []
    second = add_second_office(qms_office, told)
    inbox = qms_office.root / "inbox"
    assert sorted(p.name for p in (inbox / SECOND).iterdir()) == [
        "ARMS",
        "DAK",
        "GD",
        "MALKHANA",
        "PASSPORT",
        "SOP-DRAFTS",
    ]
    assert sorted(p.name for p in inbox.iterdir() if p.is_dir()) == [FIRST, SECOND]
    with qms_office.runtime.engine.connect() as connection:
        held = connection.execute(
            sql_select(ROLE_TABLE.c.role)
            .join(USER_TABLE, USER_TABLE.c.id == ROLE_TABLE.c.user_id)
            .where(USER_TABLE.c.username == INGEST_USER, ROLE_TABLE.c.office_id == second.id)
        ).scalars()
        assert sorted(held) == ["author", "clerk"]
        registered = connection.execute(
            sql_select(EVENT_TABLE.c.subject).where(
                EVENT_TABLE.c.office_id == second.id, EVENT_TABLE.c.action == "key.registered"
            )
        ).scalars()
        assert INGEST_USER in list(registered)
    assert told == [
        f"inbox folders: inbox/{SECOND}/ (SOP-DRAFTS, GD, MALKHANA, DAK, ARMS, PASSPORT)",
        f"inbox service ingest enrolled in {SECOND} as author, clerk; to file here it chooses "
        "its own key (qms key rotate ingest --as ingest), then `qms watch` is restarted",
    ]
    assert verify_office(qms_office.runtime, second).problems == []


def test_office_add_through_the_cli_says_what_it_made(qms_office: TestOffice) -> None:
    """`qms office add` prints the new office's inbox folders and the service it enrolled."""
    add_ingest_user(qms_office)
    result = run(
        "-w", qms_office.root, "office", "add", SECOND, "--type=police_station",
        "--name=थाना दूसरा", "--as=admin",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"inbox folders: inbox/{SECOND}/ (SOP-DRAFTS, GD, MALKHANA" in result.stdout
    assert "qms key rotate ingest --as ingest" in result.stdout
    assert (qms_office.root / "inbox" / SECOND / "GD").is_dir()


def test_a_new_office_is_served_once_the_service_chose_its_own_key(
    qms_office: TestOffice,
) -> None:
    """Until the service replaces the key the admin announced for it there, a run leaves the
    new office's inbox alone and says why; asking for that office alone is refused (exit 4)."""
    add_ingest_user(qms_office)
    add_second_office(qms_office)
    desk = IngestDesk(qms_office)
    assert set(desk.context.offices) == {FIRST}
    assert f"qms --office {SECOND} key rotate ingest --as ingest" in desk.context.not_served[SECOND]
    with pytest.raises(PermissionDenied, match="issued by an admin in PS-TEST2"):
        context_for(desk, SECOND)
    drop(desk, SECOND, "GD", "waits.pdf")
    inbox = desk.context.inbox.root
    refused = run("-w", qms_office.root, "--office", SECOND, "ingest", inbox, "--as", "ingest")
    assert refused.returncode == 4, refused.stderr
    assert f"qms --office {SECOND} key rotate ingest --as ingest" in refused.stderr
    served = run("-w", qms_office.root, "ingest", inbox, "--as", "ingest", "--settle", "0")
    assert served.returncode == 0, served.stderr
    assert f"not serving {SECOND}'s inbox" in served.stderr
    assert (desk.context.inbox.root / SECOND / "GD" / "waits.pdf").exists()

    choose_own_key(qms_office)
    desk = IngestDesk(qms_office)
    assert set(desk.context.offices) == {FIRST, SECOND} and desk.context.not_served == {}
    (outcome,) = desk.run(desk.context.inbox.root)
    assert (outcome.status, outcome.office) == ("filed", SECOND)


# --- filing per office ---------------------------------------------------------------------------


def test_each_office_files_its_inbox_in_its_own_chain(two_offices: IngestDesk) -> None:
    """The same register in two offices: each file gets its office's number, its office's
    chain, receipt and processed/<OFFICE>/ folder (dated in the office's zone); both verify."""
    desk = two_offices
    drop(desk, FIRST, "GD", "gd-1.pdf")
    drop(desk, SECOND, "GD", "gd-1.pdf")
    outcomes = {o.office: o for o in desk.run(desk.context.inbox.root)}
    assert {o.status for o in outcomes.values()} == {"filed"}
    assert re.fullmatch(rf"{FIRST}/GD/\d{{4}}/00001", outcomes[FIRST].number or "")
    assert re.fullmatch(rf"{SECOND}/GD/\d{{4}}/00001", outcomes[SECOND].number or "")
    second_day = utc_now().astimezone(zone(SECOND_ZONE)).date().isoformat()
    filed = desk.context.inbox.root.parent / "processed" / SECOND / "GD" / second_day / "gd-1.pdf"
    assert outcomes[SECOND].moved_to == str(filed)
    receipt = json.loads(filed.with_name("gd-1.pdf.receipt.json").read_text("utf-8"))
    assert (receipt["office"], receipt["number"]) == (SECOND, outcomes[SECOND].number)
    with desk.runtime.engine.connect() as connection:
        rows = connection.execute(
            sql_select(OFFICE_TABLE.c.code, RECEIPT_TABLE.c.number, EVENT_TABLE.c.action)
            .join(OFFICE_TABLE, OFFICE_TABLE.c.id == RECEIPT_TABLE.c.office_id)
            .join(
                EVENT_TABLE,
                (EVENT_TABLE.c.office_id == RECEIPT_TABLE.c.office_id)
                & (EVENT_TABLE.c.seq == RECEIPT_TABLE.c.event_seq),
            )
        ).all()
    assert sorted(tuple(row) for row in rows) == [
        (FIRST, outcomes[FIRST].number, "document.revision.filed"),
        (SECOND, outcomes[SECOND].number, "document.revision.filed"),
    ]
    assert files_below(desk.context.inbox.root) == [desk.context.inbox.root / LAYOUT_MARK]
    for office in desk.context.offices.values():
        assert verify_office(desk.runtime, office, check_blobs=True).problems == []


def test_office_option_takes_only_that_offices_files(two_offices: IngestDesk) -> None:
    """`qms --office PS-TEST2 ingest inbox` files PS-TEST2's files only: PS-TEST1's and those
    outside every office stay where they are; a path in PS-TEST1 is a usage error (exit 2)."""
    desk = two_offices
    mine = drop(desk, SECOND, "DAK", "letter.pdf")
    theirs = drop(desk, FIRST, "DAK", "letter.pdf")
    stray = desk.context.inbox.root / "DAK" / "letter.pdf"  # no office is called DAK
    stray.parent.mkdir()
    stray.write_bytes(pdf_bytes("stray"))
    root, inbox = desk.root, desk.context.inbox.root
    result = run(
        "-w", root, "--office", SECOND, "ingest", inbox, "--as", "ingest", "--settle", "0",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = map(json.loads, result.stdout.splitlines())
    assert (line["status"], line["office"], line["file"]) == ("filed", SECOND, "DAK/letter.pdf")
    assert not mine.exists() and theirs.exists() and stray.exists()
    status = run("-w", root, "--office", SECOND, "inbox", "status", "--json")
    counts = json.loads(status.stdout)
    assert list(counts) == [SECOND] and counts[SECOND]["DAK"]["processed"] == 1
    elsewhere = run(
        "-w", root, "--office", SECOND, "ingest", theirs, "--as", "ingest", "--settle", "0"
    )
    assert elsewhere.returncode == 2, elsewhere.stderr
    assert f"is in {FIRST}'s inbox: use --office {FIRST}" in elsewhere.stderr
    assert theirs.exists()


# --- files outside every office -------------------------------------------------------------------


def test_files_outside_every_office_are_quarantined_naming_the_offices(
    ingest_desk: IngestDesk,
) -> None:
    """inbox/GD/ (no office is called GD) and inbox/ itself: quarantined under _no-office/
    at "find the office", the note naming the offices; `retry` leaves them for a person."""
    desk = ingest_desk
    inbox = desk.context.inbox
    (inbox.root / "GD").mkdir()
    (inbox.root / "GD" / "old-habit.pdf").write_bytes(pdf_bytes("old habit"))
    (inbox.root / "loose.pdf").write_bytes(pdf_bytes("loose"))
    assert inbox.counts()[NO_OFFICE]["GD"]["pending"] == 1
    outcomes = {o.file: o for o in desk.run(inbox.root)}
    assert {(o.status, o.step, o.office) for o in outcomes.values()} == {
        ("quarantined", "find the office", NO_OFFICE)
    }
    held = inbox.quarantine / NO_OFFICE / "GD" / "old-habit.pdf"
    assert outcomes["GD/old-habit.pdf"].moved_to == str(held)
    note = desk.error_note(held)
    assert note["File"] == "inbox/GD/old-habit.pdf"
    assert note["Problem"] == f"inbox/GD/ is no office of this workspace (offices: {FIRST})"
    assert "inbox/<OFFICE>/<REGISTER>/" in note["What to do"]
    loose = desk.error_note(inbox.quarantine / NO_OFFICE / "UNSORTED" / "loose.pdf")
    assert loose["Problem"].startswith("it was dropped straight into inbox/")
    assert inbox.retry() == []
    counts = inbox.counts()[NO_OFFICE]
    assert sorted(counts) == ["GD", "UNSORTED"]
    assert [(row["pending"], row["quarantined"]) for row in counts.values()] == [(0, 1), (0, 1)]
    table = run("-w", desk.root, "inbox", "status")
    assert table.returncode == 0, table.stderr
    assert "(no office)" in table.stdout
    desk.check_sound()


def test_quarantined_files_are_listed_per_office(two_offices: IngestDesk) -> None:
    """`quarantined_in(runtime, office)` lists one office's refused files (for `qms tasks`);
    without an office, every office's and those of no office."""
    desk = two_offices
    drop(desk, FIRST, "GD", "empty-1.pdf", b"")
    drop(desk, SECOND, "GD", "empty-2.pdf", b"")
    (desk.context.inbox.root / "stray.pdf").write_bytes(pdf_bytes("stray"))
    desk.run(desk.context.inbox.root)
    second = quarantined_in(desk.runtime, SECOND)
    assert [(q.office, q.folder, q.path.name, q.retriable) for q in second] == [
        (SECOND, "GD", "empty-2.pdf", True)
    ]
    assert "empty" in second[0].problem
    every = {(q.office, q.path.name, q.retriable) for q in quarantined_in(desk.runtime)}
    assert every == {
        (FIRST, "empty-1.pdf", True),
        (SECOND, "empty-2.pdf", True),
        (NO_OFFICE, "stray.pdf", False),
    }


# --- one watcher per office ---------------------------------------------------------------------


def test_a_watcher_per_office_each_files_its_own(two_offices: IngestDesk) -> None:
    """Watchers for PS-TEST1 and PS-TEST2 run side by side (real observers), each filing its
    own office's files only; a second watcher for PS-TEST1 is refused."""
    desk = two_offices
    first, second = context_for(desk, FIRST), context_for(desk, SECOND)
    with watching(first) as one, watching(second) as two:
        drop(desk, FIRST, "GD", "a.pdf")
        drop(desk, SECOND, "GD", "b.pdf")
        one.until(lambda: bool(one.outcomes.items), "PS-TEST1's file to be filed")
        two.until(lambda: bool(two.outcomes.items), "PS-TEST2's file to be filed")
        again = Runner(context_for(desk, FIRST), build_steps(desk.runtime), lambda _o: None)
        with pytest.raises(RuleViolation, match=f"already running for {FIRST}'s inbox"):
            watch(again, threading.Event())
        one.quiet(1.0)
        two.quiet(1.0)
    assert [(o.office, o.file, o.status) for o in one.outcomes.items] == [
        (FIRST, "GD/a.pdf", "filed")
    ]
    assert [(o.office, o.file, o.status) for o in two.outcomes.items] == [
        (SECOND, "GD/b.pdf", "filed")
    ]


# watchdog's inotify observer may add a watch twice for folders made in quick succession (the
# new office's register folders) and warns that it overwrote the first: nothing is missed.
@pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")
def test_an_office_added_while_a_watcher_runs_waits_for_a_restart(
    ingest_desk: IngestDesk,
) -> None:
    """A file in the folder of an office added after the watcher started is neither filed nor
    quarantined as "no office": it waits, and the watcher says to restart it."""
    desk = ingest_desk
    with watching(desk.context) as running:
        add_second_office(desk.office)
        choose_own_key(desk.office)
        early = drop(desk, SECOND, "GD", "early.pdf")
        running.until(lambda: SECOND in desk.context.not_served, "the new office to be noticed")
        running.quiet(1.0)
    assert running.outcomes.items == [] and early.exists()
    assert "restart it to serve PS-TEST2" in desk.context.not_served[SECOND]
    (outcome,) = IngestDesk(desk.office).run(desk.context.inbox.root)
    assert (outcome.status, outcome.office, outcome.file) == ("filed", SECOND, "GD/early.pdf")


def test_a_claim_left_by_a_crash_is_finished_by_its_own_offices_run(
    two_offices: IngestDesk,
) -> None:
    """A claim of PS-TEST2 left behind is not touched by a run for PS-TEST1, and is filed
    once by PS-TEST2's run."""
    desk = two_offices
    crashed = open_inbox(desk.runtime)
    claim = crashed.claim(drop(desk, SECOND, "GD", "mid-crash.pdf"))
    assert claim is not None and claim.office == SECOND
    os.close(crashed._held.pop(claim.id))  # the process died: its lock is gone, the claim stays
    first = Runner(context_for(desk, FIRST), build_steps(desk.runtime), desk.outcomes.append)
    first.finish_claims(only_due=False)
    assert desk.outcomes == [] and claim.path.exists()
    second = Runner(context_for(desk, SECOND), build_steps(desk.runtime), desk.outcomes.append)
    second.finish_claims(only_due=False)
    assert [(o.status, o.office, o.file) for o in desk.outcomes] == [
        ("filed", SECOND, "GD/mid-crash.pdf")
    ]
    desk.check_sound()


# --- a shared inbox from before ---------------------------------------------------------------


def make_shared(root: Path, code: str) -> None:
    """Turn a workspace back into the layout of before: one inbox shared by every office."""
    (root / "inbox" / LAYOUT_MARK).unlink()
    for tree in TREES:
        if (root / tree / code).is_dir():
            for entry in (root / tree / code).iterdir():
                os.rename(entry, root / tree / entry.name)
            (root / tree / code).rmdir()


def old_claim(root: Path, folder: str, name: str, data: bytes) -> Path:
    """A claim as the shared inbox left it at a crash: its claim.json names no office."""
    claim_id = uuid.uuid4().hex
    folder_path = root / ".ingest" / "claimed" / claim_id
    folder_path.mkdir(parents=True)
    record = {"id": claim_id, "folder": folder, "relative": name, "claimed_at": "x"}
    (folder_path / "claim.json").write_text(json.dumps(record), encoding="utf-8")
    (folder_path / name).write_bytes(data)
    return folder_path


def test_a_shared_inbox_is_moved_into_the_workspace_office_on_first_use(
    ingest_desk: IngestDesk,
) -> None:
    """A workspace from before: `inbox status` moves inbox/, processed/ and quarantine/ into
    the folders of the office qms.toml names, says so once, and counts everything; `ingest`
    then files what was waiting and finishes the claim the crash left."""
    desk = ingest_desk
    desk.drop("GD", "filed-before.pdf")
    desk.drop("GD", "empty.pdf", b"")
    desk.run()
    root = desk.root
    make_shared(root, FIRST)
    (root / "inbox" / "GD" / "waiting.pdf").write_bytes(pdf_bytes("waiting"))
    old_claim(root, "GD", "claimed.pdf", pdf_bytes("claimed before the crash"))

    first = run("-w", root, "inbox", "status", "--json")
    assert first.returncode == 0, first.stderr
    assert "The inbox now keeps one folder per office" in first.stderr
    assert f"moved inbox/ ARMS/, DAK/, GD/ and 3 more into inbox/{FIRST}/" in first.stderr
    assert f"moved processed/ GD/ into processed/{FIRST}/" in first.stderr
    assert f"inbox/{FIRST}/<REGISTER>/" in first.stderr
    gd = json.loads(first.stdout)[FIRST]["GD"]
    assert (gd["pending"], gd["in_progress"], gd["quarantined"], gd["processed"]) == (1, 1, 1, 1)
    again = run("-w", root, "inbox", "status", "--json")
    assert again.stderr == "" and json.loads(again.stdout) == json.loads(first.stdout)

    inbox = root / "inbox"
    filed = run("-w", root, "ingest", inbox, "--as", "ingest", "--settle", "0", "--json")
    assert filed.returncode == 0, filed.stderr
    outcomes = map(json.loads, filed.stdout.splitlines())
    assert sorted((o["file"], o["office"], o["status"]) for o in outcomes) == [
        ("GD/claimed.pdf", FIRST, "filed"),
        ("GD/waiting.pdf", FIRST, "filed"),
    ]
    assert desk.inbox.counts()["GD"]["processed"] == 3
    desk.check_sound()


def test_office_add_moves_a_shared_inbox_first(ingest_desk: IngestDesk) -> None:
    """On a workspace from before, `office add` moves the shared inbox into the workspace's
    office before the new office's folder appears, so neither lands in the other."""
    root = ingest_desk.root
    make_shared(root, FIRST)
    result = run(
        "-w", root, "office", "add", SECOND, "--type=police_station", "--name=दूसरा",
        "--as=admin",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"into inbox/{FIRST}/" in result.stdout
    assert sorted(p.name for p in (root / "inbox").iterdir()) == [LAYOUT_MARK, FIRST, SECOND]
    assert (root / "inbox" / FIRST / "GD").is_dir() and (root / "inbox" / SECOND / "GD").is_dir()
    assert not (root / "inbox" / FIRST / SECOND).exists()


def test_an_interrupted_move_is_finished_and_loses_nothing(qms_office: TestOffice) -> None:
    """A move cut short, then inbox/GD/ made again by a scanner: the next upgrade merges it,
    giving a clashing name ` (2)`, and marks the inbox as per office."""
    workspace = qms_office.runtime.workspace
    inbox = workspace.inbox_dir
    make_shared(qms_office.root, FIRST)
    (inbox / FIRST).mkdir()
    os.rename(inbox / "GD", inbox / FIRST / "GD")  # the move got this far
    (inbox / FIRST / "GD" / "a.pdf").write_bytes(b"first a")
    (inbox / "GD").mkdir()
    (inbox / "GD" / "a.pdf").write_bytes(b"second a")
    (inbox / "GD" / "b.pdf").write_bytes(b"b")
    told = upgrade_layout(workspace)
    assert told[0].startswith("The inbox now keeps one folder per office")
    gd = inbox / FIRST / "GD"
    assert {p.name: p.read_bytes() for p in gd.iterdir()} == {
        "a.pdf": b"first a",
        "a (2).pdf": b"second a",
        "b.pdf": b"b",
    }
    assert sorted(p.name for p in inbox.iterdir()) == [LAYOUT_MARK, FIRST]
    assert upgrade_layout(workspace) == []


# --- what the watcher shows -------------------------------------------------------------------


def _times_between(start: datetime, end: datetime, zone_name: str) -> set[str]:
    """Every ``HH:MM:SS`` from ``start`` to ``end`` as read in ``zone_name``."""
    moment, shown = start.replace(microsecond=0), set()
    while moment <= end:
        shown.add(moment.astimezone(zone(zone_name)).strftime("%H:%M:%S"))
        moment += timedelta(seconds=1)
    return shown


def test_ingest_prints_each_file_with_its_number_at_the_offices_time(
    two_offices: IngestDesk,
) -> None:
    """One line per file: the office's local time, the file, and the number it got; or the
    record it duplicates, or the step and reason it was quarantined; then the counts."""
    desk = two_offices
    drop(desk, SECOND, "GD", "gd-0412.pdf", pdf_bytes("same"))
    drop(desk, SECOND, "DAK", "copy.pdf", pdf_bytes("other"))
    drop(desk, FIRST, "GD", "empty.pdf", b"")
    inbox = desk.context.inbox.root
    before = utc_now()
    result = run("-w", desk.root, "ingest", inbox, "--as", "ingest", "--settle", "0")
    after = utc_now()
    assert result.returncode == 5, result.stderr  # one quarantined
    lines = result.stdout.splitlines()
    pattern = re.compile(r"(\d\d:\d\d:\d\d)  (\S+)(.*)")
    shown = {m[2]: (m[1], m[3]) for m in map(pattern.fullmatch, lines) if m}
    time, tail = shown[f"{SECOND}/GD/gd-0412.pdf"]
    assert time in _times_between(before, after, SECOND_ZONE)
    assert re.fullmatch(rf" → {SECOND}/GD/\d{{4}}/00001", tail)
    time, tail = shown[f"{FIRST}/GD/empty.pdf"]
    assert time in _times_between(before, after, "Asia/Kolkata")
    assert tail.startswith("  quarantined at “check file type”: ") and "empty" in tail
    assert lines[-1] == "filed 2 · quarantined 1"  # the counts that are not zero

    drop(desk, SECOND, "GD", "rescan.pdf", pdf_bytes("same"))
    again = run("-w", desk.root, "ingest", inbox, "--as", "ingest", "--settle", "0")
    assert again.returncode == 0, again.stderr
    assert re.search(
        rf"  {SECOND}/GD/rescan.pdf  duplicate of {SECOND}/GD/\d{{4}}/00001, set aside$",
        again.stdout,
        re.MULTILINE,
    )


def test_recent_rate_counts_the_last_minute_only() -> None:
    """The rate a long-running watcher shows is files done in the last 60 s, not an average
    since it started."""
    clock = ManualClock()
    rate = RecentRate(clock=clock)
    for _ in range(3):
        rate.add()
    clock.advance(45)
    rate.add()
    assert rate.count() == 4
    clock.advance(15)  # the first three are a minute old now
    assert rate.count() == 1
    clock.advance(3600)
    assert rate.count() == 0


def _read_until(master: int, pattern: re.Pattern[str], seen: list[str], deadline: float) -> str:
    """Read the terminal until ``pattern`` shows (ANSI codes removed); the text so far."""
    while True:
        text = ANSI.sub("", "".join(seen))
        if pattern.search(text):
            return text
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"{pattern.pattern!r} never appeared in:\n{text[-3000:]}")
        ready, _, _ = select.select([master], [], [], min(left, 0.5))
        if ready:
            try:
                seen.append(os.read(master, 65536).decode("utf-8", "replace"))
            except OSError:  # the terminal closed: the watcher ended
                pytest.fail(f"the watcher ended before {pattern.pattern!r}:\n{text[-3000:]}")


@sqlite_only
def test_watch_in_a_terminal_prints_each_filed_file(ingest_desk: IngestDesk) -> None:
    """`qms watch` in a terminal prints each filed file with its number above the live status
    line, which counts the files of the last minute; SIGTERM ends it with exit 0."""
    desk = ingest_desk
    master, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    env.update(QMS_PASSPHRASE=TEST_PASSPHRASE, TERM="xterm", COLUMNS="120", LINES="30")
    process = subprocess.Popen(
        [str(QMS), "-w", str(desk.root), "watch", "--as", "ingest", "--settle", "0.2"],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        _read_until(master, re.compile("Watching inbox/PS-TEST1/"), seen, deadline)
        desk.drop("GD", "gd-0412.pdf")
        filed = re.compile(r"\d\d:\d\d:\d\d  GD/gd-0412\.pdf → PS-TEST1/GD/\d{4}/00001")
        _read_until(master, filed, seen, deadline)
        _read_until(master, re.compile(r"filed 1 · 1 in the last minute"), seen, deadline)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    assert "Traceback" not in ANSI.sub("", "".join(seen))
