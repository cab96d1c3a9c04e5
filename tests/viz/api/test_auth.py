"""Login tokens are dated and expire by the service's clock, not the machine's."""

from __future__ import annotations

import jwt
import pytest

from telemetry import FixedClock
from tests.support.times import local_time
from viz.api.auth import Tokens, TokenSubject
from viz.api.problems import AuthenticationError

SECRET = b"test-secret-of-at-least-32-bytes!"


def test_a_token_lasts_its_lifetime_by_the_services_clock() -> None:
    clock = FixedClock(local_time("04:57"))  # days before the machine's time
    tokens = Tokens(SECRET, lifetime_s=3600, clock=clock)
    token = tokens.issue("officer", version=3)
    assert jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False}) == {
        "sub": "officer",
        "ver": 3,
        "iat": int(clock.time()),
        "exp": int(clock.time()) + 3600,
    }
    clock.advance(3599)
    assert tokens.subject(token) == TokenSubject("officer", 3)
    clock.advance(1)
    with pytest.raises(AuthenticationError, match="expired"):
        tokens.subject(token)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "officer", "ver": 0},  # no expiry
        {"sub": "officer", "ver": 0, "exp": "tomorrow"},
        {"sub": 7, "ver": 0, "exp": 1_900_000_000},
        {"sub": "officer", "exp": 1_900_000_000},  # no token version: issued before they were
        {"sub": "officer", "ver": "0", "exp": 1_900_000_000},
    ],
)
def test_tokens_without_a_valid_expiry_or_subject_are_refused(claims: dict[str, object]) -> None:
    tokens = Tokens(SECRET, lifetime_s=3600, clock=FixedClock(local_time("12:00")))
    with pytest.raises(AuthenticationError):
        tokens.subject(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_a_token_signed_with_another_secret_is_refused() -> None:
    clock = FixedClock(local_time("12:00"))
    forged = Tokens(b"another-secret-of-at-least-32-bytes", lifetime_s=3600, clock=clock)
    with pytest.raises(AuthenticationError):
        Tokens(SECRET, lifetime_s=3600, clock=clock).subject(forged.issue("admin", version=0))
