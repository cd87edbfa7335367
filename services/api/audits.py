"""The lists behind every number: the dossiers, feedback or procedures an indicator counts for a
unit and period (one page of its denominator or numerator), and a unit's overdue dossiers.

Each list applies the rules scoring applies (`shared.rules.members`, `CatalogueRules`), at the
instant scoring's counts stand at, so a list's total is the number it explains.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository, schemas
from services.api.deps import Audit
from services.api.scores import period_out, unit_out
from shared.errors import NotFound, WrongSource
from shared.events import UnitLevel
from shared.models import Dossier, Feedback
from shared.periods import Period
from shared.rules.catalogue import CATALOGUE_INDICATORS, Member
from shared.rules.members import (
    dossier_basis,
    dossier_members,
    feedback_members,
    feedback_received_from,
)
from shared.scores import repository as scores
from shared.scores.board import ScoreBoard
from shared.scores.repository import UnitRecord
from shared.workdays import WorkingCalendar

ItemT = TypeVar("ItemT", schemas.AuditItem, schemas.FeedbackAuditItem, schemas.CatalogueAuditItem)
MemberT = TypeVar("MemberT")


def check_source(board: ScoreBoard, indicator_id: str, source: str) -> None:
    """404 for an unknown indicator, 422 for one counted from other data than `source`."""
    try:
        indicator = board.methodology.indicator(indicator_id)
    except KeyError:
        raise NotFound(f"unknown indicator {indicator_id!r}") from None
    counted_from = "catalog" if indicator_id in CATALOGUE_INDICATORS else indicator.source
    if counted_from == source:
        return
    if source == "catalog":
        raise WrongSource(f"indicator {indicator_id!r} is not counted from the catalogue")
    raise WrongSource(
        f"indicator {indicator_id} is counted from {indicator.source} data, not {source}"
    )


def _page(
    audit: Audit,
    as_of: datetime | None,
    members: list[MemberT],
    item: Callable[[MemberT], ItemT],
    counted: Callable[[MemberT], bool],
) -> schemas.AuditPage[ItemT]:
    total, shown = audit.paging.select(members, counted)
    return schemas.AuditPage[ItemT](
        unit=unit_out(audit.unit),
        period=period_out(audit.period),
        indicator=audit.indicator,
        as_of=as_of,
        part=audit.paging.part,
        total=total,
        page=audit.paging.page,
        page_size=audit.paging.page_size,
        items=[item(member) for member in shown],
    )


def _adds_to_numerator(member: tuple[object, int]) -> bool:
    return member[1] > 0


def _owner(unit: UnitRecord) -> str | None:
    """Whose dossiers a unit's list holds: its own, or every unit's for the province."""
    return None if unit.level == UnitLevel.PROVINCE else unit.code


async def dossiers(
    session: AsyncSession, board: ScoreBoard, audit: Audit, now: datetime
) -> schemas.AuditPage[schemas.AuditItem]:
    check_source(board, audit.indicator, "dossier")
    period = audit.period
    as_of = await scores.as_of(session) or now
    candidates = await scores.dossiers_in(
        session, _owner(audit.unit), dossier_basis(audit.indicator), period.start, period.end
    )
    members = dossier_members(((d, d.state) for d in candidates), period, audit.indicator, as_of)

    def item(member: tuple[Dossier, int]) -> schemas.AuditItem:
        dossier, numerator = member
        return schemas.AuditItem(
            dossier_code=dossier.dossier_code,
            unit_code=dossier.unit_code,
            procedure_code=dossier.procedure_code,
            status=dossier.status,
            received_at=dossier.received_at,
            due_at=dossier.due_at,
            in_numerator=numerator > 0,
            numerator=numerator,
        )

    return _page(audit, as_of, members, item, _adds_to_numerator)


async def feedback(
    session: AsyncSession,
    board: ScoreBoard,
    audit: Audit,
    workdays: WorkingCalendar,
    now: datetime,
) -> schemas.AuditPage[schemas.FeedbackAuditItem]:
    check_source(board, audit.indicator, "feedback")
    period = audit.period
    as_of = await scores.as_of(session) or now
    received_from = feedback_received_from(audit.indicator, period)
    candidates = await scores.feedback_in(session, _owner(audit.unit), received_from, period.end)
    members = feedback_members(
        ((f, f.state) for f in candidates), period, audit.indicator, as_of, workdays
    )

    def item(member: tuple[Feedback, int]) -> schemas.FeedbackAuditItem:
        one, numerator = member
        return schemas.FeedbackAuditItem(
            feedback_id=one.feedback_id,
            unit_code=one.unit_code,
            status=one.status,
            received_at=one.received_at,
            late=one.late,
            in_numerator=numerator > 0,
        )

    return _page(audit, as_of, members, item, _adds_to_numerator)


async def catalogue(
    session: AsyncSession, board: ScoreBoard, audit: Audit, now: datetime
) -> schemas.AuditPage[schemas.CatalogueAuditItem]:
    """The procedures (communes, for 4.6) counted in a catalogue indicator, with the reason each
    is or is not in the numerator. The province lists its units' members, unit by unit."""
    check_source(board, audit.indicator, "catalog")
    versions = await board.versions(session, audit.period, now)
    rules = await board.catalogue.rules(session, versions.catalogue)
    activity = (await board.stored_counts(session, audit.period, versions.as_of)).activity
    members = rules.members_by_unit(
        audit.indicator, audit.unit.code, activity, audit.period, now, board.province_code
    )

    def item(pair: tuple[str, Member]) -> schemas.CatalogueAuditItem:
        owner, member = pair
        return schemas.CatalogueAuditItem(
            unit_code=owner,
            code=member.code,
            name=member.name,
            in_numerator=member.counted,
            reason=member.reason,
        )

    return _page(audit, None, members, item, lambda pair: pair[1].counted)


async def overdue(
    session: AsyncSession,
    unit: UnitRecord,
    period: Period | None,
    page: int,
    page_size: int,
    now: datetime,
) -> schemas.OverduePage:
    """Dossiers overdue or in progress past their due date, most overdue first."""
    total, rows = await repository.overdue_page(
        session,
        unit.code,
        active_from=period.start if period else None,
        active_before=period.end if period else None,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    # To the minute, so that a poll within the same minute can get a 304.
    minute = now.replace(second=0, microsecond=0)
    items = []
    for dossier in rows:
        overdue_by = 0.0
        if dossier.effective_due_at is not None:
            stopped = dossier.clock_stopped_at or minute
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
        unit=unit_out(unit),
        period=period_out(period) if period else None,
        total=total,
        page=page,
        page_size=page_size,
        items=items,
    )
