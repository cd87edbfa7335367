"""The history through the real pipeline: each closed day holds exactly the counts as they stood
at its end, whether scoring stepped at midnight or jumped over it with later events in hand; a
late event restates a day beside it; verify checks the latest closed day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from services.scoring.history import day_end, running_periods
from services.scoring.settings import ScoringSettings
from services.scoring.verify import verify, verify_report
from shared.clock import ManualClock
from shared.periods import ALL_KINDS, Calendar
from tests.support.factories import dossier_event, feedback_event, received
from tests.support.harness import PROVINCE
from tests.support.store import step_until_idle, store

CALENDAR = Calendar()
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
WEDNESDAY, THURSDAY, FRIDAY, SATURDAY = (date(2026, 11, d) for d in (18, 19, 20, 21))


def local(day: date, hour: float) -> datetime:
    """`hour` o'clock of `day` in Hà Nội."""
    return datetime(day.year, day.month, day.day, tzinfo=CALENDAR.tz).astimezone(UTC) + hour * HOUR


def midnight_after(day: date) -> datetime:
    return day_end(CALENDAR, day).at


# Wednesday: D1 goes overdue at 13:00, D2 is due Thursday 15:00, D3 is finished on time, F1 is
# feedback. Thursday: D4 is received (overdue at 20:00), D2 finishes late. Saturday: D5, and D4
# finishes.
WEDNESDAY_EVENTS = [
    received("D1", local(WEDNESDAY, 9), due_in=4 * HOUR),
    received("D2", local(WEDNESDAY, 9), due_in=30 * HOUR, unit_code="SO-NV"),
    received("D3", local(WEDNESDAY, 10), due_in=72 * HOUR),
    dossier_event("D3", "COMPLETED", local(WEDNESDAY, 16)),
    feedback_event("F1", "RECEIVED", local(WEDNESDAY, 11), category="REGULATION"),
]
THURSDAY_EVENTS = [
    received("D4", local(THURSDAY, 10), due_in=10 * HOUR),
    dossier_event("D2", "COMPLETED", local(THURSDAY, 16), unit_code="SO-NV"),
]
SATURDAY_EVENTS = [
    received("D5", local(SATURDAY, 8), due_in=48 * HOUR, unit_code="SO-NV"),
    dossier_event("D4", "COMPLETED", local(SATURDAY, 8.5)),
]
DAYS = (WEDNESDAY, THURSDAY, FRIDAY, SATURDAY)


async def live_counts(
    db_url: str, periods: list[str]
) -> dict[tuple[str, str, str], tuple[int, int]]:
    return await _cells(
        db_url,
        "SELECT unit_code, period_key, indicator_id, sum(numerator), sum(denominator)"
        " FROM indicator_counts WHERE period_key = ANY($1::text[])"
        " GROUP BY unit_code, period_key, indicator_id",
        periods,
    )


async def history(
    db_url: str, day: date, periods: list[str], table: str = "score_history"
) -> dict[tuple[str, str, str], tuple[int, int]]:
    return await _cells(
        db_url,
        "SELECT h.unit_code, h.period_key, c.key, sum((c.value->>0)::bigint),"
        f" sum((c.value->>1)::bigint) FROM {table} h, jsonb_each(h.counts) c"
        " WHERE h.period_key = ANY($1::text[]) AND h.day = $2"
        " GROUP BY h.unit_code, h.period_key, c.key",
        periods,
        day,
    )


async def _cells(
    db_url: str, query: str, *args: Any
) -> dict[tuple[str, str, str], tuple[int, int]]:
    connection = await asyncpg.connect(db_url)
    try:
        rows = await connection.fetch(query, *args)
    finally:
        await connection.close()
    return {(u, p, i): (int(n), int(d)) for u, p, i, n, d in rows if (n, d) != (0, 0)}


def restated(
    recorded: dict[tuple[str, str, str], tuple[int, int]],
    changes: dict[tuple[str, str, str], tuple[int, int]],
) -> dict[tuple[str, str, str], tuple[int, int]]:
    cells = dict(recorded)
    for key, (n, d) in changes.items():
        before = cells.get(key, (0, 0))
        cells[key] = (before[0] + n, before[1] + d)
    return {key: value for key, value in cells.items() if value != (0, 0)}


def settings(db_url: str) -> ScoringSettings:
    return ScoringSettings(database_url=db_url, province_code=PROVINCE)


async def stepping_just_before_each_midnight(
    db_url: str,
) -> dict[date, dict[tuple[str, str, str], tuple[int, int]]]:
    """The counts as they stood a second before each day's end, scoring having stepped then."""
    clock = ManualClock(local(WEDNESDAY, 12))
    await store(db_url, WEDNESDAY_EVENTS)
    await step_until_idle(db_url, clock)
    seen = {}
    for day, events in (
        (WEDNESDAY, []),
        (THURSDAY, THURSDAY_EVENTS),
        (FRIDAY, []),
        (SATURDAY, SATURDAY_EVENTS),
    ):
        if events:
            clock.set(local(day, 10))
            await store(db_url, events)
            await step_until_idle(db_url, clock)
        clock.set(midnight_after(day) - SECOND)
        await step_until_idle(db_url, clock)
        seen[day] = await live_counts(db_url, running_periods(CALENDAR, ALL_KINDS, day))
    return seen


async def test_each_closed_day_holds_the_counts_at_its_end_even_when_a_step_jumps_midnight(
    db_url: str, second_db_url: str
) -> None:
    expected = await stepping_just_before_each_midnight(second_db_url)

    clock = ManualClock(local(WEDNESDAY, 12))
    await store(db_url, WEDNESDAY_EVENTS)
    await step_until_idle(db_url, clock)
    # Thursday's events are stored before the step that closes Wednesday: they occurred after
    # its end, so they are applied after the day closed, and D4's due time (20:00) passes in the
    # same step.
    await store(db_url, THURSDAY_EVENTS)
    clock.set(local(THURSDAY, 21))
    await step_until_idle(db_url, clock)
    # One step closes Thursday and Friday, with Saturday's events in hand.
    await store(db_url, SATURDAY_EVENTS)
    clock.set(local(SATURDAY, 9))
    await step_until_idle(db_url, clock)
    clock.set(local(SATURDAY + timedelta(days=1), 1))
    await step_until_idle(db_url, clock)

    for day in DAYS:
        periods = running_periods(CALENDAR, ALL_KINDS, day)
        kept = await history(db_url, day, periods)
        assert kept == expected[day], day
        assert kept, day
    # The stepping run's history says the same.
    for day in DAYS[:-1]:
        periods = running_periods(CALENDAR, ALL_KINDS, day)
        assert await history(second_db_url, day, periods) == expected[day]
    # Some counts moved from day to day: the days are not copies of one another.
    assert expected[WEDNESDAY] != expected[THURSDAY]
    assert (await verify_report(settings(db_url))).history_day == SATURDAY
    assert await verify(settings(db_url)) == []


async def test_a_late_event_restates_a_closed_day_beside_what_it_recorded(
    db_url: str, second_db_url: str
) -> None:
    # D1 was finished at 12:30 on Wednesday, on time; the event arrives on Friday.
    late = dossier_event("D1", "COMPLETED", local(WEDNESDAY, 12.5))
    clock = ManualClock(local(WEDNESDAY, 12))
    await store(db_url, WEDNESDAY_EVENTS)
    await step_until_idle(db_url, clock)
    clock.set(local(FRIDAY, 9))
    await step_until_idle(db_url, clock)
    periods = running_periods(CALENDAR, ALL_KINDS, WEDNESDAY)
    recorded = await history(db_url, WEDNESDAY, periods)
    assert recorded[("SO-TP", "2026-W47", "2.1")] == (1, 2)  # D1 overdue, D3 on time

    await store(db_url, [late])
    clock.set(local(FRIDAY, 10))
    await step_until_idle(db_url, clock)

    # What Wednesday recorded is unchanged; the restatement is beside it, dated.
    assert await history(db_url, WEDNESDAY, periods) == recorded
    changes = await history(db_url, WEDNESDAY, periods, table="history_restatements")
    assert changes[("SO-TP", "2026-W47", "2.1")] == (1, 0)
    assert changes[(PROVINCE, "2026-W47", "2.1")] == (1, 0)
    connection = await asyncpg.connect(db_url)
    try:
        dated = await connection.fetch(
            "SELECT DISTINCT day, restated_at FROM history_restatements ORDER BY day"
        )
    finally:
        await connection.close()
    assert [row["day"] for row in dated] == [WEDNESDAY, THURSDAY]
    assert {row["restated_at"] for row in dated} == {local(FRIDAY, 10)}

    # Restated, each day is what the counts would have been at its end with the late event in.
    clock = ManualClock(local(WEDNESDAY, 12))
    await store(second_db_url, [*WEDNESDAY_EVENTS, late])
    await step_until_idle(second_db_url, clock)
    for day in (WEDNESDAY, THURSDAY):
        clock.set(midnight_after(day) - SECOND)
        await step_until_idle(second_db_url, clock)
        periods = running_periods(CALENDAR, ALL_KINDS, day)
        with_late = await live_counts(second_db_url, periods)
        assert (
            restated(
                await history(db_url, day, periods),
                await history(db_url, day, periods, table="history_restatements"),
            )
            == with_late
        ), day
    assert await verify(settings(db_url)) == []


async def test_several_instances_each_close_their_own_partitions(db_url: str) -> None:
    clock = ManualClock(local(WEDNESDAY, 12))
    await store(db_url, WEDNESDAY_EVENTS + THURSDAY_EVENTS)
    count = settings(db_url).scoring_partitions
    halves = (tuple(range(0, count, 2)), tuple(range(1, count, 2)))
    for half in halves:
        await step_until_idle(db_url, clock, half)
    clock.set(local(FRIDAY, 9))
    # Only half of the partitions have closed Thursday: the day is not in the history yet.
    await step_until_idle(db_url, clock, halves[0])
    assert (await verify_report(settings(db_url))).history_day is None
    await step_until_idle(db_url, clock, halves[1])
    report = await verify_report(settings(db_url))
    assert report.history_day == THURSDAY
    assert report.differences == []
    connection = await asyncpg.connect(db_url)
    try:
        closes = await connection.fetchval(
            "SELECT count(*) FROM history_days WHERE day = $1", THURSDAY
        )
    finally:
        await connection.close()
    assert closes == count
