"""Cookie sessions with CSRF, 422 field messages, refill and program flows through HTTP."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from thecal.service import update_site_settings
from thecal.service.actors import SYSTEM
from thecal.service.testing import PASSWORD, World
from thecal.store.tables import audit

LOT = {"lot": "LB2093", "expiry": "2030-06-30"}  # every recorded refill names its drug


def _login(client: TestClient, name: str) -> str:
    response = client.post("/api/v1/login", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "__Host-thecal_session=" in cookie and "HttpOnly" in cookie
    assert "Secure" in cookie and "samesite=lax" in cookie.lower()
    return str(response.json()["csrf_token"])


def test_cookie_session_needs_csrf_for_writes(client: TestClient, world: World) -> None:
    csrf = _login(client, "nurse")
    assert client.get(f"/api/v1/patients/{world.patient_a}").status_code == 200
    body = {"event": {"at": world.clock.now().isoformat(), "type": "note", "text": "x"},
            "expected_version": 3}
    url = f"/api/v1/patients/{world.patient_a}/timeline"
    assert client.post(url, json=body).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert client.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get(f"/api/v1/patients/{world.patient_a}").status_code == 401


def test_idle_session_answers_401(client: TestClient, world: World) -> None:
    _login(client, "nurse")
    world.clock.advance(timedelta(minutes=31))
    assert client.get("/api/v1/me").status_code == 401


def test_throttled_login_is_429_with_retry_after(client: TestClient) -> None:
    for _ in range(5):
        r = client.post("/api/v1/login", json={"username": "nurse", "password": "x" * 12})
        assert r.status_code == 401
    r = client.post("/api/v1/login", json={"username": "nurse", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_bad_input_is_422_with_field_and_nothing_written(client: TestClient,
                                                          tokens: dict[str, str],
                                                          world: World) -> None:
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    for field, value in (("added", "1e3 mL"), ("concentration", "500"), ("withdrawn", ".5 mL")):
        body = {"withdrawn": "0 mL", "added": "1 mL", "concentration": "500 mcg/mL",
                "expected_version": 3, "reason": "r", **LOT, field: value}
        r = client.post(url, json=body, headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", field]
    r = client.post(url, json={"withdrawn": "0 mL", "added": "60 mL",
                               "concentration": "500 mcg/mL", "expected_version": 3,
                               "reason": "r", **LOT}, headers=headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "added"]
    r = client.post(url, json={"added": "1 mL"}, headers=headers)
    assert r.status_code == 422 and {tuple(d["loc"]) for d in r.json()["detail"]} >= {
        ("body", "withdrawn"), ("body", "concentration"), ("body", "expected_version")}
    timeline = client.get(f"/api/v1/patients/{world.patient_a}/timeline", headers=headers)
    assert timeline.json()["version"] == 3


def test_stale_version_is_409(client: TestClient, tokens: dict[str, str], world: World) -> None:
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    r = client.post(f"/api/v1/patients/{world.patient_a}/assessments",
                    json={"mas": "2", "expected_version": 1}, headers=headers)
    assert r.status_code == 409


def test_program_change_propose_then_confirm_with_password(client: TestClient,
                                                           tokens: dict[str, str],
                                                           world: World) -> None:
    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    base = f"/api/v1/patients/{world.patient_a}/program"
    r = client.post(f"{base}/proposal", headers=headers, json={
        "program": {"mode": "continuous", "daily_dose": "120 mcg/day"}, "expected_version": 3})
    assert r.status_code == 200, r.text
    proposal = r.json()
    assert proposal["comparison"]["old_daily_total_mcg"] == 100
    assert proposal["comparison"]["new_daily_total_mcg"] == 120
    assert proposal["titration"]["allowed"] is True
    token = proposal["confirmation_token"]
    wrong = client.post(f"{base}/confirm", headers=headers,
                        json={"confirmation_token": token, "password": "not my password"})
    assert wrong.status_code == 403
    other = {"Authorization": f"Bearer {tokens['clinician2']}"}
    assert client.post(f"{base}/confirm", headers=other,
                       json={"confirmation_token": token, "password": PASSWORD}
                       ).status_code == 404
    ok = client.post(f"{base}/confirm", headers=headers,
                     json={"confirmation_token": token, "password": PASSWORD,
                           "reason": "below the usual range after implant"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["event"]["daily_dose"] == "120 mcg/day"
    again = client.post(f"{base}/confirm", headers=headers,
                        json={"confirmation_token": token, "password": PASSWORD})
    assert again.status_code == 409


def test_concentration_change_needs_password_and_second_clinician(
        client: TestClient, tokens: dict[str, str], world: World) -> None:
    update_site_settings(world.clinic, SYSTEM, world.site_a,
                         {"require_second_clinician_for_concentration_change": True})
    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    proposal = client.post(f"{url}/proposal", headers=headers, json={
        "withdrawn": "28 mL", "added": "20 mL", "concentration": "1000 mcg/mL"}).json()
    assert proposal["concentration_change"] and proposal["bridge_bolus_needed"]
    assert proposal["needs_second_clinician"]
    expected = proposal["expected_residual_ml"]
    body = {"withdrawn": f"{expected:.1f} mL", "added": "20 mL",
            "concentration": "1000 mcg/mL", "expected_version": 3, **LOT}
    assert client.post(url, headers=headers, json=body).status_code == 422  # no password
    r = client.post(url, headers=headers, json={**body, "password": PASSWORD})
    assert r.status_code == 202, r.text
    assert r.json()["event"]["concentration"] == "1000 mcg/mL"  # recorded at once
    pending = r.json()["pending_id"]
    same = client.post(f"/api/v1/pending/{pending}/confirm", headers=headers,
                       json={"password": PASSWORD})
    assert same.status_code == 403
    second = {"Authorization": f"Bearer {tokens['clinician2']}"}
    done = client.post(f"/api/v1/pending/{pending}/confirm", headers=second,
                       json={"password": PASSWORD})
    assert done.status_code == 201, done.text
    with world.clinic.engine.connect() as conn:
        last = conn.execute(select(audit).where(audit.c.action == "pending.confirm")
                            .order_by(audit.c.id.desc()).limit(1)).mappings().one()
    assert last["actor"] == "clinician2" and "second signer" in last["detail"]


def test_openapi_document(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/patients/{patient_id}/timeline" in doc["paths"]


def test_the_bridge_bolus_with_the_refill_or_as_its_own_event(
        client: TestClient, tokens: dict[str, str], world: World) -> None:
    """An API client records the bridge bolus it programmed with the refill
    (``bridge_bolus: true``: one transaction, at the refill's time), or later as its own
    ``bolus`` event; a refill without one leaves the (true) finding."""
    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    expected = client.post(f"{url}/proposal", headers=headers, json={
        "withdrawn": "28 mL", "added": "20 mL", "concentration": "1000 mcg/mL"}
    ).json()["expected_residual_ml"]
    body = {"withdrawn": f"{expected:.1f} mL", "added": "20 mL", "concentration": "1000 mcg/mL",
            "expected_version": 3, "password": PASSWORD, **LOT}
    # the strength unchanged: no bridge bolus to record, and nothing written
    same = client.post(url, headers=headers, json={**body, "concentration": "500 mcg/mL",
                                                   "bridge_bolus": True})
    assert same.status_code == 422 and same.json()["detail"][0]["loc"][-1] == "bridge_bolus"
    r = client.post(url, headers=headers, json={**body, "bridge_bolus": True})
    assert r.status_code == 201, r.text
    refill, bolus = r.json()["event"], r.json()["bridge_bolus_event"]
    assert (bolus["type"], bolus["kind"], bolus["at"], bolus["by"]) == (
        "bolus", "bridge", refill["at"], refill["by"])
    assert bolus["seq"] == refill["seq"] + 1 == 5
    twin = client.get(f"/api/v1/patients/{world.patient_a}/projection", headers=headers).json()
    assert "missing-bridge-bolus" not in {f["code"] for f in twin["findings"]}
    # the next change without one: the finding; a bolus appended later as its own event ends it
    world.clock.set(world.clock.now() + timedelta(days=1))
    body = {**body, "concentration": "2000 mcg/mL", "withdrawn": "0.5 mL", "expected_version": 5,
            "reason": "reservoir nearly full after yesterday's refill"}
    r = client.post(url, headers=headers, json=body)
    assert r.status_code == 201, r.text
    assert r.json().get("bridge_bolus_event") is None  # none recorded with this refill
    twin = client.get(f"/api/v1/patients/{world.patient_a}/projection", headers=headers).json()
    assert "missing-bridge-bolus" in {f["code"] for f in twin["findings"]}
    later = client.post(f"/api/v1/patients/{world.patient_a}/timeline", headers=headers, json={
        "expected_version": 6, "event": {"at": r.json()["event"]["at"], "type": "bolus",
                                         "kind": "bridge"}})
    assert later.status_code == 201, later.text
    twin = client.get(f"/api/v1/patients/{world.patient_a}/projection", headers=headers).json()
    assert "missing-bridge-bolus" not in {f["code"] for f in twin["findings"]}


def test_assessment_by_muscle_group_over_the_api(client: TestClient, tokens: dict[str, str],
                                                 world: World) -> None:
    """``mas_by_muscle`` in the timeline's vocabulary; the overall grade is the highest."""
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    url = f"/api/v1/patients/{world.patient_a}/assessments"
    r = client.post(url, headers=headers, json={
        "expected_version": 3, "penn_frequency": 2,
        "mas_by_muscle": {"knee-extensors-right": "1+", "hip-adductors-left": "2"}})
    assert r.status_code == 201, r.text
    assert r.json()["mas"] == "2"
    assert r.json()["mas_by_muscle"] == {"hip-adductors-left": "2", "knee-extensors-right": "1+"}
    bad = client.post(url, headers=headers, json={"expected_version": 4,
                                                  "mas_by_muscle": {"hip-adductors": "2"}})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "hip-adductors"
    old_key = client.post(url, headers=headers, json={"expected_version": 4,
                                                      "mas_by_group": {"hip-flexors": "2"}})
    assert old_key.status_code == 422  # never an API field: nothing to keep for a release
