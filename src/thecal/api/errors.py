"""How the API answers a refusal: ThecalError → 4xx with field-level details; never a traceback.

``InputError`` → 422 ``{"detail": [{"loc": ["body", ...], "msg", "type", "fix"}]}`` (the same
shape as FastAPI's own validation errors), ``AuthenticationError`` → 401, ``ThrottledError``
→ 429 with ``Retry-After``, ``PermissionDeniedError`` → 403, ``NotFoundError`` → 404,
``ConflictError`` → 409. A number too large for the database → 422. Anything unexpected →
500 with a correlation id, logged (SE-5).

FastAPI's own validation answers (422) are rewritten so that they never echo a password and
quote at most :data:`QUOTE_LIMIT` characters of any other submitted value.

:data:`ERROR_RESPONSES` is the one description of these answers (401/403/404/409/413/422/429),
given to each API router, so the routes' decorators stay about their successful answer.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError

from thecal.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ThecalError,
)
from thecal.service.errors import AuthenticationError, ThrottledError

log = logging.getLogger("thecal.api")
QUOTE_LIMIT: Final = 40
_SECRET_FIELDS: Final = ("password", "token", "confirmation_token", "access_token")


def status_of(exc: ThecalError) -> int:
    if isinstance(exc, ThrottledError):
        return 429
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, InputError):
        return 422
    return 400


def body_of(exc: ThecalError) -> dict[str, object]:
    if isinstance(exc, InputError):
        loc: list[str | int] = ["body"]
        for part in (exc.where or "").split("."):
            if part:
                loc.append(part)
        return {"detail": [{"loc": loc, "msg": exc.message, "type": "value_error",
                            "fix": exc.fix}]}
    return {"detail": exc.message, "where": exc.where, "fix": exc.fix}


async def thecal_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ThecalError)
    status = status_of(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, ThrottledError):
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse(body_of(exc), status_code=status, headers=headers)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    correlation = uuid.uuid4().hex[:12]
    log.exception("unexpected error %s on %s %s", correlation, request.method,
                  request.url.path)
    return JSONResponse({"detail": "internal error; nothing was changed unless the response "
                                   "said so", "correlation_id": correlation}, status_code=500)


def _short(value: Any) -> Any:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "…"


def clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's error list without secrets and with short quotes of the submitted values."""
    cleaned: list[dict[str, Any]] = []
    for error in errors:
        item = {k: v for k, v in dict(error).items() if k not in ("input", "ctx", "url")}
        loc = [str(part) for part in item.get("loc", ())]
        secret = any(part in _SECRET_FIELDS for part in loc)
        if "input" in error and not secret and not isinstance(error["input"], dict | list):
            item["input"] = _short(error["input"])
        if isinstance(item.get("msg"), str):
            item["msg"] = item["msg"][:200]
        cleaned.append(item)
    return cleaned


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": clean_validation_errors(exc.errors())}, status_code=422)


async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """An integer the database cannot hold (SQLite OverflowError, PostgreSQL DataError)."""
    if isinstance(exc, DataError) and "out of range" not in str(exc.orig):
        return await unexpected_error(request, exc)
    return JSONResponse({"detail": [{"loc": ["body"], "msg": "a number is out of range",
                                     "type": "value_error",
                                     "fix": "ids and counts fit in 64 bits"}]},
                        status_code=422)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ThecalError, thecal_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
    app.add_exception_handler(Exception, unexpected_error)


class RefusalOut(BaseModel):
    """A refusal other than bad input: what was refused, the field, and what to do."""

    detail: str
    where: str | None = None
    fix: str | None = None


class FieldErrorOut(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    fix: str | None = None


class InputErrorOut(BaseModel):
    """Bad input (422): one entry per field, FastAPI's own validation shape plus ``fix``."""

    detail: list[FieldErrorOut]


# The error answers every operation may give, documented once for the router (the OpenAPI
# document lists them under each operation).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": RefusalOut, "description": "not signed in, or the token expired"},
    403: {"model": RefusalOut, "description": "signed in, but not allowed (or a bad CSRF token)"},
    404: {"model": RefusalOut, "description": "no such record, or not one the caller may know of"},
    409: {"model": RefusalOut, "description": "the record changed: reload and send again"},
    422: {"model": InputErrorOut, "description": "bad input, with the field and the fix"},
    413: {"model": RefusalOut, "description": "the request body is larger than the server "
                                              "accepts"},
    429: {"model": RefusalOut, "description": "too many attempts or requests; see Retry-After",
          "headers": {"Retry-After": {"description": "seconds to wait",
                                      "schema": {"type": "integer"}}}},
}
