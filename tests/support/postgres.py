"""Fresh PostgreSQL databases: on a private throwaway cluster, or AQUAWATCH_TEST_ADMIN_URL."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.support.common import unavailable
from tests.support.network import free_port


class PostgresServer:
    """A reachable PostgreSQL server where tests may create databases."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    @contextmanager
    def database(self) -> Iterator[str]:
        """Create an empty database for one test and drop it afterwards."""
        name = f"aw_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_conninfo(self.admin_url, dbname=name)
        finally:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL server binaries, if installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PrivateCluster:
    """A throwaway PostgreSQL cluster (trust auth, no fsync) on a free port.

    Tests get their own server whatever the machine's cluster allows; run as root it runs
    as the ``postgres`` system user, since PostgreSQL refuses to run as root.

    Args:
        bindir: The server binaries.
        settings: Extra server settings (``-c name=value``), e.g. shared_preload_libraries.
    """

    def __init__(self, bindir: Path, *, settings: Mapping[str, str] | None = None) -> None:
        self.bindir = bindir
        self.settings = dict(settings or {})
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="aw-pg-"))
        self.data = self.dir / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        """Create and start the cluster; return its admin URL."""
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.dir} -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=200"
        ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        """Stop the server (clients are disconnected) and start it again, its data kept."""
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def stop(self) -> None:
        """Stop the cluster and remove it."""
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def find_postgres(cleanup: list[Callable[[], None]]) -> PostgresServer:
    """Return the test server: AQUAWATCH_TEST_ADMIN_URL, else a private cluster.

    Args:
        cleanup: Receives what must run at the end of the session.
    """
    url = os.environ.get("AQUAWATCH_TEST_ADMIN_URL")
    if url is None:
        bindir = postgres_bindir()
        if bindir is None:
            unavailable("PostgreSQL server binaries (Debian package postgresql)")
        cluster = PrivateCluster(bindir)
        cleanup.append(cluster.stop)
        url = cluster.start()
    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL at {url}: {exc}")
    return PostgresServer(url)


def count(url: str, query: str) -> int:
    """Run a counting query."""
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0
