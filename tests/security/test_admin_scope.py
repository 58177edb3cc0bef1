"""Administrators are confined to their site; cross-site work is `thecal admin` on the server
(issue 12: the site-A administrator made a clinician at site B who then read site-B records,
a login for a site-B patient, a caregiver link and a care-team member there, and changed site
B's clinic phone; its own user list hid what it had made)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from security_support import bearer
from sqlalchemy import select
from typer.testing import CliRunner

from thecal.cli.main import app as cli
from thecal.service.testing import PASSWORD, World
from thecal.store.tables import audit, users


def _outcomes(world: World, action: str) -> list[str]:
    with world.clinic.engine.connect() as conn:
        return list(conn.execute(select(audit.c.outcome).where(audit.c.action == action)
                                 ).scalars())


def _user_count(world: World) -> int:
    with world.clinic.engine.connect() as conn:
        return len(conn.execute(select(users.c.id)).all())


def test_site_a_administrator_cannot_reach_site_b(client: TestClient, tokens: dict[str, str],
                                                  world: World) -> None:
    h = bearer(tokens, "administrator")
    before = _user_count(world)
    attempts = [
        ("POST", "/api/v1/users", {"username": "mallory-b", "password": PASSWORD,
                                   "role": "clinician", "site_id": world.site_b}),
        ("POST", "/api/v1/users", {"username": "bob-login", "password": PASSWORD,
                                   "role": "patient", "patient_id": world.patient_b}),
        ("POST", "/api/v1/caregiver-links", {"caregiver_user_id": world.users["caregiver"].id,
                                             "patient_id": world.patient_b}),
        ("POST", f"/api/v1/patients/{world.patient_b}/care-team",
         {"user_id": world.users["nurse"].id, "team_role": "itb-nurse"}),
        ("PATCH", f"/api/v1/sites/{world.site_b}/settings",
         {"settings": {"clinic_phone": "+1 555 0100"}}),
        ("POST", f"/api/v1/users/{world.users['clinician_b'].id}/deactivate", None),
    ]
    for method, path, body in attempts:
        response = client.request(method, path, json=body, headers=h)
        assert response.status_code == 404, (path, response.text)
    assert _user_count(world) == before
    assert "not-found" in _outcomes(world, "user.create")
    assert "not-found" in _outcomes(world, "site.settings")
    assert client.post("/api/v1/sites", json={"name": "Site C"}, headers=h).status_code == 403
    assert client.get(f"/api/v1/patients/{world.patient_b}/care-team",
                      headers=bearer(tokens, "clinician_b")).json() == []


def test_own_site_work_and_the_user_list_shows_it(client: TestClient, tokens: dict[str, str],
                                                  world: World) -> None:
    h = bearer(tokens, "administrator")
    made = client.post("/api/v1/users", json={"username": "alice-login", "password": PASSWORD,
                                              "role": "patient", "patient_id": world.patient_a},
                       headers=h)
    assert made.status_code == 201, made.text
    listed = {u["username"] for u in client.get("/api/v1/users", headers=h).json()}
    assert "alice-login" in listed and "clinician_b" not in listed
    ok = client.patch(f"/api/v1/sites/{world.site_a}/settings",
                      json={"settings": {"clinic_phone": "+49 30 555"}}, headers=h)
    assert ok.status_code == 200, ok.text


def test_cross_site_work_is_the_servers_command_line(world: World) -> None:
    database_url = world.clinic.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    made = runner.invoke(cli, ["admin", "site-create", "Site C", "--database", database_url,
                               "--settings", json.dumps({"timezone": "Europe/Vienna"})])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["name"] == "Site C"
    changed = runner.invoke(cli, ["admin", "site-settings", str(world.site_b),
                                  json.dumps({"clinic_phone": "+43 1 555"}),
                                  "--database", database_url])
    assert changed.exit_code == 0, changed.output
    with world.clinic.engine.connect() as conn:
        actors = set(conn.execute(select(audit.c.actor).where(
            audit.c.action.in_(("site.create", "site.settings")))).scalars())
    assert any(a.startswith("system:") for a in actors)
