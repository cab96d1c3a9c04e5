"""What the API admits: bursts degrade to 503 with Retry-After, never freeze; big bodies 413.

Timings here are generous upper bounds that tell "answers" from "froze": liveness checks,
not speed targets (those belong to the benchmarks).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import anyio
import httpx
import pytest

from tests.viz.conftest import PASSWORD, Api, another_server
from viz.api.admission import Gate

LATEST = "/api/v1/public/stations/latest"
FROZE_S = 10.0  # the audit saw 30 s; anything near that is a freeze


@dataclass(frozen=True)
class Reply:
    status: int  # 0: no answer (a client time-out or a refused connection)
    retry_after: str | None
    seconds: float


def call(client: httpx.Client, path: str, *, token: str | None = None) -> Reply:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.perf_counter()
    try:
        reply = client.get(path, headers=headers)
    except httpx.HTTPError:
        return Reply(0, None, time.perf_counter() - started)
    return Reply(reply.status_code, reply.headers.get("retry-after"), time.perf_counter() - started)


@contextmanager
def client_for(base: str, connections: int = 10) -> Iterator[httpx.Client]:
    """A client (thread-safe) with up to ``connections`` connections open at once."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=0)
    with httpx.Client(base_url=base, timeout=FROZE_S * 3, limits=limits) as client:
        yield client


def burst(n: int, base: str, path: str, *, token: str | None = None) -> list[Reply]:
    """``n`` requests released together, each on its own connection."""
    start = threading.Barrier(n)
    with client_for(base, n) as client:

        def one(_: int) -> Reply:
            start.wait()
            return call(client, path, token=token)

        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(one, range(n)))


def probe_health(base: str, stop: threading.Event, replies: list[Reply]) -> None:
    with client_for(base) as client:
        while not stop.is_set():
            replies.append(call(client, "/health"))
            stop.wait(0.2)


def degraded_not_broken(replies: list[Reply]) -> None:
    """Every reply is a success or a 503 with Retry-After, none anywhere near a freeze."""
    broken = [
        r for r in replies if not (r.status < 500 or (r.status, bool(r.retry_after)) == (503, True))
    ]
    assert broken == [], Counter(r.status for r in broken)
    assert max(r.seconds for r in replies) < FROZE_S


@pytest.mark.integration
def test_200_concurrent_public_requests_while_health_answers(api: Api) -> None:
    with another_server(api) as (base, _):
        stop = threading.Event()
        health: list[Reply] = []
        prober = threading.Thread(target=probe_health, args=(base, stop, health))
        prober.start()
        try:
            replies = burst(200, base, LATEST)
        finally:
            stop.set()
            prober.join()
    degraded_not_broken(replies)
    assert any(r.status == 200 for r in replies)
    assert health
    assert all(r.status == 200 and r.seconds < FROZE_S for r in health)


@pytest.mark.integration
def test_an_exhausted_pool_answers_503_within_the_pool_timeout(api: Api) -> None:
    timeout_s = 1.0
    viewer = api.tokens["viewer"]
    with another_server(api, pool_size=2, pool_timeout_s=timeout_s, max_requests=4) as (base, app):
        pool = app.state.services.pool
        held = [pool.getconn(timeout=5) for _ in range(2)]
        try:
            replies = burst(12, base, "/api/v1/stations", token=viewer)
            problem = httpx.get(
                f"{base}/api/v1/stations", headers={"Authorization": f"Bearer {viewer}"}
            )
            with client_for(base) as client:
                public = call(client, LATEST)
                health = call(client, "/health")
        finally:
            for conn in held:
                pool.putconn(conn)
        with client_for(base) as client:
            after = call(client, "/api/v1/stations", token=viewer)
    # Some waited for a connection, the rest for a turn: all gave up after the pool timeout.
    assert {(r.status, r.retry_after) for r in replies} == {(503, "1")}
    assert max(r.seconds for r in replies) < timeout_s + 1.5
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["status"] == 503
    assert public.status == 200  # the boards and the probes have connections of their own
    assert health.status == 200
    assert after.status == 200


def test_a_gate_admits_its_limit_and_hands_slots_on_in_order() -> None:
    async def scenario() -> list[str]:
        gate = Gate(1)
        events: list[str] = []
        assert await gate.enter(0)
        assert not await gate.enter(0)  # full, and told at once
        assert not await gate.enter(0.05)  # full for the whole wait
        assert gate.held == 1

        async def waiter(name: str) -> None:
            if await gate.enter(5):
                events.append(name)

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter, "first")
            await anyio.sleep(0.01)
            tg.start_soon(waiter, "second")
            await anyio.sleep(0.01)
            gate.leave()
            await anyio.sleep(0.01)
            gate.leave()
        gate.leave()
        assert gate.held == 0
        return events

    assert anyio.run(scenario) == ["first", "second"]


@pytest.mark.integration
def test_bodies_over_the_limit_are_refused_declared_or_chunked(api: Api) -> None:
    login = "/api/v1/auth/token"
    big = b'{"username": "viewer", "password": "' + b"x" * 4000 + b'"}'

    def chunked() -> Iterator[bytes]:
        for i in range(0, len(big), 500):
            yield big[i : i + 500]

    with (
        another_server(api, max_body_bytes=1024) as (base, _),
        httpx.Client(base_url=base) as client,
    ):
        declared = client.post(login, content=big, headers={"Content-Type": "application/json"})
        streamed = client.post(
            login, content=chunked(), headers={"Content-Type": "application/json"}
        )
        small = client.post(login, json={"username": "viewer", "password": PASSWORD})
    assert streamed.request.headers["transfer-encoding"] == "chunked"
    for reply in (declared, streamed):
        assert reply.status_code == 413, reply.text
        assert reply.headers["content-type"] == "application/problem+json"
        assert "1024 bytes" in reply.json()["detail"]
    assert small.status_code == 200
