from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.errors import PeriodError
from shared.periods import Calendar, PeriodKind


@pytest.fixture
def calendar() -> Calendar:
    return Calendar("Asia/Ho_Chi_Minh")


def test_periods_follow_local_time(calendar: Calendar) -> None:
    # Sunday 29/11/2026 23:30 in Hà Nội is 16:30 UTC: still ISO week 48.
    instant = datetime(2026, 11, 29, 16, 30, tzinfo=UTC)
    assert calendar.period_of(PeriodKind.WEEK, instant).key == "2026-W48"
    # Half an hour later it is Monday 30/11: week 49, still November.
    later = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    assert calendar.period_of(PeriodKind.WEEK, later).key == "2026-W49"
    assert calendar.period_of(PeriodKind.MONTH, later).key == "2026-11"
    # 30/11 17:00 UTC is midnight of 1/12 in Hà Nội.
    december = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert calendar.period_of(PeriodKind.MONTH, december).key == "2026-12"
    assert calendar.period_of(PeriodKind.YEAR, december).key == "2026"


@pytest.mark.parametrize("key", ["2026-W48", "2026-11", "2026-Q4", "2026-H2", "2026", "2020-W53"])
def test_keys_round_trip(calendar: Calendar, key: str) -> None:
    period = calendar.parse(key)
    assert period.key == key
    assert calendar.period_of(period.kind, period.start) == period
    assert calendar.following(calendar.preceding(period)) == period


@pytest.mark.parametrize("key", ["2026-W54", "2026-13", "2026-Q5", "last-week", "", "2026-1"])
def test_bad_keys_are_refused_with_a_message(calendar: Calendar, key: str) -> None:
    with pytest.raises(PeriodError, match="not"):
        calendar.parse(key)


def test_a_kind_name_means_the_current_period(calendar: Calendar) -> None:
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert calendar.resolve("quarter", now).key == "2026-Q4"
    assert calendar.resolve("2025-W01", now).key == "2025-W01"


def test_a_range_of_days_is_a_period_and_its_predecessor_has_as_many_days() -> None:
    calendar = Calendar()
    week = calendar.parse("2026-W47")
    days = calendar.parse("2026-11-16..2026-11-22")
    assert (days.start, days.end) == (week.start, week.end)
    assert days.kind is PeriodKind.RANGE
    assert calendar.preceding(days).key == "2026-11-09..2026-11-15"
    assert calendar.resolve("2026-11-16..2026-11-16", datetime.now(UTC)).key == (
        "2026-11-16..2026-11-16"
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("2026-11-17..2026-11-03", "ends on or after"),
        ("2025-01-01..2026-12-31", "at most 366 days"),
        ("2026-02-30..2026-03-02", "not a valid range"),
        ("range", "named by its days"),
    ],
)
def test_bad_ranges_are_refused_with_a_reason(key: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        Calendar().resolve(key, datetime.now(UTC))
