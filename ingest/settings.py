"""Settings of the ingest deployable."""

from __future__ import annotations

from pydantic import Field

from telemetry import CommonSettings


class BrokerSettings(CommonSettings):
    """What the broker's configuration and the ingest workers agree on."""

    share_group: str = Field(
        default="ingest",
        pattern=r"^[A-Za-z0-9_-]{0,64}$",
        description="shared-subscription group the workers split load in",
    )


class IngestSettings(BrokerSettings):
    """How an ingest worker talks to the broker and batches into the database."""

    client_id: str = Field(
        default="aquawatch-ingest-1",
        description="MQTT client id; stable per worker, it names the persistent session",
    )
    inflight_window: int = Field(
        default=10_000,
        ge=10,
        le=65_535,
        description="unacknowledged messages allowed (MQTT v5 Receive Maximum, queue bound)",
    )
    session_expiry_s: int = Field(
        default=7 * 86_400, ge=60, description="how long the broker keeps our session offline"
    )
    batch_max_messages: int = Field(
        default=2_000, ge=1, description="commit when this many messages are waiting"
    )
    flush_interval_s: float = Field(
        default=0.1,
        gt=0,
        description="commit once a batch's first message has waited this long since it came",
    )
    flush_idle_s: float = Field(
        default=0.002,
        ge=0,
        description="commit as soon as no message has come for this long (the queue is idle)",
    )
    max_payload_bytes: int = Field(
        default=256 * 1024, ge=256, description="larger messages are rejected"
    )
    future_tolerance_s: float = Field(
        default=300, ge=0, description="readings dated further ahead than this are rejected"
    )
    station_refresh_s: float = Field(
        default=10, ge=0, description="least time between reloads of the station list"
    )
    retry_max_s: float = Field(
        default=30, gt=0, description="longest wait between database retries"
    )
    shutdown_grace_s: float = Field(
        default=20, gt=0, description="time allowed on SIGTERM to commit what was received"
    )
    metrics_host: str = Field(default="127.0.0.1", description="Prometheus /metrics address")
    metrics_port: int = Field(
        default=9464, ge=0, le=65_535, description="Prometheus /metrics port (0 turns it off)"
    )
    reject_raw_max_bytes: int = Field(
        default=4096,
        ge=0,
        description="bytes of a rejected payload kept in rejects (its full size is kept too)",
    )
    reject_retention_days: int = Field(
        default=30,
        ge=1,
        description="rejects are deleted after this many days; daily counts by reason stay",
    )
    rollup_interval_s: float = Field(
        default=30, gt=0, description="how often rollups are refreshed (plain PostgreSQL)"
    )
    rollup_settle_s: float = Field(
        default=30, ge=0, description="rollups cover rows ingested at least this long ago"
    )
