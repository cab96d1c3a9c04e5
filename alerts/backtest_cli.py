"""``aquawatch alerts backtest``: what the rules would have said over past data.

Reads the database read-only (one ``READ ONLY`` transaction) or a CSV file, runs the engine
in data time (``alerts.backtest``) and prints one JSON line per alert and a summary; it
writes nothing to the database and sends nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from alerts.backtest import (
    DEFAULT_TICK_S,
    WRITERS,
    BacktestResult,
    Source,
    in_memory,
    load_csv,
    run_backtest,
)
from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import Profiles, load_profiles
from alerts.errors import BacktestError
from alerts.persistence import store
from alerts.settings import AlertSettings
from stations import Station, load_registry
from telemetry import add_settings_arguments, settings_from_args


def _when(text: str) -> float:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"{text!r} is not an ISO 8601 time"
        raise argparse.ArgumentTypeError(msg) from exc
    if parsed.tzinfo is None:
        msg = f"{text!r} has no UTC offset (e.g. 2026-11-01T00:00+07:00)"
        raise argparse.ArgumentTypeError(msg)
    return parsed.timestamp()


def read_only(url: str) -> psycopg.Connection[Any]:
    """A connection whose transactions are ``READ ONLY`` (and see one snapshot)."""
    conn = psycopg.connect(url)
    conn.read_only = True
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return conn


def stored(conn: psycopg.Connection[Any], station_ids: list[str]) -> Source:
    """A source over the stored readings of ``station_ids``."""

    def read(after: float, until: float) -> Any:
        return store.dated_between(conn, station_ids, after=after, until=until)

    return read


def in_force(
    conn: psycopg.Connection[Any], profiles: Profiles, stations: list[Station]
) -> Profiles:
    """``profiles`` with the limits people changed through the API."""
    return profiles.with_edits(store.threshold_edits(conn, profiles, stations))


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(AlertSettings, args)
    registry = load_registry(settings.stations_file)
    if not args.station:
        raise BacktestError("name at least one --station")
    unknown = [s for s in args.station if s not in registry.stations]
    if unknown:
        msg = f"unknown stations: {', '.join(unknown)}"
        raise BacktestError(msg)
    stations: list[Station] = [registry.stations[s] for s in args.station]
    profiles = load_profiles(args.profiles)
    profiles.validate(registry.stations.values())
    quality = load_quality_config()
    tick_s = float(args.every)
    result: BacktestResult
    if args.input is not None:
        if len(stations) != 1:
            raise BacktestError("--input holds one station's readings: name one --station")
        batch = load_csv(args.input, station_id=stations[0].id)
        if not len(batch):
            msg = f"{args.input}: no readings"
            raise BacktestError(msg)
        start = args.start if args.start is not None else float(batch.epoch.min()) - 1.0
        end = args.end if args.end is not None else float(batch.epoch.max())
        result = run_backtest(
            in_memory(batch),
            stations=stations,
            profiles=profiles,
            quality=quality,
            start=start,
            end=end,
            tick_s=tick_s,
            settings=settings,
        )
    else:
        if args.start is None or args.end is None:
            raise BacktestError("give --from and --to (or --input FILE.csv)")
        ids = [s.id for s in stations]
        with read_only(settings.database_url.get_secret_value()) as conn:
            if args.profiles is None:
                profiles = in_force(conn, profiles, stations)
            result = run_backtest(
                stored(conn, ids),
                stations=stations,
                profiles=profiles,
                quality=quality,
                start=args.start,
                end=args.end,
                tick_s=tick_s,
                settings=settings,
            )
            conn.rollback()
    WRITERS[args.format](result, sys.stdout)
    return 0


def register_backtest(alerts: argparse.ArgumentParser) -> None:
    """Add ``aquawatch alerts backtest`` under the ``alerts`` command's parser."""
    actions = alerts.add_subparsers(dest="alerts_command", metavar="{backtest}")
    cmd = actions.add_parser(
        "backtest",
        help="replay past readings through the alert rules (writes and sends nothing)",
        description="Run the alert engine over stored readings (read-only) or a CSV file in"
        " data time, and print the alerts it would have raised.",
    )
    cmd.add_argument(
        "--station", action="append", default=[], metavar="ID", help="a station (repeatable)"
    )
    cmd.add_argument("--from", dest="start", type=_when, help="start, ISO 8601 with offset")
    cmd.add_argument("--to", dest="end", type=_when, help="end, ISO 8601 with offset")
    cmd.add_argument(
        "--input",
        type=Path,
        metavar="FILE.csv",
        help="readings of one station instead of the database: time, then parameter codes",
    )
    cmd.add_argument(
        "--profiles",
        type=Path,
        metavar="DIR",
        help="threshold profiles to try (*.yaml) instead of the built-in ones and their edits",
    )
    cmd.add_argument("--format", choices=sorted(WRITERS), default="json", help="output format")
    cmd.add_argument(
        "--every",
        type=float,
        default=DEFAULT_TICK_S,
        metavar="SECONDS",
        help=f"data time between evaluations (default {DEFAULT_TICK_S:.0f})",
    )
    add_settings_arguments(cmd, AlertSettings)
    cmd.set_defaults(handler=_run)
