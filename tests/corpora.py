"""The real .docx files the ingestion tests read: one corpus in the repository, one beside it.

``tests/corpus/permissive/`` holds real files written by Microsoft Word (Windows and Mac) and
LibreOffice, copied unchanged from python-docx (MIT) and python-mammoth (BSD 2-Clause).  Its
``README.md`` names each file's origin, size and producer; ``LICENSES`` carries the notices.  A
fresh clone has it, so the tests that need real files never depend on anything outside it.

The extended corpus, ``../shared/corpus`` beside the checkout (``docx/`` with pandoc's files,
which are GPL and so never copied into the project, and ``odd/`` with a Word lock file), is
there in CI.  Tests over it are skipped, saying why, where it is missing.

Expectations are derived from the files themselves, never pinned to one machine's copy: a
package whose XML uses the ISO/IEC 29500 Strict namespaces is Strict OOXML (which the engine
refuses); a file that is not a ZIP package at all is not a document.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PERMISSIVE = HERE / "corpus" / "permissive"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"
EXTENDED_MISSING = "extended corpus ../shared/corpus/docx not present (CI has it)"
STRICT_NAMESPACE = b"http://purl.oclc.org/ooxml/"
MAX_PART_BYTES = 1 << 20  # the corpus's parts are small; bigger ones are not looked into


@dataclass(frozen=True)
class Corpus:
    """A named set of real files, sorted by name."""

    name: str
    files: tuple[Path, ...]

    @property
    def documents(self) -> list[Path]:
        """The files that are not Word lock files (``~$…``)."""
        return [path for path in self.files if not is_lock_file(path)]


def permissive() -> Corpus:
    """The corpus kept in the repository (its README.md and LICENSES are not documents)."""
    return Corpus("permissive", tuple(sorted(PERMISSIVE.glob("*.docx"))))


def extended() -> Corpus | None:
    """``../shared/corpus/docx`` and ``odd`` beside the checkout, or None where it is missing."""
    if not (SHARED / "docx").is_dir():
        return None
    files = [p for folder in ("docx", "odd") for p in (SHARED / folder).glob("*") if p.is_file()]
    return Corpus("extended", tuple(sorted(files, key=lambda path: path.name)))


def corpora() -> list[object]:
    """Parameters for a test run over each corpus: the extended one skips where it is missing."""
    found = extended()
    return [
        pytest.param(permissive(), id="permissive"),
        pytest.param(
            found,
            id="extended",
            marks=pytest.mark.skipif(found is None, reason=EXTENDED_MISSING),
        ),
    ]


def corpus_files() -> list[object]:
    """Parameters for a test run over each file of both corpora (extended: skipped if missing)."""
    params: list[object] = [
        pytest.param(path, id=f"permissive/{path.name}") for path in permissive().files
    ]
    found = extended()
    if found is None:
        params.append(pytest.param(None, id="extended", marks=pytest.mark.skip(EXTENDED_MISSING)))
    else:
        params += [pytest.param(path, id=f"extended/{path.name}") for path in found.files]
    return params


def extended_file(*parts: str) -> Path:
    """A file of the extended corpus (``docx``, name), skipping the test where it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.is_file():
        pytest.skip(EXTENDED_MISSING)
    return path


# ------------------------------------------------------------------------- what a file is


def is_lock_file(path: Path) -> bool:
    """Word's owner file beside an open document (``~$name.docx``)."""
    return path.name.startswith("~$")


def is_package(path: Path) -> bool:
    """Whether the file is a ZIP package at all."""
    return zipfile.is_zipfile(path)


def is_strict(path: Path) -> bool:
    """Whether the package's XML uses the ISO/IEC 29500 Strict namespaces (purl.oclc.org)."""
    with zipfile.ZipFile(path) as archive:
        return any(
            STRICT_NAMESPACE in archive.read(info)
            for info in archive.infolist()
            if info.filename.endswith((".xml", ".rels")) and info.file_size <= MAX_PART_BYTES
        )


def readable(path: Path) -> bool:
    """What the engine must read: a package in the usual (transitional) namespaces."""
    return is_package(path) and not is_strict(path)


def producer(path: Path) -> str:
    """``<Application>`` of ``docProps/app.xml`` without its build suffix, or why there is none.

    Spelled as the README's provenance table spells it: ``LibreOffice/3.5`` for
    ``LibreOffice/3.5$Linux_X86_64 …``, ``(app.xml without Application)``,
    ``(no docProps/app.xml)``.
    """
    with zipfile.ZipFile(path) as archive:
        if "docProps/app.xml" not in archive.namelist():
            return "(no docProps/app.xml)"
        found = re.search(rb"<(?:\w+:)?Application>([^<]*)<", archive.read("docProps/app.xml"))
    if found is None:
        return "(app.xml without Application)"
    return found.group(1).decode("utf-8").split("$")[0]


@dataclass(frozen=True)
class Listed:
    """One row of the permissive corpus's provenance table."""

    name: str
    repository: str
    size: int
    producer: str


def provenance() -> dict[str, Listed]:
    """The provenance table of ``tests/corpus/permissive/README.md``, by file name."""
    rows: dict[str, Listed] = {}
    text = (PERMISSIVE / "README.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`") and cells[4].isdigit():
            name = cells[0].strip("`")
            rows[name] = Listed(name, cells[1], int(cells[4]), cells[5])
    return rows


def word_lock_file(user: str) -> bytes:
    """The 162 bytes Word writes as ``~$name.docx`` while ``user`` has the document open.

    The user's name twice: as a length byte and ANSI text padded to 54 bytes, then as a 2-byte
    length and UTF-16LE text, zero-padded to 162 bytes (the layout of the real lock file in
    ``../shared/corpus/odd``, which a test compares when it is present).
    """
    ansi = user.encode("latin-1")
    wide = user.encode("utf-16-le")
    data = bytes([len(ansi)]) + ansi.ljust(53, b"\0") + len(user).to_bytes(2, "little") + wide
    return data.ljust(162, b"\0")
