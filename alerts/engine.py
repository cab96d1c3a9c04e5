"""The alert engine: evaluates newly committed readings tick by tick, from a watermark.

Each worker owns the stations it holds leases on (``persistence.leases``: any number of
workers share them and take over a dead one's), keeps their last day in memory
(``Window``), and every tick: renews and locks its leases, loads the stations it gained,
reads what was committed since its watermark, places it, flags the data quality of the
newest columns of the stations that got readings (and of whole series that got late data),
masks suspect and failed data, lets the detectors derive episodes from those stations' rows
(and the time-driven ones, silence and the dawn forecast, from every station), and
reconciles them with the alerts table, the QC flags, the new watermark and its leases in one
transaction. Readings dated before the window are queued in that transaction for the history
pass (``alerts.history``), which the worker runs between ticks for the stations whose
leases it holds. Restarted, it refills its windows from the database and derives the same
episodes, which the alerts table already holds.

Two clocks: the worker's (``main()`` passes the system clock; tests a fixed one) says what
time it is, which ends the windows and dates silence, the dawn forecast and lateness; the
database's, which stamps ``ingested_at``, says which rows are new since the watermark.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import psycopg

from alerts.config.quality import QualityConfig
from alerts.config.threshold_profiles import Profiles
from alerts.detectors.dawn import NightMemory, dawn_forecast
from alerts.detectors.findings import AlertEpisode, Detector, Findings, RuleAt, View
from alerts.detectors.rules import RECENT_COLUMNS, RuleDetector
from alerts.detectors.sensor_notices import sensor_notices
from alerts.detectors.silence import silence
from alerts.history import HistoryPass, HistoryReport
from alerts.kernels.window import Batch, Window
from alerts.notify.outbox import fan_out
from alerts.persistence import store
from alerts.persistence.backlog import FlagBacklog
from alerts.persistence.leases import Leases
from alerts.persistence.lifecycle import Transition, reconcile
from alerts.persistence.qc_cells import Cells, cells_of
from alerts.qc_history import QcHistory, reach_s
from alerts.settings import AlertSettings
from alerts.states import BuiltinRule
from stations import Registry, Station
from telemetry import Clock, worst

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
Flags = npt.NDArray[np.uint8]
Rows = npt.NDArray[np.int64] | slice  # some rows of a window, or all of them
_Built = TypeVar("_Built")


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
    history: Batch = field(default_factory=Batch.empty)  # readings older than the window


@dataclass
class TickReport:
    """What one tick did."""

    readings: int = 0
    flagged: int = 0
    transitions: list[Transition] = field(default_factory=list)
    seconds: float = 0.0
    history: int = 0  # stations whose late history was queued for the history pass
    rules: int = 0  # stations whose compiled rules were stored


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
        # What each station's recent nights taught the dawn forecast.
        self.nights = NightMemory()
        # Per window, the series whose QC looks back further than the window (fouling).
        self.qc_history: list[QcHistory] = []
        # The windows' flags not stored yet (a start's, a gained station's, late rows').
        self.backlog = FlagBacklog(())
        # The first evaluation after a start (or a failed tick) reports everything known clear.
        self.full_pass = True
        self._seen: dict[tuple[str, str, float], tuple[int, float | None]] = {}
        self._seen_since = float("nan")  # the window start _seen was last pruned at
        self.watermark = 0.0
        # Stations that have ever reported: only they can go offline.
        self.reported: set[str] = set()
        # Readings dated after the windows' end (a logger's clock running fast): the
        # watermark has passed them, so they wait here until the grid reaches them.
        self.pending = Batch.empty()
        # (station, rule) pairs whose latest episode this process derived is still open.
        self._open_pairs: set[RuleAt] = set()
        # Whether the history queue may hold work for these stations (checked after a start
        # and after a tick that queued some, not every tick).
        self.history_due = True
        # Stations started or gained whose compiled rules may not be stored yet: the tick
        # after the full pass that first evaluates them stores them, so that their alerts
        # do not wait for it (the limits people edit are read without them).
        self._rules_due: list[Station] = []

    def _silence(self, view: View) -> Findings:
        window = view.window
        clear_only = None
        if not view.full:  # the stations whose offline alert this process saw open
            offline = [s for s, rule in self._open_pairs if rule == BuiltinRule.OFFLINE]
            clear_only = window.station_index(np.array(offline, dtype=np.str_))
        found = silence(
            window,
            now=view.now,
            grace_s=self.settings.offline_grace_s,
            known=self.reported,
            clear_only=clear_only,
        )
        if view.full:
            self.reported.update(station for station, _ in found.clear)
        elif view.stations is not None:  # those that just reported
            self.reported.update(window.station_ids[i] for i in view.stations)
        else:
            self.reported.update(window.station_ids)
        self.reported.update(e.station_id for e in found.episodes if not e.continues)
        return found

    def _dawn(self, view: View) -> Findings:
        # A forecast changes with new DO data, or at sunrise for one that is open: the
        # stations with neither keep what they had.
        only = view.stations
        if only is not None:
            forecasts = [s for s, rule in self._open_pairs if rule == BuiltinRule.DAWN_FORECAST]
            open_at = view.window.station_index(np.array(forecasts, dtype=np.str_))
            only = np.union1d(only, open_at[open_at >= 0])
        return dawn_forecast(view.window, view.usable, now=view.now, only=only, memory=self.nights)

    def _sensor_notices(self, view: View) -> Findings:
        rows = None
        if view.stations is not None:
            rows = np.flatnonzero(np.isin(view.window.row_station, view.stations))
        return sensor_notices(
            view.window,
            view.flags,
            min_s=self.settings.quality_notice_s,
            full=view.full,
            rows=rows,
        )

    def build(self, now: float) -> None:
        """Make empty windows ending at ``now``, and their rule detectors."""
        self.windows = [
            Window(stations, span_s=self.settings.history_s, end=now)
            for stations in group(self.stations).values()
        ]
        self.rules = [RuleDetector(window, self.in_force) for window in self.windows]
        self.qc_history = [
            QcHistory(window, self.quality, step_s=self.settings.qc_history_step_s)
            for window in self.windows
        ]
        self.backlog = FlagBacklog(self.windows)

    def _store_rules(self, conn: psycopg.Connection[Any], stations: Sequence[Station]) -> int:
        """Store the compiled rules of ``stations`` where the stored ones are out of date
        (the API shows them); return how many stations were written."""
        expected = {
            s.id: (self.profiles.station_digest(s), len(self.profiles.rules_for(s)))
            for s in stations
        }
        stale = store.stale_profiles(conn, expected)
        if stale:
            by_id = {s.id: s for s in stations}
            rows = self.profiles.as_rows(by_id[sid] for sid in stale)
            store.sync_profiles(conn, rows, stations=stale)
        return len(stale)

    @property
    def behind(self) -> bool:
        """Whether a start or a take-over left work the next ticks do (QC flags or compiled
        rules to store): the next tick should follow at once."""
        return bool(self.backlog) or bool(self._rules_due)

    def _read_edits(self, conn: psycopg.Connection[Any]) -> bool:
        """Take up limits people changed since last read; say whether there were any."""
        version = store.edits_version(conn)
        if version == self._edits_version:
            return False
        self._edits_version = version
        self.in_force = self.profiles.with_edits(
            store.threshold_edits(conn, self.profiles, self.stations)
        )
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
        self._rules_due = list(self.stations)
        self._read_edits(conn)
        watermark = store.watermark(conn, self.worker)
        self.watermark = committed - self.settings.settle_s if watermark is None else watermark
        since = now - self.settings.history_s
        if watermark is None:  # a first start: history imported before it is evaluated too
            store.queue_unevaluated(conn, self.station_ids, before=since)
        self.reported = store.reported_before(conn, self.station_ids, before=since)
        reach = reach_s(self.stations, self.quality, step_s=self.settings.qc_history_step_s)
        _, batch, stored = self._read_while(
            conn, lambda: self.build(now), self.station_ids, since=min(since, now - reach)
        )
        ahead = np.zeros(len(batch), dtype=np.bool_)
        for index, (window, history) in enumerate(zip(self.windows, self.qc_history, strict=True)):
            placed, rows, columns = window.place(batch, now=now)
            history.advance_and_place(batch, now=now)
            ahead |= window.ahead(batch, now=now)
            held = window.filled()
            window.flags[:, -held:] = self.quality.evaluate(
                times=window.times,
                values=window.values,
                parameters=window.row_parameter,
                kinds=window.row_kind,
                status=window.status,
                last=held,
            )
            _long_flags(window, history, last=held)
            window.mark_usable()
            # Readings stored while no engine ran get their flags, tick by tick: only
            # those whose stored flag differs (a restart has few).
            changed = window.flags[rows, columns] != stored[placed]
            self.backlog.add(index, rows[changed], columns[changed])
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
        self.backlog.drop(lost)  # theirs are their new owner's to store
        self.backlog.store(conn, limit=None, now=now)  # before the windows change
        self.stations = [s for s in self.registry.stations.values() if s.id in owned]
        self.station_ids = [s.id for s in self.stations]
        self._rules_due = [s for s in self._rules_due if s.id not in lost]
        self._rules_due += [self.registry.stations[sid] for sid in gained]
        self._edits_version = store.edits_version(conn)
        self.in_force = self.profiles.with_edits(
            store.threshold_edits(conn, self.profiles, self.stations)
        )
        # One read: the long series of the changed windows (read again) and the gained
        # stations' window, which the tick places as late data.
        groups = self._groups()
        changed = [s for stations, previous in groups if previous is None for s in stations]
        since = now - self.settings.history_s
        reach = reach_s(changed, self.quality, step_s=self.settings.qc_history_step_s)
        ids = sorted({s.id for s in changed} | set(gained))
        fresh, batch, _ = self._read_while(
            conn, lambda: self._regroup(groups, now), ids, since=min(since, now - reach)
        )
        for history in fresh:
            history.advance_and_place(batch, now=now)
        self.reported = (self.reported - lost) | store.reported_before(conn, gained, before=since)
        kept = ~self.pending.among(sorted(lost))
        arrived = batch.among(gained) & (batch.epoch > since)
        self.pending = self.pending.take(kept) + batch.take(arrived)
        self._seen = {key: shape for key, shape in self._seen.items() if key[0] in owned}
        self.full_pass = True
        self.history_due = True  # the late history queued for them by their previous worker
        logger.info(
            "%s: now evaluates %d stations (%d gained, %d given up)",
            self.worker,
            len(self.station_ids),
            len(gained),
            len(lost),
        )

    def _groups(self) -> list[tuple[list[Station], Window | None]]:
        """The stations owned by window, each with its window if that one is kept as it
        is (None: the window is made anew)."""
        old = {window.step: window for window in self.windows}
        groups = []
        for interval, stations in group(self.stations).items():
            previous = old.get(float(interval))
            same = previous is not None and previous.station_ids == tuple(s.id for s in stations)
            groups.append((stations, previous if same else None))
        return groups

    def _regroup(
        self, groups: list[tuple[list[Station], Window | None]], now: float
    ) -> list[QcHistory]:
        """Windows and rule detectors for ``groups`` (:meth:`_groups`), keeping those
        unchanged; a new window takes over the series of its interval's old one.

        Returns the long QC histories made new, which the caller fills from the database.
        """
        old = {window.step: window for window in self.windows}
        rules = {id(rule.window): rule for rule in self.rules}
        histories = {id(h.engine_window): h for h in self.qc_history}
        self.windows, self.rules, self.qc_history = [], [], []
        fresh: list[QcHistory] = []
        for stations, kept in groups:
            if kept is not None:
                self.windows.append(kept)
                self.rules.append(rules[id(kept)])
                self.qc_history.append(histories[id(kept)])
                continue
            previous = old.get(float(stations[0].sampling_interval_s))
            end = now if previous is None else previous.end
            window = Window(stations, span_s=self.settings.history_s, end=end)
            if previous is not None:
                window.carry(previous)
            self.windows.append(window)
            self.rules.append(RuleDetector(window, self.in_force))
            history = QcHistory(window, self.quality, step_s=self.settings.qc_history_step_s)
            self.qc_history.append(history)
            if len(history):
                fresh.append(history)
        self.backlog = FlagBacklog(self.windows)
        return fresh

    def _read_while(
        self,
        conn: psycopg.Connection[Any],
        build: Callable[[], _Built],
        stations: Sequence[str],
        *,
        since: float,
    ) -> tuple[_Built, Batch, npt.NDArray[np.int64]]:
        """Run ``build`` (windows and rules: Python's work) in a thread while the database
        packs the readings of ``stations`` dated after ``since`` (:func:`store.recent`) for
        them: at 10,000 stations each takes about 3 s.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.worker) as pool:
            built = pool.submit(build)
            batch, stored = store.recent(conn, stations, since=since)
            return built.result(), batch, stored

    def evaluate(self, batch: Batch, *, now: float) -> Evaluation:
        """Place new readings, flag data quality and derive episodes: all in memory.

        Only the stations that got readings are flagged and evaluated again (every station
        on a full pass), plus the time-driven checks (silence, the dawn forecast): a tick
        costs what changed. Readings dated after ``now`` (or after the newest grid instant)
        are kept pending and placed by the first evaluation whose ``now`` reaches them;
        readings older than the window are returned as ``history``.
        """
        found: list[Findings] = []
        cells: list[Cells] = []
        window_start = now
        batch = self.pending + batch
        ahead = np.zeros(len(batch), dtype=np.bool_)
        older = np.zeros(len(batch), dtype=np.bool_)
        groups = zip(self.windows, self.rules, self.qc_history, strict=True)
        for index, (window, rules, history) in enumerate(groups):
            added = window.advance(now)
            self.backlog.shift(index, added)
            _, rows, columns = window.place(batch, now=now)
            history.advance_and_place(batch, now=now)
            ahead |= window.ahead(batch, now=now)
            older |= window.before(batch)
            recent = min(window.length, added + RECENT_COLUMNS)
            late_rows = np.unique(rows[columns < window.length - recent])
            if self.full_pass:
                stations = np.arange(len(window.stations))
            else:
                stations = np.unique(window.row_station[rows])
            # Every row (a slice, not a copy) when every station got readings.
            dirty: Rows = (
                slice(None)
                if len(stations) == len(window.stations)
                else np.flatnonzero(np.isin(window.row_station, stations))
            )
            # The cells just placed in the newest columns (late rows are stored whole).
            placed = np.zeros((len(window.values), recent), dtype=np.bool_)
            newest = columns >= window.length - recent
            placed[rows[newest], columns[newest] - (window.length - recent)] = True
            flagged = self._flag(
                index, history, recent=recent, late_rows=late_rows, placed=placed, dirty=dirty
            )
            cells.append(flagged)
            if self.full_pass:
                window.mark_usable()
            else:  # only the flags of the newest columns and of late rows changed
                window.mark_usable(dirty, columns=slice(window.length - recent, None))
                window.mark_usable(late_rows)
            view = View(
                window=window,
                flags=window.flags,
                usable=window.usable,
                now=now,
                late_stations=np.unique(window.row_station[late_rows]),
                full=self.full_pass,
                stations=None if isinstance(dirty, slice) else stations,
            )
            found += [detector(view) for detector in (rules, *self.detectors)]
            window_start = min(window_start, float(window.times[0]))
        findings = self._news(Findings.merge(found))
        self.full_pass = False
        self.pending = batch.take(ahead)
        return Evaluation(
            cells=cells,
            findings=findings,
            window_start=window_start,
            history=batch.take(older & ~ahead),
        )

    def _news(self, findings: Findings) -> Findings:
        """Keep the clear pairs that can resolve an alert: on a full pass all of them,
        otherwise those whose episode this process saw open.

        Time-driven checks find nearly every station clear every tick; passing them all
        on would make each tick read every open alert.
        """
        for episode in sorted(findings.episodes, key=lambda e: e.opened_at):
            key = (episode.station_id, episode.rule_id)
            if episode.resolved_at is None:
                self._open_pairs.add(key)
            else:
                self._open_pairs.discard(key)
        if self.full_pass:
            clear = dict(findings.clear)
        else:
            clear = {k: at for k, at in findings.clear.items() if k in self._open_pairs}
        self._open_pairs.difference_update(clear)
        return Findings(findings.episodes, clear)

    def _flag(
        self,
        index: int,
        history: QcHistory,
        *,
        recent: int,
        late_rows: npt.NDArray[np.int64],
        placed: npt.NDArray[np.bool_],
        dirty: Rows,
    ) -> Cells:
        """Flag the newest ``recent`` columns of the ``dirty`` rows (those of stations that
        got readings) of window ``index``, and whole rows that got late readings.

        Returns the cells to store now: in the newest columns, the readings just placed
        (``placed``) and the flags that changed. The late rows go to the backlog whole (as
        do, after a start or a failed tick, the flags the database may not hold).
        """
        window = self.windows[index]
        times = window.times
        newest = slice(window.length - recent, None)
        store = placed.copy()
        if len(late_rows):  # flagged whole below
            every = np.arange(len(window.values)) if isinstance(dirty, slice) else dirty
            dirty = np.setdiff1d(every, late_rows)
        if isinstance(dirty, slice):
            parameters, kinds = window.row_parameter, window.row_kind
        else:
            parameters = tuple(window.row_parameter[r] for r in dirty)
            kinds = tuple(window.row_kind[r] for r in dirty)
        if parameters:
            before = window.flags[dirty, newest].copy()  # a view when dirty is a slice
            after = self.quality.evaluate(
                times=times,
                values=window.values[dirty],
                parameters=parameters,
                kinds=kinds,
                status=window.status[dirty],
                last=recent,
            )
            window.flags[dirty, newest] = after
            rows = None if isinstance(dirty, slice) else dirty
            _long_flags(window, history, last=recent, rows=rows)
            store[dirty] |= window.flags[dirty, newest] != before
        if not len(late_rows):
            return cells_of(window, store, columns=newest)
        # Every row late (a start, stations taken over): the window's arrays as they are,
        # not copies of them (late_rows are unique).
        whole = len(late_rows) == len(window.values)
        late: Rows = slice(None) if whole else late_rows
        held = window.filled(late)
        window.flags[late, -held:] = self.quality.evaluate(
            times=times,
            values=window.values[late],
            parameters=window.row_parameter
            if whole
            else [window.row_parameter[r] for r in late_rows],
            kinds=window.row_kind if whole else [window.row_kind[r] for r in late_rows],
            status=window.status[late],
            last=held,
        )
        _long_flags(window, history, last=held, rows=late_rows)
        store[late_rows] = False  # stored with the rest of their row
        self.backlog.add(index, late_rows)
        return cells_of(window, store, columns=newest)

    def tick(self, conn: psycopg.Connection[Any], *, now: float) -> TickReport:
        """Evaluate what was committed since the watermark as of ``now``, in one transaction.

        ``now`` (the worker's clock) ends the windows and dates the episodes; which rows are
        new is read by the database's clock, which stamped their ``ingested_at``.
        """
        started = time.perf_counter()
        if self.leases is not None:
            self._own(conn, self.leases.claim(conn, now=now), now=now)
        # A full pass over stations just started or gained is the heaviest tick: it stores
        # no chunk of the backlog and no compiled rules, so that its alerts go out first.
        first = self.full_pass
        if self._read_edits(conn):
            # Every rule is evaluated again over the window under its new limits: alerts
            # they no longer justify resolve, ones they now justify open.
            self.rules = [RuleDetector(window, self.in_force) for window in self.windows]
            self.full_pass = True
            logger.info("%s: threshold limits were changed; rules rebuilt", self.worker)
        until = store.database_now(conn) - self.settings.settle_s
        batch = store.committed_between(conn, self.station_ids, after=self.watermark, until=until)
        report = TickReport(readings=len(batch))
        report.flagged = self.backlog.store(conn, limit=0, now=now)  # cells the windows drop
        chunk = 0 if first else self.settings.flag_chunk
        evaluation = self.evaluate(batch, now=now)
        # One write per window: each grid has its own half-step.
        report.flagged += sum(store.write_qc(conn, cells) for cells in evaluation.cells)
        report.flagged += self.backlog.store(conn, limit=chunk, now=now)
        if self._rules_due and not first:
            report.rules = self._store_rules(conn, self._rules_due)
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
        # Readings older than the window wait for the history pass (queued with the watermark
        # that passes them, so a crash cannot lose them).
        report.history = store.queue_history(conn, evaluation.history)
        self.history_due |= report.history > 0
        store.save_watermark(conn, self.worker, until)
        if self.leases is not None:
            self.leases.renew(conn, now=now + time.perf_counter() - started)
        conn.commit()
        if not first:
            self._rules_due = []
        self._seen.update((_identity(e), _shape(e)) for e in fresh)
        # Episodes that ended before the window began cannot be derived again: forget them,
        # so a worker that runs for months keeps only what its window can still produce.
        # (Only when the window moved: a pass over every episode each tick would cost the
        # number of stations.)
        start = evaluation.window_start
        if start != self._seen_since:
            self._seen_since = start
            self._seen = {
                key: shape
                for key, shape in self._seen.items()
                if shape[1] is None or shape[1] >= start
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

    def history(self, conn: psycopg.Connection[Any], *, now: float) -> HistoryReport:
        """Evaluate up to ``history_chunks`` chunks of queued late history, each committed
        on its own, so that a long backlog never holds up the live ticks for long.

        Flags are stored and the episodes found recorded as late alerts, with no
        notification (see :mod:`alerts.history`).
        """
        report = HistoryReport()
        if not self.history_due:
            return report
        owned = {s.id: s for s in self.stations}
        evaluator = HistoryPass(
            quality=self.quality,
            profiles=self.in_force,
            context_s=self.settings.history_s,
            notice_s=self.settings.quality_notice_s,
        )
        for _ in range(self.settings.history_chunks):
            chunk = store.next_history(conn, list(owned), chunk_s=self.settings.history_chunk_s)
            if chunk is None:
                self.history_due = False
                break
            if self.leases is not None and not self.leases.holds(conn, chunk.station_id):
                conn.rollback()  # given up since the last tick: its new owner does it
                break
            report.add(
                evaluator.run(
                    conn,
                    owned[chunk.station_id],
                    start=chunk.start,
                    end=chunk.end,
                    until=now - self.settings.history_s,
                )
            )
            store.history_done(conn, chunk)
            conn.commit()
        conn.commit()
        if report.chunks:
            logger.info(
                "%s: history pass, %d chunks: %d readings, %d flags written, %d late alert"
                " events recorded (not sent)",
                self.worker,
                report.chunks,
                report.readings,
                report.flagged,
                len(report.recorded),
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
                    self.history(conn, now=clock.time())
                except psycopg.OperationalError:
                    logger.exception("tick failed; reconnecting")
                    # What reached the database is unknown: evaluate and store all again.
                    self.full_pass = True
                    self.backlog.everything()
                    conn = _reconnect(url, conn, stop)
                    continue
                logger.debug(
                    "tick: %d readings, %d flags, %d changes in %.3f s",
                    report.readings,
                    report.flagged,
                    len(report.transitions),
                    report.seconds,
                )
                stop.wait(0.0 if self.behind else self.settings.tick_s)
            if self.leases is not None:
                try:
                    self.leases.release(conn)  # a clean stop hands the stations over at once
                except psycopg.OperationalError:
                    logger.warning("%s: leases not released; they expire", self.worker)
        finally:
            conn.close()


def _long_flags(
    window: Window,
    history: QcHistory,
    *,
    last: int | None,
    rows: npt.NDArray[np.int64] | None = None,
) -> None:
    """Add the long-lookback checks' flags, from the longer history, to the window's own
    (those checks gave not evaluated there, which any other flag outranks)."""
    chosen = history.selected(rows)
    if not len(chosen):
        return
    columns = window.length if last is None else last
    flags = history.flags(last=columns, rows=rows)
    target = history.rows[chosen]
    newest = slice(window.length - columns, None)
    window.flags[target, newest] = worst(window.flags[target, newest], flags)


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
