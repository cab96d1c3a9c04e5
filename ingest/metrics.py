"""Ingest counters, exposed in the Prometheus text format over HTTP, and the worker's health.

Each counter is changed by one thread only (the writer's; failed callbacks by the MQTT
network thread); the HTTP thread reads them, which is safe for plain ints and floats in
CPython. ``/health`` answers 200 while every thread of the worker runs and 503 once one has
died (the worker then exits with status 1).
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

logger = logging.getLogger(__name__)

LATENCY_BUCKETS: Final = (
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)


class Histogram:
    """A cumulative Prometheus histogram."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Add one observation."""
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def render(self, name: str) -> list[str]:
        """Return the exposition lines."""
        lines = []
        cumulative = 0
        for bound, n in zip(self.buckets, self.counts, strict=False):
            cumulative += n
            lines.append(f'{name}_bucket{{le="{bound}"}} {cumulative}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.total}")
        lines.append(f"{name}_count {self.count}")
        return lines


class IngestMetrics:
    """What an ingest worker counts.

    Args:
        queue_depth: Messages received and not yet committed.
        threads: Whether each thread of the worker runs, by name.
    """

    def __init__(
        self,
        queue_depth: Callable[[], int],
        *,
        threads: Callable[[], Mapping[str, bool]] | None = None,
    ) -> None:
        self.queue_depth = queue_depth
        self.threads = threads or dict
        self.messages_received = 0
        self.readings_stored = 0
        self.readings_duplicate = 0
        self.messages_rejected: Counter[str] = Counter()
        self.batches = 0
        self.database_errors = 0
        self.callback_errors = 0
        self.batch_seconds = Histogram()
        self.sample_age_seconds = Histogram()

    def dead_threads(self) -> list[str]:
        """The threads that stopped although nobody asked them to."""
        return sorted(name for name, up in self.threads().items() if not up)

    def render(self) -> str:
        """Return the metrics in the Prometheus text format."""
        threads = self.threads()
        lines = [
            "# HELP aquawatch_ingest_messages_received_total Messages taken from the broker.",
            "# TYPE aquawatch_ingest_messages_received_total counter",
            f"aquawatch_ingest_messages_received_total {self.messages_received}",
            "# HELP aquawatch_ingest_readings_stored_total Readings committed to the database.",
            "# TYPE aquawatch_ingest_readings_stored_total counter",
            f"aquawatch_ingest_readings_stored_total {self.readings_stored}",
            "# HELP aquawatch_ingest_readings_duplicate_total Readings stored before.",
            "# TYPE aquawatch_ingest_readings_duplicate_total counter",
            f"aquawatch_ingest_readings_duplicate_total {self.readings_duplicate}",
            "# HELP aquawatch_ingest_messages_rejected_total Messages in rejects.",
            "# TYPE aquawatch_ingest_messages_rejected_total counter",
        ]
        lines += [
            f'aquawatch_ingest_messages_rejected_total{{reason="{reason}"}} {n}'
            for reason, n in sorted(self.messages_rejected.items())
        ]
        lines += [
            "# HELP aquawatch_ingest_batches_total Transactions committed.",
            "# TYPE aquawatch_ingest_batches_total counter",
            f"aquawatch_ingest_batches_total {self.batches}",
            "# HELP aquawatch_ingest_database_errors_total Failed commits (retried).",
            "# TYPE aquawatch_ingest_database_errors_total counter",
            f"aquawatch_ingest_database_errors_total {self.database_errors}",
            "# HELP aquawatch_ingest_callback_errors_total MQTT callbacks that failed"
            " (a message among them became a reject).",
            "# TYPE aquawatch_ingest_callback_errors_total counter",
            f"aquawatch_ingest_callback_errors_total {self.callback_errors}",
            "# HELP aquawatch_ingest_thread_up Whether a worker thread runs (1) or died (0).",
            "# TYPE aquawatch_ingest_thread_up gauge",
            *(
                f'aquawatch_ingest_thread_up{{thread="{name}"}} {int(up)}'
                for name, up in sorted(threads.items())
            ),
            "# HELP aquawatch_ingest_healthy 1 while every thread runs; 0 once one died"
            " (the worker then exits with status 1).",
            "# TYPE aquawatch_ingest_healthy gauge",
            f"aquawatch_ingest_healthy {int(all(threads.values()))}",
            "# HELP aquawatch_ingest_queue_depth Messages received and not yet committed.",
            "# TYPE aquawatch_ingest_queue_depth gauge",
            f"aquawatch_ingest_queue_depth {self.queue_depth()}",
            "# HELP aquawatch_ingest_batch_seconds Time to write and commit one batch.",
            "# TYPE aquawatch_ingest_batch_seconds histogram",
            *self.batch_seconds.render("aquawatch_ingest_batch_seconds"),
            "# HELP aquawatch_ingest_sample_age_seconds Commit time minus the newest sample time.",
            "# TYPE aquawatch_ingest_sample_age_seconds histogram",
            *self.sample_age_seconds.render("aquawatch_ingest_sample_age_seconds"),
        ]
        return "\n".join(lines) + "\n"


class MetricsServer:
    """Serves ``/metrics`` and ``/health`` from a daemon thread until closed."""

    def __init__(self, metrics: IngestMetrics, *, host: str, port: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                status = 200
                if path == "/metrics":
                    body = metrics.render().encode()
                elif path == "/health":
                    dead = metrics.dead_threads()
                    status = 503 if dead else 200
                    body = (f"dead: {', '.join(dead)}\n" if dead else "ok\n").encode()
                else:
                    self.send_error(404)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                logger.debug(format, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ingest-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
