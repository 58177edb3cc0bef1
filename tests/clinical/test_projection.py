"""The twin's projection and findings through ``thecal twin --json``: golden cases by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from thecal.cli.main import app

FIXTURE = Path(__file__).parents[1] / "fixtures/golden-20ml.yaml"
runner = CliRunner()


def twin_json(path: Path, at: str) -> dict[str, Any]:
    result = runner.invoke(app, ["twin", str(path), "--at", at, "--json"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def write(tmp_path: Path, extra: list[dict[str, Any]], pump: str = "synchromed-ii-20") -> Path:
    data = yaml.safe_load(FIXTURE.read_text())
    data["events"][0]["pump"] = pump
    data["events"] += extra
    for event in data["events"]:
        event["at"] = str(event["at"]) if not isinstance(event["at"], str) else event["at"]
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_required_keys_present() -> None:
    data = twin_json(FIXTURE, "2026-01-15T10:00:00+01:00")
    for key in ("at", "pump", "delivered_to_csf_mcg", "low_reservoir_alarm_at", "empty_at",
                "refill_due_by", "elective_replacement_at", "end_of_service_at", "alarms",
                "findings"):
        assert key in data
    for key in ("model", "state", "reservoir_ml", "concentration_mcg_per_ml", "daily_dose_mcg",
                "rate_ml_per_day"):
        assert key in data["pump"]


def test_golden_20ml_continuous_after_ten_days() -> None:
    # Priming: 0.14 mL tubing + 52 cm × 0.0022 mL/cm = 0.2544 mL at 24 mL/day = 0.2544 h, pushing
    # saline out of the line (0 mcg reaches the spinal fluid). Then 300 mcg/day of 500 mcg/mL =
    # 0.6 mL/day for 240 h − 0.2544 h = 9.9894 days → 5.99364 mL, all of it drug: 2996.82 mcg.
    # Reservoir 20 − 0.2544 − 5.99364 = 13.75196 mL; 11.75196 mL above the 2 mL alarm lasts
    # 19.5866 days from now. The refill-due date is the plan made at the fill (DM-6), not now:
    # after the priming bolus the reservoir holds 19.7456 mL, 17.7456 mL above the alarm; at
    # 0.6 mL/day run 14.5 % fast that lasts 17.7456 / 0.687 = 25.83 days → 25 whole days from
    # 2026-01-05 10:00 → due by 2026-01-30 10:00 (the plan at the fill itself, 18 / 0.687 = 26.2
    # days, is later, so the bolus decides).
    data = twin_json(FIXTURE, "2026-01-15T10:00:00+01:00")
    assert data["pump"]["reservoir_ml"] == pytest.approx(13.75196, abs=1e-9)
    assert data["delivered_to_csf_mcg"] == pytest.approx(2996.82, abs=1e-6)
    assert data["pump"]["rate_ml_per_day"] == pytest.approx(0.6)
    assert data["refill_due_by"] == "2026-01-30T10:00:00+01:00"
    assert data["low_reservoir_alarm_at"].startswith("2026-02-04T00:04:42")
    assert data["empty_at"].startswith("2026-02-07T08:04:42")
    # Battery: 7-year service life (2557 days) from implant; ERI 90 days before (M-REPL).
    assert data["end_of_service_at"] == "2033-01-05T09:00:00+01:00"
    assert data["elective_replacement_at"] == "2032-10-07T10:00:00+02:00"
    assert data["findings"] == []


def test_refill_due_date_does_not_move_with_the_clock_and_turns_overdue() -> None:
    early = twin_json(FIXTURE, "2026-01-06T10:00:00+01:00")
    late = twin_json(FIXTURE, "2026-02-02T10:00:00+01:00")
    assert early["refill_due_by"] == late["refill_due_by"] == "2026-01-30T10:00:00+01:00"
    assert "refill-overdue" not in {f["code"] for f in early["findings"]}
    overdue = [f for f in late["findings"] if f["code"] == "refill-overdue"]
    assert overdue and overdue[0]["days_overdue"] == pytest.approx(3.0)


def test_low_reservoir_alarm_sounds_after_crossing() -> None:
    data = twin_json(FIXTURE, "2026-02-05T09:00:00+01:00")
    codes = {a["code"]: a for a in data["alarms"]}
    assert "low-reservoir" in codes and codes["low-reservoir"]["priority"] == "medium"
    assert codes["low-reservoir"]["since"].startswith("2026-02-04T00:04:42")


def test_empty_pump_is_high_priority_and_therapy_stopped() -> None:
    data = twin_json(FIXTURE, "2026-02-10T09:00:00+01:00")
    assert data["pump"]["reservoir_ml"] == 0
    assert any(a["code"] == "empty-reservoir" and a["priority"] == "high" for a in data["alarms"])
    assert "therapy-stopped" in {f["code"] for f in data["findings"]}


REFILL_2000 = {"at": "2026-01-30T10:00:00+01:00", "type": "refill", "withdrawn": "3.75 mL",
               "added": "18 mL", "concentration": "2000 mcg/mL"}


def test_concentration_change_without_bridge_is_found(tmp_path: Path) -> None:
    path = write(tmp_path, [REFILL_2000])
    data = twin_json(path, "2026-02-01T10:00:00+01:00")
    found = [f for f in data["findings"] if f["code"] == "missing-bridge-bolus"]
    assert found and found[0]["old_concentration_mcg_per_ml"] == 500
    assert found[0]["severity"] == "warning"  # weaker old drug pushed slower: under-dose


def test_concentration_change_with_bridge_is_clean(tmp_path: Path) -> None:
    path = write(tmp_path, [REFILL_2000, {"at": "2026-01-30T10:05:00+01:00", "type": "bolus",
                                          "kind": "bridge"}])
    data = twin_json(path, "2026-02-01T10:00:00+01:00")
    assert "missing-bridge-bolus" not in {f["code"] for f in data["findings"]}


def test_refill_discrepancy_found_both_ways(tmp_path: Path) -> None:
    # Expected residual on 2026-01-30 10:00: 20 − 0.2544 − 0.6 × (25 d − 0.2544 h) = 4.75196 mL.
    ok = write(tmp_path, [{**REFILL_2000, "concentration": "500 mcg/mL", "withdrawn": "5.5 mL"}])
    assert "refill-discrepancy" not in {f["code"] for f in twin_json(
        ok, "2026-02-01T10:00:00+01:00")["findings"]}
    more = write(tmp_path, [{**REFILL_2000, "concentration": "500 mcg/mL", "withdrawn": "7 mL",
                             "added": "13 mL"}])
    found = [f for f in twin_json(more, "2026-02-01T10:00:00+01:00")["findings"]
             if f["code"] == "refill-discrepancy"]
    assert found and found[0]["direction"] == "more-withdrawn"
    assert found[0]["expected_residual_ml"] == pytest.approx(4.752, abs=1e-6)  # rounded to 0.1 µL
    less = write(tmp_path, [{**REFILL_2000, "concentration": "500 mcg/mL", "withdrawn": "3.5 mL",
                             "added": "12 mL"}])
    found = [f for f in twin_json(less, "2026-02-01T10:00:00+01:00")["findings"]
             if f["code"] == "refill-discrepancy"]
    assert found and found[0]["direction"] == "less-withdrawn"


def test_titration_step_beyond_limit_is_found(tmp_path: Path) -> None:
    # 300 → 400 mcg/day is +33 %, above the 30 %/24 h spinal limit (B-DOSE).
    path = write(tmp_path, [{"at": "2026-01-07T10:00:00+01:00", "type": "program",
                             "mode": "continuous", "daily_dose": "400 mcg/day"}])
    found = [f for f in twin_json(path, "2026-01-08T10:00:00+01:00")["findings"]
             if f["code"] == "titration-step-exceeds-limit"]
    assert found and found[0]["max_allowed_daily_dose_mcg"] == pytest.approx(390)


def test_stopped_program_is_a_danger_finding(tmp_path: Path) -> None:
    path = write(tmp_path, [{"at": "2026-01-07T10:00:00+01:00", "type": "program",
                             "mode": "stopped"}])
    data = twin_json(path, "2026-01-08T10:00:00+01:00")
    stopped = [f for f in data["findings"] if f["code"] == "therapy-stopped"]
    assert stopped and stopped[0]["severity"] == "danger"


def test_mri_without_interrogation_needs_a_check(tmp_path: Path) -> None:
    path = write(tmp_path, [{"at": "2026-01-10T10:00:00+01:00", "type": "mri",
                             "duration": "40 min"}])
    data = twin_json(path, "2026-01-12T10:00:00+01:00")
    assert "mri-check-needed" in {f["code"] for f in data["findings"]}
    path = write(tmp_path, [
        {"at": "2026-01-10T08:00:00+01:00", "type": "interrogation"},
        {"at": "2026-01-10T10:00:00+01:00", "type": "mri", "duration": "40 min"},
        {"at": "2026-01-10T12:00:00+01:00", "type": "interrogation"}])
    data = twin_json(path, "2026-01-12T10:00:00+01:00")
    assert "mri-check-needed" not in {f["code"] for f in data["findings"]}


def test_refill_interval_beyond_drug_limit(tmp_path: Path) -> None:
    path = write(tmp_path, [{"at": "2026-01-05T11:00:00+01:00", "type": "program",
                             "mode": "continuous", "daily_dose": "30 mcg/day"}],
                 pump="synchromed-ii-40")
    data = twin_json(path, "2026-07-10T10:00:00+02:00")
    assert "refill-interval-exceeds-drug-limit" in {f["code"] for f in data["findings"]}


def test_40ml_pump_golden(tmp_path: Path) -> None:
    # 40 mL pump, 20 mL added: same flow, so the same volumes; the discrepancy threshold is 2 mL.
    path = write(tmp_path, [{**REFILL_2000, "concentration": "500 mcg/mL", "withdrawn": "6.5 mL",
                             "added": "30 mL"}], pump="synchromed-ii-40")
    data = twin_json(path, "2026-02-01T10:00:00+01:00")
    assert "refill-discrepancy" not in {f["code"] for f in data["findings"]}  # +1.75 mL is within the 40 mL pump's 2 mL
    assert data["pump"]["reservoir_ml"] == pytest.approx(30 - 1.2, abs=1e-9)


def test_incomplete_aspiration_with_a_new_strength_is_found(tmp_path: Path) -> None:
    # 4.75196 mL expected, 2 mL withdrawn, the aspiration said to be incomplete with 2.75 mL
    # left: 2.75 mL of 500 mcg/mL stays with 15 mL of 2000 mcg/mL → (1375 + 30000) / 17.75 =
    # 1767.6 mcg/mL, 0.8838× the programmed dose. (A short aspiration not said to be
    # incomplete is a measurement: nothing is left to mix.)
    plain = write(tmp_path, [{**REFILL_2000, "withdrawn": "2 mL", "added": "15 mL"}])
    assert "refill-concentration-mixed" not in {
        f["code"] for f in twin_json(plain, "2026-02-01T10:00:00+01:00")["findings"]}
    path = write(tmp_path, [{**REFILL_2000, "withdrawn": "2 mL", "added": "15 mL",
                             "aspiration": "incomplete", "estimated_residual": "2.75 mL"},
                            {"at": "2026-01-30T10:05:00+01:00", "type": "bolus", "kind": "bridge"}])
    data = twin_json(path, "2026-02-01T10:00:00+01:00")
    mixed = [f for f in data["findings"] if f["code"] == "refill-concentration-mixed"]
    assert mixed and mixed[0]["dose_ratio"] == pytest.approx(0.8838, abs=1e-4)
    assert mixed[0]["severity"] == "warning"
