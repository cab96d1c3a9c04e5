"""``aquawatch ftp`` (the FTP inbox) and ``aquawatch files --watch DIR``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ingest.errors import WorkerDiedError
from ingest.files.ftpd import FtpOptions
from ingest.files.inbox import FileInbox
from ingest.files.settings import FtpSettings, WatchSettings
from stations import credentials, load_registry, sync_registry
from telemetry import (
    SystemClock,
    add_settings_arguments,
    connect,
    migrate,
    settings_from_args,
    stop_event,
)

logger = logging.getLogger(__name__)


def _prepare(url: str, stations_file: Path | None) -> None:
    registry = load_registry(stations_file)
    migrate(url)
    with connect(url) as conn:
        sync_registry(conn, registry, deactivate_missing=False)


def _run_ftp(args: argparse.Namespace) -> int:
    settings = settings_from_args(FtpSettings, args)
    _prepare(settings.database_url.get_secret_value(), settings.stations_file)
    options = FtpOptions(
        host=settings.ftp_host,
        port=settings.ftp_port,
        passive_ports=settings.passive_range(),
        masquerade_address=settings.ftp_masquerade_address or None,
        certfile=settings.ftp_certfile,
        keyfile=settings.ftp_keyfile,
        tls_required=settings.ftp_tls_required,
        max_upload_bytes=settings.ftp_max_upload_bytes,
        login_failure_delay_s=settings.ftp_login_failure_delay_s,
    )
    inbox = FileInbox(
        settings,
        clock=SystemClock(),
        ftp=options,
        verify=credentials.verify,
    )
    assert inbox.server is not None
    host, port = inbox.server.address
    scheme = "ftps (AUTH TLS)" if inbox.server.tls else "ftp"
    logger.info("FTP inbox listening on %s://%s:%d, spool %s", scheme, host, port, inbox.spool.root)
    return _serve(inbox)


def _run_files(args: argparse.Namespace) -> int:
    settings = settings_from_args(WatchSettings, args)
    _prepare(settings.database_url.get_secret_value(), settings.stations_file)
    inbox = FileInbox(settings, clock=SystemClock(), watch=args.watch, settle_s=settings.settle_s)
    logger.info("taking files from %s, spool %s", args.watch, inbox.spool.root)
    return _serve(inbox)


def _serve(inbox: FileInbox) -> int:
    try:
        counts = inbox.run(stop_event())
    except WorkerDiedError as exc:
        logger.critical("file inbox failed (%s); exiting with status 1 to be restarted", exc)
        return 1
    print(
        json.dumps(
            {
                "stored": counts.stored,
                "rejected": counts.rejected,
                "again": counts.again,
                "readings": counts.readings,
            }
        ),
        flush=True,
    )
    return 0


def register_ftp(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch ftp``."""
    cmd = subparsers.add_parser(
        "ftp", help="the FTP inbox for Circular 10/2021 files (one account per station)"
    )
    add_settings_arguments(cmd, FtpSettings)
    cmd.set_defaults(handler=_run_ftp)


def register_files(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch files --watch DIR``."""
    cmd = subparsers.add_parser(
        "files", help="take Circular 10/2021 files another FTP daemon leaves in a folder"
    )
    cmd.add_argument(
        "--watch",
        type=Path,
        required=True,
        metavar="DIR",
        help="the daemon's upload folder, one sub-folder per station id",
    )
    add_settings_arguments(cmd, WatchSettings)
    cmd.set_defaults(handler=_run_files)
