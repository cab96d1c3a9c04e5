"""Schema migrations: plain SQL files applied in order, recorded in ``schema_migrations``.

Files are ``NNNN_name.sql`` (every flavour) or ``NNNN_name.<flavour>.sql`` where flavour is
``timescaledb`` or ``postgres``. The flavour is detected on the first migration (TimescaleDB
when the server offers the extension) and kept from then on.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Final

import psycopg
from psycopg import sql

from telemetry.catalogue import PARAMETERS
from telemetry.db import ensure_database
from telemetry.errors import AquaWatchError
from telemetry.settings import CommonSettings, add_settings_arguments, settings_from_args

logger = logging.getLogger(__name__)

_LOCK_KEY: Final = 0x41515741  # "AQWA": one migrator at a time


class Flavour(StrEnum):
    """The storage engine the schema was built for."""

    TIMESCALEDB = "timescaledb"
    POSTGRES = "postgres"


class MigrationError(AquaWatchError):
    """The schema cannot be brought up to date."""


class MigrationStepError(MigrationError):
    """The server refused one step of a migration, or dropped the connection during it.

    Attributes:
        step: What was running, e.g. ``CREATE EXTENSION timescaledb`` or ``migration 0003_alerts``.
        server_message: The server's own message (and hint), when the server sent one.
        connection_lost: The server closed the connection (a FATAL error, a crash).
    """

    def __init__(self, step: str, cause: psycopg.Error, *, connection_lost: bool) -> None:
        diag = cause.diag
        server = diag.message_primary
        if server and diag.message_hint:
            server = f"{server} (hint: {diag.message_hint})"
        if server and cause.sqlstate:
            server = f"{diag.severity_nonlocalized or 'ERROR'} {cause.sqlstate}: {server}"
        lost = " and the server closed the connection" if connection_lost else ""
        msg = f"{step} failed{lost}: {server or cause}"
        super().__init__(msg)
        self.step = step
        self.server_message = server
        self.connection_lost = connection_lost


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file."""

    version: str
    name: str
    flavour: Flavour | None
    text: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file, to notice a file edited after it was applied."""
        return hashlib.sha256(self.text.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """Return every shipped migration, in order."""
    found = []
    for entry in resources.files("telemetry.migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        stem = entry.name.removesuffix(".sql")
        base, _, flavour = stem.partition(".")
        version = base.split("_", 1)[0]
        found.append(
            Migration(
                version, base, Flavour(flavour) if flavour else None, entry.read_text("utf-8")
            )
        )
    return sorted(found, key=lambda m: (m.version, m.flavour is not None))


def detect_flavour(conn: psycopg.Connection[tuple[object, ...]]) -> Flavour:
    """Return the recorded flavour, or TimescaleDB when the server offers the extension."""
    row = conn.execute("SELECT flavour FROM schema_migrations LIMIT 1").fetchone()
    if row is not None:
        return Flavour(str(row[0]))
    offered = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return Flavour.TIMESCALEDB if offered else Flavour.POSTGRES


@contextmanager
def _step(conn: psycopg.Connection[tuple[object, ...]], name: str) -> Iterator[None]:
    """Name the step that was running in any database error it raises."""
    try:
        yield
    except psycopg.Error as exc:
        raise MigrationStepError(name, exc, connection_lost=conn.closed) from exc


def migrate(url: str, *, create_database: bool = True) -> list[str]:
    """Apply the pending migrations and sync the parameter catalogue.

    Returns:
        The names of the migrations applied now (empty when the schema was current).

    Raises:
        MigrationError: An applied migration file changed since it was applied.
        MigrationStepError: The server refused a step or dropped the connection during it.
    """
    if create_database:
        ensure_database(url)
    applied_now = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, name text NOT NULL, flavour text NOT NULL,"
                " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            flavour = detect_flavour(conn)
            if flavour is Flavour.TIMESCALEDB:
                with _step(conn, "CREATE EXTENSION timescaledb"):
                    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            done = {
                str(v): str(c)
                for v, c in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            for migration in available_migrations():
                if migration.flavour not in (None, flavour):
                    continue
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        msg = f"migration {migration.name} changed after it was applied"
                        raise MigrationError(msg)
                    continue
                with _step(conn, f"migration {migration.name}"):
                    _apply(conn, migration, flavour)
                applied_now.append(migration.name)
            with _step(conn, "syncing the parameter catalogue"):
                _sync_parameters(conn)
        finally:
            # A closed session took its lock with it; unlocking would only hide the real error.
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


def _apply(
    conn: psycopg.Connection[tuple[object, ...]], migration: Migration, flavour: Flavour
) -> None:
    logger.info("applying migration %s (%s)", migration.name, flavour.value)
    with conn.transaction():
        conn.execute(sql.SQL(migration.text))  # a shipped file, not user input
        conn.execute(
            "INSERT INTO schema_migrations (version, name, flavour, checksum)"
            " VALUES (%s, %s, %s, %s)",
            (migration.version, migration.name, flavour.value, migration.checksum),
        )


def _sync_parameters(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    params = list(PARAMETERS.values())
    conn.execute(
        "INSERT INTO parameters (id, code, unit, name_vi, name_en)"
        " SELECT * FROM unnest(%s::smallint[], %s::text[], %s::text[], %s::text[], %s::text[])"
        " ON CONFLICT (id) DO UPDATE SET code = excluded.code, unit = excluded.unit,"
        " name_vi = excluded.name_vi, name_en = excluded.name_en",
        (
            [p.id for p in params],
            [p.code for p in params],
            [p.unit for p in params],
            [p.name_vi for p in params],
            [p.name_en for p in params],
        ),
    )


def current_flavour(url: str) -> Flavour:
    """Return the flavour recorded by the migrations of the database at ``url``."""
    with psycopg.connect(url) as conn:
        return detect_flavour(conn)


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(CommonSettings, args)
    applied = migrate(settings.database_url.get_secret_value())
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch db migrate``."""
    db = subparsers.add_parser("db", help="database administration")
    actions = db.add_subparsers(dest="db_command", required=True)
    cmd = actions.add_parser("migrate", help="apply pending schema migrations (idempotent)")
    add_settings_arguments(cmd, CommonSettings)
    cmd.set_defaults(handler=_run)
