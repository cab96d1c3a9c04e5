"""The local services of ``aquawatch up``: PostgreSQL from the wheel, a private Mosquitto."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ingest import shipped_broker_config
from stack import (
    EmbeddedPostgres,
    PrivateMosquitto,
    StackError,
    port_open,
    private_dir,
)
from telemetry import migrate
from tests.support.postgres import count

pytestmark = pytest.mark.integration


@pytest.fixture
def state() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="aw-state-"))
    folder.chmod(0o755)  # the embedded server's own user must reach its data folder
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_embedded_postgres_starts_migrates_and_restarts_with_its_data(state: Path) -> None:
    server = EmbeddedPostgres(state)
    url = server.start()
    try:
        migrate(url)
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO readings (time, station_id, parameter_id, value)"
                " VALUES (now(), 'KG-SR-01', 3, 4.2)"
            )
        server.stop()
        assert server.start() == url
        assert count(url, "SELECT count(*) FROM readings") == 1
        version = count(url, "SELECT current_setting('server_version_num')::int")
        assert version >= 170000  # the wheel's own PostgreSQL, not the machine's
    finally:
        server.stop()


def test_private_dir_refuses_a_planted_link_and_is_not_world_writable(state: Path) -> None:
    target = state / "elsewhere"
    target.mkdir()
    (state / "broker").symlink_to(target)
    with pytest.raises(StackError, match="must be a folder"):
        private_dir(state / "broker")
    made = private_dir(state / "open", mode=0o700)
    made.chmod(0o777)  # someone loosened it; the next start tightens it again
    assert stat.S_IMODE(private_dir(made).stat().st_mode) == 0o700


def test_private_mosquitto_keeps_its_folder_to_itself_and_stops(state: Path) -> None:
    config = state / "mosquitto" / "mosquitto.conf"
    config.parent.mkdir(mode=0o700)
    planted = state / "planted.txt"
    planted.write_text("keep me")
    config.symlink_to(planted)  # writing the configuration must not follow it
    broker = PrivateMosquitto(state / "mosquitto", shipped_broker_config())
    broker.start()
    try:
        assert port_open("127.0.0.1", broker.port)
        assert planted.read_text() == "keep me"
        info = (state / "mosquitto").stat()
        assert stat.S_IMODE(info.st_mode) == 0o700
        if os.geteuid() == 0:  # Mosquitto drops to its own user, which owns the folder
            assert info.st_uid == pwd.getpwnam("mosquitto").pw_uid
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
    finally:
        broker.stop()
    assert not port_open("127.0.0.1", broker.port)
