"""Evidence files of nonconformities and actions come back exactly as given (review 12, 1b).

``qms nc evidence NC [ACTION] [--name FILE] -o OUT`` (or ``-o -``) hands out an NC's or an
action's evidence file, its bytes checked against the SHA-256 the signed event names on the
way out (the code ``qms doc get`` uses); an existing file is replaced only with ``--force``;
``qms nc show`` lists each file with the command that gets it.  The same content given twice
is stored (and named) once; a missing evidence file is refused naming it (exit 3).
"""

from __future__ import annotations

import io
import shlex
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from qms_engine.capa.evidence import export_evidence, stream_evidence
from qms_engine.errors import IntegrityError, InvalidInput, NotFound
from qms_engine.testing import TestOffice
from tests.test_cli_nc import add_action, as_json, qms_main, raise_nc, today
from tests.test_daily_cli import pasted, qms, shown

__all__ = ["qms_main"]  # the fixture, used by name


@pytest.fixture
def files(make_docx: Callable[..., Path]) -> dict[str, Path]:
    """Three evidence files: two of them with one name in different folders."""
    first = make_docx("register-page.docx", "Register", "Entries 41-57 unsigned")
    roster = make_docx("roster.docx", "Duty roster", "The duty officer signs at 22:00")
    (first.parent / "later").mkdir()
    again = first.parent / "later" / "register-page.docx"
    again.write_bytes(make_docx("other.docx", "Register", "Entries 58-60 unsigned").read_bytes())
    return {"first": first, "roster": roster, "again": again}


def _with_evidence(office: TestOffice, files: dict[str, Path]) -> tuple[str, str]:
    """An NC raised with both register pages (and the first given twice), planned, and its
    action A1 done with the roster: (its number, the action's subject)."""
    first, again = files["first"], files["again"]
    number = raise_nc(office, "--evidence", first, "--evidence", again, "--evidence", first)
    shown(office, "nc", "act", number, "contain", "--comment", "Signed", "--as", "priya")
    shown(office, "nc", "act", number, "analyse", "--comment", "No check", "--as", "sks")
    action = str(add_action(office, number, "anita", today(office) + timedelta(days=7))["subject"])
    shown(office, "nc", "act", number, "plan", "--as", "priya")
    done = as_json(
        office, "nc", "action", "done", action, "--comment", "Roster amended",
        "--evidence", files["roster"], "--as", "anita",
    )  # fmt: skip
    assert (done["subject"], done["office"], done["nc"], done["owner"]) == (
        action,
        "PS-TEST1",
        number,
        "anita",
    )
    return number, action


def test_nc_show_lists_a_command_that_hands_each_file_back(
    qms_office: TestOffice, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command `nc show` prints under an evidence file writes that file's exact bytes;
    two files of one name are told apart by their SHA-256; the file given twice is kept once."""
    number, _action = _with_evidence(qms_office, files)
    detail = as_json(qms_office, "nc", "show", number)
    assert [f["original_filename"] for f in detail["evidence"]] == ["register-page.docx"] * 2
    text = shown(qms_office, "nc", "show", number)
    commands = [line.strip() for line in pasted(text).splitlines() if "qms nc evidence" in line]
    assert len(commands) == 3, text
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    for command, source in zip(
        commands, (files["first"], files["again"], files["roster"]), strict=True
    ):
        written = shown(qms_office, *shlex.split(command)[1:])
        assert "sha256 verified" in written
        name = shlex.split(command)[-1]
        assert (out / name).read_bytes() == source.read_bytes()
        (out / name).unlink()
    assert f"qms nc evidence {number} A1 -o roster.docx" in commands[2]


def test_evidence_to_a_file_or_standard_output_never_over_a_file_without_force(
    qms_office: TestOffice,
    files: dict[str, Path],
    tmp_path: Path,
    qms_main: Callable[..., str],
) -> None:
    """`-o FILE` writes the file and says what it is; an existing file is refused (exit 2)
    unless --force; `-o -` writes the bytes alone to standard output; several files and no
    --name, or a name it does not have: refused, listing its files."""
    number, action = _with_evidence(qms_office, files)
    out = tmp_path / "roster-copy.docx"
    said = shown(qms_office, "nc", "evidence", number, "A1", "-o", out)
    assert (
        f"roster.docx, evidence of {action}" in said
        and out.read_bytes() == files["roster"].read_bytes()
    )
    exists = qms_main(2, "nc", "evidence", f"{action}", "-o", str(out))
    assert "the file exists" in exists and "--force" in exists
    data = as_json(qms_office, "nc", "evidence", action, "-o", out, "--force")
    assert (data["of"], data["original_filename"], data["path"]) == (
        action,
        "roster.docx",
        str(out),
    )
    several = qms_main(2, "nc", "evidence", number, "-o", str(tmp_path / "x"))
    assert f"{number} has 2 evidence files" in several and "--name" in several
    unknown = qms_main(3, "nc", "evidence", number, "--name", "photo.jpg", "-o", "x")
    assert "no evidence file 'photo.jpg'" in unknown and "register-page.docx" in unknown
    same_name = qms_main(2, "nc", "evidence", number, "--name", "register-page.docx", "-o", "x")
    assert "give the start of its SHA-256" in same_name
    piped = qms(qms_office, "nc", "evidence", number, "A1", "-o", "-")
    assert piped.exit_code == 0 and piped.stdout_bytes == files["roster"].read_bytes()
    stream = io.BytesIO()
    handed = stream_evidence(qms_office.runtime, number=number, action=1, out=stream)
    assert stream.getvalue() == files["roster"].read_bytes() and handed.owner == action


def test_an_altered_evidence_blob_is_refused_and_nothing_written(
    qms_office: TestOffice, files: dict[str, Path], tmp_path: Path
) -> None:
    """A blob changed in the store behind the engine's back: IntegrityError naming the NC
    and the file, and no output file left."""
    number, _action = _with_evidence(qms_office, files)
    detail = as_json(qms_office, "nc", "show", number)
    sha256 = detail["evidence"][0]["sha256"]
    blob = qms_office.runtime.store.path(sha256)
    blob.chmod(0o644)
    blob.write_bytes(b"altered")
    out = tmp_path / "page.docx"
    with pytest.raises(IntegrityError, match=rf"{number}: evidence file register-page.docx"):
        export_evidence(qms_office.runtime, number=number, name=sha256[:8], destination=out)
    assert not out.exists() and list(tmp_path.glob(".qms-get-*")) == []
    with pytest.raises(InvalidInput, match="a folder"):
        export_evidence(qms_office.runtime, number=number, name=sha256[:8], destination=tmp_path)
    with pytest.raises(NotFound, match="has no action A9"):
        export_evidence(qms_office.runtime, number=number, action=9, destination=out)


def test_a_missing_evidence_file_is_not_found_naming_it(qms_main: Callable[..., str]) -> None:
    """An evidence path that is not there: exit 3 naming it, nothing written."""
    missing = qms_main(
        3, "nc", "raise", "--title", "t", "--description", "d", "--source", "complaint",
        "--severity", "minor", "--evidence", "no-such-photo.jpg", "--as", "priya",
    )  # fmt: skip
    assert "evidence file no-such-photo.jpg: no such file" in missing
