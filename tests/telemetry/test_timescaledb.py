"""The TimescaleDB flavour, against TimescaleDB 2.23 built to WASM (no TimescaleDB server here)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from telemetry import Flavour, current_flavour, migrate
from tests.support.timescaledb import TimescaleServer
from tests.telemetry.test_migrate import check_rollups

pytestmark = pytest.mark.integration


@pytest.fixture
def timescale_url() -> Iterator[str]:
    server = TimescaleServer()
    try:
        yield server.start()
    finally:
        server.stop()


def test_migrations_build_the_hypertable_compression_and_aggregates(timescale_url: str) -> None:
    assert migrate(timescale_url, create_database=False) == [
        "0001_core",
        "0002_readings",
        "0003_alerts",
        "0004_threshold_profiles",
        "0005_accounts",
        "0006_notifications",
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
    assert migrate(timescale_url, create_database=False) == []
    assert current_flavour(timescale_url) is Flavour.TIMESCALEDB
    with psycopg.connect(timescale_url) as conn:
        hypertables = conn.execute(
            "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables"
        ).fetchall()
        segment_by = conn.execute(
            "SELECT attname FROM timescaledb_information.compression_settings"
            " WHERE segmentby_column_index IS NOT NULL ORDER BY segmentby_column_index"
        ).fetchall()
        aggregates = conn.execute(
            "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
            " ORDER BY view_name"
        ).fetchall()
        jobs = conn.execute(
            "SELECT proc_name, count(*) FROM timescaledb_information.jobs"
            " WHERE proc_name IN ('policy_compression', 'policy_refresh_continuous_aggregate')"
            " GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert hypertables == [("readings", True)]
    assert segment_by == [("station_id",), ("parameter_id",)]
    assert aggregates == [("readings_1d", False), ("readings_1h", False), ("readings_1m", False)]
    assert jobs == [("policy_compression", 1), ("policy_refresh_continuous_aggregate", 3)]


def test_aggregates_answer_like_the_postgres_rollups(timescale_url: str) -> None:
    migrate(timescale_url, create_database=False)
    check_rollups(timescale_url, Flavour.TIMESCALEDB)


def test_upkeep_functions_are_harmless_no_ops(timescale_url: str) -> None:
    migrate(timescale_url, create_database=False)
    with psycopg.connect(timescale_url) as conn:
        assert conn.execute("SELECT aquawatch_ensure_partitions(1, 14)").fetchone() == (0,)
        assert conn.execute("SELECT aquawatch_refresh_rollups('30 s')").fetchone() == (0,)
