"""With ``AQUAWATCH_READ_DATABASE_URL`` set, reads come from the replica, writes go to the primary.

The replica here is a second database holding other data, in which every session is read
only, as on a hot standby: a read served by the primary, or a write sent to the replica,
shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from tests.support.postgres import PostgresServer, count
from tests.viz.conftest import Api, another_server, insert_alert, insert_readings, prepare

pytestmark = pytest.mark.integration


@pytest.fixture
def replica(postgres: PostgresServer) -> Iterator[str]:
    with postgres.database() as url:
        prepare(url)
        yield url


def read_only(url: str) -> None:
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
                sql.Identifier(str(name))
            )
        )


def test_gets_read_the_replica_and_writes_reach_the_primary(api: Api, replica: str) -> None:
    on_primary = insert_alert(api.database_url, "KG-SR-01", "shrimp.do.low")
    insert_alert(replica, "KG-SR-02", "shrimp.ph.high")
    at = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)
    insert_readings(replica, [(at, "KG-CS-01", "temp", 28.5, 1, 0)])
    read_only(replica)
    with another_server(api, read_database_url=replica) as (base, _):
        headers = {"Authorization": f"Bearer {api.tokens['officer']}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            listed = client.get("/api/v1/alerts")
            assert listed.status_code == 200, listed.text
            assert [a["station_id"] for a in listed.json()] == ["KG-SR-02"]
            latest = client.get("/api/v1/public/stations/latest").json()
            values = {s["station_id"]: s["values"] for s in latest if s["values"]}
            assert list(values) == ["KG-CS-01"]
            acked = client.post(
                f"/api/v1/alerts/{on_primary}/acknowledge", json={"note": "aerators on"}
            )
            assert acked.status_code == 200, acked.text
    state = f"SELECT count(*) FROM alerts WHERE id = {on_primary} AND state = 'acknowledged'"
    assert count(api.database_url, state) == 1
