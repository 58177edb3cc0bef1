"""De-provisioning (issue 12: no way to deactivate a user, revoke a 90-day token, remove a
caregiver link or a care-team member). Through the API and the web, audited; a deactivated
user's sessions and tokens end at once."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from security_support import bearer
from sqlalchemy import select

from thecal.service import login
from thecal.service.testing import PASSWORD, World
from thecal.store.tables import audit


def _actions(world: World) -> list[str]:
    with world.clinic.engine.connect() as conn:
        return list(conn.execute(select(audit.c.action).where(audit.c.outcome == "ok")).scalars())


def test_deactivate_ends_token_and_session_at_once(client: TestClient, tokens: dict[str, str],
                                                   world: World) -> None:
    nurse = bearer(tokens, "nurse")
    session = login(world.clinic, "nurse", PASSWORD)
    assert client.get("/api/v1/me", headers=nurse).status_code == 200
    response = client.post(f"/api/v1/users/{world.users['nurse'].id}/deactivate",
                           json={"reason": "left the clinic"},
                           headers=bearer(tokens, "administrator"))
    assert response.status_code == 200, response.text
    assert response.json()["tokens_revoked"] == 1 and response.json()["sessions_ended"] == 1
    assert client.get("/api/v1/me", headers=nurse).status_code == 401
    client.cookies.set("__Host-thecal_session", session.session_token)
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    assert client.post("/api/v1/token", json={"username": "nurse", "password": PASSWORD}
                       ).status_code == 401
    assert "user.deactivate" in _actions(world)


def test_revoke_tokens_unlink_and_remove_member(client: TestClient, tokens: dict[str, str],
                                                world: World) -> None:
    admin = bearer(tokens, "administrator")
    clinician = world.users["clinician"].id
    assert client.post(f"/api/v1/users/{clinician}/revoke-tokens", headers=admin
                       ).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(tokens, "clinician")).status_code == 401
    caregiver = bearer(tokens, "caregiver")
    assert client.get(f"/api/v1/patients/{world.patient_a}", headers=caregiver
                      ).status_code == 200
    unlinked = client.delete(f"/api/v1/caregiver-links/{world.users['caregiver'].id}/"
                             f"{world.patient_a}", headers=admin)
    assert unlinked.status_code == 204, unlinked.text
    assert client.get(f"/api/v1/patients/{world.patient_a}", headers=caregiver
                      ).status_code == 404
    pharmacist = world.users["pharmacist"].id
    assert client.post(f"/api/v1/patients/{world.patient_a}/care-team",
                       json={"user_id": pharmacist, "team_role": "pharmacist"},
                       headers=admin).status_code == 204
    removed = client.delete(f"/api/v1/patients/{world.patient_a}/care-team/{pharmacist}",
                            headers=admin)
    assert removed.status_code == 204, removed.text
    team = client.get(f"/api/v1/patients/{world.patient_a}/care-team",
                      headers=bearer(tokens, "nurse")).json()
    assert pharmacist not in [m.get("user_id") for m in team]
    assert {"token.revoke-all", "caregiver.unlink", "care-team.remove"} <= set(_actions(world))


def test_web_page_deactivates_with_csrf(world: World) -> None:
    from thecal.app import create_app

    app = create_app(world.clinic.settings, clinic=world.clinic)
    with TestClient(app, base_url="https://testserver") as web:
        page = web.get("/login").text
        token = re.search(r'name="login_csrf" value="([^"]+)"', page)
        assert token
        signed = web.post("/login", data={"username": "administrator", "password": PASSWORD,
                                          "login_csrf": token.group(1)})
        assert signed.status_code == 200, signed.text
        users = web.get("/clinic/users")
        assert users.status_code == 200 and "nurse" in users.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', users.text)
        assert csrf
        nurse = world.users["nurse"].id
        assert web.post(f"/clinic/users/{nurse}/deactivate", data={"reason": "x"}
                        ).status_code == 403
        done = web.post(f"/clinic/users/{nurse}/deactivate",
                        data={"csrf_token": csrf.group(1), "reason": "left"})
        assert done.status_code == 200 and 'id="done"' in done.text
        other = world.users["clinician_b"].id
        assert web.post(f"/clinic/users/{other}/deactivate",
                        data={"csrf_token": csrf.group(1)}).status_code == 404
    assert "user.deactivate" in _actions(world)
