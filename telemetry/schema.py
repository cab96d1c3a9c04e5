"""Schema migrations: plain SQL files applied in order, recorded in ``schema_migrations``.

Files are ``NNNN_name.sql`` (every flavour) or ``NNNN_name.<flavour>.sql`` where flavour is
``timescaledb`` or ``postgres``. The flavour is detected on the first migration (TimescaleDB
when the server offers the extension) and kept from then on.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
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
    """A migration file is inconsistent with what the database recorded."""


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


def migrate(url: str, *, create_database: bool = True) -> list[str]:
    """Apply the pending migrations and sync the parameter catalogue.

    Returns:
        The names of the migrations applied now (empty when the schema was current).

    Raises:
        MigrationError: An applied migration file changed since it was applied.
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
                _apply(conn, migration, flavour)
                applied_now.append(migration.name)
            _sync_parameters(conn)
        finally:
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
