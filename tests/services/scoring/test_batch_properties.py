"""Invariants 1–3 of the design notes, on the scoring core, for random event histories.

1. Rebuild equals incremental: counts kept step by step equal counts recomputed from scratch.
2. Idempotent: delivering events again changes nothing.
3. Order-independent: any delivery order gives the same counts.
Plus the property the due-time schedule rests on: between transitions, contributions do not move.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.periods import ALL_KINDS
from shared.rules.contributions import contribution_in, contributions, next_transition
from shared.rules.dossier import apply_event, empty_state
from shared.rules.feedback import REGISTER_FIELDS as FEEDBACK_FIELDS
from shared.rules.feedback import feedback_contribution_in, feedback_contributions, read_feedback
from shared.workdays import WorkingCalendar
from tests.support.factories import dossier_event, feedback_event, rating
from tests.support.scoring import (
    CALENDAR,
    InMemoryScoring,
    facts_of,
    feedback_scorer,
    rebuild,
    stored,
    stored_feedback,
)

START = datetime(2026, 9, 20, 1, 0, tzinfo=UTC)
WORKDAYS = WorkingCalendar()
END = START + timedelta(days=75)
FLAGS = (
    "synced_to_national_portal",
    "e_result_issued",
    "digitized",
    "fee_required",
    "paid_online",
    "complaint",
)
STEPS = (
    "IN_PROGRESS",
    "SUPPLEMENT_REQUESTED",
    "SUPPLEMENTED",
    "PAYMENT_REQUESTED",
    "COMPLETED",
    "RESULT_RETURNED",
    "WITHDRAWN",
    "SUSPENDED",
    "REJECTED",
    "NOT_ACCEPTED",
)

hours = st.integers(min_value=0, max_value=24 * 70)


@st.composite
def dossier_history(draw: st.DrawFn, code: str) -> list[dict[str, Any]]:
    unit = draw(st.sampled_from(["U1", "U2", "U3"]))
    received_at = START + timedelta(hours=draw(hours))
    due = received_at + timedelta(hours=draw(st.integers(1, 24 * 15)))
    events = [
        dossier_event(
            code,
            "RECEIVED",
            received_at,
            unit_code=unit,
            received_at=received_at,
            due_at=due,
            channel=draw(st.sampled_from(["ONLINE", "DIRECT", "POSTAL"])),
            **{flag: draw(st.booleans()) for flag in FLAGS},
        )
    ]
    for _ in range(draw(st.integers(0, 5))):
        at = received_at + timedelta(hours=draw(st.integers(0, 24 * 30)))
        extra: dict[str, Any] = {}
        if draw(st.booleans()):
            extra[draw(st.sampled_from(FLAGS))] = draw(st.booleans())
        if draw(st.integers(0, 5)) == 0:
            extra["due_at"] = at + timedelta(hours=draw(st.integers(1, 24 * 10)))
        if draw(st.integers(0, 8)) == 0:
            extra["unit_code"] = draw(st.sampled_from(["U1", "U2", "U3"]))  # a correction
        else:
            extra["unit_code"] = unit
        status = draw(st.sampled_from(STEPS))
        form = draw(st.sampled_from(["status", "status", "status", "update", "progress"]))
        event = dossier_event(code, status, at, **extra)
        if form == "update":  # the facts with no step, as a national item's
            del event["status"]
            event["type"] = "DOSSIER_UPDATE"
        elif form == "progress":  # a processing step: its status, and nothing else
            event = {key: event[key] for key in ("event_id", "schema_version", "source")}
            event |= {"occurred_at": at.isoformat(), "dossier_code": code, "status": status}
            event["type"] = "DOSSIER_PROGRESS"
        events.append(event)
    if draw(st.booleans()):
        at = received_at + timedelta(hours=draw(st.integers(0, 24 * 30)))
        events.append(rating(code, draw(st.sampled_from(["SATISFIED", "UNSATISFIED"])), at, unit))
    return events


@st.composite
def province_history(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 6))
    return [stored(e) for i in range(count) for e in draw(dossier_history(f"D{i}"))]


@st.composite
def deliveries(
    draw: st.DrawFn, payloads: list[dict[str, Any]]
) -> list[tuple[datetime, list[dict[str, Any]]]]:
    """The events in a random order, in random batches, at increasing clock times."""
    order = draw(st.permutations(payloads))
    batches: list[tuple[datetime, list[dict[str, Any]]]] = []
    clock = START
    index = 0
    while index < len(order):
        size = draw(st.integers(1, 5))
        clock = min(END, clock + timedelta(hours=draw(st.integers(0, 24 * 10))))
        batches.append((clock, list(order[index : index + size])))
        index += size
    return batches


def incremental(
    batches: list[tuple[datetime, list[dict[str, Any]]]], scoring: InMemoryScoring | None = None
) -> tuple[dict, datetime]:
    """The counts after delivering `batches`, and the instant they stand at."""
    scoring = scoring or InMemoryScoring()
    for clock, payloads in batches:
        scoring.settle(clock)
        scoring.step(payloads, clock)
    scoring.settle(END)
    assert scoring.as_of is not None
    return scoring.nonzero_counts(), scoring.as_of


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(data=st.data())
def test_rebuild_equals_incremental(data: st.DataObject) -> None:
    payloads = data.draw(province_history())
    counts, as_of = incremental(data.draw(deliveries(payloads)))
    assert counts == rebuild(payloads, as_of)


@PROPERTY
@given(data=st.data())
def test_delivering_events_again_changes_nothing(data: st.DataObject) -> None:
    payloads = data.draw(province_history())
    again = data.draw(st.lists(st.sampled_from(payloads), max_size=len(payloads)))
    counts, as_of = incremental(data.draw(deliveries(payloads + again)))
    assert counts == rebuild(payloads, as_of)


@PROPERTY
@given(data=st.data())
def test_any_delivery_order_gives_the_same_counts(data: st.DataObject) -> None:
    payloads = data.draw(province_history())
    first, first_as_of = incremental(data.draw(deliveries(payloads)))
    second, second_as_of = incremental(data.draw(deliveries(payloads)))
    # Compared at the same instant, whatever the order each was delivered and rebuilt in.
    assert first == rebuild(data.draw(st.permutations(payloads)), first_as_of)
    assert second == rebuild(data.draw(st.permutations(payloads)), second_as_of)


@PROPERTY
@given(data=st.data())
def test_contributions_only_change_at_the_scheduled_transitions(data: st.DataObject) -> None:
    payloads = data.draw(province_history())
    code = data.draw(st.sampled_from(sorted({p["dossier_code"] for p in payloads})))
    facts = facts_of(p for p in payloads if p["dossier_code"] == code)
    # Most transitions happen within days of receipt: look there.
    t1 = (facts.received_at or START) + timedelta(
        hours=data.draw(st.integers(-24, 24 * 20)), minutes=data.draw(st.integers(0, 59))
    )
    transition = next_transition(facts, t1, CALENDAR, ALL_KINDS) or END + timedelta(days=400)
    assert transition > t1
    # Any instant before the next transition sees the same contribution as t1.
    span = (transition - t1) // timedelta(microseconds=1)
    t2 = t1 + timedelta(microseconds=data.draw(st.just(span - 1) | st.integers(0, span - 1)))
    assert contributions(facts, t1, CALENDAR, ALL_KINDS) == contributions(
        facts, t2, CALENDAR, ALL_KINDS
    )


FEEDBACK_STEPS = (
    "TRANSFERRED",
    "IN_PROGRESS",
    "SUPPLEMENT_REQUESTED",
    "ANSWERED",
    "PUBLISHED",
    "REJECTED",
)


@st.composite
def feedback_history(draw: st.DrawFn) -> list[dict[str, Any]]:
    payloads = []
    for index in range(draw(st.integers(1, 5))):
        code = f"F{index}"
        received_at = START + timedelta(hours=draw(hours))
        unit = draw(st.sampled_from(["U1", "U2"]))
        events = [
            feedback_event(
                code,
                "RECEIVED",
                received_at,
                unit_code=unit,
                category=draw(st.sampled_from(["REGULATION", "STAFF_CONDUCT"])),
            )
        ]
        for _ in range(draw(st.integers(0, 4))):
            at = received_at + timedelta(hours=draw(st.integers(0, 24 * 40)))
            extra: dict[str, Any] = {}
            if draw(st.booleans()):
                extra["rating"] = draw(st.sampled_from(["SATISFIED", "UNSATISFIED"]))
            if draw(st.integers(0, 4)) == 0:
                extra["raised_again"] = draw(st.booleans())
            events.append(
                feedback_event(
                    code, draw(st.sampled_from(FEEDBACK_STEPS)), at, unit_code=unit, **extra
                )
            )
        payloads += [stored_feedback(e) for e in events]
    return payloads


@PROPERTY
@given(data=st.data())
def test_feedback_rebuild_equals_incremental_in_any_order(data: st.DataObject) -> None:
    payloads = data.draw(feedback_history())
    again = data.draw(st.lists(st.sampled_from(payloads), max_size=3))
    counts, as_of = incremental(
        data.draw(deliveries(payloads + again)), InMemoryScoring(feedback_scorer())
    )
    assert counts == rebuild(payloads, as_of, feedback_scorer())


@PROPERTY
@given(data=st.data())
def test_a_period_computed_alone_counts_what_the_incremental_contributions_count(
    data: st.DataObject,
) -> None:
    """Ranges are computed with `contribution_in`: for the named periods it must agree with the
    contributions scoring keeps, cell for cell."""
    payloads = data.draw(province_history())
    code = data.draw(st.sampled_from(sorted({p["dossier_code"] for p in payloads})))
    facts = facts_of(p for p in payloads if p["dossier_code"] == code)
    now = START + timedelta(hours=data.draw(st.integers(0, 24 * 75)))
    kind = data.draw(st.sampled_from(ALL_KINDS))
    period = CALENDAR.period_of(kind, START + timedelta(hours=data.draw(st.integers(0, 24 * 75))))
    every = contributions(facts, now, CALENDAR, [kind]).all_cells()
    assert contribution_in(facts, period, now).all_cells() == {
        cell: value for cell, value in every.items() if cell[0] == period.key
    }


@PROPERTY
@given(data=st.data())
def test_a_period_computed_alone_counts_the_feedback_the_incremental_counts_do(
    data: st.DataObject,
) -> None:
    payloads = data.draw(feedback_history())
    code = data.draw(st.sampled_from(sorted({p["feedback_id"] for p in payloads})))
    state = empty_state()
    for payload in payloads:
        if payload["feedback_id"] == code:
            apply_event(state, payload, FEEDBACK_FIELDS)
    facts = read_feedback(state)
    now = START + timedelta(hours=data.draw(st.integers(0, 24 * 75)))
    kind = data.draw(st.sampled_from(ALL_KINDS))
    period = CALENDAR.period_of(kind, START + timedelta(hours=data.draw(st.integers(0, 24 * 75))))
    every = feedback_contributions(facts, now, CALENDAR, [kind], WORKDAYS).cells
    assert feedback_contribution_in(facts, period, now, WORKDAYS).cells == {
        cell: value for cell, value in every.items() if cell[0] == period.key
    }
