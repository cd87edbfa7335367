"""Reports an office sends: the overdue report (Phụ lục II), as JSON or as a file (`format`).
Conditional like every read: a matching `If-None-Match` is a 304 before any other work."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from services.api import overdue_report, schemas
from services.api.deps import CalendarDep, ReadsDep
from services.api.endpoints.scores import CONDITIONAL
from services.api.exports import tables
from services.api.exports.formats import FILE_RESPONSES, Export, Format, FormatParam
from services.api.rendered import RenderedCache, holds, not_modified, respond
from shared.models import CATALOGUE_VERSION
from shared.scores.board import CatalogueCache, read_states

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get(
    "/overdue",
    response_model=schemas.OverdueReport,
    responses={**CONDITIONAL, **FILE_RESPONSES},
)
async def overdue(
    request: Request,
    reads: ReadsDep,
    calendar: CalendarDep,
    first: Annotated[
        date, Query(alias="from", description="The window's first day", examples=["2025-09-22"])
    ],
    last: Annotated[
        date,
        Query(alias="to", description="Its last day (at most 366 days)", examples=["2025-09-29"]),
    ],
    level: Annotated[
        Literal["department", "commune"] | None,
        Query(description="Only this level (default: both)"),
    ] = None,
    file_format: FormatParam = Format.JSON,
) -> schemas.OverdueReport | Response:
    """The units with overdue dossiers processed in the window (finished late in it, or still in
    progress past their due date), how many each, departments first then communes in the
    province's order, each count linking to its unit's overdue list for the window."""
    window = calendar.day_range(first, last)
    export = Export.of(request, file_format)
    catalogue: CatalogueCache = request.app.state.catalogue
    async with reads() as session:
        states, as_of = await read_states(session, request.app.state.live, [CATALOGUE_VERSION])
        version = states[CATALOGUE_VERSION].version
        # The outcomes move with scoring's instant, the names and levels with the catalogue.
        stamp = int(as_of.timestamp() * 1_000_000) if as_of else 0
        tag = export.tag(f'W/"overdue-report.{window.key}.{level}.{version}.{stamp}"')
        if holds(request, tag):
            return not_modified(tag)

        async def build() -> schemas.OverdueReport:
            units = (await catalogue.load(session, version)).units
            return await overdue_report.overdue_report(session, units, window, level, as_of)

        cache: RenderedCache = request.app.state.rendered
        rendered = await cache.get_or_render(
            export.cache_key(tag),
            build,
            export.renderer(partial(tables.overdue_report, tz=calendar.tz)),
        )
    return respond(request, rendered, tag)
