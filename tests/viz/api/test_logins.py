"""Logins: failures slow down the guesser, never lock out the owner; only proxies may forward.

Clients are told apart by address. A server trusting 127.0.0.1 as its proxy lets one test
play many clients through ``X-Forwarded-For``; a server trusting nobody shows that the same
header from anyone else changes nothing.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest
from starlette.requests import Request

from tests.viz.conftest import PASSWORD, Api, another_server
from viz.api.clients import client_address, parse_networks
from viz.api.queries.logins import wait_s

TOKEN = "/api/v1/auth/token"
ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.7"


def forget_logins(api: Api) -> None:
    """Each test starts with no failures and no known clients."""
    with psycopg.connect(api.database_url) as conn:
        conn.execute("DELETE FROM login_failures")
        conn.execute("DELETE FROM login_clients")


def attempt(
    client: httpx.Client, password: str, *, via: str, user: str = "officer"
) -> httpx.Response:
    body = {"username": user, "password": password}
    return client.post(TOKEN, json=body, headers={"X-Forwarded-For": via})


@pytest.mark.parametrize(
    ("failures", "age_s", "expected"),
    [
        (0, None, 0.0),
        (4, 0.0, 0.0),  # under the limit of 5
        (5, 0.0, 1.0),
        (6, 0.5, 1.5),
        (8, 0.0, 8.0),
        (8, 9.0, 0.0),  # waited long enough
        (20, 0.0, 300.0),  # capped
        (10_000, 10.0, 290.0),
    ],
)
def test_each_failure_past_the_limit_doubles_the_wait(
    failures: int, age_s: float | None, expected: float
) -> None:
    assert wait_s(failures, age_s, free=5, max_delay_s=300) == expected


def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 50000), "headers": headers})


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "client"),
    [
        ("", "192.0.2.1", ("10.9.9.9",), "192.0.2.1"),  # nobody trusted: the header is ignored
        ("10.0.0.1", "192.0.2.1", ("10.9.9.9",), "192.0.2.1"),  # the peer is no proxy
        ("10.0.0.1", "10.0.0.1", (), "10.0.0.1"),
        ("10.0.0.1", "10.0.0.1", ("192.0.2.7",), "192.0.2.7"),
        # The client wrote the left part itself: only the proxy's own hop is believed.
        ("10.0.0.1", "10.0.0.1", ("6.6.6.6, 192.0.2.7",), "192.0.2.7"),
        ("10.0.0.0/8", "10.0.0.1", ("6.6.6.6, 192.0.2.7, 10.2.0.1",), "192.0.2.7"),
        ("10.0.0.0/8", "10.0.0.1", ("6.6.6.6", "192.0.2.7"), "192.0.2.7"),  # two headers
        ("10.0.0.0/8, ::1", "::1", ("10.0.0.5, 10.0.0.6",), "10.0.0.5"),  # all proxies
        ("10.0.0.0/8", "10.0.0.1", ("not-an-address",), "10.0.0.1"),
        ("10.0.0.0/8", "10.0.0.1", ("192.0.2.7, bogus, 10.0.0.3",), "10.0.0.3"),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_wrote(
    proxies: str, peer: str, forwarded: tuple[str, ...], client: str
) -> None:
    assert client_address(_request(peer, *forwarded), parse_networks(proxies)) == client


def test_an_attackers_failures_slow_only_the_attacker(api: Api) -> None:
    forget_logins(api)
    with (
        another_server(api, trusted_proxies="127.0.0.1", login_max_failures=5) as (base, _),
        httpx.Client(base_url=base) as client,
    ):
        guesses = [attempt(client, f"guess-{n}", via=ATTACKER) for n in range(50)]
        right_but_throttled = attempt(client, PASSWORD, via=ATTACKER)
        officer = attempt(client, PASSWORD, via=OFFICE)
    assert [r.status_code for r in guesses] == [401] * 5 + [429] * 45
    waits = [int(r.headers["retry-after"]) for r in guesses[5:]]
    assert waits[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert set(waits[10:]) == {300}
    assert right_but_throttled.status_code == 429  # the password was not even checked
    assert officer.status_code == 200, officer.text


def test_guesses_spread_over_many_clients_spare_a_client_known_to_the_account(api: Api) -> None:
    forget_logins(api)
    settings = {"trusted_proxies": "127.0.0.0/8", "login_max_failures_per_name": 10}
    with (
        another_server(api, **settings) as (base, _),
        httpx.Client(base_url=base) as client,
    ):
        assert attempt(client, PASSWORD, via=OFFICE).status_code == 200  # a known client now
        spread = [attempt(client, "guess", via=f"203.0.113.{n}") for n in range(1, 13)]
        stranger = attempt(client, PASSWORD, via="192.0.2.50")
        known = attempt(client, PASSWORD, via=OFFICE)
    assert [r.status_code for r in spread] == [401] * 10 + [429] * 2
    assert stranger.status_code == 429  # a name under attack: new clients wait
    assert known.status_code == 200


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(api: Api) -> None:
    forget_logins(api)
    with (
        another_server(api, login_max_failures=3) as (base, _),
        httpx.Client(base_url=base) as client,
    ):
        # Each guess claims to come from somewhere else; all come from 127.0.0.1.
        guesses = [attempt(client, "guess", via=f"10.0.0.{n}") for n in range(1, 5)]
    assert [r.status_code for r in guesses] == [401, 401, 401, 429]
    with psycopg.connect(api.database_url) as conn:
        clients = conn.execute("SELECT DISTINCT client FROM login_failures").fetchall()
    assert clients == [("127.0.0.1",)]
    forget_logins(api)
