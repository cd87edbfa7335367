"""Simulated dossiers arrive in office hours only, at each unit's weekly pace, and drawing them
always ends: a night, a Sunday or a holiday receives nothing instead of spinning forever."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.simulator.lifecycle import (
    OfficeSegment,
    office_segments,
    office_weeks,
    working_instants,
)
from services.simulator.main import Simulator
from shared.workdays import MAKE_UP_WORKING_DAYS, OfficeHours, WorkingCalendar

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR = WorkingCalendar()
HOLIDAYS = holidays.country_holidays("VN", years=range(2025, 2028))
OPENS, CLOSES = time(7, 30), time(17)
# 16-22/11/2026: five working days, an ordinary Saturday, a Sunday; no holiday.
NORMAL_MONDAY = date(2026, 11, 16)

NO_OFFICE_TIME = {
    "night": (datetime(2026, 11, 17, 2, tzinfo=TZ), datetime(2026, 11, 17, 4, tzinfo=TZ)),
    # The live loop's window: 20 s of simulated time, here just after closing.
    "17:30": (
        datetime(2026, 11, 17, 17, 30, tzinfo=TZ),
        datetime(2026, 11, 17, 17, 30, 20, tzinfo=TZ),
    ),
    "Sunday": (datetime(2026, 11, 22, tzinfo=TZ), datetime(2026, 11, 23, tzinfo=TZ)),
    "Quốc khánh": (datetime(2026, 9, 2, tzinfo=TZ), datetime(2026, 9, 3, tzinfo=TZ)),
    "30/4": (datetime(2026, 4, 30, tzinfo=TZ), datetime(2026, 5, 1, tzinfo=TZ)),
    "a holiday on a Saturday": (datetime(2027, 5, 1, tzinfo=TZ), datetime(2027, 5, 2, tzinfo=TZ)),
}


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, TZ)


def finishes_within(seconds: float, work: Callable[[], object]) -> bool:
    """Whether `work` returns in time: a sampler that never ends fails the test, not the run."""
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    return not worker.is_alive()


def receives_on(day: date) -> bool:
    """Whether the offices receive dossiers on `day` at all: a working day or a Saturday
    that is not a public holiday."""
    holiday = day in HOLIDAYS
    return CALENDAR.is_working_day(day) or (day.weekday() == 5 and not holiday)


@pytest.mark.parametrize(("start", "end"), NO_OFFICE_TIME.values(), ids=NO_OFFICE_TIME.keys())
def test_a_window_without_office_time_draws_no_instant(start: datetime, end: datetime) -> None:
    segments = office_segments(start, end)
    assert segments == []
    assert office_weeks(segments) == 0
    assert working_instants(random.Random(1), segments, 10) == []


@pytest.mark.parametrize(
    ("day", "weight"),
    [
        (NORMAL_MONDAY, 1.0),
        (date(2026, 11, 21), 0.15),  # an ordinary Saturday
        (MAKE_UP_WORKING_DAYS[1], 1.0),  # Saturday 22/8/2026, worked for Monday 31/8
        (date(2026, 8, 31), None),  # ...the day off it pays for
        (date(2026, 11, 22), None),  # a Sunday
        (date(2026, 9, 2), None),  # Quốc khánh
        (date(2027, 5, 1), None),  # Labour Day on a Saturday
    ],
)
def test_a_day_has_its_office_hours_at_its_weight(day: date, weight: float | None) -> None:
    segments = office_segments(local(day, time.min), local(day + timedelta(days=1), time.min))
    expected = (
        [] if weight is None else [OfficeSegment(local(day, OPENS), local(day, CLOSES), weight)]
    )
    assert segments == expected


def test_a_window_keeps_only_the_office_hours_inside_it() -> None:
    tuesday = NORMAL_MONDAY + timedelta(days=1)
    segments = office_segments(local(NORMAL_MONDAY, time(10)), local(tuesday, time(8)))
    assert segments == [
        OfficeSegment(local(NORMAL_MONDAY, time(10)), local(NORMAL_MONDAY, CLOSES), 1.0),
        OfficeSegment(local(tuesday, OPENS), local(tuesday, time(8)), 1.0),
    ]


def test_a_normal_week_is_one_week_of_office_time() -> None:
    week = office_segments(
        local(NORMAL_MONDAY, time.min), local(NORMAL_MONDAY + timedelta(weeks=1), time.min)
    )
    assert office_weeks(week) == pytest.approx(1.0)


def test_instants_fall_in_office_hours_as_often_as_each_day_receives() -> None:
    # Three weeks around the swap of 2026: make-up Saturday 22/8, days off 31/8 to 2/9.
    start, end = datetime(2026, 8, 17, tzinfo=TZ), datetime(2026, 9, 7, tzinfo=TZ)
    instants = working_instants(random.Random(766), office_segments(start, end), 30_000)

    assert len(instants) == 30_000
    per_day: Counter[date] = Counter()
    for instant in instants:
        assert instant.tzinfo is UTC
        assert start <= instant < end
        moment = instant.astimezone(TZ)
        assert OPENS <= moment.time() < CLOSES
        assert receives_on(moment.date())
        per_day[moment.date()] += 1
    weekday = per_day[date(2026, 8, 18)]
    assert 0.9 < per_day[MAKE_UP_WORKING_DAYS[1]] / weekday < 1.1
    assert 0.1 < per_day[date(2026, 8, 29)] / weekday < 0.2  # an ordinary Saturday


def test_a_seed_draws_the_same_instants() -> None:
    segments = office_segments(datetime(2026, 11, 16, tzinfo=TZ), datetime(2026, 11, 30, tzinfo=TZ))
    first = working_instants(random.Random(7), segments, 200)
    assert first == working_instants(random.Random(7), segments, 200)
    assert first != working_instants(random.Random(8), segments, 200)


@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis needs naive bounds
        max_value=datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
    count=st.integers(min_value=0, max_value=50),
)
def test_any_window_draws_exactly_count_instants_in_its_office_hours(
    start: datetime, length: timedelta, count: int
) -> None:
    end = start + length
    segments = office_segments(start, end)
    instants = working_instants(random.Random(count), segments, count)

    assert len(instants) == (count if segments else 0)
    for instant in instants:
        assert any(s.start <= instant < s.end for s in segments)
        moment = instant.astimezone(TZ)
        assert start <= instant < end
        assert OPENS <= moment.time() < CLOSES
        assert receives_on(moment.date())
    # The working days' part agrees with the calendar's own office hours.
    working = sum((s.end - s.start for s in segments if s.weight == 1), timedelta())
    hours = OfficeHours(CALENDAR, "07:30-17:00").hours_between(start, end)
    assert working / timedelta(hours=1) == pytest.approx(hours)


@pytest.mark.parametrize(("start", "end"), NO_OFFICE_TIME.values(), ids=NO_OFFICE_TIME.keys())
def test_the_simulator_receives_nothing_without_office_time(start: datetime, end: datetime) -> None:
    simulator = Simulator(seed=1, scale=1.0, malformed_rate=0)
    assert finishes_within(2, lambda: simulator.receive(start, end))
    assert simulator.pending == []


def test_the_simulator_receives_dossiers_on_a_working_day() -> None:
    simulator = Simulator(seed=1, scale=1.0, malformed_rate=0)
    day = NORMAL_MONDAY + timedelta(days=1)
    assert finishes_within(10, lambda: simulator.receive(local(day, OPENS), local(day, CLOSES)))
    daily = sum(u.profile.dossiers_per_week for u in simulator.units) / 5.15
    assert abs(simulator.factory.serial - daily) <= len(simulator.units)
    assert simulator.pending


def test_a_week_received_hour_by_hour_keeps_the_weekly_pace() -> None:
    simulator = Simulator(seed=1, scale=1.0, malformed_rate=0)
    start = local(NORMAL_MONDAY, time.min)
    for hour in range(7 * 24):
        simulator.receive(start + timedelta(hours=hour), start + timedelta(hours=hour + 1))
    weekly = sum(u.profile.dossiers_per_week for u in simulator.units)
    assert abs(simulator.factory.serial - weekly) < 0.03 * weekly
