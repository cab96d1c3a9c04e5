"""What routes get injected: the database connection and the caller's principal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, cast

import psycopg
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool

from telemetry import Clock
from viz.api.accounts import key_principal, user_principal
from viz.api.auth import Passwords, Principal, Scope, Tokens
from viz.api.metrics import Metrics
from viz.api.problems import AuthenticationError, PermissionDeniedError
from viz.api.settings import ApiSettings


@dataclass(frozen=True, slots=True)
class Services:
    """What the lifespan builds and the routes share."""

    settings: ApiSettings
    pool: ConnectionPool
    tokens: Tokens
    passwords: Passwords
    metrics: Metrics
    clock: Clock


def services(request: Request) -> Services:
    """The running app's services."""
    return cast(Services, request.app.state.services)


def connection(request: Request) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection for one request (committed after it unless it failed)."""
    with services(request).pool.connection() as conn:
        yield conn


Conn = Annotated[psycopg.Connection[Any], Depends(connection)]
Svc = Annotated[Services, Depends(services)]

_bearer = HTTPBearer(
    auto_error=False,
    description="A login token from POST /api/v1/auth/token, or an API key aw_<prefix>_<secret>",
)


def principal(
    svc: Svc,
    conn: Conn,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """Who is calling.

    Raises:
        AuthenticationError: No credentials, or invalid ones.
    """
    if credentials is None:
        msg = "log in (POST /api/v1/auth/token) or send an API key as a bearer token"
        raise AuthenticationError(msg)
    token = credentials.credentials
    if token.startswith("aw_"):
        return key_principal(conn, token)
    return user_principal(conn, svc.tokens.username(token))


def require(scope: Scope) -> Callable[[Principal], Principal]:
    """A dependency admitting only principals with ``scope``."""

    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if scope not in who.scopes:
            msg = f"needs the {scope.value} permission"
            raise PermissionDeniedError(msg)
        return who

    return check
