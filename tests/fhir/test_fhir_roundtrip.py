"""FHIR R4: every resource validates with fhir.resources R4B; export → import → export is lossless for
every bundled example, scenario, test fixture and demo patient, with the twin's projection identical."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from thecal.clinical.projection import project
from thecal.errors import InputError
from thecal.fhir import AllergyRecord, bundle_to_timeline, import_bundle, timeline_to_bundle
from thecal.fhir import codes as c
from thecal.timeline import Timeline, load_timeline, timeline_to_dict

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("src/thecal/examples/*.yaml"), *ROOT.glob("src/thecal/scenarios/*.yaml"),
                *ROOT.glob("tests/fixtures/*.yaml"), *ROOT.glob("tests/fixtures/fhir/*.yaml")])
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _check_lossless(timeline: Timeline, allergies: tuple[AllergyRecord, ...] = ()) -> dict:
    bundle = timeline_to_bundle(timeline, recorded_at=AT, allergies=allergies)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)  # raises if invalid
    result = import_bundle(json.loads(json.dumps(bundle)))
    back = result.timeline
    assert result.source == "thecal" and result.allergies == tuple(allergies)
    assert timeline_to_dict(back) == timeline_to_dict(timeline)
    assert bundle_to_timeline(json.loads(json.dumps(bundle))) == back
    again = timeline_to_bundle(back, recorded_at=AT, allergies=result.allergies)
    assert again == bundle
    end = timeline.events[-1].at + timedelta(days=30)
    assert project(back, end).as_dict() == project(timeline, end).as_dict()
    return bundle


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bundled_timelines_round_trip_losslessly(path: Path) -> None:
    _check_lossless(load_timeline(path))


def test_resources_carry_the_mapping() -> None:
    bundle = _check_lossless(load_timeline(ROOT / "src/thecal/examples/demo-017.yaml"))
    by_type: dict[str, list[dict]] = {}
    for e in bundle["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    assert {"Patient", "Device", "DeviceUseStatement", "MedicationRequest", "MedicationAdministration",
            "Procedure", "Observation", "Flag", "Provenance"} <= set(by_type)
    assert "AllergyIntolerance" not in by_type  # the timeline records none, so none is invented
    rates = [dr["rateQuantity"] for mr in by_type["MedicationRequest"] for d in mr.get("dosageInstruction", [])
             for dr in d["doseAndRate"]]
    assert rates and all(q["system"] == c.UCUM and q["code"] == "ug/d" for q in rates)
    pump = next(d for d in by_type["Device"] if d["id"].startswith("pump"))
    assert pump["modelNumber"] == "synchromed-ii-40" and pump["manufacturer"] == "Medtronic"
    mas = [comp for o in by_type["Observation"] for comp in o.get("component", [])
           if comp["code"]["coding"][0]["code"] == "mas"]
    assert mas and all(m["valueCodeableConcept"]["coding"][0]["system"] == c.CS_MAS for m in mas)
    assert {f["id"] for f in by_type["Flag"]} == {"mri-precautions", "withdrawal-risk"}
    for cs in (c.assessment_code_system(), c.mas_code_system(), c.event_code_system()):
        get_fhir_model_class("CodeSystem").model_validate(cs)


def test_an_invalid_bundle_is_refused_with_the_place() -> None:
    with pytest.raises(InputError, match="not a FHIR Bundle"):
        bundle_to_timeline({"resourceType": "Patient"})
    bundle = timeline_to_bundle(load_timeline(ROOT / "tests/fixtures/golden-20ml.yaml"), recorded_at=AT)
    bundle["entry"][0]["resource"]["birthDate"] = "not a date"
    with pytest.raises(InputError, match="valid FHIR R4"):
        bundle_to_timeline(bundle)


@pytest.fixture(scope="module")
def demo_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[tuple[Timeline, dict]]]:
    """Every demo patient's timeline, and the Bundle the clinic exports for them (with allergies)."""
    from thecal.demo import create_demo
    from thecal.service import Clinic, Settings
    from thecal.service.actors import SYSTEM
    from thecal.service.fhir_export import patient_bundle
    from thecal.service.passwords import use_test_parameters
    from thecal.service.twin import build_timeline
    from thecal.store import events as event_store
    from thecal.store import records

    use_test_parameters()
    path = tmp_path_factory.mktemp("fhir-demo") / "demo.sqlite3"
    clinic = Clinic.open(Settings(database_url=f"sqlite:///{path}"))
    try:
        demo = create_demo(clinic)
        out = []
        for pid in demo.patient_ids:
            with clinic.transaction() as conn:
                patient = records.get_patient(conn, pid)
                assert patient is not None
                timeline = build_timeline(patient, event_store.list_events(conn, pid))
            out.append((timeline, patient_bundle(clinic, SYSTEM, pid)))
        yield out
    finally:
        clinic.dispose()


def test_every_demo_patient_round_trips(demo_records: list[tuple[Timeline, dict]]) -> None:
    assert len(demo_records) == 40
    for timeline, bundle in demo_records:
        result = import_bundle(json.loads(json.dumps(bundle)))
        assert timeline_to_dict(result.timeline) == timeline_to_dict(timeline)
        _check_lossless(timeline, result.allergies)
    # the demo records an allergy for its first patient and "no known allergies" for its second
    first = import_bundle(demo_records[0][1]).allergies
    assert [(a.kind, a.substance, a.reaction) for a in first] == [("allergy", "penicillin", "rash")]
    second = import_bundle(demo_records[1][1]).allergies
    assert [a.kind for a in second] == ["no-known-allergies"]
    assert all(not import_bundle(b).allergies for _, b in demo_records[2:])


def test_cli_export_import_export(tmp_path: Path) -> None:
    src = ROOT / "src/thecal/examples/demo-017.yaml"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "thecal", "fhir", *args], capture_output=True, text=True,
                              cwd=tmp_path, check=False)

    assert run("export", str(src), "--out", "b.json").returncode == 0
    assert run("import", "b.json", "--out", "t.yaml").returncode == 0
    assert timeline_to_dict(load_timeline(tmp_path / "t.yaml")) == timeline_to_dict(load_timeline(src))
    (tmp_path / "bad.json").write_text("{nope")
    bad = run("import", "bad.json", "--out", "x.yaml")
    assert bad.returncode == 2 and bad.stderr.startswith("error: bad.json: not valid JSON")
    assert not (tmp_path / "x.yaml").exists()


def test_mas_per_muscle_group_is_one_component_per_group() -> None:
    timeline = load_timeline(ROOT / "tests/fixtures/fhir/thecal-per-muscle.yaml")
    bundle = _check_lossless(timeline)
    observations = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    first = observations[0]  # the assessment of 2026-01-12: overall 3, four muscle groups
    groups = {comp["code"]["coding"][0]["code"]: comp["valueCodeableConcept"]["coding"][0]["code"]
              for comp in first["component"] if comp["code"]["coding"][0]["system"] == c.CS_MAS_MUSCLE}
    assert groups == {"hip-adductors-left": "3", "hip-adductors-right": "2", "knee-flexors-left": "1+",
                      "ankle-plantarflexors-right": "2"}
    overall = [comp for comp in first["component"] if comp["code"]["coding"][0]["code"] == "mas"]
    assert [o["valueCodeableConcept"]["coding"][0]["code"] for o in overall] == ["3"]
    second = observations[1]  # groups only: no overall grade is invented
    assert not [comp for comp in second["component"] if comp["code"]["coding"][0]["code"] == "mas"]
    get_fhir_model_class("CodeSystem").model_validate(c.mas_muscle_code_system())


def test_allergies_and_no_known_allergies_round_trip() -> None:
    timeline = load_timeline(ROOT / "tests/fixtures/golden-20ml.yaml")
    at = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)
    allergies = (AllergyRecord("allergy", "baclofen", "hives and wheeze", at, "nurse.kim"),
                 AllergyRecord("allergy", "Penicillin", "", None, ""))
    bundle = _check_lossless(timeline, allergies)
    written = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "AllergyIntolerance"]
    assert [w["code"]["text"] for w in written] == ["baclofen", "Penicillin"]
    # baclofen is a contraindication to ITB (FDA-LAB): coded for the EHR and marked high criticality
    assert written[0]["code"]["coding"][0]["code"] == c.SCT_BACLOFEN and written[0]["criticality"] == "high"
    assert written[0]["reaction"][0]["manifestation"][0]["text"] == "hives and wheeze"
    none_known = (AllergyRecord("no-known-allergies", "no known allergies", "", at, "dr.lee"),)
    bundle = _check_lossless(timeline, none_known)
    nka = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "AllergyIntolerance"]
    assert nka[0]["code"]["coding"][0] == {"system": c.SNOMED, "code": c.SCT_NO_KNOWN_ALLERGY,
                                           "display": "No known allergy"}
