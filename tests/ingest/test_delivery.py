"""Nothing acknowledged is lost, nothing is stored twice: restarts, outages, several workers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.support.common import wait_for
from tests.support.mosquitto import Broker, Publisher
from tests.support.network import TcpProxy
from tests.support.postgres import count
from tests.support.processes import IngestProcess

pytestmark = pytest.mark.integration

STATIONS = ("KG-SR-01", "KG-SR-02", "KG-CS-01", "KG-EF-01")
START = time.time() - 86_400


def publish_readings(broker: Broker, prefix: str, first: int, last: int) -> int:
    """Publish messages first..last-1 (two values each); return the readings published."""
    publisher = Publisher(broker)
    for n in range(first, last):
        station = STATIONS[n % len(STATIONS)]
        doc = {"station": station, "seq": n, "ts": START + n, "values": {"do": 5.0, "temp": 29.0}}
        publisher.publish(f"{prefix}/v1/{station}/readings", orjson.dumps(doc))
    publisher.close()
    return 2 * (last - first)


def stored(url: str) -> int:
    return count(url, "SELECT count(*) FROM readings")


@pytest.fixture
def workers() -> Iterator[list[IngestProcess]]:
    started: list[IngestProcess] = []
    yield started
    for worker in started:
        worker.close()


def test_graceful_stop_keeps_the_session_and_commits_what_it_took(
    database_url: str, broker: Broker, prefix: str, workers: list[IngestProcess]
) -> None:
    worker = IngestProcess(database_url=database_url, broker=broker, prefix=prefix)
    workers.append(worker)
    worker.start()
    expected = publish_readings(broker, prefix, 0, 500)
    assert worker.terminate() == 0
    # Published while no worker runs: the broker queues them for the persistent session,
    # more than Mosquitto's default limit of 1,000 queued messages would keep.
    expected += publish_readings(broker, prefix, 500, 4000)
    worker.start()
    wait_for(lambda: stored(database_url) == expected, timeout=30, what=f"{expected} readings")
    assert "stopped:" in worker.output()


def test_an_mqtt_311_worker_keeps_its_session_across_a_restart(
    database_url: str, broker: Broker, prefix: str, workers: list[IngestProcess]
) -> None:
    """For brokers without MQTT v5: a plain 3.1.1 subscription with clean_session=false."""
    worker = IngestProcess(
        database_url=database_url,
        broker=broker,
        prefix=prefix,
        args=("--mqtt-protocol", "3.1.1"),
        share_group="",
    )
    workers.append(worker)
    worker.start()
    expected = publish_readings(broker, prefix, 0, 100)
    assert worker.terminate() == 0
    expected += publish_readings(broker, prefix, 100, 600)  # queued for the stopped worker
    worker.start()
    wait_for(lambda: stored(database_url) == expected, timeout=30, what=f"{expected} readings")
    assert "(MQTT 3.1.1" in worker.output()


def test_database_outage_holds_messages_until_it_is_back(
    database_url: str, broker: Broker, prefix: str, workers: list[IngestProcess]
) -> None:
    params = conninfo_to_dict(database_url)
    proxy = TcpProxy(int(params.get("port") or 5432))
    through_proxy = make_conninfo(database_url, host="127.0.0.1", port=str(proxy.port))
    worker = IngestProcess(
        database_url=through_proxy, broker=broker, prefix=prefix, retry_max_s="1"
    )
    workers.append(worker)
    worker.start()
    expected = publish_readings(broker, prefix, 0, 200)
    wait_for(lambda: stored(database_url) == expected, timeout=30, what="first readings")

    proxy.cut()
    expected += publish_readings(broker, prefix, 200, 500)
    wait_for(
        lambda: worker.metrics()["aquawatch_ingest_database_errors_total"] >= 2,
        timeout=30,
        what="the worker to notice the outage",
    )
    assert stored(database_url) == 400
    # Killed while it holds messages it could not commit: they were never acknowledged.
    worker.kill()
    proxy.restore()
    worker.start()
    wait_for(lambda: stored(database_url) == expected, timeout=30, what="all readings")
    assert count(database_url, "SELECT count(*) FROM rejects") == 0


def test_two_workers_share_the_load_and_store_everything_once(
    database_url: str, broker: Broker, prefix: str, workers: list[IngestProcess]
) -> None:
    for n in (1, 2):
        worker = IngestProcess(
            database_url=database_url, broker=broker, prefix=prefix, client_id=f"{prefix}-w{n}"
        )
        workers.append(worker)
        worker.start()
    expected = publish_readings(broker, prefix, 0, 2000)
    wait_for(lambda: stored(database_url) == expected, timeout=30, what=f"{expected} readings")
    shares = [w.metrics()["aquawatch_ingest_messages_received_total"] for w in workers]
    assert sum(shares) == 2000
    assert min(shares) > 200, f"one worker got almost nothing: {shares}"


def test_redelivered_and_replayed_messages_are_stored_once(
    database_url: str, broker: Broker, prefix: str, workers: list[IngestProcess]
) -> None:
    worker = IngestProcess(database_url=database_url, broker=broker, prefix=prefix)
    workers.append(worker)
    worker.start()
    expected = publish_readings(broker, prefix, 0, 300)
    publish_readings(broker, prefix, 100, 300)  # a station replaying its buffer
    wait_for(
        lambda: worker.metrics()["aquawatch_ingest_messages_received_total"] == 500,
        timeout=30,
        what="all 500 messages taken",
    )
    assert stored(database_url) == expected
    assert worker.metrics()["aquawatch_ingest_readings_duplicate_total"] == 400
