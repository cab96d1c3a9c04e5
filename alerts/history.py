"""The history pass: quality flags and late episodes for readings older than the live window.

The live engine keeps the last ``history_s`` (26 h) of every series in memory. Readings that
arrive dated before that window (a logger's 60-day buffer after a long outage, an FTP
backlog, an import of last season's records) are queued per station in ``qc_backlog`` by
the tick that reads them (``alerts.persistence.store.queue_history``). The engine then
takes the queue a chunk at a time, each in its own transaction: one station, at most
``history_chunk_s`` of data time, evaluated in data time together with ``history_s`` of its
stored neighbours on each side. Memory is one station's few days whatever the backlog.

Each chunk's QC flags are stored (the neighbours after the chunk too: their checks saw a
gap where the late readings now are), and the episodes that began and ended inside the
evaluated span are recorded as late alerts, resolved, with their events and without any
notification (the policy is in the README, "Late history"). An episode still holding
where the span ends is left out: the next chunk, or the live window, sees it whole.

``aquawatch qc recheck`` runs the same evaluation over a range, flags only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg

from alerts.config.quality import QualityConfig
from alerts.config.threshold_profiles import Profiles
from alerts.detectors.findings import Findings, View
from alerts.detectors.rules import RuleDetector
from alerts.detectors.sensor_notices import sensor_notices
from alerts.kernels.window import Window
from alerts.persistence import store
from alerts.persistence.lifecycle import Transition, open_episodes
from alerts.persistence.qc_cells import cells_of
from stations import Station


@dataclass
class HistoryReport:
    """What a history pass did."""

    chunks: int = 0
    readings: int = 0
    flagged: int = 0
    recorded: list[Transition] = field(default_factory=list)

    def add(self, other: HistoryReport) -> None:
        """Count ``other`` in."""
        self.chunks += other.chunks
        self.readings += other.readings
        self.flagged += other.flagged
        self.recorded += other.recorded


@dataclass(frozen=True, slots=True)
class HistoryPass:
    """Evaluates stored history of one station over a range, in data time.

    Attributes:
        quality: The data-quality checks.
        profiles: Threshold profiles in force (with people's edits).
        context_s: Stored neighbours read on each side of the range.
        notice_s: How long suspect or failed data must last for a maintenance notice.
    """

    quality: QualityConfig
    profiles: Profiles
    context_s: float
    notice_s: float

    def run(
        self,
        conn: psycopg.Connection[Any],
        station: Station,
        *,
        start: float,
        end: float,
        until: float | None = None,
        alerts: bool = True,
    ) -> HistoryReport:
        """Flag the readings of ``station`` from ``start`` on, and record late episodes.

        The caller commits.

        Args:
            conn: An open connection.
            station: The station.
            start: Data time of the first reading to evaluate.
            end: Data time of the last; neighbours up to ``context_s`` later are flagged too.
            until: Nothing at or after this data time is read or written (the live window's
                start); no bound if None.
            alerts: Also record the episodes found, as late alerts.
        """
        step = float(station.sampling_interval_s)
        last = end + self.context_s if until is None else min(end + self.context_s, until - step)
        last = max(last, end)
        first = start - self.context_s
        window = Window([station], span_s=last - first, end=last)
        times = window.times
        batch = store.dated_between(
            conn,
            [station.id],
            after=float(times[0]) - step / 2,
            until=last + step / 2,
            from_after=True,
        )
        window.place(batch)
        window.flags[:] = self.quality.evaluate(
            times=times,
            values=window.values,
            parameters=window.row_parameter,
            kinds=window.row_kind,
            status=window.status,
        )
        window.mark_usable()
        # The context before the range keeps its flags: its own neighbours were not read.
        flagged = cells_of(
            window, columns=slice(int(np.searchsorted(times, start - step / 2)), None)
        )
        report = HistoryReport(chunks=1, readings=len(batch))
        report.flagged = store.write_qc(conn, flagged)
        if not alerts:
            return report
        view = View(
            window=window,
            flags=window.flags,
            usable=window.usable,
            now=float(times[-1]),
            full=False,
        )
        found = Findings.merge(
            [
                RuleDetector(window, self.profiles)(view),
                sensor_notices(window, window.flags, min_s=self.notice_s, full=False),
            ]
        )
        # Only episodes seen whole: begun after the span's start and over before its end.
        whole = [e for e in found.episodes if e.resolved_at is not None and not e.continues]
        report.recorded = open_episodes(conn, whole, late=[True] * len(whole))
        return report
