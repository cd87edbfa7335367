"""api: the FastAPI application. `python -m services.api` serves it with uvicorn.

Everything the routes use is born in `lifespan` and closed after it; errors become HTTP answers
in one place (`_answer`): the project's own by their class (`shared.errors`), the database's by
whether they are an outage; anything else is a bug, logged with its traceback, and a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager

import structlog
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry, Counter
from prometheus_fastapi_instrumentator import Instrumentator
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.api import dashboard
from services.api.alert_tail import AlertTail
from services.api.deps import read_access
from services.api.endpoints import (
    admin,
    alerts,
    audits,
    comparison,
    guidance,
    history,
    operations,
    reports,
    scores,
    webhooks,
)
from services.api.front_cache import FrontCache, FrontCacheMiddleware
from services.api.guards import BodySizeLimit, RateLimit
from services.api.key_cache import KeyCache
from services.api.listener import Listener
from services.api.live import LiveVersions
from services.api.pipeline_metrics import PipelineCollector
from services.api.rendered import RenderedCache
from services.api.settings import ApiSettings
from shared.clock import Clock, SystemClock
from shared.db import create_engine, create_sessionmaker, driver_url
from shared.errors import Chiso766Error, Unavailable, is_retryable, is_unstorable_text
from shared.jsontext import NUL_REASON
from shared.kafka import Publisher
from shared.methodology import Methodologies
from shared.periods import Calendar
from shared.scores.board import CatalogueCache, ScoreBoard
from shared.webhook_targets import TargetPolicy

log = structlog.get_logger()
DESCRIPTION = """
Live scores of the 766/QĐ-TTg index for a province, its departments and its communes.

Every response carries an `ETag`; poll with `If-None-Match` and get `304 Not Modified` until the
numbers change.

Reads are public unless the deployment requires an API key with the scope `read`; writes always
need a key (header `X-API-Key`) with their own scope. Requests are rate limited per client address
(429 with `Retry-After`) and bodies are size limited (413).
"""
RETRY_AFTER_SECONDS = "5"
RANGE_WORKERS = 2


def create_app(settings: ApiSettings, clock: Clock | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as resources:
            engine = create_engine(
                settings.database_url, application_name="chiso766-api", pool_size=10
            )
            resources.push_async_callback(engine.dispose)
            app.state.sessions = create_sessionmaker(engine)
            methodologies = Methodologies(settings.methodology_version, settings.methodology_dir)
            app.state.methodologies = methodologies
            app.state.settings = settings
            app.state.clock = clock or SystemClock()
            app.state.calendar = Calendar(settings.timezone)
            app.state.workdays = settings.working_calendar()
            app.state.live = LiveVersions()
            app.state.catalogue = CatalogueCache(app.state.workdays)
            # Ranges of days are computed in two worker processes, started at the first one.
            ranges = resources.enter_context(
                ProcessPoolExecutor(RANGE_WORKERS, multiprocessing.get_context("spawn"))
            )
            app.state.boards = {
                version: ScoreBoard(
                    methodology,
                    app.state.calendar,
                    app.state.catalogue,
                    settings.province_code,
                    settings.api_score_cache_size,
                    app.state.live,
                    ranges,
                )
                for version, methodology in methodologies.versions.items()
            }
            app.state.rendered = RenderedCache(settings.api_rendered_cache_size)
            if not settings.api_read_key_required:
                app.state.front = FrontCache(
                    app.state.live,
                    lambda: app.state.catalogue.day(app.state.clock.now()),
                    settings.api_rendered_cache_size,
                    app.state.front_answers,
                    app.state.front_renders,
                    settings.api_front_stale_seconds.total_seconds(),
                )
                resources.push_async_callback(app.state.front.close)
            app.state.publisher = Publisher(
                settings.kafka_bootstrap_servers, settings.api_publish_timeout_seconds
            )
            resources.push_async_callback(app.state.publisher.close)
            app.state.webhook_targets = TargetPolicy(settings.webhook_allowed_targets)
            app.state.alert_tail = AlertTail(
                app.state.sessions, settings.api_alert_stream_poll_seconds
            )
            app.state.keys = KeyCache(app.state.sessions)
            listener = Listener(
                driver_url(settings.database_url),
                [app.state.live, app.state.alert_tail, app.state.keys],
            )
            for task in (listener.run(), app.state.alert_tail.poll_while_deaf()):
                resources.push_async_callback(_cancelled, asyncio.create_task(task))
            # What start-up built lives as long as the process: out of the collector's way, a
            # full collection (which stops every request) scans only what came after.
            gc.collect()
            gc.freeze()
            yield

    # /docs loads Swagger UI from the api itself (fastapi-offline ships its assets): provincial
    # networks are often closed to the internet and its CDNs. No /redoc: ReDoc's page fetches
    # its logo from Redocly's CDN whatever it is told.
    app = FastAPIOffline(
        title="Chỉ số 766 API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url="/docs-assets",
        redoc_url=None,
    )
    reads = [Depends(read_access)]
    app.include_router(operations.router)
    app.include_router(scores.router, dependencies=reads)
    app.include_router(audits.router, dependencies=reads)
    app.include_router(guidance.router, dependencies=reads)
    app.include_router(alerts.router, dependencies=reads)
    app.include_router(history.router, dependencies=reads)
    app.include_router(comparison.router, dependencies=reads)
    app.include_router(reports.router, dependencies=reads)
    app.include_router(webhooks.router)
    app.include_router(admin.router)
    dashboard.mount(app, settings)
    # Innermost: a poll it answers has passed the metrics, CORS and the guards like any other.
    app.add_middleware(FrontCacheMiddleware)
    _add_guards(app, settings)
    _add_metrics(app)
    for handled in (Chiso766Error, DBAPIError, PoolTimeout, OSError):
        app.add_exception_handler(handled, _answer)
    return app


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _answer(_: Request, error: Exception) -> JSONResponse:
    """The one mapping from errors to HTTP."""
    if not isinstance(error, Chiso766Error):
        if is_unstorable_text(error):
            # A NUL in a query parameter or a body string: every route, one answer.
            return JSONResponse({"detail": NUL_REASON}, status_code=422)
        if not is_retryable(error):
            raise error  # a bug, not an outage: a 500 with its traceback logged
        error = Unavailable("the database is unavailable; try again shortly")
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if isinstance(error, Unavailable) else None
    if isinstance(error, Unavailable):
        log.warning("api.unavailable", error=str(error))
    return JSONResponse({"detail": error.detail}, status_code=error.status, headers=headers)


def _add_guards(app: FastAPI, settings: ApiSettings) -> None:
    # Starlette runs the middleware added last first: CORS wraps the refusals (a browser must
    # read a 429 as a 429), then the rate limit refuses before the body is even read.
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)
    if settings.api_rate_limit or settings.api_rate_limit_keyed:
        app.add_middleware(
            RateLimit,
            anonymous=settings.api_rate_limit,
            keyed=settings.api_rate_limit_keyed,
            storage=settings.api_rate_limit_storage,
            exempt=settings.api_rate_limit_exempt,
            exempt_paths=operations.OPERATIONS_PATHS,
        )
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api_cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "If-None-Match", "Last-Event-ID", "Content-Type"],
            expose_headers=["ETag", "Retry-After"],
            max_age=600,
        )


def _add_metrics(app: FastAPI) -> None:
    """Latency and counts by route template (never by raw path: unit codes would explode the
    label space), plus the pipeline read from PostgreSQL at each scrape."""
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.state.pipeline_metrics = PipelineCollector()
    registry.register(app.state.pipeline_metrics)
    app.state.front_answers = Counter(
        "chiso766_api_front_cache_answers",
        "Reads answered from the front cache, before routing (counted by handler as well)",
        registry=registry,
    )
    app.state.front_renders = Counter(
        "chiso766_api_front_cache_renders",
        "Renders the front cache started for a key whose answer a version move made stale",
        registry=registry,
    )
    Instrumentator(
        excluded_handlers=["/metrics"],
        should_ignore_untemplated=True,
        registry=registry,
    ).instrument(app, metric_namespace="chiso766_api")


def app_from_environment() -> FastAPI:
    """What each worker process serves: settings read again from its environment."""
    return create_app(ApiSettings.starting("api"))


def run() -> None:
    settings = ApiSettings.starting("api")
    limited = settings.api_rate_limit or settings.api_rate_limit_keyed
    if (
        limited
        and settings.api_workers > 1
        and settings.api_rate_limit_storage.endswith("memory://")
    ):
        log.warning(
            "api.rate_limit_per_worker",
            detail="each worker counts its own windows: set API_RATE_LIMIT_STORAGE=redis://...",
        )
    uvicorn.run(
        "services.api.main:app_from_environment",
        factory=True,
        workers=settings.api_workers,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        # Alert streams never end by themselves: do not wait on them forever when stopping.
        timeout_graceful_shutdown=10,
    )
