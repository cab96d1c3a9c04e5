"""Bad input never stops the flow: each bad message gets its reason, its neighbours are stored."""

from __future__ import annotations

import time

import orjson
import psycopg
import pytest

from tests.support.common import wait_for
from tests.support.mosquitto import Broker, Publisher
from tests.support.postgres import count
from tests.support.processes import IngestProcess

pytestmark = pytest.mark.integration

NOW = time.time()


def _doc(station: str = "KG-SR-01", *, ts: object = None, **values: object) -> bytes:
    return orjson.dumps(
        {"station": station, "ts": NOW - 60 if ts is None else ts, "values": values or {"do": 5.1}}
    )


# (what the station sent, topic station, payload, reason stored in rejects)
BAD_INPUTS = [
    ("not JSON", "KG-SR-01", b"\x00garbage{", "not_json"),
    ("not UTF-8", "KG-SR-01", b"\xff\xfe\xfd", "not_utf8"),
    ("wrong type", "KG-SR-01", _doc(do="4.2"), "bad_schema"),
    (
        "NaN",
        "KG-SR-01",
        b'{"station":"KG-SR-01","ts":1795000000,"values":{"do":NaN}}',
        "non_finite_value",
    ),
    (
        "infinity",
        "KG-SR-01",
        b'{"station":"KG-SR-01","ts":1795000000,"values":{"do":-Infinity}}',
        "non_finite_value",
    ),
    ("unknown station", "KG-XX-99", _doc("KG-XX-99"), "unknown_station"),
    ("unknown parameter", "KG-SR-01", _doc(do=5.0, arsenic=0.01), "unknown_parameter"),
    ("topic/payload mismatch", "KG-SR-02", _doc("KG-SR-01"), "station_mismatch"),
    ("timestamp in the future", "KG-SR-01", _doc(ts=NOW + 3600), "future_timestamp"),
    ("timestamp without offset", "KG-SR-01", _doc(ts="2026-11-22T10:00:00"), "bad_timestamp"),
    (
        "device status 7",
        "KG-SR-01",
        b'{"station":"KG-SR-01","ts":1795000000,"values":{"do":4},"status":{"do":7}}',
        "bad_status",
    ),
    (
        "oversized payload",
        "KG-SR-01",
        b'{"station":"KG-SR-01","pad":"' + b"x" * 300_000 + b'"}',
        "payload_too_large",
    ),
    ("empty batch", "KG-SR-01", b'{"station":"KG-SR-01","samples":[]}', "empty_batch"),
]


def test_each_bad_input_is_rejected_with_its_reason_and_the_rest_is_stored(
    worker: IngestProcess, database_url: str, broker: Broker, prefix: str
) -> None:
    publisher = Publisher(broker)
    good_times = []
    for index, (_, station, payload, _) in enumerate(BAD_INPUTS):
        good_ts = NOW - 3600 + index * 60
        good_times.append(good_ts)
        publisher.publish(f"{prefix}/v1/KG-SR-03/readings", _doc("KG-SR-03", ts=good_ts, do=6.0))
        publisher.publish(f"{prefix}/v1/{station}/readings", payload)
    publisher.publish(f"{prefix}/v1/KG-SR-03/readings", _doc("KG-SR-03", ts=NOW, do=6.5))
    publisher.close()

    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM rejects") == len(BAD_INPUTS),
        timeout=20,
        what="every bad input in rejects",
    )
    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM readings") == len(BAD_INPUTS) + 1,
        timeout=20,
        what="every good neighbour stored",
    )
    with psycopg.connect(database_url) as conn:
        rejects = conn.execute(
            "SELECT topic, reason, detail, payload, payload_size FROM rejects ORDER BY id"
        ).fetchall()
        stations = conn.execute("SELECT DISTINCT station_id FROM readings").fetchall()
    assert [r[1] for r in rejects] == [reason for *_, reason in BAD_INPUTS]
    for (_, station, payload, _), (topic, _, detail, stored, size) in zip(
        BAD_INPUTS, rejects, strict=True
    ):
        assert topic == f"{prefix}/v1/{station}/readings"
        # Raw bytes kept, up to AQUAWATCH_REJECT_RAW_MAX_BYTES (4096), with the full size.
        assert bytes(stored) == payload[:4096]
        assert size == len(payload)
        assert detail
    assert stations == [("KG-SR-03",)]
    metrics = worker.metrics()
    assert metrics['aquawatch_ingest_messages_rejected_total{reason="unknown_station"}'] == 1
    assert metrics["aquawatch_ingest_readings_stored_total"] == len(BAD_INPUTS) + 1


def test_foreign_status_and_readings_topics(
    worker: IngestProcess, database_url: str, broker: Broker, prefix: str
) -> None:
    publisher = Publisher(broker)
    publisher.publish(
        f"{prefix}/v1/KG-CS-01/status", b'{"state":"online","fw":"1.2","battery_v":12.6}'
    )
    publisher.publish(f"{prefix}/v1/KG-CS-01/status", b'{"state":"asleep"}')
    publisher.publish(f"{prefix}/v1/KG-ZZ/status", b'{"state":"online"}')
    publisher.close()
    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM rejects") == 2,
        timeout=20,
        what="bad statuses rejected",
    )
    with psycopg.connect(database_url) as conn:
        status = conn.execute(
            "SELECT station_id, state, fw, battery_v FROM station_status"
        ).fetchall()
        reasons = conn.execute("SELECT reason FROM rejects ORDER BY id").fetchall()
    assert status == [("KG-CS-01", "online", "1.2", 12.6)]
    assert reasons == [("bad_schema",), ("unknown_station",)]


def test_a_message_the_database_refuses_becomes_a_reject_and_its_batch_is_stored(
    worker: IngestProcess, database_url: str, broker: Broker, prefix: str
) -> None:
    # A rule the database enforces and the decoder does not know about (as an operator might add).
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE readings ADD CONSTRAINT plausible CHECK (value < 1e6)")
    publisher = Publisher(broker)
    for n in range(20):
        value = 5e6 if n == 7 else 5.0
        publisher.publish(
            f"{prefix}/v1/KG-SR-01/readings", _doc(ts=NOW - 3600 + n, do=value, temp=29.0)
        )
    publisher.close()
    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM readings") == 19 * 2,
        timeout=20,
        what="the other 19 messages stored",
    )
    with psycopg.connect(database_url) as conn:
        rejects = conn.execute("SELECT reason, detail, payload FROM rejects").fetchall()
    assert len(rejects) == 1
    reason, detail, payload = rejects[0]
    assert reason == "storage_error"
    assert "CheckViolation" in detail
    assert b"5000000.0" in bytes(payload)
