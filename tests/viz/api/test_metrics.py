"""Metrics labels come from fixed sets: no client can add a series."""

from __future__ import annotations

import pytest

from tests.viz.conftest import Api

pytestmark = pytest.mark.integration


def test_unknown_methods_and_paths_add_no_metrics_labels(api: Api) -> None:
    with api.client() as client:
        client.request("BREW", "/health")
        client.request("PROPFIND", "/api/v1/stations")
        client.get("/no/such/path/12345")
    with api.client("admin") as client:
        text = client.get("/metrics").text
    assert "BREW" not in text
    assert "PROPFIND" not in text
    assert 'method="other"' in text
    assert "12345" not in text
    assert 'route="unmatched"' in text
