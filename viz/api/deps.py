"""What routes get injected: the database connection and the caller's principal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, cast

import psycopg
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool

from telemetry import Clock
from viz.api.admission import lane_of, remaining_s
from viz.api.auth import Passwords, Principal, Scope, Tokens
from viz.api.cache import TtlCache
from viz.api.metrics import Metrics
from viz.api.problems import AuthenticationError, PermissionDeniedError
from viz.api.queries.accounts import key_principal, user_principal
from viz.api.settings import ApiSettings


@dataclass(frozen=True, slots=True)
class Services:
    """What the lifespan builds and the routes share.

    Attributes:
        pool: Connections of the API's routes.
        reserved_pool: Connections only ``/health`` and the public board routes use, so a
            busy API never leaves the boards and the probes without one.
        read_pool, read_reserved_pool: The same two on the read replica, for GET and HEAD
            requests; the primary's pools themselves when no replica is configured.
        public_cache: Rendered public responses, shared for a few seconds.
    """

    settings: ApiSettings
    pool: ConnectionPool
    reserved_pool: ConnectionPool
    read_pool: ConnectionPool
    read_reserved_pool: ConnectionPool
    tokens: Tokens
    passwords: Passwords
    metrics: Metrics
    public_cache: TtlCache[str]
    clock: Clock


def running(request: Request) -> Services:
    """The running app's services."""
    return cast(Services, request.app.state.services)


async def services(request: Request) -> Services:
    """The running app's services (a coroutine, so looking them up takes no worker thread)."""
    return running(request)


_READS = frozenset({"GET", "HEAD"})


@contextmanager
def pooled(request: Request) -> Iterator[psycopg.Connection[Any]]:
    """A connection from the pool of the request's lane, committed after use unless it failed.

    GET and HEAD requests, which write nothing, read from the replica when there is one.
    Waits no longer than the request's deadline; then ``PoolTimeout``, which answers 503.
    """
    svc = running(request)
    reserved = lane_of(request.scope).reserved
    if request.method in _READS:
        pool = svc.read_reserved_pool if reserved else svc.read_pool
    else:
        pool = svc.reserved_pool if reserved else svc.pool
    timeout = remaining_s(request.scope, svc.settings.pool_timeout_s)
    with pool.connection(timeout=timeout) as conn:
        yield conn


def connection(request: Request) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection for one request (committed after it unless it failed)."""
    with pooled(request) as conn:
        yield conn


# Committed when the route function returns, before the response is sent: a client never
# reads 200 for a write that then fails to commit.
Conn = Annotated[psycopg.Connection[Any], Depends(connection, scope="function")]
# Held until a streamed body is done: exports read on it while they send.
StreamConn = Annotated[psycopg.Connection[Any], Depends(connection, scope="request")]
Svc = Annotated[Services, Depends(services)]

_bearer = HTTPBearer(
    auto_error=False,
    description="A login token from POST /api/v1/auth/token, or an API key aw_<prefix>_<secret>",
)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


def _caller(
    svc: Services, conn: psycopg.Connection[Any], credentials: HTTPAuthorizationCredentials | None
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
    subject = svc.tokens.subject(token)
    return user_principal(conn, subject.username, version=subject.version)


def principal(svc: Svc, conn: Conn, credentials: Credentials) -> Principal:
    """Who is calling, checked on the request's connection."""
    return _caller(svc, conn, credentials)


def streaming_principal(svc: Svc, conn: StreamConn, credentials: Credentials) -> Principal:
    """Who is calling, checked on the connection a streamed answer keeps (no second one)."""
    return _caller(svc, conn, credentials)


def _admit(who: Principal, scope: Scope) -> Principal:
    if scope not in who.scopes:
        msg = f"needs the {scope.value} permission"
        raise PermissionDeniedError(msg)
    return who


def require(scope: Scope, *, streaming: bool = False) -> Callable[[Principal], Principal]:
    """A dependency admitting only principals with ``scope``."""
    # Annotations are resolved in this module's namespace, so each names a module-level caller.
    if streaming:

        def check_streaming(who: Annotated[Principal, Depends(streaming_principal)]) -> Principal:
            return _admit(who, scope)

        return check_streaming

    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        return _admit(who, scope)

    return check
