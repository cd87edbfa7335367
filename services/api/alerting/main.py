"""The alerting process: `python -m services.api.alerting`.

Three loops, each a transaction at a time, so that stopping or crashing loses nothing: the score
watcher, the Kafka relay and the webhook dispatcher. Run one or several: each loop takes a lock
or claims rows, so they share the work and never do it twice. The HTTP process serves `/alerts`,
`/alerts/stream` and the subscriptions from the same tables.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import structlog
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.alerting.relay import Relay
from services.api.alerting.watch import Thresholds, Watcher
from services.api.alerting.webhooks import Dispatcher, RetryPolicy
from services.api.publisher import PublishError
from services.api.service import CatalogueCache, ScoreBoard
from services.api.settings import ApiSettings
from shared.clock import Clock, SystemClock
from shared.db import create_engine, create_sessionmaker, is_transient
from shared.logging import configure_logging
from shared.methodology import Methodologies
from shared.ops import Health, serving_ops
from shared.periods import Calendar
from shared.signals import stop_on_signals

log = structlog.get_logger()

FAILURE_PAUSE_SECONDS = 1.0
Step = Callable[[AsyncSession], Awaitable[int | None]]


def build_watcher(settings: ApiSettings) -> Watcher:
    methodology = Methodologies(settings.methodology_version, settings.methodology_dir).get(None)
    unknown = sorted(set(settings.alert_targets) - {i.id for i in methodology.indicators})
    if unknown:
        raise ValueError(f"alert_targets names indicators the methodology lacks: {unknown}")
    board = ScoreBoard(
        methodology,
        settings.api_score_cache_size,
        CatalogueCache(settings.working_calendar()),
        settings.province_code,
    )
    thresholds = Thresholds(
        score_drop_points=settings.alert_score_drop_points,
        group_drop_points=settings.alert_group_drop_points,
        rank_drop_places=settings.alert_rank_drop_places,
        targets=settings.alert_targets,
        min_dossiers=settings.alert_min_dossiers,
        dead_letter_window=timedelta(minutes=settings.alert_dead_letter_window_minutes),
        dead_letter_count=settings.alert_dead_letter_count,
    )
    return Watcher(
        board,
        Calendar(settings.timezone),
        settings.alert_watch_period_kinds,
        thresholds,
        settings.province_code,
    )


def retry_policy(settings: ApiSettings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        first_delay=timedelta(seconds=settings.webhook_first_retry_seconds),
        max_delay=timedelta(seconds=settings.webhook_max_retry_seconds),
    )


class Loops:
    """The loops' shared health and their step counts, for the operations endpoints."""

    def __init__(self, health: Health) -> None:
        self.health = health
        self.registry = CollectorRegistry()
        self.steps = Counter(
            "chiso766_alerting_steps",
            "Steps of each alerting loop, by outcome",
            ["loop", "outcome"],
            registry=self.registry,
        )

    async def run(
        self,
        name: str,
        step: Step,
        sessions: async_sessionmaker[AsyncSession],
        stop: asyncio.Event,
        idle_seconds: float,
    ) -> None:
        """Run `step` in a transaction until `stop`; again at once while it finds work."""
        while not stop.is_set():
            pause = idle_seconds
            try:
                async with sessions.begin() as session:
                    done = await step(session)
            except (PublishError, KafkaError, TimeoutError, OSError) as error:
                # The broker or a receiver is away: try again shortly, no crash loop.
                log.warning("alerts.unavailable", loop=name, error=repr(error))
                done, pause = None, max(idle_seconds, FAILURE_PAUSE_SECONDS)
                self._failed(name, error)
            except Exception as error:
                if not is_transient(error):
                    raise
                log.warning("alerts.database_unavailable", loop=name, error=str(error))
                done, pause = None, max(idle_seconds, FAILURE_PAUSE_SECONDS)
                self._failed(name, error)
            else:
                self.steps.labels(name, "ok").inc()
                self.health.succeeded()
            if not done:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)

    def _failed(self, name: str, error: BaseException) -> None:
        self.steps.labels(name, "failed").inc()
        self.health.failed(f"{name}: {type(error).__name__}: {error}"[:300])


async def serve(settings: ApiSettings, stop: asyncio.Event, clock: Clock | None = None) -> None:
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, application_name="chiso766-alerting")
    relay = Relay(settings.kafka_bootstrap_servers, settings.topic_alerts, clock)
    watcher = build_watcher(settings)
    client = httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False, trust_env=False
    )
    dispatcher = Dispatcher(client, retry_policy(settings))
    sessions = create_sessionmaker(engine)

    async def watch(session: AsyncSession) -> int | None:
        await watcher.check(session, clock.now())
        return None  # scores move with time: look again after the pause, found or not

    async def deliver(session: AsyncSession) -> int:
        return await dispatcher.send_due(session, clock.now())

    async def fan_out(session: AsyncSession) -> int:
        return await dispatcher.fan_out(session, clock.now())

    loops = Loops(Health(settings.ops_stall_seconds))
    log.info("alerting.started", topic=settings.topic_alerts)
    try:
        async with (
            serving_ops(settings, loops.health, loops.registry),
            asyncio.TaskGroup() as tasks,
        ):
            for name, step, idle in (
                ("watch", watch, settings.alert_watch_seconds),
                ("relay", relay.publish, settings.alert_relay_poll_seconds),
                ("fan_out", fan_out, settings.webhook_poll_seconds),
                ("webhooks", deliver, settings.webhook_poll_seconds),
            ):
                tasks.create_task(loops.run(name, step, sessions, stop, idle))
    finally:
        await relay.close()
        await client.aclose()
        await engine.dispose()
        log.info("alerting.stopped")


async def main() -> None:
    settings = ApiSettings()
    configure_logging(settings.log_level, json=settings.log_json, service="alerting")
    await serve(settings, stop_on_signals())


def run() -> None:
    asyncio.run(main())
