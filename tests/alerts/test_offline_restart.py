"""Station silence across an engine restart, against the real database."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.engine import Engine
from alerts.settings import AlertSettings
from stations import load_registry, sync_registry
from telemetry import PARAMETERS, migrate
from tests.support.times import at_times_of_day

pytestmark = pytest.mark.integration


@at_times_of_day
def test_silent_for_longer_than_the_window_stays_offline_and_new_stations_are_not(
    now: datetime, database_url: str
) -> None:
    migrate(database_url)
    registry = load_registry()
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, registry, deactivate_missing=False)
        # KG-SR-01 last reported 30 h ago, longer than the engine keeps (26 h); the other
        # six stations have never reported.
        conn.execute(
            "INSERT INTO readings (time, station_id, parameter_id, value)"
            " VALUES (to_timestamp(%s), 'KG-SR-01', %s, 5.0)",
            (now.timestamp() - 30 * 3600, PARAMETERS["do"].id),
        )
        conn.commit()
        engine = Engine(
            AlertSettings(),
            registry=registry,
            profiles=load_profiles(),
            quality=load_quality_config(),
        )
        engine.load(conn, now=now.timestamp())
        engine.tick(conn, now=now.timestamp())
        rows = conn.execute("SELECT station_id, rule_id, state FROM alerts ORDER BY 1").fetchall()
    assert rows == [("KG-SR-01", "station.offline", "open")]
