"""Admission control: a bounded number of requests per lane, so a burst degrades, never freezes.

Sync routes and their connection step run on a bounded set of worker threads, and a request
waiting for a pooled connection holds one. Unbounded, a burst of requests parks every
thread on the pool and the whole API, ``/health`` included, freezes until the pool gives
up. So each request first takes a turn in its lane, on the event loop where waiting costs
no thread: a lane admits a fixed number of requests at once, the others wait until the
request's deadline (the pool timeout) and then get 503 with ``Retry-After``. The time
spent waiting for a turn counts against the wait for a connection, so a request answers
or gives up within about one pool timeout. Exports never wait: a slot frees only when an
export ends.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Final

import anyio
from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from viz.api.metrics import Metrics
from viz.api.problems import problem

LANE_KEY: Final = "aquawatch.lane"
DEADLINE_KEY: Final = "aquawatch.deadline"
_MIN_WAIT_S: Final = 0.05


class Lane(StrEnum):
    """A class of requests with its own share of threads and connections."""

    API = "api"
    EXPORT = "export"
    PUBLIC = "public"  # the boards' routes: no login, served from the reserved pool
    HEALTH = "health"

    @property
    def reserved(self) -> bool:
        """Whether its requests use the reserved pool rather than the main one."""
        return self in (Lane.PUBLIC, Lane.HEALTH)

    @property
    def retry_after_s(self) -> int:
        """What a refused request is told to wait."""
        return 10 if self is Lane.EXPORT else 1


HEALTH_SLOTS: Final = 2  # probes come a few seconds apart


class Gate:
    """At most ``limit`` holders at once; others wait in arrival order.

    Used from one event loop only, so it needs no lock.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._waiting: deque[anyio.Event] = deque()

    async def enter(self, timeout: float) -> bool:
        """Take a slot, waiting up to ``timeout`` seconds; False when none came."""
        if self.held < self.limit and not self._waiting:
            self.held += 1
            return True
        if timeout <= 0:
            return False
        turn = anyio.Event()
        self._waiting.append(turn)
        try:
            with anyio.move_on_after(timeout):
                await turn.wait()
        except BaseException:  # cancelled from outside: leak neither a slot nor a turn
            if turn.is_set():
                self.leave()
            else:
                self._waiting.remove(turn)
            raise
        if turn.is_set():  # handed a slot, even if the wait timed out meanwhile
            return True
        self._waiting.remove(turn)
        return False

    def leave(self) -> None:
        """Give the slot back, to the longest waiting request if there is one."""
        if self._waiting:
            self._waiting.popleft().set()  # the slot passes on: held stays the same
        else:
            self.held -= 1


class Admission:
    """The lanes: which requests go where, and how many each serves at once.

    Args:
        routes: Path prefixes and their lanes, first match wins; other paths are API.
        limits: Requests each lane serves at once.
        wait_s: Longest a request waits for its turn and then its connection.
    """

    def __init__(
        self,
        routes: Sequence[tuple[str, Lane]],
        *,
        limits: Mapping[Lane, int],
        wait_s: float,
    ) -> None:
        self.routes = tuple(routes)
        self.gates = {lane: Gate(limits[lane]) for lane in Lane}
        self.wait_s = wait_s

    @property
    def capacity(self) -> int:
        """Requests admitted at once over all lanes: at most one worker thread each."""
        return sum(gate.limit for gate in self.gates.values())

    def lane(self, path: str) -> Lane:
        """The lane of a request path."""
        return next((lane for prefix, lane in self.routes if path.startswith(prefix)), Lane.API)


def lane_of(scope: Scope) -> Lane:
    """The lane a request was admitted to (API when it came around the middleware)."""
    lane = scope.get(LANE_KEY, Lane.API)
    return lane if isinstance(lane, Lane) else Lane.API


def remaining_s(scope: Scope, default: float) -> float:
    """How long a request may still wait for a connection."""
    deadline = scope.get(DEADLINE_KEY)
    if not isinstance(deadline, float):
        return default
    return max(deadline - time.monotonic(), _MIN_WAIT_S)


class AdmissionMiddleware:
    """Admits each HTTP request to its lane, or answers 503 with ``Retry-After``."""

    def __init__(self, app: ASGIApp, *, admission: Admission, metrics: Metrics) -> None:
        self.app = app
        self.admission = admission
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lane = self.admission.lane(scope["path"])
        scope[LANE_KEY] = lane
        scope[DEADLINE_KEY] = time.monotonic() + self.admission.wait_s
        gate = self.admission.gates[lane]
        wait = 0.0 if lane is Lane.EXPORT else self.admission.wait_s
        if not await gate.enter(wait):
            self.metrics.reject(lane)
            detail = f"too many {lane.value} requests at once; try again shortly"
            headers = {"Retry-After": str(lane.retry_after_s)}
            await problem(Request(scope), 503, detail, headers=headers)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            gate.leave()
