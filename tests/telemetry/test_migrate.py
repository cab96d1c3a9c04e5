"""Migrations and the plain-PostgreSQL storage path (partitions and rollups)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from telemetry import Flavour, MigrationError, current_flavour, migrate
from telemetry.schema import available_migrations

pytestmark = pytest.mark.integration


def test_migrate_is_idempotent_and_recorded(database_url: str) -> None:
    applied = migrate(database_url)
    assert applied == [
        "0001_core",
        "0002_readings",
        "0003_alerts",
        "0004_threshold_profiles",
        "0005_accounts",
        "0006_notifications",
        "0007_rollup_refresh",
        "0008_notification_indexes",
        "0009_reject_limits",
        "0010_login_throttle",
        "0011_token_version",
        "0012_inbound_gateway_id",
        "0013_sms_budget",
        "0014_station_credentials",
        "0015_qc_backlog",
        "0018_alert_leases",
        "0020_station_files",
        "0021_forwarding",
        "0022_worker_fenced_leases",
        "0023_ingested_at_btree",
    ]
    assert migrate(database_url) == []
    assert current_flavour(database_url) is Flavour.POSTGRES
    with psycopg.connect(database_url) as conn:
        versions = conn.execute("SELECT version, flavour FROM schema_migrations").fetchall()
        parameters = conn.execute("SELECT count(*) FROM parameters").fetchone()
    assert sorted(versions) == [(name[:4], "postgres") for name in applied]
    assert parameters == (24,)


def test_changed_migration_file_is_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(database_url)
    edited = [
        m.__class__(m.version, m.name, m.flavour, m.text + "\n-- edited")
        for m in available_migrations()
    ]
    monkeypatch.setattr("telemetry.schema.available_migrations", lambda: edited)
    with pytest.raises(MigrationError, match="0001_core changed after it was applied"):
        migrate(database_url)


def test_bounded_rejects_keep_the_size_and_counts_of_rejects_stored_before(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = available_migrations()
    before = [m for m in shipped if m.version < "0009"]
    monkeypatch.setattr("telemetry.schema.available_migrations", lambda: before)
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO rejects (received_at, topic, reason, detail, payload) VALUES"
            " ('2026-11-20T23:30:00Z', 't', 'not_json', 'd', '\\x0102'),"
            " ('2026-11-20T23:40:00Z', 't', 'not_json', 'd', '\\x010203'),"
            " ('2026-11-21T00:10:00+07:00', 't', 'bad_schema', 'd', '\\x01')"
        )
    monkeypatch.setattr("telemetry.schema.available_migrations", lambda: shipped)
    assert migrate(database_url)[0] == "0009_reject_limits"
    with psycopg.connect(database_url) as conn:
        sizes = conn.execute("SELECT payload_size FROM rejects ORDER BY id").fetchall()
        counts = conn.execute(
            "SELECT day::text, reason, messages, payload_bytes FROM reject_counts ORDER BY 1, 2"
        ).fetchall()
    assert sizes == [(2,), (3,), (1,)]
    assert counts == [("2026-11-20", "bad_schema", 1, 1), ("2026-11-20", "not_json", 2, 5)]


def test_daily_partitions_ahead_and_a_default_for_old_backfill(database_url: str) -> None:
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        parts = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'readings'::regclass"
        ).fetchall()
        conn.execute(
            "INSERT INTO readings (time, station_id, parameter_id, value)"
            " VALUES ('2019-05-01T00:00:00Z', 'S', 1, 1), (now(), 'S', 1, 2)"
        )
        placed = conn.execute(
            "SELECT tableoid::regclass::text, value FROM readings ORDER BY value"
        ).fetchall()
        created = conn.execute("SELECT aquawatch_ensure_partitions(7, 14)").fetchone()
        # The server's day, not this process's: the two can straddle midnight UTC.
        day = conn.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')").fetchone()
    names = {p[0] for p in parts}
    assert "readings_default" in names
    assert len(names) == 1 + 7 + 1 + 14  # default, a week back, today, two weeks ahead
    assert placed[0] == ("readings_default", 1.0)
    assert day is not None
    assert placed[1] == (f"readings_{day[0]}", 2.0)
    assert created == (0,)


def test_duplicate_reading_identity_is_stored_once(database_url: str) -> None:
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        insert = (
            "INSERT INTO readings (time, station_id, parameter_id, value)"
            " VALUES ('2026-11-22T14:05:00Z', 'S', 3, %s) ON CONFLICT DO NOTHING"
        )
        first = conn.execute(insert, (4.2,)).rowcount
        again = conn.execute(insert, (9.9,)).rowcount
        values = conn.execute("SELECT value FROM readings").fetchall()
    assert (first, again, values) == (1, 0, [(4.2,)])


ROWS = [
    # station, parameter, time (UTC), value
    ("S", 3, "2026-11-21T16:59:30Z", 9.0),  # 23:59:30 local, 21 Nov
    ("S", 3, "2026-11-21T17:00:10Z", 4.0),  # 00:00:10 local, 22 Nov
    ("S", 3, "2026-11-21T17:00:50Z", 6.0),  # same minute
    ("S", 3, "2026-11-21T17:30:00Z", 2.0),  # same hour, another minute
    ("S", 1, "2026-11-21T17:00:20Z", 29.5),
    ("S", 3, "2026-11-21T17:00:10Z", 99.0),  # a redelivery: same identity, ignored
]
LATE = ("S", 3, "2026-11-21T17:00:30Z", 8.0)
INSERT = (
    "INSERT INTO readings (station_id, parameter_id, time, value) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT DO NOTHING"
)
QUERIES = {
    "1m": "SELECT bucket, n, mean, min, max FROM readings_1m WHERE parameter_id = 3 ORDER BY 1",
    "1h": "SELECT bucket, n, mean FROM readings_1h WHERE parameter_id = 3 ORDER BY 1",
    "1d": "SELECT bucket, n, mean, min, max FROM readings_1d WHERE parameter_id = 3 ORDER BY 1",
}
EXPECTED = {
    "1m": [
        (datetime(2026, 11, 21, 16, 59, tzinfo=UTC), 1, 9.0, 9.0, 9.0),
        (datetime(2026, 11, 21, 17, 0, tzinfo=UTC), 2, 5.0, 4.0, 6.0),
        (datetime(2026, 11, 21, 17, 30, tzinfo=UTC), 1, 2.0, 2.0, 2.0),
    ],
    "1h": [
        (datetime(2026, 11, 21, 16, 0, tzinfo=UTC), 1, 9.0),
        (datetime(2026, 11, 21, 17, 0, tzinfo=UTC), 3, 4.0),
    ],
    # Local days (UTC+7): the 23:59:30 reading belongs to 21 November.
    "1d": [
        (datetime(2026, 11, 20, 17, 0, tzinfo=UTC), 1, 9.0, 9.0, 9.0),
        (datetime(2026, 11, 21, 17, 0, tzinfo=UTC), 3, 4.0, 2.0, 6.0),
    ],
}
LATE_MINUTE = (
    "SELECT n, mean FROM readings_1m WHERE parameter_id = 3 AND bucket = '2026-11-21T17:00Z'"
)


def refresh(conn: psycopg.Connection[tuple[object, ...]], flavour: Flavour) -> None:
    """Bring the rollups up to date the way each flavour's upkeep does."""
    if flavour is Flavour.POSTGRES:
        conn.execute("SELECT aquawatch_refresh_rollups('0 seconds')")
    else:
        for view in ("readings_1m", "readings_1h", "readings_1d"):
            conn.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")


def check_rollups(url: str, flavour: Flavour) -> None:
    """The same rows give the same hand-computed answers to the same queries."""
    with psycopg.connect(url, autocommit=True) as conn:
        for row in ROWS:
            conn.execute(INSERT, row)
        refresh(conn, flavour)
        got = {name: conn.execute(q).fetchall() for name, q in QUERIES.items()}
        # Late data for an already rolled-up minute is folded in on the next refresh.
        conn.execute(INSERT, LATE)
        refresh(conn, flavour)
        late = conn.execute(LATE_MINUTE).fetchone()
    assert got == EXPECTED
    assert late == (3, 6.0)


def test_rollups_hand_computed_on_postgres(database_url: str) -> None:
    migrate(database_url)
    check_rollups(database_url, Flavour.POSTGRES)
