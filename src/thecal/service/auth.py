"""Logins, sessions, CSRF tokens, API tokens, throttling and re-authentication (SE-3, SE-4).

* Passwords: argon2id, at least 12 characters.
* Sessions: a fresh random 256-bit token at every login, stored only as its SHA-256; 30 min
  idle and 12 h absolute expiry measured on the injected clock; logout revokes server-side.
* CSRF: a synchroniser token stored with the session, compared in constant time.
* API tokens: random 256-bit bearer tokens, stored hashed, with an expiry.
* Throttling, per account *and source* (the client address): the check and the claim of an
  attempt are one transaction (writers are serialised), so parallel guesses cannot overtake
  the count. After 5 failures from one source within 15 min that source waits 1 min, then 2,
  4, 8, capped at 15 min after its last failure (backoff); attempts while locked are refused
  (429, "temporarily locked") without being evaluated or counted, so an attacker cannot renew a
  lock, and the owner signing in from anywhere else is not locked at all. argon2 work is
  bounded by :mod:`thecal.service.passwords`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection

from thecal.errors import InputError, PermissionDeniedError
from thecal.service import passwords
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.errors import AuthenticationError, ThrottledError
from thecal.store import auth as auth_store
from thecal.store import records
from thecal.store.records import Row

LOCKOUT_BASE_S: Final = 60.0
ATTEMPTS_KEPT: Final = timedelta(days=2)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


@dataclass(frozen=True)
class LoginResult:
    """A new session: the cookie value, its CSRF token and who logged in."""

    session_token: str
    csrf_token: str
    actor: Actor
    expires_at: datetime


def _anonymous(username: str) -> Actor:
    return Actor(user_id=None, username=username[:100] or "anonymous", role="anonymous",
                 via="login")


def lockout_seconds(failures: int, max_failures: int, window: timedelta) -> float:
    """How long a source waits after its last failure: 0 below the limit, then 60 s doubling
    with each further failure, at most the window (5 → 60 s, 6 → 120 s, ... 9+ → 900 s)."""
    if failures < max_failures:
        return 0.0
    return float(min(window.total_seconds(), LOCKOUT_BASE_S * 2 ** (failures - max_failures)))


def _check_throttle(clinic: Clinic, conn: Connection, username: str, source: str) -> None:
    now = clinic.now()
    window = clinic.settings.login_window
    failures, last = auth_store.failures_since(conn, username, now - window, source)
    wait = lockout_seconds(failures, clinic.settings.login_max_failures, window)
    if last is not None and wait > 0 and now < last + timedelta(seconds=wait):
        retry = max(1, math.ceil((last + timedelta(seconds=wait) - now).total_seconds()))
        raise ThrottledError("the account is temporarily locked after too many failed "
                             "sign-ins from here", retry_after_s=retry,
                             fix=f"try again in {retry} s, or ask an administrator")


def _authenticate(clinic: Clinic, username: str, password: str, client: str | None,
                  action: str) -> Row:
    """Throttle check and claim of the attempt (one transaction), then the password."""
    if not isinstance(username, str) or not username.strip():
        raise InputError("enter your user name", where="username")
    if not isinstance(password, str) or not password:
        raise InputError("enter your password", where="password")
    if len(username) > 100 or len(password) > passwords.MAX_PASSWORD_LENGTH:
        raise AuthenticationError("wrong user name or password", fix="try again")
    actor = _anonymous(username)
    source = (client or "")[:100] or ""
    user: Row | None
    try:
        with clinic.transaction() as conn:
            _check_throttle(clinic, conn, username, source)
            attempt = auth_store.record_login_attempt(conn, username, clinic.now(), False,
                                                      source)
            if attempt % 500 == 0:  # keep the attempts table small
                auth_store.purge_attempts_before(conn, clinic.now() - ATTEMPTS_KEPT)
            user = records.user_by_name(conn, username)
    except ThrottledError as exc:
        clinic.record_refusal(actor, action, exc, entity="user", client=source)
        raise
    ok = passwords.verify(user["password_hash"] if user else None, password)
    ok = ok and user is not None and bool(user["active"])
    with clinic.transaction() as conn:
        if ok:
            auth_store.mark_attempt_succeeded(conn, attempt)
        who = Actor.from_user(user, "login") if (user and ok) else actor
        if ok or clinic.anonymous_budget.allow(source, clinic.now()):
            clinic.audit(conn, who, action, outcome="ok" if ok else "unauthenticated",
                         entity="user", entity_id=str(user["id"]) if user else None,
                         detail=None if ok else "wrong user name or password")
    if not ok or user is None:
        raise AuthenticationError("wrong user name or password", fix="try again")
    return user


def login(clinic: Clinic, username: str, password: str, *, client: str | None = None
          ) -> LoginResult:
    """Start a session (a fresh token every time, ASVS 3.2.1)."""
    user = _authenticate(clinic, username, password, client, "login")
    token = new_token()
    csrf = secrets.token_urlsafe(32)
    now = clinic.now()
    with clinic.transaction() as conn:
        auth_store.insert_session(conn, token_hash(token), int(user["id"]), csrf, now)
        auth_store.purge_sessions_before(conn, now - 4 * clinic.settings.session_absolute)
    return LoginResult(token, csrf, Actor.from_user(user, "session"),
                       now + clinic.settings.session_absolute)


def _end(clinic: Clinic, token: str | None, find: Callable[[Connection, str], Row | None],
         revoke: Callable[[Connection, str, datetime], None], via: str, action: str) -> None:
    """Revoke a session or an API token, audited as its owner; harmless for an unknown one."""
    if not token:
        return
    with clinic.transaction() as conn:
        row = find(conn, token_hash(token))
        if row is None:
            return
        revoke(conn, token_hash(token), clinic.now())
        user = records.get_user(conn, int(row["user_id"]))
        if user is not None:
            clinic.audit(conn, Actor.from_user(user, via), action, entity="user",
                         entity_id=str(user["id"]))


def logout(clinic: Clinic, session_token: str | None) -> None:
    """Invalidate the session on the server; harmless for an unknown token."""
    _end(clinic, session_token, auth_store.get_session, auth_store.revoke_session, "session", "logout")


def _live_session(clinic: Clinic, conn: Connection, session_token: str | None) -> Row:
    if not session_token:
        raise AuthenticationError("not logged in", fix="log in")
    session = auth_store.get_session(conn, token_hash(session_token))
    now = clinic.now()
    if session is None or session["revoked_at"] is not None:
        raise AuthenticationError("the session has ended", fix="log in again")
    if now - session["created_at"] >= clinic.settings.session_absolute:
        raise AuthenticationError("the session is older than 12 hours", fix="log in again")
    if now - session["last_seen_at"] >= clinic.settings.session_idle:
        raise AuthenticationError("the session was idle for 30 minutes", fix="log in again")
    return session


def actor_from_session(clinic: Clinic, session_token: str | None) -> Actor:
    """The logged-in actor; refreshes the idle timer. AuthenticationError when expired."""
    with clinic.transaction() as conn:
        session = _live_session(clinic, conn, session_token)
        user = records.get_user(conn, int(session["user_id"]))
        if user is None or not user["active"]:
            raise AuthenticationError("the account is disabled", fix="ask an administrator")
        auth_store.touch_session(conn, session["token_hash"], clinic.now())
        return Actor.from_user(user, "session")


def csrf_token(clinic: Clinic, session_token: str | None) -> str:
    """The synchroniser token of a live session (put it in every form)."""
    with clinic.transaction() as conn:
        return str(_live_session(clinic, conn, session_token)["csrf_token"])


def check_csrf(clinic: Clinic, session_token: str | None, submitted: str | None) -> None:
    """Refuse a state-changing request whose CSRF token does not match its session."""
    with clinic.transaction() as conn:
        session = _live_session(clinic, conn, session_token)
        expected = str(session["csrf_token"])
        if not submitted or not hmac.compare_digest(expected.encode(), submitted.encode()):
            user = records.get_user(conn, int(session["user_id"]))
            who = Actor.from_user(user, "session") if user else _anonymous("unknown")
            clinic.audit(conn, who, "csrf.check", outcome="denied",
                         detail="missing or wrong CSRF token")
            failed = True
        else:
            failed = False
    if failed:
        raise PermissionDeniedError("the form's security token is missing or wrong",
                                    where="csrf_token", fix="reload the page and try again")


def issue_api_token(clinic: Clinic, username: str, password: str, *, name: str = "api",
                    client: str | None = None) -> tuple[str, datetime, Actor]:
    """A bearer token for a program; returns (token, expires_at, actor)."""
    user = _authenticate(clinic, username, password, client, "token.issue")
    token = new_token()
    now = clinic.now()
    expires = now + clinic.settings.api_token_lifetime
    with clinic.transaction() as conn:
        auth_store.insert_api_token(conn, token_hash(token), int(user["id"]), name[:100], now,
                                    expires)
    return token, expires, Actor.from_user(user, "token")


def actor_from_api_token(clinic: Clinic, token: str | None) -> Actor:
    if not token:
        raise AuthenticationError("no bearer token", fix="send Authorization: Bearer <token>")
    with clinic.transaction() as conn:
        row = auth_store.get_api_token(conn, token_hash(token))
        if row is None or row["revoked_at"] is not None or clinic.now() >= row["expires_at"]:
            raise AuthenticationError("the token is unknown, revoked or expired",
                                      fix="get a new token from /api/v1/token")
        user = records.get_user(conn, int(row["user_id"]))
        if user is None or not user["active"]:
            raise AuthenticationError("the account is disabled", fix="ask an administrator")
        return Actor.from_user(user, "token")


def revoke_api_token(clinic: Clinic, token: str) -> None:
    _end(clinic, token, auth_store.get_api_token, auth_store.revoke_api_token, "token", "token.revoke")


def authenticate_user(clinic: Clinic, username: str, password: str, action: str) -> Row:
    """Check another person's password (a co-signature), throttled and audited like a login."""
    if not password:
        raise InputError("the password is missing", where="password")
    return _authenticate(clinic, username, password, None, action)


def verify_password_again(clinic: Clinic, actor: Actor, password: str | None) -> None:
    """Re-authentication before a program or concentration change (throttled like a login)."""
    if not password:
        raise InputError("enter your password again to confirm", where="password")
    _authenticate(clinic, actor.username, password, None, "reauthenticate")
