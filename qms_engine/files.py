"""Checking a file before it becomes a revision: present, not empty, an allowed and genuine type.

The extension says what the clerk meant; the first bytes say what the file is.  A ``.docx`` that
is not a ZIP package, or a ``.pdf`` without a PDF header, is refused rather than filed as
something it is not.  :func:`open_regular` is the one way a dropped file is opened: only a
regular file is ever read (a named pipe, a device or a link is refused before any read).
:func:`fsync_dir` is the engine's one way to make a file's new name durable once it is moved or
written (the inbox, its per-office layout, backups); ``document_store`` keeps its own, being
independent of the engine.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from qms_engine.errors import RuleViolation
from qms_engine.i18n import _

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
    ".txt": ("text/plain; charset=utf-8", ()),  # a register entry's typed text (UTF-8)
}
TEXT_MEDIA_TYPE = MEDIA_TYPES[".txt"][0]
MAX_TEXT_BYTES = 1024 * 1024
"""The largest text file (a typed register entry) accepted, read whole to check its UTF-8."""
HEAD_BYTES = 16
CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .doc, or encrypted OOXML
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")  # the stream an encrypted OOXML file has
CFB_SCAN_BYTES = 8 * 1024 * 1024
SAVE_AS_DOCX = (
    "save it as .docx (Word: File > Save As > Word Document (*.docx)), then drop it again"
)
REMOVE_PASSWORD = (
    "remove the password (Word: File > Info > Protect Document > Encrypt with Password, clear "
    "it; then File > Save As > Word Document (*.docx)) and drop it again"
)
# Word formats that are not .docx, and what each one is, for a clerk who dropped one.
WORD_KINDS = {
    ".doc": "an old Word 97-2003 document",
    ".docm": "a Word document with macros",
    ".dot": "an old Word 97-2003 template",
    ".dotx": "a Word template",
    ".dotm": "a Word template with macros",
    ".rtf": "a Rich Text document",
    ".odt": "an OpenDocument (LibreOffice) text document",
}


class NotRegularFile(OSError):
    """The path is a named pipe, a device, a socket, a folder or a link: never read."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "neither a file nor a folder"


def open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file, else raise :class:`NotRegularFile`.

    ``O_NONBLOCK`` so that opening a named pipe never waits for a writer, ``O_NOFOLLOW`` so a
    link is refused, and the kind is read from the open descriptor (``fstat``): what was checked
    is what is read.  The returned handle reads normally (blocking).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if path.is_symlink():
            raise NotRegularFile(
                f"{path.name}: not a regular file (it is a link to a file, not the file itself)"
            ) from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{path.name}: not a regular file (it is {_kind(mode)})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def fsync_dir(folder: Path) -> None:
    """Make the names in ``folder`` durable (an fsync of the files alone does not)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@dataclass(frozen=True)
class FileFacts:
    """What the engine learned about a file before storing it."""

    path: Path
    name: str
    extension: str
    media_type: str
    size: int


def _refuse_extension(name: str, extension: str, allowed: str, type_title: str) -> RuleViolation:
    kind = WORD_KINDS.get(extension)
    if kind is not None and ".docx" in allowed:
        return RuleViolation(
            _("{name}: this is {kind} ({extension}); {type_title} accepts {allowed}").format(
                name=name, kind=kind, extension=extension, type_title=type_title, allowed=allowed
            ),
            hint=_("open it in Word and {save_as_docx}").format(save_as_docx=SAVE_AS_DOCX),
        )
    return RuleViolation(
        _("{name}: {value} files are not accepted for {type_title}").format(
            name=name, value=extension or _("no extension"), type_title=type_title
        ),
        hint=_("accepted: {allowed}").format(allowed=allowed),
    )


def _is_encrypted_ooxml(handle: BinaryIO) -> bool:
    """An OLE2 compound file holding an ``EncryptionInfo`` stream: a password-protected
    .docx (Word wraps the encrypted package in a compound file)."""
    handle.seek(0)
    previous = b""
    while handle.tell() < CFB_SCAN_BYTES:
        chunk = handle.read(64 * 1024)
        if not chunk:
            return False
        if ENCRYPTION_INFO in previous[-len(ENCRYPTION_INFO) :] + chunk:
            return True
        previous = chunk
    return False


def check_content(name: str, extension: str, handle: BinaryIO, size: int) -> str:
    """The media type of the bytes in ``handle`` (a file named ``name``), or RuleViolation
    saying what the file really is and what to do."""
    if size == 0:
        raise RuleViolation(
            _("{name}: the file is empty (0 bytes)").format(name=name),
            hint=_("save it again, then retry"),
        )
    media_type, signatures = MEDIA_TYPES[extension]
    handle.seek(0)
    if media_type == TEXT_MEDIA_TYPE:
        return _utf8_text(name, handle, size)
    head = handle.read(HEAD_BYTES)
    if any(head.startswith(signature) for signature in signatures):
        return media_type
    if extension == ".docx" and head.startswith(CFB_SIGNATURE):
        if _is_encrypted_ooxml(handle):
            raise RuleViolation(
                _(
                    "{name}: the document is password-protected (encrypted), so it cannot be read"
                ).format(name=name),
                hint=REMOVE_PASSWORD,
            )
        raise RuleViolation(
            _("{name}: this is an old Word 97-2003 document (.doc) renamed to .docx").format(
                name=name
            ),
            hint=_("open it in Word and {save_as_docx}").format(save_as_docx=SAVE_AS_DOCX),
        )
    raise RuleViolation(
        _("{name}: the content is not a real {extension} file (renamed or corrupt?)").format(
            name=name, extension=extension
        ),
        hint=_("open it in the program that made it and save it as {extension} again").format(
            extension=extension
        ),
    )


def _utf8_text(name: str, handle: BinaryIO, size: int) -> str:
    """A text file is UTF-8 and small (a typed entry): it has no signature bytes to check."""
    if size > MAX_TEXT_BYTES:
        raise RuleViolation(
            _("{name}: a text file may hold at most {max_text_bytes} bytes").format(
                name=name, max_text_bytes=MAX_TEXT_BYTES
            )
        )
    try:
        handle.read().decode("utf-8")
    except UnicodeDecodeError:
        raise RuleViolation(
            _("{name}: the text is not UTF-8").format(name=name),
            hint=_("save it as UTF-8 text, then retry"),
        ) from None
    return TEXT_MEDIA_TYPE


def inspect_file(path: Path, allowed_extensions: tuple[str, ...], type_title: str) -> FileFacts:
    """Refuse a missing, empty, disallowed or mislabelled file, naming it and what to do."""
    if not path.exists() and not path.is_symlink():
        raise RuleViolation(_("{path}: no such file").format(path=path))
    extension = path.suffix.lower()
    allowed = ", ".join(allowed_extensions)
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise RuleViolation(
                    _("{name}: the file is empty (0 bytes)").format(name=path.name),
                    hint=_("save it again, then retry"),
                )
            if extension not in allowed_extensions or extension not in MEDIA_TYPES:
                raise _refuse_extension(path.name, extension, allowed, type_title)
            media_type = check_content(path.name, extension, handle, size)
    except NotRegularFile as exc:
        raise RuleViolation(str(exc), hint=_("give the file itself")) from None
    return FileFacts(path, path.name, extension, media_type, size)
