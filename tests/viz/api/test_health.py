"""``/health`` probes the broker the settings name (here the test's own), not the machine's."""

from __future__ import annotations

import pytest

from tests.support.mosquitto import Broker
from tests.viz.conftest import Api

pytestmark = pytest.mark.integration


def test_health_follows_the_configured_broker(api: Api, api_broker: Broker) -> None:
    with api.client() as client:
        up = client.get("/health")
        api_broker.stop()
        down = client.get("/health")
    assert (up.status_code, up.json()["broker"], up.json()["status"]) == (200, True, "ok")
    assert (down.status_code, down.json()["broker"], down.json()["database"]) == (503, False, True)
