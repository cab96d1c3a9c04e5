"""``aquawatch ingest``: run one ingest worker; ``aquawatch broker config``: the broker's rules."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ingest.broker_access import (
    ADMIN_ENV,
    DEFAULT_HOSTNAMES,
    SERVICE_ENV,
    BrokerOptions,
    write_broker_config,
)
from ingest.errors import WorkerDiedError
from ingest.service import IngestService
from ingest.settings import BrokerSettings, IngestSettings
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


def _broker_config(args: argparse.Namespace) -> int:
    settings = settings_from_args(BrokerSettings, args)
    port = args.port or (8883 if args.tls else 1883)
    with connect(settings.database_url.get_secret_value()) as conn:
        stations = credentials.active(conn)
    written = write_broker_config(
        args.out,
        stations,
        BrokerOptions(
            port=port,
            bind=args.bind,
            hostnames=tuple(args.hostname or DEFAULT_HOSTNAMES),
            tls=args.tls,
            gateways=tuple(args.gateway or ()),
            topic_prefix=settings.topic_prefix,
            share_group=settings.share_group,
        ),
        now=SystemClock().now(),
    )
    for path in written:
        print(path)
    print(
        f"{len(stations)} stations may publish. Start the broker with"
        f" mosquitto -c {args.out / 'mosquitto.conf'}; AquaWatch's processes read"
        f" AQUAWATCH_MQTT_URL from {args.out / SERVICE_ENV}; with AQUAWATCH_BROKER_ADMIN_URL"
        f" from {args.out / ADMIN_ENV}, `aquawatch stations credentials` changes the running"
        " broker at once (else run this again and restart the broker)"
    )
    return 0


def register_broker_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch broker config``."""
    broker = subparsers.add_parser("broker", help="the MQTT broker's configuration")
    actions = broker.add_subparsers(dest="broker_command", required=True)
    cmd = actions.add_parser(
        "config",
        help="write a Mosquitto configuration that lets each station publish only as itself",
        description="Write DIR/mosquitto.conf, DIR/data/dynamic-security.json (accounts with"
        " hashed passwords and what each may do, from the registry's station credentials),"
        " DIR/service.env (AQUAWATCH_MQTT_URL with the service account, for AquaWatch's own"
        " processes) and DIR/admin.env (AQUAWATCH_BROKER_ADMIN_URL, with which `aquawatch"
        " stations credentials` changes the running broker at once). The service and admin"
        " secrets are kept across runs.",
    )
    cmd.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write")
    cmd.add_argument("--port", type=int, default=0, help="listener port (1883, 8883 with --tls)")
    cmd.add_argument(
        "--bind", default=None, metavar="ADDRESS", help="listen on this address only (default all)"
    )
    cmd.add_argument(
        "--hostname",
        action="append",
        metavar="NAME",
        help="the broker's name or address as clients use it (repeatable; the first goes in"
        " service.env, all in the TLS certificate; default 127.0.0.1 and localhost)",
    )
    cmd.add_argument(
        "--tls", action="store_true", help="a TLS listener, with a generated CA and certificate"
    )
    cmd.add_argument(
        "--gateway",
        action="append",
        metavar="NAME",
        help="an account that may publish as any station, its URL in DIR/gateway-NAME.env"
        " (for simulators and load tests, never for real stations)",
    )
    add_settings_arguments(cmd, BrokerSettings)
    cmd.set_defaults(handler=_broker_config)
