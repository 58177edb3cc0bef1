"""The :class:`Clinic`: engine, clock and settings, the one place transactions are opened.

:meth:`Clinic.run` is how every use case executes: the body runs in one transaction (and
writes its own audit rows there); if it raises a :class:`~thecal.errors.ThecalError`, the
transaction is rolled back and the refusal is written as an audit row in a transaction of its
own, so a refused request changes nothing but the trail (AU-4, "nothing partial").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine

from thecal.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ThecalError,
)
from thecal.service.actors import Actor
from thecal.service.anonymous import AnonymousAuditBudget
from thecal.service.clock import Clock, SystemClock
from thecal.service.errors import AuthenticationError, ThrottledError
from thecal.service.settings import Settings
from thecal.store import audit as audit_store
from thecal.store.db import database_url, make_engine
from thecal.store.migrate import upgrade

T = TypeVar("T")
OWNER_ENV_VAR = "THECAL_OWNER_DATABASE_URL"


def outcome_of(exc: ThecalError) -> str:
    """The audit outcome word for a refusal."""
    if isinstance(exc, ThrottledError):
        return "throttled"
    if isinstance(exc, AuthenticationError):
        return "unauthenticated"
    if isinstance(exc, PermissionDeniedError):
        return "denied"
    if isinstance(exc, NotFoundError):
        return "not-found"
    if isinstance(exc, ConflictError):
        return "conflict"
    if isinstance(exc, InputError):
        return "invalid"
    return "refused"


class Clinic:
    """A clinic database plus the clock and settings every use case reads."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.anonymous_budget = AnonymousAuditBudget()

    @classmethod
    def open(cls, settings: Settings | None = None, *, clock: Clock | None = None) -> Clinic:
        """Open (and by default migrate) the database named by ``settings``."""
        settings = settings or Settings()
        engine = make_engine(database_url(settings.database_url))
        if settings.migrate:
            owner_url = settings.owner_database_url or os.environ.get(OWNER_ENV_VAR)
            if owner_url:
                owner = make_engine(owner_url)
                try:
                    upgrade(owner)
                finally:
                    owner.dispose()
            else:
                upgrade(engine)
        return cls(engine, settings, clock)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def now(self) -> datetime:
        return self.clock.now()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.begin() as conn:
            yield conn

    def audit(self, conn: Connection, actor: Actor, action: str, *, outcome: str = "ok",
              entity: str | None = None, entity_id: str | None = None,
              patient_id: int | None = None, event_id: str | None = None,
              field: str | None = None, old_value: object = None, new_value: object = None,
              reason: str | None = None, detail: str | None = None) -> int:
        """Add one audit row in ``conn``'s transaction, attributed to ``actor`` (the values
        before and after are JSON)."""
        entry = audit_store.AuditEntry(actor.username, action, outcome, actor.role, entity,
                                       entity_id, patient_id, event_id, field, old_value,
                                       new_value, reason, detail)
        return audit_store.append(conn, entry, self.now())

    def run(self, actor: Actor, action: str, body: Callable[[Connection], T], *,
            patient_id: int | None = None, entity: str | None = None,
            entity_id: str | None = None) -> T:
        """Run ``body`` in one transaction; audit a refusal after rolling back."""
        try:
            with self.transaction() as conn:
                return body(conn)
        except ThecalError as exc:
            self.record_refusal(actor, action, exc, patient_id=patient_id, entity=entity,
                                entity_id=entity_id)
            raise

    def record_refusal(self, actor: Actor, action: str, exc: ThecalError, *,
                       patient_id: int | None = None, entity: str | None = None,
                       entity_id: str | None = None, client: str | None = None) -> None:
        """Audit a refusal; an anonymous caller's only within its source's budget."""
        if actor.user_id is None and actor.role in ("anonymous",) and \
                not self.anonymous_budget.allow(client, self.now()):
            return
        with self.transaction() as conn:
            self.audit(conn, actor, action, outcome=outcome_of(exc), patient_id=patient_id,
                       entity=entity, entity_id=entity_id, field=exc.where,
                       detail=exc.message)

    def dispose(self) -> None:
        self.engine.dispose()
