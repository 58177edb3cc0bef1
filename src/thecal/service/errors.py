"""Errors the service layer adds to :mod:`thecal.errors` (authentication and throttling).

Faces map them: :class:`AuthenticationError` → 401, :class:`ThrottledError` → 429.
"""

from __future__ import annotations

from thecal.errors import PermissionDeniedError, ThecalError


class AuthenticationError(PermissionDeniedError):
    """No valid session, token or password: the caller must log in (again)."""


class ThrottledError(PermissionDeniedError):
    """Too many failed logins for this account: wait before trying again."""

    def __init__(self, message: str, *, retry_after_s: int, where: str | None = None,
                 fix: str | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message, where=where, fix=fix)

    def located(self, where: str) -> ThecalError:
        combined = f"{where}.{self.where}" if self.where else where
        return ThrottledError(self.message, retry_after_s=self.retry_after_s, where=combined,
                              fix=self.fix)
