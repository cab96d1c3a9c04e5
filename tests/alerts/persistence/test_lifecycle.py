"""Episodes become alerts and events exactly once, whatever order and however often."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from alerts.detectors.findings import AlertEpisode
from alerts.errors import AlertError
from alerts.persistence.lifecycle import acknowledge, reconcile, resolve
from telemetry import migrate

pytestmark = pytest.mark.integration

T0 = 1_795_000_000.0  # a data time
NOW = T0 + 300
WINDOW = T0 - 86_400


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    migrate(database_url)
    with psycopg.connect(database_url) as connection:
        yield connection


def tick(
    conn: psycopg.Connection[Any], *episodes: AlertEpisode, clear: dict[Any, float] | None = None
) -> list[tuple[str, int]]:
    changes = reconcile(
        conn, episodes, clear=clear or {}, window_start=WINDOW, now=NOW, late_after_s=900
    )
    conn.commit()
    return [(c.kind, c.severity) for c in changes]


def alerts(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT rule_id, severity, state, extract(epoch FROM opened_at)::float8, late"
        " FROM alerts ORDER BY opened_at"
    ).fetchall()


def events(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT kind, severity, actor FROM alert_events ORDER BY id").fetchall()


def ep(**overrides: Any) -> AlertEpisode:
    fields: dict[str, Any] = {
        "station_id": "KG-SR-02",
        "rule_id": "shrimp.do.low",
        "family": "threshold",
        "opened_at": T0,
        "severity": 1,
        "escalations": ((T0, 1),),
    }
    fields.update(overrides)
    return AlertEpisode(**fields)


def test_open_escalate_resolve_with_events(conn: psycopg.Connection[Any]) -> None:
    assert tick(conn, ep()) == [("opened", 1)]
    assert tick(conn, ep(severity=3, escalations=((T0, 1), (T0 + 600, 3)))) == [("escalated", 3)]
    done = ep(severity=3, escalations=((T0, 1), (T0 + 600, 3)), resolved_at=T0 + 1800)
    assert tick(conn, done) == [("resolved", 3)]
    assert alerts(conn) == [("shrimp.do.low", 3, "resolved", T0, False)]
    assert events(conn) == [
        ("opened", 1, "engine"),
        ("escalated", 3, "engine"),
        ("resolved", 3, "engine"),
    ]


def test_deriving_the_same_episodes_again_changes_nothing(conn: psycopg.Connection[Any]) -> None:
    episodes = (ep(), ep(rule_id="shrimp.ph.swing", opened_at=T0 + 60, resolved_at=T0 + 900))
    first = tick(conn, *episodes)
    assert tick(conn, *episodes) == []  # a restart re-deriving the window
    assert len(first) == 3
    assert len(alerts(conn)) == 2
    assert len(events(conn)) == 3


def test_an_episode_seen_from_its_middle_is_the_open_alert(conn: psycopg.Connection[Any]) -> None:
    tick(conn, ep())
    # The window slid: the condition holds from its first column, its start is out of view.
    assert tick(conn, ep(opened_at=T0 + 7_200, continues=True)) == []
    assert len(alerts(conn)) == 1


def test_a_new_episode_closes_the_old_one_first(conn: psycopg.Connection[Any]) -> None:
    tick(conn, ep())
    assert tick(conn, ep(opened_at=T0 + 7_200)) == [("resolved", 1), ("opened", 1)]
    assert [a[2] for a in alerts(conn)] == ["resolved", "open"]


def test_backfilled_earlier_episode_is_stored_resolved_and_late(
    conn: psycopg.Connection[Any],
) -> None:
    tick(conn, ep(opened_at=NOW - 300))
    past = ep(opened_at=T0 - 40_000, resolved_at=T0 - 39_000)
    assert tick(conn, past, ep(opened_at=NOW - 300)) == [("opened", 1), ("resolved", 1)]
    assert alerts(conn) == [
        ("shrimp.do.low", 1, "resolved", T0 - 40_000, True),
        ("shrimp.do.low", 1, "open", NOW - 300, False),
    ]


def test_known_clear_resolves_and_missing_data_does_not(conn: psycopg.Connection[Any]) -> None:
    tick(conn, ep(), ep(station_id="KG-SR-01"))
    changes = tick(conn, clear={("KG-SR-02", "shrimp.do.low"): T0 + 900})
    assert changes == [("resolved", 1)]  # KG-SR-01 sent nothing: its alert stays open
    states = conn.execute("SELECT station_id, state FROM alerts ORDER BY station_id").fetchall()
    assert states == [("KG-SR-01", "open"), ("KG-SR-02", "resolved")]


def test_people_acknowledge_and_resolve_and_are_not_overruled(
    conn: psycopg.Connection[Any],
) -> None:
    tick(conn, ep())
    alert_id = conn.execute("SELECT id FROM alerts").fetchone()[0]  # type: ignore[index]
    acknowledge(conn, alert_id, actor="officer.lan", note="aerators on")
    resolve(conn, alert_id, actor="officer.lan", note="pond drained")
    conn.commit()
    with pytest.raises(AlertError, match="is not open"):
        acknowledge(conn, alert_id, actor="officer.lan", note=None)
    conn.rollback()
    # The condition goes on: the engine does not reopen what a person resolved.
    assert tick(conn, ep(opened_at=T0 + 7_200, continues=True)) == []
    assert events(conn)[-2:] == [("acknowledged", 1, "officer.lan"), ("resolved", 1, "officer.lan")]
