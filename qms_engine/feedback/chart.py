"""The summary as a picture (PNG): per station, one bar per rating, labelled in Hindi and English.

Devanagari is not drawn letter by letter: "क्षेत्र" and "संतुष्टि" are conjuncts and vowel signs
that a shaping engine must compose (HarfBuzz, through libraqm).  Pillow's wheels carry both,
and its RAQM layout uses them; the BASIC layout (and matplotlib's Agg backend) would draw the
letters apart and the vowel signs in the wrong place.  So the chart refuses to draw without
RAQM rather than print Hindi wrongly.  The faces are the vendored Noto Sans Devanagari and
Noto Sans (``fonts/``, SIL Open Font License): the first has no Latin letters, so each run of
text is drawn with the face of its script.  Names and codes too long for their column are
shortened with an ellipsis; the ratings' bars are told apart by colour and, past six
ratings, by a pattern as well.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from importlib import resources
from itertools import groupby

from PIL import Image, ImageDraw, ImageFont, features

from qms_engine.errors import ConfigurationError
from qms_engine.feedback.summary import FeedbackSummary, StationSummary
from qms_engine.i18n import _

FONT_FILE = "NotoSansDevanagari-Regular.ttf"
LATIN_FONT_FILE = "NotoSans-Regular.ttf"
WIDTH = 1200
"""Pixels; the height grows with the stations."""
MARGIN = 40
TITLE_SIZE = 30
TEXT_SIZE = 20
BAR_HEIGHT = 24
BAR_GAP = 6
STATION_GAP = 28
LABEL_WIDTH = 360
"""The station names' column."""
VALUE_WIDTH = 70
"""Room right of the bars for the value."""
LEGEND_ROW = 34
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
"""Told apart by colour-blind readers too (Okabe and Ito)."""
PATTERNS = ("solid", "stripes", "band")
"""Drawn over the colour when the ratings outnumber the colours (white vertical stripes, a
white band across)."""
STYLES = tuple((colour, pattern) for pattern in PATTERNS for colour in COLOURS)
"""A rating's look: the n-th rating takes the n-th (18 ratings before one repeats)."""
TEXT = "#1a1a1a"
GRID = "#d0d0d0"
SCALE_MAX = 5


def _devanagari(char: str) -> bool:
    code = ord(char)
    return (
        0x0900 <= code <= 0x097F
        or 0xA8E0 <= code <= 0xA8FF
        or 0x1CD0 <= code <= 0x1CFF
        or code in (0x200C, 0x200D)  # zero-width (non-)joiner, inside a Devanagari word
    )


def check_shaping() -> None:
    """Refuse to draw when this Pillow cannot shape Devanagari (no libraqm)."""
    if not features.check("raqm"):
        raise ConfigurationError(
            _(
                "this Pillow has no libraqm, so it cannot join Hindi letters "
                "into conjuncts: the chart's Hindi labels would be drawn wrong"
            ),
            hint=_(
                "reinstall Pillow from its wheel (pip install --force-reinstall "
                "Pillow), which includes libraqm, or install the system's libraqm"
            ),
        )


@functools.cache
def devanagari_font(
    size: int, layout: ImageFont.Layout = ImageFont.Layout.RAQM
) -> ImageFont.FreeTypeFont:
    """The vendored Noto Sans Devanagari at ``size`` pixels, shaped by ``layout``."""
    return _vendored(FONT_FILE, size, layout)


@functools.cache
def latin_font(size: int) -> ImageFont.FreeTypeFont:
    """The vendored Noto Sans, for the English text, the digits and the punctuation (– ₹ “ ”)."""
    return _vendored(LATIN_FONT_FILE, size, ImageFont.Layout.RAQM)


def _vendored(file: str, size: int, layout: ImageFont.Layout) -> ImageFont.FreeTypeFont:
    data = (resources.files("qms_engine.feedback") / "fonts" / file).read_bytes()
    return ImageFont.truetype(io.BytesIO(data), size, layout_engine=layout)


def _runs(text: str, size: int) -> Iterator[tuple[str, ImageFont.FreeTypeFont]]:
    """``text`` cut into runs of one script, each with its face; a space stays with the run
    before it, so a Hindi phrase is shaped as one."""
    scripts: list[bool] = []
    for char in text:
        scripts.append(scripts[-1] if char == " " and scripts else _devanagari(char))
    position = 0
    for is_devanagari, run in groupby(scripts):
        length = len(list(run))
        font = devanagari_font(size) if is_devanagari else latin_font(size)
        yield text[position : position + length], font
        position += length


def text_width(text: str, size: int) -> float:
    """How wide ``text`` is drawn, every run shaped in its script's face."""
    return sum(font.getlength(run) for run, font in _runs(text, size))


def _draw_text(
    draw: ImageDraw.ImageDraw, x: float, y: float, text: str, size: int, fill: str = TEXT
) -> float:
    """Draw ``text`` with its top at ``y``, every run on one baseline; returns where it ends."""
    baseline = y + latin_font(size).getmetrics()[0]
    for run, font in _runs(text, size):
        draw.text((x, baseline), run, font=font, fill=fill, anchor="ls")
        x += font.getlength(run)
    return x


def _fitted(text: str, size: int, width: float) -> str:
    """``text``, shortened with an ellipsis to fit ``width``."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _station_height(ratings: int) -> int:
    return max(ratings * (BAR_HEIGHT + BAR_GAP), 3 * TEXT_SIZE + 12) + STATION_GAP


def _legend_label(summary: FeedbackSummary, rating: str) -> str:
    return _fitted(summary.labels[rating], TEXT_SIZE, WIDTH - 2 * MARGIN - 60)


def _legend_rows(summary: FeedbackSummary) -> list[list[str]]:
    rows: list[list[str]] = [[]]
    used = 0.0
    for rating in summary.ratings:
        width = 30 + text_width(_legend_label(summary, rating), TEXT_SIZE) + 30
        if rows[-1] and used + width > WIDTH - 2 * MARGIN:
            rows.append([])
            used = 0
        rows[-1].append(rating)
        used += width
    return rows


def chart_size(summary: FeedbackSummary) -> tuple[int, int]:
    """The picture's size in pixels: fixed width, a band per station."""
    top = MARGIN + 2 * (TITLE_SIZE + 12) + len(_legend_rows(summary)) * LEGEND_ROW + 10
    body = len(summary.stations) * _station_height(len(summary.ratings))
    return WIDTH, top + body + TEXT_SIZE // 2 + MARGIN


def draw_chart(summary: FeedbackSummary) -> bytes:
    """The summary as PNG bytes."""
    check_shaping()
    width, height = chart_size(summary)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    poor = f"{summary.labels[summary.poor_rating]} {summary.poor_at_most} or less"
    y: float = MARGIN
    _draw_text(draw, MARGIN, y, "Citizen feedback / नागरिक प्रतिक्रिया", TITLE_SIZE)
    y += TITLE_SIZE + 12
    _draw_text(
        draw,
        MARGIN,
        y,
        _("Average rating (1 to 5) per station, {period}; poor: {poor}").format(
            period=summary.period, poor=poor
        ),
        TEXT_SIZE,
        fill="#555555",
    )
    y += TITLE_SIZE + 12
    styles = {rating: STYLES[n % len(STYLES)] for n, rating in enumerate(summary.ratings)}
    for row in _legend_rows(summary):
        x: float = MARGIN
        for rating in row:
            _fill(draw, (x, y + 4, x + 18, y + 22), styles[rating])
            x = _draw_text(draw, x + 28, y, _legend_label(summary, rating), TEXT_SIZE) + 30
        y += LEGEND_ROW
    y += 10
    left = MARGIN + LABEL_WIDTH
    span = width - left - MARGIN - VALUE_WIDTH
    bottom = y + len(summary.stations) * _station_height(len(summary.ratings))
    for tick in range(SCALE_MAX + 1):
        x = left + span * tick / SCALE_MAX
        draw.line((x, y, x, bottom - STATION_GAP), fill=GRID)
        _draw_text(draw, x - 5, bottom - STATION_GAP + 6, str(tick), TEXT_SIZE, fill="#555555")
    for station in summary.stations:
        _draw_station(draw, station, summary, styles, y, left, span)
        y += _station_height(len(summary.ratings))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _draw_station(
    draw: ImageDraw.ImageDraw,
    station: StationSummary,
    summary: FeedbackSummary,
    styles: dict[str, tuple[str, str]],
    top: float,
    left: float,
    span: float,
) -> None:
    room = LABEL_WIDTH - 20
    plural = "" if station.responses == 1 else "s"
    counts = f"{station.responses} response{plural}, {station.poor_share:.0%} poor"
    for n, (text, fill) in enumerate(
        ((station.name, TEXT), (station.office, "#555555"), (counts, "#555555"))
    ):
        _draw_text(
            draw, MARGIN, top + n * (TEXT_SIZE + 6), _fitted(text, TEXT_SIZE, room), TEXT_SIZE, fill
        )
    if not station.responses:
        label = "no responses / कोई प्रतिक्रिया नहीं"
        box = (left + 1, top, left + 12 + text_width(label, TEXT_SIZE), top + TEXT_SIZE + 10)
        draw.rectangle(box, fill="white")  # the grid stays behind the label
        _draw_text(draw, left + 6, top, label, TEXT_SIZE)
        return
    for n, rating in enumerate(summary.ratings):
        y = top + n * (BAR_HEIGHT + BAR_GAP)
        value = station.averages.get(rating)
        if value is None:
            continue
        end = left + span * value / SCALE_MAX
        _fill(draw, (left, y, max(end, left + 1), y + BAR_HEIGHT), styles[rating])
        _draw_text(draw, end + 6, y, f"{value:.2f}", TEXT_SIZE)


def _fill(
    draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], style: tuple[str, str]
) -> None:
    """A bar or legend swatch in a rating's colour and pattern."""
    colour, pattern = style
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=colour)
    if pattern == "stripes":
        for x in range(int(x0) + 4, int(x1) - 1, 7):
            draw.rectangle((x, y0, x + 2, y1), fill="white")
    elif pattern == "band":
        middle = (y0 + y1) / 2
        draw.rectangle((x0, middle - 2, x1, middle + 2), fill="white")
