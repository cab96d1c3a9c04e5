"""Operations: ``/health`` (database, broker, ingest lag) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import socket
from typing import Annotated, Final

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from telemetry import ConfigError, parse_mqtt_url
from viz.api.auth import Principal, Scope
from viz.api.deps import Svc, pooled, require

router = APIRouter(tags=["operations"])
BROKER_TIMEOUT_S: Final = 1.0

LAG_WINDOW: Final = "1 hour"


class Health(BaseModel):
    """Whether the API can serve: the database answers, the broker accepts connections."""

    status: str  # ok or degraded
    database: bool
    broker: bool
    # Since the newest reading was stored; None when none was in the last LAG_WINDOW.
    ingest_lag_s: float | None


def _broker_reachable(url: str) -> bool:
    try:
        endpoint = parse_mqtt_url(url)
        with socket.create_connection((endpoint.host, endpoint.port), timeout=BROKER_TIMEOUT_S):
            return True
    except (OSError, ConfigError):
        return False


@router.get("/health", responses={503: {"model": Health}})
def health(request: Request, svc: Svc) -> JSONResponse:
    """Database, broker and ingest lag; 503 when the database or broker is down."""
    lag: float | None = None
    try:
        # From the reserved pool: a busy API is not a database that is down.
        with pooled(request) as conn:
            # Bounded, so the BRIN index on ingested_at finds the newest block ranges: a
            # plain max() would read every partition on every probe.
            row = conn.execute(
                "SELECT extract(epoch FROM now() - max(ingested_at))::float8 FROM readings"
                " WHERE ingested_at > now() - %s::interval",
                (LAG_WINDOW,),
            ).fetchone()
        database = True
        lag = row[0] if row else None
    except psycopg.Error:  # PoolTimeout included
        database = False
    broker = _broker_reachable(svc.settings.mqtt_url.get_secret_value())
    body = Health(
        status="ok" if database and broker else "degraded",
        database=database,
        broker=broker,
        ingest_lag_s=lag,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(svc: Svc, _: Annotated[Principal, Depends(require(Scope.METRICS_READ))]) -> str:
    """Prometheus metrics: requests by route and status, latency, pool use."""
    return svc.metrics.render((svc.pool, svc.reserved_pool))
