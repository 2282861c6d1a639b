"""A watcher whose own key ends while it runs: files wait in the inbox, never quarantined.

`qms office add` tells the inbox service to choose its own key (`qms key rotate ingest --as
ingest`), which ends the key a running watcher signs with.  From then on the watcher cannot
file, but nothing is wrong with the files: each stays where it was dropped (a file already
claimed is given back, with its sidecar), the watcher stops serving that office, saying when
the key was replaced and what to do, and stops altogether once it serves no office.  Restarted
with the new key, it files each file exactly once.

Real workspaces (SQLite and PostgreSQL), real key rotations, revocations and role changes,
watchdog's real observer, and `qms watch` as a real process.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterable

from qms_engine.audit.verify import verify_office
from qms_engine.ingest.offices import open_inbox
from qms_engine.ingest.steps import IngestContext
from qms_engine.people.keys import revoke, rotate, unlock
from qms_engine.people.users import revoke_roles
from qms_engine.testing import TEST_PASSPHRASE, TestOffice
from tests.ingest_fixtures import (
    INGEST_USER,
    IngestDesk,
    add_ingest_user,
    files_below,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
)
from tests.test_cli import QMS, run, sqlite_only
from tests.test_inbox_per_office import (
    FIRST,
    SECOND,
    drop,
    two_offices_fixture,  # noqa: F401  (the two_offices fixture)
)
from tests.test_watcher import TIMEOUT, receipts, watching

NEW_PASSPHRASE = "the service's own new passphrase"
NEVER = 1e9  # a rescan period that never comes: only a refused commit tells the watcher
LOCAL_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d IST"


def service_context(office: TestOffice, passphrase: str = TEST_PASSPHRASE) -> IngestContext:
    """What `qms watch --as ingest` starts with: the service's key, unlocked, and its offices."""
    runtime = office.runtime
    return IngestContext(runtime, unlock(runtime, INGEST_USER, passphrase), open_inbox(runtime))


def choose_new_key(context: IngestContext) -> None:
    """`qms key rotate ingest --as ingest`, signed with the key the watcher runs with."""
    rotate(
        context.runtime,
        context.runtime.office(),
        actor=context.signer,
        username=INGEST_USER,
        new_passphrase=NEW_PASSPHRASE,
    )


def left_alone(office: TestOffice) -> None:
    """Nothing was filed, quarantined or left claimed, and the chain verifies."""
    workspace = office.runtime.workspace
    assert files_below(workspace.quarantine_dir) == []
    assert files_below(workspace.processed_dir) == []
    assert files_below(workspace.ingest_dir / "claimed") == []
    assert not verify_office(office.runtime, office.office, check_blobs=True).problems


def test_a_key_replaced_while_watching_leaves_the_next_file_in_the_inbox(
    qms_office: TestOffice,
) -> None:
    """The service chooses a new key while its watcher runs: the next file and its sidecar are
    given back to the inbox untouched, the watcher stops (it serves no office any more) saying
    when the key was replaced; restarted with the new key, it files the file once."""
    add_ingest_user(qms_office)
    context = service_context(qms_office)
    gd = context.inbox.of(FIRST).root / "GD"
    data = pdf_bytes("night patrol")
    sidecar = {"title": "रात्रि गश्त"}
    with watching(context, rescan=NEVER) as running:
        choose_new_key(context)
        (gd / "patrol.pdf.json").write_text(json.dumps(sidecar, ensure_ascii=False), "utf-8")
        (gd / "patrol.pdf").write_bytes(data)
        running.until(running.done.is_set, "the watcher to stop by itself")
    assert [(o.status, o.file) for o in running.outcomes.items] == [("left", "GD/patrol.pdf")]
    assert (gd / "patrol.pdf").read_bytes() == data
    assert json.loads((gd / "patrol.pdf.json").read_text("utf-8")) == sidecar
    assert receipts(context) == []
    left_alone(qms_office)
    assert context.offices == {} and context.covers == frozenset()
    ended = context.ended[FIRST]
    assert re.fullmatch(
        rf"the key of 'ingest' in {FIRST} was replaced at {LOCAL_TIME}", ended.problem
    )
    assert ended.told("restart `qms watch`").endswith("restart `qms watch` with its new passphrase")

    renewed = service_context(qms_office, NEW_PASSPHRASE)
    with watching(renewed) as again:
        again.until(lambda: bool(again.outcomes.items), "the file to be filed")
        again.quiet(1.0)
    assert [(o.status, o.file) for o in again.outcomes.items] == [("filed", "GD/patrol.pdf")]
    assert [(name, outcome) for name, outcome, _number in receipts(context)] == [
        ("patrol.pdf", "filed")
    ]
    assert not list(gd.iterdir())


def test_a_watcher_whose_key_was_revoked_stops_at_its_next_rescan(
    qms_office: TestOffice,
) -> None:
    """An admin revokes the service's key and no file arrives: the next rescan finds out, and
    the watcher stops, naming the reason and who can issue a new key."""
    add_ingest_user(qms_office)
    context = service_context(qms_office)
    with watching(context, rescan=0.5) as running:
        revoke(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["admin"],
            username=INGEST_USER,
            reason="laptop stolen",
        )
        running.until(running.done.is_set, "the watcher to stop by itself")
    assert running.outcomes.items == []
    ended = context.ended[FIRST]
    assert re.fullmatch(
        rf"the key of 'ingest' in {FIRST} was revoked at {LOCAL_TIME} \(laptop stolen\)",
        ended.problem,
    )
    assert "qms key rotate ingest --as ADMIN" in ended.restart


def test_ingest_after_the_key_was_replaced_leaves_every_file(ingest_desk: IngestDesk) -> None:
    """A `qms ingest` run whose key is replaced before it files: both files it had claimed go
    back where they were dropped, neither filed nor quarantined."""
    desk = ingest_desk
    choose_new_key(desk.context)
    dropped = [desk.drop("GD", "a.pdf"), desk.drop("DAK", "scan-7/b.pdf")]
    outcomes = desk.run()
    assert sorted((o.status, o.file) for o in outcomes) == [
        ("left", "DAK/scan-7/b.pdf"),
        ("left", "GD/a.pdf"),
    ]
    assert all(path.is_file() for path in dropped)
    assert desk.receipts() == []
    left_alone(desk.office)


def test_roles_revoked_in_one_office_leave_its_files_and_the_other_goes_on(
    two_offices: IngestDesk,
) -> None:
    """Every role of the service revoked in PS-TEST2 while the watcher serves both offices:
    PS-TEST2's file stays in its inbox and the watcher goes on filing PS-TEST1's."""
    desk = two_offices
    second = desk.runtime.office(SECOND)
    with watching(desk.context, rescan=NEVER) as running:
        revoke_roles(
            desk.runtime,
            second,
            actor=desk.office.signers["admin"],
            username=INGEST_USER,
            roles=["clerk", "author"],
        )
        waiting = drop(desk, SECOND, "GD", "b.pdf")
        running.until(lambda: bool(running.outcomes.of("left")), "PS-TEST2's file to be left")
        drop(desk, FIRST, "GD", "a.pdf")
        running.until(lambda: bool(running.outcomes.of("filed")), "PS-TEST1's file to be filed")
        running.quiet(1.0)
        assert not running.done.is_set(), "it still serves PS-TEST1"
    assert [(o.status, o.office, o.file) for o in running.outcomes.items] == [
        ("left", SECOND, "GD/b.pdf"),
        ("filed", FIRST, "GD/a.pdf"),
    ]
    assert waiting.is_file()
    assert list(desk.context.offices) == [FIRST]
    assert desk.context.ended[SECOND].problem == f"'ingest' no longer holds a role in {SECOND}"
    assert files_below(desk.workspace.quarantine_dir) == []


def _lines(stream: Iterable[str], into: queue.Queue[str]) -> threading.Thread:
    """Read ``stream``'s lines into ``into`` in a thread (a pipe must be drained as it fills)."""

    def read() -> None:
        for line in stream:
            into.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@sqlite_only
def test_qms_watch_stops_with_exit_4_after_the_key_was_rotated(qms_office: TestOffice) -> None:
    """`qms watch`, then `qms key rotate ingest --as ingest` as `qms office add` advises: the
    next file stays in the inbox, and the watcher ends with exit code 4, saying when the key
    was replaced and to restart it with the new passphrase; `qms ingest` with it files it."""
    add_ingest_user(qms_office)
    root = qms_office.root
    env = {"QMS_PASSPHRASE": TEST_PASSPHRASE}
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    process = subprocess.Popen(
        [str(QMS), "-w", str(root), "watch", "--as", "ingest", "--settle", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**environment, **env},
    )
    assert process.stderr is not None
    said: queue.Queue[str] = queue.Queue()
    reader = _lines(process.stderr, said)
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not any("Watching" in line for line in seen):
            assert time.monotonic() < deadline, seen
            try:
                seen.append(said.get(timeout=0.5))
            except queue.Empty:
                assert process.poll() is None, seen
        rotated = run(
            "-w", root, "key", "rotate", "ingest", "--as", "ingest",
            env={**env, "QMS_NEW_PASSPHRASE": NEW_PASSPHRASE},
        )  # fmt: skip
        assert rotated.returncode == 0, rotated.stderr
        dropped = root / "inbox" / FIRST / "GD" / "gd-0413.pdf"
        dropped.write_bytes(pdf_bytes("after the rotation"))
        assert process.wait(timeout=TIMEOUT * 3) == 4
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=5)
    while not said.empty():
        seen.append(said.get())
    told = " ".join(line.strip() for line in seen)
    assert re.search(rf"the key of 'ingest' in {FIRST} was replaced at {LOCAL_TIME}", told), told
    assert "restart `qms watch` with its new passphrase" in told
    assert "neither filed nor quarantined" in told
    assert "Traceback" not in told
    assert dropped.is_file()
    left_alone(qms_office)

    filed = run(
        "-w", root, "ingest", root / "inbox", "--as", "ingest", "--settle", "0", "--json",
        env={"QMS_PASSPHRASE": NEW_PASSPHRASE},
    )  # fmt: skip
    assert filed.returncode == 0, filed.stderr
    outcomes = [json.loads(line) for line in filed.stdout.splitlines()]
    assert [(o["status"], o["file"]) for o in outcomes] == [("filed", "GD/gd-0413.pdf")]
    assert not dropped.exists()
