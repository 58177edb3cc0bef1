"""Refills and interrogations as measurements through the HTTP API (issue 9).

The world's patient A has a SynchroMed II 40 mL filled with 40 mL of 500 mcg/mL and a
program of 100 mcg/day (0.2 mL/day), recorded 90 minutes and 2 hours after the implant.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from pytest import approx

from thecal.service import chart_series
from thecal.service.testing import World


def test_a_full_refill_after_a_short_aspiration_is_recorded_in_one_go(
        client: TestClient, tokens: dict[str, str], world: World) -> None:
    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    probe = client.post(f"{url}/proposal", headers=headers, json={
        "withdrawn": "1 mL", "added": "40 mL", "concentration": "500 mcg/mL"})
    assert probe.status_code == 200, probe.text
    expected = probe.json()["expected_residual_ml"]
    short = max(expected - 3.0, 0.0)  # 3 mL less drained than the pump calculates
    body = {"withdrawn": f"{short:.2f} mL", "added": "40 mL", "concentration": "500 mcg/mL"}
    proposal = client.post(f"{url}/proposal", headers=headers, json=body).json()
    # Fill to full is suggested and accepted: the reservoir was drained.
    assert proposal["suggested_added_ml"] == 40.0
    assert proposal["discrepancy"] is True
    assert proposal["residual_check"]["direction"] == "less-withdrawn"
    assert proposal["programmer_reservoir_ml"] == 40.0
    assert "enter 40 mL into the programmer" in proposal["programmer_instruction"]
    assert proposal["reservoir_views_after"]["estimate_ml"] == 40.0
    version = proposal["version"]
    done = client.post(url, headers=headers, json={
        **body, "expected_version": version, "lot": "LB2093", "expiry": "2030-06-30",
        "reason": "needle placement checked; pump interrogated"})
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "recorded"
    projection = client.get(f"/api/v1/patients/{world.patient_a}/projection",
                            headers=headers).json()
    assert projection["reservoir_views"]["estimate_ml"] == 40.0
    assert projection["reservoir_views"]["pump_calculated_ml"] == 40.0
    assert projection["reservoir_views"]["physical_ml"] is None
    found = [f for f in projection["findings"] if f["code"] == "refill-discrepancy"]
    assert found and found[0]["discrepancy_ml"] == approx(-3.0, abs=0.01)
    assert projection["unaccounted_mcg"] == approx(1500.0, abs=5)  # 3 mL × 500 mcg/mL
    assert projection["low_reservoir_alarm_window"]["earliest"] <= \
        projection["low_reservoir_alarm_window"]["latest"]
    # The chart's reservoir follows the measurement: 40 mL right after the refill.
    series = chart_series(world.clinic, world.actor("clinician"), world.patient_a, days=1,
                          every_h=1.0)
    assert series.reservoir is not None
    values = [p.value for p in series.reservoir.points]
    jump = next(i for i, v in enumerate(values) if v > 39.9)
    assert values[jump - 1] == approx(expected, abs=0.05)  # before: what the pump calculated
    assert values[jump] == approx(40.0, abs=0.01)  # after: what was added


def test_withdrawing_more_than_the_reservoir_holds_asks_for_the_needle(
        client: TestClient, tokens: dict[str, str], world: World) -> None:
    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    r = client.post(f"/api/v1/patients/{world.patient_a}/refill/proposal", headers=headers,
                    json={"withdrawn": "43 mL", "added": "40 mL", "concentration": "500 mcg/mL"})
    assert r.status_code == 422, r.text
    assert "needle placement" in r.text


def test_an_interrogation_reading_re_anchors_the_twin(
        client: TestClient, tokens: dict[str, str], world: World) -> None:
    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    base = f"/api/v1/patients/{world.patient_a}"
    version = client.get(f"{base}/projection", headers=headers).json()["version"]
    r = client.post(f"{base}/interrogation", headers=headers, json={
        "expected_version": version, "reservoir": "3 mL", "daily_dose": "100 mcg/day",
        "concentration": "500 mcg/mL", "pump_state": "running"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["discrepancy"] is True
    assert out["reservoir_views_before"]["estimate_ml"] > 20
    assert out["reservoir_views_after"]["estimate_ml"] == 3.0
    assert out["reservoir_views_after"]["pump_calculated_ml"] == 3.0
    finding = out["findings"][0]
    assert finding["code"] == "interrogation-discrepancy" and finding["reported_reservoir_ml"] == 3
    projection = client.get(f"{base}/projection", headers=headers).json()
    assert projection["pump"]["reservoir_ml"] == 3.0
    bad = client.post(f"{base}/interrogation", headers=headers, json={
        "expected_version": version + 1, "reservoir": "three"})
    assert bad.status_code == 422 and "reservoir" in bad.text


def test_site_settings_move_planning_and_the_mri_delay(
        client: TestClient, tokens: dict[str, str], world: World) -> None:
    from thecal.errors import InputError
    from thecal.service import update_site_settings
    from thecal.service.actors import SYSTEM

    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    url = f"/api/v1/patients/{world.patient_a}/projection"
    plain = client.get(url, headers=headers).json()
    update_site_settings(world.clinic, SYSTEM, world.site_a,
                         {"delivery_unreliable_below_ml": "4 mL",
                          "synchromed_mri_resume_delay_h": "worst"})
    moved = client.get(url, headers=headers).json()
    # 2 mL more kept back at 0.2 mL/day: the alarm and the refill come 10 days earlier.
    assert moved["low_reservoir_alarm_at"] < plain["low_reservoir_alarm_at"]
    assert moved["refill_due_by"] <= plain["refill_due_by"]
    try:
        update_site_settings(world.clinic, SYSTEM, world.site_a,
                             {"delivery_unreliable_below_ml": "four"})
    except InputError as exc:
        assert exc.where == "settings.delivery_unreliable_below_ml"
    else:
        raise AssertionError("a bad volume was accepted")
