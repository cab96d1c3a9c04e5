"""Fixtures shared by the whole suite: real PostgreSQL and Mosquitto."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.support import Broker, PostgresServer, find_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The PostgreSQL server tests create their databases on."""
    cleanup: list[Callable[[], None]] = []
    try:
        yield find_postgres(cleanup)
    finally:
        for step in cleanup:
            step()


@pytest.fixture
def database_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test."""
    with postgres.database() as url:
        yield url


@pytest.fixture
def broker() -> Iterator[Broker]:
    """A private Mosquitto with the shipped configuration, for one test."""
    instance = Broker()
    instance.start()
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
def prefix() -> str:
    """A topic prefix of this test's own."""
    return f"t{uuid.uuid4().hex[:10]}"
