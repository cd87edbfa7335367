"""HTTP routes. Every read answers a matching `If-None-Match` with 304 before doing any work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import orjson
import structlog
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository, schemas
from services.api.auth import Scope, require
from services.api.publisher import PublishError, Record
from services.api.repository import PROCESSING_BASED, RECEIPT_BASED, UnitRecord
from services.api.service import (
    Ranked,
    ScoreBoard,
    Standing,
    Versions,
    counted_in,
    feedback_counted_in,
)
from shared.clock import Clock
from shared.events import Refusal, event_subject, parse_record
from shared.methodology import Methodology
from shared.models import ApiKey
from shared.periods import Calendar, Period, PeriodError
from shared.rules.catalogue import CATALOGUE_INDICATORS, PROVINCIAL_INDICATORS, Member
from shared.rules.contributions import ON_TIME, PROCESSING_TIME, SATISFACTION
from shared.rules.feedback import ON_TIME as FEEDBACK_ON_TIME

log = structlog.get_logger()
# Reads: public, or keyed with the scope `read` when the deployment says so (API_READ_KEY_REQUIRED).
router = APIRouter()
# Writes: always keyed, each route with its own scope.
admin_router = APIRouter(tags=["admin"])
T = TypeVar("T")
PROCESSING_INDICATORS = frozenset({ON_TIME, PROCESSING_TIME, SATISFACTION})

ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": schemas.ErrorOut},
    422: {"description": "Invalid parameters"},
}


async def get_session(request: Request) -> AsyncSession:  # type: ignore[misc]
    async with request.app.state.sessions() as session:
        yield session


MethodologyParam = Annotated[
    str | None,
    Query(
        description="A methodology version to score with (default: the configured one)",
        examples=["qd766-portal-2026"],
        max_length=64,
    ),
]


def _methodology(request: Request, version: str | None) -> Methodology:
    try:
        methodology: Methodology = request.app.state.methodologies.get(version)
    except LookupError as error:
        raise HTTPException(422, str(error)) from None
    return methodology


def get_board(request: Request, methodology: MethodologyParam = None) -> ScoreBoard:
    """Scores under the chosen methodology: the same counts, other points."""
    board: ScoreBoard = request.app.state.boards[_methodology(request, methodology).version]
    return board


def get_calendar(request: Request) -> Calendar:
    calendar: Calendar = request.app.state.calendar
    return calendar


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


SessionDep = Annotated[AsyncSession, Depends(get_session)]
BoardDep = Annotated[ScoreBoard, Depends(get_board)]
CalendarDep = Annotated[Calendar, Depends(get_calendar)]
ClockDep = Annotated[Clock, Depends(get_clock)]
PeriodParam = Annotated[
    str,
    Query(
        description="week, month, quarter, half or year for the current one, a key: "
        "2026-W48, 2026-11, 2026-Q4, 2026-H2, 2026, or a range of days (at most 366; computed "
        "when asked, so poll the named periods): 2026-11-03..2026-11-17",
        examples=["week", "2026-W48", "2026-11-03..2026-11-17"],
        max_length=32,
    ),
]


@dataclass(frozen=True, slots=True)
class AuditPaging:
    """Which part of an indicator's members an audit lists, and which page of it."""

    part: Literal["denominator", "numerator"]
    page: int
    page_size: int

    def select(self, members: list[T], counted: Callable[[T], bool]) -> tuple[int, list[T]]:
        """How many members are in the part, and the requested page of them."""
        if self.part == "numerator":
            members = [member for member in members if counted(member)]
        start = (self.page - 1) * self.page_size
        return len(members), members[start : start + self.page_size]


def get_paging(
    part: Annotated[Literal["denominator", "numerator"], Query()] = "denominator",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPaging:
    return AuditPaging(part, page, page_size)


PagingDep = Annotated[AuditPaging, Depends(get_paging)]


def _period(calendar: Calendar, clock: Clock, name: str) -> Period:
    try:
        return calendar.resolve(name, clock.now())
    except PeriodError as error:
        raise HTTPException(422, str(error)) from None


def _period_out(period: Period, restated_at: datetime | None = None) -> schemas.PeriodOut:
    return schemas.PeriodOut(
        key=period.key,
        kind=period.kind.value,
        start=period.start,
        end=period.end,
        restated_at=restated_at,
    )


def _change(current: Ranked, before: Ranked | None, previous: Standing) -> schemas.Change | None:
    if before is None or not previous.has_data:
        return None
    return schemas.Change(
        previous_period=previous.period.key,
        previous_total=float(before.score.total),
        previous_rank=before.rank if current.unit.level != "PROVINCE" else None,
        total=float(current.score.total - before.score.total),
        rank=before.rank - current.rank if current.unit.level != "PROVINCE" else None,
    )


async def _standings(
    session: AsyncSession,
    board: ScoreBoard,
    calendar: Calendar,
    period: Period,
    versions: Versions,
) -> tuple[Standing, Standing]:
    return (
        await board.standing(session, period, versions.current, versions),
        await board.standing(session, calendar.preceding(period), versions.previous, versions),
    )


def _unit_out(unit: UnitRecord) -> schemas.UnitOut:
    return schemas.UnitOut(code=unit.code, name=unit.name, level=unit.level)


def _not_modified(request: Request, response: Response, etag: str) -> Response | None:
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache"
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    return None


async def _as_of(session: AsyncSession) -> datetime | None:
    position = await repository.scoring_position(session)
    return position.as_of if position else None


@router.get("/methodology", responses=ERRORS)
async def methodology(request: Request, version: MethodologyParam = None) -> Methodology:
    """Groups and indicators with their points and rules, as data."""
    return _methodology(request, version)


@router.get(
    "/rankings",
    response_model=schemas.Rankings,
    responses={**ERRORS, 304: {"description": "Not modified since the ETag given"}},
)
async def rankings(
    request: Request,
    response: Response,
    session: SessionDep,
    board: BoardDep,
    calendar: CalendarDep,
    clock: ClockDep,
    level: Annotated[Literal["department", "commune"], Query()] = "department",
    period: PeriodParam = "month",
) -> schemas.Rankings | Response:
    """Departments or communes ranked by total score for a period, with group points."""
    resolved = _period(calendar, clock, period)
    versions = await board.versions(session, calendar, resolved, clock.now())
    if early := _not_modified(request, response, board.etag(versions, resolved.key, level)):
        return early
    current, previous = await _standings(session, board, calendar, resolved, versions)
    units = await repository.units(session, level.upper())
    before = {r.unit.code: r for r in board.rank(previous.scores, units)}
    return schemas.Rankings(
        period=_period_out(current.period, current.state.restated_at),
        level=level,
        methodology=board.methodology.version,
        as_of=await _as_of(session),
        items=[
            schemas.RankingItem(
                rank=ranked.rank,
                unit=_unit_out(ranked.unit),
                total=float(ranked.score.total),
                groups={g.code: float(g.points) for g in ranked.score.groups},
                change=_change(ranked, before.get(ranked.unit.code), previous),
            )
            for ranked in board.rank(current.scores, units)
        ],
    )


def _source_indicator(board: ScoreBoard, indicator_id: str, source: str) -> None:
    """404 for an unknown indicator, 422 for one counted from other data than `source`."""
    try:
        indicator = board.methodology.indicator(indicator_id)
    except KeyError:
        raise HTTPException(404, f"unknown indicator {indicator_id!r}") from None
    if indicator.source != source:
        raise HTTPException(
            422, f"indicator {indicator_id} is counted from {indicator.source} data, not {source}"
        )


async def _known_unit(session: AsyncSession, code: str) -> UnitRecord:
    unit = await repository.unit(session, code)
    if unit is None:
        raise HTTPException(404, f"unknown unit {code!r}")
    return unit


@router.get(
    "/units/{code}",
    response_model=schemas.UnitDetail,
    responses={**ERRORS, 304: {"description": "Not modified since the ETag given"}},
)
async def unit_detail(
    code: str,
    request: Request,
    response: Response,
    session: SessionDep,
    board: BoardDep,
    calendar: CalendarDep,
    clock: ClockDep,
    period: PeriodParam = "month",
) -> schemas.UnitDetail | Response:
    """A unit's (or the province's) total, groups and every indicator with its counts."""
    resolved = _period(calendar, clock, period)
    unit = await _known_unit(session, code)
    versions = await board.versions(session, calendar, resolved, clock.now())
    if early := _not_modified(request, response, board.etag(versions, resolved.key, code)):
        return early
    current, previous = await _standings(session, board, calendar, resolved, versions)
    # Ranked among the units of its level; the province is alone at its level.
    peers = await repository.units(session, unit.level) if unit.level else [unit]
    now = next(r for r in board.rank(current.scores, peers) if r.unit.code == code)
    then = next(r for r in board.rank(previous.scores, peers) if r.unit.code == code)
    unit_score = now.score
    return schemas.UnitDetail(
        unit=_unit_out(unit),
        period=_period_out(resolved, current.state.restated_at),
        methodology=board.methodology.version,
        as_of=await _as_of(session),
        total=float(unit_score.total),
        rank=now.rank if unit.level in {"DEPARTMENT", "COMMUNE"} else None,
        change=_change(now, then, previous),
        groups=[
            schemas.GroupOut(
                code=g.code, title=g.title, points=float(g.points), max_points=float(g.max_points)
            )
            for g in unit_score.groups
        ],
        indicators=[
            schemas.IndicatorOut(
                id=i.id,
                group=i.group,
                title=i.title,
                numerator=i.numerator,
                denominator=i.denominator,
                rate=None if i.rate is None else float(i.rate),
                points=float(i.points),
                max_points=float(i.max_points),
                scored=i.scored,
                dossiers=(
                    f"/units/{code}/indicators/{i.id}/dossiers?period={resolved.key}"
                    if board.methodology.indicator(i.id).source == "dossier"
                    else None
                ),
                catalogue=(
                    f"/units/{code}/indicators/{i.id}/catalogue?period={resolved.key}"
                    if i.id in CATALOGUE_INDICATORS
                    else None
                ),
                feedback=(
                    f"/units/{code}/indicators/{i.id}/feedback?period={resolved.key}"
                    if board.methodology.indicator(i.id).source == "feedback"
                    else None
                ),
            )
            for i in unit_score.indicators
        ],
    )


@router.get(
    "/units/{code}/overdue",
    response_model=schemas.OverduePage,
    responses={**ERRORS, 304: {"description": "Not modified since the ETag given"}},
)
async def unit_overdue(
    code: str,
    request: Request,
    response: Response,
    session: SessionDep,
    calendar: CalendarDep,
    clock: ClockDep,
    period: Annotated[
        str | None,
        Query(description="Only dossiers still being processed in this period", max_length=32),
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> schemas.OverduePage | Response:
    """Dossiers overdue or in progress past their due date, most overdue first."""
    unit = await _known_unit(session, code)
    resolved = _period(calendar, clock, period) if period else None
    now = clock.now()
    position = await repository.scoring_position(session)
    # overdue_by is given to the minute, so a poll within the same minute can get a 304.
    stamp = f"{position.events_applied}.{position.as_of.timestamp()}" if position else "0"
    etag = f'W/"overdue.{code}.{period}.{page}.{page_size}.{stamp}.{int(now.timestamp() // 60)}"'
    if early := _not_modified(request, response, etag):
        return early
    total, dossiers = await repository.overdue_page(
        session,
        code,
        active_from=resolved.start if resolved else None,
        active_before=resolved.end if resolved else None,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    minute_now = now.replace(second=0, microsecond=0)
    items = []
    for dossier in dossiers:
        overdue_by = 0.0
        if dossier.effective_due_at is not None:
            stopped = dossier.clock_stopped_at or minute_now
            overdue_by = max(0.0, (stopped - dossier.effective_due_at).total_seconds())
        items.append(
            schemas.OverdueItem(
                dossier_code=dossier.dossier_code,
                procedure_code=dossier.procedure_code,
                status=dossier.status,
                outcome=dossier.outcome,
                reason=dossier.overdue_reason,
                received_at=dossier.received_at,
                due_at=dossier.due_at,
                overdue_by=round(overdue_by),
            )
        )
    return schemas.OverduePage(
        unit=_unit_out(unit),
        period=_period_out(resolved) if resolved else None,
        total=total,
        page=page,
        page_size=page_size,
        items=items,
    )


@router.get(
    "/units/{code}/indicators/{indicator_id}/dossiers",
    response_model=schemas.AuditPage,
    responses=ERRORS,
)
async def indicator_dossiers(
    code: str,
    indicator_id: str,
    session: SessionDep,
    board: BoardDep,
    calendar: CalendarDep,
    clock: ClockDep,
    paging: PagingDep,
    period: PeriodParam = "month",
) -> schemas.AuditPage:
    """The dossiers counted in an indicator's denominator (or numerator) for a unit and period."""
    unit = await _known_unit(session, code)
    _source_indicator(board, indicator_id, "dossier")
    resolved = _period(calendar, clock, period)
    as_of = await _as_of(session) or clock.now()
    basis = PROCESSING_BASED if indicator_id in PROCESSING_INDICATORS else RECEIPT_BASED
    candidates = await repository.audit_candidates(
        session,
        None if unit.level == "PROVINCE" else code,
        basis,
        resolved.start,
        resolved.end,
    )
    members = counted_in(candidates, resolved, indicator_id, as_of)
    total, shown = paging.select(members, lambda member: member[1] > 0)
    return schemas.AuditPage(
        unit=_unit_out(unit),
        period=_period_out(resolved),
        indicator=indicator_id,
        as_of=as_of,
        part=paging.part,
        total=total,
        page=paging.page,
        page_size=paging.page_size,
        items=[
            schemas.AuditItem(
                dossier_code=dossier.dossier_code,
                unit_code=dossier.unit_code,
                procedure_code=dossier.procedure_code,
                status=dossier.status,
                received_at=dossier.received_at,
                due_at=dossier.due_at,
                in_numerator=value > 0,
                numerator=value,
            )
            for dossier, value in shown
        ],
    )


@router.get(
    "/units/{code}/indicators/{indicator_id}/feedback",
    response_model=schemas.FeedbackAuditPage,
    responses=ERRORS,
)
async def indicator_feedback(
    code: str,
    indicator_id: str,
    request: Request,
    session: SessionDep,
    board: BoardDep,
    calendar: CalendarDep,
    clock: ClockDep,
    paging: PagingDep,
    period: PeriodParam = "month",
) -> schemas.FeedbackAuditPage:
    """The citizens' feedback (PAKN) counted in 5.1, 5.2 or 5.3 for a unit and period."""
    unit = await _known_unit(session, code)
    _source_indicator(board, indicator_id, "feedback")
    resolved = _period(calendar, clock, period)
    as_of = await _as_of(session) or clock.now()
    candidates = await repository.feedback_candidates(
        session,
        None if unit.level == "PROVINCE" else code,
        # 5.2 counts feedback still open in the period, whenever it was received.
        None if indicator_id == FEEDBACK_ON_TIME else resolved.start,
        resolved.end,
    )
    workdays = request.app.state.workdays
    members = feedback_counted_in(candidates, resolved, indicator_id, as_of, workdays)
    total, shown = paging.select(members, lambda member: member[1] > 0)
    return schemas.FeedbackAuditPage(
        unit=_unit_out(unit),
        period=_period_out(resolved),
        indicator=indicator_id,
        as_of=as_of,
        part=paging.part,
        total=total,
        page=paging.page,
        page_size=paging.page_size,
        items=[
            schemas.FeedbackAuditItem(
                feedback_id=item.feedback_id,
                unit_code=item.unit_code,
                status=item.status,
                received_at=item.received_at,
                late=item.late,
                in_numerator=value > 0,
            )
            for item, value in shown
        ],
    )


@router.get(
    "/units/{code}/indicators/{indicator_id}/catalogue",
    response_model=schemas.CatalogueAuditPage,
    responses=ERRORS,
)
async def indicator_catalogue(
    code: str,
    indicator_id: str,
    session: SessionDep,
    board: BoardDep,
    calendar: CalendarDep,
    clock: ClockDep,
    paging: PagingDep,
    period: PeriodParam = "month",
) -> schemas.CatalogueAuditPage:
    """The procedures (communes, for 4.6) counted in a catalogue indicator, with the reason each
    one is or is not in the numerator. The province lists its units' members, unit by unit."""
    unit = await _known_unit(session, code)
    if indicator_id not in CATALOGUE_INDICATORS:
        raise HTTPException(
            404 if indicator_id not in {i.id for i in board.methodology.indicators} else 422,
            f"indicator {indicator_id!r} is not counted from the catalogue",
        )
    resolved = _period(calendar, clock, period)
    now = clock.now()
    versions = await board.versions(session, calendar, resolved, now)
    rules = await board.catalogue.rules(session, versions.catalogue)
    activity = (await board.stored_counts(session, resolved)).activity
    province = board.province_code
    members: list[tuple[str, Member]]
    if indicator_id in PROVINCIAL_INDICATORS or unit.code != province:
        members = [
            (unit.code, member)
            for member in rules.members(
                indicator_id, unit.code, activity.get(unit.code, {}), resolved, now, province
            )
        ]
    else:
        members = [
            (each.code, member)
            for each in rules.catalogue.scored_units()
            for member in rules.unit_members(indicator_id, each, activity.get(each.code, {}))
        ]
    total, shown = paging.select(members, lambda pair: pair[1].counted)
    return schemas.CatalogueAuditPage(
        unit=_unit_out(unit),
        period=_period_out(resolved),
        indicator=indicator_id,
        part=paging.part,
        total=total,
        page=paging.page,
        page_size=paging.page_size,
        items=[
            schemas.CatalogueAuditItem(
                unit_code=owner,
                code=member.code,
                name=member.name,
                in_numerator=member.counted,
                reason=member.reason,
            )
            for owner, member in shown
        ],
    )


MAX_CATALOGUE_EVENTS = 5000


@admin_router.post(
    "/admin/catalogue",
    status_code=202,
    response_model=schemas.CatalogueAccepted,
    responses={
        401: {"model": schemas.ErrorOut, "description": "No valid API key"},
        403: {"model": schemas.ErrorOut, "description": "The key lacks catalogue:write"},
        422: {"description": "Some events are not valid: none was sent"},
        503: {"model": schemas.ErrorOut, "description": "The broker did not take them"},
    },
)
async def admin_catalogue(
    request: Request,
    key: Annotated[ApiKey, Depends(require(Scope.CATALOGUE_WRITE))],
    events: Annotated[
        list[dict[str, Any]],
        Body(
            min_length=1,
            max_length=MAX_CATALOGUE_EVENTS,
            description="Catalogue events (UNIT, PROCEDURE, PUBLICATION) in the contract format.",
            examples=[[schemas.PROCEDURE_EXAMPLE]],
        ),
    ],
) -> schemas.CatalogueAccepted:
    """Send catalogue events to `catalog.events`, all or none: ingest stores them and scoring
    applies them like any other catalogue event (the latest `occurred_at` wins)."""
    records: list[Record] = []
    errors: list[dict[str, object]] = []
    for index, event in enumerate(events):
        try:
            value = orjson.dumps(event)
        except orjson.JSONEncodeError as error:  # e.g. a lone surrogate in a string
            errors.append({"index": index, "reason": f"not encodable as UTF-8 JSON: {error}"})
            continue
        parsed = parse_record(value, topic="catalog")
        if isinstance(parsed, Refusal):
            errors.append({"index": index, "reason": parsed.reason})
        else:
            records.append(Record(event_subject(parsed).encode(), value))
    if errors:
        raise HTTPException(422, {"message": "no event was sent", "errors": errors})
    settings = request.app.state.settings
    try:
        await request.app.state.publisher.publish(settings.topic_catalog_events, records)
    except PublishError as error:
        raise HTTPException(503, str(error)) from None
    log.info("api.catalogue_accepted", events=len(records), key_id=key.key_id)
    return schemas.CatalogueAccepted(accepted=len(records), topic=settings.topic_catalog_events)


@router.get("/pipeline", response_model=schemas.Pipeline)
async def pipeline(request: Request, session: SessionDep) -> schemas.Pipeline:
    """Where every offered event went, and how far scoring has got."""
    counts = await repository.ingest_counts(session)
    position = await repository.scoring_position(session)
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
            session, request.app.state.settings.province_code
        ),
    )
