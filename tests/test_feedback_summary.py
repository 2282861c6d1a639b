"""`qms feedback summary`: per-station counts, averages and poor shares for the SP office's
review, over the station's calendar days, never showing anything personal; and its chart,
whose Hindi labels are shaped (conjuncts joined), not drawn letter by letter."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageFont, features

from qms_engine.feedback.chart import chart_size, devanagari_font, draw_chart, text_width
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
