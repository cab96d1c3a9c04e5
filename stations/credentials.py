"""Each station's secret, one identity for MQTT and FTP: issued, rotated, revoked, verified.

A secret is 32 random bytes (43 URL-safe characters), printed once when issued and stored
only as a PBKDF2-SHA512 hash with the salt length and encoding Mosquitto's dynamic-security
plugin uses, so the broker's configuration is written from the table
(:func:`active`) without anyone keeping the secret. A random 256-bit secret cannot be
guessed, so the hash needs no slow work factor; the iterations only match the plugin's form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg.rows import class_row

from stations.errors import CredentialError

SECRET_BYTES: Final = 32
SALT_BYTES: Final = 12  # what Mosquitto's dynamic-security plugin generates and expects
ITERATIONS: Final = 1000
# Verifying an unknown station costs the same work, so timing does not tell which exist.
_DUMMY_SALT: Final = bytes(SALT_BYTES)


@dataclass(frozen=True)
class StoredCredential:
    """A station's active credential as stored: never the secret itself."""

    station_id: str
    salt: bytes
    iterations: int
    hash: bytes
    issued_at: datetime


def hash_secret(secret: str, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    """PBKDF2-HMAC-SHA512 of ``secret``, as Mosquitto's dynamic-security plugin computes it."""
    return hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), salt, iterations)


def new_secret() -> str:
    """A fresh random secret (URL-safe: it fits in MQTT URLs and FTP logins as is)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def issue(conn: psycopg.Connection[Any], station_id: str) -> str:
    """Create or rotate ``station_id``'s secret and return it; the previous one stops working.

    Commits. The caller shows the secret once; only its hash is kept.

    Raises:
        CredentialError: No station with that id is registered.
    """
    secret = new_secret()
    salt = secrets.token_bytes(SALT_BYTES)
    with conn.transaction():
        known = conn.execute("SELECT 1 FROM stations WHERE id = %s", (station_id,)).fetchone()
        if known is None:
            msg = f"no station {station_id!r} in the registry (aquawatch stations sync first)"
            raise CredentialError(msg)
        conn.execute(
            "INSERT INTO station_credentials (station_id, salt, iterations, hash)"
            " VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (station_id) DO UPDATE SET salt = EXCLUDED.salt,"
            " iterations = EXCLUDED.iterations, hash = EXCLUDED.hash,"
            " issued_at = now(), revoked_at = NULL",
            (station_id, salt, ITERATIONS, hash_secret(secret, salt)),
        )
    return secret


def revoke(conn: psycopg.Connection[Any], station_id: str) -> bool:
    """End ``station_id``'s secret (kept, marked revoked); say whether one was active. Commits."""
    with conn.transaction():
        cur = conn.execute(
            "UPDATE station_credentials SET revoked_at = now()"
            " WHERE station_id = %s AND revoked_at IS NULL",
            (station_id,),
        )
    return cur.rowcount > 0


def active(conn: psycopg.Connection[Any]) -> list[StoredCredential]:
    """Every station's active credential, by station id."""
    with conn.cursor(row_factory=class_row(StoredCredential)) as cur:
        return cur.execute(
            "SELECT station_id, salt, iterations, hash, issued_at FROM station_credentials"
            " WHERE revoked_at IS NULL ORDER BY station_id"
        ).fetchall()


def verify(conn: psycopg.Connection[Any], station_id: str, secret: str) -> bool:
    """Whether ``secret`` is ``station_id``'s active secret (False for unknown or revoked)."""
    row = conn.execute(
        "SELECT salt, iterations, hash FROM station_credentials"
        " WHERE station_id = %s AND revoked_at IS NULL",
        (station_id,),
    ).fetchone()
    if row is None:
        hash_secret(secret, _DUMMY_SALT)
        return False
    salt, iterations, stored = row
    return hmac.compare_digest(hash_secret(secret, bytes(salt), iterations), bytes(stored))
