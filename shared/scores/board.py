"""Every unit's points in a period, computed from its counts once per version of the period.

A period's scores depend on its counts (`period_versions` names their version), on the catalogue
(its own version), and on the day (1.1 and 1.2 have deadlines in working days that pass with no
event): `Versions` holds the three, and is all a conditional read must know before a 304.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from shared.methodology import Methodology, Ratio, UnitScore, score
from shared.models import CATALOGUE_VERSION
from shared.periods import Calendar, Period, PeriodKind
from shared.rules.catalogue import CatalogueRules
from shared.rules.members import Basis, range_counts
from shared.scores import repository
from shared.scores.repository import PeriodCounts, PeriodState, split_counts
from shared.workdays import WorkingCalendar


@dataclass(frozen=True, slots=True)
class Versions:
    """What a period's scores (and its change against the period before) depend on."""

    current: PeriodState
    previous: PeriodState
    catalogue: int
    day: date

    def tag(self) -> str:
        return f"{self.current.version}.{self.previous.version}.{self.catalogue}.{self.day:%Y%m%d}"


class CatalogueCache:
    """The catalogue, read again only when its version moves."""

    def __init__(self, workdays: WorkingCalendar) -> None:
        self.workdays = workdays
        self._loaded: tuple[int, CatalogueRules] | None = None

    def day(self, now: datetime) -> date:
        return now.astimezone(self.workdays.tz).date()

    async def rules(self, session: AsyncSession, version: int) -> CatalogueRules:
        if self._loaded is None or self._loaded[0] != version:
            catalogue = await repository.catalogue(session)
            self._loaded = (version, CatalogueRules(catalogue, self.workdays))
        return self._loaded[1]


class ScoreBoard:
    """Points of every unit for a period under one methodology, kept for the last
    `cache_size` (period, version) pairs."""

    def __init__(
        self,
        methodology: Methodology,
        calendar: Calendar,
        catalogue: CatalogueCache,
        province_code: str,
        cache_size: int,
    ) -> None:
        self.methodology = methodology
        self.calendar = calendar
        self.catalogue = catalogue
        self.province_code = province_code
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, int, int, date], dict[str, UnitScore]] = OrderedDict()

    async def versions(self, session: AsyncSession, period: Period, now: datetime) -> Versions:
        """The versions a period's scores stand at: one read."""
        day = self.catalogue.day(now)
        if period.kind is PeriodKind.RANGE:
            # A range is not kept: its version is the instant scoring's counts stand at.
            states = await repository.period_states(session, [CATALOGUE_VERSION])
            as_of = await repository.as_of(session)
            state = PeriodState(int(as_of.timestamp() * 1_000_000) if as_of else 0, None)
            return Versions(state, state, states[CATALOGUE_VERSION].version, day)
        previous = self.calendar.preceding(period).key
        states = await repository.period_states(session, [period.key, previous, CATALOGUE_VERSION])
        return Versions(
            states[period.key], states[previous], states[CATALOGUE_VERSION].version, day
        )

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
        if period.kind is not PeriodKind.RANGE:
            return await repository.period_counts(session, period.key)
        # Ranges are for reports: this reads every dossier of the range, where a named period
        # reads its counts.
        as_of = await repository.as_of(session)
        if as_of is None:
            return PeriodCounts({}, {})
        dossiers = await repository.dossiers_in(
            session, None, Basis.PROCESSING, period.start, period.end
        )
        feedback = await repository.feedback_in(session, None, None, period.end)
        pooled = range_counts(
            (d.state for d in dossiers),
            (f.state for f in feedback),
            period,
            as_of,
            self.catalogue.workdays,
            self.province_code,
        )
        return split_counts(
            (unit, indicator, numerator, denominator)
            for (unit, _, indicator), (numerator, denominator) in pooled.items()
        )
