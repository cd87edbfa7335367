"""The real api as a process, for the read figures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bench.processes import Service, Services, tail
from services.devstack.stack import free_port, wait_for_port


@dataclass(frozen=True, slots=True)
class Api:
    service: Service
    base_url: str
    # How many worker processes it serves with: 1 unless it accepts `API_WORKERS`.
    workers: int


async def start(group: Services, broker: str, workers: int = 2) -> Api:
    """Start `python -m services.api` with no rate limit; with `API_WORKERS` if it accepts it
    (a service refuses to start on a setting of its prefix it does not know)."""
    port = free_port()
    env = {"API_PORT": str(port), "API_RATE_LIMIT": "", "KAFKA_BOOTSTRAP_SERVERS": broker}
    for attempt in ({"API_WORKERS": str(workers)}, {}):
        service = group.start("api", **env, **attempt)
        try:
            await asyncio.to_thread(wait_for_port, port, service.process, 60)
        except RuntimeError:
            if attempt and service.process.poll() is not None:
                group.discard(service)
                continue
            raise RuntimeError(f"the api did not start:\n{tail(service.log)}") from None
        return Api(service, f"http://127.0.0.1:{port}", workers if attempt else 1)
    raise AssertionError("unreachable")
