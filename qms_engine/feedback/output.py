"""Writing a QR code or a chart to the file named with ``-o`` / ``--chart``: whole or not at all.

The image is made in memory, written beside the target under a temporary name and renamed over
it, so an interrupted write never leaves half a picture for the station's printer.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from qms_engine.errors import InvalidInput


def write_image(target: Path, data: bytes, option: str) -> None:
    """Put ``data`` at ``target`` (replacing an ordinary file there); ``option`` is how the
    user named it (``-o``, ``--chart``) for the error messages."""
    if target.is_dir():
        raise InvalidInput(f"{option} {target}: is a folder", hint="give a file name")
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise InvalidInput(f"{option} {target}: is not a regular file", hint="give a new name")
    if not target.parent.is_dir():  # never make folders the user did not ask for
        raise InvalidInput(
            f"{option} {target}: the folder {target.parent} does not exist",
            hint="give a folder that exists, or make it",
        )
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    try:
        with temp.open("xb") as out:  # made as any new file is (the umask's permissions)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise InvalidInput(f"{option} {target}: cannot write there: {exc.strerror}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
