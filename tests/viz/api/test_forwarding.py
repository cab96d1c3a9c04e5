"""Forwarding lag and last error: the API and the overview dashboard's officer table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.viz.conftest import Api, insert_readings

pytestmark = pytest.mark.integration

NEWEST = datetime(2026, 2, 3, 4, 0, tzinfo=UTC)


def test_forwarding_shows_each_station_lag_and_last_error(api: Api) -> None:
    insert_readings(
        api.database_url,
        [
            (NEWEST - timedelta(hours=2), "KG-EF-02", "cod", 40.0, 1, 0),
            (NEWEST, "KG-EF-02", "cod", 41.0, 1, 0),
            (NEWEST - timedelta(minutes=10), "KG-EF-02", "ph", 7.0, 1, 0),
        ],
    )
    with psycopg.connect(api.database_url) as conn:
        conn.execute(
            "INSERT INTO forward_state (receiver, station_id, sent_until, last_sent_at,"
            " last_error, last_error_at) VALUES"
            " ('bo-tnmt', 'KG-EF-02', %s, %s, 'ftp://x:21: connecting failed', %s)",
            (NEWEST - timedelta(minutes=90), NEWEST, NEWEST + timedelta(minutes=5)),
        )
    with api.client() as anonymous:
        assert anonymous.get("/api/v1/forwarding").status_code == 401
        assert anonymous.get("/dashboard/data/forwarding.json").status_code == 401
    with api.client("viewer") as viewer:
        rows = viewer.get("/api/v1/forwarding").json()
        table = viewer.get("/dashboard/data/forwarding.json").json()
    [row] = [r for r in rows if r["station_id"] == "KG-EF-02"]
    assert row["receiver"] == "bo-tnmt"
    assert row["lag_s"] == 90 * 60
    assert row["last_error"] == "ftp://x:21: connecting failed"
    at = table["station_name"].index(row["station_name"])
    assert table["lag"][at] == "1,50 giờ"
    assert table["last_error"][at] == "03/02 11:05 ftp://x:21: connecting failed"
    assert table["colour"][at] == "#ff7e00"
