"""A write is committed before its answer leaves: a client never reads 200 for a lost write."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.postgres import count
from tests.viz.conftest import Api, insert_alert

pytestmark = pytest.mark.integration


def test_a_write_whose_commit_fails_is_not_answered_as_done(api: Api) -> None:
    alert = insert_alert(api.database_url, "KG-SR-01", "shrimp.do.low")
    with psycopg.connect(api.database_url, autocommit=True) as conn:
        # Refuses the resolution only at COMMIT, as a serialisation failure or a lost
        # connection would: the route itself runs to the end without an error.
        conn.execute(
            "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS"
            " $$BEGIN RAISE EXCEPTION 'refused at commit'; END$$"
        )
        conn.execute(
            "CREATE CONSTRAINT TRIGGER refuse_resolution AFTER INSERT ON alert_events"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.kind = 'resolved')"
            " EXECUTE FUNCTION refuse_at_commit()"
        )
    try:
        with api.client("officer") as client:
            reply = client.post(f"/api/v1/alerts/{alert}/resolve", json={"note": "aerators on"})
        assert reply.status_code == 500, reply.text
        resolved = f"SELECT count(*) FROM alerts WHERE id = {alert} AND state = 'resolved'"
        assert count(api.database_url, resolved) == 0
    finally:
        with psycopg.connect(api.database_url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER refuse_resolution ON alert_events")
            conn.execute("DROP FUNCTION refuse_at_commit()")
