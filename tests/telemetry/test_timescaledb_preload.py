"""``aquawatch db migrate`` on a server that offers TimescaleDB without preloading it.

TimescaleDB is not packaged here, so the server is a private copy of the machine's PostgreSQL
with a fake ``timescaledb`` extension whose script ends its own session, as the real
``FATAL: extension "timescaledb" must be preloaded`` does (tests/support/timescaledb.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from telemetry import Flavour, current_flavour
from tests.support.postgres import PostgresServer, PrivateCluster
from tests.support.timescaledb import postgres_with_fake_timescaledb

pytestmark = pytest.mark.integration

# What the fake's script makes the server log; absent, CREATE EXTENSION never ran.
SESSION_ENDED = "terminating connection due to administrator command"


@pytest.fixture(scope="session")
def fake_timescaledb_bindir() -> Iterator[Path]:
    """The copied server binaries, built once per session."""
    root = Path(tempfile.mkdtemp(prefix="aw-pg-fake-tsdb-"))
    root.chmod(0o755)  # the clusters run as the postgres user when the tests run as root
    try:
        yield postgres_with_fake_timescaledb(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def cluster(bindir: Path, **settings: str) -> Iterator[PrivateCluster]:
    instance = PrivateCluster(bindir, settings=settings)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def not_preloaded(fake_timescaledb_bindir: Path) -> Iterator[PrivateCluster]:
    """A server offering timescaledb with an empty shared_preload_libraries."""
    with cluster(fake_timescaledb_bindir) as instance:
        yield instance


def database(instance: PrivateCluster) -> PostgresServer:
    return PostgresServer(f"postgresql://postgres@127.0.0.1:{instance.port}/postgres")


def aquawatch_db_migrate(url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AQUAWATCH_")}
    env["AQUAWATCH_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "telemetry.cli", "db", "migrate", *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def leftovers(url: str) -> tuple[list[str], list[str]]:
    """The tables in the public schema and the extensions created in the database."""
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        extensions = conn.execute("SELECT extname FROM pg_extension ORDER BY 1").fetchall()
    return [str(t) for (t,) in tables], [str(e) for (e,) in extensions]


def test_migrate_stops_with_the_fix_before_touching_anything(
    not_preloaded: PrivateCluster,
) -> None:
    with database(not_preloaded).database() as url:
        with psycopg.connect(url) as conn:
            offered = conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
            ).fetchone()
        assert offered == ("2.28.3",), "the copied server does not see the fake extension"

        done = aquawatch_db_migrate(url)

        assert done.returncode == 2, done.stdout + done.stderr
        config = not_preloaded.data / "postgresql.conf"
        for expected in (
            "aquawatch db: the PostgreSQL server offers the timescaledb extension but does not"
            " preload its library",
            f"in {config} set shared_preload_libraries = 'timescaledb'",
            "timescaledb-tune",
            "restart PostgreSQL",
            "aquawatch db migrate --schema-flavour postgres",
        ):
            assert expected in done.stderr
        assert "connection is closed" not in done.stderr
        assert leftovers(url) == ([], ["plpgsql"])
        assert SESSION_ENDED not in (not_preloaded.dir / "log").read_text()


def test_opting_out_builds_plain_postgres_and_later_runs_keep_it(
    not_preloaded: PrivateCluster,
) -> None:
    with database(not_preloaded).database() as url:
        chosen = aquawatch_db_migrate(url, "--schema-flavour", "postgres")
        again = aquawatch_db_migrate(url)  # as `aquawatch up` and the workers migrate

        assert chosen.returncode == 0, chosen.stderr
        assert chosen.stdout.startswith("applied: 0001_core, 0002_readings")
        assert (again.returncode, again.stdout) == (0, "schema is up to date\n"), again.stderr
        assert current_flavour(url) is Flavour.POSTGRES
        tables, extensions = leftovers(url)
        assert "readings" in tables
        assert extensions == ["plpgsql"]


def test_a_fatal_during_create_extension_names_the_step_and_keeps_the_servers_words(
    fake_timescaledb_bindir: Path,
) -> None:
    # Preloaded (the fake's library is a harmless stand-in), so migrate goes on to
    # CREATE EXTENSION, whose script ends the session with a FATAL.
    with (
        cluster(fake_timescaledb_bindir, shared_preload_libraries="timescaledb") as preloaded,
        database(preloaded).database() as url,
    ):
        done = aquawatch_db_migrate(url)

        assert done.returncode == 2, done.stdout + done.stderr
        assert (
            "aquawatch db: CREATE EXTENSION timescaledb failed and the server closed the"
            f" connection: FATAL 57P01: {SESSION_ENDED}"
        ) in done.stderr
        assert "connection is closed" not in done.stderr
        assert leftovers(url) == ([], ["plpgsql"])
