"""Scores for the api: counts read once per period version, points computed and kept in memory."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository
from services.api.repository import PeriodState, UnitRecord
from shared.methodology import Methodology, UnitScore, score
from shared.models import Dossier
from shared.periods import Calendar, Period
from shared.rules.contributions import contributions
from shared.rules.dossier import read_facts


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    unit: UnitRecord
    score: UnitScore


@dataclass(frozen=True, slots=True)
class Standing:
    """Every unit's score in one period, at the period's current version."""

    period: Period
    state: PeriodState
    scores: dict[str, UnitScore]

    @property
    def has_data(self) -> bool:
        return self.state.version > 0


class ScoreBoard:
    """Points of every unit for a period, recomputed only when the period's version moves."""

    def __init__(self, methodology: Methodology, cache_size: int) -> None:
        self.methodology = methodology
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, int], dict[str, UnitScore]] = OrderedDict()

    def etag(self, current: PeriodState, previous: PeriodState, *parts: str) -> str:
        """Changes when the period's counts, the previous period's, or the methodology do."""
        tag = ".".join(
            [str(current.version), str(previous.version), self.methodology.version, *parts]
        )
        return f'W/"{tag}"'

    async def standing(self, session: AsyncSession, period: Period, state: PeriodState) -> Standing:
        return Standing(period, state, await self.scores(session, period.key, state.version))

    async def scores(
        self, session: AsyncSession, period_key: str, version: int
    ) -> dict[str, UnitScore]:
        key = (period_key, version)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        counts = await repository.period_counts(session, period_key)
        scores = {unit: score(self.methodology, ratios) for unit, ratios in counts.items()}
        self._cache[key] = scores
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return scores

    def unit_score(self, scores: dict[str, UnitScore], unit_code: str) -> UnitScore:
        return scores.get(unit_code) or score(self.methodology, {})

    def rank(self, scores: dict[str, UnitScore], units: list[UnitRecord]) -> list[Ranked]:
        """Competition ranking ("1224") by total; ties listed by unit code."""
        scored = sorted(
            ((self.unit_score(scores, u.code), u) for u in units),
            key=lambda pair: (-pair[0].total, pair[1].code),
        )
        ranked: list[Ranked] = []
        previous: Decimal | None = None
        for position, (unit_score, unit) in enumerate(scored, start=1):
            rank = ranked[-1].rank if previous == unit_score.total and ranked else position
            ranked.append(Ranked(rank, unit, unit_score))
            previous = unit_score.total
        return ranked


def counted_in(
    dossiers: list[Dossier],
    period: Period,
    indicator_id: str,
    as_of: datetime,
    calendar: Calendar,
) -> list[tuple[Dossier, int]]:
    """The dossiers in an indicator's denominator for a period, each with what it adds to the
    numerator: the very rules scoring applies, evaluated at the instant the counts stand at."""
    members = []
    for dossier in dossiers:
        facts = read_facts(dossier.state)
        cell = (
            contributions(facts, as_of, calendar, [period.kind])
            .all_cells()
            .get((period.key, indicator_id))
        )
        if cell is not None and cell[1] > 0:
            members.append((dossier, cell[0]))
    return members
