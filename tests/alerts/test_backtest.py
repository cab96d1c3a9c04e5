"""``aquawatch alerts backtest`` on CSV and on stored data: alerts checked by hand."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import psycopg
import pytest

from alerts.backtest import (
    BacktestAlert,
    BacktestResult,
    Ledger,
    in_memory,
    read_csv,
    run_backtest,
)
from alerts.backtest_cli import read_only
from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.detectors.findings import AlertEpisode, Findings
from alerts.states import AlertFamily, Severity
from bench.false_alarms import STATION, batch, read
from stations import load_registry, parse_registry, sync_registry
from telemetry import PARAMETERS, migrate
from telemetry.cli import main
from tests.alerts.real_data import data_file

# A sunny noon in An Biên (05:00 UTC): DO 6 mg/L, then 3.2 for an hour, then 6 again.
DAY = datetime(2026, 11, 20, tzinfo=UTC)
DROP = DAY + timedelta(hours=5)  # first low sample
RISE = DROP + timedelta(hours=1)  # first sample back at 6
START = DAY - timedelta(hours=2)
END = DAY + timedelta(hours=12)


def series() -> list[tuple[datetime, float]]:
    """DO every 5 minutes from 28 h before the day to its end, with a little sensor noise."""
    at = DAY - timedelta(hours=28)
    out: list[tuple[datetime, float]] = []
    wobble = (0.0, 0.05, -0.04, 0.08, -0.06, 0.02, -0.03)  # never flat, never a spike
    while at <= END:
        level = 3.2 if DROP <= at < RISE else 6.0
        out.append((at, round(level + wobble[len(out) % len(wobble)], 2)))
        at += timedelta(minutes=5)
    return out


def csv_text() -> str:
    return "time,do\n" + "".join(f"{at.isoformat()},{value}\n" for at, value in series())


def backtest_csv(
    tmp_path: Path, *extra: str, capsys: pytest.CaptureFixture[str]
) -> list[dict[str, object]]:
    path = tmp_path / "do.csv"
    path.write_text(csv_text(), encoding="utf-8")
    args = ["alerts", "backtest", "--station", "KG-SR-01", "--input", str(path)]
    args += ["--from", START.isoformat(), "--to", END.isoformat(), *extra]
    assert main(args) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_csv_backtest_finds_the_low_do_hour_as_counted_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    *alerts, last = backtest_csv(tmp_path, capsys=capsys)
    # QC: each step (2.8 mg/L in 5 min, 34 mg/L/h) is beyond the 15 mg/L/h rate of change,
    # so the samples at DROP and RISE are suspect and masked. shrimp.do.low: below 3.5
    # (warning) and 4 (advisory) from DROP + 5 min, due after its 30-minute minimum; clear
    # (above 4 + 0.3) from RISE + 5 min, resolved after 30 minutes of clear samples.
    assert alerts == [
        {
            "station_id": "KG-SR-01",
            "rule_id": "shrimp.do.low",
            "severity": 2,
            "opened_at": (DROP + timedelta(minutes=35)).isoformat(),
            "resolved_at": (RISE + timedelta(minutes=35)).isoformat(),
        }
    ]
    assert last == {
        "summary": {
            "from": START.isoformat(),
            "to": END.isoformat(),
            "readings": len([at for at, _ in series() if START < at <= END]),
            "alerts": 1,
            "rules": {"shrimp.do.low": {"episodes": 1, "alert_hours": 1.0}},
        }
    }


def test_candidate_profiles_change_the_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "profiles"
    shutil.copytree(str(resources.files("alerts.config").joinpath("profiles")), folder)
    shrimp = folder / "shrimp_river.yaml"
    text = shrimp.read_text(encoding="utf-8")
    old = "value: {white_leg: 3.5, black_tiger: 4.0}"
    assert old in text
    shrimp.write_text(
        text.replace(old, "value: {white_leg: 3.0, black_tiger: 4.0}"), encoding="utf-8"
    )
    *alerts, _ = backtest_csv(tmp_path, "--profiles", str(folder), capsys=capsys)
    # 3.2 mg/L is now above the warning limit: only the advisory (below 4) is due.
    assert [(a["rule_id"], a["severity"]) for a in alerts] == [("shrimp.do.low", 1)]


def test_csv_and_table_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "do.csv"
    path.write_text(csv_text(), encoding="utf-8")
    base = ["alerts", "backtest", "--station", "KG-SR-01", "--input", str(path)]
    assert main([*base, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "station_id,rule_id,severity,opened_at,resolved_at"
    assert lines[1].startswith("KG-SR-01,shrimp.do.low,2,")
    assert main([*base, "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert "shrimp.do.low" in table
    assert "alert_hours" in table


def test_bad_input_is_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time,oxygen\n2026-11-20T00:00:00+07:00,6\n", encoding="utf-8")
    assert main(["alerts", "backtest", "--station", "KG-SR-01", "--input", str(path)]) == 2
    assert "unknown parameter codes oxygen" in capsys.readouterr().err
    assert main(["alerts", "backtest", "--station", "KG-SR-01"]) == 2
    assert "--from and --to" in capsys.readouterr().err


def test_the_tick_does_not_change_threshold_alerts() -> None:
    batch = read_csv(io.StringIO(csv_text()), station_id="KG-SR-01")
    station = load_registry().stations["KG-SR-01"]

    def run(tick_s: float) -> BacktestResult:
        return run_backtest(
            in_memory(batch),
            stations=[station],
            profiles=load_profiles(),
            quality=load_quality_config(),
            start=START.timestamp(),
            end=END.timestamp(),
            tick_s=tick_s,
        )

    assert run(300.0).alerts == run(3600.0).alerts == run(4 * 3600.0).alerts


def episode(opened: float, *, severity: int = 1, resolved: float | None = None) -> AlertEpisode:
    return AlertEpisode(
        station_id="S",
        rule_id="r",
        family=AlertFamily.THRESHOLD,
        opened_at=opened,
        severity=Severity(severity),
        resolved_at=resolved,
    )


@pytest.mark.parametrize(
    ("ticks", "expected"),
    [
        # Derived again unchanged, then escalated, then resolved: one alert.
        ([[episode(10)], [episode(10)], [episode(10, severity=2)], [episode(10, resolved=50)]],
         [(10, 2, 50)]),
        # Opened, escalated and resolved within one tick.
        ([[episode(10), episode(10, severity=3), episode(10, severity=3, resolved=40)]],
         [(10, 3, 40)]),
        # A new episode resolves the open one at its own due time.
        ([[episode(10)], [episode(70)]], [(10, 1, 70), (70, 1, None)]),
    ],
)  # fmt: skip
def test_the_ledger_keeps_the_alerts_tables_rules(
    ticks: Sequence[Sequence[AlertEpisode]], expected: list[tuple[float, int, float | None]]
) -> None:
    ledger = Ledger()
    for episodes in ticks:
        ledger.apply(Findings(tuple(episodes)))
    assert [(a.opened_at, a.severity, a.resolved_at) for a in ledger.alerts(since=0)] == expected


def test_a_pair_reported_clear_resolves_its_open_alert() -> None:
    ledger = Ledger()
    ledger.apply(Findings((episode(10),)))
    ledger.apply(Findings(clear={("S", "r"): 95.0}))
    assert [(a.opened_at, a.resolved_at) for a in ledger.alerts(since=0)] == [(10, 95.0)]


def fingerprint(url: str) -> tuple[object, ...]:
    """What a backtest must leave as it was: alerts, outbox, flags, rules, watermarks."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM notifications),"
            " (SELECT string_agg(qc::text, '' ORDER BY time) FROM readings),"
            " (SELECT count(*) FROM threshold_profiles), (SELECT count(*) FROM alert_watermarks)"
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.integration
def test_a_stored_backtest_reads_only_and_matches_the_csv_one(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    migrate(database_url)
    pid = PARAMETERS["do"].id
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, load_registry(), deactivate_missing=False)
        with (
            conn.cursor() as cur,
            cur.copy("COPY readings (time, station_id, parameter_id, value) FROM STDIN") as copy,
        ):
            for at, value in series():
                copy.write_row((at, "KG-SR-01", pid, value))
    from_csv = backtest_csv(tmp_path, capsys=capsys)
    before = fingerprint(database_url)
    monkeypatch.setenv("AQUAWATCH_DATABASE_URL", database_url)
    args = ["alerts", "backtest", "--station", "KG-SR-01"]
    assert main([*args, "--from", START.isoformat(), "--to", END.isoformat()]) == 0
    stored = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert stored == from_csv
    assert fingerprint(database_url) == before
    assert before[:2] == (0, 0)  # no alert, no SMS
    # Its connection cannot write even by mistake.
    with read_only(database_url) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("DELETE FROM readings")


def test_the_tick_changes_no_alert_on_a_real_record() -> None:
    """Grand Bay 2021 (real, 15-minute): the same threshold, trend and dawn-forecast alerts
    with a tick of an hour and of six hours."""
    series = read(data_file("nerrs_grandbay_gndblwq2021.csv"))
    station = parse_registry(STATION, source="grand-bay").stations["GB-BANGS"]

    def alerts(tick_s: float) -> list[BacktestAlert]:
        result = run_backtest(
            in_memory(batch(series)),
            stations=[station],
            profiles=load_profiles(),
            quality=load_quality_config(),
            start=float(series.times[0]) - 1,
            end=float(series.times[-1]),
            tick_s=tick_s,
        )
        # Sampled once a tick: the risk score, and when a maintenance notice resolves.
        return [
            a
            for a in result.alerts
            if not a.rule_id.startswith(("maintenance.", "shrimp.disease_risk"))
        ]

    hourly = alerts(3600.0)
    assert len([a for a in hourly if a.rule_id == "forecast.do.dawn"]) == 18
    assert alerts(6 * 3600.0) == hourly
