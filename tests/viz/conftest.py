"""A real API server (uvicorn on a free port) over a migrated database, one per test module."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from alerts import load_profiles, sync_profiles
from stations import load_registry, sync_registry
from telemetry import SystemClock, migrate
from tests.support.mosquitto import Broker
from tests.support.network import free_port, serving
from tests.support.postgres import PostgresServer
from viz.api import ApiSettings, Role, create_app
from viz.api.auth import Passwords, Scope
from viz.api.queries.accounts import KeyIn, UserIn, create_key, create_user

PASSWORD = "correct-horse-battery"
SECRET = "test-secret-of-at-least-32-bytes!"


@dataclass
class Api:
    """A running API and the credentials of one account per role."""

    base: str
    database_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    key: str = ""

    def client(self, who: str | None = None) -> httpx.Client:
        """A client authenticated as a role name, ``key``, or nobody."""
        headers = {}
        if who == "key":
            headers["Authorization"] = f"Bearer {self.key}"
        elif who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)


def prepare(url: str) -> None:
    """Schema, the registry's stations and boards, and the compiled threshold rules."""
    migrate(url)
    registry = load_registry()
    with psycopg.connect(url) as conn:
        sync_registry(conn, registry, deactivate_missing=True)
        rows = load_profiles().as_rows(registry.stations.values())
        sync_profiles(conn, rows, stations=list(registry.stations))
        passwords = Passwords()
        for role in Role:
            create_user(
                conn,
                UserIn(username=role.value, role=role, password=PASSWORD),
                passwords=passwords,
                actor="test",
            )


def insert_readings(url: str, rows: list[tuple[datetime, str, str, float, int, int]]) -> None:
    """Store (time, station, parameter code, value, qc, device status) rows."""
    with psycopg.connect(url) as conn:
        conn.cursor().executemany(
            "INSERT INTO readings (time, station_id, parameter_id, value, qc, device_status)"
            " SELECT %s, %s, id, %s, %s, %s FROM parameters WHERE code = %s",
            [(t, s, v, q, d, code) for t, s, code, v, q, d in rows],
        )


def insert_alert(url: str, station_id: str, rule_id: str) -> int:
    """An open alert with its opening event, as the engine would write it."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "INSERT INTO alerts (station_id, rule_id, family, severity, opened_at)"
            " VALUES (%s, %s, 'threshold', 2, now()) RETURNING id",
            (station_id, rule_id),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO alert_events (alert_id, kind, severity, actor)"
            " VALUES (%s, 'opened', 2, 'engine')",
            (row[0],),
        )
    return int(row[0])


@pytest.fixture(scope="module")
def api_broker() -> Iterator[Broker]:
    """The broker ``/health`` probes: a private one, never the machine's own."""
    instance = Broker()
    instance.start()
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope="module")
def api(postgres: PostgresServer, api_broker: Broker) -> Iterator[Api]:
    """A server for this module's tests, logged in once per role, with a read-only key."""
    with postgres.database() as url:
        prepare(url)
        settings = ApiSettings(
            database_url=url,
            mqtt_url=api_broker.url,
            port=free_port(),
            token_secret=SECRET,
            pool_size=4,
            login_max_failures=3,
        )
        with serving(create_app(settings, clock=SystemClock()), settings.port) as base:
            running = Api(base=base, database_url=url)
            with httpx.Client(base_url=running.base) as client:
                for role in Role:
                    body = {"username": role.value, "password": PASSWORD}
                    reply = client.post("/api/v1/auth/token", json=body)
                    running.tokens[role.value] = reply.json()["access_token"]
            with psycopg.connect(url) as conn:
                new = KeyIn(name="LGSP", scopes=[Scope.READINGS_READ, Scope.STATIONS_READ])
                _, running.key = create_key(conn, new, actor="test")
            yield running


@contextmanager
def broker_stand_in() -> Iterator[str]:
    """An MQTT URL where something accepts connections (all ``/health`` asks of a broker)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"mqtt://127.0.0.1:{listener.getsockname()[1]}"


@contextmanager
def another_server(api: Api, **overrides: Any) -> Iterator[tuple[str, FastAPI]]:
    """The API with other settings on ``api``'s database (its tokens and key work there).

    Yields its base URL and the app (whose ``state.services`` hold its pools).
    """
    with broker_stand_in() as mqtt_url:
        settings = ApiSettings(
            database_url=api.database_url,
            mqtt_url=mqtt_url,
            port=free_port(),
            token_secret=SECRET,
            **overrides,
        )
        app = create_app(settings, clock=SystemClock())
        with serving(app, settings.port) as base:
            yield base, app
