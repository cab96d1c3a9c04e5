"""Settings of the alert engine deployable."""

from __future__ import annotations

from pydantic import Field

from telemetry import CommonSettings


class AlertSettings(CommonSettings):
    """How an alert worker ticks and how long it holds its stations."""

    tick_s: float = Field(default=10.0, gt=0, description="seconds between evaluations")
    settle_s: float = Field(
        default=2.0, ge=0, description="read rows committed at least this long ago"
    )
    history_s: float = Field(
        default=26 * 3600.0, ge=3600, description="history kept per series (24 h checks + margin)"
    )
    qc_history_step_s: float = Field(
        default=300.0,
        gt=0,
        description="finest grid of the longer history the biofouling check judges",
    )
    lease_s: float = Field(
        default=30.0,
        gt=0,
        description="a worker silent this long loses its stations to the others (> a tick)",
    )
    offline_grace_s: float = Field(
        default=900.0, ge=0, description="silence allowed beyond 3 sampling intervals"
    )
    late_after_s: float = Field(
        default=900.0, gt=0, description="alerts due longer ago than this are marked late"
    )
    history_chunk_s: float = Field(
        default=3 * 86_400.0,
        ge=3600,
        description="data time of one station evaluated at once by the history pass",
    )
    history_chunks: int = Field(
        default=4, ge=1, description="history-pass chunks taken up after each tick"
    )
    flag_chunk: int = Field(
        default=200_000,
        ge=1000,
        description="stored QC flags of a backlog (a start, stations gained) written per tick",
    )
    quality_notice_s: float = Field(
        default=1800.0,
        gt=0,
        description="suspect/failed data this long raises a maintenance notice",
    )
