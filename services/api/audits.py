"""The lists behind every number: the dossiers, feedback or procedures an indicator counts for a
unit and period (one page of its denominator, numerator or shortfall), and a unit's overdue
dossiers.

Each list applies the rules scoring applies (`shared.rules.members`, `CatalogueRules`), at the
instant scoring's counts stand at. A page is read by keyset: candidates come from the database
in the list's order after the cursor's key, a chunk at a time, the rules keep the members of the
asked part, and reading stops once the page is full. The total is not counted from the list: it
is the kept count the list explains (its denominator, numerator, or their difference).

    cursor ──▶ candidates after its key (an index read) ──▶ rules ──▶ page full? ──▶ next_cursor
                          ▲                                              │ no
                          └──────────────── the next chunk ◀─────────────┘
"""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository, schemas
from services.api.deps import Audit, Cursor, Paging, key_parts
from services.api.scores import period_out, unit_out
from shared.errors import InvalidInput, NotFound, WrongSource
from shared.events import UnitLevel
from shared.methodology import Ratio
from shared.models import Dossier, Feedback
from shared.periods import Period, PeriodKind
from shared.rules.catalogue import CATALOGUE_INDICATORS
from shared.rules.members import (
    SUMMED_INDICATORS,
    Part,
    dossier_basis,
    dossier_member,
    feedback_basis,
    feedback_member,
    narrowing,
)
from shared.scores import repository as scores
from shared.scores.board import ScoreBoard
from shared.scores.repository import Candidate, Key, UnitRecord, key_of
from shared.workdays import WorkingCalendar

ItemT = TypeVar("ItemT", schemas.AuditItem, schemas.FeedbackAuditItem, schemas.CatalogueAuditItem)
RowT = TypeVar("RowT")

# Candidates read per round: the first round half as many again as a page asks for (most
# candidates are members of a denominator, not all: the carried-over include some finished just
# before the period), then four times more each round for a sparse part, up to this many.
MAX_CHUNK = 2_000
DOSSIER_COLUMNS = (
    Dossier.received_at,
    Dossier.dossier_code,
    Dossier.unit_code,
    Dossier.procedure_code,
    Dossier.status,
    Dossier.due_at,
    Dossier.state,
)
FEEDBACK_COLUMNS = (
    Feedback.received_at,
    Feedback.feedback_id,
    Feedback.unit_code,
    Feedback.status,
    Feedback.late,
    Feedback.state,
)


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


def _check_part(audit: Audit) -> None:
    if audit.indicator in SUMMED_INDICATORS and audit.paging.part is not Part.DENOMINATOR:
        raise InvalidInput(
            f"indicator {audit.indicator}'s numerator is a sum (of seconds), not a count of "
            "dossiers: only its denominator is listed"
        )


def _total(ratio: Ratio | None, part: Part) -> int:
    """How many members the part has: what the kept counts say."""
    if ratio is None:
        return 0
    if part is Part.NUMERATOR:
        return ratio.numerator
    if part is Part.SHORTFALL:
        return ratio.denominator - ratio.numerator
    return ratio.denominator


async def _counted(
    session: AsyncSession, board: ScoreBoard, audit: Audit, now: datetime
) -> tuple[Ratio | None, datetime | None]:
    """The count the list explains, and the instant it stands at: kept for a named period,
    computed (once per range and scoring instant) for a range of days."""
    period = audit.period
    if period.kind is PeriodKind.RANGE:
        versions = await board.versions(session, period, now)
        counts = await board.stored_counts(session, period, versions.as_of)
        return counts.indicators.get(audit.unit.code, {}).get(audit.indicator), versions.as_of
    ratio = await scores.cell(session, period.key, audit.unit.code, audit.indicator)
    return ratio, await scores.as_of(session)


def _owner(unit: UnitRecord) -> str | None:
    """Whose subjects a unit's list holds: its own, or every unit's for the province."""
    return None if unit.level == UnitLevel.PROVINCE else unit.code


class Collected(Generic[RowT]):
    """A page of members, (row, numerator) each, and whether candidates remain after it."""

    def __init__(self, members: list[tuple[RowT, int]], more: bool) -> None:
        self.members = members
        self.more = more


async def _collect(
    fetch: Callable[[Key | None, int], Awaitable[Sequence[Candidate]]],
    numerator_of: Callable[[Candidate], int | None],
    paging: Paging,
    after: Key | None,
) -> Collected[Candidate]:
    """Candidates after `after`, chunk by chunk, until the page holds `page_size` members of the
    part (past the `skip` members of a deprecated page number)."""
    wanted = paging.skip + paging.page_size
    members: list[tuple[Candidate, int]] = []
    chunk = min(MAX_CHUNK, max(wanted + wanted // 2, 16))
    while True:
        rows = await fetch(after, chunk)
        for index, row in enumerate(rows):
            numerator = numerator_of(row)
            if numerator is not None and paging.part.holds(numerator):
                members.append((row, numerator))
                if len(members) == wanted:
                    more = index + 1 < len(rows) or len(rows) == chunk
                    return Collected(members[paging.skip :], more)
        if len(rows) < chunk:
            return Collected(members[paging.skip :], False)
        after = key_of(rows[-1])
        chunk = min(MAX_CHUNK, chunk * 4)


def _received_key(paging: Paging) -> Key | None:
    if paging.after is None:
        return None
    received_at, code = key_parts(paging.after, datetime, str)
    if received_at is None or code is None:
        raise InvalidInput("cursor: not one of this list (use its own next_cursor)")
    return received_at, code


def _next(path: str, query: dict[str, str], cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return f"{path}?{urlencode({**query, 'cursor': cursor})}"


def _audit_query(audit: Audit) -> dict[str, str]:
    return {
        "period": audit.period.key,
        "part": audit.paging.part.value,
        "page_size": str(audit.paging.page_size),
    }


def _page(
    audit: Audit,
    path: str,
    as_of: datetime | None,
    total: int,
    items: list[ItemT],
    last: tuple[str | None, ...] | None,
) -> schemas.AuditPage[ItemT]:
    cursor = None if last is None else Cursor.encode(last)
    return schemas.AuditPage[ItemT](
        unit=unit_out(audit.unit),
        period=period_out(audit.period),
        indicator=audit.indicator,
        as_of=as_of,
        part=audit.paging.part.value,
        total=total,
        page=audit.paging.page,
        page_size=audit.paging.page_size,
        items=items,
        next_cursor=cursor,
        next=_next(path, _audit_query(audit), cursor),
    )


def _last_key(collected: Collected[Candidate]) -> tuple[str | None, ...] | None:
    if not collected.more or not collected.members:
        return None
    received_at, code = key_of(collected.members[-1][0])
    return (received_at.isoformat(), code)


async def dossiers(
    session: AsyncSession, board: ScoreBoard, audit: Audit, now: datetime
) -> schemas.AuditPage[schemas.AuditItem]:
    check_source(board, audit.indicator, "dossier")
    _check_part(audit)
    after = _received_key(audit.paging)
    ratio, as_of = await _counted(session, board, audit, now)
    instant = as_of or now
    period, indicator = audit.period, audit.indicator
    owner, basis = _owner(audit.unit), dossier_basis(indicator)
    narrowed = narrowing(indicator, audit.paging.part)

    async def fetch(key: Key | None, limit: int) -> Sequence[Candidate]:
        return await scores.candidates(
            session,
            DOSSIER_COLUMNS,
            Dossier,
            owner,
            basis,
            period.start,
            period.end,
            key,
            limit,
            narrowed,
        )

    collected = await _collect(
        fetch,
        lambda row: dossier_member(row.state, period, indicator, instant),
        audit.paging,
        after,
    )
    items = [
        schemas.AuditItem(
            dossier_code=row.dossier_code,
            unit_code=row.unit_code,
            procedure_code=row.procedure_code,
            status=row.status,
            received_at=row.received_at,
            due_at=row.due_at,
            in_numerator=numerator > 0,
            numerator=numerator,
        )
        for row, numerator in collected.members
    ]
    path = f"/units/{audit.unit.code}/indicators/{indicator}/dossiers"
    return _page(
        audit, path, instant, _total(ratio, audit.paging.part), items, _last_key(collected)
    )


async def feedback(
    session: AsyncSession,
    board: ScoreBoard,
    audit: Audit,
    workdays: WorkingCalendar,
    now: datetime,
) -> schemas.AuditPage[schemas.FeedbackAuditItem]:
    check_source(board, audit.indicator, "feedback")
    after = _received_key(audit.paging)
    ratio, as_of = await _counted(session, board, audit, now)
    instant = as_of or now
    period, indicator = audit.period, audit.indicator
    owner, basis = _owner(audit.unit), feedback_basis(indicator)

    async def fetch(key: Key | None, limit: int) -> Sequence[Candidate]:
        return await scores.candidates(
            session, FEEDBACK_COLUMNS, Feedback, owner, basis, period.start, period.end, key, limit
        )

    collected = await _collect(
        fetch,
        lambda row: feedback_member(row.state, period, indicator, instant, workdays),
        audit.paging,
        after,
    )
    items = [
        schemas.FeedbackAuditItem(
            feedback_id=row.feedback_id,
            unit_code=row.unit_code,
            status=row.status,
            received_at=row.received_at,
            late=row.late,
            in_numerator=numerator > 0,
        )
        for row, numerator in collected.members
    ]
    path = f"/units/{audit.unit.code}/indicators/{indicator}/feedback"
    return _page(
        audit, path, instant, _total(ratio, audit.paging.part), items, _last_key(collected)
    )


async def catalogue(
    session: AsyncSession, board: ScoreBoard, audit: Audit, now: datetime
) -> schemas.AuditPage[schemas.CatalogueAuditItem]:
    """The procedures (communes, for 4.6) counted in a catalogue indicator, with the reason each
    is or is not in the numerator. The province lists its units' members, unit by unit.

    These come from the catalogue in memory (a few thousand procedures), not from the database:
    the list is computed once per version (`ScoreBoard.catalogue_members`), in (unit, code)
    order, and a cursor is found in it by bisection."""
    check_source(board, audit.indicator, "catalog")
    paging = audit.paging
    after = None if paging.after is None else tuple(key_parts(paging.after, str, str))
    members = [
        (owner, member)
        for owner, member in await board.catalogue_members(
            session, audit.indicator, audit.unit.code, audit.period, now
        )
        if paging.part.holds(int(member.counted))
    ]
    keys = [(owner, member.code) for owner, member in members]
    first = paging.skip if after is None else bisect.bisect_right(keys, after)
    shown = members[first : first + paging.page_size]
    more = first + paging.page_size < len(members)
    items = [
        schemas.CatalogueAuditItem(
            unit_code=owner,
            code=member.code,
            name=member.name,
            in_numerator=member.counted,
            reason=member.reason,
        )
        for owner, member in shown
    ]
    last = (shown[-1][0], shown[-1][1].code) if more and shown else None
    path = f"/units/{audit.unit.code}/indicators/{audit.indicator}/catalogue"
    return _page(audit, path, None, len(members), items, last)


async def overdue(
    session: AsyncSession,
    unit: UnitRecord,
    period: Period | None,
    paging: Paging,
    now: datetime,
) -> schemas.OverduePage:
    """Dossiers overdue or in progress past their due date, most overdue first."""
    after = None
    if paging.after is not None:
        due, code = key_parts(paging.after, datetime, str)
        if code is None:
            raise InvalidInput("cursor: not one of this list (use its own next_cursor)")
        after = (due, code)
    total, rows = await repository.overdue_page(
        session,
        unit.code,
        active_from=period.start if period else None,
        active_before=period.end if period else None,
        after=after,
        limit=paging.page_size + 1,
        offset=paging.skip,
    )
    more, rows = len(rows) > paging.page_size, rows[: paging.page_size]
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
    cursor = None
    if more and rows:
        last = rows[-1]
        due_at = last.effective_due_at.isoformat() if last.effective_due_at else None
        cursor = Cursor.encode((due_at, last.dossier_code))
    query = {"page_size": str(paging.page_size)} | ({"period": period.key} if period else {})
    return schemas.OverduePage(
        unit=unit_out(unit),
        period=period_out(period) if period else None,
        total=total,
        page=paging.page,
        page_size=paging.page_size,
        items=items,
        next_cursor=cursor,
        next=_next(f"/units/{unit.code}/overdue", query, cursor),
    )
