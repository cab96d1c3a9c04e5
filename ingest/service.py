"""An ingest worker: broker → bounded queue → batches → database → acknowledgements.

The writer loop also watches the worker's other threads. When one has died (paho's network
thread, the upkeep timer) or the writer itself fails, ``/metrics`` and ``/health`` say so,
the worker stops and :class:`WorkerDiedError` tells the command to exit with status 1, so that a
supervisor restarts it; what was not committed is not acknowledged and comes back.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import psycopg

from ingest.consumer import Consumer, Protocol
from ingest.errors import WorkerDiedError
from ingest.housekeeping import Housekeeping
from ingest.inbound import Decoder, Inbound
from ingest.metrics import IngestMetrics, MetricsServer
from ingest.settings import IngestSettings
from ingest.writer import ReadingsWriter
from telemetry import Clock, TopicScheme, create_pool, parse_mqtt_url

logger = logging.getLogger(__name__)

_BATCH_MAX_READINGS = 50_000
_POLL_S = 0.2


_THREADS = ("maintenance", "mqtt", "writer")


class IngestService:
    """Wires the consumer, the writer and the upkeep of one worker.

    Args:
        settings: The worker's settings.
        protocol: MQTT protocol to use (``auto`` tries v5 first).
        clock: What time it is (arrival of messages, age of samples).
    """

    def __init__(
        self, settings: IngestSettings, *, protocol: Protocol = "auto", clock: Clock
    ) -> None:
        self.settings = settings
        url = settings.database_url.get_secret_value()
        self.inbox: queue.Queue[Inbound] = queue.Queue(maxsize=settings.inflight_window)
        self.metrics = IngestMetrics(self.inbox.qsize, threads=self._threads)
        self._writer_failed = False
        self._dead_at_close: frozenset[str] | None = None  # set when the worker stops
        scheme = TopicScheme(settings.topic_prefix)
        self.consumer = Consumer(
            parse_mqtt_url(settings.mqtt_url.get_secret_value()),
            client_id=settings.client_id,
            scheme=scheme,
            share_group=settings.share_group,
            decoder=Decoder(scheme, settings.max_payload_bytes, settings.future_tolerance_s),
            inbox=self.inbox,
            inflight_window=settings.inflight_window,
            session_expiry_s=settings.session_expiry_s,
            protocol=protocol,
            metrics=self.metrics,
            clock=clock,
        )
        # One connection for the writer, one for upkeep; opened in run(), not here.
        self.pool = create_pool(url, size=2, name="ingest")
        self.writer = ReadingsWriter(
            self.pool,
            metrics=self.metrics,
            station_refresh_s=settings.station_refresh_s,
            reject_raw_max_bytes=settings.reject_raw_max_bytes,
            clock=clock,
        )
        self.maintenance = Housekeeping(
            self.pool,
            interval_s=settings.rollup_interval_s,
            settle_s=settings.rollup_settle_s,
            reject_retention_days=settings.reject_retention_days,
        )
        self.metrics_server = (
            MetricsServer(self.metrics, host=settings.metrics_host, port=settings.metrics_port)
            if settings.metrics_port
            else None
        )

    def run(self, stop: threading.Event) -> None:
        """Ingest until ``stop`` is set, then commit what was received and return.

        Raises:
            WorkerDiedError: A thread of the worker died; the worker has stopped.
        """
        self.pool.open(wait=False)
        self.consumer.start()
        self.maintenance.start()
        if self.metrics_server is not None:  # answering /metrics means: subscribed, ready
            self.metrics_server.start()
            logger.info(
                "metrics on http://%s:%d/metrics",
                self.settings.metrics_host,
                self.metrics_server.port,
            )
        try:
            self._loop(stop)
        except WorkerDiedError:
            self._close(report_last=True)
            raise
        except Exception as exc:
            self._writer_failed = True
            logger.critical("the writer failed; stopping the worker", exc_info=True)
            self._close(report_last=True)
            raise WorkerDiedError(["writer"]) from exc
        except BaseException:
            self._close(report_last=False)
            raise
        self._close(report_last=False)
        logger.info(
            "stopped: %d messages, %d readings stored, %d duplicates, %d rejected",
            self.metrics.messages_received,
            self.metrics.readings_stored,
            self.metrics.readings_duplicate,
            sum(self.metrics.messages_rejected.values()),
        )

    def _close(self, *, report_last: bool) -> None:
        """Stop every part; after a failure ``/metrics`` and ``/health`` answer to the end."""
        self._dead_at_close = frozenset(self.metrics.dead_threads())
        if not report_last and self.metrics_server is not None:
            self.metrics_server.close()  # a stop we asked for is no death to report
        self.consumer.stop()
        self.maintenance.close()
        self.writer.close()
        self.pool.close()
        if report_last and self.metrics_server is not None:
            self.metrics_server.close()

    def _threads(self) -> dict[str, bool]:
        if self._dead_at_close is not None:  # the threads we stop meanwhile did not die
            return {name: name not in self._dead_at_close for name in _THREADS}
        return {
            "maintenance": self.maintenance.alive,
            "mqtt": self.consumer.alive,
            "writer": not self._writer_failed,
        }

    def _watch(self) -> None:
        """The watchdog: raise WorkerDiedError when a thread of the worker has died.

        Raises:
            WorkerDiedError: Naming the dead threads.
        """
        dead = self.metrics.dead_threads()
        if dead:
            logger.critical(
                "%s thread died; stopping the worker (received messages not committed"
                " are not acknowledged: the broker delivers them again)",
                ", ".join(dead),
            )
            raise WorkerDiedError(dead)

    def _loop(self, stop: threading.Event) -> None:
        deadline: float | None = None
        while True:
            self._watch()
            if stop.is_set() and deadline is None:
                deadline = time.monotonic() + self.settings.shutdown_grace_s
                logger.info("stopping: committing %d received messages", self.inbox.qsize())
            batch = self._collect()
            if batch and not self._commit(batch, deadline):
                logger.warning(
                    "gave up at shutdown with %d messages unacknowledged; "
                    "the broker will deliver them again",
                    len(batch),
                )
                return
            if deadline is not None and self.inbox.empty():
                return

    def _collect(self) -> list[Inbound]:
        """The next batch: what is queued, and what comes while the queue is busy.

        A batch closes when it is full, or, once the queue is empty, when no message has come
        for ``flush_idle_s`` (at a steady rate below the maximum that is soon) or its first
        message has waited ``flush_interval_s`` since it was taken from the broker. The wait
        counts from then, not from the start of the batch: messages that came while the last
        batch was committing have waited already, so a slow commit makes the next batch
        close sooner (and larger), and a message waits at most about the interval plus one
        commit. Under a backlog the queue is never empty and batches grow to the limits,
        where throughput is best.
        """
        inbox = self.inbox
        try:
            first = inbox.get(timeout=_POLL_S)
        except queue.Empty:
            return []
        batch = [first]
        readings = first.readings
        closes_at = first.taken_at + self.settings.flush_interval_s
        idle = self.settings.flush_idle_s
        limit = self.settings.batch_max_messages
        while len(batch) < limit and readings < _BATCH_MAX_READINGS:
            try:
                item = inbox.get_nowait()
            except queue.Empty:
                remaining = min(closes_at - time.monotonic(), idle)
                if remaining <= 0:
                    break
                try:
                    item = inbox.get(timeout=remaining)
                except queue.Empty:
                    break
            batch.append(item)
            readings += item.readings
        return batch

    def _commit(self, batch: list[Inbound], deadline: float | None) -> bool:
        """Write and acknowledge ``batch``, retrying while the database is away."""
        delay = 0.5
        while True:
            started = time.monotonic()
            try:
                self.writer.write(batch)
            except psycopg.OperationalError as exc:
                self.metrics.database_errors += 1
                if deadline is not None and time.monotonic() + delay > deadline:
                    return False
                logger.warning(
                    "database unavailable (%s); holding %d messages, retry in %.1f s",
                    exc,
                    len(batch),
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_s)
                self._watch()
                continue
            self.metrics.batch_seconds.observe(time.monotonic() - started)
            self.consumer.ack(batch)
            return True
