"""Subscribers of the SMS alerts (farmers and officers) and the stations they follow.

Phone numbers are personal data: only officers and admins (scopes ``subscribers:read`` and
``subscribers:write``) see or change them. Every change is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from alerts import (
    NewSubscriber,
    Subscriber,
    add_subscriber,
    get_subscriber,
    list_subscribers,
    remove_subscriber,
    replace_subscriber,
)
from viz.api.auth import Principal, Scope
from viz.api.deps import Conn, require
from viz.api.problems import NotFoundError
from viz.api.queries.audit import record

router = APIRouter(prefix="/subscribers", tags=["subscribers"])
Reader = Annotated[Principal, Depends(require(Scope.SUBSCRIBERS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.SUBSCRIBERS_WRITE))]
SubscriberId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _found(conn: Conn, subscriber_id: int) -> Subscriber:
    found = get_subscriber(conn, subscriber_id)
    if found is None:
        msg = f"no subscriber {subscriber_id}"
        raise NotFoundError(msg)
    return found


def _plain(subscriber: Subscriber) -> dict[str, Any]:
    return subscriber.model_dump(mode="json")


@router.get("")
def subscribers(conn: Conn, _: Reader) -> list[Subscriber]:
    """Every subscriber with the stations they follow."""
    return list_subscribers(conn)


@router.post("", status_code=201)
def create_subscriber(body: NewSubscriber, conn: Conn, who: Writer) -> Subscriber:
    """Register a subscriber (the phone is normalised to E.164)."""
    created = _found(conn, add_subscriber(conn, body))
    record(
        conn,
        actor=who.actor,
        action="subscriber.create",
        target=f"subscriber:{created.id}",
        before=None,
        after=_plain(created),
    )
    return created


@router.get("/{subscriber_id}")
def subscriber(subscriber_id: SubscriberId, conn: Conn, _: Reader) -> Subscriber:
    """One subscriber."""
    return _found(conn, subscriber_id)


@router.put("/{subscriber_id}")
def change_subscriber(
    subscriber_id: SubscriberId, body: NewSubscriber, conn: Conn, who: Writer
) -> Subscriber:
    """Replace a subscriber's details and the stations they follow."""
    before = _found(conn, subscriber_id)
    replace_subscriber(conn, subscriber_id, body)
    after = _found(conn, subscriber_id)
    record(
        conn,
        actor=who.actor,
        action="subscriber.change",
        target=f"subscriber:{subscriber_id}",
        before=_plain(before),
        after=_plain(after),
    )
    return after


@router.delete("/{subscriber_id}", status_code=204)
def delete_subscriber(subscriber_id: SubscriberId, conn: Conn, who: Writer) -> None:
    """Remove a subscriber; messages not yet sent to them are cancelled."""
    before = _found(conn, subscriber_id)
    remove_subscriber(conn, before.phone)
    record(
        conn,
        actor=who.actor,
        action="subscriber.delete",
        target=f"subscriber:{subscriber_id}",
        before=_plain(before),
        after=None,
    )
