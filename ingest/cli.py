"""``aquawatch ingest``: run one ingest worker."""

from __future__ import annotations

import argparse
import logging

from ingest.errors import WorkerDiedError
from ingest.service import IngestService
from ingest.settings import IngestSettings
from stations import load_registry, sync_registry
from telemetry import (
    SystemClock,
    add_settings_arguments,
    connect,
    migrate,
    settings_from_args,
    stop_event,
)

logger = logging.getLogger(__name__)


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(IngestSettings, args)
    url = settings.database_url.get_secret_value()
    registry = load_registry(settings.stations_file)
    migrate(url)
    with connect(url) as conn:
        sync_registry(conn, registry, deactivate_missing=False)
    stop = stop_event()
    try:
        IngestService(settings, protocol=args.mqtt_protocol, clock=SystemClock()).run(stop)
    except WorkerDiedError as exc:
        logger.critical("ingest worker failed (%s); exiting with status 1 to be restarted", exc)
        return 1
    return 0


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch ingest``."""
    cmd = subparsers.add_parser(
        "ingest", help="take readings from MQTT into the database (one worker)"
    )
    cmd.add_argument(
        "--mqtt-protocol",
        choices=("auto", "5", "3.1.1"),
        default="auto",
        help="MQTT protocol; auto tries v5 and falls back to 3.1.1",
    )
    add_settings_arguments(cmd, IngestSettings)
    cmd.set_defaults(handler=_run)
