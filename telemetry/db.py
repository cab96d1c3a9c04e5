"""Database access: connections and pools built by ``main()``, never at import time."""

from __future__ import annotations

import logging
from typing import Final

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)

TIMESCALEDB: Final = "timescaledb"  # the extension and its preloaded loader library


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """Open one connection (the caller closes it)."""
    return psycopg.connect(url, autocommit=autocommit)


def create_pool(url: str, *, size: int, name: str) -> ConnectionPool:
    """Build a pool of ``size`` connections, not yet open.

    Its owner opens it when it starts (``pool.open()``; connections are made in the
    background and remade after failures) and closes it on shutdown.
    """
    return ConnectionPool(url, min_size=size, max_size=size, name=name, open=False)


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` when it does not exist yet.

    Asks the server's ``postgres`` database, so an absent database is told apart from an
    unreachable server without reading error texts.

    Returns:
        True if the database was created.
    """
    dbname = conninfo_to_dict(url).get("dbname")
    if not dbname or dbname == "postgres":
        return False
    admin = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(dbname))))
    logger.info("created database %s", dbname)
    return True


def preloaded_libraries(preload: str) -> list[str]:
    """Library names in a ``shared_preload_libraries`` value (quotes, paths, ``.so`` gone)."""
    names = (entry.strip().strip('"') for entry in preload.split(","))
    return [name.rsplit("/", 1)[-1].removesuffix(".so") for name in names if name]
