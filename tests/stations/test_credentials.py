"""Station credentials: issued once, stored as a hash, rotated, revoked, verified."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest

from stations import CredentialError, credentials, load_registry, sync_registry
from telemetry import migrate
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration


@pytest.fixture
def registered(postgres: PostgresServer) -> Iterator[str]:
    """A migrated database holding the built-in registry's stations."""
    with postgres.database() as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            sync_registry(conn, load_registry(), deactivate_missing=True)
        yield url


def test_an_issued_secret_verifies_and_only_its_hash_is_stored(registered: str) -> None:
    with psycopg.connect(registered) as conn:
        secret = credentials.issue(conn, "KG-SR-01")
        assert len(secret) >= 43  # 32 random bytes
        assert credentials.verify(conn, "KG-SR-01", secret)
        assert not credentials.verify(conn, "KG-SR-01", secret + "x")
        assert not credentials.verify(conn, "KG-SR-02", secret)  # another station's login
        assert not credentials.verify(conn, "NO-SUCH", secret)
        stored = conn.execute("SELECT salt, hash FROM station_credentials").fetchall()
        conn.rollback()
    dump = repr(stored).encode() + b"".join(bytes(v) for row in stored for v in row)
    assert secret.encode() not in dump
    assert base64.b64encode(secret.encode()) not in dump


def test_issuing_again_rotates_and_revoking_ends_it(registered: str) -> None:
    with psycopg.connect(registered) as conn:
        first = credentials.issue(conn, "KG-CS-01")
        second = credentials.issue(conn, "KG-CS-01")
        assert first != second
        assert not credentials.verify(conn, "KG-CS-01", first)
        assert credentials.verify(conn, "KG-CS-01", second)
        assert [c.station_id for c in credentials.active(conn)] == ["KG-CS-01"]
        assert credentials.revoke(conn, "KG-CS-01")
        assert not credentials.revoke(conn, "KG-CS-01")  # nothing left to end
        assert not credentials.verify(conn, "KG-CS-01", second)
        assert credentials.active(conn) == []
        third = credentials.issue(conn, "KG-CS-01")  # a new logger for the station
        assert credentials.verify(conn, "KG-CS-01", third)


def test_an_unknown_station_gets_no_secret(registered: str) -> None:
    with psycopg.connect(registered) as conn, pytest.raises(CredentialError, match="NO-SUCH"):
        credentials.issue(conn, "NO-SUCH")


def test_the_command_prints_the_secret_once_and_never_takes_it(registered: str) -> None:
    env = {"AQUAWATCH_DATABASE_URL": registered, "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "telemetry.cli", "--log-level", "WARNING", "stations"]
    issued = subprocess.run(
        [*run, "credentials", "issue", "KG-EF-02"], env=env, capture_output=True, check=True
    )
    station, _, secret = issued.stdout.decode().strip().partition(":")
    assert station == "KG-EF-02"
    with psycopg.connect(registered) as conn:
        assert credentials.verify(conn, "KG-EF-02", secret)
    listed = subprocess.run(
        [*run, "credentials", "list"], env=env, capture_output=True, check=True
    ).stdout.decode()
    assert "KG-EF-02" in listed
    assert secret not in listed
    revoked = subprocess.run(
        [*run, "credentials", "revoke", "KG-EF-02"], env=env, capture_output=True, check=True
    )
    assert b"revoked" in revoked.stdout
    unknown = subprocess.run(
        [*run, "credentials", "issue", "NO-SUCH"], env=env, capture_output=True, check=False
    )
    assert unknown.returncode == 2
    assert b"no station 'NO-SUCH'" in unknown.stderr
