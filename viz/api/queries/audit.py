"""The audit log: every change made through the API, in the change's own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel


class AuditEntry(BaseModel):
    """One recorded change."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def record(
    conn: psycopg.Connection[Any],
    *,
    actor: str,
    action: str,
    target: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Write one entry; call it inside the transaction that makes the change."""
    conn.execute(
        "INSERT INTO audit_log (actor, action, target, before, after) VALUES (%s, %s, %s, %s, %s)",
        (
            actor,
            action,
            target,
            None if before is None else Jsonb(dict(before)),
            None if after is None else Jsonb(dict(after)),
        ),
    )


def entries(
    conn: psycopg.Connection[Any],
    *,
    before_id: int | None,
    limit: int,
    actor: str | None,
    action: str | None,
) -> list[AuditEntry]:
    """Newest entries first, optionally older than ``before_id`` and filtered."""
    with conn.cursor(row_factory=class_row(AuditEntry)) as cur:
        return cur.execute(
            "SELECT id, at, actor, action, target, before, after FROM audit_log"
            " WHERE (%(before)s::bigint IS NULL OR id < %(before)s)"
            " AND (%(actor)s::text IS NULL OR actor = %(actor)s)"
            " AND (%(action)s::text IS NULL OR action = %(action)s)"
            " ORDER BY id DESC LIMIT %(limit)s",
            {"before": before_id, "actor": actor, "action": action, "limit": limit},
        ).fetchall()
