"""The history of a unit's score: the period as it stood at the end of each closed day."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api import history, schemas
from services.api.deps import BoardDep, PeriodParam, ReadsDep, UnitDep, ViewParam
from shared.scores.history import View

router = APIRouter(tags=["history"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.ErrorOut},
    422: {"model": schemas.ErrorOut, "description": "Invalid parameters, or a day not closed"},
}


@router.get("/units/{code}/history", response_model=schemas.UnitHistory, responses=ERRORS)
async def unit_history(
    reads: ReadsDep,
    board: BoardDep,
    unit: UnitDep,
    period: PeriodParam = "month",
    first: Annotated[
        date | None,
        Query(alias="from", description="The first day (default: 30 days before `to`)"),
    ] = None,
    last: Annotated[
        date | None, Query(alias="to", description="The last day (default: the latest closed)")
    ] = None,
    view: ViewParam = View.RECORDED,
    indicators: Annotated[bool, Query(description="Every indicator's counts too")] = False,
) -> schemas.UnitHistory:
    """A unit's (or the province's) total, group points and rank at the end of each closed
    day: in the period of the kind running that day (`period=month`), or in one period (a key,
    each day in it)."""
    async with reads() as session:
        days = await history.series_days(session, first, last)
        return await history.unit_history(session, board, unit, period, days, view, indicators)
