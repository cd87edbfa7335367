"""What a unit must fix and what it is worth, and its dossiers about to go late."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.api import guidance, schemas
from services.api.deps import BoardDep, ClockDep, PeriodDep, ReadsDep, SessionDep, UnitDep
from services.api.endpoints.scores import CONDITIONAL, ERRORS
from services.api.rendered import RenderedCache, holds, not_modified, respond
from services.api.scores import etag
from shared.errors import InvalidInput

router = APIRouter(tags=["guidance"])

WithinHours = Annotated[
    float,
    Query(
        gt=0,
        le=400,
        description="How many working hours (office hours of working days) ahead counts as "
        "due soon.",
        examples=[8],
    ),
]


@router.get("/units/{code}/guidance", response_model=schemas.Guidance, responses=CONDITIONAL)
async def unit_guidance(
    request: Request,
    reads: ReadsDep,
    board: BoardDep,
    clock: ClockDep,
    unit: UnitDep,
    period: PeriodDep,
    within_hours: WithinHours = 8,
) -> schemas.Guidance | Response:
    """The unit's indicators ordered by points at stake (max − points), each with the things
    behind the loss, linked to their lists, and the points the unit and the province gain if
    they are fixed (computed with the methodology); and the period's end score if every dossier
    in progress finishes at its due time, versus if none finishes."""
    now = clock.now()
    async with reads() as session:
        versions = await board.versions(session, period, now)
        # Due soon moves with time as well as with the counts: the tag changes every minute.
        as_of = versions.as_of or now
        minute = int(as_of.timestamp() // 60)
        tag = etag(
            board, versions, "guidance", period.key, unit.code, f"{within_hours:g}", f"{minute}"
        )
        if holds(request, tag):
            return not_modified(tag)
        cache: RenderedCache = request.app.state.rendered
        rendered = await cache.get_or_render(
            tag,
            lambda: guidance.guidance(session, board, unit, period, versions, within_hours, now),
        )
    return respond(request, rendered, tag)


@router.get("/units/{code}/due-soon", response_model=schemas.DueSoonPage, responses=ERRORS)
async def unit_due_soon(
    session: SessionDep,
    board: BoardDep,
    clock: ClockDep,
    unit: UnitDep,
    within_hours: WithinHours = 8,
    after: Annotated[
        str | None,
        Query(
            max_length=128,
            description="The `next_after` of the previous page.",
            examples=["2026-11-20T09:30:00+00:00|H19.01-251001-0042"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> schemas.DueSoonPage:
    """The unit's dossiers in progress within their deadline that fall due within
    `within_hours` working hours, soonest first (the province: every unit's)."""
    try:
        cursor = guidance.parse_after(after)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    return await guidance.due_soon(session, board, unit, within_hours, cursor, limit, clock.now())
