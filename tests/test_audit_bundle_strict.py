"""Bundles are read strictly: a hostile or damaged bundle is refused, naming the file and line.

Every test starts from a real bundle that the engine exported (an SOP issued, a checkpoint, its
blob) and then edits it the way a forger or a careless copy would, usually fixing the manifest's
digests as an informed forger does.  The engine's verifier and the independent one of
``tests/test_audit_bundle_spec.py`` (written from ``docs/audit-bundle.md`` §13) must both refuse
each edit, never crash, and never read anything outside the bundle folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qms_engine.audit.bundle import MAX_LINE_BYTES, MAX_MANIFEST_BYTES, export_bundle
from qms_engine.audit.checkpoints import record_checkpoint, unlock_office_key
from qms_engine.audit.verify import AuditResult, verify_bundle
from qms_engine.chain.canonical import canonical_bytes
from qms_engine.documents.revisions import create_document
from qms_engine.documents.transitions import take_transition
from qms_engine.extension.manager import load_plugins
from qms_engine.runtime import Runtime
from qms_engine.storage.workspace import Workspace
from qms_engine.testing import TEST_PASSPHRASE
from tests.test_audit_bundle_spec import spec_verify

# Bundles are files: the database behind the export does not matter here.
pytestmark = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)

QMS = Path(sys.executable).parent / "qms"
EVENTS, KEYS, CHECKPOINTS, MANIFEST = (
    "events.jsonl",
    "keys.json",
    "checkpoints.json",
    "manifest.json",
)


@pytest.fixture(scope="module", name="exported")
def exported_fixture(
    qms_office_template: Any, tmp_path_factory: pytest.TempPathFactory, make_docx_module: Any
) -> Path:
    """One real bundle with blobs: an SOP issued, a checkpoint taken (built once per module)."""
    root = tmp_path_factory.mktemp("strict") / "ws"
    shutil.copytree(qms_office_template.root, root)
    signers = qms_office_template.signers
    runtime = Runtime.open(Workspace.load(root), load_plugins())
    try:
        office = runtime.office()
        revision = create_document(
            runtime,
            office,
            actor=signers["author"],
            type_code="SOP",
            title="Malkhana register upkeep",
            path=make_docx_module(root.parent / "sop.docx"),
        )
        for transition, who in (
            ("submit", "author"),
            ("approve", "approver"),
            ("make_effective", "quality_coordinator"),
        ):
            take_transition(
                runtime, number=revision.number, transition=transition, actor=signers[who]
            )
        record_checkpoint(
            runtime,
            office,
            actor=signers["quality_coordinator"],
            office_key=unlock_office_key(runtime, office, TEST_PASSPHRASE),
        )
        path = root.parent / "bundle"
        export_bundle(runtime, office, path, include_blobs=True)
        export_bundle(runtime, office, root.parent / "bundle-without-blobs")
    finally:
        runtime.close()
    assert verify_bundle(path).ok
    return path


@pytest.fixture(scope="module", name="make_docx_module")
def make_docx_module_fixture() -> Callable[[Path], Path]:
    """Writes a small real .docx at a given path."""
    import docx

    def make(path: Path) -> Path:
        document = docx.Document()
        document.add_heading("Malkhana register upkeep", level=1)
        document.add_paragraph("धारा 1: नकद शेष")
        document.save(str(path))
        return path

    return make


@pytest.fixture
def bundle(exported: Path, tmp_path: Path) -> Path:
    """A fresh copy of the real bundle for one test, inside a folder of its own."""
    path = tmp_path / "inbox" / "bundle"
    shutil.copytree(exported, path)
    return path


@pytest.fixture
def bare_bundle(exported: Path, tmp_path: Path) -> Path:
    """A fresh copy of the same chain exported without blobs."""
    path = tmp_path / "inbox" / "bare"
    shutil.copytree(exported.parent / "bundle-without-blobs", path)
    return path


# --------------------------------------------------------------------------- forger's tools


def sha(path: Path) -> str:
    """SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_of(bundle: Path) -> dict[str, Any]:
    """The manifest as parsed (the exported one has no duplicate names)."""
    value: dict[str, Any] = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    return value


def save_manifest(bundle: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest back as the engine would."""
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    (bundle / MANIFEST).write_text(text, encoding="utf-8")


def reseal(bundle: Path) -> None:
    """What an informed forger does after editing: make every digest in the manifest agree."""
    manifest = manifest_of(bundle)
    for section, name in (("events", EVENTS), ("keys", KEYS), ("checkpoints", CHECKPOINTS)):
        if (bundle / name).is_file() and not (bundle / name).is_symlink():
            manifest[section]["sha256"] = sha(bundle / name)
    save_manifest(bundle, manifest)


def lines_of(bundle: Path) -> list[bytes]:
    """The lines of events.jsonl, without their newlines."""
    return (bundle / EVENTS).read_bytes().split(b"\n")[:-1]


def write_lines(bundle: Path, lines: list[bytes]) -> None:
    """Write events.jsonl from lines and reseal the manifest."""
    (bundle / EVENTS).write_bytes(b"".join(line + b"\n" for line in lines))
    reseal(bundle)


def line_number(bundle: Path, action: str) -> int:
    """The 1-based line of the first event with ``action``."""
    marker = f'"action":"{action}"'.encode()
    return next(i for i, line in enumerate(lines_of(bundle), start=1) if marker in line)


def edit_line(bundle: Path, number: int, edit: Callable[[bytes], bytes]) -> None:
    """Replace one line of events.jsonl by ``edit(line)`` and reseal."""
    lines = lines_of(bundle)
    lines[number - 1] = edit(lines[number - 1])
    write_lines(bundle, lines)


def edit_json(bundle: Path, name: str, edit: Callable[[Any], object]) -> None:
    """Parse a JSON file of the bundle, let ``edit`` change it, write it back and reseal."""
    value = json.loads((bundle / name).read_text(encoding="utf-8"))
    edit(value)
    (bundle / name).write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    reseal(bundle)


def edit_text(bundle: Path, name: str, old: str, new: str) -> None:
    """Replace the first ``old`` in a file's text by ``new`` (and reseal, unless the file is
    the manifest itself, which holds no digest of its own)."""
    path = bundle / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    if name != MANIFEST:
        reseal(bundle)


def engine(bundle: Path, **options: Any) -> AuditResult:
    """The engine's verdict on the bundle."""
    return verify_bundle(bundle, **options)


# --------------------------------------------------------------------------- hostile edits


def duplicate_body(bundle: Path) -> int:
    """A forged body placed before the real one on the same line: a parser that keeps the first
    reads the forgery, one that keeps the last verifies the real event."""
    number = line_number(bundle, "document.created")

    def forge(line: bytes) -> bytes:
        body = json.loads(line)["body"]
        forged = dict(body, payload={**body["payload"], "title": "Forged title"})
        return b'{"body":' + canonical_bytes(forged) + b"," + line[1:]

    edit_line(bundle, number, forge)
    return number


def duplicate_actor(bundle: Path) -> int:
    """A second ``actor`` inside one body."""
    number = line_number(bundle, "document.revision.approved")
    edit_line(
        bundle, number, lambda line: line.replace(b'"actor":', b'"actor":"mohan","actor":', 1)
    )
    return number


def extra_member(bundle: Path) -> int:
    """An extra member on the line, in canonical form (so only the three-member rule sees it)."""
    number = line_number(bundle, "document.created")

    def add(line: bytes) -> bytes:
        return canonical_bytes({**json.loads(line), "note": "approved by phone"})

    edit_line(bundle, number, add)
    return number


def upper_case_signature(bundle: Path) -> int:
    """The same signature in upper-case hex (bytes.fromhex would accept it)."""
    number = line_number(bundle, "document.revision.approved")

    def upper(line: bytes) -> bytes:
        value = json.loads(line)
        return canonical_bytes({**value, "signature": value["signature"].upper()})

    edit_line(bundle, number, upper)
    return number


def upper_case_hash(bundle: Path) -> int:
    """The same hash in upper-case hex."""
    number = line_number(bundle, "document.revision.approved")

    def upper(line: bytes) -> bytes:
        value = json.loads(line)
        return canonical_bytes({**value, "hash": value["hash"].upper()})

    edit_line(bundle, number, upper)
    return number


def byte_order_mark(bundle: Path) -> int:
    """A UTF-8 byte-order mark in front of the file."""
    (bundle / EVENTS).write_bytes(b"\xef\xbb\xbf" + (bundle / EVENTS).read_bytes())
    reseal(bundle)
    return 1


def crlf(bundle: Path) -> int:
    """Windows line ends."""
    (bundle / EVENTS).write_bytes((bundle / EVENTS).read_bytes().replace(b"\n", b"\r\n"))
    reseal(bundle)
    return 1


def needless_escape(bundle: Path) -> int:
    """``\\u0061`` for ``a``: the same JSON value, other bytes."""
    edit_line(bundle, 2, lambda line: line.replace(b'"action"', b'"\\u0061ction"', 1))
    return 2


def space_after_colon(bundle: Path) -> int:
    """Pretty-printing whitespace inside a line."""
    edit_line(bundle, 3, lambda line: line.replace(b'"body":', b'"body": ', 1))
    return 3


def float_version(bundle: Path) -> int:
    """``"v":1.0`` instead of ``"v":1``."""
    edit_line(bundle, 3, lambda line: line.replace(b'"v":1}', b'"v":1.0}', 1))
    return 3


def nan_in_line(bundle: Path) -> int:
    """``NaN``, which Python's json reads but JSON does not have."""
    edit_line(bundle, 3, lambda line: line.replace(b'"v":1}', b'"v":NaN}', 1))
    return 3


def huge_integer(bundle: Path) -> int:
    """An integer beyond ±(2^53 − 1), which JSON libraries read differently."""
    edit_line(bundle, 3, lambda line: line.replace(b'"v":1}', b'"v":9007199254740993}', 1))
    return 3


def deep_nesting(bundle: Path) -> int:
    """100,000 nested arrays on one line (a recursive parser's stack overflows)."""
    edit_line(bundle, 4, lambda _line: b"[" * 100_000 + b"]" * 100_000)
    return 4


def not_utf8(bundle: Path) -> int:
    """A byte that is not UTF-8 inside a string."""
    edit_line(bundle, 2, lambda line: line.replace(b"enrolled user", b"enrolled \xffuser", 1))
    return 2


def blank_line(bundle: Path) -> int:
    """An empty line between two events."""
    lines = lines_of(bundle)
    write_lines(bundle, [*lines[:5], b"", *lines[5:]])
    return 6


def no_final_newline(bundle: Path) -> int:
    """The last line lost its newline."""
    (bundle / EVENTS).write_bytes((bundle / EVENTS).read_bytes()[:-1])
    reseal(bundle)
    return len(lines_of(bundle)) + 1


EVENT_EDITS = {
    "duplicate body": (duplicate_body, "member name 'body' occurs twice in one object"),
    "duplicate actor": (duplicate_actor, "member name 'actor' occurs twice in one object"),
    "extra member": (extra_member, "exactly body, hash and signature"),
    "upper-case signature": (upper_case_signature, "'signature' must be 128 lowercase hex"),
    "upper-case hash": (upper_case_hash, "'hash' must be 64 lowercase hex digits"),
    "byte-order mark": (byte_order_mark, "begins with a byte-order mark"),
    "CRLF": (crlf, "'\\r' after the event"),
    "needless escape": (needless_escape, "not in canonical form"),
    "space after colon": (space_after_colon, "not in canonical form"),
    "float": (float_version, "number 1.0 is not an integer"),
    "NaN": (nan_in_line, "NaN is not JSON"),
    "huge integer": (huge_integer, "cannot be encoded canonically"),
    "100,000 nested arrays": (deep_nesting, "JSON nested 100000 levels deep (at most 64)"),
    "not UTF-8": (not_utf8, "not UTF-8"),
    "blank line": (blank_line, "is not a whole event"),
    "no final newline": (no_final_newline, "is not a whole event (no newline at its end)"),
}


@pytest.mark.parametrize("name", list(EVENT_EDITS))
def test_hostile_event_line_is_refused_naming_file_and_line(bundle: Path, name: str) -> None:
    """A hostile events.jsonl line is one problem naming file and line; the spec verifier agrees."""
    edit, fragment = EVENT_EDITS[name]
    number = edit(bundle)
    result = engine(bundle)
    assert len(result.problems) == 1, result.problems
    assert result.problems[0].startswith(f"{bundle / EVENTS}: line {number}"), result.problems
    assert fragment in result.problems[0], result.problems
    spec = spec_verify(bundle).problems
    assert len(spec) == 1 and spec[0].startswith(f"events: line {number}"), spec


@pytest.mark.parametrize("size", [MAX_LINE_BYTES, MAX_LINE_BYTES + 1])
def test_line_length_limit_counts_the_newline(bundle: Path, size: int) -> None:
    """A 16 MiB line, newline included, is within the limit; a byte more is refused as too long."""
    prefix, suffix = b'{"note":"', b'"}'
    edit_line(bundle, 2, lambda _: prefix + b"x" * (size - 1 - len(prefix) - len(suffix)) + suffix)
    assert len(lines_of(bundle)[1]) + 1 == size
    (problem,) = engine(bundle).problems
    assert problem.startswith(f"{bundle / EVENTS}: line 2: ")
    if size > MAX_LINE_BYTES:
        assert problem.endswith(f"longer than {MAX_LINE_BYTES:,} bytes")
    else:
        assert "exactly body, hash and signature, not ['note']" in problem
    assert len(spec_verify(bundle).problems) == 1


def test_duplicate_body_would_show_two_verifiers_two_events(bundle: Path) -> None:
    """A duplicate body shows first-wins and last-wins parsers two different events on a line."""
    number = duplicate_body(bundle)
    line = lines_of(bundle)[number - 1]
    first_wins = json.loads(line, object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    last_wins = json.loads(line)
    assert first_wins["body"]["payload"]["title"] == "Forged title"
    assert last_wins["body"]["payload"]["title"] == "Malkhana register upkeep"


# --------------------------------------------------------------------------- the other files


def outside_copy(bundle: Path, name: str) -> Path:
    """A copy of a bundle file outside the bundle folder (as a forger would plant one)."""
    target = bundle.parent / f"planted-{name}"
    shutil.copyfile(bundle / name, target)
    return target


def events_from_parent(bundle: Path) -> str:
    """The manifest points at an events file beside the bundle; the bundle's own is gone."""
    outside_copy(bundle, EVENTS)
    (bundle / EVENTS).unlink()
    edit_json(bundle, MANIFEST, lambda m: m["events"].update(file="../planted-events.jsonl"))
    return "'file' is '../planted-events.jsonl'"


def events_from_absolute_path(bundle: Path) -> str:
    """The manifest names an absolute path."""
    planted = outside_copy(bundle, EVENTS)
    edit_json(bundle, MANIFEST, lambda m: m["events"].update(file=str(planted)))
    return "'file' is '/"


def keys_named_otherwise(bundle: Path) -> str:
    """The manifest names another file of the bundle for the keys."""
    edit_json(bundle, MANIFEST, lambda m: m["keys"].update(file="checkpoints.json"))
    return "'file' is 'checkpoints.json'"


def blobs_elsewhere(bundle: Path) -> str:
    """The manifest names a blob folder outside the bundle."""
    edit_json(bundle, MANIFEST, lambda m: m["blobs"].update(folder="../blobs"))
    return "'folder' is '../blobs'"


def blobs_switched_off(bundle: Path) -> str:
    """``"blobs": null`` while the blobs are there (to stop them being checked)."""
    edit_json(bundle, MANIFEST, lambda m: m.update(blobs=None))
    return "says the bundle holds no blobs"


def unknown_manifest_member(bundle: Path) -> str:
    """A member the format does not have."""
    edit_json(bundle, MANIFEST, lambda m: m.update(signed_by="SP office"))
    return "unknown member 'signed_by'"


def duplicate_manifest_member(bundle: Path) -> str:
    """``blobs`` twice: null first, the real value last."""
    edit_text(bundle, MANIFEST, "{\n", '{\n  "blobs": null,\n')
    return "member name 'blobs' occurs twice in one object"


def float_count(bundle: Path) -> str:
    """The event count as a float."""
    edit_json(bundle, MANIFEST, lambda m: m["events"].update(count=float(m["events"]["count"])))
    return "is not an integer"


def version_true(bundle: Path) -> str:
    """``"version": true`` (equal to 1 in Python)."""
    edit_json(bundle, MANIFEST, lambda m: m.update(version=True))
    return "not a qms-audit-bundle version 1 manifest"


def manifest_nesting(bundle: Path) -> str:
    """100,000 nested arrays in the manifest."""
    edit_text(bundle, MANIFEST, "{\n", '{\n  "deep": ' + "[" * 100_000 + "]" * 100_000 + ",\n")
    return "JSON nested 100001 levels deep (at most 64)"


def manifest_too_large(bundle: Path) -> str:
    """A manifest padded beyond its size limit."""
    path = bundle / MANIFEST
    path.write_bytes(path.read_bytes() + b" " * MAX_MANIFEST_BYTES)
    return f"larger than {MAX_MANIFEST_BYTES:,} bytes"


def manifest_bom(bundle: Path) -> str:
    """A byte-order mark in front of the manifest."""
    path = bundle / MANIFEST
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return "begins with a byte-order mark"


def upper_case_head(bundle: Path) -> str:
    """The manifest's head in upper-case hex."""
    edit_json(bundle, MANIFEST, lambda m: m["events"].update(head=m["events"]["head"].upper()))
    return "'head' must be 64 lowercase hex digits"


def key_without_fingerprint(bundle: Path) -> str:
    """A key entry without its fingerprint (a KeyError traceback before)."""
    edit_json(bundle, KEYS, lambda keys: keys[1].pop("fingerprint"))
    return "entry 2 (line 11): member 'fingerprint' is missing"


def key_owner_twice(bundle: Path) -> str:
    """A key entry naming two owners."""
    keys = (bundle / KEYS).read_text(encoding="utf-8")
    second = keys.index("{", keys.index("}"))
    (bundle / KEYS).write_text(
        keys[: second + 1] + '\n    "owner": "sks",' + keys[second + 1 :], encoding="utf-8"
    )
    reseal(bundle)
    return "entry 2 (line 11): member name 'owner' occurs twice in one object"


def keys_nan(bundle: Path) -> str:
    """NaN in the key list."""
    edit_text(bundle, KEYS, '"revoked_reason": null', '"revoked_reason": NaN')
    return "NaN is not JSON"


def keys_nesting(bundle: Path) -> str:
    """100,000 nested arrays as the key list."""
    (bundle / KEYS).write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    reseal(bundle)
    return "JSON nested 100000 levels deep"


def keys_not_a_list(bundle: Path) -> str:
    """An object where the list of keys belongs."""
    (bundle / KEYS).write_text("{}\n", encoding="utf-8")
    reseal(bundle)
    return "not a JSON array"


def checkpoint_signature_not_hex(bundle: Path) -> str:
    """A checkpoint signature that is not hex (a ValueError traceback before)."""
    edit_json(bundle, CHECKPOINTS, lambda cps: cps[0].update(signature="zz" * 64))
    return "entry 1 (line 2): 'signature' must be 128 lowercase hex digits"


def checkpoint_seq_text(bundle: Path) -> str:
    """A checkpoint sequence number written as text (a TypeError traceback before)."""
    edit_json(bundle, CHECKPOINTS, lambda cps: cps[0].update(seq=str(cps[0]["seq"])))
    return "entry 1 (line 2): 'seq' must be an integer ≥ 1"


def checkpoint_of_another_office(bundle: Path) -> str:
    """A checkpoint that names another office."""
    edit_json(bundle, CHECKPOINTS, lambda cps: cps[0].update(office="PS-OTHER"))
    return "entry 1 (line 2): 'office' must be this bundle's office 'PS-TEST1'"


def checkpoint_extra_member(bundle: Path) -> str:
    """A checkpoint entry with a member the format does not have."""
    edit_json(bundle, CHECKPOINTS, lambda cps: cps[0].update(witness="SP"))
    return "entry 1 (line 2): unknown member 'witness'"


FILE_EDITS = {
    "events from ../": (events_from_parent, MANIFEST),
    "events from an absolute path": (events_from_absolute_path, MANIFEST),
    "keys named otherwise": (keys_named_otherwise, MANIFEST),
    "blobs elsewhere": (blobs_elsewhere, MANIFEST),
    '"blobs": null': (blobs_switched_off, MANIFEST),
    "unknown manifest member": (unknown_manifest_member, MANIFEST),
    "duplicate manifest member": (duplicate_manifest_member, MANIFEST),
    "float count": (float_count, MANIFEST),
    "version true": (version_true, MANIFEST),
    "manifest nesting": (manifest_nesting, MANIFEST),
    "manifest too large": (manifest_too_large, MANIFEST),
    "manifest BOM": (manifest_bom, MANIFEST),
    "upper-case head": (upper_case_head, MANIFEST),
    "key without fingerprint": (key_without_fingerprint, KEYS),
    "key owner twice": (key_owner_twice, KEYS),
    "NaN in keys": (keys_nan, KEYS),
    "keys nesting": (keys_nesting, KEYS),
    "keys not a list": (keys_not_a_list, KEYS),
    "checkpoint signature not hex": (checkpoint_signature_not_hex, CHECKPOINTS),
    "checkpoint seq as text": (checkpoint_seq_text, CHECKPOINTS),
    "checkpoint of another office": (checkpoint_of_another_office, CHECKPOINTS),
    "checkpoint extra member": (checkpoint_extra_member, CHECKPOINTS),
}


@pytest.mark.parametrize("name", list(FILE_EDITS))
def test_hostile_json_file_is_refused_naming_the_file(bundle: Path, name: str) -> None:
    """A hostile manifest, key or checkpoint file is one problem naming the file (entry, line)."""
    edit, file = FILE_EDITS[name]
    fragment = edit(bundle)
    result = engine(bundle)
    assert len(result.problems) == 1, result.problems
    assert result.problems[0].startswith(f"{bundle / file}: "), result.problems
    assert fragment in result.problems[0], result.problems
    assert len(spec_verify(bundle).problems) == 1


def test_legacy_fixed_names_in_the_manifest_are_accepted(bundle: Path) -> None:
    """A manifest of an earlier engine, naming the fixed files, still verifies (both verifiers)."""

    def legacy(manifest: dict[str, Any]) -> None:
        manifest["events"]["file"] = EVENTS
        manifest["keys"]["file"] = KEYS
        manifest["checkpoints"]["file"] = CHECKPOINTS
        manifest["blobs"]["folder"] = "blobs"

    edit_json(bundle, MANIFEST, legacy)
    assert engine(bundle).problems == []
    assert spec_verify(bundle).problems == []


# --------------------------------------------------------------------------- links and odd files


@pytest.mark.parametrize("name", [MANIFEST, EVENTS, KEYS, CHECKPOINTS, "blobs"])
def test_symbolic_link_in_the_bundle_is_refused(bundle: Path, name: str) -> None:
    """A bundle member that is a symbolic link is refused: nothing outside the bundle is read."""
    target = bundle.parent / f"outside-{name}"
    shutil.move(bundle / name, target)
    (bundle / name).symlink_to(target)
    result = engine(bundle)
    assert len(result.problems) == 1, result.problems
    assert result.problems[0].startswith(f"{bundle / name}: "), result.problems
    assert "symbolic link" in result.problems[0], result.problems
    assert len(spec_verify(bundle).problems) == 1


def test_symbolic_link_inside_blobs_is_not_followed(bundle: Path) -> None:
    """A blob replaced by a symbolic link is reported and not followed: the blob is missing."""
    (blob,) = (bundle / "blobs").iterdir()
    target = bundle.parent / "outside-blob"
    shutil.move(blob, target)
    blob.symlink_to(target)
    problems = engine(bundle).problems
    assert problems == [
        f"{blob}: a symbolic link, not a blob (it is not followed)",
        f"blob {blob.name[:16]}…: missing (a revision points at content that is gone)",
    ]
    assert len(spec_verify(bundle).problems) == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_named_pipe_in_place_of_a_file_does_not_hang(bundle: Path) -> None:
    """keys.json replaced by a named pipe is refused as not a regular file, without blocking."""
    (bundle / KEYS).unlink()
    os.mkfifo(bundle / KEYS)
    assert engine(bundle).problems == [f"{bundle / KEYS}: not a regular file"]


# --------------------------------------------------------------------------- covered by the chain


@pytest.mark.parametrize(
    ("member", "value", "what"),
    [("name", "Kotwali (renamed)", "name"), ("timezone", "UTC", "time zone")],
)
def test_office_name_and_time_zone_are_checked_against_the_chain(
    bundle: Path, member: str, value: str, what: str
) -> None:
    """The manifest's office name and time zone must equal the signed office.created event's."""
    signed = manifest_of(bundle)["office"][member]
    edit_json(bundle, MANIFEST, lambda m: m["office"].update({member: value}))
    number = line_number(bundle, "office.created")
    assert engine(bundle).problems == [
        f"{bundle / MANIFEST}: office {what} {value!r} is not the chain's {signed!r} "
        f"(office.created, event #{number}): altered"
    ]
    assert spec_verify(bundle).problems == [f"office: manifest {member} is not the chain's"]


def test_extra_blob_is_a_problem(bundle: Path) -> None:
    """A blob the chain does not name is a problem: blobs/ holds exactly the chain's blobs."""
    content = b"an unrelated file"
    extra = bundle / "blobs" / hashlib.sha256(content).hexdigest()
    extra.write_bytes(content)
    assert engine(bundle).problems == [
        f"{extra}: no revision in the chain names this blob (an extra file)"
    ]
    assert len(spec_verify(bundle).problems) == 1


def test_file_not_named_by_a_digest_in_blobs_is_a_problem(bundle: Path) -> None:
    """A stray file in blobs/ is reported, not ignored."""
    stray = bundle / "blobs" / "notes.txt"
    stray.write_text("see me", encoding="utf-8")
    assert engine(bundle).problems == [f"{stray}: not named by a SHA-256, so not a blob"]
    assert len(spec_verify(bundle).problems) == 1


def test_missing_blob_is_a_problem_whatever_the_manifest_count(bundle: Path) -> None:
    """A removed blob is missing even with the count lowered: the chain counts the blobs."""
    (blob,) = (bundle / "blobs").iterdir()
    blob.unlink()
    edit_json(bundle, MANIFEST, lambda m: m["blobs"].update(count=0))
    assert engine(bundle).problems == [
        f"blob {blob.name[:16]}…: missing (a revision points at content that is gone)",
        f"{bundle / MANIFEST}: says 0 blobs, the chain names 1",
    ]
    assert len(spec_verify(bundle).problems) == 2


def test_blobs_removed_with_manifest_null_are_not_checked(bundle: Path) -> None:
    """No blobs/ and "blobs": null fail as "blobs NOT checked", unless --no-blobs is asked."""
    shutil.rmtree(bundle / "blobs")
    edit_json(bundle, MANIFEST, lambda m: m.update(blobs=None))
    result = engine(bundle)
    assert not result.ok and not result.blobs_checked
    assert result.problems == [
        f"{bundle}: blobs NOT checked: the chain names 1 revision file(s), and the bundle was "
        "exported without them (export with --blobs, or verify with --no-blobs to check "
        "everything but the files' content)"
    ]
    assert spec_verify(bundle).problems == ["blobs NOT checked: the bundle has no blobs"]
    chain_only = engine(bundle, check_blobs=False)
    assert chain_only.ok and not chain_only.blobs_checked
    assert spec_verify(bundle, check_blobs=False).problems == []


def test_bundle_with_blobs_verifies_and_counts_them(bundle: Path) -> None:
    """The untouched bundle verifies with its blob checked, and with --no-blobs says it was not."""
    result = engine(bundle)
    assert (result.problems, result.blobs, result.blobs_checked) == ([], 1, True)
    assert spec_verify(bundle).problems == []
    skipped = engine(bundle, check_blobs=False)
    assert (skipped.problems, skipped.blobs, skipped.blobs_checked) == ([], 0, False)


# --------------------------------------------------------------------------- the CLI


def qms(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``qms`` in a subprocess, exactly as an auditor's shell would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    environment["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [str(QMS), *map(str, args)],
        env=environment,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )


def tree(folder: Path) -> dict[str, tuple[bool, bytes, float]]:
    """Every entry below ``folder``: whether it is a link, its bytes and its modification time."""
    found = {}
    for path in sorted(folder.rglob("*")):
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        found[str(path.relative_to(folder))] = (path.is_symlink(), data, path.lstat().st_mtime)
    return found


@pytest.fixture
def empty_folder(tmp_path: Path) -> Iterator[Path]:
    """An empty working folder for the CLI (to show it writes nothing there either)."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    yield folder


@pytest.mark.parametrize(
    ("edit", "file", "where"),
    [
        (duplicate_body, EVENTS, "line "),
        (deep_nesting, EVENTS, "line 4: JSON nested 100000 levels deep"),
        (events_from_parent, MANIFEST, "'file' is '../planted-events.jsonl'"),
        (key_without_fingerprint, KEYS, "entry 2 (line 11)"),
        (checkpoint_signature_not_hex, CHECKPOINTS, "entry 1 (line 2)"),
    ],
    ids=["duplicate-body", "deep-nesting", "path-outside", "key-field-missing", "non-hex"],
)
def test_cli_refuses_a_hostile_bundle_with_exit_6_naming_the_file(
    bundle: Path, empty_folder: Path, edit: Callable[[Path], object], file: str, where: str
) -> None:
    """The CLI exits 6 on a hostile bundle, naming file and line; no traceback, nothing written."""
    edit(bundle)
    before = tree(bundle.parent)
    result = qms("audit", "verify", "--bundle", bundle, "--json", cwd=empty_folder)
    assert result.returncode == 6, result.stderr
    assert "Traceback" not in result.stderr
    (verdict,) = json.loads(result.stdout)
    assert verdict["ok"] is False and len(verdict["problems"]) == 1
    assert verdict["problems"][0].startswith(f"{bundle / file}: "), verdict
    assert where in verdict["problems"][0], verdict
    assert tree(bundle.parent) == before
    assert list(empty_folder.iterdir()) == []


def test_cli_bundle_without_blobs_fails_unless_no_blobs(
    bare_bundle: Path, empty_folder: Path
) -> None:
    """The CLI fails a bundle without blobs (exit 6) unless --no-blobs; both say NOT checked."""
    strict = qms("audit", "verify", "--bundle", bare_bundle, cwd=empty_folder)
    assert strict.returncode == 6, strict.stderr
    assert "FAILED" in strict.stdout and "blobs NOT checked" in strict.stdout
    chain_only = qms("audit", "verify", "--bundle", bare_bundle, "--no-blobs", cwd=empty_folder)
    assert chain_only.returncode == 0, chain_only.stdout + chain_only.stderr
    assert "PS-TEST1: OK" in chain_only.stdout and "blobs NOT checked" in chain_only.stdout
