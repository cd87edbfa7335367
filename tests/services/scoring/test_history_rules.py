"""The history's pure rules: which days a step closes, and what a day's snapshot keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.scoring.history import day_end, day_ends, running_periods
from shared.periods import ALL_KINDS, Calendar, PeriodKind

CALENDAR = Calendar()
# Midnight ending Sunday 22/11/2026 in Hà Nội: 17:00 UTC on the Sunday.
SUNDAY_ENDS = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)


def test_a_day_ends_at_the_local_midnight() -> None:
    assert day_end(CALENDAR, date(2026, 11, 22)).at == SUNDAY_ENDS


def test_a_step_closes_the_days_whose_midnight_it_reaches_and_no_other() -> None:
    tick = timedelta(microseconds=1)
    assert day_ends(CALENDAR, SUNDAY_ENDS - tick, SUNDAY_ENDS - tick) == []
    assert [e.day for e in day_ends(CALENDAR, SUNDAY_ENDS - tick, SUNDAY_ENDS)] == [
        date(2026, 11, 22)
    ]
    # Already at the midnight: that day was closed by the step that got there.
    assert day_ends(CALENDAR, SUNDAY_ENDS, SUNDAY_ENDS + timedelta(hours=23)) == []
    days = day_ends(CALENDAR, SUNDAY_ENDS - timedelta(days=2), SUNDAY_ENDS + timedelta(hours=1))
    assert [e.day for e in days] == [date(2026, 11, 21), date(2026, 11, 22)]


def test_a_days_snapshot_keeps_the_periods_running_that_day() -> None:
    assert running_periods(CALENDAR, ALL_KINDS, date(2026, 11, 22)) == sorted(
        ["2026-W47", "2026-11", "2026-Q4", "2026-H2", "2026"]
    )
    # The first day of a week is in the new week, not the one that ended at its start.
    assert running_periods(CALENDAR, (PeriodKind.WEEK,), date(2026, 11, 23)) == ["2026-W48"]
