"""A population run: the same patients, one by one, give the same summaries; the CLI writes them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from thecal.cli.main import app
from thecal.errors import InputError
from thecal.physiology.population import sample_streams
from thecal.sim.population import run_population
from thecal.sim.scenario import load_scenario, run_scenario


def test_population_matches_each_patient_run_alone() -> None:
    timeline = load_scenario("missed-refill-withdrawal")
    result = run_population(timeline, patients=3, preset="adult-spinal", seed=11, every_h=2.0)
    people = sample_streams("adult-spinal", 11, 0, 3)
    for i in range(3):
        trace = run_scenario(timeline, every_h=2.0, params=people.patient(i))
        c = trace.columns
        assert result.columns["max_withdrawal_score"][i] == pytest.approx(c["withdrawal_score"].max(), rel=1e-9)
        assert result.columns["min_mas"][i] == pytest.approx(c["mas"].min(), rel=1e-9)
        assert result.columns["max_overdose_score"][i] == pytest.approx(c["overdose_score"].max(), rel=1e-9,
                                                                        abs=1e-12)
    summary = result.summary()
    assert summary["share_with_withdrawal_signs"] == pytest.approx(
        float(np.mean(result.columns["hours_in_withdrawal"] > 0)))


def test_missed_refill_causes_withdrawal_in_most_of_the_population() -> None:
    summary = run_population(load_scenario("missed-refill-withdrawal"), patients=300, seed=3).summary()
    assert summary["share_with_withdrawal_signs"] > 0.9
    assert summary["max_mas"]["median"] > 3  # rebound spasticity once the pump is dry


def test_bad_population_requests_are_refused() -> None:
    timeline = load_scenario("missed-refill-withdrawal")
    with pytest.raises(InputError, match="patients"):
        run_population(timeline, patients=0)
    with pytest.raises(InputError, match="preset"):
        run_population(timeline, patients=5, preset="martian")


def test_population_cli_writes_rows_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    result = CliRunner().invoke(app, ["population", "missed-refill-withdrawal", "--patients", "50",
                                      "--seed", "2", "--every", "2 h", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["patients"] == 50 and 0 <= summary["share_with_severe_withdrawal"] <= 1
    lines = out.read_text().splitlines()
    assert lines[0].startswith("patient,min_mas") and len(lines) == 51
    bad = CliRunner().invoke(app, ["population", "missed-refill-withdrawal", "--patients", "ten"])
    assert bad.exit_code == 2
