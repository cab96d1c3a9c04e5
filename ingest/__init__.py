"""Ingest workers: MQTT readings into PostgreSQL/TimescaleDB, acknowledged only after commit."""

from ingest.consumer import BrokerError, Consumer
from ingest.inbound import Decoder, Inbound, Rejection
from ingest.metrics import IngestMetrics, MetricsServer
from ingest.service import IngestService, WorkerDiedError
from ingest.settings import IngestSettings
from ingest.writer import BatchResult, ReadingsWriter

__all__ = [
    "BatchResult",
    "BrokerError",
    "Consumer",
    "Decoder",
    "Inbound",
    "IngestMetrics",
    "IngestService",
    "IngestSettings",
    "MetricsServer",
    "ReadingsWriter",
    "Rejection",
    "WorkerDiedError",
]
