"""The alert engine: evaluates newly committed readings tick by tick, from a watermark.

Each worker owns the stations it holds leases on (``persistence.leases``: any number of
workers share them and take over a dead one's), keeps their last day in memory
(``Window``), and every tick: renews and locks its leases, loads the stations it gained,
reads what was committed since its watermark, places it, flags the data quality of the
newest columns (and of whole series that got late data), masks suspect and failed data,
lets the detectors derive episodes from the window, and reconciles them with the alerts
table, the QC flags, the new watermark and its leases in one transaction. Restarted, it
refills its windows from the database and derives the same episodes, which the alerts table
already holds.

Two clocks: the worker's (``main()`` passes the system clock; tests a fixed one) says what
time it is, which ends the windows and dates silence, the dawn forecast and lateness; the
database's, which stamps ``ingested_at``, says which rows are new since the watermark.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

from alerts.config.quality import QualityConfig
from alerts.config.threshold_profiles import Profiles
from alerts.detectors.dawn import dawn_forecast
from alerts.detectors.findings import AlertEpisode, Detector, Findings, View
from alerts.detectors.rules import RECENT_COLUMNS, RuleDetector
from alerts.detectors.sensor_notices import sensor_notices
from alerts.detectors.silence import silence
from alerts.kernels.window import Batch, Window
from alerts.notify.outbox import fan_out
from alerts.persistence import store
from alerts.persistence.leases import Leases
from alerts.persistence.lifecycle import Transition, reconcile
from alerts.persistence.qc_cells import Cells, cells_of, join
from alerts.settings import AlertSettings
from stations import Registry, Station
from telemetry import Clock, QCFlag

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
Flags = npt.NDArray[np.uint8]


def group(stations: Sequence[Station]) -> dict[int, list[Station]]:
    """Stations by sampling interval (one window each)."""
    groups: dict[int, list[Station]] = {}
    for station in stations:
        groups.setdefault(station.sampling_interval_s, []).append(station)
    return groups


@dataclass
class Evaluation:
    """What the windows say after new readings were placed."""

    cells: list[Cells]  # QC flags to store, by grid cell: one entry per window
    findings: Findings
    window_start: float


@dataclass
class TickReport:
    """What one tick did."""

    readings: int = 0
    flagged: int = 0
    transitions: list[Transition] = field(default_factory=list)
    seconds: float = 0.0


class Engine:
    """One alert worker.

    Args:
        settings: The worker's settings.
        registry: Every configured station.
        profiles: Threshold profiles and pollution links.
        quality: The data-quality checks.
        detectors: More detectors, run on every window's view.
        leases: This worker's leases: it evaluates the stations they give it, tick by tick.
            Without, it evaluates every station (one worker; tests, backtests).
    """

    def __init__(
        self,
        settings: AlertSettings,
        *,
        registry: Registry,
        profiles: Profiles,
        quality: QualityConfig,
        detectors: Sequence[Detector] = (),
        leases: Leases | None = None,
    ) -> None:
        self.settings = settings
        self.leases = leases
        self.worker = "alerts" if leases is None else leases.worker
        self.registry = registry
        self.stations = [] if leases is not None else list(registry.stations.values())
        self.station_ids = [s.id for s in self.stations]
        self.profiles = profiles
        # The profiles with the limits people changed through the API, and their version.
        self.in_force = profiles
        self._edits_version: tuple[object, ...] | None = None
        self.quality = quality
        self.detectors: tuple[Detector, ...] = (
            *detectors,
            self._silence,
            self._sensor_notices,
            self._dawn,
        )
        self.windows: list[Window] = []
        self.rules: list[RuleDetector] = []
        # The first evaluation after a start (or a failed tick) reports everything known clear.
        self.full_pass = True
        self._seen: dict[tuple[str, str, float], tuple[int, float | None]] = {}
        self.watermark = 0.0
        # Stations that have ever reported: only they can go offline.
        self.reported: set[str] = set()
        # Readings dated after the windows' end (a logger's clock running fast): the
        # watermark has passed them, so they wait here until the grid reaches them.
        self.pending = Batch.empty()

    def _silence(self, view: View) -> Findings:
        found = silence(
            view.window, now=view.now, grace_s=self.settings.offline_grace_s, known=self.reported
        )
        self.reported.update(station for station, _ in found.clear)
        self.reported.update(e.station_id for e in found.episodes if not e.continues)
        return found

    def _dawn(self, view: View) -> Findings:
        return dawn_forecast(view.window, view.usable, now=view.now)

    def _sensor_notices(self, view: View) -> Findings:
        return sensor_notices(
            view.window, view.flags, min_s=self.settings.quality_notice_s, full=view.full
        )

    def build(self, now: float) -> None:
        """Make empty windows ending at ``now``, and their rule detectors."""
        self.windows = [
            Window(stations, span_s=self.settings.history_s, end=now)
            for stations in group(self.stations).values()
        ]
        self.rules = [RuleDetector(window, self.in_force) for window in self.windows]

    def _read_edits(self, conn: psycopg.Connection[Any]) -> bool:
        """Take up limits people changed since last read; say whether there were any."""
        version = store.edits_version(conn)
        if version == self._edits_version:
            return False
        self._edits_version = version
        self.in_force = self.profiles.with_edits(store.threshold_edits(conn, self.station_ids))
        return True

    def load(self, conn: psycopg.Connection[Any], *, now: float) -> int:
        """Fill the windows ending at ``now`` from the database; return the readings loaded."""
        committed = store.database_now(conn)
        if abs(now - committed) > self.settings.settle_s:
            # Readings dated after the windows' end wait until the worker's clock reaches
            # them: keep both clocks on NTP.
            logger.warning(
                "%s: its clock reads %s, %+.0f s from the database's",
                self.worker,
                _utc(now),
                now - committed,
            )
        store.sync_profiles(conn, self.profiles.as_rows(self.stations), stations=self.station_ids)
        self._read_edits(conn)
        self.build(now)
        stored = store.watermark(conn, self.worker)
        self.watermark = committed - self.settings.settle_s if stored is None else stored
        since = now - self.settings.history_s
        self.reported = store.reported_before(conn, self.station_ids, before=since)
        batch = store.recent(conn, self.station_ids, since=since)
        ahead = np.zeros(len(batch), dtype=np.bool_)
        for window in self.windows:
            window.place(batch, now=now)
            ahead |= window.ahead(batch, now=now)
            window.flags[:] = self.quality.evaluate(
                times=window.times,
                values=window.values,
                parameters=window.row_parameter,
                kinds=window.row_kind,
                status=window.status,
            )
            # Readings stored while no engine ran get their flags now (changed ones only).
            self._store_flags(conn, cells_of(window))
        self.pending = batch.take(ahead)
        conn.commit()
        logger.info(
            "%s: %d stations in %d windows, %d readings loaded",
            self.worker,
            len(self.stations),
            len(self.windows),
            len(batch),
        )
        return len(batch)

    def _own(self, conn: psycopg.Connection[Any], owned: frozenset[str], *, now: float) -> None:
        """Evaluate ``owned`` from this tick on: rebuild the windows whose stations changed.

        The series of stations kept move into the new windows as they are; the readings of
        stations gained are loaded and placed by the tick as late data, so they get their QC
        flags and their whole window evaluated, as at a start. The episodes they re-derive
        are the alerts their previous worker already wrote, which the lifecycle matches.
        """
        before = set(self.station_ids)
        if owned == before:
            return
        gained = sorted(owned - before)
        lost = before - owned
        self.stations = [s for s in self.registry.stations.values() if s.id in owned]
        self.station_ids = [s.id for s in self.stations]
        store.sync_profiles(
            conn,
            self.profiles.as_rows(self.registry.stations[sid] for sid in gained),
            stations=gained,
        )
        self._edits_version = store.edits_version(conn)
        self.in_force = self.profiles.with_edits(store.threshold_edits(conn, self.station_ids))
        self._regroup(now)
        since = now - self.settings.history_s
        self.reported = (self.reported - lost) | store.reported_before(conn, gained, before=since)
        kept = ~np.isin(self.pending.station_id, sorted(lost))
        self.pending = self.pending.take(kept) + store.recent(conn, gained, since=since)
        self._seen = {key: shape for key, shape in self._seen.items() if key[0] in owned}
        self.full_pass = True
        logger.info(
            "%s: now evaluates %d stations (%d gained, %d given up)",
            self.worker,
            len(self.station_ids),
            len(gained),
            len(lost),
        )

    def _regroup(self, now: float) -> None:
        """Windows and rule detectors for the stations owned, keeping those unchanged."""
        old = {window.step: window for window in self.windows}
        rules = {id(rule.window): rule for rule in self.rules}
        self.windows, self.rules = [], []
        for interval, stations in group(self.stations).items():
            previous = old.get(float(interval))
            if previous is not None and previous.station_ids == tuple(s.id for s in stations):
                self.windows.append(previous)
                self.rules.append(rules[id(previous)])
                continue
            end = now if previous is None else previous.end
            window = Window(stations, span_s=self.settings.history_s, end=end)
            if previous is not None:
                window.carry(previous)
            self.windows.append(window)
            self.rules.append(RuleDetector(window, self.in_force))

    def evaluate(self, batch: Batch, *, now: float) -> Evaluation:
        """Place new readings, flag data quality and derive episodes: all in memory.

        Readings dated after ``now`` (or after the newest grid instant) are kept pending and
        placed by the first evaluation whose ``now`` reaches them.
        """
        found: list[Findings] = []
        cells: list[Cells] = []
        window_start = now
        batch = self.pending + batch
        ahead = np.zeros(len(batch), dtype=np.bool_)
        for window, rules in zip(self.windows, self.rules, strict=True):
            added = window.advance(now)
            _, rows, columns = window.place(batch, now=now)
            ahead |= window.ahead(batch, now=now)
            recent = min(window.length, added + RECENT_COLUMNS)
            late_rows = np.unique(rows[columns < window.length - recent])
            # The cells just placed in the newest columns (late rows are stored whole).
            placed = np.zeros((len(window.values), recent), dtype=np.bool_)
            newest = columns >= window.length - recent
            placed[rows[newest], columns[newest] - (window.length - recent)] = True
            flagged = self._flag(window, recent=recent, late_rows=late_rows, placed=placed)
            cells.append(join(flagged, half_step=window.step / 2))
            flags = window.flags
            usable = np.where(
                (flags == QCFlag.GOOD) | (flags == QCFlag.UNKNOWN), window.values, np.nan
            )
            view = View(
                window=window,
                flags=flags,
                usable=usable,
                now=now,
                late_stations=np.unique(window.row_station[late_rows]),
                full=self.full_pass,
            )
            found += [detector(view) for detector in (rules, *self.detectors)]
            window_start = min(window_start, float(window.times[0]))
        self.full_pass = False
        self.pending = batch.take(ahead)
        return Evaluation(
            cells=cells,
            findings=Findings.merge(found),
            window_start=window_start,
        )

    def _flag(
        self,
        window: Window,
        *,
        recent: int,
        late_rows: npt.NDArray[np.int64],
        placed: npt.NDArray[np.bool_],
    ) -> list[Cells]:
        """Flag the newest ``recent`` columns, and whole rows that got late readings.

        Returns the cells to store: in the newest columns, the readings just placed
        (``placed``) and the flags that changed; the late rows whole; on a full pass (after
        a start or a failed tick, when what the database holds is unknown) every flag of
        the newest columns.
        """
        times = window.times
        newest = slice(window.length - recent, None)
        before = window.flags[:, newest].copy()
        window.flags[:, newest] = self.quality.evaluate(
            times=times,
            values=window.values,
            parameters=window.row_parameter,
            kinds=window.row_kind,
            status=window.status,
            last=recent,
        )
        store = placed | self.full_pass | (window.flags[:, newest] != before)
        if not len(late_rows):
            return [cells_of(window, store, columns=newest)]
        window.flags[late_rows] = self.quality.evaluate(
            times=times,
            values=window.values[late_rows],
            parameters=[window.row_parameter[r] for r in late_rows],
            kinds=[window.row_kind[r] for r in late_rows],
            status=window.status[late_rows],
        )
        store[late_rows] = False  # stored below with the rest of their row
        whole = np.zeros((len(window.values), 1), dtype=np.bool_)
        whole[late_rows] = True
        return [cells_of(window, store, columns=newest), cells_of(window, whole)]

    def _store_flags(self, conn: psycopg.Connection[Any], cells: Cells) -> int:
        return store.write_qc(
            conn,
            station_id=cells.station_id,
            parameter_id=cells.parameter_id,
            epoch=cells.epoch,
            flag=cells.flag,
            half_step=cells.half_step,
        )

    def tick(self, conn: psycopg.Connection[Any], *, now: float) -> TickReport:
        """Evaluate what was committed since the watermark as of ``now``, in one transaction.

        ``now`` (the worker's clock) ends the windows and dates the episodes; which rows are
        new is read by the database's clock, which stamped their ``ingested_at``.
        """
        started = time.perf_counter()
        if self.leases is not None:
            self._own(conn, self.leases.claim(conn, now=now), now=now)
        if self._read_edits(conn):
            # Every rule is evaluated again over the window under its new limits: alerts
            # they no longer justify resolve, ones they now justify open.
            self.rules = [RuleDetector(window, self.in_force) for window in self.windows]
            self.full_pass = True
            logger.info("%s: threshold limits were changed; rules rebuilt", self.worker)
        until = store.database_now(conn) - self.settings.settle_s
        batch = store.committed_between(conn, self.station_ids, after=self.watermark, until=until)
        report = TickReport(readings=len(batch))
        evaluation = self.evaluate(batch, now=now)
        # One write per window: each grid has its own half-step.
        report.flagged = sum(self._store_flags(conn, cells) for cells in evaluation.cells)
        # Episodes re-derived unchanged since they were reconciled need no round trip.
        episodes = evaluation.findings.episodes
        fresh = [e for e in episodes if self._seen.get(_identity(e)) != _shape(e)]
        report.transitions = reconcile(
            conn,
            fresh,
            clear=evaluation.findings.clear,
            window_start=evaluation.window_start,
            now=now,
            late_after_s=self.settings.late_after_s,
        )
        fan_out(conn, report.transitions)  # the SMS outbox commits with the alerts
        store.save_watermark(conn, self.worker, until)
        if self.leases is not None:
            self.leases.renew(conn, now=now + time.perf_counter() - started)
        conn.commit()
        self._seen.update((_identity(e), _shape(e)) for e in fresh)
        # Episodes that ended before the window began cannot be derived again: forget them,
        # so a worker that runs for months keeps only what its window can still produce.
        start = evaluation.window_start
        self._seen = {
            key: shape for key, shape in self._seen.items() if shape[1] is None or shape[1] >= start
        }
        self.watermark = until
        report.seconds = time.perf_counter() - started
        for change in report.transitions:
            logger.info(
                "alert %d %s %s at %s (severity %d%s)",
                change.alert_id,
                change.kind,
                change.rule_id,
                change.station_id,
                change.severity,
                ", late" if change.late else "",
            )
        return report

    def run(self, url: str, stop: threading.Event, *, clock: Clock) -> None:
        """Tick until ``stop`` is set, at the times ``clock`` reads; a failed tick is retried."""
        conn = psycopg.connect(url)
        try:
            self.load(conn, now=clock.time())
            while not stop.is_set():
                try:
                    report = self.tick(conn, now=clock.time())
                except psycopg.OperationalError:
                    logger.exception("tick failed; reconnecting")
                    self.full_pass = True  # what reached the database is unknown: recheck all
                    conn = _reconnect(url, conn, stop)
                    continue
                logger.debug(
                    "tick: %d readings, %d flags, %d changes in %.3f s",
                    report.readings,
                    report.flagged,
                    len(report.transitions),
                    report.seconds,
                )
                stop.wait(self.settings.tick_s)
            if self.leases is not None:
                try:
                    self.leases.release(conn)  # a clean stop hands the stations over at once
                except psycopg.OperationalError:
                    logger.warning("%s: leases not released; they expire", self.worker)
        finally:
            conn.close()


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _identity(episode: AlertEpisode) -> tuple[str, str, float]:
    return (episode.station_id, episode.rule_id, episode.opened_at)


def _shape(episode: AlertEpisode) -> tuple[int, float | None]:
    return (episode.severity, episode.resolved_at)


def _reconnect(
    url: str, old: psycopg.Connection[Any], stop: threading.Event
) -> psycopg.Connection[Any]:
    old.close()
    delay = 1.0
    while not stop.is_set():
        try:
            return psycopg.connect(url)
        except psycopg.OperationalError:
            stop.wait(delay)
            delay = min(delay * 2, 30.0)
    return old
