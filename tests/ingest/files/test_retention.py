"""The inbox ledger keeps rows for its retention only."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ingest.files import FileInbox, WatchSettings
from telemetry import SystemClock, migrate

pytestmark = pytest.mark.integration


def test_old_ledger_rows_go_and_recent_ones_stay(database_url: str, tmp_path: Path) -> None:
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        for age, key in ((91, b"o" * 32), (89, b"n" * 32)):
            conn.execute(
                "INSERT INTO inbox_files (key, station_id, name, outcome, readings, received_at)"
                " VALUES (%s, 'KG-SR-01', 'x.txt', 'stored', 1, now() - make_interval(days => %s))",
                (key, age),
            )
    (tmp_path / "watched").mkdir()
    settings = WatchSettings(database_url=database_url, spool_dir=tmp_path / "spool")
    inbox = FileInbox(settings, clock=SystemClock(), watch=tmp_path / "watched")
    inbox.pool.open(wait=True)
    try:
        assert inbox.ingester.prune() == 1
    finally:
        inbox.pool.close()
        inbox.spool.unlock()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT key FROM inbox_files").fetchall() == [(b"n" * 32,)]
