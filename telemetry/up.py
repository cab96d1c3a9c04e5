"""``aquawatch up``: the whole service with simulators, in one process tree, for a laptop or demo.

Settings given as ``AQUAWATCH_*`` variables or flags are used as they are. Otherwise ``up``
takes a local PostgreSQL / Mosquitto when it finds one and starts embedded ones when not,
so a fresh machine needs nothing installed by hand.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from zoneinfo import ZoneInfo

import psycopg

from telemetry.errors import AquaWatchError
from telemetry.local_services import (
    EmbeddedBroker,
    EmbeddedPostgres,
    LocalServiceError,
    PrivateMosquitto,
    find_local_postgres,
    port_open,
    state_dir,
)
from telemetry.schema import migrate
from telemetry.settings import (
    CommonSettings,
    add_settings_arguments,
    parse_mqtt_url,
    redact_url,
    settings_from_args,
)
from telemetry.signals import stop_event

logger = logging.getLogger(__name__)

_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
_PR_SET_PDEATHSIG = 1


@dataclass
class Stack:
    """What ``up`` started or found, and how to stop it."""

    database_url: str = ""
    database_note: str = ""
    mqtt_url: str = ""
    mqtt_note: str = ""
    mqtt_is_amqtt: bool = False
    stoppers: list[EmbeddedPostgres | PrivateMosquitto | EmbeddedBroker] = field(
        default_factory=list
    )

    def stop(self) -> None:
        for service in reversed(self.stoppers):
            service.stop()


def _given(args: argparse.Namespace, name: str) -> bool:
    return getattr(args, f"setting_{name}") is not None or f"AQUAWATCH_{name.upper()}" in os.environ


def _database(stack: Stack, settings: CommonSettings, *, given: bool) -> None:
    if given:
        stack.database_url = settings.database_url.get_secret_value()
        stack.database_note = "as configured"
        return
    local = find_local_postgres()
    if local is not None:
        stack.database_url, stack.database_note = local, "local PostgreSQL"
        return
    embedded = EmbeddedPostgres(state_dir())
    stack.database_url = embedded.start()
    stack.database_note = f"embedded PostgreSQL, data in {embedded.data}"
    stack.stoppers.append(embedded)


def _broker(stack: Stack, settings: CommonSettings, *, given: bool) -> None:
    if given:
        stack.mqtt_url, stack.mqtt_note = settings.mqtt_url.get_secret_value(), "as configured"
        return
    if port_open("127.0.0.1", 1883):
        stack.mqtt_url, stack.mqtt_note = "mqtt://127.0.0.1:1883", "local MQTT broker"
        return
    if shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto"):
        config = resources.files("ingest").joinpath("broker/mosquitto.conf").read_text("utf-8")
        mosquitto = PrivateMosquitto(state_dir(), config)
        stack.mqtt_url = mosquitto.start()
        stack.mqtt_note = "Mosquitto started with ingest/broker/mosquitto.conf"
        stack.stoppers.append(mosquitto)
        return
    amqtt = EmbeddedBroker()
    stack.mqtt_url = amqtt.start()
    stack.mqtt_note = (
        "embedded amqtt broker (MQTT 3.1.1, demo only: install mosquitto for real use)"
    )
    stack.mqtt_is_amqtt = True
    stack.stoppers.append(amqtt)


def _children(
    args: argparse.Namespace, stack: Stack
) -> list[tuple[str, list[str], dict[str, str]]]:
    ingest_env = {"AQUAWATCH_METRICS_PORT": str(args.metrics_port)}
    ingest_args = ["ingest"]
    if stack.mqtt_is_amqtt:  # no v5, no shared subscriptions
        ingest_env["AQUAWATCH_SHARE_GROUP"] = ""
        ingest_args += ["--mqtt-protocol", "3.1.1"]
    # The notifier uses AQUAWATCH_SMS_URL when set (Kannel), else the log channel.
    children = [
        ("ingest", ingest_args, ingest_env),
        ("alerts", ["alerts"], {}),
        ("notify", ["notify"], {}),
        ("api", ["api"], {"AQUAWATCH_PORT": str(args.api_port)}),
    ]
    if not args.no_simulators:
        simulate = ["simulate", "--speed", str(args.speed), "--seed", str(args.seed)]
        if args.history:
            simulate += ["--history", args.history]
        for scenario in args.scenario or []:
            simulate += ["--scenario", scenario]
        children.append(("simulate", simulate, {}))
    return children


def _wait_until_ready(process: subprocess.Popen[bytes], port: int) -> None:
    """Wait until the ingester answers /metrics, which it does once subscribed."""
    deadline = time.monotonic() + 60
    while not port_open("127.0.0.1", port):
        if process.poll() is not None:
            msg = f"ingest exited with {process.returncode} before it was ready"
            raise LocalServiceError(msg)
        if time.monotonic() > deadline:
            msg = "ingest was not subscribed after 60 s"
            raise LocalServiceError(msg)
        time.sleep(0.1)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if ``up`` dies, even by SIGKILL (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _report(url: str) -> str:
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT station_id), max(time) FROM readings"
            " WHERE ingested_at > now() - interval '1 minute'"
        ).fetchone()
        total = conn.execute("SELECT count(*) FROM readings").fetchone()
        alerts = conn.execute(
            "SELECT count(*) FILTER (WHERE severity = 1), count(*) FILTER (WHERE severity = 2),"
            " count(*) FILTER (WHERE severity = 3) FROM alerts WHERE state <> 'resolved'"
        ).fetchone()
    recent, stations, latest = row if row else (0, 0, None)
    advisory, warning, critical = alerts if alerts else (0, 0, 0)
    when = latest.astimezone(_LOCAL).strftime("%Y-%m-%d %H:%M:%S +07") if latest else "-"
    return (
        f"readings stored: {total[0] if total else 0} in all; last minute: {recent} from"
        f" {stations} stations (newest sample {when}); open alerts: advisory {advisory},"
        f" warning {warning}, critical {critical}"
    )


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(CommonSettings, args)
    if args.metrics_port <= 0:
        print("aquawatch up: --metrics-port must be a port number (it tells when ingest is ready)",
              file=sys.stderr)  # fmt: skip
        return 2
    stack = Stack()
    stop = stop_event()
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        _database(stack, settings, given=_given(args, "database_url"))
        _broker(stack, settings, given=_given(args, "mqtt_url"))
        parse_mqtt_url(stack.mqtt_url)
        migrate(stack.database_url)
        env = {
            **os.environ,
            "AQUAWATCH_DATABASE_URL": stack.database_url,
            "AQUAWATCH_MQTT_URL": stack.mqtt_url,
            "AQUAWATCH_TOPIC_PREFIX": settings.topic_prefix,
        }
        if settings.stations_file is not None:
            env["AQUAWATCH_STATIONS_FILE"] = str(settings.stations_file)
        for name, argv, extra in _children(args, stack):
            command = [sys.executable, "-m", "telemetry.cli", "--log-level", args.log_level, *argv]
            processes.append(
                (name, subprocess.Popen(command, env={**env, **extra}, preexec_fn=_die_with_parent))
            )
            if name == "ingest":  # subscribed before anything publishes, even on a first run
                _wait_until_ready(processes[-1][1], args.metrics_port)
        db_url = redact_url(stack.database_url)
        print(
            "\nAquaWatch is up\n"
            f"  database   {db_url}  ({stack.database_note})\n"
            f"  broker     {parse_mqtt_url(stack.mqtt_url).display()}  ({stack.mqtt_note})\n"
            f"  processes  {', '.join(name for name, _ in processes)}"
            f" (simulators at {args.speed}x real time)\n"
            f"  api        http://127.0.0.1:{args.api_port}/docs"
            "  (first account: aquawatch users create-admin --username NAME)\n"
            f"  metrics    http://127.0.0.1:{args.metrics_port}/metrics\n"
            f"  look       psql '{db_url}' -c 'SELECT station_id, count(*), max(time)"
            " FROM readings GROUP BY 1 ORDER BY 1'\n"
            f"  topics     mosquitto_sub -t '{settings.topic_prefix}/v1/+/readings' -v\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stop.wait(args.report_every):
            for name, process in processes:
                if process.poll() is not None:
                    print(f"aquawatch up: {name} exited with {process.returncode}", file=sys.stderr)
                    return 1
            try:
                print(_report(stack.database_url), flush=True)
            except psycopg.Error as exc:
                print(f"database not answering: {exc}", file=sys.stderr)
        return 0
    except AquaWatchError as exc:
        print(f"aquawatch up: {exc}", file=sys.stderr)
        return 2
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        stack.stop()


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``aquawatch up``."""
    cmd = subparsers.add_parser("up", help="run the whole service with simulators (laptop, demo)")
    cmd.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    cmd.add_argument("--seed", type=int, default=1, help="simulator random seed")
    cmd.add_argument(
        "--history", default="6h", help="simulated past published at start, e.g. 6h ('' for none)"
    )
    cmd.add_argument("--scenario", action="append", help="simulator scenario file (repeatable)")
    cmd.add_argument("--no-simulators", action="store_true", help="run the service alone")
    cmd.add_argument("--metrics-port", type=int, default=9464, help="ingest /metrics port")
    cmd.add_argument("--api-port", type=int, default=8080, help="HTTP API port")
    cmd.add_argument("--report-every", type=float, default=10.0, help="seconds between reports")
    add_settings_arguments(cmd, CommonSettings)
    cmd.set_defaults(handler=_run)
