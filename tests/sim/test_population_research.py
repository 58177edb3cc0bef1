"""Population research: per-patient streams, summary windows, bootstrap intervals, paired
comparisons of variants, and the Dask backend giving the local backend's results."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from thecal.cli.main import app
from thecal.errors import InputError
from thecal.physiology.population import sample_streams
from thecal.sim.population import run_comparison, run_population
from thecal.sim.scenario import load_scenario, run_scenario
from thecal.sim.variants import resolve_variant


def _short(name: str, days: float = 3.0):  # type: ignore[no-untyped-def]
    timeline = load_scenario(name)
    return timeline, timeline.events[-1].at + timedelta(days=days)


def test_each_patient_has_its_own_seed_sequence_stream() -> None:
    from thecal.physiology.parameters import PARAMETER_NAMES
    from thecal.physiology.population import _from_eta

    children = np.random.SeedSequence(42).spawn(6)
    whole = sample_streams("adult-spinal", 42, 0, 6)
    for i, child in enumerate(children):
        # patient i is made from child i's stream, whatever else is drawn
        eta = np.random.default_rng(child).standard_normal(len(PARAMETER_NAMES))
        assert _from_eta("adult-spinal", eta[:, None], None).patient(0) == whole.patient(i)
        assert sample_streams("adult-spinal", 42, i, i + 1).patient(0) == whole.patient(i)
    parts = [sample_streams("adult-spinal", 42, lo, hi) for lo, hi in ((0, 2), (2, 5), (5, 6))]
    for name in whole.__dataclass_fields__:
        joined = np.concatenate([getattr(p, name) for p in parts])
        np.testing.assert_array_equal(joined, getattr(whole, name))


def test_block_size_and_threads_do_not_change_results() -> None:
    timeline, until = _short("concentration-down-no-bridge")
    # a summary window: the patients' states at its start come from a first run, too
    kwargs = dict(patients=23, seed=5, until=until, every_h=2.0, bootstrap=0,
                  window_from=timeline.events[0].at + timedelta(days=2))
    base = run_population(timeline, block_patients=23, **kwargs)  # type: ignore[arg-type]
    small = run_population(timeline, block_patients=4, **kwargs)  # type: ignore[arg-type]
    threaded = run_population(timeline, block_patients=4, workers=3,  # type: ignore[arg-type]
                              **kwargs)
    # bit for bit: each patient's arithmetic in the compiled kernel is the same in any block
    for name, col in base.columns.items():
        np.testing.assert_array_equal(small.columns[name], col)
        np.testing.assert_array_equal(threaded.columns[name], small.columns[name])


def test_dask_backend_gives_the_local_results() -> None:
    from thecal.sim.dask_backend import local_cluster

    timeline, until = _short("concentration-down-no-bridge")
    kwargs = dict(patients=20, seed=9, until=until, every_h=2.0, bootstrap=0, block_patients=6)
    local = run_population(timeline, **kwargs)  # type: ignore[arg-type]
    with local_cluster(2, processes=False) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = run_population(timeline, backend="dask",  # type: ignore[arg-type]
                                scheduler=cluster.scheduler_address, **kwargs)
    for name, col in local.columns.items():
        np.testing.assert_array_equal(remote.columns[name], col)
    assert remote.summary()["backend"] == "dask"


def test_window_excludes_baseline_and_titration_and_matches_one_patient() -> None:
    timeline = load_scenario("missed-refill-withdrawal")
    until = timeline.events[0].at + timedelta(days=60)
    start = timeline.events[0].at + timedelta(days=30)
    whole = run_population(timeline, patients=3, seed=11, until=until, every_h=2.0, bootstrap=0)
    window = run_population(timeline, patients=3, seed=11, until=until, window_from=start,
                            every_h=2.0, bootstrap=0)
    people = sample_streams("adult-spinal", 11, 0, 3)
    for i in range(3):
        trace = run_scenario(timeline, until, every_h=2.0, params=people.patient(i))
        inside = trace.t_h >= 30 * 24.0
        # the untreated start (baseline Ashworth) is in the whole run, not in the window
        assert whole.columns["max_mas"][i] == pytest.approx(trace.columns["mas"].max(), rel=1e-9)
        assert window.columns["max_mas"][i] == pytest.approx(
            trace.columns["mas"][inside].max(), rel=1e-9)
        assert window.columns["max_mas"][i] < people.baseline_mas[i] - 0.5
        assert window.columns["mean_effect"][i] == pytest.approx(
            trace.columns["effect"][inside].mean(), rel=1e-9)
    summary = window.summary()
    assert summary["from"].startswith("2026-02-04") and summary["simulated_from"].startswith(
        "2026-01-05")


def test_percentiles_and_shares_carry_bootstrap_intervals() -> None:
    timeline, until = _short("missed-refill-withdrawal", 10.0)
    result = run_population(timeline, patients=200, seed=3, until=until, every_h=2.0,
                            bootstrap=100)
    summary = result.summary()
    lo, hi = summary["shares_ci95"]["share_with_severe_withdrawal"]
    assert lo <= summary["share_with_severe_withdrawal"] <= hi and lo < hi
    ci = summary["max_withdrawal_score"]["ci95"]["median"]
    assert ci[0] <= summary["max_withdrawal_score"]["median"] <= ci[1]
    # seeded: the same run gives the same intervals
    again = run_population(timeline, patients=200, seed=3, until=until, every_h=2.0,
                           bootstrap=100).summary()
    assert again["max_withdrawal_score"]["ci95"] == summary["max_withdrawal_score"]["ci95"]


def test_bridge_bolus_variant_removes_the_overdose_on_the_same_patients() -> None:
    timeline, until = _short("concentration-down-no-bridge", 5.0)
    label, variant = resolve_variant("with-bridge-bolus", timeline)
    assert sum(e.type == "bolus" for e in variant.events) == 1 + sum(
        e.type == "bolus" for e in timeline.events)
    start = timeline.events[-1].at - timedelta(days=1)
    result = run_comparison(timeline, variant, variant_name=label, patients=60, seed=4,
                            until=until, window_from=start, every_h=1.0, bootstrap=100)
    diff = result.summary()["paired_differences"]
    worst = diff["max_overdose_score"]
    assert worst["mean_difference"] < 0 and worst["ci95"][1] < 0
    assert worst["patients_higher"] == 0
    # the same patients: the two arms agree before the refill that differs
    same = run_comparison(timeline, timeline, variant_name="same", patients=10, seed=4,
                          until=until, every_h=2.0, bootstrap=20).summary()["paired_differences"]
    assert same["max_withdrawal_score"]["mean_difference"] == 0.0
    assert same["max_withdrawal_score"]["ci95"] == [0.0, 0.0]


def test_variants_are_named_or_refused() -> None:
    timeline = load_scenario("concentration-down-no-bridge")
    _, lower = resolve_variant("dose-x0.5", timeline)
    doses = [e.daily_dose_mcg for e in lower.events if e.type == "program"]
    assert doses[-1] == pytest.approx(150.0)  # 300 × 0.5
    missed = load_scenario("missed-refill-withdrawal")
    _, on_time = resolve_variant("refill-at-alarm", missed)
    assert sum(e.type == "refill" for e in on_time.events) == 1 + sum(
        e.type == "refill" for e in missed.events)
    with pytest.raises(InputError, match="unknown variant"):
        resolve_variant("with-magic", timeline)
    with pytest.raises(InputError, match="outside"):
        resolve_variant("dose-x50", timeline)


def test_population_cli_window_compare_and_errors() -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["population", "concentration-down-no-bridge", "--patients", "30",
                             "--seed", "2", "--every", "2 h", "--from", "40 days",
                             "--until", "50 days", "--compare", "with-bridge-bolus",
                             "--bootstrap", "50", "--json"])
    assert ok.exit_code == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["variant_name"] == "with-bridge-bolus"
    assert data["baseline"]["from"].startswith("2026-02-14")
    assert "ci95" in data["paired_differences"]["max_overdose_score"]
    for args in (["--from", "90 days", "--until", "50 days"], ["--backend", "spark"],
                 ["--scheduler", "tcp://127.0.0.1:1"], ["--compare", "nonsense"]):
        bad = runner.invoke(app, ["population", "concentration-down-no-bridge",
                                  "--patients", "5", *args])
        assert bad.exit_code == 2, args
        assert bad.stderr.strip().startswith("error:")


def test_exact_bootstrap_intervals_agree_with_resampling() -> None:
    from thecal.sim.population import _quantile_interval, describe

    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 3.0, size=300)
    ordered = np.sort(values)
    # resampling the patients many times gives (nearly) the exact interval of the median
    boots = [np.percentile(rng.choice(values, values.size), 50, method="inverted_cdf")
             for _ in range(4000)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    exact = _quantile_interval(ordered, 0.5)
    spacing = float(np.median(np.diff(ordered)))  # the interval moves by whole order statistics
    assert abs(exact[0] - lo) <= 3 * spacing and abs(exact[1] - hi) <= 3 * spacing
    hours = np.where(values > 8.0, values, 0.0)  # about a quarter "with signs"
    columns = {name: values for name in ("max_withdrawal_score", "max_overdose_score",
                                         "min_mas", "max_mas", "mean_effect")}
    columns.update(hours_in_withdrawal=hours, hours_in_severe_withdrawal=hours,
                   hours_with_overdose_signs=hours)
    summary = describe(columns)
    share_ci = summary["shares_ci95"]["share_with_withdrawal_signs"]
    boot_shares = [float((rng.choice(hours, hours.size) > 0).mean()) for _ in range(4000)]
    assert share_ci[0] == pytest.approx(np.percentile(boot_shares, 2.5), abs=0.01)
    assert share_ci[1] == pytest.approx(np.percentile(boot_shares, 97.5), abs=0.01)
