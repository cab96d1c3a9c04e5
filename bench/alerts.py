"""Alert engine benchmark: one tick for many stations with a day of history, in memory.

Run ``python -m bench.alerts`` (``--stations``, ``--ticks``). Builds the configured
stations' clones (10,000 by default) each measuring 10 parameters on a 5-minute grid, fills
24 h of plausible values, evaluates the whole window once (what a worker does at start),
then times ticks in which every station delivers a new sample (the worst case: with
5-minute sampling, a 10-second tick sees about a thirtieth of that) and prints the figures.
That part leaves the database out: it is the evaluation a tick does between its read and
its write. With ``--database-url`` a second part runs whole ticks against PostgreSQL (a
fresh database on that server, dropped at the end), with one worker holding every
station's lease as ``aquawatch alerts`` does: the first start over two hours of every
series stored while no engine ran (to the first tick's commit, which opens the alerts the
history holds; then the ticks that store its QC flags and compiled rules); then, in
another database where the same two hours arrived while the engine ticked (the steady
state), ticks in which a thirtieth of the stations deliver a sample (a 10-second tick of
5-minute stations), ticks in which as many stations report as will at a tenth of the
stations, one in which all the others do, each timed from its read to its commit (QC
flags written back, alerts reconciled), and a restart; and the same ticks at a tenth of
the stations, to print the ratio of two ticks with the same new data (the cost of a tick
should follow the new data, not the number of stations).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import psycopg

from alerts import AlertSettings, Engine, load_profiles, load_quality_config
from alerts.kernels.window import Batch
from alerts.persistence.leases import Leases, worker_name
from bench.database import bench_database
from stations import Registry, StationKind, load_registry, sync_registry
from telemetry import PARAMETERS, SystemClock, migrate

TEN = {
    StationKind.SHRIMP_RIVER: (
        "temp",
        "ph",
        "do",
        "sal",
        "cond",
        "turb",
        "tan",
        "no2",
        "alk",
        "chla",
    ),
    StationKind.CAGE_SEA: ("temp", "ph", "do", "sal", "turb", "tss", "nh4", "chla", "no2", "po4"),
    StationKind.EFFLUENT: ("flow", "temp", "ph", "do", "tss", "cod", "nh4", "tn", "tp", "color"),
}
LEVEL = {
    "temp": 29.0,
    "ph": 7.9,
    "do": 6.0,
    "sal": 18.0,
    "cond": 28_000.0,
    "turb": 20.0,
    "tan": 0.3,
    "no2": 0.1,
    "alk": 120.0,
    "chla": 20.0,
    "tss": 30.0,
    "nh4": 0.2,
    "po4": 0.05,
    "flow": 80.0,
    "cod": 40.0,
    "tn": 8.0,
    "tp": 1.0,
    "color": 30.0,
}
SWING = {"temp": 1.5, "ph": 0.2, "do": 2.0, "sal": 3.0, "cond": 4000.0}


def registry(count: int) -> Registry:
    base = load_registry().with_clones(count)
    stations = tuple(
        s.model_copy(update={"parameters": TEN[s.kind]}) for s in base.stations.values()
    )
    return Registry(stations, tuple(base.boards.values()), source="bench")


def fill(engine: Engine, rng: np.random.Generator) -> None:
    """Plausible diel signals with sensor noise in every window."""
    for window in engine.windows:
        hours = (window.times % 86_400) / 3600
        diel = np.sin((hours - 9) / 24 * 2 * np.pi)
        level = np.array([LEVEL[c] for c in window.row_parameter])[:, None]
        swing = np.array([SWING.get(c, 0.05 * LEVEL[c]) for c in window.row_parameter])[:, None]
        noise = rng.normal(0, 0.03, window.values.shape) * swing
        window.values[:] = level + swing * diel[None, :] + noise


def new_samples(engine: Engine, rng: np.random.Generator, *, at: float) -> Batch:
    """One new reading for every series, dated ``at``."""
    ids, codes, values = [], [], []
    for window in engine.windows:
        ids.append(np.array(window.station_ids)[window.row_station])
        codes.append(window.row_parameter_id)
        last = window.values[:, -1]
        values.append(np.where(np.isnan(last), 1.0, last) * rng.normal(1, 0.001, len(last)))
    n = sum(len(v) for v in values)
    return Batch(
        np.concatenate(ids),
        np.concatenate(codes),
        np.full(n, at),
        np.concatenate(values),
        np.zeros(n, dtype=np.int64),
    )


def store(
    conn: psycopg.Connection[tuple[object, ...]],
    reg: Registry,
    times: list[float],
    *,
    only: range | None = None,
) -> int:
    """COPY one reading per series at each of ``times`` for every station, or for the
    stations numbered in ``only``."""
    rows = 0
    with (
        conn.cursor() as cur,
        cur.copy("COPY readings (time, station_id, parameter_id, value) FROM STDIN") as copy,
    ):
        for index, station in enumerate(reg.stations.values()):
            if only is not None and index not in only:
                continue
            for epoch in times:
                stamp = datetime.fromtimestamp(epoch, UTC)
                hours = (epoch % 86_400) / 3600
                diel = np.sin((hours - 9) / 24 * 2 * np.pi)
                for code in station.parameters:
                    value = LEVEL[code] + SWING.get(code, 0.05 * LEVEL[code]) * diel
                    copy.write_row((stamp, station.id, PARAMETERS[code].id, value))
                    rows += 1
    conn.commit()
    return rows


def _engine(reg: Registry, *, leases: Leases | None = None) -> Engine:
    return Engine(
        AlertSettings(settle_s=0.0),
        registry=reg,
        profiles=load_profiles(),
        quality=load_quality_config(),
        leases=leases,
    )


def first_start(server_url: str, reg: Registry) -> None:
    """A first start over two hours of history stored while no engine ran (never flagged)."""
    with bench_database(server_url) as url, psycopg.connect(url) as conn:
        migrate(url)
        sync_registry(conn, reg, deactivate_missing=False)
        clock = SystemClock()
        grid = clock.time() // 300 * 300
        started = time.perf_counter()
        rows = store(conn, reg, [grid - 300 * k for k in range(24, 0, -1)])
        conn.autocommit = True  # what autovacuum does soon after a bulk load: statistics
        conn.execute("VACUUM ANALYZE readings")  # and the visibility map
        conn.autocommit = False
        print(
            f"database, {len(reg.stations):,} stations: {rows:,} readings of history stored"
            f" in {time.perf_counter() - started:.1f} s while no engine ran",
            flush=True,
        )
        # As `aquawatch alerts` starts: one worker, which takes every station's lease.
        leases = Leases(worker_name(), list(reg.stations), lease_s=30.0)
        engine = _engine(reg, leases=leases)
        started = time.perf_counter()
        engine.load(conn, now=clock.time())
        first = engine.tick(conn, now=clock.time())
        live = time.perf_counter() - started
        opened = sum(1 for t in first.transitions if t.kind == "opened")
        placed = sum(int(np.count_nonzero(~np.isnan(w.values))) for w in engine.windows)
        print(
            f"  first start: {live:.2f} s to the first tick's commit ({placed:,} readings"
            f" read, flagged and evaluated, {opened:,} alerts opened; target: under 10 s)",
            flush=True,
        )
        ticks, flagged, rules = 1, first.flagged, 0
        while engine.behind:
            report = engine.tick(conn, now=clock.time())
            flagged += report.flagged
            rules += report.rules
            ticks += 1
        print(
            f"  then its QC flags and compiled rules stored: {flagged:,} flags and"
            f" {rules:,} stations' rules in {ticks} ticks, all done"
            f" {time.perf_counter() - started:.2f} s after the start",
            flush=True,
        )


def database_ticks(
    server_url: str, reg: Registry, *, ticks: int, sizes: Sequence[int]
) -> list[float]:
    """Whole ticks, read to commit, against a real database: ``ticks`` ticks in which
    ``size`` stations report, for each of ``sizes``; return each size's median tick.

    The two hours of history arrive as they would while the engine runs (every station
    every 5 minutes, each step ticked), so the database is in its steady state: every
    reading flagged soon after it was stored.
    """
    with bench_database(server_url) as url, psycopg.connect(url) as conn:
        migrate(url)
        sync_registry(conn, reg, deactivate_missing=False)
        clock = SystemClock()
        grid = clock.time() // 300 * 300
        # One worker holding every station (`aquawatch alerts`), on the bench's moving clock.
        leases = Leases(worker_name(), list(reg.stations), lease_s=3600.0)
        engine = _engine(reg, leases=leases)
        engine.load(conn, now=grid - 300 * 25)
        started = time.perf_counter()
        for k in range(24, 0, -1):
            store(conn, reg, [grid - 300 * k])
            engine.tick(conn, now=grid - 300 * k + 1)
        while engine.behind:
            engine.tick(conn, now=grid - 299)
        print(
            f"database, {len(reg.stations):,} stations: two hours of readings stored and"
            f" ticked as they came, in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        medians, reported = [], 0
        for size in sizes:  # each station reports once, at the newest grid instant
            seconds = []
            for _ in range(ticks):
                store(conn, reg, [grid], only=range(reported, reported + size))
                reported += size
                report = engine.tick(conn, now=clock.time())
                seconds.append(report.seconds)
                print(
                    f"  tick, {size:,} stations reporting: {report.readings:,} new readings,"
                    f" {report.flagged:,} flags written, {len(report.transitions)} alert"
                    f" changes, {report.seconds:.3f} s",
                    flush=True,
                )
            medians.append(float(np.median(seconds)))
            print(
                f"database tick, {len(reg.stations):,} stations, {size:,} of them reporting:"
                f" median {medians[-1]:.3f} s (target: under 1 s)",
                flush=True,
            )
        if reported < len(reg.stations):
            store(conn, reg, [grid], only=range(reported, len(reg.stations)))
            worst = engine.tick(conn, now=clock.time())
            print(
                f"  then all the other stations reporting ({worst.readings:,} readings):"
                f" {worst.seconds:.3f} s",
                flush=True,
            )
        leases.release(conn)  # a clean stop, and another worker starts
        again = _engine(reg, leases=Leases(worker_name(), list(reg.stations), lease_s=30.0))
        started = time.perf_counter()
        again.load(conn, now=clock.time())
        restart = again.tick(conn, now=clock.time())
        print(
            f"  restart (flags and alerts already stored): {time.perf_counter() - started:.2f} s"
            f" ({len(restart.transitions)} alert changes)",
            flush=True,
        )
        return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--database-url", help="also time whole ticks against this server")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    reg = registry(args.stations)
    started = time.perf_counter()
    engine = Engine(
        AlertSettings(history_s=24 * 3600.0),
        registry=reg,
        profiles=load_profiles(),
        quality=load_quality_config(),
    )
    now = 1_795_000_200.0
    engine.build(now)
    fill(engine, rng)
    series = sum(len(w.row_parameter) for w in engine.windows)
    columns = engine.windows[0].length
    rules = sum(len(r.rules) for r in engine.rules)
    setup = time.perf_counter() - started
    print(
        f"{args.stations:,} stations, {series:,} series x {columns} columns (24 h at 5 min),"
        f" {rules:,} rules; built in {setup:.1f} s",
        flush=True,
    )
    started = time.perf_counter()
    for window in engine.windows:
        window.flags[:] = engine.quality.evaluate(
            times=window.times,
            values=window.values,
            parameters=window.row_parameter,
            kinds=window.row_kind,
            status=window.status,
        )
    first = engine.evaluate(new_samples(engine, rng, at=now), now=now)
    full = time.perf_counter() - started
    print(
        f"start-up: QC of the whole window and rules over it: {full:.2f} s,"
        f" {series * columns / full:,.0f} readings checked/s;"
        f" {len(first.findings.episodes)} episodes",
        flush=True,
    )
    times = []
    for tick in range(1, args.ticks + 1):
        at = now + 300 * tick
        batch = new_samples(engine, rng, at=at)
        started = time.perf_counter()
        evaluation = engine.evaluate(batch, now=at)
        times.append(time.perf_counter() - started)
        print(
            f"  tick {tick}: {len(batch):,} new readings evaluated in {times[-1]:.3f} s"
            f" ({len(evaluation.findings.episodes)} episodes)",
            flush=True,
        )
    median = float(np.median(times))
    print(
        f"tick (every station has a new sample): median {median:.3f} s, max {max(times):.3f} s;"
        f" {series / median:,.0f} new readings/s (target: a tick under 1 s)"
    )
    if args.database_url:
        first_start(args.database_url, reg)
        # A 30th of the stations report in a 10-second tick of 5-minute stations; then, to
        # compare with a tenth of the stations, as many stations as report there.
        fewer = args.stations // 10
        same = max(fewer // args.ticks, 1)
        sizes = (max(args.stations // 30, 1), same)
        large = database_ticks(args.database_url, reg, ticks=args.ticks, sizes=sizes)[-1]
        small = database_ticks(args.database_url, registry(fewer), ticks=args.ticks, sizes=(same,))[
            -1
        ]
        print(
            f"database tick with {same:,} stations reporting, at {args.stations:,} / at"
            f" {fewer:,} stations: {large / small:.2f} (target: near 1, the cost follows the"
            " new data, not the station count)"
        )


if __name__ == "__main__":
    main()
