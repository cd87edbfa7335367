"""scoring: wiring and the loop. `python -m services.scoring` runs it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.scoring import history, repository
from services.scoring.alerts import DossierAlerts
from services.scoring.batch import DossierScorer, FeedbackRow, Scorer, feedback_scorer
from services.scoring.claims import PartitionClaims
from services.scoring.metrics import ScoringMetrics
from services.scoring.service import ScoringService
from services.scoring.settings import ScoringSettings
from services.scoring.wake import EventsStored
from shared.clock import Clock, SystemClock
from shared.db import create_engine, create_sessionmaker, driver_url
from shared.errors import is_retryable
from shared.operations import Health, serving_ops
from shared.periods import Calendar
from shared.signals import sleep_or_stop, stop_on_signals
from shared.workdays import OfficeHours

log = structlog.get_logger()
# The wait after a failed step, before trying again.
RETRY_PAUSE = timedelta(seconds=1)
# Events a step reads while the instances started together are still sharing the partitions out
# (`claims.PartitionClaims.forming`): a quarter of a second's work, the longest another instance
# then waits for partitions this one took first.
FORMING_READ = 5_000


def build_scorer(settings: ScoringSettings) -> DossierScorer:
    return DossierScorer(
        Calendar(settings.timezone), settings.scoring_period_kinds, settings.province_code
    )


def build_feedback_scorer(settings: ScoringSettings) -> Scorer[FeedbackRow]:
    return feedback_scorer(
        Calendar(settings.timezone),
        settings.scoring_period_kinds,
        settings.working_calendar(),
        settings.province_code,
    )


def build_dossier_alerts(settings: ScoringSettings) -> DossierAlerts:
    return DossierAlerts(
        OfficeHours(settings.working_calendar(), settings.scoring_office_hours),
        settings.scoring_due_soon_working_hours,
        settings.scoring_alert_max_age_hours,
    )


def build_service(settings: ScoringSettings, clock: Clock) -> ScoringService:
    return ScoringService(
        build_scorer(settings),
        build_feedback_scorer(settings),
        clock,
        settings.scoring_batch_size,
        settings.province_name,
        build_dossier_alerts(settings),
        settings.scoring_history_restate_days,
        backlog=settings.scoring_history_from is not None,
    )


def first_instant(settings: ScoringSettings, now: datetime) -> datetime:
    """Where new partitions start: now, or the local midnight starting the history's first day
    (`SCORING_HISTORY_FROM`), never later than now."""
    if settings.scoring_history_from is None:
        return now
    day = settings.scoring_history_from - timedelta(days=1)
    return min(history.day_end(Calendar(settings.timezone), day).at, now)


async def run_until_stopped(
    service: ScoringService,
    sessions: async_sessionmaker[AsyncSession],
    claims: PartitionClaims,
    stop: asyncio.Event,
    settings: ScoringSettings,
    metrics: ScoringMetrics,
    wake: EventsStored | None = None,
) -> None:
    """Step until `stop` is set; each step is one transaction, so stopping loses nothing. Idle,
    wait for `wake` (events stored) or the idle poll, whichever comes first."""
    rebalance = Deadline(settings.scoring_rebalance_seconds)
    while not stop.is_set():
        started = time.perf_counter()
        try:
            forming = claims.forming
            if rebalance.due() or forming:
                metrics.owned(await claims.rebalance())
            async with sessions.begin() as session:
                report = await service.step(
                    session, claims.owned, FORMING_READ if forming else None
                )
        except Exception as error:
            service.rolled_back()
            if not is_retryable(error):
                raise
            # The database went away or a deadlock was broken: wait and retry, no crash loop.
            log.warning("scoring.database_unavailable", error=str(error))
            metrics.retry(error)
            rebalance.now()
            await sleep_or_stop(stop, RETRY_PAUSE)
            continue
        metrics.step(report, time.perf_counter() - started)
        if report.idle and wake is not None:
            await wake.idle(stop, settings.scoring_idle_poll_seconds)
        elif report.idle:
            await sleep_or_stop(stop, settings.scoring_idle_poll_seconds)
        else:
            log.debug(
                "scoring.step", events=report.events, due=report.due, dossiers=report.dossiers
            )


class Deadline:
    """Due every `interval`, or at once after `now()`."""

    def __init__(self, interval: timedelta) -> None:
        self.interval = interval.total_seconds()
        self._next = 0.0

    def now(self) -> None:
        self._next = 0.0

    def due(self) -> bool:
        current = time.monotonic()
        if current < self._next:
            return False
        self._next = current + self.interval
        return True


async def serve(settings: ScoringSettings, stop: asyncio.Event, clock: Clock | None = None) -> None:
    """Score until `stop` is set, then close what it opened."""
    service = build_service(settings, clock or SystemClock())
    metrics = ScoringMetrics(Health(settings.ops_stall_seconds))
    async with contextlib.AsyncExitStack() as resources:
        engine = create_engine(settings.database_url, application_name="chiso766-scoring")
        resources.push_async_callback(engine.dispose)
        await resources.enter_async_context(serving_ops(settings, metrics.health, metrics.registry))
        sessions = create_sessionmaker(engine)
        await _init_partitions(sessions, settings, stop)
        claims = PartitionClaims(
            driver_url(settings.database_url),
            settings.scoring_partitions,
            forming=settings.scoring_rebalance_seconds.total_seconds(),
        )
        resources.push_async_callback(claims.close)
        log.info(
            "scoring.started",
            kinds=[k.value for k in settings.scoring_period_kinds],
            partitions=settings.scoring_partitions,
        )
        wake = EventsStored(driver_url(settings.database_url))
        listening = asyncio.create_task(wake.run())
        resources.push_async_callback(_cancelled, listening)
        await run_until_stopped(service, sessions, claims, stop, settings, metrics, wake)
    log.info("scoring.stopped")


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _init_partitions(
    sessions: async_sessionmaker[AsyncSession], settings: ScoringSettings, stop: asyncio.Event
) -> None:
    """The partitions' positions, and the province, committed before any step: a province
    first inserted by a step would hold every other instance's first step until that one
    committed (an insert waits on another transaction's uncommitted insert of the same key)."""
    while not stop.is_set():
        try:
            async with sessions.begin() as session:
                now = SystemClock().now()
                await repository.init_partitions(
                    session, settings.scoring_partitions, now, first_instant(settings, now)
                )
                await repository.ensure_province(
                    session, settings.province_code, settings.province_name
                )
            return
        except Exception as error:
            if not is_retryable(error):
                raise
            log.warning("scoring.database_unavailable", error=str(error))
            await sleep_or_stop(stop, RETRY_PAUSE)


async def main() -> None:
    await serve(ScoringSettings.starting("scoring"), stop_on_signals())


def run() -> None:
    asyncio.run(main())
