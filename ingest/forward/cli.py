"""``aquawatch forward``: pass readings upstream as Circular 10/2021 files."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from ingest.forward.forwarder import Forwarder
from ingest.forward.receivers import load_receivers, parse_receiver_url
from ingest.forward.settings import ForwardSettings
from telemetry import (
    ConfigError,
    SystemClock,
    add_settings_arguments,
    connect,
    migrate,
    settings_from_args,
    stop_event,
)

logger = logging.getLogger(__name__)


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(ForwardSettings, args)
    if (args.to is None) == (args.config is None):
        msg = "give one of --to URL or --config FILE"
        raise ConfigError(msg)
    if args.to is not None:
        if urlsplit(args.to).password is not None:
            msg = (
                "--to must not hold a password (anyone can read command lines):"
                " set AQUAWATCH_FORWARD_PASSWORD"
            )
            raise ConfigError(msg)
        password = settings.forward_password
        receivers = [
            parse_receiver_url(
                args.to, password=password.get_secret_value() if password is not None else None
            )
        ]
    else:
        receivers = load_receivers(args.config)
    url = settings.database_url.get_secret_value()
    migrate(url)
    with connect(url) as conn:
        forwarder = Forwarder(
            conn,
            receivers,
            clock=SystemClock(),
            batch_files=settings.forward_batch_files,
            since=timedelta(hours=settings.forward_since_h),
            retry_min_s=settings.forward_retry_min_s,
            retry_max_s=settings.forward_retry_max_s,
            timeout_s=settings.forward_timeout_s,
            ca_file=settings.forward_ca_file,
            log_retention_days=settings.forward_log_retention_days,
        )
        names = ", ".join(r.name for r in receivers)
        logger.info("forwarding to %s", names)
        forwarder.run(stop_event(), poll_s=settings.forward_poll_s, once=args.once)
    counts = forwarder.counts
    print(
        json.dumps(
            {"sent": counts.sent, "confirmed": counts.confirmed, "failures": counts.failures}
        ),
        flush=True,
    )
    return 1 if args.once and counts.failures else 0


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch forward``."""
    cmd = subparsers.add_parser(
        "forward", help="pass readings upstream as Circular 10/2021 files over FTP or FTPS"
    )
    cmd.add_argument(
        "--to",
        metavar="URL",
        help="ftp://user@host:port/path or ftps://...; password from AQUAWATCH_FORWARD_PASSWORD",
    )
    cmd.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="YAML list of receivers, each with its stations and parameters",
    )
    cmd.add_argument(
        "--once",
        action="store_true",
        help="forward what is pending, then exit (status 1 when a receiver failed)",
    )
    add_settings_arguments(cmd, ForwardSettings)
    cmd.set_defaults(handler=_run)
