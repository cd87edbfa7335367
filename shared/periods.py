"""Reporting periods in the province's local time: ISO week, month, quarter, half-year, year.

A period is half-open, `[start, end)`. Keys read like the province's reports: `2026-W48`,
`2026-11`, `2026-Q4`, `2026-H2`, `2026`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo


class PeriodKind(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


ALL_KINDS: tuple[PeriodKind, ...] = tuple(PeriodKind)

_KEY_PATTERNS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    (PeriodKind.WEEK, re.compile(r"^(\d{4})-W(\d{2})$")),
    (PeriodKind.MONTH, re.compile(r"^(\d{4})-(\d{2})$")),
    (PeriodKind.QUARTER, re.compile(r"^(\d{4})-Q([1-4])$")),
    (PeriodKind.HALF, re.compile(r"^(\d{4})-H([12])$")),
    (PeriodKind.YEAR, re.compile(r"^(\d{4})()$")),
)


class PeriodError(ValueError):
    """A period key or name that does not denote a period."""


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    key: str
    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


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


def _next_first_day(kind: PeriodKind, first: date) -> date:
    if kind is PeriodKind.WEEK:
        return first + timedelta(days=7)
    months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6}.get(kind, 12)
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
        return self.period_of(period.kind, period.start - timedelta(seconds=1))

    def span(self, kind: PeriodKind, first: datetime, last: datetime) -> list[Period]:
        """Every period of `kind` from the one holding `first` to the one holding `last`."""
        period = self.period_of(kind, first)
        periods = [period]
        while period.end <= last:
            period = self.following(period)
            periods.append(period)
        return periods

    def parse(self, key: str) -> Period:
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
            "one, or a key like 2026-W48, 2026-11, 2026-Q4, 2026-H2 or 2026"
        )

    def resolve(self, name_or_key: str, now: datetime) -> Period:
        """A period key, or a kind name meaning the current period of that kind."""
        try:
            kind = PeriodKind(name_or_key)
        except ValueError:
            return self.parse(name_or_key)
        return self.period_of(kind, now)
