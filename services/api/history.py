"""The read path of the history: `/units/{code}/history`, and `as_of` on `/rankings` and
`/units/{code}`: the counts scoring kept at the end of closed days, scored with the board's
methodology when read, ranked among the units of the catalogue as it is now.

A read of the past carries no change against the period before: `/reports/comparison` compares
two days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import schemas
from services.api.scores import indicator_out, period_out, standing_of, unit_out
from shared.errors import InvalidInput
from shared.events import UnitLevel
from shared.methodology import UnitScore
from shared.models import CATALOGUE_VERSION
from shared.periods import MAX_RANGE_DAYS, Period
from shared.rules.catalogue import SCORED_LEVELS
from shared.scores import history
from shared.scores.board import DayScores, LoadedCatalogue, ScoreBoard, read_states
from shared.scores.ranking import Ranked, rank
from shared.scores.repository import UnitRecord

# The days a series covers when `from` is not given: the last 30 closed ones.
DEFAULT_DAYS = 30


async def directory(session: AsyncSession, board: ScoreBoard) -> LoadedCatalogue:
    states, _ = await read_states(session, board.known, [CATALOGUE_VERSION])
    return await board.catalogue.load(session, states[CATALOGUE_VERSION].version)


async def scores_on(
    session: AsyncSession,
    board: ScoreBoard,
    periods: dict[date, Period],
    view: history.View,
    catalogue: LoadedCatalogue,
) -> dict[date, DayScores]:
    """Every unit's scores on each day, in the period given for that day."""
    await history.require_closed(session, list(periods))
    days_of: dict[Period, list[date]] = {}
    for day, period in periods.items():
        days_of.setdefault(period, []).append(day)
    scored: dict[date, DayScores] = {}
    for period, days in days_of.items():
        scored.update(await board.scores_on(session, period, days, view, catalogue.version))
    return scored


def peers_of(catalogue: LoadedCatalogue, unit: UnitRecord) -> list[UnitRecord]:
    """The units a unit is ranked among: its level's; the province is alone at its level."""
    return catalogue.by_level.get(unit.level, [unit]) if unit.level else [unit]


def ranked_in(
    board: ScoreBoard, scores: dict[str, UnitScore], catalogue: LoadedCatalogue, unit: UnitRecord
) -> Ranked:
    return standing_of(unit, rank(board.methodology, scores, peers_of(catalogue, unit)))


def unit_rank(unit: UnitRecord, ranked: Ranked) -> int | None:
    return ranked.rank if unit.level in SCORED_LEVELS else None


async def rankings_on(
    session: AsyncSession,
    board: ScoreBoard,
    period: Period,
    level: UnitLevel,
    day: date,
    view: history.View,
) -> schemas.Rankings:
    catalogue = await directory(session, board)
    kept = (await scores_on(session, board, {day: period}, view, catalogue))[day]
    units = catalogue.by_level.get(level, [])
    return schemas.Rankings(
        period=period_out(period, kept.restated_at),
        level=level.value.lower(),
        methodology=board.methodology.version,
        as_of=history.end_of(board.calendar, day),
        items=[
            schemas.RankingItem(
                rank=ranked.rank,
                unit=unit_out(ranked.unit),
                total=float(ranked.score.total),
                groups={g.code: float(g.points) for g in ranked.score.groups},
                change=None,
            )
            for ranked in rank(board.methodology, kept.scores, units)
        ],
    )


async def unit_detail_on(
    session: AsyncSession,
    board: ScoreBoard,
    unit: UnitRecord,
    period: Period,
    day: date,
    view: history.View,
) -> schemas.UnitDetail:
    catalogue = await directory(session, board)
    kept = (await scores_on(session, board, {day: period}, view, catalogue))[day]
    ranked = ranked_in(board, kept.scores, catalogue, unit)
    return schemas.UnitDetail(
        unit=unit_out(unit),
        period=period_out(period, kept.restated_at),
        methodology=board.methodology.version,
        as_of=history.end_of(board.calendar, day),
        total=float(ranked.score.total),
        rank=unit_rank(unit, ranked),
        change=None,
        groups=[
            schemas.GroupOut(
                code=g.code, title=g.title, points=float(g.points), max_points=float(g.max_points)
            )
            for g in ranked.score.groups
        ],
        indicators=[indicator_out(board, unit.code, period, i) for i in ranked.score.indicators],
    )


async def series_days(session: AsyncSession, first: date | None, last: date | None) -> list[date]:
    """The days from `first` to `last`, by default the last closed ones (none before the first
    day closes)."""
    if last is None:
        last = await history.latest_closed_day(session)
        if last is None:
            # No day has closed yet (the first closes tonight): the last closed days are none.
            return []
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
        # A history younger than that: the days it holds.
        began = await history.first_closed_day(session)
        if began is not None and first < began <= last:
            first = began
    if last < first:
        raise InvalidInput(f"from ({first}) is after to ({last})")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"a history covers at most {MAX_RANGE_DAYS} days")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def unit_history(
    session: AsyncSession,
    board: ScoreBoard,
    unit: UnitRecord,
    period_name: str,
    days: Sequence[date],
    view: history.View,
    indicators: bool,
) -> schemas.UnitHistory:
    periods = {day: history.period_on(board.calendar, period_name, day) for day in days}
    catalogue = await directory(session, board)
    kept = await scores_on(session, board, periods, view, catalogue)
    items = []
    for day in days:
        ranked = ranked_in(board, kept[day].scores, catalogue, unit)
        items.append(
            schemas.HistoryDayOut(
                day=day,
                period=periods[day].key,
                total=float(ranked.score.total),
                rank=unit_rank(unit, ranked),
                groups={g.code: float(g.points) for g in ranked.score.groups},
                restated_at=kept[day].restated_at,
                indicators=[
                    schemas.HistoryIndicator(
                        id=i.id,
                        numerator=i.numerator,
                        denominator=i.denominator,
                        rate=None if i.rate is None else float(i.rate),
                        points=float(i.points),
                    )
                    for i in ranked.score.indicators
                ]
                if indicators
                else None,
            )
        )
    return schemas.UnitHistory(
        unit=unit_out(unit),
        period=period_name,
        view=view.value,
        methodology=board.methodology.version,
        days=items,
    )
