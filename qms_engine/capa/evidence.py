"""Evidence files of nonconformities and actions: checked, stored write-once, named by the event,
and handed out again exactly (``qms nc evidence``).

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
from string import hexdigits
from typing import BinaryIO

from sqlalchemy import Connection, select

from document_store import BlobInfo, StagedBlob
from qms_engine.capa.records import StoredFile, actions_of, load_nc
from qms_engine.chain.unit_of_work import UnitOfWork
from qms_engine.documents.handout import check_destination, stream_verified, write_verified
from qms_engine.errors import InvalidInput, NotFound
from qms_engine.files import MEDIA_TYPES, FileFacts, inspect_file
from qms_engine.i18n import _
from qms_engine.runtime import Runtime
from qms_engine.storage.models import EVENT_TABLE

EVIDENCE_EXTENSIONS = tuple(MEDIA_TYPES)
"""What evidence may be: a PDF or .docx, or a photograph or scan (JPEG, PNG, TIFF)."""


def _checked(path: Path) -> FileFacts:
    """One evidence file: a file not there is not found (exit 3), one that cannot be read is
    bad input (exit 2), each named; then checked as a revision's file is."""
    if not path.exists() and not path.is_symlink():
        raise NotFound(
            _("evidence file {path}: no such file").format(path=path),
            hint=_("check the path after --evidence"),
        )
    try:
        return inspect_file(path, EVIDENCE_EXTENSIONS, "evidence")
    except OSError as exc:
        raise InvalidInput(
            _("evidence file {path}: cannot be read ({strerror})").format(
                path=path, strerror=exc.strerror
            ),
            hint=_("give a file you may read, or copy it somewhere you can"),
        ) from None


def check_evidence(paths: Sequence[Path]) -> list[FileFacts]:
    """Every evidence file checked before anything is stored; the first bad one refused,
    naming it."""
    return [_checked(Path(path)) for path in paths]


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
    """Stage each checked file in the blob store for the length of the block; the same
    content given twice (one file named twice, or a copy) is kept once, under its first name."""
    with ExitStack() as stack:
        blobs = [
            stack.enter_context(runtime.store.stage(stack.enter_context(fact.path.open("rb"))))
            for fact in facts
        ]
        kept: dict[str, tuple[StoredFile, StagedBlob]] = {}
        for blob, fact in zip(blobs, facts, strict=True):  # the same content twice: kept once
            stored = StoredFile(blob.sha256, fact.size, fact.media_type, fact.name)
            kept.setdefault(blob.sha256, (stored, blob))
        files = [stored for stored, _blob in kept.values()]
        yield StagedEvidence(files, [blob for _stored, blob in kept.values()], runtime)


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


# --- handing evidence out ----------------------------------------------------------------------

MIN_SHA_PREFIX = 6
"""Hex digits of a SHA-256 that ``--name`` needs to be taken for one (as ``qms doc get``)."""


@dataclass(frozen=True)
class HandedEvidence:
    """An evidence file handed out: whose it is (the NC's number, or its action ``NC#A1``) and
    the file as the signed event names it."""

    owner: str
    file: StoredFile


def _named(owner: str, files: Sequence[StoredFile], name: str | None) -> StoredFile:
    """The file of ``files`` called ``name`` (its file name, in any letter case, or the start
    of its SHA-256); with no name, the only one."""
    listed = ", ".join(f"{f.original_filename} ({f.sha256[:12]})" for f in files)
    if not files:
        raise NotFound(
            _("{owner} has no evidence files").format(owner=owner),
            hint=_("`qms nc show {owner}` lists them").format(owner=owner),
        )
    if name is None:
        if len(files) == 1:
            return files[0]
        raise InvalidInput(
            _("{owner} has {count} evidence files: {listed}").format(
                owner=owner, count=len(files), listed=listed
            ),
            hint=_("say which: --name FILE_NAME"),
        )
    wanted = name.strip()
    digits = wanted.lower()
    found = [f for f in files if f.original_filename == wanted] or [
        f for f in files if f.original_filename.casefold() == wanted.casefold()
    ]
    if not found and len(digits) >= MIN_SHA_PREFIX and all(c in hexdigits for c in digits):
        found = [f for f in files if f.sha256.startswith(digits)]
    if not found:
        raise NotFound(
            _("{owner} has no evidence file {name} (its files: {listed})").format(
                owner=owner, name=repr(name), listed=listed
            )
        )
    if len(found) > 1:
        raise InvalidInput(
            _("{owner} has more than one evidence file called {name}: {listed}").format(
                owner=owner, name=repr(name), listed=listed
            ),
            hint="give the start of its SHA-256 instead: --name " + found[0].sha256[:12],
        )
    return found[0]


def find_evidence(
    connection: Connection, *, number: str, action: int | None = None, name: str | None = None
) -> HandedEvidence:
    """The evidence file ``name`` of NC ``number``, or of its action ``action`` (its n: 1 for
    A1): see :func:`_named`."""
    nc = load_nc(connection, number)
    if action is None:
        return HandedEvidence(nc.number, _named(nc.number, nc.evidence, name))
    actions = {row.n: row for row in actions_of(connection, nc)}
    if action not in actions:
        known = ", ".join(f"A{n}" for n in actions) or _("none yet")
        raise NotFound(
            _("{number} has no action A{action} (its actions: {known})").format(
                number=nc.number, action=action, known=known
            ),
            hint=_("qms nc show {number}").format(number=nc.number),
        )
    found = actions[action]
    return HandedEvidence(found.subject, _named(found.subject, found.evidence, name))


def _what(handed: HandedEvidence) -> str:
    return _("{owner}: evidence file {original_filename}").format(
        owner=handed.owner, original_filename=handed.file.original_filename
    )


def export_evidence(
    runtime: Runtime,
    *,
    number: str,
    destination: Path,
    action: int | None = None,
    name: str | None = None,
    force: bool = False,
) -> HandedEvidence:
    """Write an NC's (or its action's) evidence file to ``destination``, its SHA-256 checked on
    the way (:func:`~qms_engine.documents.handout.write_verified`): a new file unless
    ``force``."""
    check_destination(destination, force)
    with runtime.engine.connect() as connection:
        handed = find_evidence(connection, number=number, action=action, name=name)
    write_verified(runtime, handed.file.sha256, _what(handed), destination, force=force)
    return handed


def stream_evidence(
    runtime: Runtime,
    *,
    number: str,
    out: BinaryIO,
    action: int | None = None,
    name: str | None = None,
) -> HandedEvidence:
    """As :func:`export_evidence`, to a stream (``-o -``): written only once verified."""
    with runtime.engine.connect() as connection:
        handed = find_evidence(connection, number=number, action=action, name=name)
    stream_verified(runtime, handed.file.sha256, _what(handed), out)
    return handed
