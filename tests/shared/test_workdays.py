from __future__ import annotations

import pickle
from datetime import UTC, date, datetime

import pytest

from shared.workdays import WorkingCalendar


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 11, 23), True),  # a Monday
        (date(2026, 11, 24), False),  # Ngày Văn hóa Việt Nam, from 2026
        (date(2026, 11, 28), False),  # a Saturday
        (date(2026, 2, 17), False),  # Tết Nguyên Đán
        (date(2026, 4, 27), False),  # Giỗ Tổ, observed on the Monday
        (date(2026, 8, 31), False),  # day off moved from Saturday 22/8
        (date(2026, 8, 22), True),  # ...which is a working Saturday
        (date(2025, 4, 26), True),  # the same swap in 2025
        (date(2025, 5, 2), False),
    ],
)
def test_working_days_follow_the_vietnamese_calendar(
    calendar: WorkingCalendar, day: date, working: bool
) -> None:
    assert calendar.is_working_day(day) is working


def test_extra_days_off_come_from_configuration() -> None:
    calendar = WorkingCalendar(extra_days_off=[date(2026, 11, 27)])
    assert not calendar.is_working_day(date(2026, 11, 27))


def test_a_deadline_skips_weekends_and_holidays(calendar: WorkingCalendar) -> None:
    # Submitted Friday 20/11/2026; 2 working days: Mon 23, (Tue 24 is a holiday), Wed 25.
    submitted = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    deadline = calendar.deadline(submitted, 2)
    assert deadline.date() == date(2026, 11, 26)  # the end of Wednesday 25, local time
    assert deadline.utcoffset().total_seconds() == 7 * 3600  # type: ignore[union-attr]


def test_working_days_between_two_instants(calendar: WorkingCalendar) -> None:
    start = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # Friday
    end = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Thursday: Mon, Wed, Thu
    assert calendar.working_days_between(start, end) == 3
    assert calendar.working_days_between(start, start) == 0


def test_a_calendar_crosses_a_process_boundary_with_its_days_and_a_cache_of_its_own() -> None:
    calendar = WorkingCalendar(extra_days_off=[date(2026, 12, 2)])
    copy = pickle.loads(pickle.dumps(calendar))
    assert copy.extra_days_off == calendar.extra_days_off
    assert copy.tz == calendar.tz
    assert (
        copy.shift(date(2026, 12, 1), 1)
        == calendar.shift(date(2026, 12, 1), 1)
        == date(2026, 12, 3)
    )
