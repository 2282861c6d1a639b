"""Evidence files of nonconformities and actions: checked, stored write-once, named by the event.

A photograph, a scan or a document given as evidence is checked like a revision's file (present,
not empty, a genuine PDF, image or .docx), staged in the blob store before the transaction, and
published just before its commit; the signed event names each file by SHA-256, size, type and
name.  A failure anywhere leaves no blob behind that nothing names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import select

from document_store import BlobInfo, StagedBlob
from qms_engine.capa.records import StoredFile
from qms_engine.chain.unit_of_work import UnitOfWork
from qms_engine.files import MEDIA_TYPES, FileFacts, inspect_file
from qms_engine.runtime import Runtime
from qms_engine.storage.models import EVENT_TABLE

EVIDENCE_EXTENSIONS = tuple(MEDIA_TYPES)
"""What evidence may be: a PDF or .docx, or a photograph or scan (JPEG, PNG, TIFF)."""


def check_evidence(paths: Sequence[Path]) -> list[FileFacts]:
    """Every evidence file checked before anything is stored; the first bad one refused,
    naming it."""
    return [inspect_file(Path(path), EVIDENCE_EXTENSIONS, "evidence") for path in paths]


@dataclass(frozen=True)
class StagedEvidence:
    """Evidence staged in the blob store, not yet visible: :meth:`publish` it in the unit of
    work that writes the event naming :attr:`files`."""

    files: list[StoredFile]
    blobs: list[StagedBlob]
    runtime: Runtime

    def publish(self, work: UnitOfWork) -> None:
        """Make the files visible just before ``work`` commits (undone if the commit fails)."""
        for blob in self.blobs:
            work.before_commit(blob.commit, undo=partial(forget_evidence, self.runtime))


@contextmanager
def staged_evidence(runtime: Runtime, facts: Sequence[FileFacts]) -> Iterator[StagedEvidence]:
    """Stage each checked file in the blob store for the length of the block."""
    with ExitStack() as stack:
        blobs = [
            stack.enter_context(runtime.store.stage(stack.enter_context(fact.path.open("rb"))))
            for fact in facts
        ]
        files = [
            StoredFile(blob.sha256, fact.size, fact.media_type, fact.name)
            for blob, fact in zip(blobs, facts, strict=True)
        ]
        yield StagedEvidence(files, blobs, runtime)


def forget_evidence(runtime: Runtime, published: BlobInfo) -> None:
    """Undo publishing an evidence file whose transaction failed: unless it existed before, or
    a committed event names it meanwhile, it goes."""
    if not published.created:
        return
    with runtime.engine.connect() as connection:
        named = connection.execute(
            select(EVENT_TABLE.c.seq)
            .where(EVENT_TABLE.c.payload.contains(published.sha256, autoescape=True))
            .limit(1)
        ).first()
    if named is None:
        runtime.store.remove(published.sha256)
