"""Scenarios: the bundled stories run through the twin and tell their story; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from thecal.cli.main import app
from thecal.errors import TimelineError
from thecal.physiology.model import SEVERE_WITHDRAWAL_CODES
from thecal.sim.scenario import COLUMNS, bundled_scenarios, load_scenario, run_scenario

runner = CliRunner()

EXPECTED = {
    "titration-after-implant", "missed-refill-withdrawal", "catheter-disconnection",
    "mri-stall-slow-resumption", "concentration-up-no-bridge", "concentration-down-no-bridge",
    "pocket-fill-at-refill", "end-of-battery-eri-ignored",
}


def test_bundled_scenarios_are_there_and_load() -> None:
    names = set(bundled_scenarios())
    assert names >= EXPECTED
    for name in names:
        assert load_scenario(name).patient.physiology is not None


def test_titration_lowers_tone_without_withdrawal() -> None:
    trace = run_scenario(load_scenario("titration-after-implant"), every_h=1.0)
    mas = trace.columns["mas"]
    assert mas[-1] < mas[0] - 1.5
    assert trace.columns["withdrawal_score"].max() < 0.2
    assert set(COLUMNS) <= set(trace.columns)


def test_missed_refill_becomes_withdrawal_early_signs_first() -> None:
    trace = run_scenario(load_scenario("missed-refill-withdrawal"), every_h=1.0)
    empty = np.flatnonzero(trace.columns["rate_ml_per_day"][1:] == 0)  # pump stopped
    assert empty.size
    first = {}
    for i, codes in enumerate(trace.symptoms):
        for c in codes:
            first.setdefault(c, i)
    assert "increased-spasticity" in first and "high-fever" in first
    assert first["increased-spasticity"] < first["high-fever"]
    # signs evolve over 1–3 days (COFFEY02)
    hours = first["high-fever"] - first["increased-spasticity"]
    assert 6 <= hours <= 72


def test_catheter_disconnection_is_withdrawal_with_a_running_pump() -> None:
    trace = run_scenario(load_scenario("catheter-disconnection"), every_h=1.0)
    severe = [i for i, s in enumerate(trace.symptoms) if set(SEVERE_WITHDRAWAL_CODES) & set(s)]
    assert severe
    assert trace.columns["rate_ml_per_day"][severe[0]] > 0  # the pump still runs
    assert trace.columns["csf_delivery_mcg_per_h"][severe[0]] == 0


def test_bad_physiology_preset_is_a_timeline_error(tmp_path: Path) -> None:
    src = bundled_scenarios()["titration-after-implant"].read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(src.replace("preset: adult-spinal", "preset: martian"), encoding="utf-8")
    with pytest.raises(TimelineError, match="physiology"):
        run_scenario(load_scenario(bad))


def test_cli_simulate_writes_csv_and_plot(tmp_path: Path) -> None:
    out, png = tmp_path / "trace.csv", tmp_path / "trace.png"
    res = runner.invoke(app, ["simulate", "titration-after-implant", "--until", "10 days",
                              "--every", "1 h", "--out", str(out), "--plot", str(png)])
    assert res.exit_code == 0, res.output
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    for col in ("time", *COLUMNS):
        assert col in header
    first_time = out.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    assert first_time.endswith("+01:00")  # patient's time zone (Europe/Berlin, winter)
    assert png.stat().st_size > 10_000


def test_cli_simulate_writes_json_and_parquet(tmp_path: Path) -> None:
    js, pq = tmp_path / "t.json", tmp_path / "t.parquet"
    for target in (js, pq):
        res = runner.invoke(app, ["simulate", "titration-after-implant", "--until", "3 days",
                                  "--every", "1 h", "--out", str(target)])
        assert res.exit_code == 0, res.output
    assert len(json.loads(js.read_text(encoding="utf-8"))["rows"]) == 73
    import pyarrow.parquet as pqm
    assert pqm.read_table(pq).num_rows == 73


@pytest.mark.parametrize("args", [
    ["simulate", "no-such-file.yaml"],
    ["simulate", "titration-after-implant", "--every", "5"],
    ["simulate", "titration-after-implant", "--out", "x.xlsx"],
    ["simulate", "titration-after-implant", "--until", "2026-13-01T00:00:00+01:00"],
])
def test_cli_bad_input_exits_2_with_one_line(args: list[str]) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert len([line for line in res.output.splitlines() if line.strip()]) == 1


def test_cli_refuses_a_bad_scenario_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: thecal.timeline/1\npatient: {id: x}\nevents: []\n", encoding="utf-8")
    res = runner.invoke(app, ["simulate", str(bad)])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_cli_lists_scenarios() -> None:
    res = runner.invoke(app, ["scenarios", "list", "--json"])
    assert res.exit_code == 0
    assert {row["name"] for row in json.loads(res.output)} >= EXPECTED


def test_missed_refill_reaches_rigidity_one_to_three_days_after_the_pump_runs_dry() -> None:
    """COFFEY02 5.1 / NSWIKI 5.3: early signs first, then fever, changed mental status and
    rigidity within 1–3 days of the stop (model v2; v1 never showed rigidity here)."""

    trace = run_scenario(load_scenario("missed-refill-withdrawal"), every_h=0.5)
    delivery = trace.columns["csf_delivery_mcg_per_h"]
    late = np.flatnonzero((trace.t_h > 24 * 100) & (delivery == 0.0))
    dry_h = float(trace.t_h[late[0]])

    def first(code: str) -> float:
        hits = [t for t, s in zip(trace.t_h, trace.symptoms, strict=True) if code in s]
        return float(hits[0]) - dry_h

    assert 0.0 < first("itching") < 24.0
    assert first("itching") < first("high-fever") < first("muscle-rigidity")
    assert 24.0 <= first("muscle-rigidity") <= 72.0
