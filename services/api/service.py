"""Scores for the api: counts read once per period version, points computed and kept in memory."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository
from services.api.repository import PROCESSING_BASED, PeriodCounts, PeriodState, UnitRecord
from shared.methodology import Methodology, Ratio, UnitScore, score
from shared.models import CATALOGUE_VERSION, Dossier, Feedback
from shared.periods import Calendar, Period, PeriodKind
from shared.rules.catalogue import CatalogueRules
from shared.rules.contributions import (
    NOTHING,
    CountDeltas,
    add_difference,
    contribution_in,
    with_province,
)
from shared.rules.dossier import read_facts
from shared.rules.feedback import feedback_contribution_in, read_feedback
from shared.workdays import WorkingCalendar


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    unit: UnitRecord
    score: UnitScore


@dataclass(frozen=True, slots=True)
class Versions:
    """What a period's scores depend on: all a conditional poll reads before it answers 304."""

    current: PeriodState
    previous: PeriodState
    catalogue: int
    # Catalogue deadlines (1.1, 1.2) pass by the day, with no event.
    day: date

    def tag(self) -> str:
        return f"{self.current.version}.{self.previous.version}.{self.catalogue}.{self.day:%Y%m%d}"


class CatalogueCache:
    """The catalogue, read again only when its version moves."""

    def __init__(self, workdays: WorkingCalendar) -> None:
        self.workdays = workdays
        self._loaded: tuple[int, CatalogueRules] | None = None

    async def version(self, session: AsyncSession) -> int:
        return (await repository.period_state(session, CATALOGUE_VERSION)).version

    def day(self, now: datetime) -> date:
        return now.astimezone(self.workdays.tz).date()

    async def rules(self, session: AsyncSession, version: int) -> CatalogueRules:
        if self._loaded is None or self._loaded[0] != version:
            catalogue = await repository.catalogue(session)
            self._loaded = (version, CatalogueRules(catalogue, self.workdays))
        return self._loaded[1]


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

    def __init__(
        self,
        methodology: Methodology,
        cache_size: int,
        catalogue: CatalogueCache,
        province_code: str,
    ) -> None:
        self.methodology = methodology
        self.cache_size = cache_size
        self.catalogue = catalogue
        self.province_code = province_code
        self._cache: OrderedDict[tuple[str, int, int, date], dict[str, UnitScore]] = OrderedDict()

    async def versions(
        self, session: AsyncSession, calendar: Calendar, period: Period, now: datetime
    ) -> Versions:
        if period.kind is PeriodKind.RANGE:
            state = await repository.position_state(session)
            return Versions(
                state, state, await self.catalogue.version(session), self.catalogue.day(now)
            )
        return Versions(
            await repository.period_state(session, period.key),
            await repository.period_state(session, calendar.preceding(period).key),
            await self.catalogue.version(session),
            self.catalogue.day(now),
        )

    def etag(self, versions: Versions, *parts: str) -> str:
        """Changes when the period's counts, the previous period's, the catalogue, the day, or
        the methodology do."""
        return f'W/"{".".join([versions.tag(), self.methodology.version, *parts])}"'

    async def standing(
        self, session: AsyncSession, period: Period, state: PeriodState, versions: Versions
    ) -> Standing:
        return Standing(period, state, await self.scores(session, period, state.version, versions))

    async def scores(
        self, session: AsyncSession, period: Period, version: int, versions: Versions
    ) -> dict[str, UnitScore]:
        key = (period.key, version, versions.catalogue, versions.day)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        counts = await self.counts(session, period, versions)
        scores = {unit: score(self.methodology, ratios) for unit, ratios in counts.items()}
        self._cache[key] = scores
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return scores

    async def counts(
        self, session: AsyncSession, period: Period, versions: Versions
    ) -> dict[str, dict[str, Ratio]]:
        """The period's counts, with the catalogue's indicators computed from its activity."""
        stored = await self.stored_counts(session, period)
        rules = await self.catalogue.rules(session, versions.catalogue)
        end_of_day = datetime.combine(versions.day, time.max, self.catalogue.workdays.tz)
        counts = stored.indicators
        catalogue = rules.counts(
            stored.activity, period, end_of_day, self.province_code, units=counts.keys()
        )
        for unit, ratios in catalogue.items():
            counts.setdefault(unit, {}).update(ratios)
        return counts

    async def stored_counts(self, session: AsyncSession, period: Period) -> PeriodCounts:
        """What scoring keeps for a named period; what its rules give for a range."""
        if period.kind is PeriodKind.RANGE:
            return await self.range_counts(session, period)
        return await repository.period_counts(session, period.key)

    async def range_counts(self, session: AsyncSession, period: Period) -> PeriodCounts:
        """A range's counts, from the stored states of the dossiers and feedback in it, by the
        rules scoring applies, as of the instant scoring's counts stand at. Ranges are for
        reports: this reads every dossier of the range, where a named period reads its counts."""
        position = await repository.scoring_position(session)
        if position is None:
            return PeriodCounts({}, {})
        as_of = position.as_of
        deltas: CountDeltas = {}
        dossiers = await repository.audit_candidates(
            session, None, PROCESSING_BASED, period.start, period.end
        )
        for dossier in dossiers:
            facts = read_facts(dossier.state)
            if facts.unit_code is not None:
                add_difference(
                    deltas, facts.unit_code, contribution_in(facts, period, as_of), NOTHING
                )
        workdays = self.catalogue.workdays
        for item in await repository.feedback_candidates(session, None, None, period.end):
            facts_of = read_feedback(item.state)
            if facts_of.unit_code is not None:
                contribution = feedback_contribution_in(facts_of, period, as_of, workdays)
                add_difference(deltas, facts_of.unit_code, contribution, NOTHING)
        pooled = with_province(deltas, self.province_code)
        return repository.split_counts(
            (unit, indicator, numerator, denominator)
            for (unit, _, indicator), (numerator, denominator) in pooled.items()
        )

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


def feedback_counted_in(
    feedback: list[Feedback],
    period: Period,
    indicator_id: str,
    as_of: datetime,
    workdays: WorkingCalendar,
) -> list[tuple[Feedback, int]]:
    """The feedback in an indicator's denominator for a period, with what each adds to the
    numerator: the rules scoring applies, at the instant the counts stand at."""
    members = []
    for item in feedback:
        cells = feedback_contribution_in(read_feedback(item.state), period, as_of, workdays).cells
        cell = cells.get((period.key, indicator_id))
        if cell is not None and cell[1] > 0:
            members.append((item, cell[0]))
    return members


def counted_in(
    dossiers: list[Dossier], period: Period, indicator_id: str, as_of: datetime
) -> list[tuple[Dossier, int]]:
    """The dossiers in an indicator's denominator for a period, each with what it adds to the
    numerator: the very rules scoring applies, evaluated at the instant the counts stand at."""
    members = []
    for dossier in dossiers:
        facts = read_facts(dossier.state)
        cell = contribution_in(facts, period, as_of).all_cells().get((period.key, indicator_id))
        if cell is not None and cell[1] > 0:
            members.append((dossier, cell[0]))
    return members
