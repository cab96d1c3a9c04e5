"""The dashboards' data: the overview's public part, the officers' part, threshold bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from telemetry import PARAMETERS, QCFlag
from tests.support.times import LOCAL_ZONE
from tests.viz.conftest import Api, insert_alert
from viz.dashboard.series import measured_thresholds, series_json
from viz.palette import QC_COLOURS

pytestmark = pytest.mark.integration


def do_low(url: str) -> tuple[float | None, ...]:
    with psycopg.connect(url) as conn:
        (found,) = [t for t in measured_thresholds(conn, "KG-SR-01") if t.parameter == "do"]
    return found.tiers


def test_bands_follow_a_station_override(api: Api) -> None:
    assert do_low(api.database_url) == (4.0, 3.5, 2.0)  # the profile file's white-leg tiers
    with api.client("officer") as client:
        reply = client.put(
            "/api/v1/stations/KG-SR-01/thresholds/shrimp.do.low",
            json={"warning": 5.0, "source": "pond stocked densely"},
        )
    assert reply.status_code == 200
    assert do_low(api.database_url) == (4.0, 5.0, 2.0)


def test_the_overview_data_is_public_and_its_alerts_are_not(api: Api) -> None:
    insert_alert(api.database_url, "KG-SR-02", "shrimp.do.low")
    with api.client() as anonymous:
        public = anonymous.get("/dashboard/data/overview.json")
        refused = [
            anonymous.get(f"/dashboard/data/{path}").status_code
            for path in ("station_alerts.json", "alerts.json", "stations/KG-SR-02.json")
        ]
        board = anonymous.get("/api/v1/public/stations/latest").json()
    assert public.status_code == 200
    assert refused == [401, 401, 401]
    stations = public.json()["stations"]
    assert stations["id"] == [s["station_id"] for s in board]
    assert stations["name"] == [s["name_vi"] for s in board]
    text = public.text.lower()
    assert "severity" not in text
    assert "shrimp.do.low" not in text
    with api.client("viewer") as viewer:
        worst = viewer.get("/dashboard/data/station_alerts.json").json()
    assert dict(zip(worst["id"], worst["fill"], strict=True))["KG-SR-02"] == "#ff7e00"


def test_readings_not_yet_checked_are_marked_on_the_station_chart(api: Api) -> None:
    start = datetime(2026, 11, 22, 5, tzinfo=UTC)
    with psycopg.connect(api.database_url) as conn:
        for minutes, qc in ((0, QCFlag.GOOD), (5, QCFlag.UNKNOWN), (10, QCFlag.FAIL)):
            conn.execute(
                "INSERT INTO readings (time, station_id, parameter_id, value, qc)"
                " VALUES (%s, 'KG-SR-01', %s, 6.0, %s)",
                (start + timedelta(minutes=minutes), PARAMETERS["do"].id, qc),
            )
        conn.commit()
        data = series_json(
            conn,
            "KG-SR-01",
            start=start,
            end=start + timedelta(hours=1),
            sampling_interval_s=300,
            zone=LOCAL_ZONE,
            parameters=["do"],
        )
    # The good reading is only in the line; the unchecked one is marked, in its own colour.
    assert data["flags"]["colour"] == [QC_COLOURS[QCFlag.UNKNOWN], QC_COLOURS[QCFlag.FAIL]]


def test_a_board_names_the_province_as_it_is_now(api: Api) -> None:
    """Kiên Giang was merged into An Giang on 1 July 2025: the public sees the current name."""
    with api.client() as anonymous:
        page = anonymous.get("/boards/BD-RG").text
    assert "AquaWatch An Giang" in page
    assert "Kiên Giang" not in page
