"""Run the real services in-process against the test database and broker."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from services.api.main import create_app
from services.api.settings import ApiSettings
from services.ingest.main import serve as serve_ingest
from services.ingest.settings import IngestSettings
from services.scoring.main import serve as serve_scoring
from services.scoring.settings import ScoringSettings
from shared.clock import Clock
from tests.support.factories import encode

T = TypeVar("T")
PROVINCE = "19"


def common(db_url: str, broker: str, topics: Any) -> dict[str, Any]:
    return {
        "database_url": db_url,
        "kafka_bootstrap_servers": broker,
        "province_code": PROVINCE,
        "topic_dossier_events": topics.dossier,
        "topic_catalog_events": topics.catalog,
        "topic_feedback_events": getattr(topics, "feedback", f"{topics.catalog}.feedback"),
        "topic_dead_letter": topics.dead_letter,
        "log_json": False,
        "log_level": "WARNING",
    }


@contextlib.asynccontextmanager
async def running(
    coroutine_factory: Callable[[asyncio.Event], Awaitable[None]],
) -> AsyncIterator[asyncio.Event]:
    """Run a service until the block ends, then stop it the way SIGTERM would."""
    stop = asyncio.Event()
    task = asyncio.create_task(coroutine_factory(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def ingest(
    db_url: str, broker: str, topics: Any, clock: Clock | None = None, **overrides: Any
) -> Callable[[asyncio.Event], Awaitable[None]]:
    settings = IngestSettings(**common(db_url, broker, topics), **overrides)
    return lambda stop: serve_ingest(settings, stop, clock)


def scoring(
    db_url: str, broker: str, topics: Any, clock: Clock | None = None, **overrides: Any
) -> Callable[[asyncio.Event], Awaitable[None]]:
    settings = ScoringSettings(
        **common(db_url, broker, topics), scoring_idle_poll_seconds=0.05, **overrides
    )
    return lambda stop: serve_scoring(settings, stop, clock)


class ApiClient(httpx.AsyncClient):
    """A client of an api in this process, which can wait for the api to hear of a commit."""

    def __init__(self, app: FastAPI, db_url: str, address: str = "127.0.0.1") -> None:
        super().__init__(
            transport=httpx.ASGITransport(app=app, client=(address, 50000)),
            base_url="http://api",
        )
        self.app = app
        self.db_url = db_url

    async def heard_scoring(self) -> None:
        """Until the api's memory holds every version scoring has committed: a notification
        takes a moment, and a test that reads right after a step must not race it."""
        live = self.app.state.live

        async def heard() -> bool:
            connection = await asyncpg.connect(self.db_url)
            try:
                rows = await connection.fetch(
                    "SELECT period_key, sum(version) AS version FROM period_versions GROUP BY 1"
                )
            finally:
                await connection.close()
            held = live.states([r["period_key"] for r in rows]) if live.fresh else {}
            return all(
                r["period_key"] in held and held[r["period_key"]].version == r["version"]
                for r in rows
            )

        await eventually(heard, within=10)

    async def deafen(self) -> None:
        """Kill the api's listening connection (as a network cut would), until it knows."""
        connection = await asyncpg.connect(self.db_url)
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'chiso766-api-listen'"
                " AND datname = current_database()"
            )
        finally:
            await connection.close()

        async def deaf() -> bool:
            return not self.app.state.live.fresh

        await eventually(deaf, within=10)


@contextlib.asynccontextmanager
async def api_client(
    db_url: str,
    broker: str,
    topics: Any,
    clock: Clock | None = None,
    address: str = "127.0.0.1",
    **overrides: Any,
) -> AsyncIterator[ApiClient]:
    """An api in this process, and a client calling it from `address`."""
    # Tests poll far faster than any client may: the rate limit has its own tests.
    overrides.setdefault("api_rate_limit", "")
    # Tests read right after a step and expect its numbers: the front cache's previous answers,
    # given for a moment after a move, have their own tests.
    overrides.setdefault("api_front_stale_seconds", timedelta(0))
    # The tests' webhook receivers listen on loopback; the target checks have their own tests.
    overrides.setdefault("webhook_allowed_targets", ("127.0.0.1",))
    app: FastAPI = create_app(ApiSettings(**common(db_url, broker, topics), **overrides), clock)
    async with app.router.lifespan_context(app), ApiClient(app, db_url, address) as client:
        yield client


async def produce(broker: str, topic: str, events: Iterable[dict[str, Any] | bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        for event in events:
            value = event if isinstance(event, bytes) else encode(event)
            key = (
                None
                if isinstance(event, bytes)
                else str(
                    event.get("dossier_code")
                    or event.get("procedure_code")
                    or event.get("feedback_id")
                    or event.get("unit_code")
                ).encode()
            )
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 20) -> T:
    """Poll `probe` until it returns something other than None (or False)."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s (last: {result!r})")
        await asyncio.sleep(0.05)
