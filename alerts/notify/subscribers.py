"""Subscribers (farmers and officers), the stations they follow, and opting out."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal

import psycopg
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerts.notify.errors import PhoneError, SubscriberError, UnknownStationsError
from alerts.notify.phones import normalise_phone

__all__ = [
    "NewSubscriber",
    "Subscriber",
    "add_subscriber",
    "get_subscriber",
    "list_subscribers",
    "opt_out",
    "remove_subscriber",
    "replace_subscriber",
]


class NewSubscriber(BaseModel):
    """A subscriber as given by a person (CLI, API); the phone is normalised to E.164."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    phone: str
    role: Literal["farmer", "officer"] = "farmer"
    language: Literal["vi", "en"] = "vi"
    diacritics: bool = False
    stations: tuple[str, ...] = ()
    min_severity: int = Field(default=2, ge=1, le=3)
    quiet_start: time | None = None
    quiet_end: time | None = None
    on_duty: bool = False

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        try:
            return normalise_phone(value)
        except PhoneError as exc:  # a field error for whoever validates the model
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _quiet_pair(self) -> NewSubscriber:
        if (self.quiet_start is None) != (self.quiet_end is None):
            msg = "quiet hours need both a start and an end"
            raise ValueError(msg)
        return self


class Subscriber(NewSubscriber):
    """A stored subscriber."""

    id: int
    opted_out_at: datetime | None = None


_COLUMNS = (
    "s.id, s.name, s.phone, s.role, s.language, s.diacritics, s.min_severity, s.quiet_start,"
    " s.quiet_end, s.on_duty, s.opted_out_at,"
    " coalesce(array_agg(sub.station_id ORDER BY sub.station_id)"
    " FILTER (WHERE sub.station_id IS NOT NULL), '{}')"
)


def _check_stations(conn: psycopg.Connection[Any], stations: tuple[str, ...]) -> None:
    known = conn.execute(
        "SELECT array_agg(id) FROM stations WHERE id = ANY(%s)", (list(stations),)
    ).fetchone()
    unknown = sorted(set(stations) - set(known[0] or [] if known else []))
    if unknown:
        raise UnknownStationsError(unknown)


def add_subscriber(conn: psycopg.Connection[Any], new: NewSubscriber) -> int:
    """Store a subscriber and the stations they follow; return their id.

    Raises:
        UnknownStationsError: A station is not in the registry.
        SubscriberError: The phone number is already registered.
    """
    _check_stations(conn, new.stations)
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO subscribers (name, phone, role, language, diacritics, min_severity,"
                " quiet_start, quiet_end, on_duty) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " RETURNING id",
                (
                    new.name,
                    new.phone,
                    new.role,
                    new.language,
                    new.diacritics,
                    new.min_severity,
                    new.quiet_start,
                    new.quiet_end,
                    new.on_duty,
                ),
            ).fetchone()
            assert row is not None
            _follow(conn, int(row[0]), new.stations)
    except psycopg.errors.UniqueViolation as exc:
        msg = f"{new.phone} is already a subscriber"
        raise SubscriberError(msg) from exc
    return int(row[0])


def replace_subscriber(
    conn: psycopg.Connection[Any], subscriber_id: int, new: NewSubscriber
) -> bool:
    """Replace a subscriber's details and stations; False if there is no such subscriber.

    Raises:
        UnknownStationsError: A station is not in the registry.
        SubscriberError: Another subscriber has the phone number.
    """
    _check_stations(conn, new.stations)
    try:
        with conn.transaction():
            row = conn.execute(
                "UPDATE subscribers SET name = %s, phone = %s, role = %s, language = %s,"
                " diacritics = %s, min_severity = %s, quiet_start = %s, quiet_end = %s,"
                " on_duty = %s WHERE id = %s RETURNING id",
                (
                    new.name,
                    new.phone,
                    new.role,
                    new.language,
                    new.diacritics,
                    new.min_severity,
                    new.quiet_start,
                    new.quiet_end,
                    new.on_duty,
                    subscriber_id,
                ),
            ).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM subscriptions WHERE subscriber_id = %s", (subscriber_id,))
            _follow(conn, subscriber_id, new.stations)
            # Messages not yet sent go to the new number, not to whoever has the old one.
            conn.execute(
                "UPDATE notifications SET phone = %s WHERE subscriber_id = %s"
                " AND state IN ('pending', 'held')",
                (new.phone, subscriber_id),
            )
    except psycopg.errors.UniqueViolation as exc:
        msg = f"{new.phone} is already another subscriber's number"
        raise SubscriberError(msg) from exc
    return True


def _follow(conn: psycopg.Connection[Any], subscriber_id: int, stations: tuple[str, ...]) -> None:
    conn.execute(
        "INSERT INTO subscriptions (subscriber_id, station_id)"
        " SELECT %s, unnest(%s::text[]) ON CONFLICT DO NOTHING",
        (subscriber_id, list(stations)),
    )


def _subscriber(r: tuple[Any, ...]) -> Subscriber:
    return Subscriber(
        id=r[0],
        name=r[1],
        phone=r[2],
        role=r[3],
        language=r[4],
        diacritics=r[5],
        min_severity=r[6],
        quiet_start=r[7],
        quiet_end=r[8],
        on_duty=r[9],
        opted_out_at=r[10],
        stations=tuple(r[11]),
    )


def list_subscribers(conn: psycopg.Connection[Any]) -> list[Subscriber]:
    """Every subscriber, in the order they were added."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM subscribers s"
        " LEFT JOIN subscriptions sub ON sub.subscriber_id = s.id GROUP BY s.id ORDER BY s.id"
    ).fetchall()
    return [_subscriber(r) for r in rows]


def get_subscriber(conn: psycopg.Connection[Any], subscriber_id: int) -> Subscriber | None:
    """One subscriber, or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM subscribers s"
        " LEFT JOIN subscriptions sub ON sub.subscriber_id = s.id WHERE s.id = %s GROUP BY s.id",
        (subscriber_id,),
    ).fetchone()
    return None if row is None else _subscriber(row)


def remove_subscriber(conn: psycopg.Connection[Any], phone: str) -> None:
    """Delete a subscriber; messages not yet sent to them are cancelled.

    Raises:
        SubscriberError: No subscriber has this number.
    """
    number = normalise_phone(phone)
    row = conn.execute("DELETE FROM subscribers WHERE phone = %s RETURNING id", (number,))
    if row.fetchone() is None:
        msg = f"no subscriber has the number {number}"
        raise SubscriberError(msg)
    conn.execute(
        "UPDATE notifications SET state = 'cancelled', reason = 'subscriber removed'"
        " WHERE phone = %s AND state IN ('pending', 'held')",
        (number,),
    )


def opt_out(conn: psycopg.Connection[Any], subscriber_id: int) -> None:
    """Stop every message to a subscriber, including those already waiting."""
    conn.execute(
        "UPDATE subscribers SET opted_out_at = coalesce(opted_out_at, now()) WHERE id = %s",
        (subscriber_id,),
    )
    conn.execute(
        "UPDATE notifications SET state = 'cancelled', reason = 'opted out'"
        " WHERE subscriber_id = %s AND state IN ('pending', 'held')",
        (subscriber_id,),
    )
