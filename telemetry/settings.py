"""Settings shared by every deployable, read from ``AQUAWATCH_*`` variables and flags.

Each deployable (ingest, simulate, ...) subclasses :class:`CommonSettings`; every field
becomes a command-line flag of its subcommand as well, flags winning over the environment.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from telemetry.errors import ConfigError


class CommonSettings(BaseSettings):
    """What every AquaWatch process needs to find the database, the broker and the stations."""

    model_config = SettingsConfigDict(env_prefix="AQUAWATCH_", extra="ignore", frozen=True)

    database_url: SecretStr = Field(
        default=SecretStr("postgresql://localhost/aquawatch"),
        description="libpq URL of the PostgreSQL/TimescaleDB database",
    )
    mqtt_url: SecretStr = Field(
        default=SecretStr("mqtt://127.0.0.1:1883"),
        description="broker as mqtt://user:pass@host:port (mqtts:// for TLS)",
    )
    topic_prefix: str = Field(default="aquawatch", description="first level of every MQTT topic")
    stations_file: Path | None = Field(
        default=None,
        description="YAML registry of stations and boards (default: the built-in Kiên Giang one)",
    )


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    """A broker address parsed from ``mqtt://user:pass@host:port``."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    def display(self) -> str:
        """Return the address without the password."""
        user = f"{self.username}@" if self.username else ""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttEndpoint:
    """Parse a broker URL.

    Raises:
        ConfigError: The scheme is not mqtt/mqtts or the host is missing.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        msg = f"AQUAWATCH_MQTT_URL must start with mqtt:// or mqtts://, got {parts.scheme!r}"
        raise ConfigError(msg)
    if not parts.hostname:
        msg = "AQUAWATCH_MQTT_URL has no host"
        raise ConfigError(msg)
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        msg = f"AQUAWATCH_MQTT_URL has a bad port: {exc}"
        raise ConfigError(msg) from exc
    return MqttEndpoint(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


S = TypeVar("S", bound=BaseSettings)


def add_settings_arguments(
    parser: argparse.ArgumentParser, settings_cls: type[BaseSettings]
) -> None:
    """Add one ``--flag`` per settings field; unset flags fall back to the environment."""
    group = parser.add_argument_group("settings (flags override AQUAWATCH_* variables)")
    for name, info in settings_cls.model_fields.items():
        env = f"AQUAWATCH_{name.upper()}"
        group.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"setting_{name}",
            default=None,
            metavar=name.split("_")[-1].upper(),
            help=f"{info.description or name} [{env}]",
        )


def settings_from_args(settings_cls: type[S], args: argparse.Namespace) -> S:
    """Build settings from the environment, overridden by the flags that were given.

    Raises:
        ConfigError: A value does not validate.
    """
    overrides: dict[str, Any] = {
        name: value
        for name in settings_cls.model_fields
        if (value := getattr(args, f"setting_{name}", None)) is not None
    }
    try:
        return settings_cls(**overrides)
    except ValueError as exc:
        msg = f"invalid settings: {exc}"
        raise ConfigError(msg) from exc
