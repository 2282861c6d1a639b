"""`qms feedback qr`: the station's QR code holds its form's address, as PNG and as SVG.

No QR decoder is installed, so the PNG's pixels are read back module by module and compared
with the QR matrix segno makes for the address expected; the SVG is compared with segno's own
SVG of that address.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from xml.etree import ElementTree

import segno
from PIL import Image

from qms_engine.testing import TestOffice
from tests.test_cli import invoke, run

URL = "https://forms.example/balodabazar?station={office}"
EXPECTED = "https://forms.example/balodabazar?station=PS-TEST1"


def configure(office: TestOffice, url: str = URL) -> None:
    """Add the form's address to the workspace's qms.toml."""
    config = office.root / "qms.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + f'\n[feedback]\nurl = "{url}"\n', encoding="utf-8"
    )


def modules(png: Path, scale: int = 10, border: int = 4) -> list[list[int]]:
    """The dark (1) and light (0) modules of a QR code image, read at each module's centre."""
    image = Image.open(png).convert("L")
    pixels = image.tobytes()  # one byte per pixel, row by row
    count = image.width // scale
    centre = [n * scale + scale // 2 for n in range(border, count - border)]
    return [[int(pixels[y * image.width + x] < 128) for x in centre] for y in centre]


def test_the_png_holds_the_stations_form_address(qms_office: TestOffice, tmp_path: Path) -> None:
    """The PNG, read back pixel by pixel, is the QR matrix of the form's address with the
    office code in it; --json says what was made."""
    configure(qms_office)
    target = tmp_path / "qr.png"
    made = json.loads(
        invoke(
            "-w", qms_office.root, "feedback", "qr", "--office", "PS-TEST1", "-o", target, "--json"
        )
    )
    assert made["url"] == EXPECTED and made["kind"] == "png" and made["error"] in ("Q", "H")
    expected = segno.make_qr(EXPECTED, error=made["error"], boost_error=False)
    assert modules(target) == [list(row) for row in expected.matrix]
    assert Image.open(target).size == expected.symbol_size(scale=10, border=4)


def test_the_svg_is_segnos_svg_of_the_address(qms_office: TestOffice, tmp_path: Path) -> None:
    """The SVG is exactly what segno writes for the expected address, and is an SVG image."""
    configure(qms_office)
    target = tmp_path / "poster.svg"
    out = invoke("-w", qms_office.root, "feedback", "qr", "-o", target)
    assert f"for PS-TEST1 → {EXPECTED}" in out
    expected = io.BytesIO()
    segno.make_qr(EXPECTED, error="q").save(expected, kind="svg", scale=10, border=4)
    assert target.read_bytes() == expected.getvalue()
    assert ElementTree.fromstring(target.read_bytes()).tag == "{http://www.w3.org/2000/svg}svg"


def test_no_address_configured_exits_2_saying_what_to_add(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Without [feedback] url in qms.toml the command exits 2, naming the file and showing
    the line to add; no image is written."""
    target = tmp_path / "qr.png"
    refused = run("-w", qms_office.root, "feedback", "qr", "-o", target)
    assert refused.returncode == 2, refused.stderr
    assert "qms.toml: no feedback.url" in refused.stderr
    assert '[feedback]  url = "https://' in refused.stderr
    assert not target.exists()


def test_a_bad_output_name_or_office_is_refused(qms_office: TestOffice, tmp_path: Path) -> None:
    """A .jpg name and a missing folder exit 2, an unknown office 3; nothing is written."""
    configure(qms_office)
    jpg = run("-w", qms_office.root, "feedback", "qr", "-o", tmp_path / "qr.jpg")
    assert jpg.returncode == 2 and "PNG or SVG" in jpg.stderr
    nowhere = run("-w", qms_office.root, "feedback", "qr", "-o", tmp_path / "no" / "qr.png")
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr
    unknown = run(
        "-w", qms_office.root, "feedback", "qr", "--office", "PS-NONE", "-o", tmp_path / "q.png"
    )
    assert unknown.returncode == 3 and "no office 'PS-NONE'" in unknown.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "ws"]


def test_an_address_too_long_for_a_qr_code_exits_2(qms_office: TestOffice, tmp_path: Path) -> None:
    """A 3,000-character address fits no QR code: exit 2 naming qms.toml's feedback.url and
    its length, no traceback, no image."""
    configure(qms_office, "https://forms.example/" + "a" * 3000 + "?station={office}")
    target = tmp_path / "qr.png"
    refused = run("-w", qms_office.root, "feedback", "qr", "-o", target)
    assert refused.returncode == 2, refused.stderr
    assert "qms.toml: feedback.url: the address for PS-TEST1 is 3039 characters" in refused.stderr
    assert "Traceback" not in refused.stderr and not target.exists()


def test_a_bad_template_exits_2_and_no_office_is_warned(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """{office:x} in feedback.url exits 2 naming the key; an address without {office} makes
    the code but warns that every station's code is the same."""
    configure(qms_office, "https://forms.example/f?station={office:x}")
    refused = run("-w", qms_office.root, "feedback", "qr", "-o", tmp_path / "qr.png")
    assert refused.returncode == 2 and "feedback.url may use only {office}" in refused.stderr
    config = qms_office.root / "qms.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("?station={office:x}", ""), encoding="utf-8"
    )
    made = run("-w", qms_office.root, "feedback", "qr", "-o", tmp_path / "qr.png")
    assert made.returncode == 0, made.stderr
    assert "Warning:" in made.stderr and "feedback.url has no {office}" in made.stderr
