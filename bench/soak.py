"""Soak with faults: thousands of simulated stations through the whole stack while it breaks.

Run ``python -m bench.soak`` (``--help`` for the sizes). On this machine, all on 127.0.0.1, it
starts a private PostgreSQL and Mosquitto, a TCP proxy in front of the database (every
AquaWatch process connects through it), two ingest workers, two alert workers, two notifiers
(log channel), the API and the simulator, and then, in turn: restarts the broker, kills
an ingest worker, an alert worker and a notifier with SIGKILL (each restarted a few seconds
later, as a supervisor would), restarts PostgreSQL, and cuts the database off at the proxy.
The soak supervises its processes as systemd would: one that exits is started again.
Every second it records the readings stored, the lag (how old the newest stored reading is)
and each process's memory. A few stations lose their link for longer than the offline limit
(then backfill), so each must raise one offline alert and text its subscribers. At the end it
checks that every reading published was stored once, those alerts were opened once each, no
alert was opened twice, a fresh engine over the stored data finds no alert the workers missed,
no SMS went out twice, the lag came back to normal in time, and memory stayed flat once the
faults were over; it writes ``report.md``, ``report.json`` and ``soak.png`` to ``--out``.

The simulator runs in real time with every station sampling every ``--interval-s`` (the
registry's stations sample every 5 minutes; the soak packs more samples into its time).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg.conninfo import make_conninfo

from alerts import load_profiles
from alerts.config.quality import load_quality_config
from alerts.engine import Engine
from alerts.notify.subscribers import NewSubscriber, add_subscriber
from alerts.settings import AlertSettings
from bench.proxy import TcpProxy
from bench.soak_report import (
    Report,
    Sample,
    judge_lag,
    judge_memory,
    plot,
    settled,
    summarize_memory,
    write,
)
from bench.soak_services import Service, start_services, stop_all
from stations import Registry, load_registry, sync_registry
from telemetry import migrate
from tests.support.mosquitto import Broker
from tests.support.postgres import PrivateCluster, postgres_bindir

HISTORY_S = 3600.0  # what the alert workers keep (the least they may)
OUTAGES = 5  # stations whose link goes down long enough to be alerted offline
TICK_S = 1.0
LEASE_S = 5.0
SETTLE_S = 2 * LEASE_S + 5 * TICK_S  # after a fault, for the leases to settle again


# When each fault comes, as a share of the run: all in its first part, so that the rest shows
# the recovery and a steady state.
SCHEDULE = (0.06, 0.12, 0.18, 0.24, 0.30, 0.36)


@dataclass(frozen=True)
class SoakConfig:
    """How big and how long."""

    stations: int = 3000
    interval_s: int = 30
    duration_s: float = 600.0
    cut_s: float = 60.0
    recover_s: float = 120.0  # the lag is back to normal this long after the last fault
    out: Path = Path("artifacts/soak")


def offline_grace_s(config: SoakConfig) -> float:
    """Silence allowed: more than a database cut, the sample before it and the catch-up.

    The engines judge silence by what the database holds, so a cut longer than this would
    make every station look offline once the database is back, until ingest catches up.
    """
    return max(3.0 * config.interval_s, config.cut_s + config.interval_s + 15)


def outages(config: SoakConfig) -> list[dict[str, object]]:
    """Link outages longer than the offline limit at the first ``OUTAGES`` stations."""
    start = 0.2 * config.duration_s  # after the stations' first samples
    at = datetime.fromtimestamp(time.time() + start, UTC).isoformat()
    # Silent past the limit, and on past the faults and the leases settling after them, so
    # that an owner of each station ticks while it is silent.
    last_fault_end = SCHEDULE[-1] * config.duration_s + config.cut_s
    grace = offline_grace_s(config)
    # Then as long again, so that a worker slowed by a loaded machine still ticks in it.
    length = max(grace, last_fault_end + SETTLE_S - start) + grace + 5
    length = min(length, config.duration_s - start - 3)  # and backfilled before the end
    return [
        {"at": at, "station": station, "event": "outage", "duration": f"{length:.0f}s"}
        for station in outage_stations()
    ]


def outage_stations() -> list[str]:
    return list(load_registry().stations)[:OUTAGES]


def every_interval(registry: Registry, interval_s: int) -> Registry:
    """The registry with every station sampling every ``interval_s``."""
    stations = tuple(
        s.model_copy(update={"sampling_interval_s": interval_s}) for s in registry.stations.values()
    )
    return Registry(stations, tuple(registry.boards.values()), source=registry.source)


def write_registry(registry: Registry, path: Path) -> None:
    """The registry with its clones as a stations file every process reads."""
    doc = {
        "stations": [s.model_dump(mode="json") for s in registry.stations.values()],
        "boards": [b.model_dump(mode="json") for b in registry.boards.values()],
    }
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


def prepare(url: str, registry: Registry) -> None:
    """Schema, stations, and a few subscribers (phones of the test range) to text."""
    migrate(url)
    with psycopg.connect(url) as conn:
        sync_registry(conn, registry, deactivate_missing=True)
        followed = list(registry.stations)[:12]
        for n, station in enumerate(followed):
            new = NewSubscriber(
                name=f"soak {n}", phone=f"09120000{n:02d}", stations=(station,), min_severity=1
            )
            add_subscriber(conn, new)
        conn.commit()


def stored(conn: psycopg.Connection[Any]) -> tuple[int, float | None]:
    """Readings stored, and the newest reading's time."""
    row = conn.execute(
        "SELECT count(*), extract(epoch FROM max(time))::float8 FROM readings"
    ).fetchone()
    assert row is not None
    return int(row[0]), None if row[1] is None else float(row[1])


def leases(conn: psycopg.Connection[Any], services: list[Service]) -> dict[str, int]:
    """How many stations each running alert worker holds the lease of (renewed or not: a
    tick longer than the lease leaves it expired, not given up)."""
    # A worker is named after its host, its process and a random part (leases.worker_name).
    roles = {str(s.process.pid): s.role for s in services if s.process is not None}
    rows = conn.execute(
        "SELECT owner, count(*) FROM station_leases WHERE owner IS NOT NULL GROUP BY owner"
    ).fetchall()
    return {roles[pid]: int(n) for owner, n in rows if (pid := owner.rsplit("-", 2)[1]) in roles}


def api_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def say(began: float, what: str) -> None:
    """Progress on stderr."""
    print(f"[{time.monotonic() - began:6.1f} s] {what}", file=sys.stderr, flush=True)


def run(config: SoakConfig) -> Report:
    """Run the soak and return its report (also written to ``config.out``)."""
    began = time.monotonic()
    report = Report(config={k: str(v) for k, v in asdict(config).items()})
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    shutil.rmtree(logs, ignore_errors=True)  # readiness is read from these logs
    logs.mkdir()
    bindir = postgres_bindir()
    if bindir is None:
        sys.exit("the soak needs the PostgreSQL server binaries (Debian package postgresql)")
    cluster = PrivateCluster(bindir)
    broker = Broker()
    services: list[Service] = []
    proxy: TcpProxy | None = None
    try:
        admin = cluster.start()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE aquawatch")
        direct = make_conninfo(admin, dbname="aquawatch")
        proxy = TcpProxy(cluster.port)
        through_proxy = make_conninfo(direct, port=str(proxy.port))
        broker.start()
        registry = every_interval(load_registry().with_clones(config.stations), config.interval_s)
        stations_file = Path(tempfile.mkdtemp(prefix="soak-")) / "stations.yaml"
        write_registry(registry, stations_file)
        prepare(direct, registry)
        say(began, "database and broker ready")
        settings = {
            "AQUAWATCH_TICK_S": str(TICK_S),
            "AQUAWATCH_LEASE_S": str(LEASE_S),
            "AQUAWATCH_HISTORY_S": str(HISTORY_S),
            "AQUAWATCH_OFFLINE_GRACE_S": str(offline_grace_s(config)),
        }
        services = start_services(through_proxy, broker.url, stations_file, logs, settings=settings)
        api_port = int(services[-1].args[-1])
        say(began, "services ready; simulating")
        _run_faults(config, report, services, cluster, broker, proxy, direct, api_port, out)
        say(began, "checking")
        _check(report, services, direct, registry, grace_s=offline_grace_s(config), began=began)
        say(began, "checked")
    finally:
        stop_all(services)
        if proxy is not None:
            proxy.close()
        broker.close()
        cluster.stop()
    report.seconds = time.monotonic() - began
    write(report, out)
    return report


def _run_faults(
    config: SoakConfig,
    report: Report,
    services: list[Service],
    cluster: PrivateCluster,
    broker: Broker,
    proxy: TcpProxy,
    direct: str,
    api_port: int,
    out: Path,
) -> None:
    by_role = {s.role: s for s in services}
    duration = config.duration_s
    scenario = out / "outages.yaml"
    scenario.write_text(yaml.safe_dump({"name": "soak outages", "events": outages(config)}))
    sim_log = (out / "logs" / "simulate.log").open("wb")
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "telemetry.cli",
            "simulate",
            "--stations",
            str(config.stations),
            "--duration",
            f"{int(duration)}s",
            "--scenario",
            str(scenario),
            "--stall-timeout-s",
            str(int(duration * 2)),
            "--seed",
            "1",
        ],
        env={**services[0].env, "AQUAWATCH_MQTT_URL": broker.gateway_url},
        stdout=subprocess.PIPE,
        stderr=sim_log,
    )
    sim_log_path = out / "logs" / "simulate.log"
    deadline = time.monotonic() + 60
    while "connected to" not in sim_log_path.read_text(errors="replace"):
        if simulator.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the simulator did not start:\n{sim_log_path.read_text()}")
        time.sleep(0.1)
    t0 = time.monotonic()  # the faults' clock starts once the simulator is publishing

    def restart(role: str) -> Callable[[], None]:
        def act() -> None:
            service = by_role[role]
            service.held = True
            service.kill()
            time.sleep(3)
            service.start()
            service.held = False

        return act

    def restart_broker() -> None:
        broker.stop()
        time.sleep(2)
        broker.start()

    def cut() -> None:
        proxy.cut()
        time.sleep(config.cut_s)
        proxy.restore()

    schedule: list[tuple[float, str, Callable[[], None]]] = [
        (SCHEDULE[0], "broker restarted", restart_broker),
        (SCHEDULE[1], "ingest-1 kill -9", restart("ingest-1")),
        (SCHEDULE[2], "alerts-1 kill -9", restart("alerts-1")),
        (SCHEDULE[3], "notify-1 kill -9", restart("notify-1")),
        (SCHEDULE[4], "PostgreSQL restarted", cluster.restart),
        (SCHEDULE[5], f"database cut {config.cut_s:.0f} s", cut),
    ]
    faults_done = threading.Event()
    ends: list[float] = []

    def faults() -> None:
        for share, what, act in schedule:
            time.sleep(max(0.0, t0 + share * duration - time.monotonic()))
            report.faults.append((round(time.monotonic() - t0, 1), what))
            act()
            ends.append(time.monotonic() - t0)
        faults_done.set()

    thread = threading.Thread(target=faults, name="faults", daemon=True)
    thread.start()
    samples: list[Sample] = []

    def sample() -> None:
        now = time.monotonic() - t0
        try:
            with psycopg.connect(direct, autocommit=True, connect_timeout=2) as conn:
                count, newest = stored(conn)
                held = leases(conn, services)
        except psycopg.OperationalError:
            return  # PostgreSQL is restarting: no sample this second
        running = simulator.poll() is None
        lag = None if newest is None or not running else max(0.0, time.time() - newest)
        rss = {s.role: r for s in services if (r := s.rss_mb()) is not None}
        samples.append(Sample(now, count, lag, api_up(api_port), rss, held))

    def supervise() -> None:
        for service in services:
            if service.exited():
                report.restarts.append((round(time.monotonic() - t0, 1), service.role))
                service.start()

    while simulator.poll() is None:
        supervise()
        sample()
        time.sleep(1.0)
        if time.monotonic() - t0 > duration * 3:
            report.failures.append("the simulator did not finish in three times its time")
            simulator.kill()
    summary_out, _ = simulator.communicate(timeout=60)
    sim_log.close()
    summary = json.loads(summary_out.decode().strip().splitlines()[-1])
    report.published = int(summary["readings"])
    thread.join(timeout=config.cut_s + 60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sample()
        if samples and samples[-1].stored >= report.published:
            break
        time.sleep(1)
    if not faults_done.is_set():
        report.failures.append("the faults did not all happen within the run")
    last_fault_end = ends[-1] if ends else 0.0
    time.sleep(3 * TICK_S)  # the alert workers evaluate the last readings
    judge_lag(
        report,
        samples,
        interval_s=config.interval_s,
        last_fault_end=last_fault_end,
        recover_s=config.recover_s,
    )
    summarize_memory(report, samples)
    # Once the leases have settled after the last fault, nothing should grow.
    judge_memory(report, settled(report, samples, after=last_fault_end + SETTLE_S))
    title = (
        f"AquaWatch soak: {config.stations} stations sampling every {config.interval_s} s for"
        f" {config.duration_s:.0f} s (faults marked)"
    )
    plot(samples, report, out / "soak.png", title=title)


def _check(
    report: Report,
    services: list[Service],
    direct: str,
    registry: Registry,
    *,
    grace_s: float,
    began: float,
) -> None:
    with psycopg.connect(direct) as conn:
        count = conn.execute(
            "SELECT count(*), count(DISTINCT (station_id, parameter_id, time)) FROM readings"
        ).fetchone()
        assert count is not None
        report.stored, report.distinct = int(count[0]), int(count[1])
        rejected = conn.execute("SELECT reason, count(*) FROM rejects GROUP BY 1").fetchall()
        report.rejected = {str(reason): int(n) for reason, n in rejected}
        opened = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE n > 1) FROM"
            " (SELECT a.id, count(e.id) FILTER (WHERE e.kind = 'opened') AS n"
            "  FROM alerts a LEFT JOIN alert_events e ON e.alert_id = a.id GROUP BY a.id) x"
        ).fetchone()
        assert opened is not None
        report.alerts, report.opened_twice = int(opened[0]), int(opened[1])
        by_rule = conn.execute("SELECT rule_id, count(*) FROM alerts GROUP BY 1").fetchall()
        report.alerts_by_rule = {str(rule): int(n) for rule, n in by_rule}
        rows = conn.execute(
            "SELECT s, count(a.id) FROM unnest(%s::text[]) AS s LEFT JOIN alerts a"
            " ON a.station_id = s AND a.rule_id = 'station.offline' GROUP BY s",
            (outage_stations(),),
        ).fetchall()
        report.expected_offline = {str(station): int(n) for station, n in rows}
        gaps = conn.execute(
            "SELECT station_id, extract(epoch FROM max(ingested_at - time))::float8"
            " FROM readings WHERE station_id = ANY(%s) GROUP BY 1",
            (outage_stations(),),
        ).fetchall()
        report.outage_delays_s = {str(station): round(float(g or 0), 1) for station, g in gaps}
    wrong = {s: n for s, n in report.expected_offline.items() if n != 1}
    if wrong:
        report.failures.append(f"offline alerts expected once at each outage, got {wrong}")
    if report.stored != report.published:
        report.failures.append(f"{report.published} readings published, {report.stored} stored")
        with psycopg.connect(direct) as conn:
            # Every station samples at the same instants: the short ones lost samples.
            rows = conn.execute(
                "WITH n AS (SELECT station_id, count(DISTINCT time) AS samples,"
                "  min(time) AS first, max(time) AS last FROM readings GROUP BY 1)"
                " SELECT station_id, samples, first, last FROM n"
                " WHERE samples < (SELECT max(samples) FROM n) ORDER BY 1 LIMIT 20"
            ).fetchall()
        report.failures += [f"short: {r}" for r in rows]
    if report.distinct != report.stored:
        report.failures.append("a reading was stored twice")
    if report.opened_twice:
        report.failures.append(f"{report.opened_twice} alerts were opened twice")
    sent: dict[str, int] = {}
    for service in services:
        if service.role.startswith("notify"):
            for line in service.log.read_text(errors="replace").splitlines():
                if " SMS #" in line:
                    number = line.split(" SMS #")[1].split()[0]
                    sent[number] = sent.get(number, 0) + 1
    report.sms = len(sent)
    report.sms_twice = sum(1 for n in sent.values() if n > 1)
    if report.sms_twice:
        report.failures.append(f"{report.sms_twice} SMS went out twice")
    stop_all([s for s in services if s.role.startswith("alerts")])
    say(began, "alert workers stopped; a fresh engine evaluates everything stored")
    # A fresh engine over everything stored must find no alert the workers did not open.
    engine = Engine(
        AlertSettings(history_s=HISTORY_S, offline_grace_s=grace_s),
        registry=registry,
        profiles=load_profiles(),
        quality=load_quality_config(),
    )
    with psycopg.connect(direct) as conn:
        now = time.time()
        engine.load(conn, now=now)
        tick = engine.tick(conn, now=now)
    report.missed_alerts = [
        f"{t.station_id} {t.rule_id}" for t in tick.transitions if t.kind.value == "opened"
    ]
    if report.missed_alerts:
        report.failures.append(f"{len(report.missed_alerts)} alerts were never opened")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=SoakConfig.stations)
    parser.add_argument("--interval-s", type=int, default=SoakConfig.interval_s)
    parser.add_argument("--duration-s", type=float, default=SoakConfig.duration_s)
    parser.add_argument("--cut-s", type=float, default=SoakConfig.cut_s)
    parser.add_argument("--recover-s", type=float, default=SoakConfig.recover_s)
    parser.add_argument("--out", type=Path, default=SoakConfig.out)
    args = parser.parse_args()
    config = SoakConfig(
        stations=args.stations,
        interval_s=args.interval_s,
        duration_s=args.duration_s,
        cut_s=args.cut_s,
        recover_s=args.recover_s,
        out=args.out,
    )
    report = run(config)
    print((config.out / "report.md").read_text())
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
