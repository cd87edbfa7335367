"""Working days in Vietnam: Monday to Friday, less public holidays, with the government's swaps.

`holidays.VN` knows the public holidays and the days off given in lieu, but not the Saturdays that
are declared working days in exchange for a moved day off (e.g. 26/4/2025, 22/8/2026): those, and
any further day off the province declares, come from configuration.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# Saturdays worked in exchange for a bridged day off, as decided by the government.
MAKE_UP_WORKING_DAYS = (date(2025, 4, 26), date(2026, 8, 22))


class WorkingCalendar:
    def __init__(
        self,
        timezone: str = "Asia/Ho_Chi_Minh",
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = MAKE_UP_WORKING_DAYS,
    ) -> None:
        self.tz = ZoneInfo(timezone)
        self.extra_days_off = frozenset(extra_days_off)
        self.extra_working_days = frozenset(extra_working_days)
        # Deadlines are asked again and again from the same few days (feedback's, each time
        # it is evaluated): each walk of the calendar once.
        self.shift = lru_cache(maxsize=1 << 14)(self._shift)  # type: ignore[method-assign]

    def __reduce__(
        self,
    ) -> tuple[type[WorkingCalendar], tuple[str, frozenset[date], frozenset[date]]]:
        # Sent to worker processes (ranges, a province's guidance) by what makes it, since its
        # cache cannot be pickled; each process fills its own.
        return (WorkingCalendar, (self.tz.key, self.extra_days_off, self.extra_working_days))

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        return day.weekday() < 5 and not self.is_holiday(day)

    def is_holiday(self, day: date) -> bool:
        """A public holiday, a day off in lieu of one, or a day off the province declared."""
        return day in self.extra_days_off or day in _vietnam(day.year)

    def shift(self, day: date, working_days: int) -> date:
        """The `working_days`-th working day after `day` (before it, if negative); `day`
        itself does not count."""
        return self._shift(day, working_days)

    def _shift(self, day: date, working_days: int) -> date:
        step = timedelta(days=1 if working_days >= 0 else -1)
        remaining = abs(working_days)
        while remaining > 0:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The end of the `working_days`-th working day after the day of `start` (which does
        not count), as an instant: a dossier handled by then is on time."""
        day = self.shift(start.astimezone(self.tz).date(), working_days)
        return datetime.combine(day + timedelta(days=1), time.min, self.tz)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after the day of `start` up to and including the day of `end`."""
        first = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        return sum(
            self.is_working_day(first + timedelta(days=offset))
            for offset in range(1, (last - first).days + 1)
        )


@lru_cache(maxsize=64)
def _vietnam(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


class OfficeHours:
    """The hours of a working day the offices are open, e.g. "07:30-11:30,13:30-17:00".

    A "working hour" is an hour of these windows on a working day: a dossier due at midnight
    after Monday, warned 8 working hours ahead, is warned when the offices close on Friday."""

    def __init__(self, calendar: WorkingCalendar, windows: str = "07:30-11:30,13:30-17:00") -> None:
        self.calendar = calendar
        self.windows = parse_windows(windows)

    def _day_windows(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.calendar.is_working_day(day):
            return []
        tz = self.calendar.tz
        return [
            (datetime.combine(day, start, tz), datetime.combine(day, end, tz))
            for start, end in self.windows
        ]

    def hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from `start` to `end` (zero if `end` is not after `start`)."""
        if end <= start:
            return 0.0
        total = timedelta()
        day = start.astimezone(self.calendar.tz).date() - timedelta(days=1)
        last = end.astimezone(self.calendar.tz).date()
        while day <= last:
            for opens, closes in self._day_windows(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total / timedelta(hours=1)

    def hours_before(self, end: datetime, hours: float) -> datetime:
        """The earliest instant with no more than `hours` working hours left before `end`.

        Earliest, so that a warning falls when the offices close before a weekend rather than
        when they open after it."""
        left = timedelta(hours=hours)
        day = end.astimezone(self.calendar.tz).date()
        while True:
            for opens, closes in reversed(self._day_windows(day)):
                if opens >= end:
                    continue
                closes = min(closes, end)
                if closes - opens >= left:
                    if closes - opens == left:
                        return self._previous_close(opens)
                    return closes - left
                left -= closes - opens
            day -= timedelta(days=1)

    def hours_after(self, start: datetime, hours: float) -> datetime:
        """The latest instant with no more than `hours` working hours after `start`: whatever
        falls due by then has at most that many working hours left."""
        left = timedelta(hours=hours)
        day = start.astimezone(self.calendar.tz).date()
        while True:
            for opens, closes in self._day_windows(day):
                if closes <= start:
                    continue
                opens = max(opens, start)
                if closes - opens > left:
                    return opens + left
                left -= closes - opens
            day += timedelta(days=1)

    def _previous_close(self, moment: datetime) -> datetime:
        """The last closing time before `moment`: the same working hours away from any end."""
        day = moment.astimezone(self.calendar.tz).date()
        while True:
            closes = [c for _, c in self._day_windows(day) if c <= moment]
            if closes:
                return max(closes)
            day -= timedelta(days=1)


def parse_windows(text: str) -> tuple[tuple[time, time], ...]:
    windows = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        if not sep or closes <= opens:
            raise ValueError(f"office hours must look like 07:30-11:30, not {part!r}")
        windows.append((opens, closes))
    windows.sort()
    for (_, closes), (opens, _) in itertools.pairwise(windows):
        if opens < closes:
            raise ValueError(f"office hours overlap: {text!r}")
    return tuple(windows)
