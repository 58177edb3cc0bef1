"""Password hashing with argon2id (argon2-cffi) and the password policy (ASVS 2.1.1, 2.4)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from thecal.errors import InputError
from thecal.service.settings import MIN_PASSWORD_LENGTH

# A valid hash of a random password: verified against when the user does not exist, so a
# login for an unknown name costs the same time as one for a known name.
_DUMMY_PASSWORD = "thecal-dummy-password-never-valid"


_hasher: PasswordHasher | None = None


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


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash(_DUMMY_PASSWORD)


def check_policy(password: str) -> None:
    """Refuse passwords shorter than 12 characters (no composition rules, ASVS 2.1.9)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
                         where="password", fix="choose a longer passphrase")
    if len(password) > 128:
        raise InputError("a password has at most 128 characters", where="password")


def hash_password(password: str) -> str:
    check_policy(password)
    return hasher().hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash costs as much as a real one."""
    try:
        return hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
