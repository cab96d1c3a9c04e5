"""The embedded fallbacks of ``aquawatch up``: PostgreSQL from the wheel, the amqtt broker."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest

from telemetry import migrate
from telemetry.local_services import EmbeddedBroker, EmbeddedPostgres
from tests.support import Broker, IngestProcess, Publisher, count, free_port, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def state() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="aw-state-"))
    folder.chmod(0o755)  # the embedded server's own user must reach its data folder
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_embedded_postgres_starts_migrates_and_restarts_with_its_data(state: Path) -> None:
    server = EmbeddedPostgres(state)
    url = server.start()
    try:
        migrate(url)
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO readings (time, station_id, parameter_id, value)"
                " VALUES (now(), 'KG-SR-01', 3, 4.2)"
            )
        server.stop()
        assert server.start() == url
        assert count(url, "SELECT count(*) FROM readings") == 1
        version = count(url, "SELECT current_setting('server_version_num')::int")
        assert version >= 170000  # the wheel's own PostgreSQL, not the machine's
    finally:
        server.stop()


class AmqttBroker(Broker):
    """The embedded amqtt broker, in this test process, where a Broker is expected."""

    def __init__(self) -> None:
        self.port = free_port()
        self._broker = EmbeddedBroker(self.port)

    def start(self) -> None:
        self._broker.start()

    def close(self) -> None:
        self._broker.stop()


def test_ingest_falls_back_to_mqtt_311_on_a_broker_without_v5(
    database_url: str, prefix: str
) -> None:
    broker = AmqttBroker()
    broker.start()
    worker = IngestProcess(database_url=database_url, broker=broker, prefix=prefix, share_group="")
    try:
        worker.start()
        publisher = Publisher(broker, v5=False)
        for n in range(50):
            doc = {"station": "KG-CS-02", "ts": 1795000000 + 60 * n, "values": {"do": 6.1}}
            publisher.publish(f"{prefix}/v1/KG-CS-02/readings", orjson.dumps(doc))
        publisher.close()
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM readings") == 50,
            timeout=30,
            what="50 readings through amqtt",
        )
        assert "falling back to 3.1.1" in worker.output()
        assert "(MQTT 3.1.1" in worker.output()
    finally:
        worker.close()
        broker.close()
