"""The chart pictures: the virtual patient's tone on the Modified Ashworth 0–4 scale like the
recorded grades."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from web_support import signed_in

from thecal.service.results import Chart, Point, PumpHeader, Series
from thecal.web.clinic import chart_figures

PATIENT = "3"


def _y_labels(svg: str) -> list[str]:
    return re.findall(r'<text x="\d+" y="[0-9.]+" text-anchor="end">([^<]+)</text>', svg)


def test_tone_chart_uses_the_mas_scale() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    tone = Series("expected tone", "MAS", tuple(Point(at + timedelta(hours=h), 0.5 + h / 200)
                                                for h in range(0, 100, 2)))
    header = PumpHeader("1", "A B", None, "stroke", "pump", "cath", "baclofen", 500.0, 300.0,
                        10.0, 20.0, 2.0, None, None, None, "", ())
    figures = chart_figures(Chart(header, (), tone=tone, mas=tone))
    tone_svg, mas_svg = str(figures["tone_svg"]), str(figures["mas_svg"])
    assert _y_labels(tone_svg) == _y_labels(mas_svg)
    assert _y_labels(tone_svg)[0] == "0" and _y_labels(tone_svg)[-1] == "4"
    assert "Modified Ashworth" in tone_svg


def test_chart_page_tone_on_the_mas_scale(client: TestClient) -> None:
    signed_in(client, "demo-nurse")
    html = client.get(f"/clinic/patients/{PATIENT}").text
    svg = re.search(r'<svg[^>]*aria-label="Expected muscle tone[^"]*".*?</svg>', html, re.S)
    assert svg, "the chart shows the virtual patient's tone"
    labels = _y_labels(svg[0])
    assert labels[0] == "0" and labels[-1] == "4"
