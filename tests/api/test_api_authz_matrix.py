"""Every role × every endpoint × own and foreign record → 2xx, 403 or 404, each refusal audited.

Expected answer: the role's permission table says whether the action is allowed at all
(403 if not); an allowed action on a patient outside the actor's relation is 404 (no
existence leak); otherwise 2xx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from thecal.service import authz
from thecal.service.testing import World
from thecal.store import audit as audit_store
from thecal.store.records import get_patient
from thecal.store.tables import audit

ROLES = ("clinician", "nurse", "pharmacist", "patient", "caregiver", "administrator")

Body = Callable[[World, int], dict[str, Any] | None]


def version(world: World, patient_id: int) -> int:
    with world.clinic.engine.connect() as conn:
        row = get_patient(conn, patient_id)
    return int(row["version"]) if row else 0


def note(world: World, pid: int) -> dict[str, Any]:
    return {"event": {"at": world.clock.now().isoformat(), "type": "note", "text": "call"},
            "expected_version": version(world, pid)}


PATIENT_ENDPOINTS: list[tuple[str, str, str, Body]] = [
    ("GET", "", authz.READ, lambda w, p: None),
    ("GET", "/chart", authz.READ, lambda w, p: None),
    ("GET", "/timeline", authz.READ, lambda w, p: None),
    ("POST", "/timeline", authz.APPEND, note),
    ("GET", "/projection", authz.READ, lambda w, p: None),
    ("GET", "/care-team", authz.READ, lambda w, p: None),
    ("POST", "/refill/proposal", authz.REFILL_PROPOSE,
     lambda w, p: {"withdrawn": "0 mL", "added": "1 mL", "concentration": "500 mcg/mL"}),
    ("POST", "/refill", authz.REFILL_RECORD,
     lambda w, p: {"withdrawn": "0 mL", "added": "1 mL", "concentration": "500 mcg/mL",
                   "reason": "top-up, residual not withdrawn", "expected_version": version(w, p),
                   "lot": "LB2093", "expiry": "2030-06-30"}),
    ("POST", "/program/proposal", authz.PROGRAM_PROPOSE,
     lambda w, p: {"program": {"mode": "continuous", "daily_dose": "110 mcg/day"},
                   "expected_version": version(w, p)}),
    ("POST", "/assessments", authz.ASSESS,
     lambda w, p: {"mas": "2", "expected_version": version(w, p)}),
    ("POST", "/symptoms", authz.SYMPTOMS, lambda w, p: {"codes": ["itching"]}),
    ("POST", "/eligibility", authz.ADVICE, lambda w, p: {}),
    ("POST", "/screening", authz.ADVICE, lambda w, p: {}),
    ("POST", "/titration", authz.ADVICE, lambda w, p: {"report": "too-tight"}),
]


def _last_audit(world: World) -> dict[str, Any]:
    with world.clinic.engine.connect() as conn:
        return dict(conn.execute(select(audit).order_by(audit.c.id.desc()).limit(1))
                    .mappings().one())


def _expected(role: str, action: str, own: bool) -> int | None:
    if not authz.allowed(authz_actor(role), action):
        return 403
    return None if own else 404


def authz_actor(role: str) -> Any:
    from thecal.service import Actor

    return Actor(user_id=0, username=role, role=role)


@pytest.mark.parametrize("role", ROLES)
def test_patient_endpoints_matrix(world: World, client: TestClient, tokens: dict[str, str],
                                  role: str) -> None:
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    for own, pid in ((True, world.patient_a), (False, world.patient_b)):
        for method, suffix, action, make_body in PATIENT_ENDPOINTS:
            body = make_body(world, pid)
            response = client.request(method, f"/api/v1/patients/{pid}{suffix}", json=body,
                                      headers=headers)
            expected = _expected(role, action, own)
            where = f"{role} {method} {suffix or '/'} {'own' if own else 'foreign'}"
            if expected is None:
                assert 200 <= response.status_code < 300, (where, response.text)
            else:
                assert response.status_code == expected, (where, response.text)
                row = _last_audit(world)
                assert row["actor"] == role, where
                assert row["outcome"] == ("denied" if expected == 403 else "not-found"), where
    with world.clinic.engine.connect() as conn:
        assert audit_store.verify_chain(conn).ok


SITE_ENDPOINTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/worklist", authz.WORKLIST, None),
    ("GET", "/api/v1/patients", authz.READ, None),
    ("POST", "/api/v1/patients", authz.CREATE,
     {"mrn": "N-1", "display_name": "New", "born": "1990-01-01", "timezone": "Europe/Berlin",
      "etiology": "stroke"}),
    ("GET", "/api/v1/users", authz.USERS_MANAGE, None),
    ("POST", "/api/v1/sites", authz.SITE_CREATE, {"name": "Site C"}),
]


@pytest.mark.parametrize("role", ROLES)
def test_site_endpoints_matrix(client: TestClient, tokens: dict[str, str], world: World,
                               role: str) -> None:
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    for method, path, action, body in SITE_ENDPOINTS:
        response = client.request(method, path, json=body, headers=headers)
        if authz.allowed(authz_actor(role), action):
            assert 200 <= response.status_code < 300, (role, path, response.text)
        else:
            assert response.status_code == 403, (role, path, response.text)
            assert _last_audit(world)["outcome"] == "denied"


def test_lists_show_only_related_patients(client: TestClient, tokens: dict[str, str],
                                          world: World) -> None:
    for role in ("clinician", "nurse", "patient", "caregiver"):
        response = client.get("/api/v1/patients",
                              headers={"Authorization": f"Bearer {tokens[role]}"})
        assert [p["id"] for p in response.json()] == [world.patient_a], role
    response = client.get("/api/v1/worklist",
                          headers={"Authorization": f"Bearer {tokens['clinician_b']}"})
    assert [p["patient_id"] for p in response.json()] == [world.patient_b]


def test_no_credentials_is_401(client: TestClient, world: World) -> None:
    response = client.get(f"/api/v1/patients/{world.patient_a}")
    assert response.status_code == 401
    assert _last_audit(world)["outcome"] in {"ok", "unauthenticated", "not-found", "denied"}
