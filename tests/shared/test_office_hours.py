"""Working hours for "due soon": office windows on working days, and their inverses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.workdays import OfficeHours, WorkingCalendar, parse_windows

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE = OfficeHours(WorkingCalendar())  # 07:30-11:30 and 13:30-17:00: 7.5 hours a day


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def test_a_dossier_due_at_midnight_after_monday_is_warned_before_the_weekend() -> None:
    due = local(24, 0)  # the end of Monday 23/11
    # 7.5 hours on Monday, the last half hour on Friday 20/11.
    assert OFFICE.hours_before(due, 8) == local(20, 16, 30)
    # Exactly Monday's hours: the offices' closing on Friday, not their opening on Monday.
    assert OFFICE.hours_before(due, 7.5) == local(20, 17, 0)
    assert OFFICE.hours_between(local(20, 17, 0), due) == 7.5


def test_lunch_and_holidays_do_not_count() -> None:
    assert OFFICE.hours_between(local(19, 11, 0), local(19, 14, 0)) == 1.0
    # 1/1/2027 is a public holiday (Friday): from Thursday's close to Monday's opening, nothing.
    thursday = datetime(2026, 12, 31, 17, 0, tzinfo=TZ)
    monday = datetime(2027, 1, 4, 7, 30, tzinfo=TZ)
    assert OFFICE.hours_between(thursday, monday) == 0.0
    assert OFFICE.hours_after(thursday, 1) == datetime(2027, 1, 4, 8, 30, tzinfo=TZ)


def test_hours_after_stops_before_the_next_opening() -> None:
    # From Friday 13:30, 3.5 hours end at the close: anything due until Monday's opening is soon.
    assert OFFICE.hours_after(local(20, 13, 30), 3.5) == local(23, 7, 30)


@pytest.mark.parametrize("text", ["07:30", "11:30-07:30", "07:00-12:00,11:00-17:00", "x-y"])
def test_bad_office_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"office hours|Invalid isoformat"):
        parse_windows(text)


# Hypothesis takes naive bounds and adds the zone itself.
instants = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
hours = st.integers(min_value=1, max_value=24 * 4).map(lambda quarter: quarter / 4)


@given(instants, hours)
def test_hours_before_leaves_exactly_that_many_hours_and_is_the_earliest(
    end: datetime, h: float
) -> None:
    start = OFFICE.hours_before(end, h)
    assert OFFICE.hours_between(start, end) == pytest.approx(h)
    assert OFFICE.hours_between(start - timedelta(minutes=1), end) > h


@given(instants, hours)
def test_hours_after_is_the_latest_instant_within_that_many_hours(
    start: datetime, h: float
) -> None:
    end = OFFICE.hours_after(start, h)
    assert OFFICE.hours_between(start, end) == pytest.approx(h)
    assert OFFICE.hours_between(start, end + timedelta(minutes=1)) > h
