"""The clinical commands through the app: exit codes, JSON keys, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from thecal.cli.main import app

runner = CliRunner()

TIMELINE = (Path(__file__).parents[1] / "fixtures/continuous-500.yaml").read_text(encoding="utf-8")


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> dict[str, object]:
    code, out, err = _run(*args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def test_triage_json() -> None:
    data = _json("triage", "--symptom", "seizures", "--modifier", "prior-withdrawal")
    assert data["urgency"] == "emergency"
    assert {"urgency", "causes", "actions", "advice", "rules"} <= set(data)
    causes = data["causes"]
    assert isinstance(causes, list) and {"code", "weight"} <= set(causes[0])
    advice = data["advice"]
    assert isinstance(advice, dict) and set(advice) == {"patient", "clinician"}
    assert data["withdrawal_or_overdose_unclear"] is True


def test_triage_table() -> None:
    code, out, _ = _run("triage", "--symptom", "itching")
    assert code == 0 and "URGENT" in out and "TR-W-ITCH" in out


def test_triage_unknown_symptom_one_line() -> None:
    code, out, err = _run("triage", "--symptom", "itchy")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "increased-spasticity" in err and "Traceback" not in err + out


def test_triage_with_context_file(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx.yaml"
    ctx.write_text("refill_within_24h: true\n", encoding="utf-8")
    data = _json("triage", "--symptom", "drowsiness", "--context", str(ctx))
    assert data["urgency"] == "emergency"
    assert "TR-OD-POCKET-FILL" in [r["id"] for r in data["rules"]]  # type: ignore[union-attr, index]
    ctx.write_text("reservoir_emtpy: true\n", encoding="utf-8")
    code, _, err = _run("triage", "--symptom", "drowsiness", "--context", str(ctx))
    assert code == 2 and "reservoir_empty" in err


def test_triage_with_timeline(tmp_path: Path) -> None:
    pytest.importorskip("thecal.device.replay")
    path = tmp_path / "t.yaml"
    path.write_text(TIMELINE, encoding="utf-8")
    data = _json("triage", "--symptom", "increased-spasticity", "--timeline", str(path),
                 "--at", "2026-02-10T09:00:00+00:00")
    assert data["urgency"] in {"urgent", "emergency"}
    assert data["context"]["reservoir_empty"] is True  # type: ignore[index]
    code, _, err = _run("triage", "--symptom", "itching", "--timeline", str(path),
                        "--at", "2026-02-10")
    assert code == 2 and "offset" in err


def test_eligibility(tmp_path: Path) -> None:
    record = tmp_path / "candidate.yaml"
    record.write_text(yaml.safe_dump({"etiology": "stroke", "spasticity_severity": "severe"}),
                      encoding="utf-8")
    data = _json("eligibility", str(record))
    assert data["verdict"] == "needs-information"
    code, out, _ = _run("eligibility", str(record))
    assert code == 0 and "needs-information" in out
    record.write_text("etiology: [unclosed\n", encoding="utf-8")
    code, _, err = _run("eligibility", str(record))
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = _run("eligibility", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file" in err


def test_screening_commands() -> None:
    data = _json("screening", "plan", "--start", "2026-01-05T09:00:00+01:00")
    assert [d["dose_mcg"] for d in data["doses"]] == [50, 75, 100]  # type: ignore[union-attr, index]
    assert data["observations"]
    data = _json("screening", "response", "--mas-before", "3", "--mas-after", "1")
    assert data["positive"] is True
    data = _json("screening", "start-dose", "--effective-dose", "50 mcg",
                 "--effect-duration", "6 h")
    assert data["daily_dose_mcg"] == 100
    code, _, err = _run("screening", "start-dose", "--effective-dose", "50",
                        "--effect-duration", "6 h")
    assert code == 2 and "unit" in err


def test_titrate() -> None:
    data = _json("titrate", "--dose", "200 mcg/day", "--etiology", "spinal-cord-injury",
                 "--age", "40", "--report", "too-tight", "--at", "2026-02-01T09:00:00+00:00")
    assert data["action"] == "increase" and data["next_daily_dose_mcg"] == 240
    data = _json("titrate", "--dose", "200 mcg/day", "--etiology", "stroke", "--age", "40",
                 "--to", "250 mcg/day", "--step", "2026-02-01T00:00:00+00:00=180 mcg/day",
                 "--at", "2026-02-01T09:00:00+00:00")
    assert data["allowed"] is False
    codes = [r["code"] for r in data["reasons"]]  # type: ignore[union-attr, index]
    assert "titration-step-exceeds-limit" in codes and "titration-too-soon" in codes
    code, _, err = _run("titrate", "--dose", "200 mcg/day", "--etiology", "polio")
    assert code == 2 and "stroke" in err


def test_procedure_and_recovery() -> None:
    data = _json("procedure", "mri", "--pump", "synchromed-ii-40")
    assert data["family"] == "synchromed" and data["items"]
    code, out, _ = _run("procedure", "mri", "--pump", "prometra-ii-20")
    assert code == 0 and "empty" in out.lower()
    code, _, err = _run("procedure", "mri", "--pump", "isomed")
    assert code == 2 and "synchromed-ii-40" in err
    data = _json("procedure", "card", "--pump", "synchromed-ii-40")
    assert "intrathecal baclofen" in str(data["text"])
    data = _json("recovery", "--implant-date", "2026-01-05")
    assert data["items"]
    code, out, _ = _run("recovery", "--implant-date", "2026-01-05")
    assert code == 0 and "CALL AT ONCE" in out
    code, _, err = _run("recovery", "--implant-date", "5.1.2026")
    assert code == 2 and "YYYY-MM-DD" in err
