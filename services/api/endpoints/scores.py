"""Scores: the methodology, rankings, a unit's detail, and where the pipeline stands. Reads answer
a matching `If-None-Match` with 304 before doing any other work."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from services.api import front_cache, history, repository, schemas, scores
from services.api.deps import (
    BoardDep,
    ClockDep,
    MethodologyParam,
    PeriodAtDep,
    ReadsDep,
    SessionDep,
    SettingsDep,
    UnitDep,
    ViewParam,
    methodology_named,
)
from services.api.exports import tables
from services.api.exports.formats import FILE_RESPONSES, Export, Format, FormatParam, unkept
from services.api.rendered import RenderedCache, holds, not_modified, respond
from shared.events import UnitLevel
from shared.methodology import Methodology
from shared.periods import Calendar
from shared.scores import repository as scores_repository
from shared.scores.history import View

router = APIRouter(tags=["scores"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.ErrorOut},
    422: {"description": "Invalid parameters"},
}
CONDITIONAL: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    304: {"description": "Not modified since the ETag given"},
}


@router.get("/methodology", responses=ERRORS)
async def methodology(request: Request, version: MethodologyParam = None) -> Methodology:
    """Groups and indicators with their points and rules, as data."""
    return methodology_named(request, version)


@router.get(
    "/rankings", response_model=schemas.Rankings, responses={**CONDITIONAL, **FILE_RESPONSES}
)
async def rankings(
    request: Request,
    reads: ReadsDep,
    board: BoardDep,
    clock: ClockDep,
    at: PeriodAtDep,
    file_format: FormatParam = Format.JSON,
    level: Annotated[Literal["department", "commune"], Query()] = "department",
    view: ViewParam = View.RECORDED,
) -> schemas.Rankings | Response:
    """Departments or communes ranked by total score for a period, with group points; with
    `as_of`, as the period stood at the end of that day (from the history, with no change)."""
    period = at.period
    export = Export.of(request, file_format)
    describe = partial(tables.rankings, methodology=board.methodology, tz=_tz(request))
    if at.day is not None:
        async with reads() as session:
            model = await history.rankings_on(
                session, board, period, UnitLevel(level.upper()), at.day, view
            )
        return await unkept(export, model, describe)
    async with reads() as session:
        versions = await board.versions(session, period, clock.now())
        tag = export.tag(scores.etag(board, versions, period.key, level))
        if holds(request, tag):
            return _held(request, tag, export.cache_key(tag), versions.day)
        rendered = await _rendered(request).get_or_render(
            export.cache_key(tag),
            lambda: scores.rankings(session, board, period, UnitLevel(level.upper()), versions),
            export.renderer(describe),
        )
    front_cache.keep(request, tag, rendered, versions.day)
    return respond(request, rendered, tag)


@router.get(
    "/units/{code}", response_model=schemas.UnitDetail, responses={**CONDITIONAL, **FILE_RESPONSES}
)
async def unit_detail(
    request: Request,
    reads: ReadsDep,
    board: BoardDep,
    clock: ClockDep,
    unit: UnitDep,
    at: PeriodAtDep,
    file_format: FormatParam = Format.JSON,
    view: ViewParam = View.RECORDED,
) -> schemas.UnitDetail | Response:
    """A unit's (or the province's) total, groups and every indicator with its counts; with
    `as_of`, as the period stood at the end of that day (from the history, with no change)."""
    period = at.period
    export = Export.of(request, file_format)
    describe = partial(tables.unit_detail, methodology=board.methodology, tz=_tz(request))
    if at.day is not None:
        async with reads() as session:
            model = await history.unit_detail_on(session, board, unit, period, at.day, view)
        return await unkept(export, model, describe)
    async with reads() as session:
        versions = await board.versions(session, period, clock.now())
        tag = export.tag(scores.etag(board, versions, period.key, unit.code))
        if holds(request, tag):
            return _held(request, tag, export.cache_key(tag), versions.day)
        rendered = await _rendered(request).get_or_render(
            export.cache_key(tag),
            lambda: scores.unit_detail(session, board, unit, period, versions),
            export.renderer(describe),
        )
    front_cache.keep(request, tag, rendered, versions.day)
    return respond(request, rendered, tag)


def _held(request: Request, tag: str, key: str, day: date) -> Response:
    """A 304; and the front cache given the bytes of the tag, if they are kept: a wall whose
    every poll holds the tag would otherwise never let the front answer again after a move."""
    kept = _rendered(request).get(key)
    if kept is not None:
        front_cache.keep(request, tag, kept, day)
    return not_modified(tag)


def _rendered(request: Request) -> RenderedCache:
    cache: RenderedCache = request.app.state.rendered
    return cache


def _tz(request: Request) -> ZoneInfo:
    calendar: Calendar = request.app.state.calendar
    return calendar.tz


@router.get("/pipeline", response_model=schemas.Pipeline)
async def pipeline(session: SessionDep, settings: SettingsDep) -> schemas.Pipeline:
    """Where every offered event went, and how far scoring has got."""
    counts = await repository.ingest_counts(session)
    position = await scores_repository.progress(session)
    return schemas.Pipeline(
        ingest=[
            schemas.TopicCounts(
                topic=c.topic,
                offered=c.offered,
                stored=c.stored,
                dead_lettered=c.dead_lettered,
                duplicates=c.duplicates,
                balanced=c.offered == c.stored + c.dead_lettered + c.duplicates,
            )
            for c in counts
        ],
        dead_letters_stored=await repository.dead_letter_count(session),
        events_scored=position.events_applied if position else 0,
        scoring_lag_events=await repository.events_after(
            session, position.last_seq if position else 0
        ),
        scoring_as_of=position.as_of if position else None,
        units_not_in_catalogue=await repository.units_not_in_catalogue(
            session, settings.province_code
        ),
    )
