"""Every unit's points in a period, computed from its counts once per version of the period.

A period's scores depend on its counts (`period_versions` names their version), on the catalogue
(its own version), and on the day (1.1 and 1.2 have deadlines in working days that pass with no
event): `Versions` holds the three, and is all a conditional read must know before a 304.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from shared.collector import collector_paused
from shared.methodology import Methodology, Ratio, UnitScore, score
from shared.models import CATALOGUE_VERSION, Dossier, Feedback
from shared.periods import Calendar, Period, PeriodKind
from shared.rules.catalogue import Activity, CatalogueRules, Member
from shared.rules.contributions import IN_PROGRESS, CountDeltas, add_unsettled, with_province
from shared.rules.members import Basis, summed, unsettled_deltas_of_text
from shared.scores import history, repository
from shared.scores.repository import PeriodCounts, PeriodState, UnitRecord, split_counts
from shared.workdays import WorkingCalendar

K = TypeVar("K")
V = TypeVar("V")


class KnownVersions(Protocol):
    """Versions kept in memory (from scoring's notifications), when they can be trusted."""

    @property
    def fresh(self) -> bool: ...

    def states(self, keys: Sequence[str]) -> dict[str, PeriodState]: ...

    def as_of(self) -> datetime | None: ...


async def read_states(
    session: AsyncSession, known: KnownVersions | None, keys: Sequence[str]
) -> tuple[dict[str, PeriodState], datetime | None]:
    """The versions of `keys` and scoring's instant: from memory if it is fresh, else one query
    each."""
    if known is not None and known.fresh:
        return known.states(keys), known.as_of()
    return await repository.period_states(session, keys), await repository.as_of(session)


@dataclass(frozen=True, slots=True)
class Versions:
    """What a period's scores (and its change against the period before) depend on."""

    current: PeriodState
    previous: PeriodState
    catalogue: int
    day: date
    # The instant scoring's counts stood at when the versions were read.
    as_of: datetime | None

    def tag(self) -> str:
        return f"{self.current.version}.{self.previous.version}.{self.catalogue}.{self.day:%Y%m%d}"


@dataclass(frozen=True, slots=True)
class LoadedCatalogue:
    version: int
    rules: CatalogueRules
    units: dict[str, UnitRecord]
    # Each level's units, by code.
    by_level: dict[str | None, list[UnitRecord]]


class CatalogueCache:
    """The catalogue (and so every unit's name and level), read again only when its version
    moves: scoring bumps it for catalogue events and for units first seen in dossiers."""

    def __init__(self, workdays: WorkingCalendar) -> None:
        self.workdays = workdays
        self._loaded: LoadedCatalogue | None = None

    def day(self, now: datetime) -> date:
        return now.astimezone(self.workdays.tz).date()

    async def load(self, session: AsyncSession, version: int) -> LoadedCatalogue:
        if self._loaded is None or self._loaded.version != version:
            catalogue = await repository.catalogue(session)
            units = {u.code: UnitRecord(u.code, u.name, u.level) for u in catalogue.units}
            by_level: dict[str | None, list[UnitRecord]] = {}
            for unit in sorted(units.values(), key=lambda u: u.code):
                by_level.setdefault(unit.level, []).append(unit)
            self._loaded = LoadedCatalogue(
                version, CatalogueRules(catalogue, self.workdays), units, by_level
            )
        return self._loaded

    async def rules(self, session: AsyncSession, version: int) -> CatalogueRules:
        return (await self.load(session, version)).rules

    async def unit(
        self, session: AsyncSession, known: KnownVersions | None, code: str
    ) -> UnitRecord | None:
        states, _ = await read_states(session, known, [CATALOGUE_VERSION])
        return (await self.load(session, states[CATALOGUE_VERSION].version)).units.get(code)


@dataclass(frozen=True, slots=True)
class DayScores:
    """Every unit's points at the end of a closed day."""

    day: date
    scores: dict[str, UnitScore]
    restated_at: datetime | None


# A period's scores are those of its key, version, catalogue version and day.
ScoresKey = tuple[str, int, int, date]


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
        known: KnownVersions | None = None,
        ranges: Executor | None = None,
    ) -> None:
        self.known = known
        # Where ranges are computed: worker processes, so that the event loop stays free (the
        # computation is CPU-bound: threads would hold the GIL); in the caller without one.
        self.ranges = ranges
        self._range_counts: OrderedDict[tuple[str, datetime], PeriodCounts] = OrderedDict()
        self._members: OrderedDict[tuple[str, str, str, str], list[tuple[str, Member]]] = (
            OrderedDict()
        )
        self.methodology = methodology
        self.calendar = calendar
        self.catalogue = catalogue
        self.province_code = province_code
        self.cache_size = cache_size
        self._cache: OrderedDict[ScoresKey, dict[str, UnitScore]] = OrderedDict()
        # The last computation for each (period, catalogue, day), whatever its counts' version: a
        # new version mostly moves a few units' counts, and the rest are taken from here.
        self._last_scores: OrderedDict[
            tuple[str, int, date], dict[str, tuple[dict[str, Ratio], UnitScore]]
        ] = OrderedDict()
        self._last_catalogue: OrderedDict[tuple[str, date], _CatalogueCounts] = OrderedDict()
        # The scores being computed, by key: a version move sets off the renders of several
        # responses of the same period at once (a ranking, a unit), which wait for one
        # computation instead of each making its own.
        self._scoring: dict[ScoresKey, asyncio.Future[dict[str, UnitScore]]] = {}

    async def versions(self, session: AsyncSession, period: Period, now: datetime) -> Versions:
        """The versions a period's scores stand at: from memory, or one read."""
        day = self.catalogue.day(now)
        if period.kind is PeriodKind.RANGE:
            # A range is not kept: its version is the instant scoring's counts stand at.
            states, as_of = await read_states(session, self.known, [CATALOGUE_VERSION])
            state = PeriodState(int(as_of.timestamp() * 1_000_000) if as_of else 0, None)
            return Versions(state, state, states[CATALOGUE_VERSION].version, day, as_of)
        previous = self.calendar.preceding(period).key
        states, as_of = await read_states(
            session, self.known, [period.key, previous, CATALOGUE_VERSION]
        )
        return Versions(
            states[period.key], states[previous], states[CATALOGUE_VERSION].version, day, as_of
        )

    async def scores(
        self, session: AsyncSession, period: Period, version: int, versions: Versions
    ) -> dict[str, UnitScore]:
        key = (period.key, version, versions.catalogue, versions.day)
        while True:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            running = self._scoring.get(key)
            if running is None:
                break
            # `wait`, not `await`: a waiter cancelled meanwhile must not cancel the shared future.
            await asyncio.wait([running])
            if not running.cancelled():
                return running.result()
            # It failed (its caller has the error) or was cancelled: compute it here.
        future: asyncio.Future[dict[str, UnitScore]] = asyncio.get_running_loop().create_future()
        self._scoring[key] = future
        try:
            scores = await self._computed(session, period, versions, key)
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._scoring[key]
        future.set_result(scores)
        return scores

    async def _computed(
        self, session: AsyncSession, period: Period, versions: Versions, key: ScoresKey
    ) -> dict[str, UnitScore]:
        with collector_paused():
            counts = await self.counts(session, period, versions)
            last_key = (period.key, versions.catalogue, versions.day)
            last = self._last_scores.get(last_key, {})
            scored: dict[str, tuple[dict[str, Ratio], UnitScore]] = {}
            for unit, ratios in counts.items():
                kept = last.get(unit)
                scored[unit] = (
                    kept
                    if kept is not None and kept[0] == ratios
                    else (ratios, score(self.methodology, ratios))
                )
        _put(self._last_scores, last_key, scored, self.cache_size)
        scores = {unit: unit_score for unit, (_, unit_score) in scored.items()}
        _put(self._cache, key, scores, self.cache_size)
        return scores

    async def counts(
        self, session: AsyncSession, period: Period, versions: Versions
    ) -> dict[str, dict[str, Ratio]]:
        """The period's counts, with the catalogue's indicators computed from its activity."""
        stored = await self.stored_counts(session, period, versions.as_of)
        return await self._with_catalogue(session, stored, period, versions.day, versions.catalogue)

    async def _with_catalogue(
        self,
        session: AsyncSession,
        stored: PeriodCounts,
        period: Period,
        day: date,
        catalogue_version: int,
    ) -> dict[str, dict[str, Ratio]]:
        """Stored counts with the catalogue's indicators, as the catalogue (it has no history)
        gives them at the end of `day`."""
        rules = await self.catalogue.rules(session, catalogue_version)
        return self.with_catalogue(stored, rules, period, day)

    def catalogue_instant(self, day: date) -> datetime:
        """The instant the catalogue's indicators are computed at: the end of the day."""
        return datetime.combine(day, time.max, self.catalogue.workdays.tz)

    def with_catalogue(
        self, stored: PeriodCounts, rules: CatalogueRules, period: Period, day: date
    ) -> dict[str, dict[str, Ratio]]:
        """The stored counts with the catalogue's indicators added (a copy: the stored counts
        may be a range's, cached)."""
        counts = {unit: dict(ratios) for unit, ratios in stored.indicators.items()}
        # Computed again only when what it reads moved: a new count rarely adds activity.
        last = self._last_catalogue.get((period.key, day))
        if last is not None and last.same_inputs(rules, stored):
            catalogue = last.counts
        else:
            catalogue = rules.counts(
                stored.activity,
                period,
                self.catalogue_instant(day),
                self.province_code,
                units=counts.keys(),
            )
            last = _CatalogueCounts(rules, stored.activity, frozenset(counts), catalogue)
            _put(self._last_catalogue, (period.key, day), last, self.cache_size)
        for unit, ratios in catalogue.items():
            counts.setdefault(unit, {}).update(ratios)
        return counts

    async def scores_on(
        self,
        session: AsyncSession,
        period: Period,
        days: Sequence[date],
        view: history.View,
        catalogue_version: int,
    ) -> dict[date, DayScores]:
        """Every unit's points in a named period as it stood at the end of each of `days`, from
        the history scoring keeps."""
        kept = await history.day_counts(session, period.key, days, view)
        scored: dict[date, DayScores] = {}
        for day, found in kept.items():
            counts = await self._with_catalogue(
                session, found.counts, period, day, catalogue_version
            )
            scored[day] = DayScores(
                day,
                {unit: score(self.methodology, ratios) for unit, ratios in counts.items()},
                found.restated_at,
            )
        return scored

    async def catalogue_members(
        self, session: AsyncSession, indicator: str, unit_code: str, period: Period, now: datetime
    ) -> list[tuple[str, Member]]:
        """(owner, member) of a catalogue indicator for a unit, in (owner, code) order: computed
        once per version of what they depend on (the period's activity, the catalogue, the day),
        as of the end of the day like the counts they explain."""
        versions = await self.versions(session, period, now)
        key = (indicator, unit_code, period.key, versions.tag())
        members = self._members.get(key)
        if members is None:
            rules = await self.catalogue.rules(session, versions.catalogue)
            activity = (await self.stored_counts(session, period, versions.as_of)).activity
            end_of_day = datetime.combine(versions.day, time.max, self.catalogue.workdays.tz)
            found = rules.members_by_unit(
                indicator, unit_code, activity, period, end_of_day, self.province_code
            )
            members = sorted(found, key=lambda pair: (pair[0], pair[1].code))
            _put(self._members, key, members, self.cache_size)
        else:
            self._members.move_to_end(key)
        return members

    async def stored_counts(
        self, session: AsyncSession, period: Period, as_of: datetime | None
    ) -> PeriodCounts:
        """What scoring keeps for a named period; what its rules give for a range, evaluated
        at `as_of`."""
        if period.kind is not PeriodKind.RANGE:
            return await repository.period_counts(session, period.key)
        if as_of is None:
            return PeriodCounts({}, {})
        key = (period.key, as_of)
        cached = self._range_counts.get(key)
        if cached is None:
            cached = await self._range(session, period, as_of)
            _put(self._range_counts, key, cached, self.cache_size)
        else:
            self._range_counts.move_to_end(key)
        return cached

    async def _range(self, session: AsyncSession, period: Period, as_of: datetime) -> PeriodCounts:
        """A range's counts: the sum of its day counts (kept by scoring), with the dossiers in
        progress (kept too) if it holds `as_of`, and what the day counts leave out: the dossiers
        not finished by its end, if it ended before `as_of` (a range up to today has none),
        counted in the database where its end alone decides them, else from their states; and
        the feedback, from states (no day counts; a few hundred, not tens of thousands)."""
        with collector_paused():
            return await self._range_summed(session, period, as_of)

    async def _range_summed(
        self, session: AsyncSession, period: Period, as_of: datetime
    ) -> PeriodCounts:
        keys = self.calendar.day_keys(period)
        if period.start <= as_of < period.end:
            keys.append(IN_PROGRESS)
        kept = await repository.summed_counts(session, keys)
        compute = partial(
            unsettled_deltas_of_text, period=period, as_of=as_of, workdays=self.catalogue.workdays
        )
        loop = asyncio.get_running_loop()
        computing: list[asyncio.Future[CountDeltas]] = []
        computed: list[CountDeltas] = []
        if period.end <= as_of:
            decided: CountDeltas = {}
            for unit, counted, on_time, satisfied in await repository.unsettled_counts(
                session, period.end
            ):
                add_unsettled(decided, unit, period.key, counted, on_time, satisfied)
            computed.append(decided)
        for model in (Dossier, Feedback) if period.end <= as_of else (Feedback,):
            chunks = repository.states_of_range(
                session,
                model,
                Basis.PROCESSING,
                period.start,
                period.end,
                RANGE_CHUNK,
                unfinished_at_end=model is Dossier,
            )
            async for chunk in chunks:
                texts = (chunk, []) if model is Dossier else ([], chunk)
                # A full chunk goes to a worker while the next one is read; a range smaller than
                # one chunk is computed here, where sending it would cost more.
                if self.ranges is not None and (computing or len(chunk) == RANGE_CHUNK):
                    computing.append(loop.run_in_executor(self.ranges, compute, *texts))
                else:
                    computed.append(compute(*texts))
        deltas = summed([*computed, *await asyncio.gather(*computing)])
        for (unit, _, indicator), (numerator, denominator) in with_province(
            deltas, self.province_code
        ).items():
            cell = kept.setdefault((unit, indicator), [0, 0])
            cell[0] += numerator
            cell[1] += denominator
        return split_counts(
            (unit, indicator, numerator, denominator)
            for (unit, indicator), (numerator, denominator) in kept.items()
            if numerator or denominator
        )


# States per chunk of a range: each is computed in a worker while the next is read. Small, so
# that the workers start early, and a range of less than one chunk, computed on the event loop,
# holds it for about 40 ms at most (4,000 held it for 150 ms).
RANGE_CHUNK = 1_000


@dataclass(frozen=True, slots=True)
class _CatalogueCounts:
    """The catalogue's indicators as computed for a period and day, and what they were read from."""

    rules: CatalogueRules
    activity: Mapping[str, Activity]
    units: frozenset[str]
    counts: dict[str, dict[str, Ratio]]

    def same_inputs(self, rules: CatalogueRules, stored: PeriodCounts) -> bool:
        return (
            rules is self.rules
            and stored.activity == self.activity
            and self.units == stored.indicators.keys()
        )


def _put(cache: OrderedDict[K, V], key: K, value: V, size: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)
