"""Operations routes: liveness, readiness, the old `/health`, and Prometheus `/metrics`.

`/livez` answers as long as the process serves HTTP (restart it if not); `/readyz` asks the
database, with a short timeout, whether this replica can answer reads (send it traffic if so).
Neither is rate limited or keyed.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api import repository, schemas
from services.api.deps import ClockDep, SessionDep
from services.api.pipeline_metrics import read_snapshot

router = APIRouter(tags=["operations"])
OPERATIONS_PATHS = frozenset({"/livez", "/readyz", "/health", "/metrics"})
READY_TIMEOUT_SECONDS = 2.0


@router.get("/livez", response_model=schemas.Liveness)
async def livez() -> schemas.Liveness:
    return schemas.Liveness(alive=True)


@router.get(
    "/readyz",
    response_model=schemas.Readiness,
    responses={503: {"model": schemas.Readiness, "description": "The database is unreachable"}},
)
async def readyz(request: Request) -> Response:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), request.app.state.sessions() as session:
            await repository.ping(session)
    except Exception as error:  # any failure means "not ready"; the reason says which
        reason = f"database: {type(error).__name__}"
        return JSONResponse({"ready": False, "reason": reason}, status_code=503)
    return JSONResponse({"ready": True, "reason": "ok"})


@router.get("/health", response_model=schemas.HealthOut)
async def health(session: SessionDep) -> schemas.HealthOut:
    """Kept for existing probes: `/readyz` is the same check with a timeout."""
    await repository.ping(session)
    return schemas.HealthOut(status="ok", database="ok")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    request.app.state.pipeline_metrics.snapshot = await read_snapshot(session, clock.now())
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )
