"""Paths that are not what they seem: links, devices and pipes as outputs, files named as
folders, sidecars that are folders or links.  Each is refused plainly (exit 2, or quarantine
with a reason), nothing outside the workspace is read, followed or replaced."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qms_engine.testing import TestOffice
from tests.ingest_fixtures import (
    IngestDesk,
    ingest_desk_fixture,  # noqa: F401  (the ingest_desk fixture)
    pdf_bytes,
)
from tests.test_cli import run
from tests.test_cli_hostile_input import write_config

if TYPE_CHECKING:
    from tests.conftest import Desk


@pytest.mark.parametrize("kind", ["pipe", "link"])
def test_doc_get_never_replaces_a_pipe_or_a_link(
    qms_office: TestOffice, desk: Desk, tmp_path: Path, kind: str
) -> None:
    """``doc get -o X --force`` where X is a named pipe or a symbolic link exits 2 and leaves
    X, and what a link points at, as they were (a device would be replaced the same way)."""
    number = desk.new_sop()
    target = tmp_path / "target.txt"
    target.write_text("keep me", encoding="utf-8")
    out = tmp_path / "out"
    if kind == "pipe":
        os.mkfifo(out)
    else:
        out.symlink_to(target)
    result = run("-w", qms_office.root, "doc", "get", number, "--rev", "0", "-o", out, "--force")
    assert result.returncode == 2, result.stderr
    assert "is not a regular file" in result.stderr
    assert out.is_symlink() if kind == "link" else out.is_fifo()
    assert target.read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize("place", ["under-a-file", "missing-parent"])
def test_audit_export_to_an_impossible_folder_exits_2(
    qms_office: TestOffice, tmp_path: Path, place: str
) -> None:
    """``audit export --out`` under an existing file, or in a folder that does not exist,
    exits 2 with a message (JSON under --json) and makes nothing."""
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    out = tmp_path / ("afile/sub" if place == "under-a-file" else "nope/deep")
    result = run("-w", qms_office.root, "audit", "export", "--out", out, "--json")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stderr)["exit_code"] == 2
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("key", ["inbox", "blob_store"])
def test_a_workspace_folder_that_is_a_file_is_refused(tmp_path: Path, key: str) -> None:
    """``inbox = "qms.toml"`` (or the blob store) names a file: exit 2 naming the key."""
    root = write_config(tmp_path / "ws", **{key: "qms.toml"})
    result = run("-w", root, "inbox", "status")
    assert result.returncode == 2, result.stderr
    assert f"workspace.{key}" in result.stderr
    assert "is a file, not a folder" in result.stderr


@pytest.mark.parametrize("kind", ["folder", "link"])
def test_a_sidecar_that_is_no_file_quarantines_its_record(
    ingest_desk: IngestDesk, tmp_path: Path, kind: str, make_docx: Callable[..., Path]
) -> None:
    """A sidecar that is a folder, or a link (here to a file outside the workspace), is never
    read or followed: its record is quarantined saying so, and nothing outside is touched."""
    outside = tmp_path / "outside.json"
    outside.write_text('{"case_number": "1/2026"}', encoding="utf-8")
    path = ingest_desk.drop("GD", "scan.pdf", pdf_bytes("odd sidecar"))
    sidecar = path.with_name("scan.pdf.json")
    if kind == "folder":
        sidecar.mkdir()
    else:
        sidecar.symlink_to(outside)
    (outcome,) = ingest_desk.run()
    assert (outcome.status, outcome.step) == ("quarantined", "read the document")
    assert "is not a regular file" in (outcome.problem or "")
    assert outside.read_text(encoding="utf-8") == '{"case_number": "1/2026"}'
    ingest_desk.check_sound()


@pytest.mark.parametrize(
    "args",
    [
        ("office", "add", "../x", "--type=police_station", "--name=X", "--as=admin"),
        ("office", "add", "PS-NEW1", "--type=police_station", "--name= ", "--as=admin"),
        ("user", "add", "newbie", "--name=New", "--role=superuser", "--as=admin"),
        ("user", "grant", "anita", "superuser", "--as=admin"),
    ],
    ids=["bad-office-code", "blank-office-name", "unknown-role-add", "unknown-role-grant"],
)
def test_malformed_values_are_usage_errors(qms_office: TestOffice, args: tuple[str, ...]) -> None:
    """A malformed office code or name, or a role nobody defined, is a usage error: exit 2."""
    result = run("-w", qms_office.root, *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_a_register_folder_that_is_a_link_is_counted_not_followed(
    ingest_desk: IngestDesk, tmp_path: Path
) -> None:
    """inbox/DAK as a link to a folder outside: nothing there is read or moved, and
    `qms inbox status` counts the link as ignored instead of hiding it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o1.pdf").write_bytes(pdf_bytes("outside"))
    dak = ingest_desk.inbox.root / "DAK"
    if dak.exists():
        dak.rmdir()
    dak.symlink_to(outside, target_is_directory=True)
    assert ingest_desk.run() == []
    assert (outside / "o1.pdf").read_bytes() == pdf_bytes("outside")
    assert ingest_desk.inbox.counts()["DAK"]["ignored"] == 1
