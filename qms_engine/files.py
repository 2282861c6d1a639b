"""Checking a file before it becomes a revision: present, not empty, an allowed and genuine type.

The extension says what the clerk meant; the first bytes say what the file is.  A ``.docx`` that
is not a ZIP package, or a ``.pdf`` without a PDF header, is refused rather than filed as
something it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qms_engine.errors import RuleViolation

MEDIA_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".tif": ("image/tiff", (b"II*\x00", b"MM\x00*")),
    ".tiff": ("image/tiff", (b"II*\x00", b"MM\x00*")),
}


@dataclass(frozen=True)
class FileFacts:
    """What the engine learned about a file before storing it."""

    path: Path
    name: str
    extension: str
    media_type: str
    size: int


def inspect_file(path: Path, allowed_extensions: tuple[str, ...], type_title: str) -> FileFacts:
    """Refuse a missing, empty, disallowed or mislabelled file, naming it and what to do."""
    if not path.exists():
        raise RuleViolation(f"{path}: no such file")
    if not path.is_file():
        raise RuleViolation(f"{path}: not a regular file (a folder?)", hint="give the file itself")
    size = path.stat().st_size
    if size == 0:
        raise RuleViolation(
            f"{path.name}: the file is empty (0 bytes)", hint="save it again, then retry"
        )
    extension = path.suffix.lower()
    allowed = ", ".join(allowed_extensions)
    if extension not in allowed_extensions or extension not in MEDIA_TYPES:
        raise RuleViolation(
            f"{path.name}: {extension or 'no extension'} files are not accepted for {type_title}",
            hint=f"accepted: {allowed}",
        )
    media_type, signatures = MEDIA_TYPES[extension]
    with path.open("rb") as handle:
        head = handle.read(16)
    if not any(head.startswith(signature) for signature in signatures):
        raise RuleViolation(
            f"{path.name}: the content is not a real {extension} file (renamed or corrupt?)",
            hint=f"open it in the program that made it and save it as {extension} again",
        )
    return FileFacts(path, path.name, extension, media_type, size)
