"""Prometheus metrics of the API: requests by route and status, latency, pool use.

Every label value comes from a fixed set: the route template (never the raw path), a known
HTTP method or ``other``, the status code, an admission lane. A client cannot add series.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Final

from psycopg_pool import ConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD: Final = "other"


class Metrics:
    """Counters and latency histograms, updated by :class:`MetricsMiddleware`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self._latency: defaultdict[tuple[str, str], list[float]] = defaultdict(
            lambda: [0.0] * (len(BUCKETS) + 2)  # buckets..., count, sum
        )
        self._rejected: defaultdict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        with self._lock:
            self._requests[(method, route, status)] += 1
            cells = self._latency[(method, route)]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    cells[i] += 1
            cells[-2] += 1
            cells[-1] += seconds

    def reject(self, lane: str) -> None:
        """Count one request turned away by admission control."""
        with self._lock:
            self._rejected[lane] += 1

    def render(self, pools: Sequence[ConnectionPool]) -> str:
        """Prometheus text exposition format."""
        lines = [
            "# HELP aquawatch_api_requests_total HTTP requests by route and status.",
            "# TYPE aquawatch_api_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self._requests.items()):
                labels = f'method="{method}",route="{route}",status="{status}"'
                lines.append(f"aquawatch_api_requests_total{{{labels}}} {n}")
            lines += [
                "# HELP aquawatch_api_request_seconds HTTP request latency by route.",
                "# TYPE aquawatch_api_request_seconds histogram",
            ]
            for (method, route), cells in sorted(self._latency.items()):
                labels = f'method="{method}",route="{route}"'
                for bound, hits in zip(BUCKETS, cells, strict=False):
                    lines.append(
                        f'aquawatch_api_request_seconds_bucket{{{labels},le="{bound}"}} {hits:g}'
                    )
                lines.append(
                    f'aquawatch_api_request_seconds_bucket{{{labels},le="+Inf"}} {cells[-2]:g}'
                )
                lines.append(f"aquawatch_api_request_seconds_count{{{labels}}} {cells[-2]:g}")
                lines.append(f"aquawatch_api_request_seconds_sum{{{labels}}} {cells[-1]:.6f}")
            lines += [
                "# HELP aquawatch_api_rejected_total Requests turned away (503) by admission lane.",
                "# TYPE aquawatch_api_rejected_total counter",
            ]
            for lane, n in sorted(self._rejected.items()):
                lines.append(f'aquawatch_api_rejected_total{{lane="{lane}"}} {n}')
        lines += ["# TYPE aquawatch_api_pool gauge"]
        for pool in pools:
            stats = pool.get_stats()
            for name in ("pool_size", "pool_available", "requests_waiting"):
                labels = f'pool="{pool.name}",stat="{name}"'
                lines.append(f"aquawatch_api_pool{{{labels}}} {stats.get(name, 0)}")
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Times every HTTP request and labels it with its route template, not its raw path."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None)
            method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
            self.metrics.observe(
                method,
                route if isinstance(route, str) else "unmatched",
                status,
                time.perf_counter() - started,
            )
