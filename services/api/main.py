"""api: the FastAPI application. `python -m services.api` serves it with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.api import alert_endpoints
from services.api.alerting.tail import AlertTail
from services.api.endpoints import router
from services.api.publisher import Publisher
from services.api.service import CatalogueCache, ScoreBoard
from services.api.settings import ApiSettings
from shared.clock import Clock, SystemClock
from shared.db import create_engine, create_sessionmaker
from shared.logging import configure_logging
from shared.methodology import Methodologies
from shared.periods import Calendar

DESCRIPTION = """
Live scores of the 766/QĐ-TTg index for a province, its departments and its communes.

Every response carries an `ETag`; poll with `If-None-Match` and get `304 Not Modified` until the
numbers change.
"""


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
    app.include_router(router)
    app.include_router(alert_endpoints.router)

    @app.exception_handler(ValueError)
    async def value_error(_: Request, error: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    return app


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
