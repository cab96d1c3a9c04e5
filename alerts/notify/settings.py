"""Settings of the SMS notifier (``aquawatch notify``) and of the SMS callbacks on the API."""

from __future__ import annotations

from pydantic import Field, SecretStr

from telemetry import CommonSettings

__all__ = ["NotifySettings"]


class NotifySettings(CommonSettings):
    """Channel, callbacks, rate limits and timings of the notifier."""

    sms_url: SecretStr = Field(
        default=SecretStr("log:"),
        description="SMS channel: log: or kannel://USER:PASS@HOST:PORT?sender=NAME",
    )
    sms_callback_url: str = Field(
        default="http://127.0.0.1:8000",
        description="base URL where the gateway reaches the API's /api/v1/sms/ callbacks",
    )
    sms_callback_token: SecretStr = Field(
        default=SecretStr(""),
        description="shared secret the gateway passes as ?token= on delivery reports and replies",
    )
    worker_id: str = Field(default="", description="names this worker's claims (default host-pid)")
    batch_size: int = Field(default=20, ge=1, description="notifications claimed at a time")
    poll_s: float = Field(default=1.0, gt=0, description="seconds between looks at the outbox")
    cooldown_s: float = Field(
        default=1800.0, ge=0, description="one SMS per recipient, station and rule this often"
    )
    hourly_cap: int = Field(
        default=4, ge=1, description="alert SMS per recipient per hour before a digest"
    )
    digest_delay_s: float = Field(
        default=900.0, ge=0, description="a digest waits this long to gather more alerts"
    )
    daily_budget: int = Field(default=2000, ge=1, description="SMS per local day, critical apart")
    escalate_after_s: float = Field(
        default=1800.0, gt=0, description="critical alerts unacknowledged this long go to officers"
    )
    in_doubt_s: float = Field(
        default=300.0,
        gt=0,
        description="a send cut short with no delivery report this long is sent again",
    )
    retry_base_s: float = Field(default=5.0, gt=0, description="first retry delay (doubles)")
    retry_max_s: float = Field(default=900.0, gt=0, description="longest retry delay")
    max_attempts: int = Field(default=10, ge=1, description="attempts before giving up")
    http_timeout_s: float = Field(default=10.0, gt=0, description="gateway HTTP timeout")
