"""Feedback (PAKN): deadlines in working days, and indicators 5.1, 5.2, 5.3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from shared.events import Refusal, normalized_payload, parse_record
from shared.periods import PeriodKind
from shared.rules.dossier import apply_event, empty_state
from shared.rules.feedback import (
    REGISTER_FIELDS,
    evaluate_feedback,
    feedback_contributions,
    feedback_transition,
    read_feedback,
)
from shared.workdays import WorkingCalendar
from tests.support.factories import feedback_event
from tests.support.scoring import CALENDAR

WORKDAYS = WorkingCalendar()
# Monday 2/11/2026 09:00 in Hà Nội. 15 working days later is Monday 23/11 (end of day).
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def facts(*events: dict):  # type: ignore[no-untyped-def]
    state = empty_state()
    for event in events:
        parsed = parse_record(orjson.dumps(event), topic="feedback")
        assert not isinstance(parsed, Refusal), parsed
        apply_event(state, normalized_payload(parsed), REGISTER_FIELDS)
    return read_feedback(state)


def test_answered_and_published_within_the_deadlines_is_on_time() -> None:
    f = facts(
        feedback_event("F", "RECEIVED", T0, category="REGULATION"),
        feedback_event("F", "ANSWERED", T0 + 10 * DAY),
        feedback_event("F", "PUBLISHED", T0 + 11 * DAY),
    )
    outcome = evaluate_feedback(f, T0 + 30 * DAY, WORKDAYS)
    assert (outcome.finished, outcome.late) == (True, False)


def test_an_answer_after_15_working_days_is_late() -> None:
    # 15 working days from Monday 2/11 end on Monday 23/11; Tuesday 24/11 is a holiday.
    on_time = facts(
        feedback_event("F", "RECEIVED", T0), feedback_event("F", "ANSWERED", T0 + 21 * DAY)
    )
    late = facts(
        feedback_event("F", "RECEIVED", T0), feedback_event("F", "ANSWERED", T0 + 23 * DAY)
    )
    assert not evaluate_feedback(on_time, T0 + 22 * DAY, WORKDAYS).late
    assert evaluate_feedback(late, T0 + 23 * DAY, WORKDAYS).late


def test_a_transfer_restarts_the_clock() -> None:
    f = facts(
        feedback_event("F", "RECEIVED", T0),
        feedback_event("F", "TRANSFERRED", T0 + 10 * DAY),
        feedback_event("F", "ANSWERED", T0 + 25 * DAY),
    )
    assert not evaluate_feedback(f, T0 + 26 * DAY, WORKDAYS).late


def test_a_refusal_after_2_working_days_is_late() -> None:
    f = facts(feedback_event("F", "RECEIVED", T0), feedback_event("F", "REJECTED", T0 + 4 * DAY))
    assert evaluate_feedback(f, T0 + 5 * DAY, WORKDAYS).late


def test_publication_more_than_2_working_days_after_the_answer_is_late() -> None:
    f = facts(
        feedback_event("F", "RECEIVED", T0),
        feedback_event("F", "ANSWERED", T0 + 3 * DAY),  # Thursday
        feedback_event("F", "PUBLISHED", T0 + 7 * DAY),  # Monday: the 2nd working day after
    )
    assert not evaluate_feedback(f, T0 + 9 * DAY, WORKDAYS).late
    slow = facts(
        feedback_event("F", "RECEIVED", T0),
        feedback_event("F", "ANSWERED", T0 + 3 * DAY),
        feedback_event("F", "PUBLISHED", T0 + 8 * DAY),
    )
    assert evaluate_feedback(slow, T0 + 9 * DAY, WORKDAYS).late


def test_indicators_5_1_5_2_5_3_per_period() -> None:
    f = facts(
        feedback_event("F", "RECEIVED", T0, category="STAFF_CONDUCT"),
        feedback_event("F", "ANSWERED", T0 + 2 * DAY),
        feedback_event("F", "PUBLISHED", T0 + 3 * DAY, rating="UNSATISFIED"),
    )
    cells = feedback_contributions(f, T0 + 10 * DAY, CALENDAR, [PeriodKind.MONTH], WORKDAYS)
    assert cells.all_cells() == {
        ("2026-11", "5.1"): (0, 1),  # not about regulations
        ("2026-11", "5.2"): (1, 1),  # on time
        ("2026-11", "5.3"): (0, 1),  # disliked
    }


def test_an_open_feedback_turns_late_when_its_deadline_passes_with_no_event() -> None:
    f = facts(feedback_event("F", "RECEIVED", T0))
    deadline = WORKDAYS.deadline(T0, 15)
    transition = feedback_transition(f, T0 + DAY, CALENDAR, [PeriodKind.YEAR], WORKDAYS)
    assert transition == deadline + timedelta(microseconds=1)
    before = feedback_contributions(f, deadline, CALENDAR, [PeriodKind.YEAR], WORKDAYS)
    after = feedback_contributions(f, transition, CALENDAR, [PeriodKind.YEAR], WORKDAYS)
    assert before.all_cells()[("2026", "5.2")] == (1, 1)
    assert after.all_cells()[("2026", "5.2")] == (0, 1)
    assert after.all_cells()[("2026", "5.3")] == (0, 1)
