"""Helpers for ingestion tests: an ingest service user, real files to drop, and the invariants.

``ingest_desk`` (a fixture: import ``ingest_desk_fixture`` into a test module) gives an
:class:`IngestDesk` on a fresh ``qms_office`` workspace: it drops real files into the office's
``inbox/<OFFICE>/<REGISTER>/``, runs the pipeline once (``ingest_once`` with ``settle=0``) and
reads back what was filed: documents and revisions, ``ingest_receipt`` rows, events, and the
office's folders in ``processed/``, ``duplicates/``, ``quarantine/``, and ``.ingest/claimed/``.
:meth:`IngestDesk.check_sound` asserts what must hold after any run: the audit chain verifies,
every revision's blob exists and hashes right, and no claim is left behind.

The desk's runner keeps time on a :class:`~tests.clocks.ManualClock` (``desk.clock``): a
back-off after a passing trouble passes at once, and a test moves time on where it matters.
:func:`counting_inflation` counts the bytes zlib inflates, to show a ZIP bomb was refused
before it was decompressed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docx
import pytest
from sqlalchemy import func, select

from qms_engine.audit.verify import verify_office
from qms_engine.chain.reader import verify_chain
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.ingest.offices import open_inbox
from qms_engine.ingest.pipeline import Outcome, build_steps
from qms_engine.ingest.steps import IngestContext
from qms_engine.ingest.watcher import Runner, ingest_once
from qms_engine.people import keys
from qms_engine.storage.models import (
    DOCUMENT_TABLE,
    EVENT_TABLE,
    RECEIPT_TABLE,
    REVISION_TABLE,
    TYPE_TABLE,
)
from qms_engine.testing import TEST_PASSPHRASE, TestOffice, staff_member
from tests.clocks import ManualClock

INGEST_USER = "ingest"
NOTE_LABELS = ("File", "Refused at", "Problem", "What to do", "When", "When (UTC)")
"""The labelled lines of a quarantine note (``<name>.error.txt``)."""
QMS = Path(sys.executable).parent / "qms"


def add_ingest_user(office: TestOffice) -> None:
    """Enrol the inbox service user (clerk + author), as an admin would; like every user,
    it then replaces the key the admin issued with its own."""
    staff_member(
        office.runtime,
        office.office,
        office.signers["admin"],
        INGEST_USER,
        "Inbox service",
        ["clerk", "author"],
        kind="service",
    )


# ------------------------------------------------------------------------------ real files


def pdf_bytes(text: str = "scan") -> bytes:
    """A small but real PDF (one page, the text in its content stream)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def write_register_docx(
    path: Path, title: str, rows: Iterable[tuple[str, str]], *paragraphs: str
) -> Path:
    """A real .docx: a heading, a two-column ``label | value`` table, then paragraphs."""
    document = docx.Document()
    document.add_heading(title, level=1)
    table = document.add_table(rows=0, cols=2)
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    for text in paragraphs:
        document.add_paragraph(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Inflation:
    """Bytes zlib inflated while counting (zipfile inflates every deflated part through it)."""

    bytes: int = 0


class _CountingDecompressor:
    """A real zlib decompressor that adds what it inflates to an :class:`Inflation`."""

    def __init__(self, real: Any, inflation: Inflation) -> None:
        self._real = real
        self._inflation = inflation

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        out: bytes = self._real.decompress(data, max_length)
        self._inflation.bytes += len(out)
        return out

    def flush(self, *length: int) -> bytes:
        out: bytes = self._real.flush(*length)
        self._inflation.bytes += len(out)
        return out

    def __getattr__(self, name: str) -> Any:  # eof, unconsumed_tail, unused_data
        return getattr(self._real, name)


@contextmanager
def counting_inflation() -> Iterator[Inflation]:
    """Count the bytes inflated in the block: a bomb refused from its headers inflates none."""
    inflation = Inflation()
    real = zlib.decompressobj

    def decompressobj(*args: Any, **kwargs: Any) -> _CountingDecompressor:
        return _CountingDecompressor(real(*args, **kwargs), inflation)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zlib, "decompressobj", decompressobj)
        yield inflation


def files_below(folder: Path) -> list[Path]:
    """Every file (and symlink) below ``folder``, sorted; empty if it does not exist."""
    if not folder.exists():
        return []
    found = []
    for root, dirs, names in os.walk(folder):
        found += [Path(root) / name for name in names]
        found += [Path(root) / name for name in dirs if (Path(root) / name).is_symlink()]
    return sorted(found)


# ------------------------------------------------------------------------------ the desk


@dataclass
class IngestDesk:
    """Drops files into the inbox, runs the pipeline, and reads back what happened."""

    office: TestOffice
    outcomes: list[Outcome] = field(default_factory=list)
    clock: ManualClock = field(default_factory=ManualClock)

    def __post_init__(self) -> None:
        self.runtime = self.office.runtime
        self.workspace = self.runtime.workspace
        self.signer = keys.unlock(self.runtime, INGEST_USER, TEST_PASSPHRASE)
        self.context = IngestContext(self.runtime, self.signer, open_inbox(self.runtime))
        self.inbox = self.context.inbox.of(self.office.office.code)
        """The office's folders: ``inbox.root`` is ``inbox/<OFFICE>/``, and so on."""

    @property
    def root(self) -> Path:
        """The workspace folder."""
        return self.workspace.root

    def folder(self, name: str) -> Path:
        """``inbox/<OFFICE>/<name>/``, made if needed."""
        path = self.inbox.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def drop(self, register: str, name: str, data: bytes | None = None) -> Path:
        """Write ``data`` (default: a small unique PDF) as ``inbox/<OFFICE>/<register>/<name>``."""
        path = self.inbox.root / register / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf_bytes(f"{register}/{name}") if data is None else data)
        return path

    def runner(self, steps: list[Any] | None = None) -> Runner:
        """A Runner reporting into ``self.outcomes``, taking files at once (settle 0).

        It keeps time on ``self.clock``: back-offs pass at once instead of in real seconds.
        """
        return Runner(
            self.context,
            steps if steps is not None else build_steps(self.runtime),
            report=self.outcomes.append,
            settle=0.0,
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def run(self, *paths: Path, steps: list[Any] | None = None) -> list[Outcome]:
        """``ingest_once`` over ``paths`` (default: the office's inbox); the new outcomes."""
        start = len(self.outcomes)
        ingest_once(self.runner(steps), list(paths) or [self.inbox.root])
        return self.outcomes[start:]

    # ---------------------------------------------------------------------- reading back

    def records(self, register: str | None = None) -> list[dict[str, Any]]:
        """Filed documents with their revision 0: number, title, sha256, fields, filename."""
        query = (
            select(
                DOCUMENT_TABLE.c.number,
                DOCUMENT_TABLE.c.serial,
                DOCUMENT_TABLE.c.serial_year,
                TYPE_TABLE.c.code.label("type"),
                REVISION_TABLE.c.title,
                REVISION_TABLE.c.sha256,
                REVISION_TABLE.c.size,
                REVISION_TABLE.c.fields,
                REVISION_TABLE.c.original_filename,
                REVISION_TABLE.c.author_id,
            )
            .join(REVISION_TABLE, REVISION_TABLE.c.document_id == DOCUMENT_TABLE.c.id)
            .join(TYPE_TABLE, TYPE_TABLE.c.id == DOCUMENT_TABLE.c.document_type_id)
            .order_by(DOCUMENT_TABLE.c.id)
        )
        if register:
            query = query.where(TYPE_TABLE.c.code == register)
        with self.runtime.engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
        for row in rows:
            row["fields"] = json.loads(row["fields"]) if row["fields"] else {}
        return rows

    def receipts(self) -> list[dict[str, Any]]:
        """``ingest_receipt`` rows, oldest first."""
        with self.runtime.engine.connect() as connection:
            return [
                dict(row._mapping)
                for row in connection.execute(
                    select(RECEIPT_TABLE).order_by(RECEIPT_TABLE.c.event_seq)
                )
            ]

    def events(self, action: str | None = None) -> list[dict[str, Any]]:
        """Events of the office's chain (optionally of one action), payload parsed."""
        query = select(EVENT_TABLE).order_by(EVENT_TABLE.c.seq)
        if action:
            query = query.where(EVENT_TABLE.c.action == action)
        with self.runtime.engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows

    def count(self, table: Any) -> int:
        """Rows in ``table``."""
        with self.runtime.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def processed(self, register: str) -> list[Path]:
        """Originals filed from ``inbox/<register>/`` (receipts excluded)."""
        return [
            p
            for p in files_below(self.inbox.processed / register)
            if not p.name.endswith(".receipt.json")
        ]

    def quarantined(self, register: str) -> list[Path]:
        """Files refused from ``inbox/<register>/`` (notes excluded)."""
        return [
            p
            for p in files_below(self.inbox.quarantine / register)
            if not p.name.endswith(".error.txt")
        ]

    def error_note(self, path: Path) -> dict[str, str]:
        """The labelled lines of a quarantined file's ``.error.txt``."""
        note = path.with_name(path.name + ".error.txt")
        lines = {}
        for line in note.read_text(encoding="utf-8").splitlines():
            label, _, value = line.partition(":")
            if value and label in NOTE_LABELS:
                lines[label] = value.strip()
        lines["text"] = note.read_text(encoding="utf-8")
        return lines

    def claimed(self) -> list[Path]:
        """Whatever is left in ``.ingest/claimed/``."""
        return files_below(self.inbox.claimed)

    def check_sound(self) -> None:
        """The chain verifies; every revision's blob exists and hashes right; no claim is left."""
        with self.runtime.engine.connect() as connection:
            verify_chain(connection, self.office.office)
            shas = connection.execute(select(REVISION_TABLE.c.sha256)).scalars().all()
        for sha in shas:
            assert self.runtime.store.exists(sha), f"blob {sha} missing"
        result = verify_office(self.runtime, self.office.office, check_blobs=True)
        assert not result.problems, result.problems
        assert self.claimed() == []


@pytest.fixture(name="ingest_desk")
def ingest_desk_fixture(qms_office: TestOffice) -> Iterator[IngestDesk]:
    """An :class:`IngestDesk` on a fresh workspace with the ``ingest`` service user."""
    add_ingest_user(qms_office)
    yield IngestDesk(qms_office)


def draft_in_an_office_added_later(office: TestOffice) -> tuple[OfficeRef, str, Signer]:
    """PS-TEST2, added by `office add` (which enrols the inbox service there), where the
    service and Anita chose their own keys, and the service filed an SOP draft naming Anita,
    who has not signed for it yet: (the office, the draft's number, the service's signer)."""
    from qms_engine.people.offices import add_office
    from qms_engine.people.users import grant_roles

    runtime, admin = office.runtime, office.signers["admin"]
    add_ingest_user(office)
    second = add_office(
        runtime,
        actor=admin,
        from_office=office.office,
        code="PS-TEST2",
        name="थाना दूसरा",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )
    grant_roles(runtime, second, actor=admin, username="anita", roles=["author"])
    service = keys.unlock(runtime, INGEST_USER, TEST_PASSPHRASE)
    for user, signer in ((INGEST_USER, service), ("anita", office.signers["author"])):
        keys.rotate(runtime, second, actor=signer, username=user, new_passphrase=TEST_PASSPHRASE)
    desk = IngestDesk(office)
    folder = desk.context.inbox.root / second.code / "SOP-DRAFTS" / "anita"
    write_register_docx(folder / "beat.docx", "रात्रि गश्त", [], "Beat patrol after dark")
    (outcome,) = desk.run(folder)
    assert outcome.status == "filed", outcome
    return second, outcome.number or "", desk.signer
