"""Reporting periods in the province's local time: ISO week, month, quarter, half-year, year,
and any range of days.

A period is half-open, `[start, end)`. Keys read like the province's reports: `2026-W48`,
`2026-11`, `2026-Q4`, `2026-H2`, `2026`; a range names its first and last days,
`2026-11-03..2026-11-17`, and one day is also named by itself, `2026-11-03` (the key of its
day counts, `shared.rules.contributions`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from shared.errors import PeriodError


class PeriodKind(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"
    # Any run of days: not kept incrementally, computed when asked for.
    RANGE = "range"


# The kinds of the calendar, each counted incrementally.
ALL_KINDS: tuple[PeriodKind, ...] = (
    PeriodKind.WEEK,
    PeriodKind.MONTH,
    PeriodKind.QUARTER,
    PeriodKind.HALF,
    PeriodKind.YEAR,
)
MAX_RANGE_DAYS = 366
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_KEY_PATTERNS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    (PeriodKind.WEEK, re.compile(r"^(\d{4})-W(\d{2})$")),
    (PeriodKind.MONTH, re.compile(r"^(\d{4})-(\d{2})$")),
    (PeriodKind.QUARTER, re.compile(r"^(\d{4})-Q([1-4])$")),
    (PeriodKind.HALF, re.compile(r"^(\d{4})-H([12])$")),
    (PeriodKind.YEAR, re.compile(r"^(\d{4})()$")),
)


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    key: str
    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(slots=True, eq=False)
class Bounds:
    """A period as the scoring hot path compares it: its key and its bounds in UTC.

    The events' instants are UTC. Comparing two UTC instants is cheap; comparing a UTC instant
    with one in a `ZoneInfo` zone (`Period.start`, `Period.end`) asks the zone for its offset
    each time, some twenty times slower. Same instants, so the same answers."""

    period: Period
    key: str
    start: datetime
    end: datetime
    # The period of the same kind just after, once asked for: spans walk this chain.
    following: Bounds | None = None


def _first_day(kind: PeriodKind, day: date) -> date:
    if kind is PeriodKind.WEEK:
        return day - timedelta(days=day.weekday())
    if kind is PeriodKind.MONTH:
        return day.replace(day=1)
    if kind is PeriodKind.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if kind is PeriodKind.HALF:
        return date(day.year, 1 if day.month <= 6 else 7, 1)
    return date(day.year, 1, 1)


_MONTHS = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6}


def _next_first_day(kind: PeriodKind, first: date) -> date:
    if kind is PeriodKind.WEEK:
        return first + timedelta(days=7)
    months = _MONTHS.get(kind, 12)
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _key(kind: PeriodKind, first: date) -> str:
    if kind is PeriodKind.WEEK:
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}"
    if kind is PeriodKind.MONTH:
        return f"{first.year}-{first.month:02d}"
    if kind is PeriodKind.QUARTER:
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    if kind is PeriodKind.HALF:
        return f"{first.year}-H{1 if first.month <= 6 else 2}"
    return f"{first.year}"


class Calendar:
    """Maps instants to periods in one time zone. Cheap to call on the scoring hot path."""

    def __init__(self, timezone: str = "Asia/Ho_Chi_Minh") -> None:
        self.tz = ZoneInfo(timezone)
        self._period = lru_cache(maxsize=4096)(self._period_uncached)
        # Scoring asks again and again about the same instants (receipts, "now").
        self.period_of = lru_cache(maxsize=1 << 16)(self._period_of)  # type: ignore[method-assign]
        self.bounds = lru_cache(maxsize=4096)(self._bounds)  # type: ignore[method-assign]
        self._bounds_on = lru_cache(maxsize=4096)(self._bounds_on_uncached)
        # Asked of every dossier in progress, at the step's instant.
        self.soonest_end = lru_cache(maxsize=256)(self._soonest_end)  # type: ignore[method-assign]
        # Asked of every dossier scored: its receipt and its end of processing.
        self.day_key = lru_cache(maxsize=1 << 16)(self._day_key)  # type: ignore[method-assign]

    def _period_uncached(self, kind: PeriodKind, first: date) -> Period:
        start = datetime.combine(first, datetime.min.time(), self.tz)
        end = datetime.combine(_next_first_day(kind, first), datetime.min.time(), self.tz)
        return Period(kind, _key(kind, first), start, end)

    def period_of(self, kind: PeriodKind, instant: datetime) -> Period:
        return self._period_of(kind, instant)

    def _period_of(self, kind: PeriodKind, instant: datetime) -> Period:
        return self._period(kind, _first_day(kind, instant.astimezone(self.tz).date()))

    def following(self, period: Period) -> Period:
        return self._period(period.kind, _next_first_day(period.kind, period.start.date()))

    def preceding(self, period: Period) -> Period:
        """The period of the same kind just before; for a range, as many days just before."""
        if period.kind is PeriodKind.RANGE:
            first, last = self._days(period)
            length = last - first + timedelta(days=1)
            return self.day_range(first - length, first - timedelta(days=1))
        return self.period_of(period.kind, period.start - timedelta(seconds=1))

    def day_range(self, first: date, last: date) -> Period:
        if last < first:
            raise PeriodError(f"a range ends on or after its first day, not {first}..{last}")
        if (last - first).days >= MAX_RANGE_DAYS:
            raise PeriodError(f"a range is at most {MAX_RANGE_DAYS} days long")
        start = datetime.combine(first, datetime.min.time(), self.tz)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), self.tz)
        return Period(PeriodKind.RANGE, f"{first}..{last}", start, end)

    def _days(self, period: Period) -> tuple[date, date]:
        return period.start.date(), (period.end - timedelta(days=1)).date()

    def day_key(self, instant: datetime) -> str:
        """The key of the local day holding `instant`: `2026-11-03`."""
        return self._day_key(instant)

    def _day_key(self, instant: datetime) -> str:
        return instant.astimezone(self.tz).date().isoformat()

    def day_keys(self, period: Period) -> list[str]:
        """The keys of the local days of `period`, in order."""
        first, last = self._days(period)
        return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]

    def span(self, kind: PeriodKind, first: datetime, last: datetime) -> list[Period]:
        """Every period of `kind` from the one holding `first` to the one holding `last`."""
        return [bounds.period for bounds in self.span_bounds(kind, first, last)]

    def bounds(self, period: Period) -> Bounds:
        """`period` as `Bounds`."""
        return self._bounds(period)

    def _bounds(self, period: Period) -> Bounds:
        return Bounds(period, period.key, period.start.astimezone(UTC), period.end.astimezone(UTC))

    def bounds_at(self, instant: datetime) -> Mapping[PeriodKind, Bounds]:
        """The period of every kind holding `instant`, as `Bounds`: `period_of` for all kinds at
        once, since finding the local day is most of the work. Shared: never to be changed."""
        return self._bounds_on(instant.astimezone(self.tz).date())

    def _bounds_on_uncached(self, day: date) -> Mapping[PeriodKind, Bounds]:
        return {kind: self.bounds(self._period(kind, _first_day(kind, day))) for kind in PeriodKind}

    def bounds_of(self, kind: PeriodKind, instant: datetime) -> Bounds:
        """`period_of`, as `Bounds`."""
        return self.bounds_at(instant)[kind]

    def following_bounds(self, bounds: Bounds) -> Bounds:
        """`following`, as `Bounds`."""
        following = bounds.following
        if following is None:
            following = bounds.following = self.bounds(self.following(bounds.period))
        return following

    def soonest_end(self, kinds: tuple[PeriodKind, ...], instant: datetime) -> Bounds | None:
        """Of the periods of `kinds` holding `instant`, the one that ends first (on a tie, the
        first in `kinds`); None for no kinds."""
        return self._soonest_end(kinds, instant)

    def _soonest_end(self, kinds: tuple[PeriodKind, ...], instant: datetime) -> Bounds | None:
        soonest: Bounds | None = None
        at = self.bounds_at(instant)
        for kind in kinds:
            bounds = at[kind]
            if soonest is None or bounds.end < soonest.end:
                soonest = bounds
        return soonest

    def span_bounds(self, kind: PeriodKind, first: datetime, last: datetime) -> list[Bounds]:
        """`span`, as `Bounds`."""
        return self.span_from(self.bounds_of(kind, first), last)

    def span_from(self, bounds: Bounds, last: datetime) -> list[Bounds]:
        """Every period from `bounds` to the one of the same kind holding `last`."""
        spanned = [bounds]
        while bounds.end <= last:
            bounds = self.following_bounds(bounds)
            spanned.append(bounds)
        return spanned

    def parse(self, key: str) -> Period:
        if _DAY.match(key):
            key = f"{key}..{key}"
        if match := _RANGE.match(key):
            try:
                first, last = (date.fromisoformat(match.group(i)) for i in (1, 2))
            except ValueError as error:
                raise PeriodError(f"{key!r} is not a valid range: {error}") from None
            return self.day_range(first, last)
        for kind, pattern in _KEY_PATTERNS:
            match = pattern.match(key)
            if not match:
                continue
            year, part = int(match.group(1)), match.group(2)
            try:
                if kind is PeriodKind.WEEK:
                    first = date.fromisocalendar(year, int(part), 1)
                elif kind is PeriodKind.MONTH:
                    first = date(year, int(part), 1)
                elif kind is PeriodKind.QUARTER:
                    first = date(year, 3 * (int(part) - 1) + 1, 1)
                elif kind is PeriodKind.HALF:
                    first = date(year, 1 if part == "1" else 7, 1)
                else:
                    first = date(year, 1, 1)
            except ValueError as error:
                raise PeriodError(f"{key!r} is not a valid {kind.value}: {error}") from None
            return self._period(kind, first)
        raise PeriodError(
            f"{key!r} is not a period: use week, month, quarter, half or year for the current "
            "one, a key like 2026-W48, 2026-11, 2026-Q4, 2026-H2 or 2026, or a range of days "
            "like 2026-11-03..2026-11-17"
        )

    def resolve(self, name_or_key: str, now: datetime) -> Period:
        """A period key, or a kind name meaning the current period of that kind."""
        try:
            kind = PeriodKind(name_or_key)
        except ValueError:
            return self.parse(name_or_key)
        if kind is PeriodKind.RANGE:
            raise PeriodError("a range is named by its days, like 2026-11-03..2026-11-17")
        return self.period_of(kind, now)
