"""There is always an active admin: the last one can be neither demoted nor deactivated.

The tests run in order: the last one retires the fixture's admin.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from tests.viz.conftest import PASSWORD, Api
from viz.api import Role
from viz.api.auth import Passwords
from viz.api.problems import ConflictError
from viz.api.queries.accounts import UserChange, UserIn, change_user, create_user

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("change", [{"role": "officer"}, {"active": False}])
def test_the_only_admin_cannot_demote_or_deactivate_themselves(
    api: Api, change: dict[str, Any]
) -> None:
    with api.client("admin") as admin:
        refused = admin.patch("/api/v1/users/admin", json=change)
        still = admin.get("/api/v1/auth/me")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "last active admin" in refused.json()["detail"]
    assert still.json()["role"] == "admin"  # nothing changed, the token still works


def test_one_of_two_admins_may_go_but_not_both_at_once(api: Api) -> None:
    passwords = Passwords()
    demote = UserChange(role=Role.VIEWER)
    with psycopg.connect(api.database_url) as setup:
        setup.execute("UPDATE users SET active = false WHERE username = 'admin'")
        for name in ("boss-an", "boss-binh"):
            new = UserIn(username=name, role=Role.ADMIN, password=PASSWORD)
            create_user(setup, new, passwords=passwords, actor="test")
    outcome: list[BaseException | None] = []
    with (
        psycopg.connect(api.database_url) as first,
        psycopg.connect(api.database_url) as second,
    ):

        def binh_demotes_an() -> None:
            try:
                change_user(second, "boss-an", demote, passwords=passwords, actor="user:boss-binh")
                outcome.append(None)
            except ConflictError as exc:
                outcome.append(exc)

        with first.transaction():  # An demotes Binh and has not committed yet
            change_user(first, "boss-binh", demote, passwords=passwords, actor="user:boss-an")
            racer = threading.Thread(target=binh_demotes_an)
            racer.start()
            racer.join(timeout=0.5)
            assert racer.is_alive()  # waiting for the admins' row locks
        racer.join(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], ConflictError)
    with psycopg.connect(api.database_url) as conn:
        admins = conn.execute(
            "SELECT username FROM users WHERE role = 'admin' AND active"
        ).fetchall()
    assert admins == [("boss-an",)]
