"""``aquawatch up``: the whole service with simulators, in one process tree, for a laptop or demo.

Settings given as ``AQUAWATCH_*`` variables or flags are used as they are. Otherwise ``up``
takes a local PostgreSQL when it finds one, else starts the embedded one, and runs a
Mosquitto of its own (installing Debian's package first when it is missing and ``up`` runs
as root) with the rules ``aquawatch broker config`` writes: each simulated station logs in
with a secret of its own, issued every run, and AquaWatch's processes with a service
account. ``--embedded`` ignores whatever the machine runs. Each run creates or resets a
local officer account with a new password, printed once.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import class_row, scalar_row

from ingest import (
    SERVICE_ACCOUNT,
    Account,
    BrokerAccess,
    service_url,
    shipped_broker_config,
    write_private,
)
from stack.errors import StackError
from stack.services import (
    EmbeddedPostgres,
    PrivateMosquitto,
    find_local_postgres,
    install_debian_packages,
    mosquitto_binary,
    port_open,
    private_dir,
    state_dir,
)
from stations import Registry, StoredCredential, credentials, load_registry, sync_registry
from telemetry import (
    AquaWatchError,
    CommonSettings,
    add_settings_arguments,
    connect,
    migrate,
    parse_mqtt_url,
    redact_url,
    setting_given,
    settings_from_args,
    stop_event,
)
from viz import Passwords, Role, UserIn, set_account

logger = logging.getLogger(__name__)

_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
_PR_SET_PDEATHSIG = 1
OFFICER = "officer"


@dataclass
class Stack:
    """What ``up`` started or found, and how to stop it."""

    state: Path
    database_url: str = ""
    database_note: str = ""
    mqtt_url: str = ""
    mqtt_note: str = ""
    stoppers: list[EmbeddedPostgres | PrivateMosquitto] = field(default_factory=list)

    @property
    def credentials_file(self) -> Path:
        """The simulated stations' secrets (``ID:SECRET`` lines), private to this user."""
        return self.state / "station-credentials"

    def stop(self) -> None:
        for service in reversed(self.stoppers):
            service.stop()


def _database(stack: Stack, settings: CommonSettings, *, given: bool, embedded: bool) -> None:
    if given:
        stack.database_url = settings.database_url.get_secret_value()
        stack.database_note = "as configured"
        return
    local = None if embedded else find_local_postgres()
    if local is not None:
        stack.database_url, stack.database_note = local, "local PostgreSQL"
        return
    server = EmbeddedPostgres(stack.state)
    stack.database_url = server.start()
    stack.database_note = f"embedded PostgreSQL, data in {server.data}"
    stack.stoppers.append(server)


def _station_logins(stack: Stack, registry: Registry) -> list[StoredCredential]:
    """Give every station a new secret (as the officer's password, new every run).

    The simulators read them from a private file and connect each station as itself.
    """
    with connect(stack.database_url) as conn:
        sync_registry(conn, registry, deactivate_missing=False)
        issued = {sid: credentials.issue(conn, sid) for sid in registry.stations}
        stored = credentials.active(conn)
    lines = "".join(f"{sid}:{secret}\n" for sid, secret in issued.items())
    write_private(stack.credentials_file, lines)
    return stored


def _broker(stack: Stack, settings: CommonSettings, registry: Registry, *, given: bool) -> None:
    if given:
        stack.mqtt_url, stack.mqtt_note = settings.mqtt_url.get_secret_value(), "as configured"
        return
    installed = ""
    if mosquitto_binary() is None:
        print(
            "aquawatch up: no Mosquitto on this machine; installing Debian's mosquitto package"
            " with apt-get (its own system service is enabled by the package)",
            flush=True,
        )
        install_debian_packages(["mosquitto"], log=stack.state / "apt.log")
        installed = ", installed with apt-get"
    service = Account(SERVICE_ACCOUNT, credentials.new_secret())
    access = BrokerAccess(
        _station_logins(stack, registry), service, topic_prefix=settings.topic_prefix
    )
    broker = PrivateMosquitto(stack.state / "mosquitto", shipped_broker_config(), access=access)
    broker.start()
    stack.mqtt_url = service_url(service, host="127.0.0.1", port=broker.port)
    stack.mqtt_note = (
        f"Mosquitto{installed}: each station logs in as itself, AquaWatch as {SERVICE_ACCOUNT}"
    )
    stack.stoppers.append(broker)


def _officer(url: str) -> str:
    """Create or reset the local officer account; return its new password."""
    password = secrets.token_urlsafe(12)
    new = UserIn(username=OFFICER, role=Role.OFFICER, password=password)
    with connect(url) as conn:
        set_account(conn, new, passwords=Passwords(), actor="up")
    return password


def _children(
    args: argparse.Namespace, stack: Stack
) -> list[tuple[str, list[str], dict[str, str]]]:
    # The notifier uses AQUAWATCH_SMS_URL when set (Kannel), else the log channel.
    children = [
        ("ingest", ["ingest"], {"AQUAWATCH_METRICS_PORT": str(args.metrics_port)}),
        ("alerts", ["alerts"], {}),
        ("notify", ["notify"], {}),
        ("api", ["api"], {"AQUAWATCH_PORT": str(args.api_port)}),
        (
            "ftp",
            ["ftp", "--spool-dir", str(stack.state / "ftp"), "--ftp-port", str(args.ftp_port)],
            {},
        ),
    ]
    if not args.no_simulators:
        simulate = ["simulate", "--speed", str(args.speed), "--seed", str(args.seed)]
        if args.history:
            simulate += ["--history", args.history]
        for scenario in args.scenario or []:
            simulate += ["--scenario", scenario]
        logins = stack.credentials_file
        extra = {"AQUAWATCH_CREDENTIALS_FILE": str(logins)} if logins.exists() else {}
        children.append(("simulate", simulate, extra))
    return children


def _wait_until_ready(name: str, process: subprocess.Popen[bytes], port: int) -> None:
    """Wait until ``process`` listens on ``port``: the ingester answers /metrics once
    subscribed, the FTP inbox its port once it takes logins."""
    deadline = time.monotonic() + 60
    while not port_open("127.0.0.1", port):
        if process.poll() is not None:
            msg = f"{name} exited with {process.returncode} before it was ready"
            raise StackError(msg)
        if time.monotonic() > deadline:
            msg = f"{name} was not ready after 60 s"
            raise StackError(msg)
        time.sleep(0.1)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if ``up`` dies, even by SIGKILL (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class _LastMinute:
    readings: int
    stations: int
    latest: datetime | None


@dataclass(frozen=True, slots=True)
class _OpenAlerts:
    advisory: int
    warning: int
    critical: int


def _report(url: str) -> str:
    with psycopg.connect(url, connect_timeout=5) as conn:
        with conn.cursor(row_factory=class_row(_LastMinute)) as cur:
            recent = cur.execute(
                "SELECT count(*) AS readings, count(DISTINCT station_id) AS stations,"
                " max(time) AS latest FROM readings"
                " WHERE ingested_at > now() - interval '1 minute'"
            ).fetchone() or _LastMinute(readings=0, stations=0, latest=None)
        with conn.cursor(row_factory=scalar_row) as cur:
            total = cur.execute("SELECT count(*) FROM readings").fetchone() or 0
        with conn.cursor(row_factory=class_row(_OpenAlerts)) as cur:
            alerts = cur.execute(
                "SELECT count(*) FILTER (WHERE severity = 1) AS advisory,"
                " count(*) FILTER (WHERE severity = 2) AS warning,"
                " count(*) FILTER (WHERE severity = 3) AS critical"
                " FROM alerts WHERE state <> 'resolved'"
            ).fetchone() or _OpenAlerts(advisory=0, warning=0, critical=0)
    latest = recent.latest
    when = latest.astimezone(_LOCAL).strftime("%Y-%m-%d %H:%M:%S +07") if latest else "-"
    return (
        f"readings stored: {total} in all; last minute: {recent.readings} from"
        f" {recent.stations} stations (newest sample {when}); open alerts: advisory"
        f" {alerts.advisory}, warning {alerts.warning}, critical {alerts.critical}"
    )


def _banner(
    args: argparse.Namespace, stack: Stack, *, names: list[str], boards: list[str], password: str
) -> str:
    db_url = redact_url(stack.database_url)
    api = f"http://127.0.0.1:{args.api_port}"
    broker = parse_mqtt_url(stack.mqtt_url)
    simulators = "" if args.no_simulators else f" (simulators at {args.speed}x real time)"
    return (
        "\nAquaWatch is up\n"
        f"  database   {db_url}  ({stack.database_note})\n"
        f"  broker     {broker.display()}  ({stack.mqtt_note})\n"
        f"  ftp inbox  ftp://127.0.0.1:{args.ftp_port}  (Circular 10/2021 files; user: station)\n"
        f"  processes  {', '.join(names)}{simulators}\n"
        f"  dashboard  {api}/dashboard  (public view; officer login below)\n"
        f"  boards     {api}/boards/ID for ID in {', '.join(boards)}\n"
        f"  api        {api}/docs\n"
        f"  officer    user {OFFICER}, password {password}  (new every run, shown only here)\n"
        f"  metrics    http://127.0.0.1:{args.metrics_port}/metrics\n"
        f"  look       psql '{db_url}' -c 'SELECT station_id, count(*), max(time)"
        " FROM readings GROUP BY 1 ORDER BY 1'\n"
        "Ctrl-C stops everything.\n"
    )


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_args(CommonSettings, args)
    if args.metrics_port <= 0:
        msg = "--metrics-port must be a port number (it tells when ingest is ready)"
        print(f"aquawatch up: {msg}", file=sys.stderr)
        return 2
    stop = stop_event()
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    stack = Stack(state=Path(args.state_dir))
    try:
        private_dir(stack.state, mode=0o755)
        given_database = setting_given(CommonSettings, args, "database_url") and not args.embedded
        given_broker = setting_given(CommonSettings, args, "mqtt_url") and not args.embedded
        _database(stack, settings, given=given_database, embedded=args.embedded)
        migrate(stack.database_url)
        registry = load_registry(settings.stations_file)
        stack.credentials_file.unlink(missing_ok=True)
        _broker(stack, settings, registry, given=given_broker)
        password = _officer(stack.database_url)
        env = {
            **os.environ,
            "AQUAWATCH_DATABASE_URL": stack.database_url,
            "AQUAWATCH_MQTT_URL": stack.mqtt_url,
            "AQUAWATCH_TOPIC_PREFIX": settings.topic_prefix,
        }
        if settings.stations_file is not None:
            env["AQUAWATCH_STATIONS_FILE"] = str(settings.stations_file)
        ready_ports = {"ingest": args.metrics_port, "ftp": args.ftp_port}
        for name, argv, extra in _children(args, stack):
            command = [sys.executable, "-m", "telemetry.cli", "--log-level", args.log_level, *argv]
            process = subprocess.Popen(
                command, env={**env, **extra}, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
            )
            processes.append((name, process))
            # Subscribed before anything publishes, even on a first run; the FTP inbox
            # listening before the banner gives its address.
            if name in ready_ports:
                _wait_until_ready(name, process, ready_ports[name])
        names = [name for name, _ in processes]
        boards = list(registry.boards)
        print(_banner(args, stack, names=names, boards=boards, password=password), flush=True)
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
    cmd.add_argument(
        "--embedded",
        action="store_true",
        help="ignore the machine's PostgreSQL and the URL settings: embedded database, own broker",
    )
    cmd.add_argument(
        "--state-dir",
        default=str(state_dir()),
        help="where the embedded database and the broker keep their data (default: %(default)s)",
    )
    cmd.add_argument("--metrics-port", type=int, default=9464, help="ingest /metrics port")
    cmd.add_argument("--api-port", type=int, default=8080, help="HTTP API port")
    cmd.add_argument("--ftp-port", type=int, default=2121, help="FTP inbox port")
    cmd.add_argument("--report-every", type=float, default=10.0, help="seconds between reports")
    add_settings_arguments(cmd, CommonSettings)
    cmd.set_defaults(handler=_run)
