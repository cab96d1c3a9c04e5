"""QC flags go back to the readings of each window's own grid, whatever its sampling interval."""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg
import pytest

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.engine import Engine
from alerts.settings import AlertSettings
from stations import Registry, Station, load_registry, sync_registry
from telemetry import PARAMETERS, QCFlag, migrate

pytestmark = pytest.mark.integration

DO = PARAMETERS["do"].id


def stations() -> tuple[Station, Station]:
    """KG-SR-01 every 5 minutes and KG-SR-02 changed to every 15 minutes."""
    registry = load_registry()
    every_5 = registry.stations["KG-SR-01"].model_copy(update={"sampling_interval_s": 300})
    every_15 = registry.stations["KG-SR-02"].model_copy(update={"sampling_interval_s": 900})
    return every_5, every_15


def stored(conn: psycopg.Connection[Any], station_id: str) -> dict[float, int]:
    rows = conn.execute(
        "SELECT extract(epoch FROM time)::float8, qc FROM readings"
        " WHERE station_id = %s AND parameter_id = %s",
        (station_id, DO),
    ).fetchall()
    return {float(t): int(qc) for t, qc in rows}


def test_each_window_writes_its_flags_with_its_own_half_step(database_url: str) -> None:
    migrate(database_url)
    every_5, every_15 = stations()
    registry = Registry((every_5, every_15), (), source="test")
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, registry, deactivate_missing=False)
        row = conn.execute("SELECT extract(epoch FROM now())::float8").fetchone()
        assert row is not None
        now = float(row[0])
        engine = Engine(
            AlertSettings(settle_s=0.0),
            registry=registry,
            profiles=load_profiles(),
            quality=load_quality_config(),
        )
        engine.load(conn, now=now)  # nothing stored yet
        # Two hours of DO, each reading 2 or 6 minutes after its grid instant; one of each
        # station out of the sensor's span (FAIL) so that a missed write shows.
        readings: list[tuple[float, str, float]] = []
        for station, offset in ((every_5, 120.0), (every_15, 360.0)):
            step = float(station.sampling_interval_s)
            grid = np.floor((now - 7200) / step) * step + step * np.arange(7200 // step)
            values = 6.0 + 0.3 * np.sin(np.arange(len(grid)) / 3)
            values[len(grid) // 2] = 25.0
            readings += [
                (t + offset, station.id, v) for t, v in zip(grid, values, strict=True) if t < now
            ]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO readings (time, station_id, parameter_id, value)"
                " VALUES (to_timestamp(%s), %s, %s, %s)",
                [(t, sid, DO, v) for t, sid, v in readings],
            )
        conn.commit()

        report = engine.tick(conn, now=now + 600)
        while engine.backlog:  # the first tick's late rows, stored by the next
            engine.tick(conn, now=now + 600)

        assert report.readings == len(readings)
        for station, window in zip((every_5, every_15), engine.windows, strict=True):
            assert window.step == station.sampling_interval_s
            row_of_do = int(window.station_rows("do")[0])
            expected = {
                float(t): int(window.flags[row_of_do, column])
                for t in stored(conn, station.id)
                for column in [int(np.rint((t - window.times[0]) / window.step))]
            }
            flags = stored(conn, station.id)
            assert flags == expected, station.id
            assert QCFlag.FAIL in flags.values(), station.id
            assert QCFlag.GOOD in flags.values(), station.id
