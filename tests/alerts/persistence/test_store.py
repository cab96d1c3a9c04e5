"""What the engine reads from and writes to the database, against a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row

from alerts.config.compiled_rules import THRESHOLD_COLUMNS
from alerts.config.threshold_profiles import load_profiles
from alerts.persistence import store
from alerts.persistence.qc_cells import Cells
from stations import Station, load_registry, sync_registry
from telemetry import PARAMETERS, QCFlag, migrate

pytestmark = pytest.mark.integration

T0 = 1_795_000_200.0  # a grid instant of 5-minute stations
DO = PARAMETERS["do"].id
SAL = PARAMETERS["sal"].id
REGISTRY = load_registry()


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    migrate(database_url)
    with psycopg.connect(database_url) as connection:
        sync_registry(connection, REGISTRY, deactivate_missing=False)
        connection.commit()
        yield connection


def insert(conn: psycopg.Connection[Any], *readings: tuple[float, str, int, float]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (time, station_id, parameter_id, value)"
            " VALUES (to_timestamp(%s), %s, %s, %s)",
            readings,
        )
    conn.commit()


def qc(conn: psycopg.Connection[Any]) -> dict[tuple[str, float], int]:
    rows = conn.execute(
        "SELECT station_id, extract(epoch FROM time)::float8, qc FROM readings"
    ).fetchall()
    return {(s, float(t)): int(q) for s, t, q in rows}


def test_rows_synced_come_back_column_by_column(conn: psycopg.Connection[Any]) -> None:
    profiles = load_profiles()
    stations = [REGISTRY.stations["KG-SR-01"], REGISTRY.stations["KG-EF-02"]]
    rows = profiles.as_rows(stations)
    assert store.sync_profiles(conn, rows, stations=[s.id for s in stations]) == len(rows)
    with conn.cursor(row_factory=dict_row) as cur:
        read = cur.execute(
            "SELECT * FROM threshold_profiles ORDER BY station_id, rule_id"
        ).fetchall()
    expected = sorted((asdict(r) for r in rows), key=lambda r: (r["station_id"], r["rule_id"]))
    got = [{c: r[c] for c in THRESHOLD_COLUMNS} for r in read]
    for row in got:
        row["options"] = profiles_json(row["options"])
    for row in expected:
        row["options"] = profiles_json(row["options"])
    assert got == expected
    # Synced again: replaced, not added to.
    store.sync_profiles(conn, rows, stations=[s.id for s in stations])
    assert conn.execute("SELECT count(*) FROM threshold_profiles").fetchone() == (len(rows),)


def test_only_stations_whose_rules_changed_are_synced_again(conn: psycopg.Connection[Any]) -> None:
    profiles = load_profiles()
    stations = [REGISTRY.stations["KG-SR-01"], REGISTRY.stations["KG-EF-02"]]

    def expected(*chosen: Station) -> dict[str, tuple[str, int]]:
        return {s.id: (profiles.station_digest(s), len(profiles.rules_for(s))) for s in chosen}

    assert store.stale_profiles(conn, expected(*stations)) == ["KG-EF-02", "KG-SR-01"]
    store.sync_profiles(conn, profiles.as_rows(stations), stations=[s.id for s in stations])
    conn.commit()
    assert store.stale_profiles(conn, expected(*stations)) == []  # a restart writes nothing
    # A station whose settings changed (here its interval) is written again; the other not.
    moved = stations[1].model_copy(update={"sampling_interval_s": 600})
    assert store.stale_profiles(conn, expected(stations[0], moved)) == ["KG-EF-02"]
    # So is one whose rows were partly lost.
    conn.execute(
        "DELETE FROM threshold_profiles WHERE rule_id IN (SELECT rule_id"
        " FROM threshold_profiles WHERE station_id = 'KG-SR-01' LIMIT 1)"
    )
    assert store.stale_profiles(conn, expected(*stations)) == ["KG-SR-01"]


def profiles_json(value: object) -> object:
    """The options column as data, however the column type hands it back."""
    return json.loads(value) if isinstance(value, str) else value


def test_edits_merge_tier_by_tier_and_an_override_wins(conn: psycopg.Connection[Any]) -> None:
    station = REGISTRY.stations["KG-SR-01"]
    version = store.edits_version(conn)
    conn.execute(
        "INSERT INTO profile_edits (profile, rule_id, advisory, warning, source, updated_by)"
        " VALUES ('shrimp_river', 'shrimp.do.low', 4.5, 3.8, 'advice 2026', 'user:a')"
    )
    conn.execute(
        "INSERT INTO threshold_overrides (station_id, rule_id, warning, source, updated_by)"
        " VALUES ('KG-SR-01', 'shrimp.do.low', 3.9, 'dense pond', 'user:b')"
    )
    conn.commit()
    assert store.edits_version(conn) != version
    # Layered over the rules compiled in memory (none is stored): the profile's edit
    # reaches every station of the profile, the override only its own.
    stations = [station, REGISTRY.stations["KG-SR-02"], REGISTRY.stations["KG-CS-01"]]
    edits = store.threshold_edits(conn, load_profiles(), stations)
    assert sorted(edits) == [("KG-SR-01", "shrimp.do.low"), ("KG-SR-02", "shrimp.do.low")]
    edit = edits[("KG-SR-01", "shrimp.do.low")]
    assert (edit.tiers, edit.source) == ((4.5, 3.9, None), "dense pond")
    edit = edits[("KG-SR-02", "shrimp.do.low")]
    assert (edit.tiers, edit.source) == ((4.5, 3.8, None), "advice 2026")


def test_readings_come_back_column_wise(conn: psycopg.Connection[Any]) -> None:
    before = store.database_now(conn)
    insert(conn, (T0, "KG-SR-01", DO, 5.5), (T0 + 300, "KG-SR-01", SAL, 12.0))
    insert(conn, (T0 - 86_400, "KG-SR-02", DO, 6.0))
    after = store.database_now(conn)
    batch, stored = store.recent(conn, ["KG-SR-01", "KG-SR-02"], since=T0 - 1)
    order = np.argsort(batch.epoch)
    assert stored.tolist() == [QCFlag.UNKNOWN, QCFlag.UNKNOWN]  # never evaluated
    assert batch.station_id[order].tolist() == ["KG-SR-01", "KG-SR-01"]
    assert batch.parameter_id[order].tolist() == [DO, SAL]
    assert batch.value[order].tolist() == [5.5, 12.0]
    assert batch.device_status.tolist() == [0, 0]
    assert len(store.committed_between(conn, ["KG-SR-02"], after=before, until=after)) == 1
    assert len(store.committed_between(conn, ["KG-SR-01"], after=after, until=after + 60)) == 0
    assert len(store.recent(conn, ["KG-CS-01"], since=0)[0]) == 0
    assert store.reported_before(conn, ["KG-SR-01", "KG-SR-02"], before=T0 - 3600) == {"KG-SR-02"}


@pytest.mark.parametrize(("half_step", "updated"), [(150.0, 2), (450.0, 3)])
def test_qc_goes_to_readings_within_half_a_step(
    conn: psycopg.Connection[Any], half_step: float, updated: int
) -> None:
    # Readings 100 s, 200 s and 400 s after a cell's instant.
    insert(
        conn,
        (T0 + 100, "KG-SR-01", DO, 5.0),
        (T0 - 100, "KG-SR-01", DO, 5.0),
        (T0 + 400, "KG-SR-01", DO, 5.0),
        (T0, "KG-SR-02", DO, 5.0),
    )
    written = store.write_qc(
        conn,
        Cells(
            stations=("KG-SR-02", "KG-SR-01"),
            station=np.array([1]),
            parameter_id=np.array([DO]),
            epoch=np.array([T0]),
            flag=np.array([4], dtype=np.uint8),
            half_step=half_step,
        ),
    )
    conn.commit()
    assert written == updated
    flags = qc(conn)
    assert flags[("KG-SR-01", T0 + 100)] == flags[("KG-SR-01", T0 - 100)] == 4
    assert flags[("KG-SR-01", T0 + 400)] == (4 if half_step > 400 else 2)
    assert flags[("KG-SR-02", T0)] == 2  # another station's reading
    assert (
        store.write_qc(
            conn,
            Cells(
                stations=(),
                station=np.zeros(0, dtype=np.int64),
                parameter_id=np.zeros(0, dtype=np.int64),
                epoch=np.zeros(0),
                flag=np.zeros(0, dtype=np.uint8),
                half_step=half_step,
            ),
        )
        == 0
    )


def test_watermarks(conn: psycopg.Connection[Any]) -> None:
    assert store.watermark(conn, "alerts-0-of-1") is None
    store.save_watermark(conn, "alerts-0-of-1", T0)
    store.save_watermark(conn, "alerts-0-of-1", T0 + 10)
    conn.commit()
    assert store.watermark(conn, "alerts-0-of-1") == T0 + 10
