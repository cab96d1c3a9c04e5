"""Roles, scopes and credentials: argon2 passwords, signed bearer tokens, hashed API keys.

Login tokens are JWTs signed with HMAC-SHA256 (``token_secret``) naming the user and the
account's token version. The role and the token version are read from the database on each
request: a role change or a deactivation takes effect at once, and a new password, a role
change or a deactivation raise the version, which voids every token issued before. API keys
are ``aw_<prefix>_<secret>``; the database keeps only the secret's SHA-256 and the key's scopes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from telemetry import Clock
from viz.api.problems import AuthenticationError

_ALGORITHM: Final = "HS256"
_KEY_PREFIX: Final = "aw"


class Role(StrEnum):
    """What a person may do."""

    ADMIN = "admin"
    OFFICER = "officer"
    VIEWER = "viewer"


class Scope(StrEnum):
    """One permission; roles are sets of scopes, API keys carry their own."""

    STATIONS_READ = "stations:read"
    READINGS_READ = "readings:read"
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    PROFILES_READ = "profiles:read"
    OVERRIDES_WRITE = "overrides:write"
    PROFILES_WRITE = "profiles:write"
    METRICS_READ = "metrics:read"
    SUBSCRIBERS_READ = "subscribers:read"  # phone numbers: personal data
    SUBSCRIBERS_WRITE = "subscribers:write"
    ADMIN = "admin"  # users, API keys, the audit log, rejected messages


_VIEWER: Final = frozenset(
    {Scope.STATIONS_READ, Scope.READINGS_READ, Scope.ALERTS_READ, Scope.PROFILES_READ}
)
_OFFICER: Final = _VIEWER | {
    Scope.ALERTS_WRITE,
    Scope.OVERRIDES_WRITE,
    Scope.SUBSCRIBERS_READ,
    Scope.SUBSCRIBERS_WRITE,
}
ROLE_SCOPES: Final = MappingProxyType(
    {
        Role.VIEWER: _VIEWER,
        Role.OFFICER: _OFFICER,
        Role.ADMIN: frozenset(Scope),
    }
)
"""The scopes of each role."""

KEY_SCOPES: Final = frozenset(Scope) - {Scope.ADMIN, Scope.PROFILES_WRITE}
"""Scopes an API key may carry: integrations never administer accounts or profiles."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and what they may do.

    Attributes:
        actor: ``user:<name>`` or ``key:<prefix>``, as written in the audit log.
        scopes: What they may do.
        role: The person's role (None for an API key).
    """

    actor: str
    scopes: frozenset[Scope]
    role: Role | None = None


class Passwords:
    """argon2id hashing with the library's recommended parameters."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        # Verified against when the user name is unknown (equal work either way).
        self.dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """Return the encoded hash (parameters and salt included)."""
        return self._hasher.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        """Whether ``password`` matches ``encoded``."""
        try:
            return self._hasher.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return False


@dataclass(frozen=True, slots=True)
class TokenSubject:
    """Whom a valid token names: the user and the account's token version at login."""

    username: str
    version: int


class Tokens:
    """Issues and checks signed login tokens; ``clock`` dates them and says when they expire."""

    def __init__(self, secret: bytes, *, lifetime_s: int, clock: Clock) -> None:
        self._secret = secret
        self.lifetime_s = lifetime_s
        self._clock = clock

    def issue(self, username: str, *, version: int) -> str:
        """A token naming ``username`` and its token ``version``, valid for its lifetime."""
        now = int(self._clock.time())
        claims = {"sub": username, "ver": version, "iat": now, "exp": now + self.lifetime_s}
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def subject(self, token: str) -> TokenSubject:
        """The user and token version a valid token names.

        Raises:
            AuthenticationError: The token is malformed, forged or expired.
        """
        msg = "invalid or expired token"
        try:
            # PyJWT would check the times against the machine's clock: they are checked
            # against the service's below.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                options={
                    "require": ["sub", "ver", "exp"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(msg) from exc
        expires = claims["exp"]
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise AuthenticationError(msg)
        if expires <= self._clock.time():
            raise AuthenticationError(msg)
        subject, version = claims["sub"], claims["ver"]
        if (
            not isinstance(subject, str)
            or not isinstance(version, int)
            or isinstance(version, bool)
        ):
            msg = "invalid token"
            raise AuthenticationError(msg)
        return TokenSubject(subject, version)


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly made API key: ``full`` is shown once, ``digest`` is stored."""

    prefix: str
    full: str
    digest: str


def new_api_key() -> NewKey:
    """Make a key ``aw_<prefix>_<secret>`` with a 256-bit secret."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    return NewKey(prefix, f"{_KEY_PREFIX}_{prefix}_{secret}", _digest(secret))


def split_api_key(key: str) -> tuple[str, str] | None:
    """Return (prefix, secret digest) of something shaped like an API key, else None."""
    head, _, rest = key.partition("_")
    prefix, _, secret = rest.partition("_")
    if head != _KEY_PREFIX or not prefix or not secret:
        return None
    return prefix, _digest(secret)


def same_digest(a: str, b: str) -> bool:
    """Compare digests in constant time."""
    return hmac.compare_digest(a, b)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
