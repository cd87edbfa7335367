"""Working days in Vietnam: Monday to Friday, less public holidays, with the government's swaps.

`holidays.VN` knows the public holidays and the days off given in lieu, but not the Saturdays that
are declared working days in exchange for a moved day off (e.g. 26/4/2025, 22/8/2026): those, and
any further day off the province declares, come from configuration.
"""

from __future__ import annotations

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

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off or day.weekday() >= 5:
            return False
        return day not in _vietnam(day.year)

    def shift(self, day: date, working_days: int) -> date:
        """The `working_days`-th working day after `day` (before it, if negative); `day`
        itself does not count."""
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
