"""What-if: a candidate limit's alerts over the last 30 days, before anything is applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.viz.conftest import Api

pytestmark = pytest.mark.integration

WOBBLE = (0.0, 0.05, -0.04, 0.08, -0.06, 0.02, -0.03)  # sensor noise: never a flat line
DIPS = (5, 10, 20)  # days ago DO fell to 3.6 mg/L for an hour


def store_month(url: str, now: datetime) -> None:
    """30 days of KG-SR-01 DO at 6 mg/L every 5 minutes, with three one-hour dips to 3.6."""
    start = now.replace(second=0, microsecond=0) - timedelta(days=30)
    start -= timedelta(minutes=start.minute % 5)
    dips = [start + timedelta(days=30 - d) for d in DIPS]
    rows = []
    for k in range(30 * 288):
        at = start + timedelta(minutes=5 * k)
        low = any(d <= at < d + timedelta(hours=1) for d in dips)
        rows.append((at, "KG-SR-01", round((3.6 if low else 6.0) + WOBBLE[k % 7], 2)))
    copy_in = "COPY readings (time, station_id, parameter_id, value) FROM STDIN"
    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(copy_in) as copy:
        for at, station, value in rows:
            copy.write_row((at, station, 3, value))


def test_officers_see_a_candidates_alerts_and_nothing_changes(api: Api) -> None:
    with psycopg.connect(api.database_url) as conn:
        do = conn.execute("SELECT id FROM parameters WHERE code = 'do'").fetchone()
        overrides = conn.execute("SELECT count(*) FROM threshold_overrides").fetchone()
    assert do == (3,)
    store_month(api.database_url, datetime.now(UTC))
    path = "/api/v1/stations/KG-SR-01/thresholds/shrimp.do.low/what-if"
    with api.client("officer") as client:
        # Advisory below 4, warning below 3.5 in force: three advisories of 30 minutes
        # (each dip is due 30 min in, after its first, suspect, sample; it clears 35 min
        # after DO is back up).
        stricter = client.post(path, json={"warning": 3.8, "days": 30})
        looser = client.post(path, json={"advisory": 3.5, "days": 30})
    assert stricter.status_code == 200, stricter.text
    body = stricter.json()
    assert body["current"]["alerts"] == 3
    assert [s["severity"] for s in body["current"]["spans"]] == [1, 1, 1]
    assert [s["hours"] for s in body["current"]["spans"]] == [1.0, 1.0, 1.0]
    assert body["current"]["alert_hours"] == 3.0
    assert [s["severity"] for s in body["candidate"]["spans"]] == [2, 2, 2]
    assert looser.json()["candidate"] == {"alerts": 0, "alert_hours": 0.0, "spans": []}
    opened = [datetime.fromisoformat(s["opened_at"]) for s in body["current"]["spans"]]
    assert [round((datetime.now(UTC) - t).total_seconds() / 86_400) for t in opened] == [
        20,
        10,
        5,
    ]
    with psycopg.connect(api.database_url) as conn:
        after = conn.execute("SELECT count(*) FROM threshold_overrides").fetchone()
        alerts = conn.execute("SELECT count(*) FROM alerts WHERE rule_id = 'shrimp.do.low'")
        assert alerts.fetchone() == (0,)
    assert after == overrides


def test_a_candidate_needs_a_limit_and_a_known_rule(api: Api) -> None:
    with api.client("officer") as client:
        empty = client.post(
            "/api/v1/stations/KG-SR-01/thresholds/shrimp.do.low/what-if", json={"days": 30}
        )
        unknown = client.post(
            "/api/v1/stations/KG-SR-01/thresholds/no.such.rule/what-if", json={"warning": 1}
        )
        odd_days = client.post(
            "/api/v1/stations/KG-SR-01/thresholds/shrimp.do.low/what-if",
            json={"warning": 1, "days": 45},
        )
    assert (empty.status_code, unknown.status_code, odd_days.status_code) == (422, 404, 422)
