"""Sessions on a frozen clock: idle and absolute expiry, logout, CSRF, throttling (SE-3, SE-4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from thecal.errors import InputError, PermissionDeniedError
from thecal.service import (
    AuthenticationError,
    ThrottledError,
    actor_from_api_token,
    actor_from_session,
    check_csrf,
    csrf_token,
    issue_api_token,
    login,
    logout,
)
from thecal.service.testing import PASSWORD, World
from thecal.store.tables import audit, sessions


def test_fresh_random_token_per_login_stored_hashed(world: World) -> None:
    first = login(world.clinic, "nurse", PASSWORD)
    second = login(world.clinic, "nurse", PASSWORD)
    assert first.session_token != second.session_token
    assert len(first.session_token) >= 43  # 256 bits, url-safe base64
    with world.clinic.engine.connect() as conn:
        stored = conn.execute(select(sessions.c.token_hash)).scalars().all()
    assert first.session_token not in stored


def test_idle_timeout_30_minutes(world: World) -> None:
    result = login(world.clinic, "nurse", PASSWORD)
    world.clock.advance(timedelta(minutes=29))
    assert actor_from_session(world.clinic, result.session_token).username == "nurse"
    world.clock.advance(timedelta(minutes=29))  # activity refreshed the idle timer
    actor_from_session(world.clinic, result.session_token)
    world.clock.advance(timedelta(minutes=30))
    with pytest.raises(AuthenticationError, match="idle"):
        actor_from_session(world.clinic, result.session_token)


def test_absolute_timeout_12_hours(world: World) -> None:
    result = login(world.clinic, "nurse", PASSWORD)
    for _ in range(12 * 3 - 1):
        world.clock.advance(timedelta(minutes=20))
        actor_from_session(world.clinic, result.session_token)
    world.clock.advance(timedelta(minutes=20))
    with pytest.raises(AuthenticationError, match="12 hours"):
        actor_from_session(world.clinic, result.session_token)


def test_logout_invalidates_server_side(world: World) -> None:
    result = login(world.clinic, "clinician", PASSWORD)
    logout(world.clinic, result.session_token)
    with pytest.raises(AuthenticationError):
        actor_from_session(world.clinic, result.session_token)
    with pytest.raises(AuthenticationError):
        csrf_token(world.clinic, result.session_token)


def test_csrf_token_tied_to_session(world: World) -> None:
    one = login(world.clinic, "clinician", PASSWORD)
    two = login(world.clinic, "nurse", PASSWORD)
    check_csrf(world.clinic, one.session_token, one.csrf_token)
    for wrong in (None, "", two.csrf_token, one.csrf_token + "x"):
        with pytest.raises(PermissionDeniedError):
            check_csrf(world.clinic, one.session_token, wrong)
    with world.clinic.engine.connect() as conn:
        denied = conn.execute(select(audit.c.id).where(audit.c.action == "csrf.check",
                                                       audit.c.outcome == "denied")).all()
    assert len(denied) == 4


def test_login_throttled_after_five_failures(world: World) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            login(world.clinic, "nurse", "wrong password!!")
    with pytest.raises(ThrottledError) as caught:
        login(world.clinic, "nurse", PASSWORD)  # even the right password waits
    assert 0 < caught.value.retry_after_s <= 15 * 60
    world.clock.advance(timedelta(minutes=15, seconds=1))
    assert login(world.clinic, "nurse", PASSWORD).actor.username == "nurse"
    with world.clinic.engine.connect() as conn:
        outcomes = conn.execute(select(audit.c.outcome).where(audit.c.action == "login")
                                ).scalars().all()
    assert outcomes.count("unauthenticated") == 5 and "throttled" in outcomes


def test_unknown_user_and_empty_password(world: World) -> None:
    with pytest.raises(AuthenticationError):
        login(world.clinic, "nobody", PASSWORD)
    with pytest.raises(InputError):
        login(world.clinic, "nurse", "")


def test_api_token_expiry_and_use(world: World) -> None:
    token, expires, _ = issue_api_token(world.clinic, "clinician", PASSWORD)
    assert actor_from_api_token(world.clinic, token).role == "clinician"
    world.clock.set(expires)
    with pytest.raises(AuthenticationError):
        actor_from_api_token(world.clinic, token)
