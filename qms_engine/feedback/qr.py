"""The QR code a station hangs on its wall, leading citizens to its feedback form.

The address is ``qms.toml``'s ``feedback.url`` with ``{office}`` replaced by the office code
(:mod:`.settings`).  The code is a full QR code (never a Micro QR, which phones' cameras read
badly) at error-correction level Q or better, so a poster that is a little dirty or torn still
reads; made with segno, as PNG (for printing) or SVG (for a designer), from the file's suffix.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import segno

from qms_engine.errors import ConfigurationError, InvalidInput
from qms_engine.feedback.output import write_image
from qms_engine.feedback.settings import feedback_settings
from qms_engine.i18n import _
from qms_engine.runtime import Runtime

FORMATS = {".png": "png", ".svg": "svg"}
ERROR_LEVEL = "q"
"""Error correction: about a quarter of the code may be lost (segno raises it if it fits)."""
SCALE = 10
"""Pixels per module of a PNG (and units per module of an SVG)."""
BORDER = 4
"""The quiet zone around the code, in modules, as the QR standard asks."""


@dataclass(frozen=True)
class StationQr:
    """A QR code written for a station."""

    office: str
    url: str
    path: Path
    kind: str
    """``png`` or ``svg``."""
    version: int
    error: str
    """Error-correction level: ``Q`` or ``H``."""
    warnings: tuple[str, ...] = ()
    """What may be wrong with the configured address (no ``{office}`` in it)."""


def qr_code(url: str) -> segno.QRCode:
    """The QR code of ``url`` as this module makes it (a full QR code, level Q or better)."""
    return segno.make_qr(url, error=ERROR_LEVEL, boost_error=True)


def qr_image(code: segno.QRCode, kind: str) -> bytes:
    """``code`` as a PNG or SVG file's bytes."""
    out = io.BytesIO()
    code.save(out, kind=kind, scale=SCALE, border=BORDER)
    return out.getvalue()


def station_qr(runtime: Runtime, *, office: str | None, path: Path) -> StationQr:
    """Write the QR code of ``office``'s feedback form (default: the workspace's office) to
    ``path`` (``.png`` or ``.svg``)."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput(
            _("-o {path}: the QR code is written as PNG or SVG, from the file's suffix").format(
                path=path
            ),
            hint=_("give a name ending in .png (to print) or .svg (to design a poster)"),
        )
    code = runtime.office(office).code
    settings = feedback_settings(runtime.workspace)
    url = settings.form_url(code)
    try:
        made = qr_code(url)
    except segno.DataOverflowError:
        raise ConfigurationError(
            _(
                "{source}: feedback.url: the address for {code} is {count} "
                "characters, too long for a QR code"
            ).format(source=settings.source, code=code, count=len(url)),
            hint=_("give a shorter address in qms.toml (the form's short link, forms.gle/…)"),
        ) from None
    write_image(path, qr_image(made, kind), "-o")
    return StationQr(
        code,
        url,
        path,
        kind,
        int(made.version),
        str(made.error),
        tuple(settings.url_warnings()),
    )
