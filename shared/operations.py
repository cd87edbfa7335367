"""Operations endpoints of the background services (ingest, scoring, alerting).

Each serves `/metrics` (Prometheus), `/livez` and `/readyz` on its own port (`OPS_PORT`; 0 turns it
off). Liveness asks "is the loop still turning?" (a heartbeat younger than `OPS_STALL_SECONDS`), so
an orchestrator restarts a process that hangs; readiness asks "is it doing its work?" (its last
attempt reached the database and the broker), so a dashboard shows an outage without a restart
loop: a service waiting for PostgreSQL is alive but not ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.settings import OpsSettings


class Health:
    """What the service's loop reports: a heartbeat each turn, and whether its work succeeds."""

    def __init__(self, stall: timedelta) -> None:
        self.stall_seconds = stall.total_seconds()
        self.beat_at = time.monotonic()
        self.ready = False
        self.reason = "starting"

    def beat(self) -> None:
        self.beat_at = time.monotonic()

    def succeeded(self) -> None:
        self.beat()
        self.ready, self.reason = True, "ok"

    def failed(self, reason: str) -> None:
        self.beat()
        self.ready, self.reason = False, reason

    @property
    def alive(self) -> bool:
        return time.monotonic() - self.beat_at < self.stall_seconds


def ops_app(health: Health, registry: CollectorRegistry) -> Starlette:
    async def livez(_: Request) -> Response:
        silent = round(time.monotonic() - health.beat_at, 1)
        status = 200 if health.alive else 503
        return JSONResponse({"alive": health.alive, "seconds_since_beat": silent}, status)

    async def readyz(_: Request) -> Response:
        body = {"ready": health.ready, "reason": health.reason}
        return JSONResponse(body, 200 if health.ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[Route("/livez", livez), Route("/readyz", readyz), Route("/metrics", metrics)]
    )


class _InProcessServer(uvicorn.Server):
    """uvicorn inside a service's own loop: the service keeps its own SIGTERM handling."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving_ops(
    settings: OpsSettings, health: Health, registry: CollectorRegistry
) -> AsyncIterator[None]:
    """Serve the operations endpoints for as long as the block lasts (not at all on port 0)."""
    if not settings.ops_port:
        yield
        return
    config = uvicorn.Config(
        ops_app(health, registry),
        host=settings.ops_host,
        port=settings.ops_port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve())
    try:
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
