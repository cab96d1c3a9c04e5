"""``aquawatch stations``: check the registry, sync it, and issue or revoke station credentials."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pydantic import Field, SecretStr

from stations import credentials
from stations.registry import load_registry
from stations.sync import sync_registry
from telemetry import (
    BrokerControlError,
    CommonSettings,
    add_settings_arguments,
    connect,
    dynsec,
    parse_mqtt_url,
    settings_from_args,
)


def _check(args: argparse.Namespace) -> int:
    settings = settings_from_args(CommonSettings, args)
    registry = load_registry(settings.stations_file)
    for station in registry.stations.values():
        print(f"{station.id:10} {station.kind.value:13} {station.name_vi} / {station.name_en}")
    print(f"{len(registry)} stations, {len(registry.boards)} boards in {registry.source}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    settings = settings_from_args(CommonSettings, args)
    registry = load_registry(settings.stations_file)
    if args.clones:
        registry = registry.with_clones(args.clones)
    with connect(settings.database_url.get_secret_value()) as conn:
        count = sync_registry(conn, registry, deactivate_missing=not args.clones)
    print(f"synced {count} stations and {len(registry.boards)} boards from {registry.source}")
    return 0


class CredentialSettings(CommonSettings):
    """Where credentials are kept, and the running broker to tell at once."""

    broker_admin_url: SecretStr | None = Field(
        default=None,
        description="the broker's admin login (admin.env from `aquawatch broker config`):"
        " issued and revoked secrets take effect on the running broker at once",
    )


def _tell_broker(settings: CredentialSettings, commands: list[dict[str, Any]]) -> int:
    """Apply ``commands`` to the running broker when its admin login is set; 1 if it failed."""
    if settings.broker_admin_url is None:
        print(
            "the broker takes it after `aquawatch broker config` and a restart"
            " (set AQUAWATCH_BROKER_ADMIN_URL to change the running broker at once)",
            file=sys.stderr,
        )
        return 0
    endpoint = parse_mqtt_url(settings.broker_admin_url.get_secret_value())
    try:
        dynsec.apply(endpoint, commands)
    except BrokerControlError as exc:
        print(
            f"the database holds the change but the running broker did not take it: {exc};"
            " run `aquawatch broker config` and restart the broker",
            file=sys.stderr,
        )
        return 1
    print(f"the broker at {endpoint.display()} took it at once", file=sys.stderr)
    return 0


def _issue(args: argparse.Namespace) -> int:
    settings = settings_from_args(CredentialSettings, args)
    with connect(settings.database_url.get_secret_value()) as conn:
        secret = credentials.issue(conn, args.station)
    # The only time the secret is shown: give it to the station's logger now.
    print(f"{args.station}:{secret}", flush=True)
    return _tell_broker(settings, dynsec.set_station(args.station, secret, settings.topic_prefix))


def _revoke(args: argparse.Namespace) -> int:
    settings = settings_from_args(CredentialSettings, args)
    with connect(settings.database_url.get_secret_value()) as conn:
        ended = credentials.revoke(conn, args.station)
    print(f"{args.station}: {'revoked' if ended else 'had no active credential'}")
    return _tell_broker(settings, dynsec.remove_station(args.station))


def _list(args: argparse.Namespace) -> int:
    settings = settings_from_args(CommonSettings, args)
    with connect(settings.database_url.get_secret_value()) as conn:
        for stored in credentials.active(conn):
            print(f"{stored.station_id:10} issued {stored.issued_at.isoformat()}")
    return 0


def _register_credentials(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    parser = actions.add_parser(
        "credentials", help="station secrets for MQTT and FTP: issue, revoke, list"
    )
    verbs = parser.add_subparsers(dest="credentials_command", required=True)
    issue = verbs.add_parser(
        "issue",
        help="create or rotate a station's secret and print it once as ID:SECRET",
        description="Create or rotate a station's secret and print it once as ID:SECRET. Only"
        " a hash is stored; the previous secret stops working at once for FTP, and for MQTT at"
        " once with AQUAWATCH_BROKER_ADMIN_URL, else after `aquawatch broker config` and a"
        " broker restart.",
    )
    issue.add_argument("station", metavar="ID", help="the station's id (e.g. KG-SR-01)")
    add_settings_arguments(issue, CredentialSettings)
    issue.set_defaults(handler=_issue)
    revoke = verbs.add_parser("revoke", help="end a station's secret (a stolen logger, say)")
    revoke.add_argument("station", metavar="ID", help="the station's id")
    add_settings_arguments(revoke, CredentialSettings)
    revoke.set_defaults(handler=_revoke)
    listing = verbs.add_parser("list", help="stations with an active secret, and when issued")
    add_settings_arguments(listing, CommonSettings)
    listing.set_defaults(handler=_list)


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch stations check|sync|credentials``."""
    stations = subparsers.add_parser("stations", help="the station registry")
    actions = stations.add_subparsers(dest="stations_command", required=True)
    check = actions.add_parser("check", help="validate the registry file and list it")
    add_settings_arguments(check, CommonSettings)
    check.set_defaults(handler=_check)
    sync = actions.add_parser("sync", help="write the registry to the stations table")
    sync.add_argument(
        "--clones",
        type=int,
        default=0,
        metavar="N",
        help="register N stations (the configured ones plus clones) for load tests",
    )
    add_settings_arguments(sync, CommonSettings)
    sync.set_defaults(handler=_sync)
    _register_credentials(actions)
