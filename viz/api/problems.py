"""One error shape for every failure: RFC 9457 problem details (``application/problem+json``).

Domain errors are mapped to statuses here, in one place; routes raise ``HTTPException``
only for what they decide themselves (a range that ends before it starts, say).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from alerts import AlertError, SubscriberError, UnknownStationsError
from telemetry import AquaWatchError

logger = logging.getLogger(__name__)

MEDIA_TYPE: Final = "application/problem+json"
BUSY_RETRY_AFTER_S: Final = 1


class NotFoundError(AquaWatchError):
    """The thing asked for does not exist."""


class ConflictError(AquaWatchError):
    """The change conflicts with the current state (a name taken, say)."""


class InvalidInputError(AquaWatchError):
    """Input that passed the schema is still wrong (a cursor that was tampered with, say)."""


class AuthenticationError(AquaWatchError):
    """No valid credentials."""


class PermissionDeniedError(AquaWatchError):
    """Valid credentials without the needed scope."""


class TooManyAttemptsError(AquaWatchError):
    """Too many failed logins; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_STATUS: Final[dict[type[AquaWatchError], HTTPStatus]] = {
    NotFoundError: HTTPStatus.NOT_FOUND,
    ConflictError: HTTPStatus.CONFLICT,
    AlertError: HTTPStatus.CONFLICT,
    SubscriberError: HTTPStatus.CONFLICT,
    UnknownStationsError: HTTPStatus.UNPROCESSABLE_ENTITY,
    InvalidInputError: HTTPStatus.UNPROCESSABLE_ENTITY,
    AuthenticationError: HTTPStatus.UNAUTHORIZED,
    PermissionDeniedError: HTTPStatus.FORBIDDEN,
    TooManyAttemptsError: HTTPStatus.TOO_MANY_REQUESTS,
}


class FieldError(BaseModel):
    """What is wrong with one input field."""

    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, with field errors for invalid input."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


PROBLEM_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}}
    for status in (401, 403, 404, 409, 422, 429, 503)
}
"""Responses every API route may give, for the OpenAPI document."""


def problem(
    request: Request,
    status: int,
    detail: str | None,
    *,
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Build a problem+json response for ``request``."""
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(loc=[str(p) if not isinstance(p, int) else p for p in e["loc"]], msg=e["msg"])
        for e in exc.errors()
    ]
    return problem(request, 422, "the request has invalid fields", errors=errors)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(request, exc.status_code, str(exc.detail), headers=exc.headers)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AquaWatchError)
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), None)
    if status is None:
        return await _unexpected(request, exc)
    headers = None
    if isinstance(exc, TooManyAttemptsError):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, AuthenticationError):
        headers = {"WWW-Authenticate": "Bearer"}
    return problem(request, status, str(exc), headers=headers)


async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    # Input the schema allows but PostgreSQL cannot hold (a NUL character in text, say).
    return problem(request, 422, f"a value cannot be stored: {exc}")


async def _busy(request: Request, exc: Exception) -> JSONResponse:
    # Every connection stayed in use for the whole wait: a moment later one will not be.
    detail = "the server is busy; try again shortly"
    headers = {"Retry-After": str(BUSY_RETRY_AFTER_S)}
    return problem(request, 503, detail, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(request, 500, "an unexpected error; it has been logged")


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error, expected or not, a problem+json response."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(AquaWatchError, _domain)
    app.add_exception_handler(psycopg.DataError, _unstorable)
    app.add_exception_handler(PoolTimeout, _busy)
    app.add_exception_handler(Exception, _unexpected)
