"""Exceptions shared across AquaWatch packages."""

from __future__ import annotations

from enum import StrEnum


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
