"""Exceptions shared across AquaWatch packages."""

from __future__ import annotations

from enum import StrEnum

import psycopg

from telemetry.db import TIMESCALEDB, preloaded_libraries


class AquaWatchError(Exception):
    """Base of every error AquaWatch raises on purpose."""


class ConfigError(AquaWatchError):
    """A setting or configuration file is wrong."""


class TopicError(AquaWatchError):
    """A topic does not follow the AquaWatch topic grammar."""


class RejectReason(StrEnum):
    """Why an incoming message was rejected; the value is stored and used as a metric label."""

    PAYLOAD_TOO_LARGE = "payload_too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    DUPLICATE_KEY = "duplicate_key"
    BAD_SCHEMA = "bad_schema"
    CONTROL_CHARACTER = "control_character"
    NON_FINITE_VALUE = "non_finite_value"
    BAD_STATUS = "bad_status"
    BAD_TIMESTAMP = "bad_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    EMPTY_BATCH = "empty_batch"
    UNKNOWN_PARAMETER = "unknown_parameter"
    UNKNOWN_STATION = "unknown_station"
    STATION_MISMATCH = "station_mismatch"
    BAD_TOPIC = "bad_topic"
    BAD_FILE_NAME = "bad_file_name"
    STORAGE_ERROR = "storage_error"
    INTERNAL_ERROR = "internal_error"


class DecodeError(AquaWatchError):
    """A message cannot be accepted.

    Attributes:
        reason: The machine-readable reason.
        detail: A human-readable explanation naming the offending field.
    """

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class Circular10Error(AquaWatchError):
    """A file does not follow the Circular 10/2021 format; the message says where.

    Attributes:
        reason: The reject reason an MQTT message with the same fault gets.
        detail: The message.
    """

    def __init__(self, detail: str, reason: RejectReason = RejectReason.BAD_SCHEMA) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class MigrationError(AquaWatchError):
    """The schema cannot be brought up to date."""


class MigrationStepError(MigrationError):
    """The server refused one step of a migration, or dropped the connection during it.

    Attributes:
        step: What was running, e.g. ``CREATE EXTENSION timescaledb`` or ``migration 0003_alerts``.
        server_message: The server's own message (and hint), when the server sent one.
        connection_lost: The server closed the connection (a FATAL error, a crash).
    """

    def __init__(self, step: str, cause: psycopg.Error, *, connection_lost: bool) -> None:
        diag = cause.diag
        server = diag.message_primary
        if server and diag.message_hint:
            server = f"{server} (hint: {diag.message_hint})"
        if server and cause.sqlstate:
            server = f"{diag.severity_nonlocalized or 'ERROR'} {cause.sqlstate}: {server}"
        lost = " and the server closed the connection" if connection_lost else ""
        msg = f"{step} failed{lost}: {server or cause}"
        super().__init__(msg)
        self.step = step
        self.server_message = server
        self.connection_lost = connection_lost


class ExtensionNotPreloadedError(MigrationError):
    """The server offers TimescaleDB but its library is not in ``shared_preload_libraries``.

    ``CREATE EXTENSION timescaledb`` would make the server drop the connection (FATAL), so
    migrate stops before it touches the schema.

    Attributes:
        preload: The server's ``shared_preload_libraries``; None when this role may not read it.
        config_file: The server's ``postgresql.conf``; None when this role may not read it.
    """

    def __init__(self, *, preload: str | None, config_file: str | None, can_opt_out: bool) -> None:
        libraries = ",".join([*preloaded_libraries(preload or ""), TIMESCALEDB])
        change = f"set shared_preload_libraries = '{libraries}'"
        if preload is None:  # this role may not read it; keep whatever else is listed there
            change = (
                f"add timescaledb to shared_preload_libraries, e.g. {change.removeprefix('set ')}"
            )
        msg = (
            "the PostgreSQL server offers the timescaledb extension but does not preload its"
            " library, so CREATE EXTENSION timescaledb would fail with"
            ' FATAL: extension "timescaledb" must be preloaded. Nothing was migrated.\n'
            f"  Fix the server: in {config_file or 'postgresql.conf'} {change}"
            " (or run timescaledb-tune, which does it), restart PostgreSQL"
            " (e.g. systemctl restart postgresql), then run aquawatch db migrate again."
        )
        if can_opt_out:
            msg += (
                "\n  Or build this database for plain PostgreSQL instead, for good (the schema"
                " flavour is fixed at the first migration):"
                " aquawatch db migrate --schema-flavour postgres"
            )
        super().__init__(msg)
        self.preload = preload
        self.config_file = config_file


class BrokerControlError(AquaWatchError):
    """The running broker did not take a change to its accounts."""
