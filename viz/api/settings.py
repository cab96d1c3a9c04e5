"""Settings of the HTTP API deployable."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from telemetry import CommonSettings
from viz.api.clients import Network, parse_networks


class ApiSettings(CommonSettings):
    """Where the API listens, how it signs tokens, and how it limits logins, load and exports."""

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8080, ge=0, le=65535, description="port to listen on")
    token_secret: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key signing bearer tokens (empty: a random key per process;"
        " set one shared key when running several replicas)",
    )
    token_lifetime_s: int = Field(
        default=8 * 3600, gt=0, le=30 * 86_400, description="lifetime of a login token"
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="failed logins of one user name from one client, or of one client, within"
        " the window before each further attempt must wait (1 s, 2 s, 4 s ...)",
    )
    login_max_failures_per_name: int = Field(
        default=100,
        ge=1,
        description="failed logins of one user name from all clients within the window before"
        " clients that never logged in as that user must wait too",
    )
    login_window_s: int = Field(
        default=900, gt=0, description="how long a failed login counts against its name and client"
    )
    login_max_delay_s: int = Field(
        default=300, ge=1, le=86_400, description="longest wait the login throttle imposes"
    )
    login_known_client_days: int = Field(
        default=90,
        ge=0,
        description="a client that logged in as a user within this many days is not held back"
        " by failures of that user's name from other clients",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or CIDR blocks of reverse proxies whose"
        " X-Forwarded-For is believed (empty: the socket peer is the client)",
    )
    read_database_url: SecretStr | None = Field(
        default=None,
        description="libpq URL of a read replica that GET requests (API, dashboards, boards)"
        " read from; writes still go to the primary (unset: everything on the primary)",
    )
    pool_size: int = Field(default=8, ge=1, le=100, description="database connections")
    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="largest request body accepted (larger: 413)"
    )
    reserved_pool_size: int = Field(
        default=2,
        ge=1,
        le=20,
        description="further connections kept for /health and the public board routes",
    )
    pool_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=30,
        description="longest a request waits for its turn and a connection before a 503",
    )
    max_requests: int = Field(
        default=24,
        ge=1,
        le=1000,
        description="API requests served at once (more wait up to the pool timeout, then 503)",
    )
    max_public_requests: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="public board requests served at once (more wait, then 503)",
    )
    public_cache_s: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="how long the public latest values are served from memory (0: not cached)",
    )
    max_exports: int = Field(
        default=2,
        ge=1,
        le=100,
        description="exports streamed at once, each on a pooled connection (more: 503);"
        " keep it below the pool size",
    )
    export_time_limit_s: float = Field(
        default=300.0, gt=0, le=86_400, description="an export still streaming is cut after this"
    )
    export_max_days_viewer: int = Field(
        default=31, ge=1, description="longest range one export covers for viewers and API keys"
    )
    export_max_days_officer: int = Field(
        default=366, ge=1, description="longest range one export covers for officers"
    )
    export_max_days_admin: int = Field(
        default=3660, ge=1, description="longest range one export covers for admins"
    )
    map_tiles: str = Field(
        default="",
        pattern=r"^(|https?://\S*\{Z\}\S*\{X\}\S*\{Y\}\S*)$",
        description="optional map tile URL with {Z}/{X}/{Y} for the overview map (empty: no"
        " tiles, the map works offline)",
    )
    sms_callback_token: SecretStr = Field(
        default=SecretStr(""),
        description="shared secret the SMS gateway sends as ?token= on delivery reports and"
        " replies (empty: those callbacks are refused)",
    )

    @property
    def proxy_networks(self) -> tuple[Network, ...]:
        """The trusted proxies as networks."""
        return parse_networks(self.trusted_proxies)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # a ValueError names the bad entry
        return value

    @field_validator("token_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if 0 < len(value.get_secret_value().encode()) < 32:
            msg = "needs at least 32 bytes (HMAC-SHA256 key), or leave it empty"
            raise ValueError(msg)
        return value
