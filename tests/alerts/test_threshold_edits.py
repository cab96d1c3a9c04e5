"""Limits people change through the API are taken up by the running engine."""

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


def do_alerts(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT station_id, severity, state FROM alerts WHERE rule_id = 'shrimp.do.low'"
        " ORDER BY station_id"
    ).fetchall()


@at_times_of_day
def test_an_override_and_a_profile_edit_take_effect_and_can_be_undone(
    now: datetime, database_url: str
) -> None:
    migrate(database_url)
    registry = load_registry()
    at = now.timestamp()
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, registry, deactivate_missing=False)
        # Two hours of DO at 4.5 mg/L: above every tier of the file (advisory below 4).
        for station in ("KG-SR-01", "KG-SR-02"):
            for k in range(24):
                conn.execute(
                    "INSERT INTO readings (time, station_id, parameter_id, value)"
                    " VALUES (to_timestamp(%s), %s, %s, 4.5)",
                    (at - 300 * k, station, PARAMETERS["do"].id),
                )
        conn.commit()
        engine = Engine(
            AlertSettings(settle_s=0.0),
            registry=registry,
            profiles=load_profiles(),
            quality=load_quality_config(),
        )
        engine.load(conn, now=at)
        engine.tick(conn, now=at)
        assert do_alerts(conn) == []

        # An officer raises the warning limit at KG-SR-01 only (as PUT .../thresholds does).
        conn.execute(
            "INSERT INTO threshold_overrides (station_id, rule_id, warning, source, updated_by)"
            " VALUES ('KG-SR-01', 'shrimp.do.low', 5.0, 'pond stocked densely', 'user:officer')"
        )
        conn.commit()
        engine.tick(conn, now=at)
        assert do_alerts(conn) == [("KG-SR-01", 2, "open")]

        # An admin edits the profile's advisory limit for every shrimp river.
        conn.execute(
            "INSERT INTO profile_edits (profile, rule_id, advisory, source, updated_by)"
            " VALUES ('shrimp_river', 'shrimp.do.low', 4.8, 'provincial advice 2026', 'user:a')"
        )
        conn.commit()
        engine.tick(conn, now=at)
        assert do_alerts(conn) == [("KG-SR-01", 2, "open"), ("KG-SR-02", 1, "open")]
        # The rows the API shows keep the file's limits; the edits lie beside them.
        file_limits = conn.execute(
            "SELECT advisory, warning FROM threshold_profiles"
            " WHERE station_id = 'KG-SR-01' AND rule_id = 'shrimp.do.low'"
        ).fetchone()
        assert file_limits == (4.0, 3.5)

        # Both set back: the alerts resolve on the next tick.
        conn.execute("DELETE FROM threshold_overrides")
        conn.execute("DELETE FROM profile_edits")
        conn.commit()
        engine.tick(conn, now=at)
        assert do_alerts(conn) == [("KG-SR-01", 2, "resolved"), ("KG-SR-02", 1, "resolved")]
