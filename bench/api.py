"""API benchmark: latency of latest values and of 30-day hourly aggregates, over real HTTP.

Run ``python -m bench.api`` (``--database-url`` of a server where it may create a database,
``--requests``). Seeds the seven configured stations x 8 parameters x 30 days at 5-minute
intervals (COPY), refreshes the rollups, serves the API with uvicorn on a free port and times
requests from an httpx client: latest values of every station (the public board call), and
30 days x one station x all parameters at 1-hour buckets. Targets (median, this machine):
under 50 ms and under 200 ms.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import httpx
import numpy as np
import psycopg
import uvicorn
from pydantic import SecretStr

from bench.database import bench_database
from stations import load_registry, sync_registry
from telemetry import PARAMETERS, SystemClock, migrate
from viz.api import ApiSettings, Scope, create_app
from viz.api.queries.accounts import KeyIn, create_key

DAYS = 30
STEP_S = 300
CODES = ("temp", "ph", "do", "sal", "cod", "nh4", "bod5", "po4")


def seed(url: str, now: datetime) -> int:
    """Readings for every station and parameter, then the rollups; returns the row count."""
    migrate(url)
    registry = load_registry()
    rng = np.random.default_rng(1)
    steps = DAYS * 86_400 // STEP_S
    start = now - timedelta(seconds=steps * STEP_S)
    times = [start + timedelta(seconds=STEP_S * i) for i in range(steps)]
    with psycopg.connect(url) as conn:
        sync_registry(conn, registry, deactivate_missing=True)
        conn.execute("UPDATE stations SET parameters = %s", (list(CODES),))
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY readings (time, station_id, parameter_id, value, qc) FROM STDIN"
            ) as copy,
        ):
            for station in registry.stations:
                for code in CODES:
                    values = 5.0 + rng.normal(0, 0.5, steps)
                    pid = PARAMETERS[code].id
                    for at, value in zip(times, values.tolist(), strict=True):
                        copy.write_row((at, station, pid, value, 1))
        conn.commit()
        conn.execute("SELECT aquawatch_refresh_rollups('0 seconds')")
        conn.commit()
        conn.execute("ANALYZE")
    return len(registry.stations) * len(CODES) * steps


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(client: httpx.Client, path: str, params: dict[str, str], n: int) -> list[float]:
    client.get(path, params=params).raise_for_status()  # warm-up
    seconds = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        seconds.append(time.perf_counter() - started)
    return seconds


def report(name: str, seconds: list[float], target_ms: float) -> None:
    median = statistics.median(seconds) * 1000
    p95 = float(np.percentile(seconds, 95)) * 1000
    verdict = "meets" if median < target_ms else "MISSES"
    print(
        f"{name}: median {median:.1f} ms, p95 {p95:.1f} ms over {len(seconds)} requests"
        f" ({verdict} the {target_ms:.0f} ms target)"
    )


@contextmanager
def seeded_api(server_url: str) -> Iterator[tuple[str, str, datetime]]:
    """A fresh seeded database and the API on it; yields (database URL, base URL, now)."""
    clock = SystemClock()
    now = clock.now().replace(microsecond=0)
    with bench_database(server_url) as url:
        started = time.perf_counter()
        rows = seed(url, now)
        print(f"seeded {rows:,} readings and rollups in {time.perf_counter() - started:.1f} s")
        settings = ApiSettings(database_url=SecretStr(url), port=free_port(), pool_size=4)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, clock=clock),
                host="127.0.0.1",
                port=settings.port,
                log_level="warning",
            )
        )
        thread = threading.Thread(target=server.run, name="bench-api", daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield url, f"http://127.0.0.1:{settings.port}", now
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1/postgres")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with seeded_api(args.database_url) as (url, base, now), httpx.Client(base_url=base) as client:
        latest = timed(client, "/api/v1/public/stations/latest", {}, args.requests)
        month = {
            "station": "KG-SR-01",
            "bucket": "1h",
            "start": (now - timedelta(days=DAYS)).isoformat(),
            "end": now.isoformat(),
        }
        client.headers["Authorization"] = f"Bearer {bench_key(url)}"
        hourly = timed(client, "/api/v1/readings/aggregate", month, args.requests)
        body = client.get("/api/v1/readings/aggregate", params=month).json()
    buckets = sum(len(s["bucket"]) for s in body["series"])
    report("latest values, 7 stations x 8 parameters (public, no auth)", latest, 50)
    report(f"30 days x 1 station x 8 parameters at 1 h ({buckets} buckets, API key)", hourly, 200)


def bench_key(url: str) -> str:
    """An API key that may read readings."""
    with psycopg.connect(url) as conn:
        return create_key(conn, KeyIn(name="bench", scopes=[Scope.READINGS_READ]), actor="bench")[1]


if __name__ == "__main__":
    main()
