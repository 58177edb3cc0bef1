"""Importing Bundles as clinic EHRs send them (hand-made, Epic- and Cerner-style, in
tests/fixtures/fhir/): they import, the timeline validates, the twin projects, every resource is
accounted for, and thecal's own round trip of the result is lossless. What is ambiguous or
impossible is refused naming the resource and the fix."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from thecal.clinical.projection import project
from thecal.errors import InputError
from thecal.fhir import ImportResult, import_bundle, timeline_to_bundle
from thecal.timeline import event_to_dict, load_timeline, timeline_to_dict

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/fhir"
EPIC = "epic-synchromed-ms.json"
CERNER = "cerner-prometra-sci.json"
OPTIONS: dict[str, dict[str, str]] = {EPIC: {"timezone": "America/Chicago"}, CERNER: {}}


def _bundle(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _resource(bundle: dict[str, Any], ref: str) -> dict[str, Any]:
    kind, ident = ref.split("/", 1)
    return next(e["resource"] for e in bundle["entry"]
                if e["resource"]["resourceType"] == kind and e["resource"].get("id") == ident)


def _import(bundle: dict[str, Any], name: str = EPIC, **options: str) -> ImportResult:
    return import_bundle(bundle, name=name, **{**OPTIONS[name], **options})


def _events(result: ImportResult) -> list[dict[str, Any]]:
    return [event_to_dict(e) for e in result.timeline.events]


@pytest.mark.parametrize("name", [EPIC, CERNER])
def test_ehr_bundles_import_project_and_round_trip(name: str) -> None:
    bundle = _bundle(name)
    result = _import(bundle, name)
    assert result.source == "ehr"
    # every resource of the Bundle is accounted for, once
    assert sorted(n.resource for n in result.notes) == sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"])
    timeline = result.timeline
    end = timeline.events[-1].at + timedelta(days=30)
    projection = project(timeline, end)
    assert projection.as_dict()["refill_due_by"] is not None and projection.as_dict()["pump"] is not None
    # thecal's own exchange of the imported record is lossless
    again = import_bundle(json.loads(json.dumps(timeline_to_bundle(timeline, recorded_at=end,
                                                                     allergies=result.allergies))))
    assert timeline_to_dict(again.timeline) == timeline_to_dict(timeline) and again.allergies == result.allergies
    assert project(again.timeline, end).as_dict() == projection.as_dict()


def test_epic_bundle_golden() -> None:
    result = _import(_bundle(EPIC))
    p = result.timeline.patient
    # the MRN (identifier typed MR), not Epic's internal FHIR id; weight from LOINC 29463-7
    assert (p.id, str(p.born), p.sex, p.weight_kg, p.timezone, p.etiology) == (
        "203713", "1979-04-02", "female", 71.4, "America/Chicago", "multiple-sclerosis")
    events = _events(result)
    assert [e["type"] for e in events] == [
        "oral-baclofen", "assessment", "implant", "refill", "bolus", "program", "oral-baclofen", "program",
        "mri", "assessment", "refill", "bolus"]
    implant = events[2]
    assert implant["pump"] == "synchromed-ii-40" and implant["catheter"] == {"model": "ascenda", "length_cm": 52.0}
    assert implant["serial"] == "NGP204511H" and implant["by"] == "Amir Haddad, MD"
    # 10 mg three times a day by mouth = 30 mg/day, stopped on 2025-03-11 (the order's bounds end)
    assert events[0]["daily_dose"] == "30 mg/day" and events[6] == {
        "at": "2025-03-11T09:00:00-05:00", "type": "oral-baclofen", "reason": "oral baclofen stopped",
        "daily_dose": "0 mg/day"}
    # first fill of the new pump: nothing withdrawn; 500 ug per 1 mL from the Medication's strength
    assert {k: events[3][k] for k in ("withdrawn", "added", "concentration", "lot", "expiry")} == {
        "withdrawn": "0 mL", "added": "40 mL", "concentration": "500 mcg/mL", "lot": "GB50-2411A",
        "expiry": "2026-10-31"}
    assert events[4]["kind"] == "priming" and events[11]["kind"] == "bridge"
    assert events[5]["daily_dose"] == "100 mcg/day" and events[7]["daily_dose"] == "130 mcg/day"
    assert events[8]["duration"] == "40 min"  # performedPeriod 13:15–13:55
    # the second refill: 2 mg/mL from the drug's name, residual 24.6 mL from the Observation partOf its Procedure
    assert {k: events[10][k] for k in ("withdrawn", "added", "concentration")} == {
        "withdrawn": "24.6 mL", "added": "20 mL", "concentration": "2000 mcg/mL"}
    assert events[1]["mas_by_muscle"] == {"hip-adductors-left": "3", "hip-adductors-right": "1+"}
    assert events[1]["penn_frequency"] == 3
    assert events[9]["mas"] == "1" and events[9]["mas_by_muscle"] == {"hip-adductors-left": "1+"}
    notes = {n.resource: (n.outcome, n.detail) for n in result.notes}
    assert notes["Observation/eObs.BP.1"][0] == "not-imported"
    assert notes["Encounter/eEnc.Implant.0304"][0] == "not-imported"
    assert notes["Condition/eBq0Vt1HTN.2"] == ("not-imported", "a condition that is not an etiology thecal records")
    assert notes["Observation/eObs.residual.0503"][0] == "used"
    assert notes["AllergyIntolerance/eAll.Sulfa.old"][0] == "not-imported"
    assert [(a.kind, a.substance, a.reaction) for a in result.allergies] == [("allergy", "Penicillins", "Hives")]


def test_cerner_bundle_golden() -> None:
    result = _import(_bundle(CERNER), CERNER)
    p = result.timeline.patient
    assert (p.id, p.timezone, p.etiology) == ("MRN-0044871", "America/Denver", "spinal-cord-injury")
    events = _events(result)
    assert [e["type"] for e in events] == ["assessment", "screening-dose", "implant", "refill", "program", "bolus",
                                           "interrogation", "assessment", "refill", "catheter-revision"]
    assert events[0]["mas_by_muscle"] == {"knee-extensors-left": "2", "knee-extensors-right": "3",
                                          "ankle-plantarflexors-left": "2"}
    assert (events[0]["penn_frequency"], events[0]["penn_severity"]) == (4, 3)
    assert events[1]["dose"] == "50 mcg"
    assert events[2]["pump"] == "prometra-ii-20" and events[2]["catheter"] == {"model": "prometra", "length_cm": 60.0}
    # contained Medication: 40 mg per 20 mL = 2000 mcg/mL
    assert events[3]["concentration"] == "2000 mcg/mL" and events[3]["lot"] == "LIO-A0931"
    # flex steps in UCUM mg/d: 0.25 mg/d = 250 mcg/day, 0.35 mg/d = 350 mcg/day
    assert events[4]["steps"] == [{"start": "00:00", "daily_dose": "250 mcg/day"},
                                  {"start": "07:00", "daily_dose": "350 mcg/day"}]
    assert events[5] == {"at": "2025-02-11T09:00:00-07:00", "type": "bolus", "id": "MA-90518",
                         "by": "Helen Marsh, MD", "reason": "Breakthrough spasms", "kind": "clinician",
                         "dose": "50 mcg", "duration": "30 min"}
    assert events[6]["reservoir"] == "12 mL"
    assert events[7]["mas_by_muscle"] == {"knee-extensors-right": "2"}  # "Right quadriceps", valueQuantity 2
    assert events[8]["withdrawn"] == "11.8 mL"  # the residual Observation at the same instant
    assert events[9]["catheter"] == {"model": "prometra", "length_cm": 58.0}  # 580 mm
    notes = {n.resource: (n.outcome, n.detail) for n in result.notes}
    assert notes["Observation/M-445120"] == ("event", "assessment (not imported: Pain score)")
    assert notes["Appointment/AP-1201"][0] == notes["Flag/F-220"][0] == "not-imported"
    assert [a.kind for a in result.allergies] == ["no-known-allergies"]


def _refused(bundle: dict[str, Any], words: str, where: str, name: str = EPIC, **options: str) -> InputError:
    with pytest.raises(InputError, match=words) as info:
        _import(bundle, name, **options)
    assert info.value.where is not None and where in info.value.where, info.value.where
    assert info.value.fix, "every refusal says what to do"
    return info.value


def test_a_bundle_without_a_time_zone_asks_for_one() -> None:
    error = _refused(_bundle(EPIC), "no time zone", "Patient/eRk3Jq4Q0p1ZgS8Jt7mBv3A3", timezone="")
    assert "--timezone" in (error.fix or "")
    _refused(_bundle(CERNER), "--timezone says Europe/Berlin", "Patient/12742399", CERNER, timezone="Europe/Berlin")


def test_an_unknown_or_ambiguous_pump_is_refused_with_the_known_models() -> None:
    bundle = _bundle(EPIC)
    pump = _resource(bundle, "Device/eDev.ITB.pump.1")
    pump.update(deviceName=[{"name": "Codman 3000 constant-flow pump", "type": "user-friendly-name"}],
                modelNumber="3000-30", manufacturer="Codman", udiCarrier=[])
    error = _refused(bundle, "is not in the catalog", "Device/eDev.ITB.pump.1")
    assert "SynchroMed II 40 mL (8637-40) [synchromed-ii-40]" in (error.fix or "")
    pump.update(deviceName=[{"name": "SynchroMed II", "type": "user-friendly-name"}], modelNumber="8637",
                manufacturer="Medtronic")
    _refused(bundle, "which reservoir, 20 mL or 40 mL", "Device/eDev.ITB.pump.1")


def test_the_implant_needs_the_catheter_length() -> None:
    bundle = _bundle(EPIC)
    del _resource(bundle, "Device/eDev.ITB.cath.1")["property"]
    _refused(bundle, "length of the catheter is not given", "Device/eDev.ITB.cath.1")


@pytest.mark.parametrize(("value", "words"), [({"valueString": "1.5"}, "not one Modified Ashworth grade"),
                                              ({"valueString": "2 or 3"}, "not one Modified Ashworth grade"),
                                              ({"valueInteger": 5}, "not one Modified Ashworth grade")])
def test_an_ambiguous_mas_grade_is_refused(value: dict[str, Any], words: str) -> None:
    bundle = _bundle(EPIC)
    obs = _resource(bundle, "Observation/eObs.MAS.1")
    del obs["valueString"]
    obs.update(value)
    _refused(bundle, words, "Observation/eObs.MAS.1")


def test_a_muscle_group_without_a_side_is_refused() -> None:
    bundle = _bundle(EPIC)
    _resource(bundle, "Observation/eObs.MAS.1")["bodySite"] = {"text": "Hip adductors"}
    _refused(bundle, "does not say one side", "Observation/eObs.MAS.1")


def test_a_rate_in_mg_per_day_above_the_absolute_limit_is_refused() -> None:
    # 300 mg/d intrathecal = 300,000 mcg/day: a unit slip (mg for ug), far above 2000 mcg/day (GAB-SUM)
    bundle = _bundle(EPIC)
    rate = _resource(bundle, "MedicationRequest/eMR.ITB.130")["dosageInstruction"][0]["doseAndRate"][0]
    rate["rateQuantity"] = {"value": 300, "unit": "mg/d", "system": "http://unitsofmeasure.org", "code": "mg/d"}
    error = _refused(bundle, "above the absolute intrathecal limit", "MedicationRequest/eMR.ITB.130")
    assert "300000 mcg/day" in error.message and "check the unit" in (error.fix or "")


def test_a_refill_without_the_volume_withdrawn_is_refused() -> None:
    bundle = _bundle(EPIC)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("id") != "eObs.residual.0503"]
    _refused(bundle, "volume withdrawn", "MedicationAdministration/eMA.refill.0503")


def test_an_overfill_is_refused_naming_the_administration() -> None:
    # 44 mL into a 40 mL SynchroMed II: the timeline's rule, reported at the resource it came from
    bundle = _bundle(EPIC)
    _resource(bundle, "MedicationAdministration/eMA.refill.0503")["dosage"]["dose"]["value"] = 44
    _refused(bundle, "as a refill event: adding 44 mL overfills the 40 mL reservoir",
             "MedicationAdministration/eMA.refill.0503.added")


def test_a_date_without_a_time_is_refused() -> None:
    bundle = _bundle(EPIC)
    _resource(bundle, "MedicationAdministration/eMA.refill.0503")["effectiveDateTime"] = "2025-05-03"
    _refused(bundle, "a date without a time", "MedicationAdministration/eMA.refill.0503")


def test_the_etiology_comes_from_the_conditions_or_the_option() -> None:
    bundle = _bundle(EPIC)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Condition"]
    _refused(bundle, "does not say the origin of the spasticity", "Patient/", )
    assert _import(copy.deepcopy(bundle), etiology="multiple-sclerosis").timeline.patient.etiology == \
        "multiple-sclerosis"
    with pytest.raises(InputError, match="unknown etiology"):
        _import(bundle, etiology="gout")


def test_a_resource_about_another_patient_is_refused() -> None:
    bundle = _bundle(EPIC)
    other = {"fullUrl": "https://fhir.example-health.org/api/FHIR/R4/Patient/eOther",
             "resource": {"resourceType": "Patient", "id": "eOther"}}
    _refused({**bundle, "entry": [*bundle["entry"], other]}, "expected one Patient, found 2", EPIC)
    _resource(bundle, "Observation/eObs.Penn.1")["subject"] = {"reference": "Patient/eOther"}
    _refused(bundle, "about another patient", "Observation/eObs.Penn.1")


def test_invalid_fhir_is_refused_naming_the_resource() -> None:
    bundle = _bundle(CERNER)
    _resource(bundle, "Procedure/P-55901")["status"] = 7
    _refused(bundle, "not valid FHIR R4", "Procedure/P-55901", CERNER)


def test_cli_imports_an_ehr_bundle_and_lists_what_it_left(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "thecal", "fhir", "import", *args], capture_output=True,
                              text=True, cwd=tmp_path, check=False)

    src = str(FIXTURES / EPIC)
    refused = run(src, "--out", "t.yaml")
    assert refused.returncode == 2 and "pass --timezone" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert not (tmp_path / "t.yaml").exists()
    done = run(src, "--out", "t.yaml", "--timezone", "America/Chicago", "--report", "r.json")
    assert done.returncode == 0, done.stderr
    assert "timeline of 203713 with 12 events (from a Bundle written by another system)" in done.stdout
    assert "allergy: allergy to Penicillins (Hives) — not in the timeline file" in done.stdout
    assert "not imported: Observation/eObs.BP.1" in done.stdout
    assert timeline_to_dict(load_timeline(tmp_path / "t.yaml")) == timeline_to_dict(
        _import(_bundle(EPIC)).timeline)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["source"] == "ehr" and len(report["resources"]) == len(_bundle(EPIC)["entry"])


def test_unrelated_records_with_bare_dates_never_block_the_import() -> None:
    # EHRs often give other records a date without a time; only the events thecal reads need a time
    bundle = _bundle(EPIC)
    patient = {"reference": "Patient/eRk3Jq4Q0p1ZgS8Jt7mBv3A3"}
    bundle["entry"] += [
        {"resource": {"resourceType": "Procedure", "id": "colo", "status": "completed", "subject": patient,
                      "code": {"text": "Colonoscopy"}, "performedDateTime": "2023-05-02"}},
        {"resource": {"resourceType": "MedicationAdministration", "id": "apap", "status": "completed",
                      "subject": patient, "medicationCodeableConcept": {"text": "acetaminophen 500 mg tablet"},
                      "effectiveDateTime": "2025-03-05"}},
    ]
    _resource(bundle, "AllergyIntolerance/eAll.PCN")["recordedDate"] = "2019-08-14"
    result = _import(bundle)
    notes = {n.resource: n.outcome for n in result.notes}
    assert notes["Procedure/colo"] == notes["MedicationAdministration/apap"] == "not-imported"
    assert result.allergies[0].substance == "Penicillins" and result.allergies[0].recorded_at is None


@pytest.mark.parametrize("rate", [
    {"value": 100, "system": "http://unitsofmeasure.org", "code": "ug/d"},
    {"value": 0.1, "system": "http://unitsofmeasure.org", "code": "mg/d"},
    {"value": 100, "system": "http://unitsofmeasure.org", "code": "ug/(24.h)"},
    {"value": 100, "unit": "mcg/day"},
    {"value": 100, "unit": "mcg/24 hr"},
    {"value": 100, "unit": "µg/d"},
    {"value": 100, "unit": "mcg/d"},
])
def test_a_daily_rate_in_any_usual_unit_reads_as_mcg_per_day(rate: dict[str, Any]) -> None:
    bundle = _bundle(EPIC)
    _resource(bundle, "MedicationRequest/eMR.ITB.100")["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"] = rate
    program = next(e for e in _events(_import(bundle)) if e.get("id") == "eMR.ITB.100")
    assert program["daily_dose"] == "100 mcg/day"


@pytest.mark.parametrize("rate", [{"value": 100}, {"value": 100, "unit": "mL/d"}])
def test_a_rate_without_a_mass_per_day_is_refused(rate: dict[str, Any]) -> None:
    bundle = _bundle(EPIC)
    _resource(bundle, "MedicationRequest/eMR.ITB.100")["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"] = rate
    _refused(bundle, "is not a daily dose", "MedicationRequest/eMR.ITB.100")
