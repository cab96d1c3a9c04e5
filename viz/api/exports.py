"""Streamed exports of raw readings: CSV, and Circular 10/2021 files in a zip.

Rows come through a server-side cursor a batch at a time and leave as they are written,
so an export of months of data holds one batch in memory, never the whole range.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

import psycopg

from telemetry import PARAMETERS_BY_ID, encode_files

BATCH: Final = 5000
CSV_HEADER: Final = ("time", "station_id", "parameter", "value", "unit", "qc", "device_status")

_QUERY: Final = (
    "SELECT time, parameter_id, value, qc, device_status FROM readings"
    " WHERE station_id = %(station)s AND time >= %(start)s AND time < %(end)s"
    " AND (%(parameter)s::smallint IS NULL OR parameter_id = %(parameter)s)"
    " ORDER BY time, parameter_id"
)

Row = tuple[datetime, int, float, int, int]
Connection = psycopg.Connection[Any]


def _rows(
    conn: Connection, station_id: str, start: datetime, end: datetime, parameter_id: int | None
) -> Iterator[list[Row]]:
    """Batches from a server-side cursor on the request's own connection.

    FastAPI keeps a request's dependencies (its pooled connection) until the streamed body
    is done, so an export uses that one connection: taking a second one from the pool would
    let a few concurrent exports hold the whole pool.
    """
    params = {"station": station_id, "start": start, "end": end, "parameter": parameter_id}
    with conn.transaction(), conn.cursor(name="export") as cursor:
        cursor.execute(_QUERY, params)
        while batch := cursor.fetchmany(BATCH):
            yield batch


def csv_chunks(
    conn: Connection, station_id: str, start: datetime, end: datetime, parameter_id: int | None
) -> Iterator[str]:
    """CSV text, header first; values written so that they read back to the same float."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for batch in _rows(conn, station_id, start, end, parameter_id):
        for time, pid, value, qc, status in batch:
            p = PARAMETERS_BY_ID[pid]
            writer.writerow((time.isoformat(), station_id, p.code, repr(value), p.unit, qc, status))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they come (zipfile streams to it)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # bytes in, count out
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def circular10_zip(
    conn: Connection, station_id: str, start: datetime, end: datetime, parameter_id: int | None
) -> Iterator[bytes]:
    """A zip of ``<STATION>_<YYYYMMDDhhmmss>.txt`` files, one per sampling instant.

    That is the layout a station's logger leaves on the provincial FTP server, so the
    archive can be replayed into any system that takes Circular 10/2021 files.
    """
    sink = _Sink()
    pending: list[tuple[datetime, str, float, int]] = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for batch in _rows(conn, station_id, start, end, parameter_id):
            for time, pid, value, _qc, status in batch:
                if pending and pending[-1][0] != time:
                    for name, content in encode_files(station_id, pending):
                        archive.writestr(name, content)
                    pending.clear()
                pending.append((time, PARAMETERS_BY_ID[pid].code, value, status))
            yield sink.take()
        for name, content in encode_files(station_id, pending):
            archive.writestr(name, content)
    yield sink.take()
