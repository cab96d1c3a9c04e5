"""Logins, accounts, API keys, the audit log, rejected messages and threshold profiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from viz.api.auth import Principal, Role, Scope
from viz.api.clients import client_address
from viz.api.deps import Conn, Svc, principal, require
from viz.api.params import Instant
from viz.api.queries import accounts
from viz.api.queries.accounts import ApiKey, KeyIn, User, UserChange, UserIn, Username
from viz.api.queries.audit import AuditEntry, entries
from viz.api.queries.logins import LoginLimits, login
from viz.api.queries.rejects import Reject, rejected_messages
from viz.api.queries.thresholds import Limits, Rule, edit_profile, rules

router = APIRouter()
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
ProfileReader = Annotated[Principal, Depends(require(Scope.PROFILES_READ))]
ProfileWriter = Annotated[Principal, Depends(require(Scope.PROFILES_WRITE))]
Name = Annotated[str, Path(min_length=1, max_length=100)]
KeyPrefix = Annotated[str, Path(pattern=r"^[0-9a-f]{8}$")]


class Login(BaseModel):
    """A user name and password."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class Token(BaseModel):
    """A bearer token to send as ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    """Who the caller is and what they may do."""

    actor: str
    role: Role | None
    scopes: list[Scope]


class NewKey(BaseModel):
    """A created key; ``key`` is shown this once and never again."""

    key: str
    api_key: ApiKey


@router.post("/auth/token", tags=["auth"])
def token(body: Login, request: Request, conn: Conn, svc: Svc) -> Token:
    """Log in with a user name and password; repeated failures must wait ever longer."""
    settings = svc.settings
    limits = LoginLimits(
        max_failures=settings.login_max_failures,
        max_failures_per_name=settings.login_max_failures_per_name,
        window_s=settings.login_window_s,
        max_delay_s=settings.login_max_delay_s,
        known_client_days=settings.login_known_client_days,
    )
    version = login(
        conn,
        body.username,
        body.password,
        client=client_address(request, settings.proxy_networks),
        passwords=svc.passwords,
        limits=limits,
    )
    issued = svc.tokens.issue(body.username, version=version)
    return Token(access_token=issued, expires_in=svc.tokens.lifetime_s)


@router.get("/auth/me", tags=["auth"])
def me(who: Annotated[Principal, Depends(principal)]) -> Me:
    """The caller's identity and permissions."""
    return Me(actor=who.actor, role=who.role, scopes=sorted(who.scopes))


@router.get("/users", tags=["admin"])
def list_users(conn: Conn, _: Admin) -> list[User]:
    """List accounts (admins)."""
    return accounts.users(conn)


@router.post("/users", tags=["admin"], status_code=201)
def create_user(body: UserIn, conn: Conn, svc: Svc, who: Admin) -> User:
    """Create an account (admins)."""
    return accounts.create_user(conn, body, passwords=svc.passwords, actor=who.actor)


@router.patch("/users/{username}", tags=["admin"])
def change_user(username: Username, body: UserChange, conn: Conn, svc: Svc, who: Admin) -> User:
    """Change an account's role, state or password (admins)."""
    return accounts.change_user(conn, username, body, passwords=svc.passwords, actor=who.actor)


@router.get("/api-keys", tags=["admin"])
def list_keys(conn: Conn, _: Admin) -> list[ApiKey]:
    """List API keys (admins)."""
    return accounts.keys(conn)


@router.post("/api-keys", tags=["admin"], status_code=201)
def create_key(body: KeyIn, conn: Conn, who: Admin) -> NewKey:
    """Create an API key for an integration (admins); the key is shown once."""
    key, full = accounts.create_key(conn, body, actor=who.actor)
    return NewKey(key=full, api_key=key)


@router.delete("/api-keys/{prefix}", tags=["admin"])
def revoke_key(prefix: KeyPrefix, conn: Conn, who: Admin) -> ApiKey:
    """Revoke an API key (admins)."""
    return accounts.revoke_key(conn, prefix, actor=who.actor)


@router.get("/audit", tags=["admin"])
def audit(
    conn: Conn,
    _: Admin,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=200)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    """The audit log, newest first (admins)."""
    return entries(conn, before_id=before_id, limit=limit, actor=actor, action=action)


@router.get("/rejects", tags=["admin"])
def rejects(
    conn: Conn,
    _: Admin,
    reason: Annotated[str | None, Query(max_length=100)] = None,
    since: Instant | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Reject]:
    """Messages the ingester rejected, newest first (admins)."""
    return rejected_messages(conn, reason=reason, since=since, before_id=before_id, limit=limit)


@router.get("/threshold-profiles", tags=["thresholds"])
def list_profiles(
    conn: Conn,
    _: ProfileReader,
    profile: Annotated[str | None, Query(max_length=100)] = None,
    station: Annotated[str | None, Query(max_length=64)] = None,
) -> list[Rule]:
    """Threshold rules in force, by station, with the origin of their limits."""
    return rules(conn, station_id=station, profile=profile)


@router.put("/threshold-profiles/{profile}/rules/{rule_id}", tags=["thresholds"])
def put_profile_rule(
    profile: Name, rule_id: Name, limits: Limits, conn: Conn, who: ProfileWriter
) -> list[Rule]:
    """Change a profile's rule for every station using it (admins), naming the source."""
    return edit_profile(conn, profile, rule_id, limits, actor=who.actor)
