"""A worker whose thread died says so on /metrics and /health, stops, and exits with status 1.

Before, an exception in paho's network thread left a worker that stored nothing while its
process and metrics stayed up. The threads are killed here as such a bug would kill them.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from ingest import IngestService, IngestSettings, WorkerDiedError
from telemetry import SystemClock, migrate
from telemetry.cli import main
from tests.support.common import wait_for
from tests.support.mosquitto import Broker, Publisher
from tests.support.network import free_port

pytestmark = pytest.mark.integration


class Running:
    """An IngestService run in a thread of the test, its ending recorded."""

    def __init__(self, service: IngestService) -> None:
        self.service = service
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-ingest")

    def _run(self) -> None:
        try:
            self.service.run(self.stop)
        except BaseException as exc:
            self.error = exc

    def get(self, path: str) -> tuple[int, str]:
        port = self.service.settings.metrics_port
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@pytest.fixture
def running(database_url: str, broker: Broker, prefix: str) -> Iterator[Running]:
    migrate(database_url)
    settings = IngestSettings(
        database_url=database_url,
        mqtt_url=broker.url,
        topic_prefix=prefix,
        client_id=f"ingest-{prefix}",
        metrics_port=free_port(),
        rollup_interval_s=0.5,
    )
    run = Running(IngestService(settings, clock=SystemClock()))
    run.thread.start()
    wait_for(lambda: run.service.consumer.alive, timeout=20, what="the worker to connect")
    wait_for(lambda: run.get("/health") == (200, "ok\n"), timeout=20, what="/health")
    yield run
    run.stop.set()
    run.thread.join(timeout=30)


def _hold_shutdown(service: IngestService) -> tuple[threading.Event, threading.Event]:
    """Pause the worker's shutdown after the writer stopped, to look at it before it ends."""
    reached, release = threading.Event(), threading.Event()
    close = service.writer.close

    def held_close() -> None:
        reached.set()
        release.wait(timeout=30)
        close()

    service.writer.close = held_close  # type: ignore[method-assign]
    return reached, release


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_network_thread_is_reported_and_stops_the_worker(
    running: Running, broker: Broker, prefix: str
) -> None:
    reached, release = _hold_shutdown(running.service)
    client = running.service.consumer._client
    assert client is not None

    def unguarded(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        raise RecursionError("maximum recursion depth exceeded")  # as the old decoder did

    client.on_message = unguarded  # what every callback was before: an exception kills paho
    publisher = Publisher(broker)
    publisher.publish(f"{prefix}/v1/KG-SR-01/status", b'{"state":"online"}')
    publisher.close()

    assert reached.wait(timeout=20), "the worker did not notice its dead network thread"
    assert running.get("/health") == (503, "dead: mqtt\n")
    status, metrics = running.get("/metrics")
    assert status == 200
    assert 'aquawatch_ingest_thread_up{thread="mqtt"} 0' in metrics.splitlines()
    assert 'aquawatch_ingest_thread_up{thread="writer"} 1' in metrics.splitlines()
    assert "aquawatch_ingest_healthy 0" in metrics.splitlines()
    release.set()
    running.thread.join(timeout=30)
    assert isinstance(running.error, WorkerDiedError)
    assert running.error.threads == ["mqtt"]


def test_a_failing_writer_stops_the_worker(running: Running, broker: Broker, prefix: str) -> None:
    def broken(batch: object) -> None:
        raise RuntimeError("a bug in the writer")

    running.service.writer.write = broken  # type: ignore[assignment,method-assign]
    reached, release = _hold_shutdown(running.service)
    publisher = Publisher(broker)
    publisher.publish(f"{prefix}/v1/KG-SR-01/status", b'{"state":"online"}')
    publisher.close()
    assert reached.wait(timeout=20)
    assert running.get("/health") == (503, "dead: writer\n")
    release.set()
    running.thread.join(timeout=30)
    assert isinstance(running.error, WorkerDiedError)
    assert running.error.threads == ["writer"]
    assert isinstance(running.error.__cause__, RuntimeError)


def test_the_command_exits_with_status_1_when_the_worker_died(
    database_url: str, broker: Broker, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def died(self: IngestService, stop: threading.Event) -> None:
        raise WorkerDiedError(["mqtt"])

    monkeypatch.setattr(IngestService, "run", died)
    monkeypatch.setenv("AQUAWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("AQUAWATCH_MQTT_URL", broker.url)
    assert main(["ingest", "--metrics-port", "0"]) == 1
    assert "ingest worker failed (mqtt thread died); exiting with status 1" in caplog.text
