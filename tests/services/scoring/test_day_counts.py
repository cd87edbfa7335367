"""A range's counts from the day counts scoring keeps (and what they leave out, from states)
equal the range's counts from every state, for any range, at any instant."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.periods import Period
from shared.rules.contributions import IN_PROGRESS, CountKey, with_province
from shared.rules.dossier import State
from shared.rules.members import range_counts, unsettled_deltas
from shared.workdays import WorkingCalendar
from tests.services.scoring.test_batch_properties import PROPERTY, START, province_history
from tests.support.factories import dossier_event, received
from tests.support.scoring import CALENDAR, PROVINCE, dossier_scorer, stored

WORKDAYS = WorkingCalendar()
FIRST_DAY = START.astimezone(CALENDAR.tz).date()

Cells = dict[tuple[str, str], tuple[int, int]]


def from_day_counts(
    counts: dict[CountKey, tuple[int, int]], states: list[State], period: Period, as_of: datetime
) -> Cells:
    """As the api sums a range (`ScoreBoard._range`), over counts in memory."""
    keys = set(CALENDAR.day_keys(period))
    if period.start <= as_of < period.end:
        keys.add(IN_PROGRESS)
    summed: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (unit, key, indicator), (numerator, denominator) in counts.items():
        if key in keys:
            summed[unit, indicator][0] += numerator
            summed[unit, indicator][1] += denominator
    if period.end <= as_of:
        rest = unsettled_deltas(states, [], period, as_of, WORKDAYS)
        for (unit, _, indicator), (numerator, denominator) in with_province(rest, PROVINCE).items():
            summed[unit, indicator][0] += numerator
            summed[unit, indicator][1] += denominator
    return {cell: (n, d) for cell, (n, d) in summed.items() if n or d}


def from_every_state(states: list[State], period: Period, as_of: datetime) -> Cells:
    every = range_counts(states, [], period, as_of, WORKDAYS, PROVINCE)
    return {(unit, indicator): (n, d) for (unit, _, indicator), (n, d) in every.items()}


days = st.integers(min_value=-5, max_value=80)


@PROPERTY
@given(data=st.data(), first=days, length=st.integers(min_value=1, max_value=45))
def test_a_range_summed_from_day_counts_is_the_range_from_every_state(
    data: st.DataObject, first: int, length: int
) -> None:
    payloads = data.draw(province_history())
    # Before, inside and after the range: the range ended, holds the instant, or is ahead.
    as_of = START + timedelta(hours=data.draw(st.integers(0, 24 * 85)), minutes=7)
    step = dossier_scorer().step({}, payloads, [], as_of)
    counts = {key: (n, d) for key, (n, d) in step.deltas.items()}
    states = [row.state for row in step.rows]
    start = FIRST_DAY + timedelta(days=first)
    period = CALENDAR.day_range(start, start + timedelta(days=length - 1))
    assert from_day_counts(counts, states, period, as_of) == from_every_state(states, period, as_of)


def test_a_day_is_a_range_of_one_day() -> None:
    day = CALENDAR.parse("2026-11-03")
    assert day == CALENDAR.day_range(date(2026, 11, 3), date(2026, 11, 3))
    assert CALENDAR.day_keys(CALENDAR.parse("2026-10-30..2026-11-02")) == [
        "2026-10-30",
        "2026-10-31",
        "2026-11-01",
        "2026-11-02",
    ]


def test_the_edges_of_a_range_ended_before_the_instant() -> None:
    """Finished at the range's last midnight (in progress at its end, so not in its day counts);
    suspended in it and completed after it (finished in it as of its end, not as of now); and
    in progress at its end and still now."""
    period = CALENDAR.parse("2026-11-02..2026-11-08")
    end, day = period.end, timedelta(days=1)
    as_of = end + 3 * day
    events = [
        received("AT-END", end - 2 * day, due_in=day),
        dossier_event("AT-END", "IN_PROGRESS", end - 2 * day + timedelta(minutes=5)),
        dossier_event("AT-END", "COMPLETED", end),
        received("REOPENED", end - 4 * day, due_in=6 * day),
        dossier_event("REOPENED", "IN_PROGRESS", end - 4 * day + timedelta(minutes=5)),
        dossier_event("REOPENED", "SUSPENDED", end - 2 * day),
        dossier_event("REOPENED", "COMPLETED", end + day),
        received("OPEN", end - 3 * day, due_in=day),
        dossier_event("OPEN", "IN_PROGRESS", end - 3 * day + timedelta(minutes=5)),
    ]
    step = dossier_scorer().step({}, [stored(e) for e in events], [], as_of)
    counts = {key: (n, d) for key, (n, d) in step.deltas.items()}
    states = [row.state for row in step.rows]
    expected = from_every_state(states, period, as_of)
    assert expected[PROVINCE, "2.1"] == (1, 3)  # only REOPENED, finished in time as of the end
    assert from_day_counts(counts, states, period, as_of) == expected
