"""Choosing the schema flavour, and telling a preloaded TimescaleDB library apart (pure logic)."""

from __future__ import annotations

import pytest

from telemetry import ExtensionNotPreloadedError, Flavour, MigrationError
from telemetry.schema import TimescaleState, choose_flavour

TS, PG = Flavour.TIMESCALEDB, Flavour.POSTGRES


def server(*, offered: bool = True, installed: bool = False) -> TimescaleState:
    return TimescaleState(
        offered=offered, installed=installed, preload="", loader=False, config_file=None
    )


@pytest.mark.parametrize(
    ("preload", "loader", "preloaded"),
    [
        ("", False, False),
        ("timescaledb", False, True),
        ("pg_stat_statements, timescaledb", False, True),
        ('"timescaledb"', False, True),  # ALTER SYSTEM quotes list entries
        ("$libdir/timescaledb.so", False, True),
        ("pg_stat_statements", False, False),
        ("timescaledb_toolkit", False, False),
        (None, False, False),  # a role that may not read shared_preload_libraries...
        (None, True, True),  # ...still sees the setting the loaded library defines
    ],
)
def test_preloaded(preload: str | None, loader: bool, preloaded: bool) -> None:
    state = TimescaleState(
        offered=True, installed=False, preload=preload, loader=loader, config_file=None
    )
    assert state.preloaded is preloaded


@pytest.mark.parametrize(
    ("recorded", "requested", "state", "chosen"),
    [
        (None, None, server(), TS),
        (None, None, server(offered=False), PG),
        (None, None, server(offered=False, installed=True), TS),
        (None, PG, server(), PG),  # the opt-out
        (None, TS, server(), TS),
        (PG, None, server(), PG),  # a database keeps its first flavour...
        (TS, None, server(offered=False), TS),
        (PG, PG, server(), PG),
    ],
)
def test_choose_flavour(
    recorded: Flavour | None, requested: Flavour | None, state: TimescaleState, chosen: Flavour
) -> None:
    assert choose_flavour(recorded=recorded, requested=requested, server=state) is chosen


@pytest.mark.parametrize(
    ("recorded", "requested", "state", "message"),
    [
        (PG, TS, server(), "built for postgres at its first migration and cannot become"),
        (TS, PG, server(), "built for timescaledb at its first migration and cannot become"),
        (None, TS, server(offered=False), "the server does not have the timescaledb extension"),
    ],
)
def test_impossible_flavour_is_refused(
    recorded: Flavour | None, requested: Flavour, state: TimescaleState, message: str
) -> None:
    with pytest.raises(MigrationError, match=message):
        choose_flavour(recorded=recorded, requested=requested, server=state)


@pytest.mark.parametrize(
    ("preload", "config_file", "fix"),
    [
        (
            "",
            "/etc/postgresql/15/main/postgresql.conf",
            "in /etc/postgresql/15/main/postgresql.conf"
            " set shared_preload_libraries = 'timescaledb'",
        ),
        (
            "pg_stat_statements",
            None,
            "in postgresql.conf set shared_preload_libraries = 'pg_stat_statements,timescaledb'",
        ),
        (
            None,
            None,
            "in postgresql.conf add timescaledb to shared_preload_libraries, e.g."
            " shared_preload_libraries = 'timescaledb'",
        ),
    ],
)
def test_not_preloaded_message_tells_the_fix(
    preload: str | None, config_file: str | None, fix: str
) -> None:
    error = ExtensionNotPreloadedError(preload=preload, config_file=config_file, can_opt_out=True)
    assert fix in str(error)
    assert "timescaledb-tune" in str(error)
    assert "restart PostgreSQL" in str(error)
    assert "aquawatch db migrate --schema-flavour postgres" in str(error)


def test_no_opt_out_offered_once_the_flavour_is_recorded() -> None:
    error = ExtensionNotPreloadedError(preload="", config_file=None, can_opt_out=False)
    assert "--schema-flavour" not in str(error)
