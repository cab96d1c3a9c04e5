"""The FastAPI application: built by :func:`create_app`, resources owned by its lifespan."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import APIRouter, FastAPI

from telemetry import Clock, create_pool
from viz.api import (
    ops,
    public,
    routes_admin,
    routes_alerts,
    routes_readings,
    routes_stations,
    routes_subscribers,
    sms,
)
from viz.api.auth import Passwords, Tokens
from viz.api.deps import Services
from viz.api.metrics import Metrics, MetricsMiddleware
from viz.api.problems import PROBLEM_RESPONSES, install_problem_handlers
from viz.api.settings import ApiSettings
from viz.dashboard import install_dashboards

logger = logging.getLogger(__name__)

PREFIX: Final = "/api/v1"
DESCRIPTION: Final = """Water-quality telemetry of the Kiên Giang monitoring network.

Log in with `POST /api/v1/auth/token` and send `Authorization: Bearer <token>`, or send an
API key (`aw_<prefix>_<secret>`) the same way. `/api/v1/public/...` needs no login.
Errors are `application/problem+json` (RFC 9457) with field errors for invalid input.
Times are ISO 8601 with a UTC offset."""


def create_app(settings: ApiSettings, *, clock: Clock) -> FastAPI:
    """Build the application; its lifespan opens and closes the database pool.

    Args:
        settings: The API's settings.
        clock: What time it is for the routes (dashboard ranges, board freshness, tokens).
    """
    metrics = Metrics()
    secret = settings.token_secret.get_secret_value().encode() or secrets.token_bytes(32)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = create_pool(
            settings.database_url.get_secret_value(), size=settings.pool_size, name="api"
        )
        pool.open()
        app.state.services = Services(
            settings=settings,
            pool=pool,
            tokens=Tokens(secret, lifetime_s=settings.token_lifetime_s, clock=clock),
            passwords=Passwords(),
            metrics=metrics,
            clock=clock,
        )
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="AquaWatch API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    v1 = APIRouter(prefix=PREFIX, responses=PROBLEM_RESPONSES)
    routes = (routes_stations, routes_readings, routes_alerts, routes_subscribers, routes_admin)
    for module in (*routes, public, sms):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(ops.router)
    install_dashboards(app)
    return app
