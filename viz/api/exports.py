"""Streamed exports of raw readings: CSV, and Circular 10/2021 files in a zip.

Rows come through a server-side cursor a batch at a time and leave as they are written,
so an export of months of data holds one batch in memory, never the whole range. An export
streams on its request's pooled connection; admission control bounds how many run at once
(``max_exports``) and :class:`ExportResponse` how long one may take.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Generator
from datetime import datetime
from typing import Any, Final, Protocol

import anyio
import psycopg
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from telemetry import PARAMETERS_BY_ID, encode_files
from viz.api.queries.readings import export_batches
from viz.api.queries.stations import file_code

logger = logging.getLogger(__name__)

CSV_HEADER: Final = ("time", "station_id", "parameter", "value", "unit", "qc", "device_status")

Connection = psycopg.Connection[Any]
Chunks = Generator[str, None, None] | Generator[bytes, None, None]


class Encoder(Protocol):
    """How one export format turns a station's readings in a range into chunks."""

    def __call__(
        self,
        conn: Connection,
        station_id: str,
        start: datetime,
        end: datetime,
        parameter_id: int | None,
        *,
        time_limit_s: float,
    ) -> Chunks: ...


def csv_chunks(
    conn: Connection,
    station_id: str,
    start: datetime,
    end: datetime,
    parameter_id: int | None,
    *,
    time_limit_s: float,
) -> Generator[str, None, None]:
    """CSV text, header first; values written so that they read back to the same float."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    batches = export_batches(conn, station_id, start, end, parameter_id, time_limit_s=time_limit_s)
    for batch in batches:
        for r in batch:
            p = PARAMETERS_BY_ID[r.parameter_id]
            writer.writerow(
                (
                    r.time.isoformat(),
                    station_id,
                    p.code,
                    repr(r.value),
                    p.unit,
                    r.qc,
                    r.device_status,
                )
            )
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
    conn: Connection,
    station_id: str,
    start: datetime,
    end: datetime,
    parameter_id: int | None,
    *,
    time_limit_s: float,
) -> Generator[bytes, None, None]:
    """A zip of ``<CODE>_<YYYYMMDDhhmmss>.txt`` files, one per sampling instant.

    That is the layout a station's logger leaves on the provincial FTP server (``CODE`` is the
    station's file code in the registry), so the archive can be replayed into any system that
    takes Circular 10/2021 files, the FTP inbox included.
    """
    code = file_code(conn, station_id)
    sink = _Sink()
    pending: list[tuple[datetime, str, float, int]] = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        batches = export_batches(
            conn, station_id, start, end, parameter_id, time_limit_s=time_limit_s
        )
        for batch in batches:
            for r in batch:
                if pending and pending[-1][0] != r.time:
                    for name, content in encode_files(code, pending):
                        archive.writestr(name, content)
                    pending.clear()
                pending.append(
                    (r.time, PARAMETERS_BY_ID[r.parameter_id].code, r.value, r.device_status)
                )
            yield sink.take()
        for name, content in encode_files(code, pending):
            archive.writestr(name, content)
    yield sink.take()


class ExportResponse(StreamingResponse):
    """An export streamed as a download, cut after ``time_limit_s``.

    Its rows are closed before FastAPI hands the request's connection back to the pool,
    whether the export finished, failed, was cut or lost its client: a cursor closed later
    would run on a connection another request holds by then. A cut or failed export leaves
    the HTTP response unfinished, so the client sees a broken download, never a short file
    that looks whole.
    """

    def __init__(
        self, chunks: Chunks, *, media_type: str, filename: str, time_limit_s: float
    ) -> None:
        disposition = f'attachment; filename="{filename}"'
        super().__init__(
            chunks, media_type=media_type, headers={"Content-Disposition": disposition}
        )
        self._chunks = chunks
        self._time_limit_s = time_limit_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with anyio.move_on_after(self._time_limit_s) as limit:
                await super().__call__(scope, receive, send)
            if limit.cancelled_caught:
                logger.warning("export cut after its %s s limit", self._time_limit_s)
        except psycopg.Error as exc:  # its statement timed out, say: the headers are gone
            logger.warning("export failed after it started: %s", exc)
        finally:
            with anyio.CancelScope(shield=True):
                # Its own limiter: closing must not wait for a free worker thread.
                await anyio.to_thread.run_sync(self._chunks.close, limiter=anyio.CapacityLimiter(1))
