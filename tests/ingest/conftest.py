"""Fixtures of the ingest tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.mosquitto import Broker
from tests.support.processes import IngestProcess


@pytest.fixture
def worker(database_url: str, broker: Broker, prefix: str) -> Iterator[IngestProcess]:
    """A running ingest worker on this test's database, broker and topic prefix."""
    process = IngestProcess(database_url=database_url, broker=broker, prefix=prefix)
    process.start()
    yield process
    process.close()
