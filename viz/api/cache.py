"""A short-lived cache of rendered responses, so a crowd asking at once costs one query.

Display boards poll the public routes; their data changes every few minutes. Within
``ttl_s`` a rendered body is served from memory, and requests that miss while it is being
computed wait for that one computation instead of each starting their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import anyio

K = TypeVar("K", bound=Hashable)


class _Computation:
    """One computation in progress; the requests that missed meanwhile wait on ``done``."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.value: bytes | None = None
        self.error: Exception | None = None


class TtlCache(Generic[K]):
    """Bytes per key, computed at most once per ``ttl_s`` (0: every time, but shared).

    Only successes are kept, so the keys are those that exist (a board id, say), however
    many unknown ones are asked for. Used from one event loop only, so it needs no lock.
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._fresh: dict[K, tuple[float, bytes]] = {}
        self._running: dict[K, _Computation] = {}

    async def get(self, key: K, compute: Callable[[], bytes]) -> bytes:
        """The cached bytes of ``key``, or ``compute()``'s, run in a worker thread.

        Raises:
            Exception: What ``compute`` raised, to every request that waited for it.
        """
        while True:
            fresh = self._fresh.get(key)
            if fresh is not None and time.monotonic() < fresh[0]:
                return fresh[1]
            running = self._running.get(key)
            if running is None:
                return await self._compute(key, compute)
            await running.done.wait()
            if running.value is not None:
                return running.value
            if running.error is not None:
                raise running.error
            # The request computing it was cancelled: the next in line computes it.

    async def _compute(self, key: K, compute: Callable[[], bytes]) -> bytes:
        running = self._running[key] = _Computation()
        started = time.monotonic()
        try:
            value = await anyio.to_thread.run_sync(compute)
            running.value = value
            if self.ttl_s > 0:
                self._fresh[key] = (started + self.ttl_s, value)
            return value
        except Exception as exc:
            running.error = exc
            raise
        finally:
            del self._running[key]
            running.done.set()
