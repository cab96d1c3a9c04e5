"""The gateway's token guards both callbacks before any connection is taken."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import anyio
import httpx
import psycopg
import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr

from alerts.notify import sms_callbacks


def no_connection(request: Request) -> AbstractContextManager[psycopg.Connection[Any]]:
    raise AssertionError("a refused call took a connection")


def get(token: str, path: str, params: dict[str, str]) -> httpx.Response:
    """GET ``path`` from an app with only the callbacks, expecting ``token``."""
    app = FastAPI()
    app.include_router(sms_callbacks(connect=no_connection, token=SecretStr(token)))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get(path, params=params)

    return anyio.run(call)


@pytest.mark.parametrize(
    ("configured", "given"),
    [("s3cret", None), ("s3cret", "wrong"), ("s3cret", ""), ("", ""), ("", "anything")],
)
@pytest.mark.parametrize(
    ("path", "params"),
    [("/sms/dlr", {"id": "1", "status": "1"}), ("/sms/mo", {"from": "0912345678", "text": "OK 1"})],
)
def test_a_missing_or_wrong_token_is_refused(
    configured: str, given: str | None, path: str, params: dict[str, str]
) -> None:
    query = params if given is None else {**params, "token": given}
    response = get(configured, path, query)
    assert response.status_code == 403
    assert response.json() == {"detail": "the SMS gateway's token is missing or wrong"}
