"""Schema migrations: plain SQL files applied in order, recorded in ``schema_migrations``.

Files are ``NNNN_name.sql`` (every flavour) or ``NNNN_name.<flavour>.sql`` where flavour is
``timescaledb`` or ``postgres``. The flavour is chosen on the first migration (TimescaleDB
when the server offers the extension, unless the caller asks for one) and kept from then on.

A server that offers TimescaleDB without preloading its library answers
``CREATE EXTENSION timescaledb`` with a FATAL error and drops the connection; that is told
apart beforehand, and migrate stops without changing anything rather than quietly building
a plain-PostgreSQL schema that the database would then keep for good.
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
from psycopg.rows import class_row, scalar_row
from pydantic import Field

from telemetry.catalogue import PARAMETERS
from telemetry.db import TIMESCALEDB, ensure_database, preloaded_libraries
from telemetry.errors import ExtensionNotPreloadedError, MigrationError, MigrationStepError
from telemetry.settings import CommonSettings, add_settings_arguments, settings_from_args

logger = logging.getLogger(__name__)

_LOCK_KEY: Final = 0x41515741  # "AQWA": one migrator at a time


class Flavour(StrEnum):
    """The storage engine the schema was built for."""

    TIMESCALEDB = "timescaledb"
    POSTGRES = "postgres"


@dataclass(frozen=True, slots=True)
class TimescaleState:
    """What the server and the database say about TimescaleDB (one row, read by name)."""

    offered: bool  # the extension's files are installed: in pg_available_extensions
    installed: bool  # CREATE EXTENSION ran in this database
    preload: str | None  # shared_preload_libraries; hidden from roles without the right
    loader: bool  # the preloaded loader's own setting exists, readable by any role
    config_file: str | None

    @property
    def preloaded(self) -> bool:
        """Whether the TimescaleDB library was loaded when the server started."""
        return self.loader or TIMESCALEDB in preloaded_libraries(self.preload or "")


def _timescale_state(conn: psycopg.Connection[tuple[object, ...]]) -> TimescaleState:
    """Ask the server about TimescaleDB without touching the extension itself.

    ``pg_settings`` rather than ``current_setting()``: it leaves out (instead of refusing)
    the settings a role may not read, such as ``shared_preload_libraries``.
    """
    with conn.cursor(row_factory=class_row(TimescaleState)) as cur:
        state = cur.execute(
            "SELECT"
            " EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = %(ext)s) AS offered,"
            " EXISTS (SELECT 1 FROM pg_extension WHERE extname = %(ext)s) AS installed,"
            " (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries')"
            " AS preload,"
            " EXISTS (SELECT 1 FROM pg_settings WHERE name = %(ext)s || '.disable_load')"
            " AS loader,"
            " (SELECT setting FROM pg_settings WHERE name = 'config_file') AS config_file",
            {"ext": TIMESCALEDB},
        ).fetchone()
    assert state is not None  # a SELECT without FROM returns one row
    return state


def choose_flavour(
    *, recorded: Flavour | None, requested: Flavour | None, server: TimescaleState
) -> Flavour:
    """Return the flavour to migrate with: the recorded one, else the requested, else detected.

    Raises:
        MigrationError: The request contradicts the recorded flavour, or asks for TimescaleDB
            where the server does not have it.
    """
    if recorded is not None:
        if requested not in (None, recorded):
            msg = (
                f"this database was built for {recorded} at its first migration and cannot"
                f" become {requested}"
            )
            raise MigrationError(msg)
        return recorded
    if requested is None:
        has_it = server.offered or server.installed
        return Flavour.TIMESCALEDB if has_it else Flavour.POSTGRES
    if requested is Flavour.TIMESCALEDB and not (server.offered or server.installed):
        msg = "--schema-flavour timescaledb: the server does not have the timescaledb extension"
        raise MigrationError(msg)
    return requested


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


def _recorded_flavour(conn: psycopg.Connection[tuple[object, ...]]) -> Flavour | None:
    with conn.cursor(row_factory=scalar_row) as cur:
        if not cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone():
            return None
        flavour = cur.execute("SELECT flavour FROM schema_migrations LIMIT 1").fetchone()
    return Flavour(str(flavour)) if flavour is not None else None


@contextmanager
def _step(conn: psycopg.Connection[tuple[object, ...]], name: str) -> Iterator[None]:
    """Name the step that was running in any database error it raises."""
    try:
        yield
    except psycopg.Error as exc:
        raise MigrationStepError(name, exc, connection_lost=conn.closed) from exc


def migrate(url: str, *, create_database: bool = True, flavour: Flavour | None = None) -> list[str]:
    """Apply the pending migrations and sync the parameter catalogue.

    Args:
        url: The database.
        create_database: Create the database first when it does not exist.
        flavour: The flavour for a database migrated for the first time; by default
            TimescaleDB when the server offers it. A database keeps its first flavour.

    Returns:
        The names of the migrations applied now (empty when the schema was current).

    Raises:
        MigrationError: An applied migration file changed since it was applied, or
            ``flavour`` cannot be had.
        ExtensionNotPreloadedError: TimescaleDB would be created on a server that does not
            preload it (nothing was changed).
        MigrationStepError: The server refused a step or dropped the connection during it.
    """
    if create_database:
        ensure_database(url)
    applied_now = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            recorded = _recorded_flavour(conn)
            server = _timescale_state(conn)
            chosen = choose_flavour(recorded=recorded, requested=flavour, server=server)
            if chosen is Flavour.TIMESCALEDB and not server.installed:
                if not server.preloaded:
                    raise ExtensionNotPreloadedError(
                        preload=server.preload,
                        config_file=server.config_file,
                        can_opt_out=recorded is None,
                    )
                with _step(conn, "CREATE EXTENSION timescaledb"):
                    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            if recorded is None:
                logger.info("building a new schema for %s", chosen.value)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, name text NOT NULL, flavour text NOT NULL,"
                " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                str(v): str(c)
                for v, c in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            for migration in available_migrations():
                if migration.flavour not in (None, chosen):
                    continue
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        msg = f"migration {migration.name} changed after it was applied"
                        raise MigrationError(msg)
                    continue
                with _step(conn, f"migration {migration.name}"):
                    _apply(conn, migration, chosen)
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
    """Return the flavour of the database at ``url``: recorded, else the one migrate would pick."""
    with psycopg.connect(url) as conn:
        recorded = _recorded_flavour(conn)
        return choose_flavour(recorded=recorded, requested=None, server=_timescale_state(conn))


class MigrateSettings(CommonSettings):
    """Settings of ``aquawatch db migrate``."""

    schema_flavour: Flavour | None = Field(
        default=None,
        description="timescaledb or postgres, for a database migrated for the first time"
        " (default: timescaledb when the server offers it); a database keeps its first one",
    )


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(MigrateSettings, args)
    applied = migrate(settings.database_url.get_secret_value(), flavour=settings.schema_flavour)
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch db migrate``."""
    db = subparsers.add_parser("db", help="database administration")
    actions = db.add_subparsers(dest="db_command", required=True)
    cmd = actions.add_parser("migrate", help="apply pending schema migrations (idempotent)")
    add_settings_arguments(cmd, MigrateSettings)
    cmd.set_defaults(handler=_run)
