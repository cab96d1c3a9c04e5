"""Account changes void old tokens at once."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from tests.viz.conftest import Api

pytestmark = pytest.mark.integration

GOOD = "tide-gauge-at-rach-gia"
_unique = itertools.count()


def new_account(api: Api, role: str = "officer") -> str:
    """An account made by the admin; returns its name (its password is ``GOOD``)."""
    name = f"ranger{next(_unique)}"
    with api.client("admin") as admin:
        reply = admin.post("/api/v1/users", json={"username": name, "role": role, "password": GOOD})
    assert reply.status_code == 201, reply.text
    return name


def log_in(api: Api, name: str, password: str = GOOD) -> str:
    with api.client() as client:
        reply = client.post("/api/v1/auth/token", json={"username": name, "password": password})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def me(api: Api, token: str) -> httpx.Response:
    with api.client() as client:
        return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    "changes",
    [
        [{"password": "a-new-long-passphrase"}],
        [{"role": "viewer"}],
        [{"active": False}, {"active": True}],  # reactivated: the old token stays void
    ],
    ids=["password", "role", "deactivation"],
)
def test_a_change_of_password_role_or_state_revokes_earlier_tokens(
    api: Api, changes: list[dict[str, Any]]
) -> None:
    name = new_account(api)
    before = log_in(api, name)
    assert me(api, before).status_code == 200
    with api.client("admin") as admin:
        for change in changes:
            assert admin.patch(f"/api/v1/users/{name}", json=change).status_code == 200
    refused = me(api, before)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    password = changes[0].get("password", GOOD)
    assert me(api, log_in(api, name, password)).status_code == 200  # a new login works


def test_a_change_that_changes_nothing_keeps_tokens(api: Api) -> None:
    name = new_account(api)
    token = log_in(api, name)
    with api.client("admin") as admin:
        reply = admin.patch(f"/api/v1/users/{name}", json={"role": "officer", "active": True})
    assert reply.status_code == 200
    assert me(api, token).status_code == 200


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaa", "at least 5 different characters"),
        ("qwertyuiop", "simple sequence"),
        ("password2024", "most common passwords"),
        ("the-new-ranger-pass", "contains the user name"),
    ],
)
def test_weak_passwords_are_refused_on_create_and_change(
    api: Api, password: str, reason: str
) -> None:
    name = new_account(api)
    with api.client("admin") as admin:
        created = admin.post(
            "/api/v1/users",
            json={"username": "the-new-ranger", "role": "viewer", "password": password},
        )
        changed = admin.patch(
            f"/api/v1/users/{name}", json={"password": password.replace("the-new-ranger", name)}
        )
    assert created.status_code == 422
    assert created.json()["errors"][0]["loc"] == ["body", "password"]
    assert reason in created.json()["errors"][0]["msg"]
    assert changed.status_code == 422
    problem = changed.json()
    assert reason in (problem["errors"][0]["msg"] if "errors" in problem else problem["detail"])
