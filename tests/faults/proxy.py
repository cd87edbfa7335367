"""A TCP proxy the tests can cut: the network between a service and PostgreSQL or the broker.

`cut()` aborts every open connection and stops listening, so new connections are refused, as
when a server is down; `restore()` listens again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from services.devstack.stack import free_port

CHUNK = 64 * 1024


Connect = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class TcpProxy:
    def __init__(self, connect: Connect) -> None:
        self.connect = connect
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        for task in list(self.pipes):
            task.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await self.connect()
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, upstream_writer}
        for task in (
            asyncio.create_task(self._pipe(reader, upstream_writer)),
            asyncio.create_task(self._pipe(upstream_reader, writer)),
        ):
            self.pipes.add(task)
            task.add_done_callback(self.pipes.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(CHUNK):
                writer.write(chunk)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.writers.discard(writer)
            writer.transport.abort()


@contextlib.asynccontextmanager
async def proxied(host: str, port: int | None = None) -> AsyncIterator[TcpProxy]:
    """A proxy to a TCP port, or to a unix socket when `host` is a path and `port` is None."""

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if port is None:
            return await asyncio.open_unix_connection(host)
        return await asyncio.open_connection(host, port)

    proxy = TcpProxy(connect)
    await proxy.restore()
    try:
        yield proxy
    finally:
        await proxy.cut()
