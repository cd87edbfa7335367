"""Reports an office sends: the comparison of two days (the weekly letter's Phụ lục I)."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from services.api import comparison, schemas
from services.api.deps import BoardDep, PeriodParam, ReadsDep, ViewParam
from services.api.exports import tables
from services.api.exports.formats import FILE_RESPONSES, Export, Format, FormatParam, unkept
from shared.scores.history import View

router = APIRouter(tags=["reports"])
ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": schemas.ErrorOut, "description": "Invalid parameters, or a day not closed"},
}


@router.get(
    "/reports/comparison",
    response_model=schemas.Comparison,
    responses={**ERRORS, **FILE_RESPONSES},
)
async def compare(
    request: Request,
    reads: ReadsDep,
    board: BoardDep,
    first: Annotated[date, Query(alias="from", description="The earlier day, closed")],
    last: Annotated[date, Query(alias="to", description="The later day, closed")],
    period: PeriodParam = "year",
    view: ViewParam = View.RECORDED,
    file_format: FormatParam = Format.JSON,
) -> schemas.Comparison | Response:
    """The province and every unit, each group and indicator at the end of both days and the
    change, in the rows and with the labels of the province's weekly letter: in the period of
    the kind running each day (`period=year`), or in one period holding both. With
    `format=xlsx` (or `csv`), the same numbers as the file an office sends."""
    async with reads() as session:
        body = await comparison.comparison(session, board, period, first, last, view)
    describe = partial(tables.comparison, methodology=board.methodology)
    return await unkept(Export.of(request, file_format), body, describe)
