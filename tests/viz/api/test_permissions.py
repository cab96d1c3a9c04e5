"""Each role sees and changes only what it may; every change is audited."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from alerts import NewSubscriber, add_subscriber
from tests.viz.conftest import Api, insert_alert

pytestmark = pytest.mark.integration

CALLERS = ("anonymous", "viewer", "officer", "admin", "key")
READERS = {"viewer", "officer", "admin"}
RANGE = "station=KG-SR-01&start=2026-11-01T00:00:00%2B07:00&end=2026-11-02T00:00:00%2B07:00"
LIMITS = {"warning": 3.0, "source": "Officer's field check, 2026-11-22"}
_unique = itertools.count()


@dataclass(frozen=True)
class Case:
    """One endpoint: how to call it, who may, and the audit action a call leaves."""

    method: str
    path: Callable[[Api], str]
    allowed: frozenset[str]
    body: Callable[[], dict[str, Any]] | None = None
    audit: str | None = None


def rule(api: Api) -> tuple[str, str]:
    """A (profile, rule id) in force at KG-SR-01."""
    with psycopg.connect(api.database_url) as conn:
        row = conn.execute(
            "SELECT profile, rule_id FROM threshold_profiles WHERE station_id = 'KG-SR-01'"
            " AND warning IS NOT NULL ORDER BY rule_id LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


def fresh_alert(api: Api, action: str) -> str:
    return (
        f"/api/v1/alerts/{insert_alert(api.database_url, 'KG-SR-01', f'r{next(_unique)}')}/{action}"
    )


def phone() -> str:
    return f"0912{next(_unique):06d}"


def farmer() -> dict[str, Any]:
    return {"name": "Nguyễn Văn Tư", "phone": phone(), "stations": ["KG-SR-01"]}


def fresh_subscriber(api: Api) -> str:
    with psycopg.connect(api.database_url) as conn:
        subscriber_id = add_subscriber(conn, NewSubscriber.model_validate(farmer()))
    return f"/api/v1/subscribers/{subscriber_id}"


def everyone(*extra: str) -> frozenset[str]:
    return frozenset(READERS | set(extra))


CASES = {
    "list stations": Case("GET", lambda a: "/api/v1/stations", everyone("key")),
    "latest": Case("GET", lambda a: "/api/v1/stations/latest", everyone("key")),
    "station latest": Case("GET", lambda a: "/api/v1/stations/KG-SR-01/latest", everyone("key")),
    "thresholds": Case("GET", lambda a: "/api/v1/stations/KG-SR-01/thresholds", everyone("key")),
    "override": Case(
        "PUT",
        lambda a: f"/api/v1/stations/KG-SR-01/thresholds/{rule(a)[1]}",
        frozenset({"officer", "admin"}),
        lambda: LIMITS,
        "threshold.override",
    ),
    "what-if": Case(
        "POST",
        lambda a: f"/api/v1/stations/KG-SR-01/thresholds/{rule(a)[1]}/what-if",
        frozenset({"officer", "admin"}),
        lambda: {"warning": 3.0, "days": 30},
    ),
    "raw readings": Case("GET", lambda a: f"/api/v1/readings?{RANGE}", everyone("key")),
    "aggregate": Case("GET", lambda a: f"/api/v1/readings/aggregate?{RANGE}", everyone("key")),
    "csv": Case("GET", lambda a: f"/api/v1/readings/export.csv?{RANGE}", everyone("key")),
    "circular10": Case(
        "GET", lambda a: f"/api/v1/readings/export.circular10?{RANGE}", everyone("key")
    ),
    "forwarding": Case("GET", lambda a: "/api/v1/forwarding", everyone("key")),
    "alerts": Case("GET", lambda a: "/api/v1/alerts", everyone()),
    "acknowledge": Case(
        "POST",
        lambda a: fresh_alert(a, "acknowledge"),
        frozenset({"officer", "admin"}),
        lambda: {"note": "seen"},
        "alert.acknowledge",
    ),
    "resolve": Case(
        "POST",
        lambda a: fresh_alert(a, "resolve"),
        frozenset({"officer", "admin"}),
        lambda: {"note": "aerators on"},
        "alert.resolve",
    ),
    "subscribers": Case("GET", lambda a: "/api/v1/subscribers", frozenset({"officer", "admin"})),
    "add subscriber": Case(
        "POST",
        lambda a: "/api/v1/subscribers",
        frozenset({"officer", "admin"}),
        farmer,
        "subscriber.create",
    ),
    "change subscriber": Case(
        "PUT",
        fresh_subscriber,
        frozenset({"officer", "admin"}),
        farmer,
        "subscriber.change",
    ),
    "remove subscriber": Case(
        "DELETE",
        fresh_subscriber,
        frozenset({"officer", "admin"}),
        None,
        "subscriber.delete",
    ),
    "profiles": Case("GET", lambda a: "/api/v1/threshold-profiles", everyone()),
    "edit profile": Case(
        "PUT",
        lambda a: "/api/v1/threshold-profiles/{}/rules/{}".format(*rule(a)),
        frozenset({"admin"}),
        lambda: LIMITS,
        "profile.edit",
    ),
    "users": Case("GET", lambda a: "/api/v1/users", frozenset({"admin"})),
    "create user": Case(
        "POST",
        lambda a: "/api/v1/users",
        frozenset({"admin"}),
        lambda: {
            "username": f"farmer{next(_unique)}",
            "role": "viewer",
            "password": "long-enough-pass",
        },
        "user.create",
    ),
    "keys": Case("GET", lambda a: "/api/v1/api-keys", frozenset({"admin"})),
    "create key": Case(
        "POST",
        lambda a: "/api/v1/api-keys",
        frozenset({"admin"}),
        lambda: {"name": "IOC", "scopes": ["alerts:read"]},
        "api_key.create",
    ),
    "audit": Case("GET", lambda a: "/api/v1/audit", frozenset({"admin"})),
    "rejects": Case("GET", lambda a: "/api/v1/rejects", frozenset({"admin"})),
    "metrics": Case("GET", lambda a: "/metrics", frozenset({"admin"})),
    "me": Case("GET", lambda a: "/api/v1/auth/me", everyone("key")),
    "public latest": Case(
        "GET", lambda a: "/api/v1/public/stations/latest", everyone("key", "anonymous")
    ),
    "public board": Case(
        "GET", lambda a: "/api/v1/public/boards/BD-RG", everyone("key", "anonymous")
    ),
}


def audit_count(api: Api, action: str) -> int:
    with psycopg.connect(api.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM audit_log WHERE action = %s", (action,)).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", CASES)
def test_permission_matrix(api: Api, name: str, caller: str) -> None:
    case = CASES[name]
    audited = audit_count(api, case.audit) if case.audit else 0
    with api.client(None if caller == "anonymous" else caller) as client:
        body = case.body() if case.body else None
        reply = client.request(case.method, case.path(api), json=body)
    if caller in case.allowed:
        assert reply.status_code in (200, 201, 204), reply.text
    else:
        assert reply.status_code == (401 if caller == "anonymous" else 403), reply.text
        assert reply.headers["content-type"] == "application/problem+json"
    if case.audit:
        assert audit_count(api, case.audit) == audited + (caller in case.allowed)


def test_audit_rows_say_who_what_before_and_after(api: Api) -> None:
    alert = insert_alert(api.database_url, "KG-SR-02", "audit.check")
    with api.client("officer") as client:
        assert client.post(f"/api/v1/alerts/{alert}/acknowledge", json={}).status_code == 200
        reply = client.post(f"/api/v1/alerts/{alert}/resolve", json={"note": "water exchanged"})
    assert reply.json()["state"] == "resolved"
    assert [e["kind"] for e in reply.json()["events"]] == ["opened", "acknowledged", "resolved"]
    with api.client("admin") as client:
        log = client.get("/api/v1/audit", params={"actor": "user:officer"}).json()
    mine = [e for e in log if e["target"] == f"alert:{alert}"]
    assert [(e["action"], e["before"], e["after"]) for e in mine] == [
        (
            "alert.resolve",
            {"state": "acknowledged"},
            {"state": "resolved", "note": "water exchanged"},
        ),
        ("alert.acknowledge", {"state": "open"}, {"state": "acknowledged", "note": None}),
    ]


def test_a_resolved_alert_cannot_be_acknowledged(api: Api) -> None:
    alert = insert_alert(api.database_url, "KG-SR-03", "twice")
    with api.client("officer") as client:
        client.post(f"/api/v1/alerts/{alert}/resolve", json={"note": "done"})
        reply = client.post(f"/api/v1/alerts/{alert}/acknowledge", json={})
        missing = client.post("/api/v1/alerts/999999/acknowledge", json={})
    assert (reply.status_code, reply.json()["title"]) == (409, "Conflict")
    assert missing.status_code == 404


def test_logins_are_rate_limited(api: Api) -> None:
    with api.client() as client:
        wrong = [
            client.post("/api/v1/auth/token", json={"username": "viewer", "password": "nope"})
            for _ in range(4)
        ]
    assert [r.status_code for r in wrong] == [401, 401, 401, 429]
    assert wrong[-1].headers["retry-after"] == "1"  # then 2, 4, 8 ... s


def test_subscribers_are_validated_and_their_changes_audited(api: Api) -> None:
    with api.client("officer") as client:
        bad = client.post("/api/v1/subscribers", json={"name": "X", "phone": "12345"})
        unknown = client.post("/api/v1/subscribers", json={**farmer(), "stations": ["KG-XX-99"]})
        body = {**farmer(), "phone": "091 234 5678"}
        created = client.post("/api/v1/subscribers", json=body)
        again = client.post("/api/v1/subscribers", json={**body, "phone": "+84912345678"})
        subscriber_id = created.json()["id"]
        changed = client.put(
            f"/api/v1/subscribers/{subscriber_id}",
            json={**body, "stations": ["KG-SR-01", "KG-SR-02"], "min_severity": 3},
        )
        gone = client.delete(f"/api/v1/subscribers/{subscriber_id}")
        missing = client.get(f"/api/v1/subscribers/{subscriber_id}")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "phone"]
    assert unknown.status_code == 422
    assert "KG-XX-99" in unknown.json()["detail"]
    assert created.status_code == 201
    assert created.json()["phone"] == "+84912345678"  # normalised to E.164
    assert again.status_code == 409  # the same number, written differently
    assert changed.json()["stations"] == ["KG-SR-01", "KG-SR-02"]
    assert (gone.status_code, missing.status_code) == (204, 404)
    with api.client("admin") as client:
        log = client.get("/api/v1/audit", params={"actor": "user:officer"}).json()
    mine = [e for e in log if e["target"] == f"subscriber:{subscriber_id}"]
    assert [e["action"] for e in mine] == [
        "subscriber.delete",
        "subscriber.change",
        "subscriber.create",
    ]
    assert mine[1]["before"]["stations"] == ["KG-SR-01"]
    assert mine[1]["after"]["min_severity"] == 3


def test_resolving_through_the_api_tells_those_who_were_sent_the_alert(api: Api) -> None:
    alert = insert_alert(api.database_url, "KG-SR-03", "shrimp.do.low")
    with psycopg.connect(api.database_url) as conn:
        told = add_subscriber(
            conn, NewSubscriber.model_validate({**farmer(), "stations": ["KG-SR-03"]})
        )
        add_subscriber(conn, NewSubscriber.model_validate({**farmer(), "stations": ["KG-SR-03"]}))
        conn.execute(
            "INSERT INTO notifications (idempotency_key, subscriber_id, phone, kind, alert_id,"
            " station_id, rule_id, severity, state)"
            " SELECT 'test:' || id, id, phone, 'alert', %s, 'KG-SR-03', 'shrimp.do.low', 2,"
            " 'delivered' FROM subscribers WHERE id = %s",
            (alert, told),
        )
    with api.client("officer") as client:
        reply = client.post(f"/api/v1/alerts/{alert}/resolve", json={"note": "aerators on"})
    assert reply.status_code == 200
    with psycopg.connect(api.database_url) as conn:
        resolved = conn.execute(
            "SELECT subscriber_id FROM notifications WHERE kind = 'resolved' AND alert_id = %s",
            (alert,),
        ).fetchall()
    assert resolved == [(told,)]  # only the one who was told of it


def test_a_new_number_takes_the_messages_not_yet_sent(api: Api) -> None:
    body = farmer()
    with api.client("officer") as client:
        subscriber_id = client.post("/api/v1/subscribers", json=body).json()["id"]
        with psycopg.connect(api.database_url) as conn:
            conn.execute(
                "INSERT INTO notifications (idempotency_key, subscriber_id, phone, kind,"
                " station_id, severity) SELECT 'pending:' || id, id, phone, 'alert',"
                " 'KG-SR-01', 2 FROM subscribers WHERE id = %s",
                (subscriber_id,),
            )
        client.put(f"/api/v1/subscribers/{subscriber_id}", json={**body, "phone": "0987000111"})
    with psycopg.connect(api.database_url) as conn:
        phones = conn.execute(
            "SELECT phone FROM notifications WHERE subscriber_id = %s", (subscriber_id,)
        ).fetchall()
    assert phones == [("+84987000111",)]
