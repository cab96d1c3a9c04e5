"""TimescaleDB for tests: the WASM build (PGlite), and a PostgreSQL with a fake extension."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.common import unavailable, wait_for
from tests.support.postgres import postgres_bindir

FAKE_TIMESCALEDB_VERSION = "2.28.3"
FAKE_TIMESCALEDB_SCRIPT = """\
-- A stand-in for TimescaleDB whose library is not preloaded: the real one answers
-- CREATE EXTENSION with FATAL: extension "timescaledb" must be preloaded, and the server
-- closes the connection. Ending its own backend is how SQL alone gets the same: a FATAL
-- (57P01), then a closed connection.
SELECT pg_terminate_backend(pg_backend_pid());
"""


def _pg_config(pg_config: Path, flag: str) -> Path:
    result = subprocess.run([str(pg_config), flag], check=True, capture_output=True, text=True)
    return Path(result.stdout.strip())


def postgres_with_fake_timescaledb(root: Path) -> Path:
    """Copy the machine's PostgreSQL server under ``root`` and give it a fake ``timescaledb``.

    Debian's PostgreSQL finds its share and library directories relative to its own binaries,
    so the copy (``root/usr/lib/postgresql/NN``, ``root/usr/share/postgresql/NN``) is a server
    whose extensions a test may change. It offers ``timescaledb`` (a control file and a script
    that ends its own session the way the real FATAL does), and a ``timescaledb`` library (a
    copy of the harmless ``passwordcheck`` module) for clusters that preload it. ``root`` must
    be readable by the user the clusters run as.

    Returns:
        The copy's bin directory, for :class:`PrivateCluster`.
    """
    bindir = postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries (Debian package postgresql)")
    pg_config = bindir / "pg_config"
    if not pg_config.exists():
        unavailable(f"{pg_config} (Debian package postgresql-client)")
    original = {flag: _pg_config(pg_config, flag) for flag in ("--sharedir", "--pkglibdir")}
    for tree in (bindir.parent, original["--sharedir"]):
        shutil.copytree(tree, root / tree.relative_to("/"), symlinks=True)
    copy = root / bindir.relative_to("/")
    for flag, path in original.items():
        found = _pg_config(copy / "pg_config", flag)
        if found != root / path.relative_to("/"):
            unavailable(f"a relocatable PostgreSQL build (the copy's {flag} is {found})")
    extension = root / original["--sharedir"].relative_to("/") / "extension"
    (extension / "timescaledb.control").write_text(
        "comment = 'fake TimescaleDB for AquaWatch tests'\n"
        f"default_version = '{FAKE_TIMESCALEDB_VERSION}'\n"
        "relocatable = false\n"
    )
    (extension / f"timescaledb--{FAKE_TIMESCALEDB_VERSION}.sql").write_text(FAKE_TIMESCALEDB_SCRIPT)
    libdir = root / original["--pkglibdir"].relative_to("/")
    shutil.copy(libdir / "passwordcheck.so", libdir / "timescaledb.so")
    return copy


class TimescaleServer:
    """PostgreSQL 17 + TimescaleDB 2.23 built to WASM (PGlite), served over the wire protocol.

    Proves the TimescaleDB DDL and queries; one connection at a time, no COPY FROM STDIN.
    ``tests/run`` installs it from ``tests/timescaledb/package-lock.json``.
    """

    def __init__(self) -> None:
        self.folder = Path(__file__).resolve().parents[1] / "timescaledb"
        node = shutil.which("node")
        installed = self.folder / "node_modules" / "@unni-craftsman" / "pglite"
        if node is None or not installed.exists():
            unavailable("Node.js and `npm ci` in tests/timescaledb (tests/run does both)")
        self.node = str(node)
        self.log = Path(tempfile.mkstemp(prefix="aw-tsdb-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        """Start on a free port; return a URL for psycopg."""
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [self.node, "server.mjs", "0"], cwd=self.folder, stdout=log, stderr=log
            )
        line = wait_for(
            lambda: (
                next((x for x in self.log.read_text().splitlines() if x.startswith("READY")), None)
                or self.process is None
                or self.process.poll() is not None
            ),
            timeout=60,
            what="the TimescaleDB WASM server",
        )
        if not isinstance(line, str):
            pytest.fail(f"TimescaleDB WASM server failed:\n{self.log.read_text()}")
        self.url = f"postgresql://postgres:x@127.0.0.1:{line.split()[1]}/postgres?sslmode=disable"
        return self.url

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
