"""The public responses' cache: one computation per key and period, shared by a crowd."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from viz.api.cache import TtlCache


class Source:
    """Counts computations; each takes a moment, so concurrent requests overlap it."""

    def __init__(self, *, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(0.05)
        if self.fail:
            raise LookupError("no such board")
        return f"v{n}".encode()


def crowd(cache: TtlCache[str], source: Source, n: int) -> list[bytes | Exception]:
    async def scenario() -> list[bytes | Exception]:
        results: list[bytes | Exception] = []

        async def one() -> None:
            try:
                results.append(await cache.get("latest", source))
            except LookupError as exc:
                results.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
        return results

    return anyio.run(scenario)


def test_a_crowd_shares_one_computation() -> None:
    source = Source()
    assert crowd(TtlCache(5.0), source, 50) == [b"v1"] * 50
    assert source.calls == 1


def test_a_failure_reaches_everyone_who_waited_and_is_not_kept() -> None:
    source = Source(fail=True)
    cache: TtlCache[str] = TtlCache(5.0)
    results = crowd(cache, source, 10)
    assert all(isinstance(r, LookupError) for r in results)
    assert source.calls == 1
    crowd(cache, source, 1)
    assert source.calls == 2  # asked again, computed again


@pytest.mark.parametrize(("ttl_s", "calls"), [(0.0, 2), (0.01, 2), (60.0, 1)])
def test_a_value_is_kept_for_its_period_only(ttl_s: float, calls: int) -> None:
    source = Source()
    cache: TtlCache[str] = TtlCache(ttl_s)
    crowd(cache, source, 1)
    time.sleep(0.06)
    crowd(cache, source, 1)
    assert source.calls == calls
