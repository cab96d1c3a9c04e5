"""Backtest benchmark: a year of one station's 5-minute readings through the alert engine.

Run ``python -m bench.backtest`` (``--database-url`` of a server where it may create a
database, dropped at the end; ``--days``, ``--every``). Stores a year of KG-SR-01's eight
parameters every 5 minutes (diel temperature, DO with some nights below 3 mg/L, pH
following DO, tidal salinity; 841,000 readings), then times the same rows read twice: a
plain read (the backtest's own weekly queries, nothing else) and ``aquawatch alerts
backtest``'s run over them in a read-only transaction. Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np
import psycopg

from alerts import load_profiles, load_quality_config
from alerts.backtest import CHUNK_S, DEFAULT_TICK_S, run_backtest
from alerts.backtest_cli import read_only, stored
from bench.database import bench_database
from stations import load_registry, sync_registry
from telemetry import PARAMETERS, migrate

STATION = "KG-SR-01"
STEP_S = 300


def signals(times: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Plausible series: diel cycles, tides, noise, and a bad night every ten days or so."""
    hour = (times / 3600.0 + 7) % 24
    day = np.floor(times / 86_400.0)
    diel = np.cos((hour - 15) / 24 * 2 * np.pi)  # peak mid-afternoon
    bad = (rng.random(int(day.max() - day.min()) + 1) < 0.1)[(day - day.min()).astype(int)]
    noise = rng.normal(0, 1, (8, len(times)))
    do = 6.0 + 2.2 * diel - 2.5 * bad * (diel < 0) + 0.15 * noise[0]
    return {
        "temp": 30.0 + 1.0 * diel + 0.05 * noise[1],
        "ph": 7.9 + 0.2 * diel + 0.02 * noise[2],
        "do": np.maximum(do, 0.2),
        "sal": 18.0 + 3.0 * np.sin(times / 44_712.0 * 2 * np.pi) + 0.1 * noise[3],
        "cond": 28_000.0 + 4000.0 * np.sin(times / 44_712.0 * 2 * np.pi) + 50 * noise[4],
        "turb": 20.0 + 2.0 * noise[5],
        "tan": 0.05 + 0.005 * noise[6],
        "no2": 0.1 + 0.01 * noise[7],
    }


def seed(url: str, *, start: float, days: int) -> int:
    """Store ``days`` of the station's readings from ``start``; returns the row count."""
    migrate(url)
    rng = np.random.default_rng(7)
    times = start + STEP_S * np.arange(days * 86_400 // STEP_S, dtype=np.float64)
    series = signals(times, rng)
    stamps = [datetime.fromtimestamp(t, UTC) for t in times.tolist()]
    with psycopg.connect(url) as conn:
        sync_registry(conn, load_registry(), deactivate_missing=True)
        with (
            conn.cursor() as cur,
            cur.copy("COPY readings (time, station_id, parameter_id, value) FROM STDIN") as copy,
        ):
            for code, values in series.items():
                pid = PARAMETERS[code].id
                for at, value in zip(stamps, values.tolist(), strict=True):
                    copy.write_row((at, STATION, pid, value))
        conn.commit()
        conn.execute("ANALYZE readings")
        conn.commit()
    return len(times) * len(series)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1/postgres")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--every", type=float, default=DEFAULT_TICK_S, help="tick, seconds")
    args = parser.parse_args()
    start = datetime(2025, 11, 1, tzinfo=UTC).timestamp()
    end = start + args.days * 86_400.0
    station = load_registry().stations[STATION]
    profiles, quality = load_profiles(), load_quality_config()
    with bench_database(args.database_url) as url:
        began = time.perf_counter()
        rows = seed(url, start=start - 86_400.0, days=args.days + 1)
        print(f"stored {rows:,} readings in {time.perf_counter() - began:.1f} s")
        with read_only(url) as conn:
            read = stored(conn, [station.id])
            began = time.perf_counter()
            count = 0
            for after in np.arange(start - 26 * 3600.0, end, CHUNK_S).tolist():
                count += len(read(after, min(after + CHUNK_S, end)))
            plain = time.perf_counter() - began
            conn.rollback()
        with read_only(url) as conn:
            began = time.perf_counter()
            result = run_backtest(
                stored(conn, [station.id]),
                stations=[station],
                profiles=profiles,
                quality=quality,
                start=start,
                end=end,
                tick_s=args.every,
            )
            backtest = time.perf_counter() - began
            conn.rollback()
    print(f"plain read of the same rows: {count:,} readings in {plain:.2f} s")
    print(
        f"backtest of {args.days} days, 1 station x 8 parameters at 5 min,"
        f" a tick every {args.every:.0f} s: {result.readings:,} readings,"
        f" {len(result.alerts)} alerts in {backtest:.1f} s"
        f" ({backtest / plain:.0f}x the plain read)"
    )
    rules = result.summary()["rules"]
    assert isinstance(rules, dict)
    for rule, figures in rules.items():
        print(f"  {rule}: {figures['episodes']} episodes, {figures['alert_hours']} alert-hours")


if __name__ == "__main__":
    main()
