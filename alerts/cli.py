"""``aquawatch alerts``: run one alert worker."""

from __future__ import annotations

import argparse
import logging

from alerts.backtest_cli import register_backtest
from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.engine import Engine
from alerts.persistence.leases import Leases, worker_name
from alerts.settings import AlertSettings
from stations import load_registry
from telemetry import (
    ConfigError,
    SystemClock,
    add_settings_arguments,
    migrate,
    settings_from_args,
    stop_event,
)

logger = logging.getLogger(__name__)


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(AlertSettings, args)
    if settings.lease_s <= settings.tick_s:
        msg = f"--lease-s {settings.lease_s} must be longer than --tick-s {settings.tick_s}"
        raise ConfigError(msg)
    registry = load_registry(settings.stations_file)
    profiles = load_profiles()
    profiles.validate(registry.stations.values())
    quality = load_quality_config()
    url = settings.database_url.get_secret_value()
    migrate(url)
    stop = stop_event()
    leases = Leases(worker_name(), list(registry.stations), lease_s=settings.lease_s)
    engine = Engine(settings, registry=registry, profiles=profiles, quality=quality, leases=leases)
    engine.run(url, stop, clock=SystemClock())
    return 0


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch alerts``."""
    cmd = subparsers.add_parser(
        "alerts", help="evaluate committed readings and raise alerts (one worker; run any number)"
    )
    add_settings_arguments(cmd, AlertSettings)
    cmd.set_defaults(handler=_run)
    register_backtest(cmd)
