"""What an indicator's lists are made of: the parts of a list, and a range's counts computed in
pieces (as the api's worker processes do) equal to the range's counts computed at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import normalized_payload, parse_record
from shared.periods import Calendar
from shared.rules.contributions import with_province
from shared.rules.dossier import State, apply_event, empty_state
from shared.rules.members import (
    Part,
    among_overdue,
    range_counts,
    range_deltas,
    summed,
)
from shared.rules.ontime import evaluate
from shared.workdays import WorkingCalendar
from tests.support.factories import dossier_event, received
from tests.support.scoring import facts_of

CALENDAR = Calendar("Asia/Ho_Chi_Minh")
WORKDAYS = WorkingCalendar()
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
AS_OF = T0 + timedelta(days=30)
RANGE = CALENDAR.resolve("2026-11-05..2026-11-20", AS_OF)


@given(st.integers(min_value=0, max_value=10**6))
def test_every_denominator_member_is_in_exactly_one_of_numerator_and_shortfall(n: int) -> None:
    assert Part.DENOMINATOR.holds(n)
    assert Part.NUMERATOR.holds(n) != Part.SHORTFALL.holds(n)


def _state(code: str, unit: str, received_day: int, hours: int, finished: bool) -> State:
    state = empty_state()
    at = T0 + timedelta(days=received_day)
    events = [received(code, at, unit_code=unit, due_in=timedelta(days=3))]
    events.append(dossier_event(code, "IN_PROGRESS", at + timedelta(minutes=5), unit_code=unit))
    if finished:
        events.append(dossier_event(code, "COMPLETED", at + timedelta(hours=hours), unit_code=unit))
    for event in events:
        parsed = parse_record(orjson.dumps(event), topic="dossier")
        apply_event(state, normalized_payload(parsed))  # type: ignore[arg-type]
    return state


dossiers = st.lists(
    st.builds(
        _state,
        st.uuids().map(str),
        st.sampled_from(["SO-A", "SO-B", "XA-C"]),
        st.integers(min_value=0, max_value=25),
        st.integers(min_value=1, max_value=24 * 12),
        st.booleans(),
    ),
    max_size=30,
)


@given(dossiers, st.integers(min_value=0, max_value=30))
def test_a_range_counted_in_pieces_is_the_range_counted_at_once(
    states: list[State], cut: int
) -> None:
    whole = range_counts(states, [], RANGE, AS_OF, WORKDAYS, "19")
    texts = [orjson.dumps(state).decode() for state in states]
    pieces = [
        range_deltas([orjson.loads(text) for text in texts[:cut]], [], RANGE, AS_OF, WORKDAYS),
        range_deltas([orjson.loads(text) for text in texts[cut:]], [], RANGE, AS_OF, WORKDAYS),
    ]
    assert with_province(summed(pieces), "19") == whole
    assert with_province(range_deltas(states, [], RANGE, AS_OF, WORKDAYS), "19") == whole


STEPS = (
    "IN_PROGRESS",
    "SUPPLEMENT_REQUESTED",
    "SUPPLEMENTED",
    "COMPLETED",
    "RESULT_RETURNED",
    "SUSPENDED",
    "REJECTED",
    "WITHDRAWN",
)
hours = st.integers(min_value=0, max_value=24 * 40)


@settings(max_examples=1000)
@given(
    st.integers(min_value=1, max_value=24 * 15),
    st.lists(st.tuples(st.sampled_from(STEPS), hours), max_size=6),
    hours,
    hours,
)
def test_a_dossier_late_at_an_instant_is_late_at_every_later_one(
    due_in: int, steps: list[tuple[str, int]], first: int, second: int
) -> None:
    """Why 2.1's shortfall is read among the dossiers stored as overdue (`among_overdue`)."""
    assert among_overdue("2.1", Part.SHORTFALL)
    events = [received("D", T0, due_in=timedelta(hours=due_in))]
    events += [dossier_event("D", status, T0 + timedelta(hours=h)) for status, h in steps]
    facts = facts_of(events)
    earlier, later = sorted((T0 + timedelta(hours=first), T0 + timedelta(hours=second)))
    if not evaluate(facts, earlier).on_time:
        assert not evaluate(facts, later).on_time
