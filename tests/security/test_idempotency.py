"""Idempotency keys are bound to the actor and the request (issue 12: a reused key with a
different body silently returned the first event and dropped the new data)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from security_support import bearer

from thecal.service.testing import World


def _note(world: World, text: str, version: int) -> dict[str, object]:
    return {"event": {"at": world.clock.now().isoformat(), "type": "note", "text": text},
            "expected_version": version}


def test_same_key_other_body_or_other_user_is_422(client: TestClient, tokens: dict[str, str],
                                                  world: World) -> None:
    url = f"/api/v1/patients/{world.patient_a}/timeline"
    key = {"Idempotency-Key": "k-0001"}
    first = client.post(url, json=_note(world, "pump site fine", 3),
                        headers={**bearer(tokens, "nurse"), **key})
    assert first.status_code == 201, first.text
    again = client.post(url, json=_note(world, "pump site fine", 3),
                        headers={**bearer(tokens, "nurse"), **key})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other_body = client.post(url, json=_note(world, "pump site red and swollen", 3),
                             headers={**bearer(tokens, "nurse"), **key})
    assert other_body.status_code == 422, other_body.text
    assert other_body.json()["detail"][0]["loc"] == ["body", "Idempotency-Key"]
    other_user = client.post(url, json=_note(world, "pump site fine", 3),
                             headers={**bearer(tokens, "clinician"), **key})
    assert other_user.status_code == 422


def test_refill_retry_with_the_same_key_replays(client: TestClient, tokens: dict[str, str],
                                                world: World) -> None:
    url = f"/api/v1/patients/{world.patient_a}/refill"
    body = {"withdrawn": "0 mL", "added": "1 mL", "concentration": "500 mcg/mL",
            "lot": "LB2093", "expiry": "2030-06-30",  # every refill records its drug lot
            "reason": "top-up", "expected_version": 3}
    h = {**bearer(tokens, "nurse"), "Idempotency-Key": "refill-1"}
    first = client.post(url, json=body, headers=h)
    assert first.status_code == 201, first.text
    world.clock.advance(timedelta(seconds=30))  # a retry, later
    assert client.post(url, json=body, headers=h).status_code == 201
    changed = client.post(url, json={**body, "added": "2 mL"}, headers=h)
    assert changed.status_code == 422
