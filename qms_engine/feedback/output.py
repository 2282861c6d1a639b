"""Writing a QR code or a chart to the file named with ``-o`` / ``--chart``: whole or not at all.

The image is made in memory, written beside the target under a temporary name and renamed over
it, so an interrupted write never leaves half a picture for the station's printer.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from qms_engine.errors import InvalidInput
from qms_engine.i18n import _


def write_image(target: Path, data: bytes, option: str) -> None:
    """Put ``data`` at ``target`` (replacing an ordinary file there); ``option`` is how the
    user named it (``-o``, ``--chart``) for the error messages."""
    if target.is_dir():
        raise InvalidInput(
            _("{option} {target}: is a folder").format(option=option, target=target),
            hint=_("give a file name"),
        )
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise InvalidInput(
            _("{option} {target}: is not a regular file").format(option=option, target=target),
            hint=_("give a new name"),
        )
    if not target.parent.is_dir():  # never make folders the user did not ask for
        raise InvalidInput(
            _("{option} {target}: the folder {parent} does not exist").format(
                option=option, target=target, parent=target.parent
            ),
            hint=_("give a folder that exists, or make it"),
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
        raise InvalidInput(
            _("{option} {target}: cannot write there: {strerror}").format(
                option=option, target=target, strerror=exc.strerror
            )
        ) from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
