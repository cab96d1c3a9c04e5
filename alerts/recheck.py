"""``aquawatch qc recheck``: flag a range of stored readings again.

After a change of the QC configuration (``alerts/config/quality.yaml``) or of a sensor's
limits, readings already stored keep the flags they were given. This command evaluates a
station's range again with the checks as configured now, in data time, a chunk at a time
with the stored neighbours on each side (as the engine's history pass does), and stores the
flags that changed. It records no alerts: episodes found under other limits belong to the
backtest, not to the record.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

import psycopg

from alerts.config.quality import QualityConfig, load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.history import HistoryPass, HistoryReport
from alerts.settings import AlertSettings
from stations import Station, load_registry
from telemetry import ConfigError, add_settings_arguments, migrate, settings_from_args


def recheck(
    conn: psycopg.Connection[Any],
    station: Station,
    *,
    start: float,
    end: float,
    quality: QualityConfig,
    context_s: float,
    chunk_s: float,
) -> HistoryReport:
    """Flag the readings of ``station`` dated in [start, end] again, committing each chunk.

    Returns:
        What was read and how many flags changed.
    """
    evaluator = HistoryPass(
        quality=quality, profiles=load_profiles(), context_s=context_s, notice_s=0.0
    )
    step = float(station.sampling_interval_s)
    report = HistoryReport()
    at = start
    while at <= end:
        until = min(at + chunk_s, end)
        report.add(
            evaluator.run(conn, station, start=at, end=until, until=until + step, alerts=False)
        )
        conn.commit()
        at = until + step / 2
    return report


def _time(text: str, flag: str) -> float:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"{flag} {text!r} is not an ISO 8601 time"
        raise ConfigError(msg) from exc
    if parsed.tzinfo is None:
        msg = f"{flag} {text!r} needs an offset (+07:00 or Z)"
        raise ConfigError(msg)
    return parsed.timestamp()


def _recheck(args: argparse.Namespace) -> int:
    settings = settings_from_args(AlertSettings, args)
    registry = load_registry(settings.stations_file)
    station = registry.stations.get(args.station)
    if station is None:
        msg = f"no station {args.station!r} in the registry"
        raise ConfigError(msg)
    start, end = _time(args.start, "--from"), _time(args.end, "--to")
    if end < start:
        msg = "--to is before --from"
        raise ConfigError(msg)
    url = settings.database_url.get_secret_value()
    migrate(url)
    with psycopg.connect(url) as conn:
        report = recheck(
            conn,
            station,
            start=start,
            end=end,
            quality=load_quality_config(),
            context_s=settings.history_s,
            chunk_s=settings.history_chunk_s,
        )
    print(
        f"{station.id}: {report.readings} readings read in {report.chunks} chunks,"
        f" {report.flagged} QC flags changed"
    )
    return 0


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch qc recheck``."""
    qc = subparsers.add_parser("qc", help="data-quality flags of stored readings")
    commands = qc.add_subparsers(dest="qc_command", required=True, metavar="COMMAND")
    cmd = commands.add_parser(
        "recheck", help="flag a station's stored readings again (after a QC or limit change)"
    )
    cmd.add_argument("--station", required=True, help="station id, e.g. KG-SR-01")
    cmd.add_argument("--from", dest="start", required=True, help="ISO 8601 time with offset")
    cmd.add_argument("--to", dest="end", required=True, help="ISO 8601 time with offset")
    add_settings_arguments(cmd, AlertSettings)
    cmd.set_defaults(handler=_recheck)
