"""Subscribers (farmers and officers), the stations they follow, and opting out."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row, scalar_row
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerts.notify.errors import (
    NoSuchSubscriberError,
    PhoneError,
    PhoneTakenError,
    UnknownStationsError,
)
from alerts.notify.phones import normalise_phone
from alerts.notify.states import WAITING_STATES, State

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
    " FILTER (WHERE sub.station_id IS NOT NULL), '{}') AS stations"
)
"""The columns of a ``Subscriber``, by its field names."""


def _check_stations(conn: psycopg.Connection[Any], stations: tuple[str, ...]) -> None:
    with conn.cursor(row_factory=scalar_row) as cursor:
        known = cursor.execute(
            "SELECT array_agg(id) FROM stations WHERE id = ANY(%s)", (list(stations),)
        ).fetchone()
    unknown = sorted(set(stations) - set(known or []))
    if unknown:
        raise UnknownStationsError(unknown)


def add_subscriber(conn: psycopg.Connection[Any], new: NewSubscriber) -> int:
    """Store a subscriber and the stations they follow; return their id.

    Raises:
        UnknownStationsError: A station is not in the registry.
        PhoneTakenError: The phone number is already registered.
    """
    _check_stations(conn, new.stations)
    try:
        with conn.transaction():
            with conn.cursor(row_factory=scalar_row) as cursor:
                subscriber_id: int | None = cursor.execute(
                    "INSERT INTO subscribers (name, phone, role, language, diacritics,"
                    " min_severity, quiet_start, quiet_end, on_duty) VALUES (%(name)s, %(phone)s,"
                    " %(role)s, %(language)s, %(diacritics)s, %(min_severity)s, %(quiet_start)s,"
                    " %(quiet_end)s, %(on_duty)s) RETURNING id",
                    new.model_dump(exclude={"stations"}),
                ).fetchone()
            assert subscriber_id is not None
            _follow(conn, subscriber_id, new.stations)
    except psycopg.errors.UniqueViolation as exc:
        raise PhoneTakenError(new.phone) from exc
    return subscriber_id


def replace_subscriber(
    conn: psycopg.Connection[Any], subscriber_id: int, new: NewSubscriber
) -> bool:
    """Replace a subscriber's details and stations; False if there is no such subscriber.

    Raises:
        UnknownStationsError: A station is not in the registry.
        PhoneTakenError: Another subscriber has the phone number.
    """
    _check_stations(conn, new.stations)
    try:
        with conn.transaction():
            found = conn.execute(
                "UPDATE subscribers SET name = %(name)s, phone = %(phone)s, role = %(role)s,"
                " language = %(language)s, diacritics = %(diacritics)s,"
                " min_severity = %(min_severity)s, quiet_start = %(quiet_start)s,"
                " quiet_end = %(quiet_end)s, on_duty = %(on_duty)s WHERE id = %(id)s",
                {**new.model_dump(exclude={"stations"}), "id": subscriber_id},
            ).rowcount
            if not found:
                return False
            conn.execute("DELETE FROM subscriptions WHERE subscriber_id = %s", (subscriber_id,))
            _follow(conn, subscriber_id, new.stations)
            # Messages not yet sent go to the new number, not to whoever has the old one.
            conn.execute(
                "UPDATE notifications SET phone = %s WHERE subscriber_id = %s AND state = ANY(%s)",
                (new.phone, subscriber_id, list(WAITING_STATES)),
            )
    except psycopg.errors.UniqueViolation as exc:
        raise PhoneTakenError(new.phone) from exc
    return True


def _follow(conn: psycopg.Connection[Any], subscriber_id: int, stations: tuple[str, ...]) -> None:
    conn.execute(
        "INSERT INTO subscriptions (subscriber_id, station_id)"
        " SELECT %s, unnest(%s::text[]) ON CONFLICT DO NOTHING",
        (subscriber_id, list(stations)),
    )


def list_subscribers(conn: psycopg.Connection[Any]) -> list[Subscriber]:
    """Every subscriber, in the order they were added."""
    with conn.cursor(row_factory=class_row(Subscriber)) as cursor:
        return cursor.execute(
            f"SELECT {_COLUMNS} FROM subscribers s"
            " LEFT JOIN subscriptions sub ON sub.subscriber_id = s.id GROUP BY s.id ORDER BY s.id"
        ).fetchall()


def get_subscriber(conn: psycopg.Connection[Any], subscriber_id: int) -> Subscriber | None:
    """One subscriber, or None."""
    with conn.cursor(row_factory=class_row(Subscriber)) as cursor:
        return cursor.execute(
            f"SELECT {_COLUMNS} FROM subscribers s"
            " LEFT JOIN subscriptions sub ON sub.subscriber_id = s.id"
            " WHERE s.id = %s GROUP BY s.id",
            (subscriber_id,),
        ).fetchone()


def remove_subscriber(conn: psycopg.Connection[Any], phone: str) -> None:
    """Delete a subscriber; messages not yet sent to them are cancelled.

    Raises:
        PhoneError: Not a Vietnamese mobile number.
        NoSuchSubscriberError: No subscriber has this number.
    """
    number = normalise_phone(phone)
    row = conn.execute("DELETE FROM subscribers WHERE phone = %s RETURNING id", (number,))
    if row.fetchone() is None:
        raise NoSuchSubscriberError(number)
    conn.execute(
        "UPDATE notifications SET state = %s, reason = 'subscriber removed'"
        " WHERE phone = %s AND state = ANY(%s)",
        (State.CANCELLED, number, list(WAITING_STATES)),
    )


def opt_out(conn: psycopg.Connection[Any], subscriber_id: int) -> None:
    """Stop every message to a subscriber, including those already waiting."""
    conn.execute(
        "UPDATE subscribers SET opted_out_at = coalesce(opted_out_at, now()) WHERE id = %s",
        (subscriber_id,),
    )
    conn.execute(
        "UPDATE notifications SET state = %s, reason = 'opted out'"
        " WHERE subscriber_id = %s AND state = ANY(%s)",
        (State.CANCELLED, subscriber_id, list(WAITING_STATES)),
    )
