"""Password hashing with argon2id (argon2-cffi), bounded in concurrency, and the password policy.

Policy (ASVS 2.1.1, 2.1.7, 2.1.9): 12 to 128 characters, no composition rules; not the user
name; and not guessable — the zxcvbn estimator (pinned, offline: its dictionaries include the
common and breached password lists it ships) must score it at least
:data:`MIN_STRENGTH` of 4, with the user name and display name as known words. So
``password1234``, twelve spaces and ``<username>2026`` are refused. A refusal never quotes the
password.

argon2id costs 64 MiB and tens of milliseconds per check: at most :data:`MAX_CONCURRENT_HASHES`
run at once in a process (40 concurrent logins used to take the server from 219 MB to 2.5 GB);
a check that cannot start within :data:`HASH_WAIT_S` is refused as "busy" (429).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Final, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from thecal.errors import InputError
from thecal.service.errors import ThrottledError
from thecal.service.settings import MIN_PASSWORD_LENGTH

MAX_PASSWORD_LENGTH: Final = 128
MIN_STRENGTH: Final = 2  # zxcvbn score 0–4; 2 = "somewhat guessable" at worst
MAX_CONCURRENT_HASHES: Final = max(1, min(4, (os.cpu_count() or 2) // 2))
HASH_WAIT_S: Final = 10.0

# A valid hash of a random password: verified against when the user does not exist, so a
# login for an unknown name costs the same time as one for a known name.
_DUMMY_PASSWORD = "thecal-dummy-password-never-valid"

_hasher: PasswordHasher | None = None
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
T = TypeVar("T")


def hasher() -> PasswordHasher:
    """argon2id with the library's RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)."""
    global _hasher
    if _hasher is None:
        _hasher = PasswordHasher()
    return _hasher


def use_test_parameters() -> None:
    """Cheap argon2id parameters for test suites only (still argon2id, verifies old hashes)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _dummy_hash.cache_clear()


@contextmanager
def _hash_slot() -> Iterator[None]:
    if not _slots.acquire(timeout=HASH_WAIT_S):
        raise ThrottledError("the server is busy checking passwords", retry_after_s=5,
                             fix="try again in a few seconds")
    try:
        yield
    finally:
        _slots.release()


def _bounded(work: Callable[[], T]) -> T:
    with _hash_slot():
        return work()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _bounded(lambda: hasher().hash(_DUMMY_PASSWORD))


def check_policy(password: str, *, username: str | None = None,
                 display_name: str | None = None) -> None:
    """Refuse a password that is too short or long, the user name, or easily guessed."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
                         where="password", fix="choose a longer passphrase")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"a password has at most {MAX_PASSWORD_LENGTH} characters",
                         where="password")
    if username and password.strip().casefold() == username.strip().casefold():
        raise InputError("a password cannot be the user name", where="password",
                         fix="choose a passphrase of a few unrelated words")
    from zxcvbn import zxcvbn  # loaded on first use: its dictionaries take a moment

    known = [word for word in (username, display_name) if word]
    if zxcvbn(password, user_inputs=known)["score"] < MIN_STRENGTH:
        raise InputError("this password is too easy to guess (a common or breached "
                         "password, a pattern, or built on the user name)", where="password",
                         fix="choose a passphrase of a few unrelated words")


def hash_password(password: str, *, username: str | None = None,
                  display_name: str | None = None) -> str:
    check_policy(password, username=username, display_name=display_name)
    return _bounded(lambda: hasher().hash(password))


def verify(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash costs as much as a real one."""
    target = password_hash or _dummy_hash()
    try:
        return _bounded(lambda: hasher().verify(target, password)) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
