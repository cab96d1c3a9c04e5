"""Password logins, throttled with growing waits rather than a lockout anyone could cause.

Failed attempts are counted over a window three ways: for one user name from one client, for
one client whatever the name, and for one user name from every client. Past
``max_failures`` of the first two (``max_failures_per_name`` of the third), each further
attempt must wait 1 s, 2 s, 4 s ... (at most ``max_delay_s``) after the last one; an attempt
made sooner is refused at once (429 with ``Retry-After``) without looking at the password and
counts as a failure too. Nothing sleeps on the server.

An attacker guessing an officer's password from one address slows only that address: the
officer logging in from another is held back by the per-name count alone, which is far
higher, and not even by that from a client that has logged in as the officer before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row

from viz.api.auth import Passwords
from viz.api.problems import AuthenticationError, TooManyAttemptsError

__all__ = ["LoginLimits", "login", "wait_s"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginLimits:
    """How logins are throttled (see the module docstring)."""

    max_failures: int
    max_failures_per_name: int
    window_s: int
    max_delay_s: int
    known_client_days: int


@dataclass(frozen=True, slots=True)
class _Login:
    password_hash: str
    active: bool
    token_version: int


@dataclass(frozen=True, slots=True)
class _Failures:
    pair: int
    pair_age_s: float | None
    by_client: int
    client_age_s: float | None
    by_name: int
    name_age_s: float | None
    known: bool


def wait_s(failures: int, age_s: float | None, *, free: int, max_delay_s: int) -> float:
    """How much longer the next attempt must wait.

    Args:
        failures: Failures counted in the window.
        age_s: Seconds since the last of them (None: none).
        free: Failures allowed before any wait.
        max_delay_s: The longest wait.
    """
    if failures < free or age_s is None:
        return 0.0
    delay = min(float(max_delay_s), 2.0 ** min(failures - free, 32))
    return max(0.0, delay - age_s)


def login(
    conn: psycopg.Connection[Any],
    username: str,
    password: str,
    *,
    client: str,
    passwords: Passwords,
    limits: LoginLimits,
) -> int:
    """Check a password under the throttle; a success clears this client's failures for the name.

    Returns:
        The account's token version, for the token to name.

    Raises:
        TooManyAttemptsError: The attempt came before its wait was over.
        AuthenticationError: Wrong name or password, or the account is inactive.
    """
    # One attempt per user name at a time, so parallel guesses all count against the limit.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('login:' || %s))", (username,))
    wait = _wait(conn, username, client=client, limits=limits)
    if wait > 0:
        _fail(conn, username, client=client, window_s=limits.window_s)
        retry_after = math.ceil(wait)
        msg = f"too many failed logins; try again in {retry_after} s"
        raise TooManyAttemptsError(msg, retry_after=retry_after)
    with conn.cursor(row_factory=class_row(_Login)) as cur:
        found = cur.execute(
            "SELECT password_hash, active, token_version FROM users WHERE username = %s",
            (username,),
        ).fetchone()
    # An unknown name costs the same argon2 work, so timing does not tell which names exist.
    matches = passwords.verify(found.password_hash if found else passwords.dummy, password)
    if found is None or not matches or not found.active:
        _fail(conn, username, client=client, window_s=limits.window_s)
        msg = "wrong user name or password"
        raise AuthenticationError(msg)
    conn.execute(
        "DELETE FROM login_failures WHERE username = %s AND client = %s", (username, client)
    )
    conn.execute(
        "INSERT INTO login_clients (username, client) VALUES (%s, %s)"
        " ON CONFLICT (username, client) DO UPDATE SET last_success = now()",
        (username, client),
    )
    return found.token_version


def _wait(
    conn: psycopg.Connection[Any], username: str, *, client: str, limits: LoginLimits
) -> float:
    with conn.cursor(row_factory=class_row(_Failures)) as cur:
        failures = cur.execute(
            "SELECT count(*) FILTER (WHERE username = %(u)s AND client = %(c)s) AS pair,"
            " extract(epoch FROM now() - max(at) FILTER (WHERE username = %(u)s"
            "  AND client = %(c)s))::float8 AS pair_age_s,"
            " count(*) FILTER (WHERE client = %(c)s) AS by_client,"
            " extract(epoch FROM now() - max(at) FILTER (WHERE client = %(c)s))::float8"
            "  AS client_age_s,"
            " count(*) FILTER (WHERE username = %(u)s) AS by_name,"
            " extract(epoch FROM now() - max(at) FILTER (WHERE username = %(u)s))::float8"
            "  AS name_age_s,"
            " EXISTS (SELECT FROM login_clients WHERE username = %(u)s AND client = %(c)s"
            "  AND last_success > now() - make_interval(days => %(k)s)) AS known"
            " FROM login_failures WHERE at > now() - make_interval(secs => %(w)s)"
            " AND (username = %(u)s OR client = %(c)s)",
            {"u": username, "c": client, "w": limits.window_s, "k": limits.known_client_days},
        ).fetchone()
    assert failures is not None
    cap, free = limits.max_delay_s, limits.max_failures
    waits = [
        wait_s(failures.pair, failures.pair_age_s, free=free, max_delay_s=cap),
        wait_s(failures.by_client, failures.client_age_s, free=free, max_delay_s=cap),
    ]
    if not failures.known:
        free = limits.max_failures_per_name
        waits.append(wait_s(failures.by_name, failures.name_age_s, free=free, max_delay_s=cap))
    return max(waits)


def _fail(conn: psycopg.Connection[Any], username: str, *, client: str, window_s: int) -> None:
    expired = "DELETE FROM login_failures WHERE at <= now() - make_interval(secs => %s)"
    conn.execute(expired, (window_s,))
    conn.execute(
        "INSERT INTO login_failures (username, client) VALUES (%s, %s)", (username, client)
    )
    conn.commit()  # kept although the request fails
