"""Backtests: what the alert engine would have said over a stretch of past data.

The same :class:`~alerts.engine.Engine` as the live workers (the same QC, detectors,
profiles, minimum durations and hysteresis) is fed the readings in data time: a simulated
clock (:class:`~telemetry.FixedClock`) steps from the start to the end ``tick_s`` at a time,
and each tick hands the engine the readings dated since the previous one, as an ingester
would have committed them. Its episodes go to an in-memory :class:`Ledger` that applies the
alerts table's rules (one open alert per station and rule, an episode's identity is its due
time, "clear" pairs resolve open alerts) without a database: a backtest writes nothing and
sends nothing.

Ticking every ``tick_s`` rather than every sample bounds the cost, which is per tick, and
changes next to nothing: the threshold evaluator gives the same transitions in chunks as
whole; the window keeps one tick more than a live one, so 24-h swings and drops see the
history they would live; the dawn forecast judges every instant since its last call and
dates its episodes in data time. Two things are sampled once a tick: the disease-risk score
(as live, where a tick is 10 s) and the time a sensor-maintenance notice resolves. On the
Grand Bay record, ticks of 15 min, 1 h and 6 h give the same threshold, trend and forecast
alerts (``tests/alerts/test_backtest.py``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO, cast

import numpy as np
import psycopg

from alerts.config.compiled_rules import LimitEdit
from alerts.config.profile_schema import Tiers
from alerts.config.quality import QualityConfig
from alerts.config.threshold_profiles import Profiles
from alerts.detectors.findings import AlertEpisode, Findings, RuleAt
from alerts.engine import Engine
from alerts.errors import BacktestError
from alerts.kernels.window import Batch
from alerts.persistence import store
from alerts.settings import AlertSettings
from stations import Registry, Station
from telemetry import PARAMETERS, DecodeError, FixedClock, parse_timestamp

DEFAULT_TICK_S: Final = 6 * 3600.0
"""Data time between two evaluations: six hours of readings per tick."""

CHUNK_S: Final = 7 * 86_400.0
"""Readings are read (and held in memory) a week at a time."""

Source = Callable[[float, float], Batch]
"""Readings of the backtest's stations dated in (after, until]."""


@dataclass(frozen=True, slots=True)
class BacktestAlert:
    """One alert the engine would have raised.

    Attributes:
        station_id: The station.
        rule_id: The rule.
        severity: The highest tier reached (1 advisory, 2 warning, 3 critical).
        opened_at: Data time the condition became due.
        resolved_at: Data time it cleared, or None if it still held at the end.
    """

    station_id: str
    rule_id: str
    severity: int
    opened_at: float
    resolved_at: float | None

    def hours(self, *, end: float) -> float:
        """How long it was open, up to ``end`` when it never resolved."""
        until = end if self.resolved_at is None else self.resolved_at
        return max(0.0, until - self.opened_at) / 3600.0

    def as_dict(self) -> dict[str, object]:
        """The alert as the output's JSON line."""
        return {
            "station_id": self.station_id,
            "rule_id": self.rule_id,
            "severity": self.severity,
            "opened_at": iso(self.opened_at),
            "resolved_at": None if self.resolved_at is None else iso(self.resolved_at),
        }


@dataclass(frozen=True, slots=True)
class RuleSummary:
    """One rule's alerts over the backtest."""

    episodes: int
    alert_hours: float


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Every alert, in opening order, and the stretch it covers."""

    alerts: tuple[BacktestAlert, ...]
    start: float
    end: float
    readings: int

    def summary(self) -> dict[str, object]:
        """Per rule, episodes and alert-hours (the output's last line)."""
        rules: dict[str, RuleSummary] = {}
        for alert in self.alerts:
            before = rules.get(alert.rule_id, RuleSummary(0, 0.0))
            rules[alert.rule_id] = RuleSummary(
                before.episodes + 1, before.alert_hours + alert.hours(end=self.end)
            )
        return {
            "from": iso(self.start),
            "to": iso(self.end),
            "readings": self.readings,
            "alerts": len(self.alerts),
            "rules": {
                rule: {"episodes": s.episodes, "alert_hours": round(s.alert_hours, 2)}
                for rule, s in sorted(rules.items())
            },
        }


@dataclass
class _Open:
    opened_at: float
    severity: int


@dataclass
class Ledger:
    """The alerts table's lifecycle rules, in memory (``alerts.persistence.lifecycle``).

    An episode's identity is (station, rule, due time): derived again it only raises the
    severity or resolves; at most one alert per (station, rule) is open, and a new episode
    resolves the one before it; pairs reported clear resolve their open alert.
    """

    known: dict[tuple[str, str, float], BacktestAlert] = field(default_factory=dict)
    open: dict[RuleAt, _Open] = field(default_factory=dict)

    def apply(self, findings: Findings) -> None:
        """Reconcile one tick's findings."""
        matched: set[RuleAt] = set()
        for episode in sorted(
            findings.episodes, key=lambda e: (e.station_id, e.rule_id, e.opened_at)
        ):
            key = (episode.station_id, episode.rule_id)
            current = self.open.get(key)
            if current is not None and key not in matched:
                if episode.continues or current.opened_at == episode.opened_at:
                    matched.add(key)
                    self._follow(key, current, episode)
                    continue
                if current.opened_at < episode.opened_at:
                    self._resolve(key, current, episode.opened_at)
            identity = (*key, episode.opened_at)
            if identity in self.known:
                known = self.known[identity]
                if known.resolved_at is None:  # derived again: follow it
                    current = self.open.get(key)
                    if current is None or current.opened_at != known.opened_at:
                        current = self.open[key] = _Open(known.opened_at, known.severity)
                    self._follow(key, current, episode)
                continue
            opened = _Open(episode.opened_at, int(episode.severity))
            self._record(key, opened, episode.resolved_at)
            if episode.resolved_at is None:
                self.open[key] = opened
                matched.add(key)  # as in the table: opened this tick, not cleared by it
        for key, at in findings.clear.items():
            current = self.open.get(key)
            if current is not None and key not in matched:
                self._resolve(key, current, at)

    def _follow(self, key: RuleAt, current: _Open, episode: AlertEpisode) -> None:
        current.severity = max(current.severity, int(episode.severity))
        self._record(key, current)
        if episode.resolved_at is not None:
            self._resolve(key, current, episode.resolved_at)

    def _resolve(self, key: RuleAt, current: _Open, at: float) -> None:
        self._record(key, current, max(at, current.opened_at))
        self.open.pop(key, None)

    def _record(self, key: RuleAt, current: _Open, resolved_at: float | None = None) -> None:
        self.known[(*key, current.opened_at)] = BacktestAlert(
            station_id=key[0],
            rule_id=key[1],
            severity=current.severity,
            opened_at=current.opened_at,
            resolved_at=resolved_at,
        )

    def alerts(self, *, since: float) -> tuple[BacktestAlert, ...]:
        """Alerts still open at ``since`` or opened after it, in opening order."""
        kept = (a for a in self.known.values() if a.resolved_at is None or a.resolved_at > since)
        return tuple(sorted(kept, key=lambda a: (a.opened_at, a.station_id, a.rule_id)))


def run_backtest(
    source: Source,
    *,
    stations: Sequence[Station],
    profiles: Profiles,
    quality: QualityConfig,
    start: float,
    end: float,
    tick_s: float = DEFAULT_TICK_S,
    settings: AlertSettings | None = None,
) -> BacktestResult:
    """Replay the readings of ``stations`` from ``start`` to ``end`` through the engine.

    The history before ``start`` that a live worker would hold (``settings.history_s``, and
    longer for the QC checks that need it) is loaded first; alerts that were over by
    ``start`` are left out.

    Args:
        source: Reads the stations' readings dated in a range.
        stations: The stations (their kind, interval and place select the rules).
        profiles: The threshold profiles to try (with any edits in force applied).
        quality: The QC checks.
        start: Data time the backtest begins.
        end: Data time it ends.
        tick_s: Data time between two evaluations.
        settings: The engine's settings (history kept, grace periods).
    """
    if end <= start:
        msg = f"the backtest must end after it starts ({iso(start)} to {iso(end)})"
        raise BacktestError(msg)
    if tick_s <= 0:
        msg = f"the tick must be positive, got {tick_s} s"
        raise BacktestError(msg)
    # One engine holds every station asked for, whatever share a live worker has; its
    # window keeps one tick more than a live one, so that the first column of each tick
    # has the history (24-h swings and drops) a live tick would give it.
    settings = settings or AlertSettings()
    settings = settings.model_copy(update={"history_s": settings.history_s + tick_s})
    engine = Engine(
        settings,
        registry=Registry(tuple(stations), (), source="backtest"),
        profiles=profiles,
        quality=quality,
    )
    clock = FixedClock(start)
    engine.build(start)
    ledger = Ledger()
    longest = max((h.window.length * h.window.step for h in engine.qc_history), default=0.0)
    warm_up = source(start - max(settings.history_s, longest), start)
    ledger.apply(engine.evaluate(warm_up, now=clock.time()).findings)
    readings = 0
    for batch, ticks in _chunks(source, start=start, end=end, tick_s=tick_s):
        readings += len(batch)
        ordered = _by_time(batch)
        bounds = np.searchsorted(ordered.epoch, ticks, side="right")
        first = 0
        for tick, last in zip(ticks.tolist(), bounds.tolist(), strict=True):
            clock.set(tick)
            part = _slice(ordered, first, last)
            first = last
            ledger.apply(engine.evaluate(part, now=clock.time()).findings)
    return BacktestResult(ledger.alerts(since=start), start=start, end=end, readings=readings)


def _chunks(
    source: Source, *, start: float, end: float, tick_s: float
) -> Iterator[tuple[Batch, np.ndarray]]:
    """A week of readings at a time, with the tick instants that cover it."""
    ticks_per_chunk = max(1, int(CHUNK_S // tick_s))
    count = math.ceil((end - start) / tick_s)
    ticks = np.minimum(start + tick_s * np.arange(1, count + 1), end)
    for first in range(0, count, ticks_per_chunk):
        part = ticks[first : first + ticks_per_chunk]
        after = start if first == 0 else float(ticks[first - 1])
        yield source(after, float(part[-1])), part


def _by_time(batch: Batch) -> Batch:
    order = np.argsort(batch.epoch, kind="stable")
    return Batch(
        station_id=batch.station_id[order],
        parameter_id=batch.parameter_id[order],
        epoch=batch.epoch[order],
        value=batch.value[order],
        device_status=batch.device_status[order],
    )


def _slice(batch: Batch, first: int, last: int) -> Batch:
    return Batch(
        station_id=batch.station_id[first:last],
        parameter_id=batch.parameter_id[first:last],
        epoch=batch.epoch[first:last],
        value=batch.value[first:last],
        device_status=batch.device_status[first:last],
    )


def in_memory(batch: Batch) -> Source:
    """A source over readings already in memory."""

    def read(after: float, until: float) -> Batch:
        return batch.take((batch.epoch > after) & (batch.epoch <= until))

    return read


def read_csv(stream: TextIO, *, station_id: str, name: str = "input") -> Batch:
    """Readings of one station from CSV: a ``time`` column, then one column per parameter.

    Times are ISO 8601 with an offset (or epoch seconds); empty cells are missing.

    Raises:
        BacktestError: A column is not a parameter code, or a time or value is unreadable.
    """
    reader = csv.reader(stream)
    header = next(reader, None)
    if not header or header[0].strip() != "time":
        msg = f"{name}: the first column must be 'time', then parameter codes"
        raise BacktestError(msg)
    codes = [c.strip() for c in header[1:]]
    unknown = [c for c in codes if c not in PARAMETERS]
    if unknown:
        msg = f"{name}: unknown parameter codes {', '.join(unknown)}"
        raise BacktestError(msg)
    epochs: list[float] = []
    columns: list[list[float]] = [[] for _ in codes]
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        cells = (row[1:] + [""] * len(codes))[: len(codes)]
        try:
            epochs.append(_time(row[0].strip(), where=f"{name}, line {line}"))
            for column, cell in zip(columns, cells, strict=True):
                column.append(float(cell) if cell.strip() else np.nan)
        except (ValueError, DecodeError) as exc:
            msg = f"{name}, line {line}: {exc}" if isinstance(exc, ValueError) else str(exc)
            raise BacktestError(msg) from exc
    times = np.array(epochs, dtype=np.float64)
    values = np.array(columns, dtype=np.float64).reshape(len(codes), len(times))
    present = ~np.isnan(values)
    rows, cols = np.nonzero(present)
    ids = np.array([PARAMETERS[c].id for c in codes], dtype=np.int64)
    return Batch(
        station_id=np.repeat(np.array([station_id], dtype=np.str_), len(rows)),
        parameter_id=ids[rows],
        epoch=times[cols],
        value=values[rows, cols],
        device_status=np.zeros(len(rows), dtype=np.int64),
    )


def _time(cell: str, *, where: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return parse_timestamp(cell, where=where)


def load_csv(path: Path, *, station_id: str) -> Batch:
    """:func:`read_csv` of a file."""
    try:
        with path.open(encoding="utf-8", newline="") as stream:
            return read_csv(stream, station_id=station_id, name=str(path))
    except OSError as exc:
        msg = f"{path}: cannot read it: {exc.strerror}"
        raise BacktestError(msg) from exc


def iso(epoch: float) -> str:
    """Epoch seconds as ISO 8601 in UTC."""
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def write_json_lines(result: BacktestResult, out: TextIO) -> None:
    """One JSON object per alert, then ``{"summary": ...}``."""
    for alert in result.alerts:
        out.write(json.dumps(alert.as_dict(), ensure_ascii=False) + "\n")
    out.write(json.dumps({"summary": result.summary()}, ensure_ascii=False) + "\n")


def write_csv(result: BacktestResult, out: TextIO) -> None:
    """One CSV row per alert, with a header."""
    writer = csv.DictWriter(out, fieldnames=list(_FIELDS), lineterminator="\n")
    writer.writeheader()
    for alert in result.alerts:
        writer.writerow(alert.as_dict())


_FIELDS: Final = ("station_id", "rule_id", "severity", "opened_at", "resolved_at")


def write_table(result: BacktestResult, out: TextIO) -> None:
    """Alerts and the per-rule summary as aligned text tables."""
    rows = [
        [a.station_id, a.rule_id, str(a.severity), iso(a.opened_at)[:16], _or_dash(a.resolved_at)]
        for a in result.alerts
    ]
    _table(out, list(_FIELDS), rows)
    out.write("\n")
    summary = result.summary()
    rules = summary["rules"]
    assert isinstance(rules, Mapping)
    _table(
        out,
        ["rule_id", "episodes", "alert_hours"],
        [[r, str(s["episodes"]), f"{s['alert_hours']:.1f}"] for r, s in rules.items()],
    )


def _or_dash(epoch: float | None) -> str:
    return "-" if epoch is None else iso(epoch)[:16]


def _table(out: TextIO, header: list[str], rows: Iterable[list[str]]) -> None:
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        out.write("\n")


WRITERS: Final[Mapping[str, Callable[[BacktestResult, TextIO], None]]] = {
    "json": write_json_lines,
    "csv": write_csv,
    "table": write_table,
}


@dataclass(frozen=True, slots=True)
class WhatIf:
    """One rule's alerts at one station under the limits in force and under a candidate."""

    current: tuple[BacktestAlert, ...]
    candidate: tuple[BacktestAlert, ...]
    start: float
    end: float


def what_if(
    conn: psycopg.Connection[Any],
    station: Station,
    *,
    rule_id: str,
    tiers: tuple[float | None, float | None, float | None],
    start: float,
    end: float,
    quality: QualityConfig,
    profiles: Profiles,
) -> WhatIf:
    """Backtest a rule's stored data under its limits in force and with ``tiers`` changed.

    ``tiers`` (advisory, warning, critical; None keeps the tier in force) are layered on
    the edits people already made, as an override of the station would be. Reads only.
    """
    key = (station.id, rule_id)
    edits = store.threshold_edits(conn, profiles, [station])
    before = edits.get(key)
    kept = before.tiers if before is not None else (None, None, None)
    merged = tuple(new if new is not None else old for new, old in zip(tiers, kept, strict=True))
    edits[key] = LimitEdit(tiers=cast(Tiers, merged), source="what-if")

    def run(chosen: Profiles) -> tuple[BacktestAlert, ...]:
        result = run_backtest(
            lambda after, until: store.dated_between(conn, [station.id], after=after, until=until),
            stations=[station],
            profiles=chosen,
            quality=quality,
            start=start,
            end=end,
            tick_s=DEFAULT_TICK_S,
        )
        return tuple(a for a in result.alerts if a.rule_id == rule_id)

    in_force = profiles.with_edits(
        {k: v for k, v in edits.items() if k != key} | ({key: before} if before else {})
    )
    return WhatIf(
        current=run(in_force),
        candidate=run(profiles.with_edits(edits)),
        start=start,
        end=end,
    )
