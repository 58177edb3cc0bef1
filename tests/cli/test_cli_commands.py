"""The foundation's commands end to end: JSON keys, exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from device_rule_cases import CASES, timeline
from thecal.cli.main import app
from thecal.errors import TimelineError
from thecal.timeline import parse_timeline

EXAMPLE = Path(__file__).parents[2] / "src/thecal/examples/demo-017.yaml"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_schema_timeline_prints_json_schema() -> None:
    code, out, _ = run("schema", "timeline")
    assert code == 0
    assert json.loads(out)["title"].startswith("thecal timeline")


def test_dose_convert_json() -> None:
    code, out, _ = run("dose", "convert", "--daily-dose", "300 mcg/day", "--concentration",
                       "500 mcg/mL", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["rate_ml_per_day"] == pytest.approx(0.6)
    code, out, _ = run("dose", "convert", "--rate", "0.6 mL/day", "--concentration", "2 mg/mL",
                       "--json")
    assert json.loads(out)["daily_dose_mcg"] == pytest.approx(1200)


def test_refill_plan_json_golden() -> None:
    code, out, _ = run("refill", "plan", "--pump", "synchromed-ii-20", "--reservoir", "18 mL",
                       "--daily-dose", "300 mcg/day", "--concentration", "500 mcg/mL",
                       "--at", "2026-04-10T09:00:00+02:00", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["refill_due_by"] == "2026-05-03T09:00:00+02:00"  # 23 whole days, see test_refill
    assert data["empty_at"] == "2026-05-10T09:00:00+02:00"


@pytest.mark.parametrize("args", [
    ["dose", "convert", "--daily-dose", "300", "--concentration", "500 mcg/mL"],
    ["dose", "convert", "--daily-dose", ".5 mg/day", "--concentration", "500 mcg/mL"],
    ["dose", "convert", "--daily-dose", "300 mcg/day"],
    ["refill", "plan", "--pump", "synchromed-ii-20", "--reservoir", "25 mL", "--rate",
     "0.5 mL/day"],
    ["refill", "plan", "--pump", "nope", "--reservoir", "5 mL", "--rate", "0.5 mL/day"],
    ["refill", "plan", "--pump", "synchromed-ii-20", "--reservoir", "5 mL", "--rate",
     "0.5 mL/day", "--at", "2026-04-10T09:00:00"],
    ["refill", "check", "--pump", "synchromed-ii-20", "--expected", "5 mL", "--withdrawn", "1e3 mL"],
    ["twin", "does-not-exist.yaml"],
])
def test_bad_input_exits_2_with_one_line(args: list[str]) -> None:
    code, out, err = run(*args)
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: ")
    assert len(" ".join(lines)) < 400


def test_bad_timeline_exits_2_naming_event_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = EXAMPLE.read_text().replace("added: 38 mL", "added: 45 mL")
    bad.write_text(text)
    before = bad.read_text()
    code, _, err = run("twin", str(bad), "--at", "2026-04-01T00:00:00+02:00")
    assert code == 2
    assert "events[11].added" in err and "overfills" in err
    assert bad.read_text() == before  # nothing written


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_twin_refuses_each_device_rule_with_the_loaders_words(
        case: tuple[str, list[dict[str, Any]], str, str, str], tmp_path: Path) -> None:
    # The same one line as the Python API (parse_timeline) gives: event index, field, fix.
    _, events, where, words, _ = case
    with pytest.raises(TimelineError) as loaded:
        parse_timeline(timeline(events))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(timeline(events)))
    code, _, err = run("twin", str(bad))
    assert code == 2 and "Traceback" not in err
    assert loaded.value.one_line() in err and where in err and words in err
