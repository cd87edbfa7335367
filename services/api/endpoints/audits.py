"""The lists behind the numbers: an indicator's dossiers, feedback or procedures, and a unit's
overdue dossiers."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api import audits, schemas
from services.api.deps import (
    AuditDep,
    BoardDep,
    ClockDep,
    CursorParam,
    PageParam,
    PageSizeParam,
    PeriodIfGivenDep,
    SessionDep,
    UnitDep,
    WorkdaysDep,
    paging,
)
from services.api.endpoints.scores import CONDITIONAL, ERRORS
from services.api.rendered import conditional_headers, holds, not_modified
from shared.rules.members import Part
from shared.scores import repository as scores_repository

router = APIRouter(tags=["audits"])


@router.get("/units/{code}/overdue", response_model=schemas.OverduePage, responses=CONDITIONAL)
async def unit_overdue(
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    unit: UnitDep,
    period: PeriodIfGivenDep,
    cursor: CursorParam = None,
    page: PageParam = None,
    page_size: PageSizeParam = 50,
) -> schemas.OverduePage | Response:
    """Dossiers overdue or in progress past their due date, most overdue first; the next page
    from `next_cursor`."""
    now = clock.now()
    listed = paging(Part.DENOMINATOR, page_size, cursor, page)
    position = await scores_repository.progress(session)
    # overdue_by is given to the minute, so a poll within the same minute can get a 304.
    stamp = f"{position.events_applied}.{position.as_of.timestamp()}" if position else "0"
    key = period.key if period else None
    where = cursor or page or 1
    tag = f'W/"overdue.{unit.code}.{key}.{where}.{page_size}.{stamp}.{int(now.timestamp() // 60)}"'
    if holds(request, tag):
        return not_modified(tag)
    response.headers.update(conditional_headers(tag))
    return await audits.overdue(session, unit, period, listed, now)


@router.get(
    "/units/{code}/indicators/{indicator_id}/dossiers",
    response_model=schemas.AuditPage[schemas.AuditItem],
    responses=ERRORS,
)
async def indicator_dossiers(
    session: SessionDep, board: BoardDep, clock: ClockDep, audit: AuditDep
) -> schemas.AuditPage[schemas.AuditItem]:
    """The dossiers counted in an indicator's denominator (or numerator, or shortfall) for a unit
    and period; the next page from `next_cursor`."""
    return await audits.dossiers(session, board, audit, clock.now())


@router.get(
    "/units/{code}/indicators/{indicator_id}/feedback",
    response_model=schemas.AuditPage[schemas.FeedbackAuditItem],
    responses=ERRORS,
)
async def indicator_feedback(
    session: SessionDep, board: BoardDep, clock: ClockDep, workdays: WorkdaysDep, audit: AuditDep
) -> schemas.AuditPage[schemas.FeedbackAuditItem]:
    """The citizens' feedback (PAKN) counted in 5.1, 5.2 or 5.3 for a unit and period."""
    return await audits.feedback(session, board, audit, workdays, clock.now())


@router.get(
    "/units/{code}/indicators/{indicator_id}/catalogue",
    response_model=schemas.AuditPage[schemas.CatalogueAuditItem],
    responses=ERRORS,
)
async def indicator_catalogue(
    session: SessionDep, board: BoardDep, clock: ClockDep, audit: AuditDep
) -> schemas.AuditPage[schemas.CatalogueAuditItem]:
    """The procedures (communes, for 4.6) counted in a catalogue indicator, with the reason each
    one is or is not in the numerator. The province lists its units' members, unit by unit."""
    return await audits.catalogue(session, board, audit, clock.now())
