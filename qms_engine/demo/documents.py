"""The demo's documents: SOPs written as real .docx files and taken along their workflow, each
step said as it happens."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import docx

from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.documents.revisions import RevisionRef, create_document
from qms_engine.documents.transitions import take_transition
from qms_engine.runtime import Runtime


def write_sop(path: Path, title: str, paragraphs: Iterable[str]) -> Path:
    """A small SOP as a real .docx (python-docx), with the title in the core properties."""
    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


def draft_sop(
    runtime: Runtime,
    office: OfficeRef,
    say: Callable[[str], None],
    author: Signer,
    path: Path,
    title: str,
    paragraphs: Iterable[str],
) -> RevisionRef:
    """A new SOP drafted by ``author`` from a .docx written at ``path``, and said so."""
    sop = create_document(
        runtime,
        office,
        actor=author,
        type_code="SOP",
        title=title,
        path=write_sop(path, title, paragraphs),
    )
    say(f"{sop.number} rev {sop.revno} drafted by {author.username}: {title}")
    return sop


def step(
    runtime: Runtime,
    say: Callable[[str], None],
    number: str,
    transition: str,
    actor: Signer,
    comment: str = "",
) -> None:
    result = take_transition(
        runtime, number=number, transition=transition, actor=actor, comment=comment
    )
    said = (
        f"{number} rev {result.revno}: {transition} by {actor.username} ({result.from_state} → "
        f"{result.to_state})"
    )
    if comment:
        said += f" — “{comment}”"
    say(said)
    for old in result.superseded:
        say(f"{number} rev {old}: superseded by rev {result.revno}")
