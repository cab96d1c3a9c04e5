"""Users and API keys in the database: accounts with roles, keys with scopes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import psycopg
from psycopg.rows import class_row, scalar_row
from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from viz.api.auth import (
    KEY_SCOPES,
    ROLE_SCOPES,
    NewKey,
    Passwords,
    Principal,
    Role,
    Scope,
    new_api_key,
    same_digest,
    split_api_key,
)
from viz.api.password_policy import MIN_LENGTH, weakness
from viz.api.problems import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from viz.api.queries.audit import record

Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")]
Password = Annotated[str, Field(min_length=MIN_LENGTH, max_length=256)]


def _acceptable(password: str, username: str | None) -> str:
    reason = weakness(password, username=username)
    if reason is not None:
        msg = f"the password {reason}"
        raise ValueError(msg)
    return password


class UserIn(BaseModel):
    """A new account; its password must pass the password policy."""

    username: Username
    role: Role
    password: Password

    @field_validator("password")
    @classmethod
    def _policy(cls, password: str, info: ValidationInfo) -> str:
        return _acceptable(password, info.data.get("username"))


class UserChange(BaseModel):
    """A change to an account; fields left out stay as they are."""

    role: Role | None = None
    active: bool | None = None
    password: Password | None = None

    @field_validator("password")
    @classmethod
    def _policy(cls, password: str | None) -> str | None:
        # The user name is checked with the account's (it is not part of the body).
        return None if password is None else _acceptable(password, None)


class User(BaseModel):
    """An account as shown to admins (never its hash)."""

    username: str
    role: Role
    active: bool
    created_at: datetime
    updated_at: datetime


class KeyIn(BaseModel):
    """A new API key for an integration."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    scopes: Annotated[list[Scope], Field(min_length=1)]


class ApiKey(BaseModel):
    """An API key as shown to admins (never its secret)."""

    prefix: str
    name: str
    scopes: list[Scope]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


_USER_COLUMNS = "username, role, active, created_at, updated_at"
_KEY_COLUMNS = "prefix, name, scopes, created_by, created_at, revoked_at"
_USER = f"SELECT {_USER_COLUMNS} FROM users"
_KEY = f"SELECT {_KEY_COLUMNS} FROM api_keys"


@dataclass(frozen=True, slots=True)
class _Standing:
    role: str
    active: bool
    token_version: int


@dataclass(frozen=True, slots=True)
class _KeySecret:
    secret_sha256: str
    scopes: list[str]


def _audit_view(user: User) -> dict[str, Any]:
    return user.model_dump(mode="json", include={"username", "role", "active"})


def users(conn: psycopg.Connection[Any]) -> list[User]:
    """Every account, by name."""
    with conn.cursor(row_factory=class_row(User)) as cur:
        return cur.execute(_USER + " ORDER BY username").fetchall()


def get_user(conn: psycopg.Connection[Any], username: str) -> User:
    """One account.

    Raises:
        NotFoundError: No such user.
    """
    with conn.cursor(row_factory=class_row(User)) as cur:
        user = cur.execute(_USER + " WHERE username = %s", (username,)).fetchone()
    if user is None:
        msg = f"no user {username!r}"
        raise NotFoundError(msg)
    return user


def create_user(
    conn: psycopg.Connection[Any], new: UserIn, *, passwords: Passwords, actor: str
) -> User:
    """Create an account and audit it (one transaction).

    Raises:
        ConflictError: The name is taken.
    """
    with conn.transaction(), conn.cursor(row_factory=class_row(User)) as cur:
        try:
            user = cur.execute(
                "INSERT INTO users (username, role, password_hash) VALUES (%s, %s, %s)"
                " RETURNING " + _USER_COLUMNS,
                (new.username, new.role.value, passwords.hash(new.password)),
            ).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            msg = f"user {new.username!r} exists"
            raise ConflictError(msg) from exc
        assert user is not None
        record(
            conn,
            actor=actor,
            action="user.create",
            target=f"user:{user.username}",
            before=None,
            after=_audit_view(user),
        )
    return user


def change_user(
    conn: psycopg.Connection[Any],
    username: str,
    change: UserChange,
    *,
    passwords: Passwords,
    actor: str,
) -> User:
    """Change an account's role, state or password and audit it (never the password itself).

    A new password, a new role or a change of state raises the account's token version, so
    the tokens issued before are refused from then on. The last active admin keeps that
    role and state: a change that would leave no admin is refused.

    Raises:
        NotFoundError: No such user.
        InvalidInputError: The new password contains the user name.
        ConflictError: The change would leave no active admin.
    """
    if change.password is not None and username.lower() in change.password.lower():
        msg = "the password contains the user name"
        raise InvalidInputError(msg)
    demotes = change.active is False or change.role not in (None, Role.ADMIN)
    with conn.transaction():
        admins = _lock_admins(conn) if demotes else []
        with conn.cursor(row_factory=class_row(User)) as cur:
            before = cur.execute(_USER + " WHERE username = %s FOR UPDATE", (username,)).fetchone()
        if before is None:
            msg = f"no user {username!r}"
            raise NotFoundError(msg)
        if demotes and admins == [username]:
            msg = f"{username!r} is the last active admin; make another admin first"
            raise ConflictError(msg)
        revoke = (
            change.password is not None
            or (change.role is not None and change.role != before.role)
            or (change.active is not None and change.active != before.active)
        )
        with conn.cursor(row_factory=class_row(User)) as cur:
            after = cur.execute(
                "UPDATE users SET role = coalesce(%s, role), active = coalesce(%s, active),"
                " password_hash = coalesce(%s, password_hash), updated_at = now(),"
                " token_version = token_version + %s::int"
                " WHERE username = %s RETURNING " + _USER_COLUMNS,
                (
                    change.role.value if change.role else None,
                    change.active,
                    passwords.hash(change.password) if change.password else None,
                    1 if revoke else 0,
                    username,
                ),
            ).fetchone()
        assert after is not None
        audit_after = {
            **_audit_view(after),
            "password_changed": change.password is not None,
            "tokens_revoked": revoke,
        }
        record(
            conn,
            actor=actor,
            action="user.change",
            target=f"user:{username}",
            before=_audit_view(before),
            after=audit_after,
        )
    return after


def _lock_admins(conn: psycopg.Connection[Any]) -> list[str]:
    """The active admins, locked until the transaction ends.

    Two admins demoting each other at once are served one after the other: the second sees
    the first's change (a row that no longer matches is skipped) and is refused.
    """
    with conn.cursor(row_factory=scalar_row) as cur:
        return cur.execute(
            "SELECT username FROM users WHERE role = %s AND active ORDER BY id FOR UPDATE",
            (Role.ADMIN.value,),
        ).fetchall()


def set_account(
    conn: psycopg.Connection[Any], new: UserIn, *, passwords: Passwords, actor: str
) -> User:
    """Create the account, or give the existing one this role and password and activate it."""
    try:
        return create_user(conn, new, passwords=passwords, actor=actor)
    except ConflictError:
        change = UserChange(role=new.role, active=True, password=new.password)
        return change_user(conn, new.username, change, passwords=passwords, actor=actor)


def user_principal(conn: psycopg.Connection[Any], username: str, *, version: int) -> Principal:
    """The principal of a logged-in user, with the role the database holds now.

    Args:
        conn: The request's connection.
        username: Whom the token names.
        version: The token version it names.

    Raises:
        AuthenticationError: The user no longer exists or is inactive, or the token was issued
            before a change of password, role or state.
    """
    with conn.cursor(row_factory=class_row(_Standing)) as cur:
        found = cur.execute(
            "SELECT role, active, token_version FROM users WHERE username = %s", (username,)
        ).fetchone()
    if found is None or not found.active:
        msg = "the account is inactive or gone"
        raise AuthenticationError(msg)
    if found.token_version != version:
        msg = "the token was revoked (the account changed); log in again"
        raise AuthenticationError(msg)
    role = Role(found.role)
    return Principal(actor=f"user:{username}", scopes=ROLE_SCOPES[role], role=role)


def key_principal(conn: psycopg.Connection[Any], key: str) -> Principal:
    """The principal of an API key.

    Raises:
        AuthenticationError: Not a key, unknown, revoked or wrong secret.
    """
    parts = split_api_key(key)
    found = None
    if parts is not None:
        with conn.cursor(row_factory=class_row(_KeySecret)) as cur:
            found = cur.execute(
                "SELECT secret_sha256, scopes FROM api_keys"
                " WHERE prefix = %s AND revoked_at IS NULL",
                (parts[0],),
            ).fetchone()
    if parts is None or found is None or not same_digest(found.secret_sha256, parts[1]):
        msg = "invalid API key"
        raise AuthenticationError(msg)
    return Principal(actor=f"key:{parts[0]}", scopes=frozenset(Scope(s) for s in found.scopes))


def keys(conn: psycopg.Connection[Any]) -> list[ApiKey]:
    """Every API key, newest first."""
    with conn.cursor(row_factory=class_row(ApiKey)) as cur:
        return cur.execute(_KEY + " ORDER BY created_at DESC, id DESC").fetchall()


def create_key(conn: psycopg.Connection[Any], new: KeyIn, *, actor: str) -> tuple[ApiKey, str]:
    """Create a key and audit it; returns the key and its full text (shown once).

    Raises:
        InvalidInputError: A scope keys may not carry.
    """
    wrong = sorted(set(new.scopes) - KEY_SCOPES)
    if wrong:
        msg = f"API keys may not carry {', '.join(wrong)}"
        raise InvalidInputError(msg)
    made: NewKey = new_api_key()
    scopes = sorted({s.value for s in new.scopes})
    with conn.transaction(), conn.cursor(row_factory=class_row(ApiKey)) as cur:
        key = cur.execute(
            "INSERT INTO api_keys (prefix, secret_sha256, name, scopes, created_by)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING " + _KEY_COLUMNS,
            (made.prefix, made.digest, new.name, scopes, actor),
        ).fetchone()
        assert key is not None
        record(
            conn,
            actor=actor,
            action="api_key.create",
            target=f"key:{made.prefix}",
            before=None,
            after={"name": new.name, "scopes": scopes},
        )
    return key, made.full


def revoke_key(conn: psycopg.Connection[Any], prefix: str, *, actor: str) -> ApiKey:
    """Revoke a key and audit it.

    Raises:
        NotFoundError: No such unrevoked key.
    """
    with conn.transaction(), conn.cursor(row_factory=class_row(ApiKey)) as cur:
        key = cur.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE prefix = %s AND revoked_at IS NULL"
            " RETURNING " + _KEY_COLUMNS,
            (prefix,),
        ).fetchone()
        if key is None:
            msg = f"no active API key {prefix!r}"
            raise NotFoundError(msg)
        record(
            conn,
            actor=actor,
            action="api_key.revoke",
            target=f"key:{prefix}",
            before={"revoked": False},
            after={"revoked": True},
        )
    return key
