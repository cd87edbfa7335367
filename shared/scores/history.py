"""The history as kept by scoring: a period's counts at the end of a closed local day, summed
over the scoring partitions, as recorded then or restated by the late events applied since.

`recorded` is what the day's end showed (what the office saw, and the default); `restated` adds
what events that occurred before the day's end but were applied after it changed (within
scoring's restatement window), and says when. Points follow from the counts with any
methodology at read time, like the live scores (`board.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import driver_connection
from shared.errors import InvalidInput, PeriodError
from shared.models import HistoryDay, ScoringPosition
from shared.periods import Calendar, Period, PeriodKind
from shared.scores.repository import PeriodCounts, split_counts


class View(StrEnum):
    RECORDED = "recorded"
    RESTATED = "restated"


class DayNotClosed(InvalidInput):
    """A day the history does not hold (yet)."""


@dataclass(frozen=True, slots=True)
class DayCounts:
    day: date
    counts: PeriodCounts
    # The last time a late event restated the day (in the restated view's counts or not).
    restated_at: datetime | None


async def _partitions(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(ScoringPosition)
        .where(ScoringPosition.name.like("partition:%"))
    )
    return int(count or 0)


def _closed_by_all(partitions: int) -> Select[date]:
    return select(HistoryDay.day).group_by(HistoryDay.day).having(func.count() >= partitions)


async def latest_closed_day(session: AsyncSession) -> date | None:
    """The newest day every scoring partition has closed (None before the first)."""
    partitions = await _partitions(session)
    if not partitions:
        return None
    day: date | None = await session.scalar(
        _closed_by_all(partitions).order_by(HistoryDay.day.desc()).limit(1)
    )
    return day


async def first_closed_day(session: AsyncSession) -> date | None:
    """The oldest day every scoring partition has closed: where the history begins."""
    partitions = await _partitions(session)
    if not partitions:
        return None
    day: date | None = await session.scalar(
        _closed_by_all(partitions).order_by(HistoryDay.day).limit(1)
    )
    return day


async def require_closed(session: AsyncSession, days: Sequence[date]) -> None:
    """Refuse a day the history does not hold: not ended, or before the history began."""
    partitions = await _partitions(session)
    held = set(
        await session.scalars(_closed_by_all(partitions).where(HistoryDay.day.in_(list(days))))
    )
    missing = sorted(set(days) - held)
    if not missing:
        return
    first = await session.scalar(_closed_by_all(partitions).order_by(HistoryDay.day).limit(1))
    latest = await latest_closed_day(session)
    kept = "no day yet" if first is None else f"the days {first} to {latest}"
    raise DayNotClosed(
        f"{missing[0]} is not in the history: it holds {kept}, each kept once the day has ended"
    )


_RECORDED = """
SELECT h.day, h.unit_code, c.key, sum((c.value->>0)::bigint), sum((c.value->>1)::bigint)
FROM score_history h, jsonb_each(h.counts) c
WHERE h.period_key = $1 AND h.day = ANY($2::date[]) {units}
GROUP BY h.day, h.unit_code, c.key
"""
_RESTATED = """
SELECT r.day, r.unit_code, c.key, sum((c.value->>0)::bigint), sum((c.value->>1)::bigint)
FROM history_restatements r, jsonb_each(r.counts) c
WHERE r.period_key = $1 AND r.day = ANY($2::date[]) {units}
GROUP BY r.day, r.unit_code, c.key
"""
_RESTATED_AT = """
SELECT day, max(restated_at) FROM history_restatements
WHERE period_key = $1 AND day = ANY($2::date[]) GROUP BY day
"""


async def day_counts(
    session: AsyncSession,
    period_key: str,
    days: Sequence[date],
    view: View,
    units: Sequence[str] | None = None,
) -> dict[date, DayCounts]:
    """The period's counts at the end of each of `days` (of every unit, or of `units`)."""
    connection = await driver_connection(session)
    args: list[object] = [period_key, list(days)]
    where = ""
    if units is not None:
        args.append(list(units))
        where = "AND unit_code = ANY($3::text[])"
    cells: dict[tuple[date, str, str], list[int]] = {}
    queries = [_RECORDED] + ([_RESTATED] if view is View.RESTATED else [])
    for query in queries:
        for day, unit, indicator, numerator, denominator in await connection.fetch(
            query.format(units=where), *args
        ):
            cell = cells.setdefault((day, unit, indicator), [0, 0])
            cell[0] += int(numerator)
            cell[1] += int(denominator)
    restated = dict(await connection.fetch(_RESTATED_AT, period_key, list(days)))
    by_day: dict[date, list[tuple[str, str, int, int]]] = {day: [] for day in days}
    for (day, unit, indicator), (numerator, denominator) in cells.items():
        by_day[day].append((unit, indicator, numerator, denominator))
    return {
        day: DayCounts(day, split_counts(rows), restated.get(day)) for day, rows in by_day.items()
    }


def period_on(calendar: Calendar, name_or_key: str, day: date) -> Period:
    """The named period (a kind: the one running on `day`; or a key holding `day`) whose
    history `day` is in."""
    instant = datetime.combine(day, time(12), calendar.tz)
    period = calendar.resolve(name_or_key, instant)
    if period.kind is PeriodKind.RANGE:
        raise PeriodError("the history keeps named periods: ask for a week, month, quarter, …")
    if not period.contains(instant):
        raise PeriodError(f"{day} is not in {period.key}: the history keeps running periods")
    return period


def end_of(calendar: Calendar, day: date) -> datetime:
    """The instant a day's counts stand at: the midnight that ends it."""
    return datetime.combine(day + timedelta(days=1), time.min, calendar.tz).astimezone(UTC)
