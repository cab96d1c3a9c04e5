"""Sensor maintenance notices: a series whose data stays suspect or failed.

Suspect or failed data never raise water-quality alerts (the engine masks it out); a run
of it lasting ``min_s`` raises a notice for the station's operator instead, one per
(station, parameter), resolved once the series reads good again.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from alerts.detectors.findings import AlertEpisode, Findings
from alerts.kernels.window import Window
from alerts.states import AlertFamily, Severity, sensor_notice_rule
from telemetry import QCFlag


def sensor_notices(
    window: Window,
    flags: npt.NDArray[np.uint8],
    *,
    min_s: float,
    full: bool = True,
    rows: npt.NDArray[np.int64] | None = None,
) -> Findings:
    """Maintenance episodes from a window's QC flags, and the series known good at its end.

    Args:
        window: The series.
        flags: Their QC flags.
        min_s: How long data must stay suspect or failed.
        full: Report every good series as clear (after a start, to resolve notices opened
            before it); otherwise only those with suspect or failed data in the window, the
            only ones whose notices this process can have seen open.
        rows: Look only at these series (those whose flags changed); all if None.
    """
    candidates = np.arange(len(flags)) if rows is None else rows
    subset = flags if rows is None else flags[rows]
    all_bad = (subset == QCFlag.SUSPECT) | (subset == QCFlag.FAIL)
    touched = candidates if full else candidates[all_bad.any(axis=1)]
    flags, bad = flags[touched], all_bad[np.searchsorted(candidates, touched)]
    good = (flags == QCFlag.GOOD) | (flags == QCFlag.UNKNOWN)
    edges = np.diff(np.pad(bad, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    start_rows, start_cols = np.nonzero(edges == 1)  # row-major: runs pair up in order
    _, end_cols = np.nonzero(edges == -1)  # first column after each run
    need = max(1, int(np.ceil(min_s / window.step)))
    # A run that began before the window and is over was seen whole by earlier ticks (its
    # due time, counted from the window's start, would move as the window slides and read
    # as a new episode each tick); an alert of it still open resolves through ``clear``.
    long_enough = (end_cols - start_cols >= need) & ~(
        (start_cols == 0) & (end_cols < window.length)
    )
    times = window.times
    episodes: list[AlertEpisode] = []
    for row, start, end in zip(
        start_rows[long_enough], start_cols[long_enough], end_cols[long_enough], strict=True
    ):
        due = float(times[start + need - 1])
        ongoing = end == window.length
        station = window.station_ids[window.row_station[touched[row]]]
        code = window.row_parameter[touched[row]]
        worst = int(flags[row, start:end].max())
        episodes.append(
            AlertEpisode(
                station_id=station,
                rule_id=sensor_notice_rule(code),
                family=AlertFamily.QUALITY,
                opened_at=due,
                severity=Severity.ADVISORY,
                escalations=((due, Severity.ADVISORY),),
                resolved_at=None if ongoing else float(times[end]),
                continues=bool(start == 0),
                details={
                    "parameter": code,
                    "worst_flag": worst,
                    "message_vi": f"Cảm biến {code} cần bảo trì (dữ liệu nghi ngờ/lỗi)",
                    "message_en": f"Sensor {code} needs maintenance (suspect/failed data)",
                },
            )
        )
    # Known good: the newest flag that is not "missing" is good.
    present = flags != QCFlag.MISSING
    newest = window.length - 1 - np.argmax(present[:, ::-1], axis=1)
    last_good = present.any(axis=1) & good[np.arange(len(flags)), newest]
    clear = {
        (
            window.station_ids[window.row_station[row]],
            sensor_notice_rule(window.row_parameter[row]),
        ): float(times[-1])
        for row in touched[last_good]
    }
    return Findings(tuple(episodes), clear)
