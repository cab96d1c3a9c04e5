"""Settings of ``aquawatch forward``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from telemetry import CommonSettings


class ForwardSettings(CommonSettings):
    """Where forwarding starts, how it batches and retries."""

    forward_password: SecretStr | None = Field(
        default=None,
        description="password of the --to receiver (never in the URL on a command line)",
    )
    forward_batch_files: int = Field(
        default=200, ge=1, description="files per station and round, before the next station"
    )
    forward_since_h: float = Field(
        default=24, ge=0, description="a receiver new to a station gets this many hours back"
    )
    forward_poll_s: float = Field(
        default=5, gt=0, description="how often new readings are looked for"
    )
    forward_retry_min_s: float = Field(default=1, gt=0, description="first wait after a failure")
    forward_retry_max_s: float = Field(
        default=300, gt=0, description="longest wait between tries while a receiver is down"
    )
    forward_timeout_s: float = Field(
        default=30, gt=0, description="socket timeout towards receivers"
    )
    forward_log_retention_days: int = Field(
        default=90, ge=1, description="how long the forwarding log keeps each file sent"
    )
    forward_ca_file: Path | None = Field(
        default=None,
        description="PEM certificates trusted for FTPS receivers (default: the system's)",
    )
