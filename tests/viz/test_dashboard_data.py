"""The station page's threshold bands are the limits in force, edits included."""

from __future__ import annotations

import psycopg
import pytest

from tests.viz.conftest import Api
from viz.dashboard.series import thresholds

pytestmark = pytest.mark.integration


def do_low(url: str) -> tuple[float | None, ...]:
    with psycopg.connect(url) as conn:
        (found,) = [t for t in thresholds(conn, "KG-SR-01") if t.parameter == "do"]
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
