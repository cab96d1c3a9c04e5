"""Request bodies up to a size: larger ones are refused with 413 before they fill memory."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from viz.api.problems import problem


class ContentTooLargeError(HTTPException):
    """A request body past the limit (an HTTP error, so the routing layer lets it through)."""

    def __init__(self, limit: int) -> None:
        detail = f"request bodies are limited to {limit} bytes"
        super().__init__(413, detail, headers={"Connection": "close"})


class BodyLimitMiddleware:
    """Refuses bodies over ``limit`` bytes with 413, without holding more than that.

    A declared ``Content-Length`` over the limit is refused before the app runs; otherwise
    the bytes are counted as the app reads them (chunked bodies included) and reading past
    the limit raises :class:`ContentTooLargeError`. The 413 closes the connection, so the
    rest of the body is never read.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise ContentTooLargeError(self.limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except ContentTooLargeError:
            # Normally answered by the problem handlers; this is for a body read outside them.
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = ContentTooLargeError(self.limit)
        response = problem(Request(scope), 413, str(exc.detail), headers=exc.headers)
        await response(scope, receive, send)
