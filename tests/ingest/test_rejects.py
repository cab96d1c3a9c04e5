"""The rejects table is bounded: a prefix of each payload, a retention period, counts that stay."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from ingest import Inbound, IngestMetrics, ReadingsWriter, Rejection
from ingest.housekeeping import Housekeeping
from telemetry import RejectReason, SystemClock, create_pool, migrate

pytestmark = pytest.mark.integration


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool]:
    migrate(database_url)
    pool = create_pool(database_url, size=2, name="test-rejects")
    pool.open(wait=True)
    yield pool
    pool.close()


def _reject(payload: bytes, reason: RejectReason, *, topic: str = "t/v1/S/readings") -> Inbound:
    body = Rejection(reason, f"{reason.value} here")
    return Inbound(
        mid=1, qos=1, generation=0, topic=topic, payload=payload, station_id="S", body=body
    )


def test_rejects_keep_a_prefix_and_the_size_and_count_per_reason_and_day(
    pool: ConnectionPool, database_url: str
) -> None:
    writer = ReadingsWriter(
        pool,
        metrics=IngestMetrics(lambda: 0),
        station_refresh_s=0,
        reject_raw_max_bytes=8,
        clock=SystemClock(),
    )
    writer.write(
        [
            _reject(b"0123456789abcdef", RejectReason.NOT_JSON),
            _reject(b"short", RejectReason.NOT_JSON),
            _reject(b"x" * 1000, RejectReason.PAYLOAD_TOO_LARGE),
        ]
    )
    # NUL cannot be stored in PostgreSQL text: a topic or detail holding one is stored with
    # U+FFFD instead of failing the batch (and sending it down the message-by-message path).
    nul = Inbound(
        mid=1,
        qos=1,
        generation=0,
        topic="t/\x00",
        payload=b"\x00",
        station_id=None,
        body=Rejection(RejectReason.BAD_TOPIC, "a\x00b"),
    )
    writer.write([nul, _reject(b"{", RejectReason.NOT_JSON)])
    writer.close()
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT topic, reason, detail, payload, payload_size FROM rejects ORDER BY id"
        ).fetchall()
        counts = conn.execute(
            "SELECT day = (now() AT TIME ZONE 'UTC')::date, reason, messages, payload_bytes"
            " FROM reject_counts ORDER BY reason"
        ).fetchall()
    assert [(bytes(r[3]), r[4]) for r in rows] == [
        (b"01234567", 16),
        (b"short", 5),
        (b"xxxxxxxx", 1000),
        (b"\x00", 1),
        (b"{", 1),
    ]
    assert rows[3][:3] == ("t/\ufffd", "bad_topic", "a\ufffdb")
    assert counts == [
        (True, "bad_topic", 1, 1),
        (True, "not_json", 3, 22),
        (True, "payload_too_large", 1, 1000),
    ]


def test_rejects_past_retention_are_deleted_in_batches_and_their_counts_stay(
    pool: ConnectionPool, database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO rejects (received_at, topic, reason, detail, payload, payload_size)"
            " SELECT now() - make_interval(days => d, hours => -1), 't', 'not_json', 'd',"
            " '\\x00', 1 FROM generate_series(1, 40) AS d, generate_series(1, 150)"
        )
        conn.execute(
            "INSERT INTO reject_counts (day, reason, messages, payload_bytes)"
            " VALUES ((now() - interval '35 days')::date, 'not_json', 150, 150)"
        )
    upkeep = Housekeeping(pool, interval_s=60, settle_s=0, reject_retention_days=30)
    # Days 31 to 40 are past the retention: 1,500 rows, deleted 1,000 at a time.
    assert upkeep.purge_rejects() == 1500
    assert upkeep.purge_rejects() == 0
    with psycopg.connect(database_url) as conn:
        left = conn.execute(
            "SELECT count(*), max(now() - received_at) < interval '30 days' FROM rejects"
        ).fetchone()
        counted = conn.execute("SELECT sum(messages) FROM reject_counts").fetchone()
    assert left == (30 * 150, True)
    assert counted == (150,)
