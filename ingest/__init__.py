"""Ingest workers: MQTT readings into PostgreSQL/TimescaleDB, acknowledged only after commit."""

from ingest.broker_access import (
    SERVICE_ACCOUNT,
    Account,
    BrokerAccess,
    service_url,
    shipped_broker_config,
)
from ingest.consumer import Consumer
from ingest.errors import BrokerConfigError, BrokerError, IngestError, WorkerDiedError
from ingest.inbound import Decoder, Inbound, Rejection
from ingest.metrics import IngestMetrics, MetricsServer
from ingest.secret_files import write_private
from ingest.service import IngestService
from ingest.settings import IngestSettings
from ingest.writer import BatchResult, ReadingsWriter

__all__ = [
    "SERVICE_ACCOUNT",
    "Account",
    "BatchResult",
    "BrokerAccess",
    "BrokerConfigError",
    "BrokerError",
    "Consumer",
    "Decoder",
    "Inbound",
    "IngestError",
    "IngestMetrics",
    "IngestService",
    "IngestSettings",
    "MetricsServer",
    "ReadingsWriter",
    "Rejection",
    "WorkerDiedError",
    "service_url",
    "shipped_broker_config",
    "write_private",
]
