"""Exports round-trip: CSV and Circular 10/2021 files parse back to exactly the stored readings."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from telemetry import SystemClock, decode_file
from tests.support.common import wait_for
from tests.support.network import free_port, serving
from tests.viz.conftest import Api, another_server, insert_readings
from viz.api import ApiSettings, create_app

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
ROWS = [
    (T0 + timedelta(minutes=5 * i), "KG-SR-01", code, value + i * 0.1 + 1e-9, 1, i % 3)
    for i in range(300)
    for code, value in (("do", 4.2), ("temp", 29.8), ("ph", 7.9))
]
RANGE = {
    "station": "KG-SR-01",
    "start": T0.isoformat(),
    "end": (T0 + timedelta(days=2)).isoformat(),
}


@pytest.fixture(scope="module")
def stored(api: Api) -> Api:
    insert_readings(api.database_url, ROWS)
    return api


def expected() -> set[tuple[datetime, str, float, int]]:
    return {(t, code, v, d) for t, _, code, v, _, d in ROWS}


def test_csv_round_trip(stored: Api) -> None:
    with stored.client("viewer") as client:
        reply = client.get("/api/v1/readings/export.csv", params=RANGE)
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    got = {
        (
            datetime.fromisoformat(r["time"]),
            r["parameter"],
            float(r["value"]),
            int(r["device_status"]),
        )
        for r in rows
    }
    assert len(rows) == len(ROWS)
    assert got == expected()


def test_circular10_round_trip(stored: Api) -> None:
    with stored.client("key") as client:
        reply = client.get("/api/v1/readings/export.circular10", params=RANGE)
    archive = zipfile.ZipFile(io.BytesIO(reply.content))
    files = [decode_file(name, archive.read(name)) for name in archive.namelist()]
    assert len(files) == 300  # one per sampling instant
    got = {
        (f.time.astimezone(UTC), line.code, line.value, line.status)
        for f in files
        for line in f.lines
    }
    assert got == expected()
    assert {f.station_id for f in files} == {"KG-SR-01"}


def test_circular10_files_are_named_with_the_station_file_code(stored: Api) -> None:
    with psycopg.connect(stored.database_url) as conn:
        conn.execute("UPDATE stations SET file_code = 'AG_TS_SR01' WHERE id = 'KG-SR-01'")
    try:
        with stored.client("key") as client:
            reply = client.get("/api/v1/readings/export.circular10", params=RANGE)
    finally:
        with psycopg.connect(stored.database_url) as conn:
            conn.execute("UPDATE stations SET file_code = id WHERE id = 'KG-SR-01'")
    names = zipfile.ZipFile(io.BytesIO(reply.content)).namelist()
    assert len(names) == 300
    assert all(name.startswith("AG_TS_SR01_") for name in names)


def test_cursor_pages_cover_the_range_once(stored: Api) -> None:
    seen: list[tuple[str, str]] = []
    params: dict[str, str | int] = {**RANGE, "limit": 250}
    with stored.client("viewer") as client:
        while True:
            page = client.get("/api/v1/readings", params=params).json()
            seen += [(r["time"], r["parameter"]) for r in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        bad = client.get("/api/v1/readings", params={**RANGE, "cursor": "not-a-cursor"})
    assert len(seen) == len(set(seen)) == len(ROWS)
    assert bad.status_code == 422


def test_naive_and_out_of_range_times_are_refused_per_field(stored: Api) -> None:
    with stored.client("viewer") as client:
        reply = client.get(
            "/api/v1/readings",
            params={
                "station": "KG-SR-01",
                "start": "2026-11-20T00:00:00",
                "end": "1900-01-01T00:00:00Z",
            },
        )
    body = reply.json()
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in body["errors"]] == [["query", "start"], ["query", "end"]]


def test_public_latest_shows_values_and_index_only(stored: Api) -> None:
    with stored.client() as client:
        boards = client.get("/api/v1/public/stations/latest").json()
    station = next(s for s in boards if s["station_id"] == "KG-SR-01")
    assert {v["parameter"] for v in station["values"]} == {"do", "temp", "ph"}
    latest_do = next(v for v in station["values"] if v["parameter"] == "do")
    assert latest_do["value"] == ROWS[-3][3]
    assert station["wqi"] is None  # DO alone is one group IV parameter: not computable


def test_an_export_needs_no_more_than_the_request_connection(stored: Api) -> None:
    """With a pool of one, an export streams on the connection its request already holds."""
    settings = ApiSettings(database_url=stored.database_url, pool_size=1)
    with serving(create_app(settings, clock=SystemClock()), free_port()) as base:
        headers = {"Authorization": f"Bearer {stored.key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            reply = client.get("/api/v1/readings/export.csv", params=RANGE)
            after = client.get("/api/v1/stations")  # the connection went back to the pool
    assert reply.status_code == 200
    assert len(reply.text.splitlines()) == len(ROWS) + 1
    assert after.status_code == 200


@pytest.mark.parametrize(
    ("who", "days", "allowed"),
    [
        ("viewer", 31, True),
        ("viewer", 32, False),
        ("key", 32, False),
        ("officer", 366, True),
        ("officer", 367, False),
        ("admin", 367, True),
    ],
)
def test_an_export_range_is_capped_by_role(api: Api, who: str, days: int, allowed: bool) -> None:
    span = {**RANGE, "end": (T0 + timedelta(days=days)).isoformat()}
    with api.client(who) as client:
        reply = client.get("/api/v1/readings/export.csv", params=span)
    if allowed:
        assert reply.status_code == 200
        return
    assert reply.status_code == 422
    cap = {"viewer": 31, "key": 31, "officer": 366}[who]
    assert f"at most {cap} days" in reply.json()["detail"]


@contextmanager
def readings_locked(url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Hold readings locked, so exports wait inside their query until released."""
    with psycopg.connect(url) as conn:
        conn.execute("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE")
        yield conn


def blocked_queries(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return int(row[0]) if row else 0


def test_exports_beyond_the_limit_are_refused_while_other_routes_answer(stored: Api) -> None:
    api = stored
    headers = {"Authorization": f"Bearer {api.key}"}
    path = "/api/v1/readings/export.csv"
    with another_server(api, max_exports=2) as (base, _), ThreadPoolExecutor(2) as running:
        with readings_locked(api.database_url) as lock, psycopg.connect(api.database_url) as watch:
            exports = [
                running.submit(
                    httpx.get, f"{base}{path}", params=RANGE, headers=headers, timeout=30
                )
                for _ in range(2)
            ]
            wait_for(lambda: blocked_queries(watch) == 2, timeout=10, what="two exports waiting")
            started = time.perf_counter()
            third = httpx.get(f"{base}{path}", params=RANGE, headers=headers, timeout=30)
            refused_in = time.perf_counter() - started
            others = httpx.get(f"{base}/api/v1/stations", headers=headers, timeout=30)
            lock.rollback()
        finished = [e.result(timeout=30) for e in exports]
    assert third.status_code == 503
    assert third.headers["retry-after"] == "10"
    assert third.headers["content-type"] == "application/problem+json"
    assert refused_in < 2.0  # refused at once, not after a wait
    assert others.status_code == 200
    assert [r.status_code for r in finished] == [200, 200]
    assert len(finished[0].text.splitlines()) == len(ROWS) + 1


def test_an_export_past_its_time_limit_is_cut_and_its_connection_returns(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.key}"}
    settings = {"pool_size": 1, "export_time_limit_s": 0.5}
    with (
        another_server(api, **settings) as (base, _),
        httpx.Client(base_url=base, headers=headers, timeout=30) as client,
    ):
        with readings_locked(api.database_url):
            started = time.perf_counter()
            with pytest.raises(httpx.RemoteProtocolError):  # a broken download, not a short one
                client.get("/api/v1/readings/export.csv", params=RANGE)
            cut_in = time.perf_counter() - started
        after = client.get("/api/v1/stations")  # the pool's one connection is back
    assert cut_in < 5.0
    assert after.status_code == 200
