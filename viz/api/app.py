"""The FastAPI application: built by :func:`create_app`, resources owned by its lifespan."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import anyio.to_thread
from fastapi import APIRouter, FastAPI

from alerts import sms_callbacks
from telemetry import Clock, create_pool
from viz.api.admission import HEALTH_SLOTS, Admission, AdmissionMiddleware, Lane
from viz.api.auth import Passwords, Tokens
from viz.api.body_limit import BodyLimitMiddleware
from viz.api.cache import TtlCache
from viz.api.deps import Services, pooled
from viz.api.docs import install_docs
from viz.api.headers import SecurityHeadersMiddleware
from viz.api.metrics import Metrics, MetricsMiddleware
from viz.api.problems import PROBLEM_RESPONSES, install_problem_handlers
from viz.api.routes import (
    admin,
    alerts,
    forwarding,
    ops,
    public,
    readings,
    stations,
    subscribers,
)
from viz.api.settings import ApiSettings
from viz.dashboard import install_dashboards

logger = logging.getLogger(__name__)

PREFIX: Final = "/api/v1"
DESCRIPTION: Final = """Water-quality telemetry of the An Giang (formerly Kiên Giang) network.

Log in with `POST /api/v1/auth/token` and send `Authorization: Bearer <token>`, or send an
API key (`aw_<prefix>_<secret>`) the same way. `/api/v1/public/...` needs no login.
Errors are `application/problem+json` (RFC 9457) with field errors for invalid input.
Times are ISO 8601 with a UTC offset. When busy the API answers 503 with `Retry-After`."""
LANES: Final = (
    ("/health", Lane.HEALTH),
    (f"{PREFIX}/public/", Lane.PUBLIC),
    ("/boards/", Lane.PUBLIC),
    (f"{PREFIX}/readings/export", Lane.EXPORT),
)
"""Which requests go to which admission lane (the others: API)."""
# Worker threads beyond the admitted requests: static files, a cache computation.
SPARE_THREADS: Final = 8


def create_app(settings: ApiSettings, *, clock: Clock) -> FastAPI:
    """Build the application; its lifespan opens and closes the database pools.

    Args:
        settings: The API's settings.
        clock: What time it is for the routes (dashboard ranges, board freshness, tokens).
    """
    metrics = Metrics()
    secret = settings.token_secret.get_secret_value().encode() or secrets.token_bytes(32)
    admission = Admission(
        LANES,
        limits={
            Lane.API: settings.max_requests,
            Lane.EXPORT: settings.max_exports,
            Lane.PUBLIC: settings.max_public_requests,
            Lane.HEALTH: HEALTH_SLOTS,
        },
        wait_s=settings.pool_timeout_s,
    )
    if settings.max_exports >= settings.pool_size:
        logger.warning(
            "%d concurrent exports may hold all %d pooled connections",
            settings.max_exports,
            settings.pool_size,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each admitted request runs on at most one worker thread at a time; with enough
        # threads for all of them, no lane can take the threads another lane needs.
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, admission.capacity + SPARE_THREADS)
        url = settings.database_url.get_secret_value()
        pool = create_pool(url, size=settings.pool_size, name="api")
        reserved = create_pool(url, size=settings.reserved_pool_size, name="api-reserved")
        pools = [pool, reserved]
        read_pool, read_reserved = pool, reserved
        if settings.read_database_url is not None:
            replica = settings.read_database_url.get_secret_value()
            read_pool = create_pool(replica, size=settings.pool_size, name="api-read")
            read_reserved = create_pool(
                replica, size=settings.reserved_pool_size, name="api-read-reserved"
            )
            pools += [read_pool, read_reserved]
        for each in pools:
            each.open()
        app.state.services = Services(
            settings=settings,
            pool=pool,
            reserved_pool=reserved,
            read_pool=read_pool,
            read_reserved_pool=read_reserved,
            tokens=Tokens(secret, lifetime_s=settings.token_lifetime_s, clock=clock),
            passwords=Passwords(),
            metrics=metrics,
            public_cache=TtlCache(settings.public_cache_s),
            clock=clock,
        )
        try:
            yield
        finally:
            for each in reversed(pools):
                each.close()

    app = FastAPI(
        title="AquaWatch API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
    )
    install_problem_handlers(app)
    # The last added runs first: every answer gets the security headers, metrics see every
    # answer, oversized bodies take no turn.
    app.add_middleware(AdmissionMiddleware, admission=admission, metrics=metrics)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware)
    v1 = APIRouter(prefix=PREFIX, responses=PROBLEM_RESPONSES)
    routes = (stations, readings, alerts, subscribers, forwarding, admin)
    for module in (*routes, public):
        v1.include_router(module.router)
    v1.include_router(sms_callbacks(connect=pooled, token=settings.sms_callback_token))
    app.include_router(v1)
    app.include_router(ops.router)
    install_dashboards(app)
    install_docs(app)
    return app
