"""A dossier still being processed at an instant is on time there exactly before its
`overdue_from`, and what a range ended then leaves out of its day counts (`unsettled_in`) is
what `on_time_until` says, for any history and any range end."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.rules.contributions import on_time_until, unsettled_in
from shared.rules.ontime import end_of_processing, evaluate, overdue_from
from tests.services.scoring.test_batch_properties import (
    END,
    PROPERTY,
    START,
    dossier_history,
    hours,
)
from tests.support.factories import dossier_event, received
from tests.support.scoring import CALENDAR, facts_of

TICK = timedelta(microseconds=1)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
ENDS = ("COMPLETED", "RESULT_RETURNED", "SUSPENDED", "WITHDRAWN", "REJECTED")


@st.composite
def in_process(draw: st.DrawFn) -> list[dict]:
    """A dossier asked for supplements (overlapping, answered or not, at the same instant as
    another step or not) and ended, or not, by one or two end steps."""
    at = START + timedelta(hours=draw(st.integers(0, 24 * 20)))
    due_hours = draw(st.integers(1, 24 * 12))
    events = [received("D", at, due_in=timedelta(hours=due_hours))]
    if draw(st.integers(0, 4)) == 0:
        del events[0]["due_at"]
    events.append(dossier_event("D", "IN_PROGRESS", at + HOUR))
    # Around the due time, where the pauses decide.
    later = st.integers(0, 2 * due_hours).map(lambda h: at + timedelta(hours=h))
    for _ in range(draw(st.integers(0, 4))):
        status = draw(st.sampled_from(["SUPPLEMENT_REQUESTED", "SUPPLEMENTED"]))
        events.append(dossier_event("D", status, draw(later)))
    for _ in range(draw(st.integers(0, 2))):
        end = at + timedelta(hours=draw(st.integers(0, 4 * due_hours)))
        events.append(dossier_event("D", draw(st.sampled_from(ENDS)), end))
    if draw(st.booleans()):
        events[0]["complaint"] = draw(st.booleans())
    return events


histories = st.one_of(in_process(), dossier_history("D"))


@PROPERTY
@given(events=histories, offsets=st.lists(hours, min_size=1, max_size=8))
def test_on_time_exactly_before_overdue_from_while_no_end_has_come(
    events: list[dict], offsets: list[int]
) -> None:
    facts = facts_of(events)
    if not facts.accepted or facts.received_at is None:
        return
    turns = overdue_from(facts)
    instants = [facts.received_at + timedelta(hours=h, minutes=7) for h in offsets]
    if turns is not None:
        instants += [turns - TICK, turns]
    for at in instants:
        if at < facts.received_at or end_of_processing(facts, at) is not None:
            continue
        assert evaluate(facts, at).on_time == (turns is None or at < turns), at


@PROPERTY
@given(
    events=histories,
    days=st.integers(min_value=0, max_value=72),
    length=st.integers(min_value=1, max_value=20),
    now_hours=st.integers(min_value=0, max_value=24 * 80),
)
def test_a_range_ended_before_now_leaves_out_what_on_time_until_says(
    events: list[dict], days: int, length: int, now_hours: int
) -> None:
    facts = facts_of(events)
    now = min(START + timedelta(hours=now_hours), END + 10 * DAY)
    ended = end_of_processing(facts, now)
    terms = on_time_until(facts, ended)
    if terms is None:
        return
    last = (START + timedelta(days=days)).astimezone(CALENDAR.tz).date()
    period = CALENDAR.day_range(last - timedelta(days=length - 1), last)
    if period.end > now:
        return
    assert facts.received_at is not None
    still_in_process = facts.received_at < period.end and (ended is None or ended >= period.end)
    expected = {}
    if still_in_process:
        on_time = terms.overdue_from is None or period.end < terms.overdue_from
        expected = {period.key: (int(on_time), int(on_time and not terms.disliked), 0, 0)}
    assert unsettled_in(facts, period, now).processing == expected


def test_a_supplement_moves_the_instant_a_dossier_turns_overdue() -> None:
    t0 = START
    asked, answered = t0 + 10 * HOUR, t0 + 34 * HOUR
    events = [
        received("D", t0, due_in=2 * DAY),
        dossier_event("D", "IN_PROGRESS", t0 + HOUR),
        dossier_event("D", "SUPPLEMENT_REQUESTED", asked),
        dossier_event("D", "SUPPLEMENTED", answered),
    ]
    assert overdue_from(facts_of(events)) == t0 + 2 * DAY + (answered - asked) + TICK
    pending = events[:3]
    # While the request is pending the clock stands still: never late unless another comes.
    assert overdue_from(facts_of(pending)) is None
    again = [*events, dossier_event("D", "SUPPLEMENT_REQUESTED", t0 + 40 * HOUR)]
    assert overdue_from(facts_of(again)) == t0 + 40 * HOUR


def test_a_suspension_before_the_completion_is_not_decided_by_the_instant_alone() -> None:
    t0 = START
    events = [
        received("D", t0, due_in=2 * DAY),
        dossier_event("D", "SUSPENDED", t0 + DAY),
        dossier_event("D", "COMPLETED", t0 + 3 * DAY),
    ]
    facts = facts_of(events)
    assert on_time_until(facts, end_of_processing(facts, t0 + 9 * DAY)) is None
    returned = [*events[:1], events[2], dossier_event("D", "RESULT_RETURNED", t0 + 4 * DAY)]
    facts = facts_of(returned)
    decided = on_time_until(facts, end_of_processing(facts, t0 + 9 * DAY))
    assert decided is not None
    assert decided.overdue_from == t0 + 2 * DAY + TICK
