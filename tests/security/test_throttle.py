"""Login throttling that holds (issue 12: 60 parallel guesses, 38 evaluated with a limit of 5;
five anonymous requests locked any named account, renewable forever; a locked clinician
typing the right password was told "the password is wrong")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from thecal.service import Clinic, FrozenClock, login
from thecal.service.auth import lockout_seconds
from thecal.service.errors import AuthenticationError, ThrottledError
from thecal.service.testing import PASSWORD, World, build_world
from thecal.store.tables import login_attempts


@pytest.fixture
def world(clinic: Clinic, clock: FrozenClock) -> World:
    """This module's findings depend on the database: SQLite and PostgreSQL."""
    return build_world(clinic, clock)


def _evaluated(world: World, username: str) -> int:
    with world.clinic.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(login_attempts)
                                .where(login_attempts.c.username == username)).scalar_one())


def test_sixty_parallel_guesses_evaluate_at_most_five(world: World) -> None:
    def guess(i: int) -> str:
        try:
            login(world.clinic, "clinician", f"wrong guess number {i:03d}", client="10.0.0.9")
        except ThrottledError:
            return "throttled"
        except AuthenticationError:
            return "wrong"
        return "in"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(guess, range(60)))
    assert outcomes.count("wrong") == 5, outcomes
    assert outcomes.count("throttled") == 55
    assert _evaluated(world, "clinician") == 5


def test_lock_is_per_source_and_says_temporarily_locked(world: World) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            login(world.clinic, "clinician", "not the password!", client="203.0.113.7")
    # the owner, elsewhere, is not locked out by the stranger's guesses
    assert login(world.clinic, "clinician", PASSWORD, client="192.0.2.10").actor.role == \
        "clinician"
    with pytest.raises(ThrottledError) as locked:
        login(world.clinic, "clinician", PASSWORD, client="203.0.113.7")
    assert "temporarily locked" in locked.value.message
    assert locked.value.retry_after_s == 60


def test_attempts_while_locked_do_not_renew_the_lock(world: World) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            login(world.clinic, "nurse", "not the password!", client="s")
    for _ in range(50):
        world.clock.advance(timedelta(seconds=1))
        with pytest.raises(ThrottledError):
            login(world.clinic, "nurse", "still guessing!!", client="s")
    world.clock.advance(timedelta(seconds=11))  # 61 s after the fifth failure
    assert login(world.clinic, "nurse", PASSWORD, client="s").actor.username == "nurse"


def test_backoff_doubles_and_is_capped() -> None:
    window = timedelta(minutes=15)
    # 4 failures: no wait; 5: 60 s; 6: 120 s; 7: 240 s; 8: 480 s; 9 and more: the 900 s window
    assert [lockout_seconds(n, 5, window) for n in range(4, 11)] == \
        [0.0, 60.0, 120.0, 240.0, 480.0, 900.0, 900.0]


def test_argon2_work_is_bounded() -> None:
    from thecal.service import passwords

    assert 1 <= passwords.MAX_CONCURRENT_HASHES <= 4
    held = [passwords._slots.acquire(blocking=False)
            for _ in range(passwords.MAX_CONCURRENT_HASHES)]
    try:
        assert all(held)
        assert not passwords._slots.acquire(blocking=False)
    finally:
        for _ in held:
            passwords._slots.release()
