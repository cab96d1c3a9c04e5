"""Operations: ``/health`` (database, broker, ingest lag) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import socket
from enum import StrEnum
from typing import Annotated, Final

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from telemetry import ConfigError, parse_mqtt_url
from viz.api.auth import Principal, Scope
from viz.api.deps import Svc, pooled, require
from viz.api.queries.readings import ingest_lag_s

router = APIRouter(tags=["operations"])
BROKER_TIMEOUT_S: Final = 1.0


class HealthStatus(StrEnum):
    """Whether the API can serve."""

    OK = "ok"
    DEGRADED = "degraded"


class Health(BaseModel):
    """Whether the API can serve: the database answers, the broker accepts connections."""

    status: HealthStatus
    database: bool
    broker: bool
    # Since the newest reading was stored; None when none was in the last hour.
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
            lag = ingest_lag_s(conn)
        database = True
    except psycopg.Error:  # PoolTimeout included
        database = False
    broker = _broker_reachable(svc.settings.mqtt_url.get_secret_value())
    body = Health(
        status=HealthStatus.OK if database and broker else HealthStatus.DEGRADED,
        database=database,
        broker=broker,
        ingest_lag_s=lag,
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=200 if body.status is HealthStatus.OK else 503
    )


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(svc: Svc, _: Annotated[Principal, Depends(require(Scope.METRICS_READ))]) -> str:
    """Prometheus metrics: requests by route and status, latency, pool use."""
    pools = (svc.pool, svc.reserved_pool, svc.read_pool, svc.read_reserved_pool)
    return svc.metrics.render(tuple(dict.fromkeys(pools)))
