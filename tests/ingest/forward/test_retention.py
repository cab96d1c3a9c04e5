"""The forwarding log keeps the rows of files sent for its retention only."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from ingest.forward import Forwarder
from telemetry import SystemClock, migrate

pytestmark = pytest.mark.integration


def test_old_sent_files_leave_the_forwarding_log(database_url: str) -> None:
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        rows = [(91, "sent"), (89, "sent"), (200, "sending")]
        for index, (age, state) in enumerate(rows):
            conn.execute(
                "INSERT INTO forward_log (receiver, station_id, file_time, name, size, state,"
                " sent_at) VALUES ('r', 'KG-SR-01', now() - make_interval(mins => %s), 'x', 1,"
                " %s, now() - make_interval(days => %s))",
                (index, state, age),
            )
        forwarder = Forwarder(
            conn,
            [],
            clock=SystemClock(),
            batch_files=1,
            since=timedelta(0),
            retry_min_s=1,
            retry_max_s=1,
            timeout_s=1,
            ca_file=None,
            log_retention_days=90,
        )
        assert forwarder.prune() == 1
        assert sorted(r for (r,) in conn.execute("SELECT state FROM forward_log")) == [
            "sending",
            "sent",
        ]
