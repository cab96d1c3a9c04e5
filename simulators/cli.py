"""``aquawatch simulate``: publish realistic readings for every configured station."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from pydantic import Field

from simulators.datalogger import FtpLoggers
from simulators.errors import PublisherError
from simulators.publisher import MqttPublisher, StationPublishers, read_credentials
from simulators.runner import Schedule, StationRunner, Tally, run
from simulators.scenario import Script, compile_scenarios, load_scenario, parse_duration
from stations import Station, load_registry
from telemetry import (
    Clock,
    CommonSettings,
    ConfigError,
    StationState,
    StatusDocument,
    SystemClock,
    TopicScheme,
    add_settings_arguments,
    encode_status,
    parse_mqtt_url,
    settings_from_args,
)

logger = logging.getLogger(__name__)

_EPILOG = """\
examples:
  aquawatch simulate                                  # every station, real time, until Ctrl-C
  aquawatch simulate --speed 60 --scenario do_crash_tonight
  aquawatch simulate --fast --duration 2d --stations 1000 --seed 7
  aquawatch simulate --fast --start 2026-11-22T00:00+07:00 --duration 6h --scenario faults

Built-in scenarios: do_crash_tonight, cod_pulse, faults (simulators/scenarios/).
The last line on stdout is a JSON summary of what the broker acknowledged."""


class SimulatorSettings(CommonSettings):
    """Settings of ``aquawatch simulate`` (``AQUAWATCH_*`` variables or flags)."""

    max_inflight: int = Field(
        default=1000, ge=1, le=60_000, description="most QoS 1 messages awaiting PUBACK"
    )
    sim_client_id: str | None = Field(
        default=None, description="MQTT client id (default: aquawatch-sim-<pid>)"
    )
    backfill_batch: int = Field(
        default=50, ge=1, le=1_000, description="most samples per backfill message"
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, description="seconds to wait for CONNACK")
    stall_timeout_s: float = Field(
        default=60.0, gt=0, description="seconds without PUBACK before giving up"
    )
    drain_timeout_s: float = Field(
        default=30.0, ge=0, description="seconds to wait for the last PUBACKs on exit"
    )
    ftp_url: str = Field(
        default="ftp://127.0.0.1:2121",
        description="the FTP inbox for --transport ftp (ftps:// for explicit TLS)",
    )
    credentials_file: Path | None = Field(
        default=None,
        description="ID:SECRET lines (as `stations credentials issue` prints): each station"
        " connects as itself",
    )


def _start(
    raw: str | None, *, fast: bool, duration: float | None, zone_name: str, now: float
) -> float:
    if raw is None or raw == "now":
        return now - duration if fast and duration is not None and raw is None else now
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        msg = f"--start: {raw!r} is not ISO 8601 (e.g. 2026-11-22T00:00+07:00)"
        raise ConfigError(msg) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone_name))
    return moment.timestamp()


def _duration(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        seconds = parse_duration(raw)
    except ValueError as exc:
        raise ConfigError(f"--duration: {exc}") from exc
    if seconds <= 0:
        msg = f"--duration must be positive, got {raw!r}"
        raise ConfigError(msg)
    return seconds


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s: finishing", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _publisher(
    settings: SimulatorSettings, stations: list[Station], topics: TopicScheme, *, transport: str
) -> MqttPublisher | StationPublishers | FtpLoggers:
    """Each station on its own login when credentials are given, else one connection."""
    if transport == "ftp":
        if settings.credentials_file is None:
            msg = "--transport ftp: each station logs in as itself; set --credentials-file"
            raise ConfigError(msg)
        secrets = read_credentials(settings.credentials_file)
        missing = [s.id for s in stations if s.id not in secrets]
        if missing:
            msg = f"{settings.credentials_file} has no secret for {', '.join(missing)}"
            raise ConfigError(msg)
        return FtpLoggers(settings.ftp_url, stations, secrets)
    endpoint = parse_mqtt_url(settings.mqtt_url.get_secret_value())
    offline = encode_status(StatusDocument(StationState.OFFLINE))
    if settings.credentials_file is not None:
        secrets = read_credentials(settings.credentials_file)
        missing = [s.id for s in stations if s.id not in secrets]
        if missing:
            msg = f"{settings.credentials_file} has no secret for {', '.join(missing)}"
            raise ConfigError(msg)
        return StationPublishers(
            endpoint,
            {s.id: secrets[s.id] for s in stations},
            wills={s.id: (topics.status(s.id), offline) for s in stations},
            max_inflight=settings.max_inflight,
            connect_timeout_s=settings.connect_timeout_s,
            stall_timeout_s=settings.stall_timeout_s,
        )
    return MqttPublisher(
        endpoint,
        client_id=settings.sim_client_id or f"aquawatch-sim-{os.getpid()}",
        max_inflight=settings.max_inflight,
        will=(topics.status(stations[0].id), offline),
        connect_timeout_s=settings.connect_timeout_s,
        stall_timeout_s=settings.stall_timeout_s,
    )


def _simulate(args: argparse.Namespace, *, clock: Clock) -> int:
    """Run ``aquawatch simulate``; "now" (the default start, the end of --fast) is ``clock``'s."""
    settings = settings_from_args(SimulatorSettings, args)
    if args.speed <= 0:
        msg = f"--speed must be positive, got {args.speed:g}"
        raise ConfigError(msg)
    if args.stations is not None and args.stations < 1:
        msg = f"--stations must be at least 1, got {args.stations}"
        raise ConfigError(msg)
    registry = load_registry(settings.stations_file)
    if args.stations:
        registry = registry.with_clones(args.stations)
    stations = list(registry.stations.values())
    topics = TopicScheme(settings.topic_prefix)
    duration = _duration(args.duration)
    now = clock.time()
    start = _start(
        args.start, fast=args.fast, duration=duration, zone_name=stations[0].timezone, now=now
    )
    live_from = None
    if args.history is not None:
        if args.fast or args.start is not None:
            msg = "--history starts the run in the past itself: use it without --fast or --start"
            raise ConfigError(msg)
        live_from = start
        start -= _duration(args.history) or 0.0
    origin = start if live_from is None else live_from
    end = origin + duration if duration is not None else (now if args.fast else None)
    scripts = compile_scenarios(
        [load_scenario(name) for name in args.scenario], registry, start=start
    )
    runners = [
        StationRunner(
            s,
            seed=args.seed,
            script=scripts.get(s.id, Script()),
            topics=topics,
            batch_size=settings.backfill_batch,
        )
        for s in stations
    ]
    schedule = Schedule(start, end, speed=args.speed, fast=args.fast, live_from=live_from)
    publisher = _publisher(settings, stations, topics, transport=args.transport)
    logger.info(
        "simulating %d stations from %s, %s",
        len(runners),
        _iso(start),
        "as fast as possible" if args.fast else f"at {args.speed:g}x real time",
    )
    if not args.fast and args.speed > 1 and (end is None or end > now):
        logger.warning(
            "at --speed %g the simulated clock overtakes the wall clock; the ingester rejects "
            "readings dated too far ahead (start in the past with --start)",
            args.speed,
        )
    tally = Tally()
    stop = threading.Event()
    status = 0
    reached = start
    with publisher, _stop_on_signals(stop):
        try:
            reached = run(runners, publisher, schedule=schedule, tally=tally, stop=stop)
        except PublisherError as exc:
            logger.error("stopped: %s", exc)
            status = 1
        if not publisher.drain(settings.drain_timeout_s):
            logger.error("%d messages were never acknowledged", publisher.unacknowledged)
            status = 1
        unacknowledged = publisher.unacknowledged
    summary = {
        "messages": tally.messages,
        "samples": tally.samples,
        "readings": tally.readings,
        "stations": len(runners),
        "backfill_messages": tally.backfill_messages,
        "status_messages": tally.status_messages,
        "dropped_samples": sum(r.dropped for r in runners),
        "withheld_samples": sum(r.withheld(reached) for r in runners),
        "unacknowledged": unacknowledged,
        "refused": publisher.refused,
        "seed": args.seed,
        "start": _iso(start),
        "end": _iso(reached),
    }
    print(json.dumps(summary), flush=True)
    return status


def _run(args: argparse.Namespace) -> int:
    return _simulate(args, clock=SystemClock())


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch simulate``."""
    parser = subparsers.add_parser(
        "simulate",
        help="publish simulated station readings over MQTT",
        description=(
            "Publish physically plausible readings for every configured station over MQTT "
            "(QoS 1), with scripted events and faults."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--start",
        metavar="ISO",
        help="simulated start, ISO 8601 (default: now; with --fast --duration D: now - D)",
    )
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="N",
        help="simulated seconds per real second (default 1)",
    )
    pace.add_argument(
        "--fast",
        action="store_true",
        help="publish as fast as the broker acknowledges (until --duration, or until now)",
    )
    parser.add_argument(
        "--history",
        metavar="D",
        help="first publish the last D (e.g. 6h) at once, then run live from now",
    )
    parser.add_argument(
        "--duration", metavar="D", help="simulated time to run, e.g. 6h, 2d (default: forever)"
    )
    parser.add_argument(
        "--stations", type=int, metavar="N", help="simulate N stations (configured + clones)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="FILE",
        help="scenario YAML file or built-in name (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--transport",
        choices=("mqtt", "ftp"),
        default="mqtt",
        help="mqtt (default), or ftp: Circular 10/2021 loggers pushing a file per instant"
        " to the FTP inbox (--ftp-url), holding them while the link is down",
    )
    add_settings_arguments(parser, SimulatorSettings)
    parser.set_defaults(handler=_run)
