"""How the API answers a refusal: ThecalError → 4xx with field-level details; never a traceback.

``InputError`` → 422 ``{"detail": [{"loc": ["body", ...], "msg", "type", "fix"}]}`` (the same
shape as FastAPI's own validation errors), ``AuthenticationError`` → 401, ``ThrottledError``
→ 429 with ``Retry-After``, ``PermissionDeniedError`` → 403, ``NotFoundError`` → 404,
``ConflictError`` → 409. A number too large for the database → 422. Anything unexpected →
500 with a correlation id, logged (SE-5).

FastAPI's own validation answers (422) are rewritten so that they never echo a password and
quote at most :data:`QUOTE_LIMIT` characters of any other submitted value.

:data:`ERROR_RESPONSES` is the one description of these answers; :func:`document_errors` adds
it to every operation of the OpenAPI document (401/403/404/409/413/422/429), so the routes'
decorators stay about their successful answer.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
    document_errors(app)


# ------------------------------------------------------------------ the OpenAPI description

_PROBLEM: Final = {"type": "object", "title": "Problem", "properties": {
    "detail": {"type": "string"}, "where": {"type": ["string", "null"]},
    "fix": {"type": ["string", "null"]}}, "required": ["detail"]}
_INVALID: Final = {"type": "object", "title": "Invalid", "properties": {
    "detail": {"type": "array", "items": {"type": "object", "properties": {
        "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
        "msg": {"type": "string"}, "type": {"type": "string"},
        "fix": {"type": ["string", "null"]}}, "required": ["loc", "msg"]}}},
    "required": ["detail"]}
ERROR_RESPONSES: Final[dict[int, tuple[str, str]]] = {
    401: ("Not signed in: no or an expired session or token", "Problem"),
    403: ("Not allowed for this role, or the CSRF token is missing or wrong", "Problem"),
    404: ("No such record, or one the caller may not know about", "Problem"),
    409: ("The record changed since it was read (stale expected_version)", "Problem"),
    413: ("The request body is larger than the server accepts", "Problem"),
    422: ("Invalid input; each item names the field and the fix", "Invalid"),
    429: ("Too many requests or failed sign-ins; wait Retry-After seconds", "Problem"),
}


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` list the error answers of every ``/api/v1`` operation."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Problem", _PROBLEM)
        components.setdefault("Invalid", _INVALID)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                for code, (description, model) in ERROR_RESPONSES.items():
                    content = {"application/json": {
                        "schema": {"$ref": f"#/components/schemas/{model}"}}}
                    entry: dict[str, Any] = {"description": description, "content": content}
                    if code == 429:
                        entry["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                            "description": "seconds to wait"}}
                    if code == 422 and "422" in responses:
                        responses["422"] = entry
                    responses.setdefault(str(code), entry)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
