"""The refill's suggested volume on the "Volume added" step, and the virtual patient's tone on
the Modified Ashworth 0–4 scale like the recorded grades."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from web_support import csrf_of, signed_in

from thecal.service.results import Chart, Point, PumpHeader, Series
from thecal.web.clinic import chart_figures

PATIENT = "3"


def _y_labels(svg: str) -> list[str]:
    return re.findall(r'<text x="\d+" y="[0-9.]+" text-anchor="end">([^<]+)</text>', svg)


def test_drug_step_suggests_filling_to_capacity(client: TestClient) -> None:
    signed_in(client, "demo-nurse")
    page = client.get(f"/clinic/patients/{PATIENT}/refill").text
    token = csrf_of(client, f"/clinic/patients/{PATIENT}/refill")
    expected = float(re.search(r'data-testid="expected-residual">([0-9.]+) mL', page)[1])  # type: ignore[index]
    withdrawn = round(expected, 1)
    drug = client.post(f"/clinic/patients/{PATIENT}/refill", data={
        "csrf_token": token, "step": "residual", "withdrawn": f"{withdrawn:g} mL"}).text
    capacity = float(re.search(r"Reservoir capacity: ([0-9.]+) mL", drug)[1])  # type: ignore[index]
    note = re.search(r'data-testid="suggested-added">Suggested: <strong>([0-9.]+) mL</strong>'
                     r"([^<]*)", drug)
    assert note, "the drug step offers a suggested volume"
    suggested = float(note[1])
    remaining = max(0.0, expected - withdrawn)
    assert suggested <= capacity
    assert abs(suggested - (capacity - remaining)) <= 0.1 + 1e-9
    assert "never more than the capacity" in note[2]
    # filled in, and the person can change it
    value = re.search(r'id="added" name="added" value="([^"]*)"', drug)
    assert value and value[1] == f"{suggested:g} mL"
    again = client.post(f"/clinic/patients/{PATIENT}/refill", data={
        "csrf_token": token, "step": "drug", "goto": "drug",
        "withdrawn": f"{withdrawn:g} mL", "added": "7 mL",
        "concentration": "500 mcg/mL"}).text
    assert 'name="added" value="7 mL"' in again


def test_tone_chart_uses_the_ashworth_scale() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    tone = Series("expected tone", "MAS", tuple(Point(at + timedelta(hours=h), 0.5 + h / 200)
                                                for h in range(0, 100, 2)))
    header = PumpHeader("1", "A B", None, "stroke", "pump", "cath", "baclofen", 500.0, 300.0,
                        10.0, 20.0, 2.0, None, None, None, "", ())
    figures = chart_figures(Chart(header, (), tone=tone, ashworth=tone))
    tone_svg, ashworth_svg = str(figures["tone_svg"]), str(figures["ashworth_svg"])
    assert _y_labels(tone_svg) == _y_labels(ashworth_svg)
    assert _y_labels(tone_svg)[0] == "0" and _y_labels(tone_svg)[-1] == "4"
    assert "Modified Ashworth" in tone_svg


def test_chart_page_tone_on_the_ashworth_scale(client: TestClient) -> None:
    signed_in(client, "demo-nurse")
    html = client.get(f"/clinic/patients/{PATIENT}").text
    svg = re.search(r'<svg[^>]*aria-label="Expected muscle tone[^"]*".*?</svg>', html, re.S)
    assert svg, "the chart shows the virtual patient's tone"
    labels = _y_labels(svg[0])
    assert labels[0] == "0" and labels[-1] == "4"
