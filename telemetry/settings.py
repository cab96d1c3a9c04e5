"""Settings shared by every deployable, read from ``AQUAWATCH_*`` variables and flags.

Each deployable (ingest, simulate, ...) subclasses :class:`CommonSettings`; every field but
the secrets becomes a command-line flag of its subcommand as well, flags winning over the
environment. Secrets (``SecretStr`` fields: URLs with passwords, tokens) never become flags,
which anyone on the machine could read in ``ps``: they come from ``AQUAWATCH_X`` or from the
file named by ``AQUAWATCH_X_FILE``.
"""

from __future__ import annotations

import argparse
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from telemetry.errors import ConfigError

ENV_PREFIX = "AQUAWATCH_"
FILE_SUFFIX = "_FILE"


def environment_name(name: str) -> str:
    """The variable that holds setting ``name``, e.g. ``AQUAWATCH_DATABASE_URL``."""
    return f"{ENV_PREFIX}{name.upper()}"


def secret_names(settings_cls: type[BaseSettings]) -> list[str]:
    """The settings of ``settings_cls`` that are secrets (``SecretStr``), in field order."""
    return [
        name
        for name, info in settings_cls.model_fields.items()
        if info.annotation is SecretStr or info.annotation == SecretStr | None
    ]


class CommonSettings(BaseSettings):
    """What every AquaWatch process needs to find the database, the broker and the stations."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

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

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        """Read each secret not otherwise given from the file ``AQUAWATCH_X_FILE`` names."""
        if not isinstance(data, dict):
            return data
        found = dict(data)
        for name in secret_names(cls):
            variable = environment_name(name) + FILE_SUFFIX
            path = os.environ.get(variable)
            if path is None:
                continue
            if name in data:
                msg = f"set {environment_name(name)} or {variable}, not both"
                raise ValueError(msg)
            try:
                found[name] = Path(path).read_text("utf-8").rstrip("\r\n")
            except OSError as exc:
                msg = f"{variable}: cannot read {path}: {exc.strerror}"
                raise ValueError(msg) from exc
        return found


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    """A broker address parsed from ``mqtt://user:pass@host:port`` (``mqtts://...?cafile=F``)."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    ca_file: str | None = None

    def ssl_context(self) -> ssl.SSLContext:
        """Verify the broker against the system's CAs, or the ``cafile`` the URL names."""
        return ssl.create_default_context(cafile=self.ca_file)

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
        ca_file=parse_qs(parts.query).get("cafile", [None])[0],
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
    """Add one ``--flag`` per setting but the secrets; unset flags fall back to the environment.

    Secrets get no flag, since command lines are visible to every user of the machine (``ps``);
    the group's description names the variables that set them.
    """
    secrets = secret_names(settings_cls)
    title = "settings (flags override AQUAWATCH_* variables)"
    where = ", ".join(f"{environment_name(n)}[{FILE_SUFFIX}]" for n in secrets)
    description = f"Secrets only from the environment: {where}." if secrets else None
    group = parser.add_argument_group(title, description)
    for name, info in settings_cls.model_fields.items():
        if name in secrets:
            continue
        env = environment_name(name)
        group.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"setting_{name}",
            default=None,
            metavar=name.split("_")[-1].upper(),
            help=f"{info.description or name} [{env}]",
        )


def setting_given(settings_cls: type[BaseSettings], args: argparse.Namespace, name: str) -> bool:
    """Whether setting ``name`` was given: as a flag, a variable or (secrets) a ``_FILE``."""
    variable = environment_name(name)
    if getattr(args, f"setting_{name}", None) is not None or variable in os.environ:
        return True
    return name in secret_names(settings_cls) and variable + FILE_SUFFIX in os.environ


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
