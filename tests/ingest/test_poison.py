"""Poison messages: each is a reject with its reason, acknowledged, and the worker carries on.

Real Mosquitto, PostgreSQL and an ``aquawatch ingest`` subprocess. Every input below once
stopped ingestion (an exception in paho's network thread: nothing more was stored while
the process and its metrics stayed up), was read ambiguously, or sent batches down the slow
message-by-message path. Afterwards the worker is restarted on its persistent session:
nothing comes back, because everything was acknowledged.
"""

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
RAW_MAX = 1024  # AQUAWATCH_REJECT_RAW_MAX_BYTES for this worker
DEEP = b"[" * 60_000 + b"]" * 60_000  # 120 KB; the stdlib fallback raised RecursionError


def _readings(station: str, ts: float, **values: object) -> bytes:
    return orjson.dumps({"station": station, "ts": ts, "values": values})


# (what the station sent, topic station, channel, payload, reason stored in rejects)
POISON = [
    # TypeError (unhashable type: 'list') in the paho thread: now bad_status.
    (
        "a device status that is a list",
        "KG-SR-01",
        "readings",
        b'{"station":"KG-SR-01","ts":%d,"values":{"do":4.2},"status":{"do":[1]}}' % (NOW - 60),
        "bad_status",
    ),
    # RecursionError in the JSON fallback: now too_deep, without recursion.
    ("60,000 nested brackets", "KG-SR-01", "readings", DEEP, "too_deep"),
    # Which 'do' did the station mean? The last one used to win silently: now duplicate_key.
    (
        "the same key twice",
        "KG-SR-01",
        "readings",
        b'{"station":"KG-SR-01","ts":%d,"values":{"do":4.2,"do":9.9}}' % (NOW - 60),
        "duplicate_key",
    ),
    # PostgreSQL text cannot hold NUL: the status upsert failed and every batch holding it
    # was retried message by message (6.7x slower). Now control_character.
    (
        "NUL in a status field",
        "KG-SR-02",
        "status",
        b'{"state":"online","fw":"1.2\\u0000"}',
        "control_character",
    ),
    (
        "the same key twice in a status",
        "KG-SR-02",
        "status",
        b'{"state":"online","state":"offline"}',
        "duplicate_key",
    ),
    ("nested brackets as a status", "KG-SR-02", "status", DEEP, "too_deep"),
    ("invalid UTF-8", "KG-SR-01", "readings", b'{"station":"KG-SR-01","x":"\xff\xfe"}', "not_utf8"),
    (
        "over the size limit (256 KiB)",
        "KG-SR-01",
        "readings",
        b'{"station":"KG-SR-01","pad":"' + b"x" * 300_000 + b'"}',
        "payload_too_large",
    ),
]
# A retained status is delivered to every new subscriber: it once stopped even a fresh worker.
RETAINED = ("KG-CS-01", DEEP, "too_deep")


def test_poison_is_rejected_and_acknowledged_and_the_worker_carries_on(
    database_url: str, broker: Broker, prefix: str
) -> None:
    publisher = Publisher(broker)
    station, payload, _ = RETAINED
    publisher.publish(f"{prefix}/v1/{station}/status", payload, retain=True)
    worker = IngestProcess(
        database_url=database_url,
        broker=broker,
        prefix=prefix,
        reject_raw_max_bytes=str(RAW_MAX),
    )
    try:
        worker.start()
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM rejects") == 1,
            timeout=30,
            what="the retained poison status rejected by a fresh worker",
        )

        good_times = [NOW - 3600 + n * 60 for n in range(len(POISON) + 1)]
        for ts, (_, station, channel, payload, _) in zip(good_times, POISON, strict=False):
            publisher.publish(f"{prefix}/v1/KG-SR-03/readings", _readings("KG-SR-03", ts, do=6.0))
            publisher.publish(f"{prefix}/v1/{station}/{channel}", payload)
        publisher.publish(f"{prefix}/v1/KG-SR-03/readings", _readings("KG-SR-03", NOW, do=6.5))
        publisher.publish(f"{prefix}/v1/KG-SR-02/status", b'{"state":"online","fw":"1.3"}')

        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM readings") == len(good_times),
            timeout=30,
            what="every good message stored",
        )
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM rejects") == len(POISON) + 1,
            timeout=30,
            what="every poison message in rejects",
        )
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM station_status") == 1,
            timeout=30,
            what="the good status after the poison ones",
        )
        with psycopg.connect(database_url) as conn:
            rejects = conn.execute(
                "SELECT topic, reason, payload, payload_size FROM rejects ORDER BY id"
            ).fetchall()
            counts = dict(conn.execute("SELECT reason, messages FROM reject_counts").fetchall())
            status = conn.execute("SELECT station_id, state, fw FROM station_status").fetchall()
        expected = [(f"{RETAINED[0]}/status", RETAINED[1], RETAINED[2])]
        expected += [(f"{st}/{channel}", payload, why) for _, st, channel, payload, why in POISON]
        assert [(t, r) for t, r, _, _ in rejects] == [
            (f"{prefix}/v1/{where}", reason) for where, _, reason in expected
        ]
        for (_, _, stored, size), (_, payload, _) in zip(rejects, expected, strict=True):
            assert bytes(stored) == payload[:RAW_MAX]  # a bounded prefix of the raw bytes
            assert size == len(payload)
        assert counts == {
            "too_deep": 3,
            "duplicate_key": 2,
            "bad_status": 1,
            "control_character": 1,
            "not_utf8": 1,
            "payload_too_large": 1,
        }
        assert status == [("KG-SR-02", "online", "1.3")]

        assert worker.process is not None
        assert worker.process.poll() is None  # still running
        assert worker.health() == (200, "ok\n")
        metrics = worker.metrics()
        for reason, n in counts.items():
            assert metrics[f'aquawatch_ingest_messages_rejected_total{{reason="{reason}"}}'] == n
        assert metrics["aquawatch_ingest_readings_stored_total"] == len(good_times)
        assert metrics["aquawatch_ingest_callback_errors_total"] == 0
        assert metrics["aquawatch_ingest_healthy"] == 1
        assert metrics['aquawatch_ingest_thread_up{thread="mqtt"}'] == 1

        # Restarted on its persistent session, the worker gets nothing again: every message,
        # poison included, was acknowledged, and the retained status is not sent again.
        assert worker.terminate() == 0
        worker.start()
        publisher.publish(f"{prefix}/v1/KG-SR-03/readings", _readings("KG-SR-03", NOW + 1, do=7.0))
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM readings") == len(good_times) + 1,
            timeout=30,
            what="a message after the restart stored",
        )
        time.sleep(0.5)  # a redelivery would have come first; give the writer a moment
        assert count(database_url, "SELECT count(*) FROM rejects") == len(POISON) + 1
        metrics = worker.metrics()
        assert metrics["aquawatch_ingest_messages_received_total"] == 1
        assert not [name for name in metrics if name.startswith("aquawatch_ingest_messages_rej")]
    finally:
        publisher.close()
        worker.close()
