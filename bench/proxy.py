"""A loopback TCP proxy on asyncio that can cut the line: a server made unreachable on demand.

It runs its own event loop on a thread. ``cut()`` breaks every open connection and refuses new
ones (connections are accepted and closed at once, as a firewall rejecting them would look to
the client); ``restore()`` lets them through again. A target that is down (a restarting
PostgreSQL) only closes the connections made meanwhile: the proxy itself carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class TcpProxy:
    """Listen on 127.0.0.1:``port`` (0: a free one) and forward to 127.0.0.1:``target_port``."""

    def __init__(self, target_port: int, *, port: int = 0) -> None:
        self.target_port = target_port
        self._loop = asyncio.new_event_loop()
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy")
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", port), self._loop
        ).result(timeout=10)
        self.port: int = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Break the open connections and refuse new ones until :meth:`restore`."""
        asyncio.run_coroutine_threadsafe(self._cut_all(), self._loop).result(timeout=10)

    def restore(self) -> None:
        """Let connections through again."""
        self._cut = False

    def close(self) -> None:
        """Stop listening, break every connection, and stop and close the loop."""
        self.cut()
        asyncio.run_coroutine_threadsafe(self._shut(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _shut(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _cut_all(self) -> None:
        self._cut = True
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        pair = {writer, up_writer}
        self._writers |= pair
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= pair
            for each in pair:
                each.close()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()
