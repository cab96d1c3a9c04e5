"""Real ``aquawatch alerts`` processes sharing the stations: kill -9 one, the others take its
stations over within a minute, and no alert or event is ever written twice.

The stations have never reported; once the workers have split them, every station gets one
reading dated two hours back (a logger's backlog arriving late), which makes it an offline
station: one alert each, whichever worker evaluates it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from stations import load_registry, sync_registry
from telemetry import PARAMETERS, migrate
from tests.support.common import wait_for
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration

REGISTRY = load_registry()
EVERY = set(REGISTRY.stations)
TICK_S = "1"
LEASE_S = "8"  # production: 30 s leases, 10 s ticks, so a take-over within 40 s


@pytest.fixture
def url(database_url: str) -> str:
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, REGISTRY, deactivate_missing=False)
    return database_url


@pytest.fixture
def started(url: str) -> Iterator[list[ServiceProcess]]:
    made: list[ServiceProcess] = []
    yield made
    for worker in made:
        worker.close()


def start(url: str, made: list[ServiceProcess]) -> ServiceProcess:
    worker = ServiceProcess(
        "alerts",
        ready="stations in",
        database_url=url,
        tick_s=TICK_S,
        lease_s=LEASE_S,
    )
    worker.start()
    made.append(worker)
    return worker


def owners(url: str) -> dict[str, set[str]]:
    """The stations each worker holds, by the process id in its name."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT owner, station_id FROM station_leases WHERE owner IS NOT NULL"
        ).fetchall()
    by_pid: dict[str, set[str]] = {}
    for owner, station in rows:
        by_pid.setdefault(str(owner).split("-")[-2], set()).add(str(station))
    return by_pid


def split_between(url: str, workers: list[ServiceProcess]) -> dict[str, set[str]] | None:
    """The split once every live worker holds some stations and all are held."""
    held = owners(url)
    pids = {str(w.pid) for w in workers}
    if set(held) == pids and set().union(*held.values()) == EVERY:
        return held
    return None


def offline_alerts(url: str) -> dict[str, int]:
    """Open offline alerts by station, with how many events each has."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT a.station_id, count(e.id) FROM alerts a JOIN alert_events e"
            " ON e.alert_id = a.id WHERE a.rule_id = 'station.offline' GROUP BY 1"
        ).fetchall()
    return {str(s): int(n) for s, n in rows}


def backlog(url: str, stations: set[str]) -> None:
    """One reading two hours back at each of ``stations``, committed now."""
    with psycopg.connect(url) as conn:
        for station in sorted(stations):
            code = REGISTRY.stations[station].parameters[0]
            conn.execute(
                "INSERT INTO readings (time, station_id, parameter_id, value)"
                " VALUES (now() - interval '2 hours', %s, %s, 5.0)",
                (station, PARAMETERS[code].id),
            )


def test_a_killed_workers_stations_alert_again_within_a_minute(
    url: str, started: list[ServiceProcess]
) -> None:
    a, b = start(url, started), start(url, started)
    split = wait_for(lambda: split_between(url, [a, b]), timeout=60, what="two-way split")
    lost = split[str(a.pid)]
    assert not lost & split[str(b.pid)]

    a.kill()
    killed = time.monotonic()
    backlog(url, EVERY)
    # b's own stations first, then a's once its leases run out.
    wait_for(lambda: set(offline_alerts(url)) == EVERY, timeout=60, what="every station alerted")
    taken_over_s = time.monotonic() - killed
    assert taken_over_s < 60
    assert owners(url) == {str(b.pid): EVERY}
    assert offline_alerts(url) == dict.fromkeys(EVERY, 1)  # one 'opened' event each


def test_workers_that_come_and_go_never_write_an_alert_twice(
    url: str, started: list[ServiceProcess]
) -> None:
    a, b, c = (start(url, started) for _ in range(3))
    split = wait_for(lambda: split_between(url, [a, b, c]), timeout=60, what="three-way split")
    assert sorted(map(len, split.values())) == [1, 3, 3]
    backlog(url, EVERY)
    wait_for(lambda: set(offline_alerts(url)) == EVERY, timeout=60, what="every station alerted")
    # One leaves cleanly (its stations are handed over at once), one more joins.
    assert started[0].process is not None
    started[0].process.terminate()
    assert started[0].process.wait(timeout=30) == 0
    d = start(url, started)
    wait_for(lambda: split_between(url, [b, c, d]), timeout=60, what="three-way split again")
    time.sleep(3 * float(TICK_S))  # a few ticks of the new owners over the same data
    assert offline_alerts(url) == dict.fromkeys(EVERY, 1)
    for worker in (b, c, d):
        assert "Traceback" not in worker.output()
