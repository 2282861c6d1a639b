"""Attacks on the register books: each forged entry must make ``qms audit verify`` fail.

One real history is written through the engine in a station whose General Diary is a day book:
a day opened, entries written, one corrected, the day closed, and a malkhana entry with its
required fields.  Each test then plays an insider who writes the SQLite file or holds a valid
key (the clerk's own): a forged ``document.created`` (and revision) is appended to the chain,
correctly linked, hashed and signed, so only the register rule it breaks can catch it — online
and on an exported bundle alike, at that event.  A row changed by SQL alone is caught by the
comparison of ``register_entry`` with the chain.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qms_engine.clock import local_today
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import unlock
from qms_engine.registers.entries import write_entry
from qms_engine.runtime import Runtime
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TEST_PASSPHRASE, staff_member
from tests.test_audit_attacks import History, assert_both_fail_at, verdicts
from tests.test_registers import MALKHANA_FIELDS

OFFICE = "PS-GDX"
CLERK = "ramesh"
CLERK_NAME = "Constable Ramesh"


@pytest.fixture(scope="module")
def book_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A station with the day book on, and its honest history, built once (on SQLite: the
    attacks edit the file directly, as an insider with the workspace folder would)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("QMS_GD_DAY_BOOK", "on")
        env.setenv("QMS_GD_NUMBERING", "year")
        root = tmp_path_factory.mktemp("register-history") / "ws"
        result = init_workspace(
            root,
            plugins=load_plugins(),
            office_type="police_station",
            office_code=OFFICE,
            office_name="थाना रजिस्टर",
            admin="admin",
            admin_name="Station Admin",
            admin_passphrase=TEST_PASSPHRASE,
            office_passphrase=TEST_PASSPHRASE,
        )
        runtime = Runtime.open(result.workspace, load_plugins())
        try:
            admin = unlock(runtime, "admin", TEST_PASSPHRASE)
            clerk = staff_member(runtime, result.office, admin, CLERK, CLERK_NAME, ["clerk"])
            office = result.office

            def write(type_code: str, text: str, **options: Any) -> str:
                return write_entry(
                    runtime, office, actor=clerk, type_code=type_code, text=text, **options
                ).number

            write("GD", "रोज़नामचा खुला", kind="opening", fields={"custody": "कोई नहीं"})
            wrong = write("GD", "गश्त पर दो सिपाही")
            write("GD", "सुधार: तीन सिपाही", corrects=wrong)
            write("MALKHANA", "जब्त मोटरसाइकिल", fields=MALKHANA_FIELDS)
            write("FIR", "प्रथम सूचना रिपोर्ट: मोटरसाइकिल चोरी")
            write("CYBER", "ऑनलाइन ठगी की शिकायत")
            write("GD", "रोज़नामचा बंद", kind="closing", fields={"cash_balance": "1200"})
        finally:
            runtime.close()
    yield root


@pytest.fixture
def book(book_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[History]:
    """A fresh copy of the register history, opened with the day book on."""
    monkeypatch.setenv("QMS_GD_DAY_BOOK", "on")
    root = tmp_path / "ws"
    shutil.copytree(book_template, root)
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        signers = {"clerk": unlock(runtime, CLERK, TEST_PASSPHRASE)}
        yield History(runtime, runtime.office(), signers, root)
    finally:
        runtime.close()


def _year() -> str:
    return str(local_today("Asia/Kolkata").year)


def _gd(serial: int) -> str:
    return f"{OFFICE}/GD/{_year()}/{serial:05d}"


def _today() -> str:
    return local_today("Asia/Kolkata").isoformat()


def _forge(
    book: History, subject: str, payload: dict[str, Any], action: str = "document.created"
) -> int:
    """An event (by default a ``document.created``) signed by the clerk with his own, valid
    key, correctly linked at the end of the chain."""
    with book.db() as db:
        return db.append(
            book.signers["clerk"],
            role="clerk",
            action=action,
            subject=subject,
            payload=payload,
            meaning="authored",
            signer_name=CLERK_NAME,
        )


def _entry(serial: int, entry: str = "entry") -> dict[str, Any]:
    return _record("GD", serial, entry=entry, day=_today())


def test_the_honest_history_verifies(book: History, tmp_path: Path) -> None:
    """The history written through the engine verifies online and on a bundle."""
    for where, result in verdicts(book, tmp_path).items():
        assert result.ok, (where, result.problems)


def _record(code: str, serial: int, **more: Any) -> dict[str, Any]:
    return {"type": code, "title": "forged", "serial": serial, "period": _year(), **more}


def _number(short: str, serial: int) -> str:
    return f"{OFFICE}/{short}/{_year()}/{serial:04d}"


def test_forged_gap_in_the_numbers(book: History, tmp_path: Path) -> None:
    """An FIR numbered two past the last leaves a gap: caught."""
    seq = _forge(book, _number("FIR", 3), _record("FIR", 3, entry="entry"))
    assert_both_fail_at(book, tmp_path, seq, "skips serials 2–2")


def test_repeated_serial(book: History, tmp_path: Path) -> None:
    """A second FIR with the last one's serial (so its number) is caught."""
    seq = _forge(book, _number("FIR", 1), _record("FIR", 1, entry="entry"))
    assert_both_fail_at(book, tmp_path, seq, "created a second time")


@pytest.mark.parametrize(
    ("number", "serial", "says"),
    [
        ("FIR/YEAR/0099", 2, "is numbered {FIR}, not {subject}"),
        ("CYB/YEAR/0002", 2, "is numbered {FIR}, not {subject}"),
        ("FIR/YEAR/0001-B", 1, "repeats serial 1"),
    ],
)
def test_number_not_its_serial(
    book: History, tmp_path: Path, number: str, serial: int, says: str
) -> None:
    """A record whose number is not its serial and period in its type's recorded numbering
    (another serial, another register's form, a repeated serial under a made-up number) is
    caught."""
    subject = f"{OFFICE}/{number.replace('YEAR', _year())}"
    seq = _forge(book, subject, _record("FIR", serial, entry="entry"))
    _forge(book, f"{subject}#0", _typed_revision({}), "document.revision.created")
    says = says.format(FIR=_number("FIR", serial), subject=subject)
    assert_both_fail_at(book, tmp_path, seq, says)


@pytest.mark.parametrize("then", ["another record", "nothing"])
def test_record_created_without_its_revision_0(book: History, tmp_path: Path, then: str) -> None:
    """A register record whose next event is not its revision 0 (a record with no file and
    none of its required fields) is caught at that next event, or at the chain's end."""
    created = _forge(book, _number("MAL", 2), _record("MALKHANA", 2, entry="entry"))
    if then == "another record":
        _forge(book, _number("FIR", 2), _record("FIR", 2, entry="entry"))
        _forge(book, f"{_number('FIR', 2)}#0", _typed_revision({}), "document.revision.created")
    assert_both_fail_at(
        book, tmp_path, created + 1, f"{_number('MAL', 2)}: created without its revision 0"
    )


def test_entry_after_the_days_closing(book: History, tmp_path: Path) -> None:
    """An ordinary entry after the day was closed is caught."""
    seq = _forge(book, _gd(5), _entry(5))
    assert_both_fail_at(book, tmp_path, seq, "which is not open")


def test_gd_entry_revised(book: History, tmp_path: Path) -> None:
    """A GD entry given a revision 1 (an edit) is caught: append-only."""
    seq = _forge(
        book,
        f"{_gd(2)}#1",
        {
            "sha256": "ab" * 32,
            "size": 5,
            "media_type": "text/plain; charset=utf-8",
            "original_filename": "gd-entry.txt",
            "title": "बदला हुआ",
            "reason": "edit",
            "fields": {},
            "state": "filed",
        },
        "document.revision.created",
    )
    assert_both_fail_at(book, tmp_path, seq, "append-only, never revised")


def test_gd_entry_file_replaced(book: History, tmp_path: Path) -> None:
    """A GD entry's file replaced by another (a rewritten page) is caught."""
    seq = _forge(
        book,
        f"{_gd(2)}#0",
        {
            "sha256": "ef" * 32,
            "size": 5,
            "media_type": "text/plain; charset=utf-8",
            "original_filename": "gd-entry.txt",
            "previous_sha256": "00" * 32,
            "reason": "rewritten",
        },
        "document.revision.replaced",
    )
    assert_both_fail_at(book, tmp_path, seq, "file is never replaced")


@pytest.mark.parametrize(
    "corrects",
    [f"{OFFICE}/CYB/YEAR/0003", f"{OFFICE}/GD/YEAR/00002", "PS-OTHER/CYB/2026/0001"],
    ids=["later-entry", "other-register", "other-office"],
)
def test_correction_of_an_entry_not_earlier_or_not_here(
    book: History, tmp_path: Path, corrects: str
) -> None:
    """A correction naming an entry that does not precede it in the same register of this
    office is caught."""
    named = corrects.replace("YEAR", _year())
    payload = _record("CYBER", 2, entry="entry", corrects=named)
    seq = _forge(book, _number("CYB", 2), payload)
    assert_both_fail_at(book, tmp_path, seq, "no earlier CYBER entry of this office")


def _typed_revision(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "sha256": "cd" * 32,
        "size": 5,
        "media_type": "text/plain; charset=utf-8",
        "original_filename": "malkhana-entry.txt",
        "title": "x",
        "reason": "Typed entry",
        "fields": fields,
        "state": "filed",
    }


@pytest.mark.parametrize("seal", [None, "", " \t", "\u200b", "\ufeff\u2060\u00a0"])
def test_malkhana_entry_without_its_seal(book: History, tmp_path: Path, seal: str | None) -> None:
    """A malkhana record whose first revision lacks the seal number, or gives one of nothing
    visible (spaces, zero-width or format characters), is caught."""
    number = _number("MAL", 2)
    _forge(book, number, _record("MALKHANA", 2, entry="entry"))
    fields = {k: v for k, v in MALKHANA_FIELDS.items() if k != "seal_number"}
    if seal is not None:
        fields["seal_number"] = seal
    seq = _forge(book, f"{number}#0", _typed_revision(fields), "document.revision.created")
    assert_both_fail_at(book, tmp_path, seq, "without its required field(s) seal_number")


def test_closing_turned_into_an_entry_by_sql(book: History) -> None:
    """The day's closing changed into an ordinary entry in the table (to write after it) is
    caught by the comparison of the tables with the chain."""
    with book.db() as db:
        db.connection.execute("UPDATE register_entry SET entry = 'entry' WHERE entry = 'closing'")
    result = book.verify()
    assert not result.ok
    assert any(
        f"table register_entry, {_gd(4)}, field entry: chain says 'closing'" in problem
        for problem in result.problems
    ), result.problems
