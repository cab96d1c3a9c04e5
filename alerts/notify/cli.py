"""``aquawatch notify`` (a notifier worker) and ``aquawatch subscribers add|list|remove``."""

from __future__ import annotations

import argparse
import logging
from datetime import time

import psycopg
from pydantic import ValidationError

from alerts.notify.channels import channel_from_settings
from alerts.notify.errors import InvalidSubscriberError
from alerts.notify.settings import NotifySettings
from alerts.notify.subscribers import (
    NewSubscriber,
    add_subscriber,
    list_subscribers,
    remove_subscriber,
)
from alerts.notify.worker import Notifier
from telemetry import (
    CommonSettings,
    SystemClock,
    add_settings_arguments,
    describe_validation_error,
    migrate,
    redact_url,
    settings_from_args,
    stop_event,
)

__all__ = ["register_notify", "register_subscribers"]

logger = logging.getLogger(__name__)


def _notify(args: argparse.Namespace) -> int:
    settings = settings_from_args(NotifySettings, args)
    channel = channel_from_settings(settings)
    url = settings.database_url.get_secret_value()
    migrate(url)
    stop = stop_event()
    # httpx logs every request URL at INFO: the gateway's password and the callback token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logger.info("notifier on %s", redact_url(settings.sms_url.get_secret_value()))
    Notifier(settings, channel=channel, clock=SystemClock()).run(url, stop)
    return 0


def _quiet(value: str) -> tuple[time, time]:
    try:
        start, end = value.split("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError as exc:
        msg = f"quiet hours look like 21:00-05:00, got {value!r}"
        raise argparse.ArgumentTypeError(msg) from exc


def _add(args: argparse.Namespace) -> int:
    settings = settings_from_args(CommonSettings, args)
    quiet = args.quiet or (None, None)
    try:
        new = NewSubscriber(
            name=args.name,
            phone=args.phone,
            role=args.role,
            language=args.language,
            diacritics=args.diacritics,
            stations=tuple(args.station or ()),
            min_severity=args.min_severity,
            quiet_start=quiet[0],
            quiet_end=quiet[1],
            on_duty=args.on_duty,
        )
    except ValidationError as exc:
        problems = [describe_validation_error(e) for e in exc.errors()]
        raise InvalidSubscriberError(problems) from exc
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        subscriber_id = add_subscriber(conn, new)
    print(f"subscriber {subscriber_id}: {new.name} {new.phone}")
    return 0


def _list(args: argparse.Namespace) -> int:
    settings = settings_from_args(CommonSettings, args)
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        subscribers = list_subscribers(conn)
    for s in subscribers:
        quiet = (
            f"{s.quiet_start:%H:%M}-{s.quiet_end:%H:%M}" if s.quiet_start and s.quiet_end else "-"
        )
        state = "opted out" if s.opted_out_at else ("on duty" if s.on_duty else "")
        print(
            f"{s.id}\t{s.phone}\t{s.name}\t{s.role}\t{s.language}"
            f"{'+dấu' if s.diacritics else ''}\tmin {s.min_severity}\tquiet {quiet}"
            f"\t{','.join(s.stations) or '-'}\t{state}"
        )
    return 0


def _remove(args: argparse.Namespace) -> int:
    settings = settings_from_args(CommonSettings, args)
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        remove_subscriber(conn, args.phone)
    print(f"removed {args.phone}")
    return 0


def register_notify(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch notify``."""
    cmd = subparsers.add_parser("notify", help="send SMS from the notification outbox (one worker)")
    add_settings_arguments(cmd, NotifySettings)
    cmd.set_defaults(handler=_notify)


def register_subscribers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``aquawatch subscribers add|list|remove``."""
    group = subparsers.add_parser("subscribers", help="farmers and officers who get SMS")
    actions = group.add_subparsers(dest="subscribers_command", required=True)
    add = actions.add_parser("add", help="add a subscriber")
    add.add_argument("--name", required=True)
    add.add_argument("--phone", required=True, help="Vietnamese mobile, e.g. 0912 345 678")
    add.add_argument("--role", choices=["farmer", "officer"], default="farmer")
    add.add_argument("--language", choices=["vi", "en"], default="vi")
    add.add_argument("--diacritics", action="store_true", help="UCS-2 with diacritics")
    add.add_argument("--station", action="append", help="station to follow (repeatable)")
    add.add_argument("--min-severity", type=int, choices=[1, 2, 3], default=2)
    add.add_argument("--quiet", type=_quiet, help="quiet hours, local time, e.g. 21:00-05:00")
    add.add_argument("--on-duty", action="store_true", help="officer on duty: gets escalations")
    add.set_defaults(handler=_add)
    listing = actions.add_parser("list", help="list subscribers")
    listing.set_defaults(handler=_list)
    remove = actions.add_parser("remove", help="remove a subscriber")
    remove.add_argument("phone")
    remove.set_defaults(handler=_remove)
    for action in (add, listing, remove):
        add_settings_arguments(action, CommonSettings)
