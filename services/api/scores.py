"""The read path of `/rankings` and `/units/{code}`: the versions a period's scores stand at (all a
conditional request needs before its 304), then both periods' scores from the board, ranked, as
the response.

    route ──▶ versions (one read) ──▶ ETag ──▶ 304
                                        └──▶ board: scores of the period and the one before
                                             ──▶ rank among the level's units ──▶ schema
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import schemas
from shared.events import UnitLevel
from shared.methodology import IndicatorScore, UnitScore
from shared.periods import Period
from shared.rules.catalogue import CATALOGUE_INDICATORS, SCORED_LEVELS
from shared.scores.board import ScoreBoard, Versions
from shared.scores.ranking import Ranked, rank
from shared.scores.repository import PeriodState, UnitRecord


@dataclass(frozen=True, slots=True)
class Standing:
    """Every unit's score in one period, at the period's current version."""

    period: Period
    state: PeriodState
    scores: dict[str, UnitScore]

    @property
    def has_data(self) -> bool:
        return self.state.version > 0


def etag(board: ScoreBoard, versions: Versions, *parts: str) -> str:
    """Changes when the period's counts, the previous period's, the catalogue, the day, or the
    methodology do."""
    return f'W/"{".".join([versions.tag(), board.methodology.version, *parts])}"'


async def standings(
    session: AsyncSession, board: ScoreBoard, period: Period, versions: Versions
) -> tuple[Standing, Standing]:
    """The period and the one just before it (for the change)."""
    before = board.calendar.preceding(period)
    return (
        Standing(
            period,
            versions.current,
            await board.scores(session, period, versions.current.version, versions),
        ),
        Standing(
            before,
            versions.previous,
            await board.scores(session, before, versions.previous.version, versions),
        ),
    )


async def rankings(
    session: AsyncSession,
    board: ScoreBoard,
    period: Period,
    level: UnitLevel,
    versions: Versions,
) -> schemas.Rankings:
    current, previous = await standings(session, board, period, versions)
    units = (await board.catalogue.load(session, versions.catalogue)).by_level.get(level, [])
    before = {r.unit.code: r for r in rank(board.methodology, previous.scores, units)}
    return schemas.Rankings(
        period=period_out(period, current.state.restated_at),
        level=level.value.lower(),
        methodology=board.methodology.version,
        as_of=versions.as_of,
        items=[
            schemas.RankingItem(
                rank=ranked.rank,
                unit=unit_out(ranked.unit),
                total=float(ranked.score.total),
                groups={g.code: float(g.points) for g in ranked.score.groups},
                change=change(ranked, before.get(ranked.unit.code), previous),
            )
            for ranked in rank(board.methodology, current.scores, units)
        ],
    )


async def unit_detail(
    session: AsyncSession,
    board: ScoreBoard,
    unit: UnitRecord,
    period: Period,
    versions: Versions,
) -> schemas.UnitDetail:
    current, previous = await standings(session, board, period, versions)
    # Ranked among the units of its level; the province is alone at its level.
    directory = await board.catalogue.load(session, versions.catalogue)
    peers = directory.by_level.get(unit.level, [unit]) if unit.level else [unit]
    now = standing_of(unit, rank(board.methodology, current.scores, peers))
    then = standing_of(unit, rank(board.methodology, previous.scores, peers))
    return schemas.UnitDetail(
        unit=unit_out(unit),
        period=period_out(period, current.state.restated_at),
        methodology=board.methodology.version,
        as_of=versions.as_of,
        total=float(now.score.total),
        rank=now.rank if unit.level in SCORED_LEVELS else None,
        change=change(now, then, previous),
        groups=[
            schemas.GroupOut(
                code=g.code, title=g.title, points=float(g.points), max_points=float(g.max_points)
            )
            for g in now.score.groups
        ],
        indicators=[indicator_out(board, unit.code, period, i) for i in now.score.indicators],
    )


def standing_of(unit: UnitRecord, ranked: list[Ranked]) -> Ranked:
    return next(r for r in ranked if r.unit.code == unit.code)


def indicator_out(
    board: ScoreBoard, code: str, period: Period, score: IndicatorScore
) -> schemas.IndicatorOut:
    """An indicator's numbers, and where the dossiers, procedures or feedback behind them are."""
    source = board.methodology.indicator(score.id).source
    base = f"/units/{code}/indicators/{score.id}"
    query = f"?period={period.key}"
    return schemas.IndicatorOut(
        id=score.id,
        group=score.group,
        title=score.title,
        numerator=score.numerator,
        denominator=score.denominator,
        rate=None if score.rate is None else float(score.rate),
        points=float(score.points),
        max_points=float(score.max_points),
        scored=score.scored,
        dossiers=f"{base}/dossiers{query}" if source == "dossier" else None,
        catalogue=f"{base}/catalogue{query}" if score.id in CATALOGUE_INDICATORS else None,
        feedback=f"{base}/feedback{query}" if source == "feedback" else None,
    )


def change(current: Ranked, before: Ranked | None, previous: Standing) -> schemas.Change | None:
    if before is None or not previous.has_data:
        return None
    ranked = current.unit.level != UnitLevel.PROVINCE
    return schemas.Change(
        previous_period=previous.period.key,
        previous_total=float(before.score.total),
        previous_rank=before.rank if ranked else None,
        total=float(current.score.total - before.score.total),
        rank=before.rank - current.rank if ranked else None,
    )


def unit_out(unit: UnitRecord) -> schemas.UnitOut:
    return schemas.UnitOut(code=unit.code, name=unit.name, level=unit.level)


def period_out(period: Period, restated_at: datetime | None = None) -> schemas.PeriodOut:
    return schemas.PeriodOut(
        key=period.key,
        kind=period.kind.value,
        start=period.start,
        end=period.end,
        restated_at=restated_at,
    )
