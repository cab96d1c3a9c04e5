"""Fixtures shared by the whole suite: real PostgreSQL and Mosquitto."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.support.mosquitto import Broker
from tests.support.postgres import PostgresServer, find_postgres


@pytest.fixture(scope="session", autouse=True)
def _no_settings_from_the_shell() -> Iterator[None]:
    """Forget the shell's ``AQUAWATCH_*`` settings (``AQUAWATCH_TEST_*`` excepted).

    Every setting a test needs it passes itself; a variable exported for ``aquawatch up``
    would otherwise steer tests (and the processes they start) to the machine's own database,
    broker or SMS gateway.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AQUAWATCH_") and not name.startswith("AQUAWATCH_TEST_"):
                patch.delenv(name)
        yield


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
