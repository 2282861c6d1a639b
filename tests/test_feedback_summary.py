"""`qms feedback summary`: per-station counts, averages and poor shares for the SP office's
review, over the station's calendar days, never showing anything personal; and its chart,
whose Hindi labels are shaped (conjuncts joined), not drawn letter by letter."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageColor, ImageFont, features

from qms_engine.feedback.chart import (
    BAR_GAP,
    BAR_HEIGHT,
    GRID,
    LABEL_WIDTH,
    MARGIN,
    STYLES,
    TEXT_SIZE,
    VALUE_WIDTH,
    chart_size,
    devanagari_font,
    draw_chart,
    latin_font,
    text_width,
)
from qms_engine.feedback.summary import FeedbackSummary, StationSummary, feedback_summary
from qms_engine.testing import TestOffice
from tests.test_cli import run
from tests.test_feedback_forms import response, write_csv
from tests.test_feedback_import import GOOD, POOR, STATION, importing, qms
from tests.test_feedback_qr import configure

needs_raqm = pytest.mark.skipif(
    not features.check("raqm"), reason="this Pillow has no libraqm: Devanagari is not shaped"
)


@pytest.fixture
def november(qms_office: TestOffice, tmp_path: Path) -> TestOffice:
    """Four November responses (two poor, one with a name, mobile and a number in its
    comment) and one just after midnight of 1 December, local time."""
    rows = [
        response("03/11/2025 10:00:00", STATION, GOOD, "धन्यवाद", "सीता देवी", "9123456789"),
        response("04/11/2025 10:00:00", STATION, ("4", "3", "3", "4"), ""),
        response("05/11/2025 10:00:00", STATION, POOR, "call 9876543210"),
        response("30/11/2025 23:59:00", STATION, POOR, "देरी"),
        response("01/12/2025 00:30:00", STATION, GOOD, ""),
    ]
    importing(qms_office, write_csv(tmp_path / "november.csv", rows))
    return qms_office


def test_counts_averages_and_poor_share_per_station(november: TestOffice) -> None:
    """November: four responses, the mean of each rating, two poor (50 %), and the NCs they
    raised (one per week); the response 30 minutes into 1 December (IST) is December's, though it is
    still 30 November in UTC."""
    shown = qms(
        "-w",
        november.root,
        "feedback",
        "summary",
        "--since",
        "2025-11-01",
        "--until",
        "2025-11-30",
        "--json",
    )
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.stdout)
    (station,) = summary["stations"]
    assert station["office"] == "PS-TEST1" and station["name"] == STATION
    assert station["responses"] == 4
    assert station["averages"] == {
        "behaviour": 3.25,
        "action_taken": 2.25,
        "timeliness": 2.75,
        "overall": 2.75,
    }
    assert (station["poor"], station["poor_share"], len(station["ncs"])) == (2, 0.5, 2)
    assert summary["labels"]["overall"] == "Overall satisfaction / संतुष्टि"
    december = feedback_summary(november.runtime, since=date(2025, 12, 1))
    assert december.stations[0].responses == 1


def test_nothing_personal_is_shown(november: TestOffice) -> None:
    """Neither the table nor the JSON holds a name, a phone number or a comment."""
    table = qms("-w", november.root, "feedback", "summary").stdout
    as_json = qms("-w", november.root, "feedback", "summary", "--json").stdout
    assert "PS-TEST1" in table and "Overall" in table
    for personal in ("सीता", "9123456789", "9876543210", "धन्यवाद", "देरी", "number removed"):
        assert personal not in table and personal not in as_json


def test_the_chart_is_a_png_of_the_summary(november: TestOffice, tmp_path: Path) -> None:
    """--chart writes a PNG of the computed size; a summary of more stations is taller."""
    target = tmp_path / "review.png"
    shown = qms("-w", november.root, "feedback", "summary", "--chart", target)
    assert shown.exit_code == 0, shown.output
    assert f"Chart: {target}" in shown.stdout
    summary = feedback_summary(november.runtime)
    with Image.open(target) as image:
        assert (image.format, image.size) == ("PNG", chart_size(summary))
    assert chart_size(summary)[0] == 1200
    two = FeedbackSummary(
        None,
        None,
        summary.ratings,
        summary.labels,
        "overall",
        2,
        (*summary.stations, StationSummary("PS-X", "क्षेत्र", 0, {}, 0, 0.0, ())),
    )
    assert chart_size(two)[1] > chart_size(summary)[1]
    assert draw_chart(two).startswith(b"\x89PNG\r\n\x1a\n")


@needs_raqm
def test_devanagari_conjuncts_are_shaped() -> None:
    """With RAQM (HarfBuzz) the vendored font joins क्षेत्र and संतुष्टि into conjuncts: the
    shaped words are narrower and drawn differently than the letters set one by one (the
    BASIC layout, as matplotlib would); the chart measures text with the shaped layout."""
    for word in ("क्षेत्र", "संतुष्टि"):
        shaped = devanagari_font(40)
        unshaped = devanagari_font(40, ImageFont.Layout.BASIC)
        assert shaped.getlength(word) < unshaped.getlength(word)
        assert bytes(shaped.getmask(word)) != bytes(unshaped.getmask(word))
        assert text_width(word, 40) == shaped.getlength(word)


def test_bad_summary_requests_are_refused(qms_office: TestOffice, tmp_path: Path) -> None:
    """A chart that is no PNG and a period ending before it starts exit 2; an unknown office
    exits 3."""
    configure(qms_office)
    jpg = run("-w", qms_office.root, "feedback", "summary", "--chart", tmp_path / "c.jpg")
    assert jpg.returncode == 2 and "the chart is a PNG" in jpg.stderr
    backwards = run(
        "-w",
        qms_office.root,
        "feedback",
        "summary",
        "--since",
        "2025-12-01",
        "--until",
        "2025-11-01",
    )
    assert backwards.returncode == 2 and "is after its end" in backwards.stderr
    unknown = run("-w", qms_office.root, "feedback", "summary", "--office", "PS-NONE")
    assert unknown.returncode == 3 and "no office 'PS-NONE'" in unknown.stderr


def _summary(stations: tuple[StationSummary, ...], ratings: tuple[str, ...]) -> FeedbackSummary:
    labels = {rating: rating.capitalize() for rating in ratings}
    return FeedbackSummary(None, None, ratings, labels, ratings[-1], 2, stations)


def test_the_latin_face_has_the_glyphs_the_chart_draws() -> None:
    """Dashes, the rupee sign, curly quotes and the ellipsis are drawn with the vendored Noto
    Sans, not as the missing-glyph box."""
    missing = bytes(latin_font(20).getmask("\ue000"))  # a private-use character: no glyph
    for char in "–—₹“”‘’…":
        assert bytes(latin_font(20).getmask(char)) != missing, char


def test_long_codes_and_names_stay_in_their_column(tmp_path: Path) -> None:
    """A station's name, code and counts too wide for the label column are shortened: the
    strip between the column and the bars stays white."""
    station = StationSummary(
        "PS-" + "W" * 40,
        "पुलिस थाना कोतवाली नगर क्षेत्र " * 3,
        123_456_789,
        {"overall": 3.0},
        1,
        0.5,
        (),
    )
    top = _band_top(("overall",))
    with Image.open(io.BytesIO(draw_chart(_summary((station,), ("overall",))))) as image:
        gap = image.convert("RGB").crop(
            (MARGIN + LABEL_WIDTH - 18, top, MARGIN + LABEL_WIDTH - 2, top + 3 * (TEXT_SIZE + 6))
        )
        assert gap.getcolors() == [(gap.width * gap.height, (255, 255, 255))]


def test_more_ratings_than_colours_are_told_apart() -> None:
    """Past six ratings a pattern is added: eighteen ratings get eighteen looks, and the
    seventh rating's bar is drawn unlike the first's (same colour, striped)."""
    assert len(set(STYLES)) == 18 and STYLES[6][0] == STYLES[0][0] != STYLES[1][0]
    ratings = tuple(f"r{n}" for n in range(1, 8))
    station = StationSummary("PS-X", "X", 5, dict.fromkeys(ratings, 4.0), 0, 0.0, ())
    with Image.open(io.BytesIO(draw_chart(_summary((station,), ratings)))) as image:
        rgb = image.convert("RGB")
        top = _band_top(ratings)
        left = MARGIN + LABEL_WIDTH

        def bar(n: int) -> bytes:
            y = top + n * (BAR_HEIGHT + BAR_GAP)
            return rgb.crop((left + 2, y + 2, left + 200, y + BAR_HEIGHT - 2)).tobytes()

        assert bar(6) != bar(0)
        assert len(set(bar(6))) > len(set(bar(0)))  # white stripes over the colour


def test_the_grid_stays_behind_the_no_responses_label() -> None:
    """A station without responses is labelled across the grid: no grid line crosses the
    label."""
    empty = StationSummary("PS-X", "X", 0, {}, 0, 0.0, ())
    top = _band_top(("overall",))
    grid = ImageColor.getrgb(GRID)
    with Image.open(io.BytesIO(draw_chart(_summary((empty,), ("overall",))))) as image:
        rgb = image.convert("RGB")
        span = image.width - MARGIN - LABEL_WIDTH - MARGIN - VALUE_WIDTH
        crossed = [
            rgb.getpixel((round(MARGIN + LABEL_WIDTH + span * tick / 5), y)) == grid
            for tick in (1, 2)  # under "no responses / कोई …"
            for y in range(top, top + TEXT_SIZE + 8)
        ]
        assert crossed.count(True) < 3  # a grid line would be ~56 pixels
        below = round(MARGIN + LABEL_WIDTH + span / 5), top + TEXT_SIZE + 20
        assert rgb.getpixel(below) == grid  # the grid is there, below the label


def _band_top(ratings: tuple[str, ...]) -> int:
    """Where the first station's band starts (the chart of no stations ends there)."""
    return chart_size(_summary((), ratings))[1] - TEXT_SIZE // 2 - MARGIN
