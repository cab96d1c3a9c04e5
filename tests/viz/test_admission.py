"""What the API admits: bodies over the limit are refused (413), declared or chunked."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.viz.conftest import PASSWORD, Api, another_server


@pytest.mark.integration
def test_bodies_over_the_limit_are_refused_declared_or_chunked(api: Api) -> None:
    login = "/api/v1/auth/token"
    big = b'{"username": "viewer", "password": "' + b"x" * 4000 + b'"}'

    def chunked() -> Iterator[bytes]:
        for i in range(0, len(big), 500):
            yield big[i : i + 500]

    with (
        another_server(api, max_body_bytes=1024) as (base, _),
        httpx.Client(base_url=base) as client,
    ):
        declared = client.post(login, content=big, headers={"Content-Type": "application/json"})
        streamed = client.post(
            login, content=chunked(), headers={"Content-Type": "application/json"}
        )
        small = client.post(login, json={"username": "viewer", "password": PASSWORD})
    assert streamed.request.headers["transfer-encoding"] == "chunked"
    for reply in (declared, streamed):
        assert reply.status_code == 413, reply.text
        assert reply.headers["content-type"] == "application/problem+json"
        assert "1024 bytes" in reply.json()["detail"]
    assert small.status_code == 200
