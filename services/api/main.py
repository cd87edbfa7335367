"""api: the FastAPI application. `python -m services.api` serves it with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from services.api import alert_endpoints, dead_letter_endpoints, endpoints, ops
from services.api.alerting.tail import AlertTail
from services.api.auth import read_access
from services.api.guards import BodySizeLimit, RateLimit
from services.api.pipeline_metrics import PipelineCollector
from services.api.publisher import Publisher
from services.api.service import CatalogueCache, ScoreBoard
from services.api.settings import ApiSettings
from shared.clock import Clock, SystemClock
from shared.db import create_engine, create_sessionmaker, is_transient, is_unstorable_text
from shared.logging import configure_logging
from shared.methodology import Methodologies
from shared.periods import Calendar

DESCRIPTION = """
Live scores of the 766/QĐ-TTg index for a province, its departments and its communes.

Every response carries an `ETag`; poll with `If-None-Match` and get `304 Not Modified` until the
numbers change.

Reads are public unless the deployment requires an API key with the scope `read`; writes always
need a key (header `X-API-Key`) with their own scope. Requests are rate limited per client address
(429 with `Retry-After`) and bodies are size limited (413).
"""
RETRY_AFTER_SECONDS = "5"


def create_app(settings: ApiSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, application_name="chiso766-api", pool_size=10)
        app.state.sessions = create_sessionmaker(engine)
        methodologies = Methodologies(settings.methodology_version, settings.methodology_dir)
        app.state.workdays = settings.working_calendar()
        catalogue = CatalogueCache(app.state.workdays)
        app.state.boards = {
            version: ScoreBoard(
                methodology, settings.api_score_cache_size, catalogue, settings.province_code
            )
            for version, methodology in methodologies.versions.items()
        }
        app.state.methodologies = methodologies
        app.state.calendar = Calendar(settings.timezone)
        app.state.clock = clock or SystemClock()
        app.state.settings = settings
        app.state.publisher = Publisher(
            settings.kafka_bootstrap_servers, settings.api_publish_timeout_seconds
        )
        app.state.alert_tail = AlertTail(app.state.sessions, settings.alert_stream_poll_seconds)
        tail = asyncio.create_task(app.state.alert_tail.run())
        try:
            yield
        finally:
            tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tail
            await app.state.publisher.close()
            await engine.dispose()

    app = FastAPI(
        title="Chỉ số 766 API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan
    )
    reads = [Depends(read_access)]
    app.include_router(ops.router)
    app.include_router(endpoints.router, dependencies=reads)
    app.include_router(alert_endpoints.router, dependencies=reads)
    app.include_router(endpoints.admin_router)
    app.include_router(alert_endpoints.webhooks_router)
    app.include_router(dead_letter_endpoints.router)
    _add_guards(app, settings)
    _add_metrics(app)

    @app.exception_handler(ValueError)
    async def value_error(_: Request, error: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(OSError)
    @app.exception_handler(PoolTimeoutError)
    async def database_error(_: Request, error: Exception) -> JSONResponse:
        if is_unstorable_text(error):
            # A NUL in a query parameter or a body string: every route, one answer.
            detail = "text may not contain the NUL character (\\u0000)"
            return JSONResponse({"detail": detail}, status_code=422)
        if not (is_transient(error) or isinstance(error, PoolTimeoutError)):
            raise error  # a bug, not an outage: let it be a 500 with its traceback logged
        return JSONResponse(
            {"detail": "the database is unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    return app


def _add_guards(app: FastAPI, settings: ApiSettings) -> None:
    # Starlette runs the middleware added last first: CORS wraps the refusals (a browser must
    # read a 429 as a 429), then the rate limit refuses before the body is even read.
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)
    if settings.api_rate_limit:
        app.add_middleware(
            RateLimit, limit=settings.api_rate_limit, exempt_paths=ops.OPERATIONS_PATHS
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
    Instrumentator(
        excluded_handlers=["/metrics"],
        should_ignore_untemplated=True,
        registry=registry,
    ).instrument(app, metric_namespace="chiso766_api")


def run() -> None:
    settings = ApiSettings()
    configure_logging(settings.log_level, json=settings.log_json, service="api")
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        # Alert streams never end by themselves: do not wait on them forever when stopping.
        timeout_graceful_shutdown=10,
    )
