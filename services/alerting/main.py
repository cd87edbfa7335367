"""alerting: wiring and its loops. `python -m services.alerting` runs it until SIGTERM.

Four loops, each a transaction at a time, so that stopping or crashing loses nothing: the score
watcher, the Kafka relay, the webhook fan-out and the webhook dispatcher. Run one process or
several: each loop takes a lock or claims rows, so they share the work and never do it twice. The
api serves `/alerts`, `/alerts/stream` and the subscriptions from the same tables.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import structlog
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerting.relay import Relay
from services.alerting.settings import AlertingSettings
from services.alerting.watch import Thresholds, Watcher
from services.alerting.webhooks import Dispatcher, RetryPolicy
from shared.clock import Clock, SystemClock
from shared.db import create_engine, create_sessionmaker
from shared.errors import is_retryable
from shared.kafka import Publisher
from shared.methodology import Methodologies
from shared.operations import Health, serving_ops
from shared.periods import Calendar
from shared.scores.board import CatalogueCache, ScoreBoard
from shared.signals import sleep_or_stop, stop_on_signals
from shared.webhook_targets import TargetPolicy

log = structlog.get_logger()

FAILURE_PAUSE = timedelta(seconds=1)
# The watcher looks at the current periods only: a handful of (period, version) scores.
WATCHER_CACHE_SIZE = 16
Step = Callable[[AsyncSession], Awaitable[int | None]]


def build_watcher(settings: AlertingSettings) -> Watcher:
    methodology = Methodologies(settings.methodology_version, settings.methodology_dir).default
    unknown = sorted(set(settings.alerting_targets) - {i.id for i in methodology.indicators})
    if unknown:
        raise ValueError(f"ALERTING_TARGETS names indicators the methodology lacks: {unknown}")
    board = ScoreBoard(
        methodology,
        Calendar(settings.timezone),
        CatalogueCache(settings.working_calendar()),
        settings.province_code,
        WATCHER_CACHE_SIZE,
    )
    thresholds = Thresholds(
        score_drop_points=settings.alerting_score_drop_points,
        group_drop_points=settings.alerting_group_drop_points,
        rank_drop_places=settings.alerting_rank_drop_places,
        targets=settings.alerting_targets,
        min_dossiers=settings.alerting_min_dossiers,
        dead_letter_window=settings.alerting_dead_letter_window_minutes,
        dead_letter_count=settings.alerting_dead_letter_count,
    )
    return Watcher(board, settings.alerting_watch_period_kinds, thresholds, settings.province_code)


def retry_policy(settings: AlertingSettings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.alerting_webhook_max_attempts,
        first_delay=settings.alerting_webhook_first_retry_seconds,
        max_delay=settings.alerting_webhook_max_retry_seconds,
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
        idle: timedelta,
    ) -> None:
        """Run `step` in a transaction until `stop`; again at once while it finds work."""
        while not stop.is_set():
            pause = idle
            try:
                async with sessions.begin() as session:
                    done = await step(session)
            except Exception as error:
                if not is_retryable(error):
                    raise
                # PostgreSQL or the broker is away: try again shortly, no crash loop.
                log.warning("alerts.unavailable", loop=name, error=repr(error))
                done, pause = None, max(idle, FAILURE_PAUSE)
                self.steps.labels(name, "failed").inc()
                self.health.failed(f"{name}: {type(error).__name__}: {error}"[:300])
            else:
                self.steps.labels(name, "ok").inc()
                self.health.succeeded()
            if not done:
                await sleep_or_stop(stop, pause)


async def serve(
    settings: AlertingSettings, stop: asyncio.Event, clock: Clock | None = None
) -> None:
    clock = clock or SystemClock()
    watcher = build_watcher(settings)
    loops = Loops(Health(settings.ops_stall_seconds))
    async with contextlib.AsyncExitStack() as resources:
        engine = create_engine(settings.database_url, application_name="chiso766-alerting")
        resources.push_async_callback(engine.dispose)
        sessions = create_sessionmaker(engine)
        publisher = Publisher(
            settings.kafka_bootstrap_servers, settings.alerting_publish_timeout_seconds
        )
        resources.push_async_callback(publisher.close)
        client = httpx.AsyncClient(
            timeout=settings.alerting_webhook_timeout_seconds.total_seconds(),
            follow_redirects=False,  # a redirect could lead inside the network
            trust_env=False,
        )
        resources.push_async_callback(client.aclose)
        relay = Relay(publisher, settings.topic_alerts, clock)
        targets = TargetPolicy(settings.webhook_allowed_targets)
        dispatcher = Dispatcher(client, retry_policy(settings), targets)

        async def watch(session: AsyncSession) -> int | None:
            await watcher.check(session, clock.now())
            return None  # scores move with time: look again after the pause, found or not

        async def deliver(session: AsyncSession) -> int:
            return await dispatcher.send_due(session, clock.now())

        async def fan_out(session: AsyncSession) -> int:
            return await dispatcher.fan_out(session, clock.now())

        await resources.enter_async_context(serving_ops(settings, loops.health, loops.registry))
        log.info("alerting.started", topic=settings.topic_alerts)
        async with asyncio.TaskGroup() as tasks:
            for name, step, idle in (
                ("watch", watch, settings.alerting_watch_seconds),
                ("relay", relay.publish, settings.alerting_relay_poll_seconds),
                ("fan_out", fan_out, settings.alerting_webhook_poll_seconds),
                ("webhooks", deliver, settings.alerting_webhook_poll_seconds),
            ):
                tasks.create_task(loops.run(name, step, sessions, stop, idle))
    log.info("alerting.stopped")


async def main() -> None:
    await serve(AlertingSettings.starting("alerting"), stop_on_signals())


def run() -> None:
    asyncio.run(main())
