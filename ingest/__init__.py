"""Ingest workers: MQTT readings into PostgreSQL/TimescaleDB, acknowledged only after commit."""

from ingest.consumer import Consumer
from ingest.errors import BrokerError, IngestError, WorkerDiedError
from ingest.inbound import Decoder, Inbound, Rejection
from ingest.metrics import IngestMetrics, MetricsServer
from ingest.service import IngestService
from ingest.settings import IngestSettings
from ingest.writer import BatchResult, ReadingsWriter

__all__ = [
    "BatchResult",
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
]
