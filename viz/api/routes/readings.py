"""Readings: raw with cursor pagination, aggregated by time bucket, streamed exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from telemetry import PARAMETERS
from viz.api.auth import Principal, Role, Scope
from viz.api.deps import Conn, Services, StreamConn, Svc, require
from viz.api.exports import Connection, Encoder, ExportResponse, circular10_zip, csv_chunks
from viz.api.params import Instant, ParameterCode, StationId, decode_cursor, encode_cursor
from viz.api.queries.readings import Bucket, Reading, Series, aggregate_series, raw_page
from viz.api.queries.stations import ensure_station
from viz.api.settings import ApiSettings

router = APIRouter(prefix="/readings", tags=["readings"])
Reader = Annotated[Principal, Depends(require(Scope.READINGS_READ))]
StreamReader = Annotated[Principal, Depends(require(Scope.READINGS_READ, streaming=True))]


# The longest range each bucket may cover in one request (a few thousand buckets a series).
_MAX_SPAN: Final = {
    Bucket.MINUTE: timedelta(days=3),
    Bucket.HOUR: timedelta(days=400),
    Bucket.DAY: timedelta(days=366 * 20),
}


class ReadingsPage(BaseModel):
    """A page of readings ordered by parameter then time; follow ``next_cursor`` for more."""

    station_id: str
    items: list[Reading]
    next_cursor: str | None


class Aggregate(BaseModel):
    """Readings of a station aggregated by time bucket (buckets start on local boundaries)."""

    station_id: str
    bucket: Bucket
    series: list[Series]


StationParam = Annotated[StationId, Query(description="station id, e.g. KG-SR-01")]
Start = Annotated[Instant, Query(description="inclusive, ISO 8601 with offset")]
End = Annotated[Instant, Query(description="exclusive, ISO 8601 with offset")]
Parameter = Annotated[ParameterCode | None, Query(description="parameter code (default: all)")]


def _check_range(conn: Conn, station: str, start: datetime, end: datetime) -> None:
    if start >= end:
        raise HTTPException(422, "start must be before end")
    ensure_station(conn, station)


def _parameter_id(code: str | None) -> int | None:
    return PARAMETERS[code].id if code is not None else None


@router.get("")
def raw(
    conn: Conn,
    _: Reader,
    station: StationParam,
    start: Start,
    end: End,
    parameter: Parameter = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> ReadingsPage:
    """Raw readings of a station in a time range, a page at a time."""
    _check_range(conn, station, start, end)
    after_time, after_pid = (
        decode_cursor(cursor) if cursor else (datetime.min.replace(tzinfo=UTC), 0)
    )
    rows = raw_page(
        conn,
        station,
        start=start,
        end=end,
        parameter_id=_parameter_id(parameter),
        after=(after_time, after_pid),
        limit=limit + 1,
    )
    items = [Reading.of(r) for r in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return ReadingsPage(
        station_id=station,
        items=items,
        next_cursor=encode_cursor(last.time, last.parameter_id) if last is not None else None,
    )


@router.get("/aggregate")
def aggregate(
    conn: Conn,
    _: Reader,
    station: StationParam,
    start: Start,
    end: End,
    bucket: Bucket = Bucket.HOUR,
    parameter: Parameter = None,
) -> Aggregate:
    """Readings of a station aggregated by 1-minute, 1-hour or 1-day buckets."""
    _check_range(conn, station, start, end)
    if end - start > _MAX_SPAN[bucket]:
        raise HTTPException(
            422, f"{bucket.value} buckets cover at most {_MAX_SPAN[bucket].days} days"
        )
    series = aggregate_series(
        conn,
        station,
        bucket=bucket,
        start=start,
        end=end,
        parameter_id=_parameter_id(parameter),
    )
    return Aggregate(station_id=station, bucket=bucket, series=series)


def _check_export(settings: ApiSettings, who: Principal, start: datetime, end: datetime) -> None:
    """Refuse a range longer than the caller's role may export at once."""
    if who.role is Role.ADMIN:
        days, whom = settings.export_max_days_admin, "admins"
    elif who.role is Role.OFFICER:
        days, whom = settings.export_max_days_officer, "officers"
    else:
        days, whom = settings.export_max_days_viewer, "viewers and API keys"
    if end - start > timedelta(days=days):
        raise HTTPException(
            422, f"an export covers at most {days} days for {whom}; split the range"
        )


def _export(
    conn: Connection,
    svc: Services,
    who: Principal,
    station: str,
    start: datetime,
    end: datetime,
    parameter: str | None,
    *,
    encode: Encoder,
    media_type: str,
    filename: str,
) -> ExportResponse:
    """One export: range checks, then the encoder's chunks streamed within the time limit."""
    _check_range(conn, station, start, end)
    _check_export(svc.settings, who, start, end)
    limit = svc.settings.export_time_limit_s
    chunks = encode(conn, station, start, end, _parameter_id(parameter), time_limit_s=limit)
    return ExportResponse(chunks, media_type=media_type, filename=filename, time_limit_s=limit)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "CSV, header first"},
        503: {"description": "as many exports as allowed are running; see Retry-After"},
    },
)
def export_csv(
    conn: StreamConn,
    svc: Svc,
    who: StreamReader,
    station: StationParam,
    start: Start,
    end: End,
    parameter: Parameter = None,
) -> ExportResponse:
    """Stream a station's raw readings in a time range as CSV."""
    return _export(
        conn,
        svc,
        who,
        station,
        start,
        end,
        parameter,
        encode=csv_chunks,
        media_type="text/csv; charset=utf-8",
        filename=f"{station}_{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}.csv",
    )


@router.get(
    "/export.circular10",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "zip of .txt files"},
        503: {"description": "as many exports as allowed are running; see Retry-After"},
    },
)
def export_circular10(
    conn: StreamConn,
    svc: Svc,
    who: StreamReader,
    station: StationParam,
    start: Start,
    end: End,
    parameter: Parameter = None,
) -> ExportResponse:
    """Stream a station's readings as Circular 10/2021 files (one per instant) in a zip."""
    return _export(
        conn,
        svc,
        who,
        station,
        start,
        end,
        parameter,
        encode=circular10_zip,
        media_type="application/zip",
        filename=f"{station}_{start:%Y%m%d%H%M%S}_{end:%Y%m%d%H%M%S}.zip",
    )
