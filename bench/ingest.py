"""Ingest benchmark: broker ceiling, raw COPY, the AquaWatch pipeline and a naive baseline.

Run ``python -m bench.ingest`` (options: ``--help``). Every part uses the same broker (a
private Mosquitto started from ``ingest/broker/mosquitto.conf`` unless ``--mqtt-url`` is
given) and the same PostgreSQL server (a private cluster that fsyncs its commits and keeps
their timestamps, unless ``--database-url`` names a server; a fresh database on it, dropped
at the end). It prints a table and the ratios the foundation issue targets: the pipeline
draining a backlog at >= 60 % of the bare subscriber's msg/s and >= 20x the naive baseline.
Then the pipeline's maximum: the rate it commits end to end while a publisher runs beside it
on the same cores; and, at half that rate, paced, the publish-to-commit latency of every
message (p99 under 0.5 s), which needs ``track_commit_timestamp = on``. Every line gives the
machine's load averages.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from psycopg.rows import dict_row

from bench.database import bench_database
from ingest import shipped_broker_config
from stack import PrivateMosquitto
from stations import load_registry, sync_registry
from telemetry import PARAMETERS, migrate, parse_mqtt_url
from tests.support.postgres import PrivateCluster, postgres_bindir

STATIONS = ("KG-SR-01", "KG-SR-02", "KG-SR-03", "KG-CS-01", "KG-CS-02", "KG-EF-01", "KG-EF-02")
VALUES = {
    "temp": 29.8,
    "ph": 7.9,
    "do": 4.2,
    "sal": 14.1,
    "cond": 23000.0,
    "turb": 12.5,
    "tan": 0.31,
    "no2": 0.08,
}
READINGS_PER_MESSAGE = len(VALUES)
_AHEAD = 5_000  # most messages the sustained-rate publisher keeps uncommitted


@dataclass
class Row:
    name: str
    seconds: float
    messages: int

    @property
    def msg_rate(self) -> float:
        return self.messages / self.seconds

    @property
    def reading_rate(self) -> float:
        return self.messages * READINGS_PER_MESSAGE / self.seconds


def payload(n: int, *, base: float, now: bool = False) -> tuple[str, bytes]:
    station = STATIONS[n % len(STATIONS)]
    ts = time.time() if now else base + n // len(STATIONS)
    doc = {"station": station, "seq": n, "ts": ts, "values": VALUES}
    return station, orjson.dumps(doc)


def client(host: str, port: int, *, client_id: str, receive_maximum: int = 0) -> mqtt.Client:
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    c.max_inflight_messages_set(1000)  # publishers: a bounded window, well under 65,535
    c.max_queued_messages_set(0)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    c.connect(host, port, clean_start=False, properties=props)
    return c


def publish_backlog(host: str, port: int, prefix: str, count: int, *, base: float) -> float:
    """Publish ``count`` QoS 1 messages as fast as the broker acknowledges; return seconds."""
    pub = client(host, port, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}")
    pub.loop_start()
    started = time.perf_counter()
    # At most 5,000 unacknowledged, the oldest awaited first (re-scanning the list after
    # each publish made this phase quadratic: minutes for 100,000 messages).
    infos: deque[mqtt.MQTTMessageInfo] = deque()
    for n in range(count):
        station, body = payload(n, base=base)
        infos.append(pub.publish(f"{prefix}/v1/{station}/readings", body, qos=1))
        while len(infos) >= 5000:
            infos.popleft().wait_for_publish(30)
    for info in infos:
        info.wait_for_publish(60)
    elapsed = time.perf_counter() - started
    pub.disconnect()
    pub.loop_stop()
    return elapsed


def drain(
    host: str,
    port: int,
    *,
    client_id: str,
    receive_maximum: int,
    count: int,
    handle: Callable[[bytes], None],
    what: str,
) -> float:
    """Reconnect a persistent session, handle its ``count`` queued messages in the paho
    callback (auto-acknowledged), and return the seconds from the first to the last."""
    received = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
        nonlocal received, first, last
        handle(m.payload)
        received += 1
        if received == 1:
            first = time.perf_counter()
        if received == count:
            last = time.perf_counter()
            done.set()

    sub = client(host, port, client_id=client_id, receive_maximum=receive_maximum)
    sub.on_message = on_message
    sub.loop_start()
    if not done.wait(900):
        sys.exit(f"{what} got {received} of {count}")
    sub.disconnect()
    sub.loop_stop()
    return last - first


def bare_subscriber(host: str, port: int, prefix: str, count: int) -> Row:
    """(a) A persistent session's backlog drained by a bare paho subscriber."""
    client_id = f"bench-bare-{uuid.uuid4().hex[:6]}"
    topic = f"$share/bare/{prefix}/v1/+/readings"
    sub = client(host, port, client_id=client_id, receive_maximum=10_000)
    sub.subscribe(topic, qos=1)
    sub.loop(1.0)
    sub.disconnect()
    publish_backlog(host, port, prefix, count, base=time.time() - 10 * 86_400)
    seconds = drain(
        host,
        port,
        client_id=client_id,
        receive_maximum=10_000,
        count=count,
        handle=lambda payload: None,
        what="bare subscriber",
    )
    return Row("(a) bare paho subscriber, backlog", seconds, count)


def raw_copy(url: str, count: int) -> Row:
    """(b) COPY straight into readings, 10,000 rows a transaction."""
    rows = count * READINGS_PER_MESSAGE
    base = time.time() - 40 * 86_400
    ids = [str(PARAMETERS[c].id) for c in VALUES]
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for start in range(0, rows, 10_000):
            lines = []
            for r in range(start, min(rows, start + 10_000)):
                n = r // READINGS_PER_MESSAGE
                station = STATIONS[n % len(STATIONS)]
                ts = base + n // len(STATIONS)
                pid = ids[r % READINGS_PER_MESSAGE]
                lines.append(f"{ts!r}\t{station}\t{pid}\t4.2\n")
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY readings_raw_bench (epoch, station_id, parameter_id, value) FROM STDIN"
                ) as copy,
            ):
                copy.write("".join(lines))
            conn.execute(
                "INSERT INTO readings (time, station_id, parameter_id, value)"
                " SELECT to_timestamp(epoch), station_id, parameter_id, value"
                " FROM readings_raw_bench"
            )
            conn.execute("TRUNCATE readings_raw_bench")
            conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("TRUNCATE readings")
        conn.commit()
    return Row("(b) raw COPY into readings, 10k rows/tx", elapsed, count)


class Ingester:
    """``aquawatch ingest`` in a subprocess."""

    def __init__(self, url: str, mqtt_url: str, prefix: str) -> None:
        self.metrics_port = 19_000 + os.getpid() % 1000
        self.env = {
            **os.environ,
            "AQUAWATCH_DATABASE_URL": url,
            "AQUAWATCH_MQTT_URL": mqtt_url,
            "AQUAWATCH_TOPIC_PREFIX": prefix,
            "AQUAWATCH_CLIENT_ID": f"bench-ingest-{prefix}",
            "AQUAWATCH_METRICS_PORT": str(self.metrics_port),
        }
        self.log = Path(tempfile.mkstemp(prefix="bench-ingest-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "telemetry.cli", "--log-level", "WARNING", "ingest"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.metrics()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit(f"ingest did not start:\n{self.log.read_text()}")

    def metrics(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def pipeline(ingester: Ingester, host: str, port: int, prefix: str, count: int) -> Row:
    """(c) The same backlog, queued for the ingester's session, drained into the database."""
    ingester.start()  # creates the persistent session and its shared subscription
    ingester.stop()
    publish_backlog(host, port, prefix, count, base=time.time() - 20 * 86_400)
    target = count * READINGS_PER_MESSAGE
    ingester.start()
    first = last = 0.0
    while True:
        stored = ingester.metrics()["aquawatch_ingest_readings_stored_total"]
        now = time.perf_counter()
        if stored and not first:
            first = now
        if stored >= target:
            last = now
            break
        time.sleep(0.05)
    return Row("(c) AquaWatch ingest pipeline, backlog", last - first, count)


class Progress:
    """Polls the ingester's ``/metrics`` in a thread: messages committed, deepest queue seen."""

    def __init__(self, ingester: Ingester, *, every_s: float = 0.05) -> None:
        self._ingester = ingester
        self._every_s = every_s
        self._base = self._readings()
        self.committed = 0  # messages of READINGS_PER_MESSAGE readings since the start
        self.deepest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-progress", daemon=True)

    def _readings(self) -> float:
        return self._ingester.metrics()["aquawatch_ingest_readings_stored_total"]

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            metrics = self._ingester.metrics()
            stored = metrics["aquawatch_ingest_readings_stored_total"] - self._base
            self.committed = int(stored) // READINGS_PER_MESSAGE
            self.deepest = max(self.deepest, int(metrics["aquawatch_ingest_queue_depth"]))

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def wait_for(self, count: int, *, timeout: float = 120) -> None:
        """Wait until ``count`` messages are committed."""
        deadline = time.monotonic() + timeout
        while self.committed < count:
            if time.monotonic() > deadline:
                sys.exit(f"the ingester committed {self.committed} of {count} messages")
            time.sleep(self._every_s)


@dataclass
class Sustained:
    """The end-to-end rate the pipeline keeps up with while a publisher shares the machine."""

    rate: float  # messages committed per second, after the warm-up
    load: str


def sustained(
    ingester: Ingester, host: str, port: int, prefix: str, *, seconds: float, warmup_s: float
) -> Sustained:
    """Publish as fast as the pipeline commits, for ``seconds``, and return its commit rate.

    The publisher stays at most ``_AHEAD`` messages ahead of the commits (a broker backlog
    of about a second of work), so it spends no CPU on messages the pipeline could not take:
    the rate is the pipeline's, with the publisher it needs running beside it.
    """
    pub = client(host, port, client_id=f"bench-max-{uuid.uuid4().hex[:6]}")
    pub.loop_start()
    n = 0
    with Progress(ingester) as progress:
        started = time.monotonic()
        warm = started + warmup_s
        end = warm + seconds
        counted_from = -1
        while (now := time.monotonic()) < end:
            if counted_from < 0 and now >= warm:
                counted_from = progress.committed
                warm = now
            if n - progress.committed >= _AHEAD:
                time.sleep(0.002)
                continue
            station, body = payload(n, base=0, now=True)
            pub.publish(f"{prefix}/v1/{station}/readings", body, qos=1)
            n += 1
        rate = (progress.committed - counted_from) / (time.monotonic() - warm)
        load = loads()
        progress.wait_for(n)  # the next phase starts from an empty queue
    pub.disconnect()
    pub.loop_stop()
    return Sustained(rate, load)


@dataclass
class Latency:
    """Publish-to-commit latency of each message of a paced run."""

    offered: float  # messages per second asked of the publisher
    published: int
    publish_seconds: float  # from the first publish to the last
    commit_seconds: float  # from the first publish to the last commit
    deepest_queue: int  # most messages the ingester held uncommitted at a poll
    load: str
    seconds: npt.NDArray[np.float64]  # one per message found committed

    @property
    def published_rate(self) -> float:
        return self.published / self.publish_seconds

    @property
    def committed_rate(self) -> float:
        return len(self.seconds) / self.commit_seconds

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.seconds, q)) if len(self.seconds) else float("nan")


def paced(
    ingester: Ingester, url: str, host: str, port: int, prefix: str, *, rate: float, seconds: float
) -> Latency:
    """Publish-to-commit of every message published evenly at ``rate``, message by message.

    Each message carries its publish instant as its sample time; the server's commit
    timestamp of the transaction that stored it (``track_commit_timestamp``) ends it. Both
    are this machine's clock. A publisher that falls behind its schedule catches up at once,
    and its messages still count from the instant they were really published.
    """
    pub = client(host, port, client_id=f"bench-steady-{uuid.uuid4().hex[:6]}")
    pub.loop_start()
    total = int(rate * seconds)
    with Progress(ingester) as progress:
        begun = time.time()
        started = time.perf_counter()
        for n in range(total):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            station, body = payload(n, base=0, now=True)
            pub.publish(f"{prefix}/v1/{station}/readings", body, qos=1)
        publish_seconds = time.perf_counter() - started
        load = loads()
        progress.wait_for(total)
    pub.disconnect()
    pub.loop_stop()
    code = PARAMETERS[next(iter(VALUES))].id  # one reading per message
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS committed,"
            " extract(epoch FROM time)::float8 AS published FROM readings"
            " WHERE parameter_id = %s AND time >= to_timestamp(%s)",
            (code, begun),
        ).fetchall()
    committed = np.array([r["committed"] for r in rows], dtype=np.float64)
    published = np.array([r["published"] for r in rows], dtype=np.float64)
    return Latency(
        offered=rate,
        published=total,
        publish_seconds=publish_seconds,
        commit_seconds=float(committed.max() - published.min()) if len(rows) else float("nan"),
        deepest_queue=progress.deepest,
        load=load,
        seconds=committed - published,
    )


def settle_rollups(url: str) -> None:
    """Roll up what (b) and (c) stored, so that the ingester's rollup rounds during the
    steady phases cover what those phases stored, as they would in steady service."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT aquawatch_refresh_rollups(interval '0')")


def loads() -> str:
    """The machine's load averages over 1, 5 and 15 minutes."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def naive(url: str, host: str, port: int, prefix: str, count: int, *, per_reading: bool) -> Row:
    """(d) One INSERT per message (or per reading), autocommit, done in the paho callback."""
    client_id = f"bench-naive-{uuid.uuid4().hex[:6]}"
    sub = client(host, port, client_id=client_id, receive_maximum=1000)
    sub.subscribe(f"$share/naive/{prefix}/v1/+/readings", qos=1)
    sub.loop(1.0)
    sub.disconnect()
    publish_backlog(host, port, prefix, count, base=time.time() - 30 * 86_400)
    conn = psycopg.connect(url, autocommit=True)
    ids = {c: PARAMETERS[c].id for c in VALUES}

    def store(payload: bytes) -> None:
        doc = orjson.loads(payload)
        if per_reading:
            for code, value in doc["values"].items():
                conn.execute(
                    "INSERT INTO readings (time, station_id, parameter_id, value)"
                    " VALUES (to_timestamp(%s), %s, %s, %s) ON CONFLICT DO NOTHING",
                    (doc["ts"], doc["station"], ids[code], value),
                )
        else:
            conn.execute(
                "INSERT INTO readings (time, station_id, parameter_id, value)"
                " SELECT to_timestamp(%s), %s, unnest(%s::smallint[]), unnest(%s::float8[])"
                " ON CONFLICT DO NOTHING",
                (
                    doc["ts"],
                    doc["station"],
                    [ids[k] for k in doc["values"]],
                    list(doc["values"].values()),
                ),
            )

    seconds = drain(
        host,
        port,
        client_id=client_id,
        receive_maximum=1000,
        count=count,
        handle=store,
        what="naive subscriber",
    )
    conn.close()
    what = "one INSERT per reading" if per_reading else "one INSERT per message"
    return Row(f"(d{'2' if per_reading else ''}) naive: {what}, autocommit", seconds, count)


@contextmanager
def bench_server(database_url: str | None) -> Iterator[str]:
    """``database_url``, or a private cluster that commits durably and keeps commit timestamps."""
    if database_url:
        yield database_url
        return
    bindir = postgres_bindir()
    if bindir is None:
        sys.exit("no PostgreSQL server binaries (Debian package postgresql): give --database-url")
    # The cluster is a test cluster (no fsync) unless told otherwise: commits here cost what
    # they cost on a server that keeps its data.
    cluster = PrivateCluster(
        bindir,
        settings={
            "track_commit_timestamp": "on",
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
        },
    )
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@contextmanager
def bench_broker(mqtt_url: str | None) -> Iterator[str]:
    if mqtt_url:
        yield mqtt_url
        return
    parent = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    parent.chmod(0o755)  # mosquitto drops root and must reach its folder inside
    broker = PrivateMosquitto(parent / "mosquitto", shipped_broker_config())
    try:
        yield broker.start()
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="backlog size")
    parser.add_argument("--naive-messages", type=int, default=20_000, help="backlog for (d)")
    parser.add_argument(
        "--max-seconds", type=float, default=10.0, help="how long the sustained rate is counted"
    )
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a server where the bench may create a database; default: a private cluster",
    )
    parser.add_argument("--mqtt-url", default=None, help="default: a private Mosquitto")
    args = parser.parse_args()
    with (
        bench_broker(args.mqtt_url) as mqtt_url,
        bench_server(args.database_url) as server,
        bench_database(server) as url,
    ):
        endpoint = parse_mqtt_url(mqtt_url)
        host, port = endpoint.host, endpoint.port
        migrate(url)
        with psycopg.connect(url) as conn:
            sync_registry(conn, load_registry(), deactivate_missing=True)
            conn.execute(
                "CREATE UNLOGGED TABLE readings_raw_bench (epoch float8, station_id text,"
                " parameter_id smallint, value float8)"
            )
            kept = conn.execute("SHOW track_commit_timestamp").fetchone()
        where = f"broker {endpoint.display()}, database {url.split('@')[-1]}"
        size = f"{args.messages} messages x {READINGS_PER_MESSAGE} readings, QoS 1"
        print(f"{where}, {size}; load {loads()}", flush=True)
        a = bare_subscriber(host, port, f"bench-a-{uuid.uuid4().hex[:6]}", args.messages)
        print(f"  {a.name}: {a.msg_rate:,.0f} msg/s; load {loads()}", flush=True)
        b = raw_copy(url, args.messages)
        print(f"  {b.name}: {b.reading_rate:,.0f} readings/s; load {loads()}", flush=True)
        prefix = f"bench-c-{uuid.uuid4().hex[:6]}"
        ingester = Ingester(url, mqtt_url, prefix)
        c = pipeline(ingester, host, port, prefix, args.messages)
        print(f"  {c.name}: {c.msg_rate:,.0f} msg/s; load {loads()}", flush=True)
        settle_rollups(url)
        top = sustained(ingester, host, port, prefix, seconds=args.max_seconds, warmup_s=2.0)
        print(
            f"  sustained with the publisher running: {top.rate:,.0f} msg/s; load {top.load}",
            flush=True,
        )
        steady = None
        if kept is not None and kept[0] == "on":
            steady = paced(
                ingester,
                url,
                host,
                port,
                prefix,
                rate=top.rate / 2,
                seconds=args.latency_seconds,
            )
        ingester.stop()
        d = naive(
            url,
            host,
            port,
            f"bench-d-{uuid.uuid4().hex[:6]}",
            args.naive_messages,
            per_reading=False,
        )
        print(f"  {d.name}: {d.msg_rate:,.0f} msg/s; load {loads()}", flush=True)
        d2 = naive(
            url,
            host,
            port,
            f"bench-e-{uuid.uuid4().hex[:6]}",
            args.naive_messages // 4,
            per_reading=True,
        )
        print(f"  {d2.name}: {d2.msg_rate:,.0f} msg/s; load {loads()}", flush=True)
    print()
    header = ("measurement", "seconds", "messages", "msg/s", "readings/s")
    print("| {:47} | {:>8} | {:>9} | {:>8} | {:>10} |".format(*header))
    print(f"|{'-' * 49}|{'-' * 10}|{'-' * 11}|{'-' * 10}|{'-' * 12}|")
    for row in (a, b, c, d, d2):
        msgs = f"{row.msg_rate:8,.0f}" if row is not b else f"{'-':>8}"
        print(
            f"| {row.name:47} | {row.seconds:8.2f} | {row.messages:9,} | {msgs} |"
            f" {row.reading_rate:10,.0f} |"
        )
    print()
    print(
        f"max: {top.rate:,.0f} msg/s committed end to end with the publisher running"
        f" ({args.max_seconds:.0f} s after a 2 s warm-up); load {top.load}"
    )
    if steady is None:
        print(
            "latency: skipped; the server must keep commit timestamps (track_commit_timestamp = on)"
        )
    else:
        ms = {q: steady.quantile(q) * 1000 for q in (0.5, 0.95, 0.99, 1.0)}
        print(
            f"latency at half of max: offered {steady.offered:,.0f} msg/s for"
            f" {args.latency_seconds:.0f} s, published {steady.published_rate:,.0f} msg/s,"
            f" committed {steady.committed_rate:,.0f} msg/s,"
            f" deepest queue {steady.deepest_queue}; load {steady.load}"
        )
        print(
            f"latency publish->commit, {len(steady.seconds)} of {steady.published} messages"
            f" measured one by one: p50 {ms[0.5]:.0f} ms, p95 {ms[0.95]:.0f} ms,"
            f" p99 {ms[0.99]:.0f} ms, max {ms[1.0]:.0f} ms (target p99 < 500 ms)"
        )
    print(f"(c)/(a) = {c.msg_rate / a.msg_rate:.0%} of the bare subscriber (target >= 60 %)")
    print(f"(c)/(d) = {c.msg_rate / d.msg_rate:.1f}x the naive baseline (target >= 20x)")
    print(f"(c)/(d2) = {c.msg_rate / d2.msg_rate:.1f}x the row-at-a-time baseline")


if __name__ == "__main__":
    main()
