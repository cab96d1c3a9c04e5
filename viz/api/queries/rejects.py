"""Messages the ingester rejected, as admins read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from pydantic import BaseModel, field_validator


class Reject(BaseModel):
    """A message the ingester could not accept (payload as text, bytes replaced if not UTF-8)."""

    id: int
    received_at: datetime
    topic: str
    reason: str
    detail: str
    payload: str

    @field_validator("payload", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).decode("utf-8", errors="replace")
        return value


def rejected_messages(
    conn: psycopg.Connection[Any],
    *,
    reason: str | None,
    since: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[Reject]:
    """Rejected messages, newest first, filtered by reason and time."""
    with conn.cursor(row_factory=class_row(Reject)) as cur:
        return cur.execute(
            "SELECT id, received_at, topic, reason, detail, payload FROM rejects"
            " WHERE (%(reason)s::text IS NULL OR reason = %(reason)s)"
            " AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)"
            " AND (%(before)s::bigint IS NULL OR id < %(before)s)"
            " ORDER BY id DESC LIMIT %(limit)s",
            {"reason": reason, "since": since, "before": before_id, "limit": limit},
        ).fetchall()
