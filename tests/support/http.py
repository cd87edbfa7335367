"""Real HTTP on loopback: serve an ASGI app with uvicorn, and a webhook receiver to point at."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """The app on a free port of 127.0.0.1, for as long as the block lasts; its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@dataclass(frozen=True, slots=True)
class Received:
    headers: dict[str, str]
    body: bytes
    # Wall-clock arrival, for latency measured against event and due times.
    at: float = field(default_factory=time.time)


@dataclass
class Receiver:
    """Answers POST /hook with the next status of `statuses` (200 when they run out)."""

    statuses: Callable[[int], int] = lambda _: 200
    received: list[Received] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            attempt = len(self.received)
            self.received.append(Received(dict(request.headers), await request.body()))
            return Response(status_code=self.statuses(attempt))

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])
