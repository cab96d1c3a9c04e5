"""``aquawatch stations``: check the registry file and sync it to the database."""

from __future__ import annotations

import argparse

from stations.registry import load_registry
from stations.sync import sync_registry
from telemetry import CommonSettings, add_settings_arguments, connect, settings_from_args


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


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch stations check|sync``."""
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
