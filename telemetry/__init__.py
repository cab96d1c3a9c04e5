"""Shared vocabulary of AquaWatch: parameters, wire format, topics, settings, database access."""

from telemetry import dynsec
from telemetry.catalogue import PARAMETERS, PARAMETERS_BY_ID, Parameter
from telemetry.circular10 import (
    Circular10File,
    Circular10Line,
    decode_file,
    encode_file,
    encode_files,
)
from telemetry.clock import Clock, FixedClock, SystemClock
from telemetry.codec import (
    DeviceStatus,
    ReadingsDocument,
    Sample,
    StationState,
    StatusDocument,
    decode_readings,
    decode_status,
    encode_readings,
    encode_status,
    parse_timestamp,
)
from telemetry.db import connect, create_pool, ensure_database
from telemetry.errors import (
    AquaWatchError,
    BrokerControlError,
    Circular10Error,
    ConfigError,
    DecodeError,
    ExtensionNotPreloadedError,
    MigrationError,
    MigrationStepError,
    RejectReason,
    TopicError,
)
from telemetry.qc import QCFlag, worst
from telemetry.schema import Flavour, current_flavour, migrate
from telemetry.settings import (
    CommonSettings,
    MqttEndpoint,
    add_settings_arguments,
    parse_mqtt_url,
    redact_url,
    secret_names,
    setting_given,
    settings_from_args,
)
from telemetry.stopping import stop_event
from telemetry.topics import STATION_ID_RE, Channel, StationTopic, TopicScheme
from telemetry.yamlfile import describe_validation_error, validate_yaml

__all__ = [
    "PARAMETERS",
    "PARAMETERS_BY_ID",
    "STATION_ID_RE",
    "AquaWatchError",
    "BrokerControlError",
    "Channel",
    "Circular10Error",
    "Circular10File",
    "Circular10Line",
    "Clock",
    "CommonSettings",
    "ConfigError",
    "DecodeError",
    "DeviceStatus",
    "ExtensionNotPreloadedError",
    "FixedClock",
    "Flavour",
    "MigrationError",
    "MigrationStepError",
    "MqttEndpoint",
    "Parameter",
    "QCFlag",
    "ReadingsDocument",
    "RejectReason",
    "Sample",
    "StationState",
    "StationTopic",
    "StatusDocument",
    "SystemClock",
    "TopicError",
    "TopicScheme",
    "add_settings_arguments",
    "connect",
    "create_pool",
    "current_flavour",
    "decode_file",
    "decode_readings",
    "decode_status",
    "describe_validation_error",
    "dynsec",
    "encode_file",
    "encode_files",
    "encode_readings",
    "encode_status",
    "ensure_database",
    "migrate",
    "parse_mqtt_url",
    "parse_timestamp",
    "redact_url",
    "secret_names",
    "setting_given",
    "settings_from_args",
    "stop_event",
    "validate_yaml",
    "worst",
]
