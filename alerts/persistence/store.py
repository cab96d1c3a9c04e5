"""What the alert engine reads from and writes to the database, column-wise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import class_row, scalar_row

from alerts.config.compiled_rules import THRESHOLD_COLUMNS, LimitEdit, ThresholdRow
from alerts.config.profile_schema import Tiers
from alerts.config.threshold_profiles import Profiles
from alerts.kernels.window import Batch
from alerts.persistence.columns import copy_in
from alerts.persistence.qc_cells import Cells
from stations import Station
from telemetry import QCFlag

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# These statements' estimates run high (the planner cannot size an unnest or a new
# partition) and compiling them would take longer than running them.
_NO_JIT: Final = "SET LOCAL jit = off"

# A reading as the engine reads it, packed by the server: one bytea per station comes back
# (a value may not exceed 1 GB; a station's day is far below that), and the whole result
# becomes numpy columns without a Python object per reading.
_READING: Final = np.dtype(
    [
        ("parameter_id", ">i2"),
        ("time", ">i8"),  # timestamptz as sent: microseconds since 2000-01-01 UTC
        ("value", ">f8"),
        ("device_status", ">i2"),
        ("qc", ">i2"),
    ]
)
# The packing groups a start's whole window (2.4 M readings at 10,000 stations, 80 MB) in
# memory: with the default 4 MB it spills to disk and takes half as long again. Set with
# _NO_JIT in one round trip (every tick reads).
_PACKING: Final = "SELECT set_config('jit', 'off', true), set_config('work_mem', '128MB', true)"
_UNIX_TO_2000_US: Final = 946_684_800_000_000
_READINGS: Final = (
    "SELECT station_id, string_agg(int2send(parameter_id)"
    " || timestamptz_send(time) || float8send(value)"
    " || int2send(device_status) || int2send(qc), ''::bytea)"
    " FROM readings WHERE {} GROUP BY station_id"
)


def _read(
    conn: psycopg.Connection[Any],
    stations: Sequence[str],
    where: str,
    params: Sequence[object],
) -> tuple[Batch, IntArray]:
    """Readings of ``stations`` matching ``where``, column-wise, and their stored QC flags.

    ``where`` picks the rows; those of stations not in ``stations`` are dropped here.
    """
    conn.execute(_PACKING)
    with conn.cursor(binary=True) as cur:
        found = [(str(s), bytes(b)) for s, b in cur.execute(_READINGS.format(where), params)]
    ids = np.array([s for s, _ in found], dtype=np.str_)
    counts = np.array([len(b) // _READING.itemsize for _, b in found], dtype=np.int64)
    rows = np.frombuffer(b"".join(b for _, b in found), dtype=_READING)
    station_id = np.repeat(ids, counts) if len(found) else np.zeros(0, dtype=np.str_)
    wanted = np.repeat(np.isin(ids, np.asarray(stations, dtype=np.str_)), counts)
    batch = Batch(
        station_id=station_id[wanted],
        parameter_id=rows["parameter_id"][wanted].astype(np.int64),
        # As date_part('epoch', time) computes it, without the server's 0.25 s for 2.4 M.
        epoch=(rows["time"][wanted].astype(np.int64) + _UNIX_TO_2000_US) / 1e6,
        value=rows["value"][wanted].astype(np.float64),
        device_status=rows["device_status"][wanted].astype(np.int64),
    )
    return batch, rows["qc"][wanted].astype(np.int64)


def recent(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, since: float
) -> tuple[Batch, IntArray]:
    """Readings of ``stations`` dated after ``since`` (to fill a window at start), and the
    QC flag each has stored."""
    where = "station_id = ANY(%s) AND time > to_timestamp(%s)"
    return _read(conn, stations, where, (list(stations), since))


def dated_between(
    conn: psycopg.Connection[Any],
    stations: Sequence[str],
    *,
    after: float,
    until: float,
    from_after: bool = False,
) -> Batch:
    """Readings of ``stations`` dated in (after, until], whenever they arrived (backtests);
    in [after, until] with ``from_after`` (the history pass's neighbours)."""
    lower = ">=" if from_after else ">"
    where = f"station_id = ANY(%s) AND time {lower} to_timestamp(%s) AND time <= to_timestamp(%s)"
    return _read(conn, stations, where, (list(stations), after, until))[0]


def reported_before(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, before: float
) -> set[str]:
    """Which of ``stations`` have a reading dated at or before ``before``."""
    with conn.cursor(row_factory=scalar_row) as cur:
        found = cur.execute(
            "SELECT s FROM unnest(%s::text[]) AS s WHERE EXISTS"
            " (SELECT 1 FROM readings r WHERE r.station_id = s AND r.time <= to_timestamp(%s))",
            (list(stations), before),
        ).fetchall()
    return {str(station) for station in found}


@dataclass(frozen=True, slots=True)
class _Edit:
    """A rule's limits as people changed them, for a profile or for one station."""

    owner: str  # the profile, or the station
    rule_id: str
    advisory: float | None
    warning: float | None
    critical: float | None
    source: str


def _layered(override: _Edit | None, edit: _Edit | None) -> LimitEdit:
    """A station's override over its profile's edit, tier by tier; its source wins too."""
    winner = override or edit
    assert winner is not None
    tiers = [o if o is not None else e for o, e in zip(_tiers(override), _tiers(edit), strict=True)]
    return LimitEdit(tiers=cast(Tiers, tuple(tiers)), source=winner.source)


def _tiers(edit: _Edit | None) -> Tiers:
    return (None, None, None) if edit is None else (edit.advisory, edit.warning, edit.critical)


def threshold_edits(
    conn: psycopg.Connection[Any], profiles: Profiles, stations: Iterable[Station]
) -> dict[tuple[str, str], LimitEdit]:
    """Limits people changed through the API, by (station, rule), for the rules
    ``profiles`` compiles for ``stations``.

    A station's override wins over an edit of its profile's rule, tier by tier, as the API
    shows them (``viz.api.queries.thresholds``); a tier neither changed keeps the file's
    value. They are layered over the rules compiled here, not over ``threshold_profiles``,
    which a worker stores only after the tick that first evaluates its stations.
    """
    stations = list(stations)
    with conn.cursor(row_factory=class_row(_Edit)) as cur:
        by_profile = {
            (e.owner, e.rule_id): e
            for e in cur.execute(
                "SELECT profile AS owner, rule_id, advisory, warning, critical, source"
                " FROM profile_edits"
            )
        }
        by_station = {
            (e.owner, e.rule_id): e
            for e in cur.execute(
                "SELECT station_id AS owner, rule_id, advisory, warning, critical, source"
                " FROM threshold_overrides WHERE station_id = ANY(%s)",
                ([s.id for s in stations],),
            )
        }
    if not by_profile and not by_station:
        return {}
    edits = {}
    for station in stations:
        for rule in profiles.rules_for(station):
            override = by_station.get((station.id, rule.rule_id))
            edit = by_profile.get((rule.profile, rule.rule_id))
            if override is not None or edit is not None:
                edits[(station.id, rule.rule_id)] = _layered(override, edit)
    return edits


def edits_version(conn: psycopg.Connection[Any]) -> tuple[object, ...]:
    """Changes whenever a limit is edited, overridden or set back."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM profile_edits), (SELECT max(updated_at) FROM profile_edits),"
        " (SELECT count(*) FROM threshold_overrides),"
        " (SELECT max(updated_at) FROM threshold_overrides)"
    ).fetchone()
    return tuple(row or ())


def committed_between(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, after: float, until: float
) -> Batch:
    """Readings of ``stations`` ingested in (after, until], whatever their own time.

    Every station's new rows are read and the others dropped here: the tick then sends no
    list of its stations, whose size would make its cost follow the station count.
    """
    where = "ingested_at > to_timestamp(%s) AND ingested_at <= to_timestamp(%s)"
    return _read(conn, stations, where, (after, until))[0]


# The cells of one write_qc, sent by COPY: emptied by the write that consumes them (and at
# commit, should it fail first).
_QC_CELLS: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS aquawatch_qc_cells"
    " (station int4, parameter_id int2, epoch float8, qc int2) ON COMMIT DELETE ROWS"
)


def write_qc(conn: psycopg.Connection[Any], cells: Cells) -> int:
    """Store QC flags by grid cell: every reading within half a step of a cell's instant.

    The cells travel by binary COPY; the constant bounds around them let PostgreSQL prune
    the partitions to the few days they span.

    Returns:
        How many readings changed flag.
    """
    if not len(cells.epoch):
        return 0
    half = cells.half_step
    # Only the stations these cells name travel with the statement.
    named, station = np.unique(cells.station, return_inverse=True)
    conn.execute(_QC_CELLS)
    copy_in(
        conn,
        "aquawatch_qc_cells",
        {
            "station": station.astype(np.int32) + 1,
            "parameter_id": cells.parameter_id.astype(np.int16),
            "epoch": cells.epoch.astype(np.float64),
            "qc": cells.flag.astype(np.int16),
        },
    )
    conn.execute("ANALYZE aquawatch_qc_cells")  # its size, for the plan
    conn.execute(_NO_JIT)
    # The cells get their station's id before they meet the readings, so that the join
    # is by (station, parameter) even where the planner knows nothing of a new partition.
    cursor = conn.execute(
        "WITH f AS (DELETE FROM aquawatch_qc_cells RETURNING *),"
        " c AS MATERIALIZED (SELECT s.id AS station_id, f.parameter_id, f.epoch, f.qc"
        "  FROM f JOIN unnest(%(ids)s::text[]) WITH ORDINALITY AS s(id, n) ON s.n = f.station)"
        " UPDATE readings r SET qc = c.qc FROM c"
        " WHERE r.station_id = c.station_id AND r.parameter_id = c.parameter_id"
        "  AND r.time >= to_timestamp(c.epoch - %(half)s)"
        "  AND r.time < to_timestamp(c.epoch + %(half)s)"
        "  AND r.time >= %(low)s AND r.time < %(high)s AND r.qc <> c.qc",
        {
            "ids": [cells.stations[i] for i in named],
            "half": half,
            "low": _utc(float(cells.epoch.min()) - half),
            "high": _utc(float(cells.epoch.max()) + half),
        },
    )
    return max(cursor.rowcount, 0)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def watermark(conn: psycopg.Connection[Any], worker: str) -> float | None:
    """The worker's stored watermark (epoch), if any."""
    with conn.cursor(row_factory=scalar_row) as cur:
        stored: float | None = cur.execute(
            "SELECT extract(epoch FROM watermark)::float8 FROM alert_watermarks WHERE worker = %s",
            (worker,),
        ).fetchone()
    return None if stored is None else float(stored)


def save_watermark(conn: psycopg.Connection[Any], worker: str, epoch: float) -> None:
    """Record how far the worker has evaluated (in the tick's transaction)."""
    conn.execute(
        "INSERT INTO alert_watermarks (worker, watermark) VALUES (%s, to_timestamp(%s))"
        " ON CONFLICT (worker) DO UPDATE SET watermark = excluded.watermark, updated_at = now()",
        (worker, epoch),
    )


def database_now(conn: psycopg.Connection[Any]) -> float:
    """The database's clock (ingested_at is stamped by it), as epoch seconds."""
    with conn.cursor(row_factory=scalar_row) as cur:
        now: float | None = cur.execute(
            "SELECT extract(epoch FROM clock_timestamp())::float8"
        ).fetchone()
    assert now is not None
    return float(now)


_COPY_THRESHOLDS: Final = sql.SQL("COPY threshold_profiles ({}) FROM STDIN").format(
    sql.SQL(", ").join(map(sql.Identifier, THRESHOLD_COLUMNS))
)


def sync_profiles(
    conn: psycopg.Connection[Any], rows: Sequence[ThresholdRow], *, stations: Sequence[str]
) -> int:
    """Replace the compiled rules of ``stations`` in ``threshold_profiles`` (one transaction)."""
    with conn.transaction():
        conn.execute("DELETE FROM threshold_profiles WHERE station_id = ANY(%s)", (list(stations),))
        with conn.cursor() as cur, cur.copy(_COPY_THRESHOLDS) as copy:
            for row in rows:
                copy.write_row([getattr(row, column) for column in THRESHOLD_COLUMNS])
    return len(rows)


def stale_profiles(
    conn: psycopg.Connection[Any], expected: Mapping[str, tuple[str, int]]
) -> list[str]:
    """The stations whose stored compiled rules are not ``expected`` (station: the digest
    of its rows, how many), sorted: those :func:`sync_profiles` must write again."""
    with conn.cursor() as cur:
        stored = {
            station: (low if low == high else None, count)
            for station, low, high, count in cur.execute(
                "SELECT station_id, min(digest), max(digest), count(*) FROM threshold_profiles"
                " WHERE station_id = ANY(%s) GROUP BY station_id",
                (list(expected),),
            )
        }
    return sorted(
        station
        for station, (digest, count) in expected.items()
        if stored.get(station, (digest, 0)) != (digest, count)
    )


_QUEUE: Final = (
    " ON CONFLICT (station_id) DO UPDATE SET"
    " from_time = least(qc_backlog.from_time, excluded.from_time),"
    " to_time = greatest(qc_backlog.to_time, excluded.to_time)"
)


def queue_history(conn: psycopg.Connection[Any], history: Batch) -> int:
    """Queue readings older than the live window for the history pass, by station range.

    Returns:
        How many stations got (or widened) a range.
    """
    if not len(history):
        return 0
    ids, station = np.unique(history.station_id, return_inverse=True)
    first = np.full(len(ids), np.inf)
    last = np.full(len(ids), -np.inf)
    np.minimum.at(first, station, history.epoch)
    np.maximum.at(last, station, history.epoch)
    cursor = conn.execute(
        "INSERT INTO qc_backlog (station_id, from_time, to_time)"
        " SELECT s, to_timestamp(f), to_timestamp(t)"
        " FROM unnest(%s::text[], %s::float8[], %s::float8[]) AS q(s, f, t)" + _QUEUE,
        (ids.tolist(), first.tolist(), last.tolist()),
    )
    return max(cursor.rowcount, 0)


def queue_unevaluated(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, before: float
) -> int:
    """Queue the stored readings dated before ``before`` that were never evaluated (a first
    start over imported history).

    Returns:
        How many stations got (or widened) a range.
    """
    cursor = conn.execute(
        "INSERT INTO qc_backlog (station_id, from_time, to_time)"
        " SELECT station_id, min(time), max(time) FROM readings"
        " WHERE station_id = ANY(%s) AND time < to_timestamp(%s) AND qc = %s"
        " GROUP BY station_id" + _QUEUE,
        (list(stations), before, QCFlag.UNKNOWN),
    )
    return max(cursor.rowcount, 0)


@dataclass(frozen=True, slots=True)
class HistoryChunk:
    """A piece of a station's queued history, and where its queue row stands."""

    station_id: str
    start: float  # data time of the chunk's first reading to evaluate
    end: float  # and of its last
    queued_to: float  # the end of the station's queued range


def next_history(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, chunk_s: float
) -> HistoryChunk | None:
    """Lock the oldest queued range of ``stations`` and return its first ``chunk_s``.

    Another worker skips a row locked here; the caller finishes the chunk with
    :func:`history_done` in the same transaction.
    """
    with conn.cursor(row_factory=class_row(HistoryChunk)) as cur:
        return cur.execute(
            "SELECT station_id, extract(epoch FROM from_time)::float8 AS start,"
            " least(extract(epoch FROM to_time)::float8,"
            "  extract(epoch FROM from_time)::float8 + %s) AS end,"
            " extract(epoch FROM to_time)::float8 AS queued_to"
            " FROM qc_backlog WHERE station_id = ANY(%s)"
            " ORDER BY queued_at, station_id LIMIT 1 FOR UPDATE SKIP LOCKED",
            (chunk_s, list(stations)),
        ).fetchone()


def history_done(conn: psycopg.Connection[Any], chunk: HistoryChunk) -> None:
    """Take ``chunk`` off the queue: the rest of the range stays, or the row goes."""
    if chunk.end >= chunk.queued_to:
        conn.execute("DELETE FROM qc_backlog WHERE station_id = %s", (chunk.station_id,))
        return
    conn.execute(
        "UPDATE qc_backlog SET from_time = to_timestamp(%s) WHERE station_id = %s",
        (chunk.end, chunk.station_id),
    )
