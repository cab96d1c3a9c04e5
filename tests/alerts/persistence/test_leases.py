"""Station leases: shared, balanced, taken over after expiry, and fenced by row locks.

Lease times follow a clock the test moves by hand; each worker has its own connection, and
a claim holds its leases locked until its transaction ends, as a tick does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from alerts.persistence.leases import Leases, fair_share, worker_name
from telemetry import FixedClock, migrate

pytestmark = pytest.mark.integration

STATIONS = [f"ST-{i:02d}" for i in range(7)]
LEASE_S = 30.0


@pytest.fixture
def url(database_url: str) -> str:
    migrate(database_url)
    return database_url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(1_795_000_000.0)


class Worker:
    """A lease holder with a connection of its own."""

    def __init__(self, url: str, name: str) -> None:
        self.leases = Leases(name, STATIONS, lease_s=LEASE_S)
        self.conn: psycopg.Connection[Any] = psycopg.connect(url)

    def tick(self, clock: FixedClock) -> frozenset[str]:
        """Claim and commit, as a tick does."""
        owned = self.leases.claim(self.conn, now=clock.time())
        self.conn.commit()
        return owned


@pytest.fixture
def workers(url: str) -> Iterator[list[Worker]]:
    made: list[Worker] = []
    yield made
    for worker in made:
        worker.conn.close()


def add(workers: list[Worker], url: str, name: str) -> Worker:
    worker = Worker(url, name)
    workers.append(worker)
    return worker


def owners(url: str) -> dict[str, str | None]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT station_id, owner FROM station_leases").fetchall()
    return {str(s): None if o is None else str(o) for s, o in rows}


@pytest.mark.parametrize(
    ("stations", "workers", "share"),
    [(7, 1, 7), (7, 2, 4), (7, 3, 3), (7, 7, 1), (7, 9, 1), (10_000, 3, 3334), (0, 2, 0)],
)
def test_a_fair_share_is_the_stations_over_the_workers_rounded_up(
    stations: int, workers: int, share: int
) -> None:
    assert fair_share(stations, workers) == share


def test_worker_names_differ_even_in_one_process() -> None:
    assert len({worker_name() for _ in range(100)}) == 100


def test_a_lone_worker_owns_every_station(
    url: str, clock: FixedClock, workers: list[Worker]
) -> None:
    alone = add(workers, url, "a")
    assert alone.tick(clock) == frozenset(STATIONS)
    assert set(owners(url).values()) == {"a"}


def test_workers_that_join_split_the_stations_without_overlap(
    url: str, clock: FixedClock, workers: list[Worker]
) -> None:
    a, b, c = (add(workers, url, name) for name in "abc")
    a.tick(clock)
    b.tick(clock)  # two live workers: a holds all, b waits for a to give some back
    owned = {}
    for _ in range(2):
        clock.advance(10)
        for worker in (a, b, c):
            owned[worker.leases.worker] = worker.tick(clock)
    assert sorted(len(s) for s in owned.values()) == [1, 3, 3]
    assert frozenset().union(*owned.values()) == frozenset(STATIONS)
    assert sum(len(s) for s in owned.values()) == len(STATIONS)  # disjoint
    assert {o for o in owners(url).values()} == {"a", "b", "c"}


def test_a_silent_workers_stations_are_taken_once_its_lease_runs_out(
    url: str, clock: FixedClock, workers: list[Worker]
) -> None:
    a, b = add(workers, url, "a"), add(workers, url, "b")
    a.tick(clock)
    b.tick(clock)
    clock.advance(10)
    held_by_a = a.tick(clock)
    held_by_b = b.tick(clock)
    assert len(held_by_a) == 4
    assert len(held_by_b) == 3
    # a stops beating (killed); before its lease runs out b takes nothing of it.
    clock.advance(LEASE_S - 1)
    assert b.tick(clock) == held_by_b
    clock.advance(2)
    assert b.tick(clock) == frozenset(STATIONS)


def test_a_lease_being_used_is_not_taken_even_when_expired(
    url: str, clock: FixedClock, workers: list[Worker]
) -> None:
    a, b = add(workers, url, "a"), add(workers, url, "b")
    a.tick(clock)
    # a's tick starts: its leases are renewed and locked in its open transaction ...
    assert a.leases.claim(a.conn, now=clock.time()) == frozenset(STATIONS)
    clock.advance(5 * LEASE_S)
    # ... and stay a's however long the tick takes.
    assert b.tick(clock) == frozenset()
    a.conn.commit()
    assert set(owners(url).values()) == {"a"}


def test_a_worker_that_lost_its_leases_while_stopped_finds_them_gone(
    url: str, clock: FixedClock, workers: list[Worker]
) -> None:
    a, b = add(workers, url, "a"), add(workers, url, "b")
    a.tick(clock)
    clock.advance(LEASE_S + 1)  # a was stopped (SIGSTOP, a long pause) past its lease
    assert b.tick(clock) == frozenset(STATIONS)
    # a comes back: two live workers, but every station is b's and in use.
    assert a.tick(clock) == frozenset()
    clock.advance(10)
    assert len(b.tick(clock)) == 4  # b gives the extra ones back ...
    assert len(a.tick(clock)) == 3  # ... and a takes them
    assert len({o for o in owners(url).values()}) == 2


def test_a_clean_stop_hands_the_stations_over_at_once(
    url: str, clock: FixedClock, workers: list[Worker]
) -> None:
    a, b = add(workers, url, "a"), add(workers, url, "b")
    a.tick(clock)
    b.tick(clock)
    a.leases.release(a.conn)
    assert b.tick(clock) == frozenset(STATIONS)
    with psycopg.connect(url) as conn:
        live = conn.execute("SELECT worker FROM alert_workers").fetchall()
    assert live == [("b",)]


def test_dead_workers_and_their_watermarks_are_forgotten(
    url: str, clock: FixedClock, workers: list[Worker]
) -> None:
    a, b = add(workers, url, "a"), add(workers, url, "b")
    a.tick(clock)
    a.conn.execute("INSERT INTO alert_watermarks (worker, watermark) VALUES ('a', now())")
    a.conn.commit()
    clock.advance(LEASE_S + 1)
    b.tick(clock)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT worker FROM alert_workers").fetchall() == [("b",)]
        assert conn.execute("SELECT count(*) FROM alert_watermarks").fetchone() == (0,)


def test_work_between_ticks_is_fenced_like_a_tick(
    url: str, clock: FixedClock, workers: list[Worker]
) -> None:
    a, b = add(workers, url, "a"), add(workers, url, "b")
    a.tick(clock)
    # a's history pass: the station's lease is a's and stays locked while it works ...
    assert a.leases.holds(a.conn, "ST-00")
    clock.advance(LEASE_S + 1)
    assert "ST-00" not in b.tick(clock)
    a.conn.commit()
    # ... and once b has taken it, a's next pass finds it gone and leaves it.
    assert "ST-00" in b.tick(clock)
    assert not a.leases.holds(a.conn, "ST-00")
    assert not b.leases.holds(b.conn, "ST-99")


def test_a_tick_writes_the_workers_row_and_no_stations(
    url: str, clock: FixedClock, workers: list[Worker]
) -> None:
    a, b = add(workers, url, "a"), add(workers, url, "b")
    a.tick(clock)
    b.tick(clock)
    a.tick(clock)  # gives 3 back ...
    b.tick(clock)  # ... which b takes

    def versions() -> dict[str, str]:
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT station_id, xmin::text FROM station_leases").fetchall()
        return {str(s): str(x) for s, x in rows}

    settled = versions()
    for _ in range(3):  # steady ticks: each beats, none rewrites a station's lease
        clock.advance(10)
        assert len(a.tick(clock)) == 4
        assert len(b.tick(clock)) == 3
    assert versions() == settled


def test_a_claim_rolled_back_is_not_believed(
    url: str, workers: list[Worker], clock: FixedClock
) -> None:
    """A worker keeps the list of its leases between ticks; a tick that took or gave
    back leases and then failed (rolled back) must not leave it believing the change."""
    first = add(workers, url, "w-first")
    assert first.tick(clock) == frozenset(STATIONS)
    second = add(workers, url, "w-second")
    assert len(second.leases.claim(second.conn, now=clock.time())) == 0  # all held by first
    second.conn.rollback()  # its beat is gone too: one live worker
    clock.advance(1.0)
    assert first.tick(clock) == frozenset(STATIONS)
    assert second.tick(clock) == frozenset()  # now two live workers: first gives back 3
    clock.advance(1.0)
    kept = first.leases.claim(first.conn, now=clock.time())
    assert len(kept) == 4
    first.conn.rollback()  # the give-back never happened: first still holds all seven
    clock.advance(1.0)
    taken = second.leases.claim(second.conn, now=clock.time())
    second.conn.rollback()  # nor did anything second took
    assert taken == frozenset()  # first held them all when second looked
    clock.advance(1.0)
    again = first.tick(clock)
    assert len(again) == 4
    assert {s for s, o in owners(url).items() if o == "w-first"} == again
    assert second.tick(clock) == frozenset(STATIONS) - again
    assert {s for s, o in owners(url).items() if o == "w-second"} == frozenset(STATIONS) - again
