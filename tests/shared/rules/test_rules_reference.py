"""The rules' fast paths against plain references, on random dossier histories.

`contributions` skips work that a plain reading of the rules does: it evaluates the outcome only
at the period ends before the end of processing (from it on, every period stands as at `now`),
walks periods by their bounds in UTC, and takes the receipt counts from a cache;
`end_of_processing`, `_pauses` and `read_facts` read the steps in one pass. The references below
are those rules as first written, one step at a time: every number must be the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import Channel, DossierStatus, Rating
from shared.periods import ALL_KINDS, Calendar, Period, PeriodKind
from shared.rules.catalogue import activity_id
from shared.rules.contributions import (
    Contribution,
    Processing,
    contributions,
    next_transition,
    receipt_counts,
)
from shared.rules.dossier import (
    CATALOGUE_FACTS,
    NOT_ACCEPTED,
    NOT_YET_ACCEPTED,
    Facts,
    Mark,
    State,
    apply_event,
    empty_state,
    read_facts,
)
from shared.rules.ontime import (
    END_PRIORITY,
    Outcome,
    OverdueReason,
    end_of_processing,
    evaluate,
    overdue_crossing,
)
from tests.services.scoring.test_batch_properties import START, dossier_history
from tests.support.factories import dossier_event
from tests.support.scoring import facts_of, stored

CALENDAR = Calendar("Asia/Ho_Chi_Minh")
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# The references: the rules read one step at a time, as first written.


def reference_end_of_processing(facts: Facts, as_of: datetime) -> datetime | None:
    for statuses in END_PRIORITY:
        for mark in facts.marks:
            if mark.at > as_of:
                break
            if mark.status in statuses:
                return mark.at
    return None


def reference_pauses(facts: Facts, end: datetime) -> tuple[int, timedelta, datetime | None]:
    requests = sorted(
        {
            m.at
            for m in facts.marks
            if m.status == DossierStatus.SUPPLEMENT_REQUESTED and m.at <= end
        }
    )
    supplies = sorted(
        {m.at for m in facts.marks if m.status == DossierStatus.SUPPLEMENTED and m.at <= end}
    )
    closed = timedelta(0)
    pending_since: datetime | None = None
    covered_until: datetime | None = None
    supply_index = 0
    for requested in requests:
        while supply_index < len(supplies) and supplies[supply_index] < requested:
            supply_index += 1
        if supply_index == len(supplies):
            pending_since = requested if covered_until is None else max(requested, covered_until)
            break
        supplied = supplies[supply_index]
        supply_index += 1
        start = requested if covered_until is None else max(requested, covered_until)
        if supplied > start:
            closed += supplied - start
            covered_until = supplied
    return len(requests), closed, pending_since


def reference_evaluate(facts: Facts, as_of: datetime) -> Outcome:
    finished_at = reference_end_of_processing(facts, as_of)
    end = finished_at if finished_at is not None else as_of
    requests, closed, pending_since = reference_pauses(facts, end)
    adjusted = (pending_since if pending_since is not None else end) - closed
    reason: OverdueReason | None
    if requests > 1:
        on_time, reason = False, OverdueReason.MULTIPLE_SUPPLEMENTS
    elif facts.due_at is not None and adjusted > facts.due_at:
        on_time, reason = False, OverdueReason.LATE
    else:
        on_time, reason = True, None
    return Outcome(
        finished=finished_at is not None,
        end=end,
        adjusted_end=adjusted,
        on_time=on_time,
        overdue_reason=reason,
        supplement_requests=requests,
        closed_pause=closed,
        pending_since=pending_since,
    )


def reference_span(
    calendar: Calendar, kind: PeriodKind, first: datetime, last: datetime
) -> list[Period]:
    period = calendar.period_of(kind, first)
    periods = [period]
    while period.end <= last:
        period = calendar.following(period)
        periods.append(period)
    return periods


def reference_receipt_counts(facts: Facts) -> list[tuple[str, int, int]]:
    result_ok = not facts.paper_result_required or facts.e_result_issued
    counts = [
        ("1.4", int(facts.synced_to_national_portal), 1),
        ("3.3", int(facts.channel == Channel.ONLINE and result_ok), 1),
        ("4.2", int(facts.digitized and result_ok), 1),
        ("4.3", int(facts.reused_data), 1),
        ("4.4", int(facts.personal_store_linked), 1),
        ("4.5b", int(facts.population_data_used), 1),
    ]
    if facts.paper_result_required:
        counts.append(("4.1", int(facts.e_result_issued), 1))
    if facts.fee_required:
        counts.append(("3.6", int(facts.paid_online), 1))
    if facts.procedure_code:
        acts = (
            ("3.2", facts.channel == Channel.ONLINE),
            ("3.5", facts.fee_required),
            ("3.5b", facts.fee_required and facts.paid_online),
            ("4.5a", facts.population_data_used),
        )
        counts.extend((activity_id(i, facts.procedure_code), 1, 1) for i, done in acts if done)
    return counts


def reference_contributions(
    facts: Facts, now: datetime, calendar: Calendar, kinds: tuple[PeriodKind, ...]
) -> Contribution:
    """Every period of every kind the dossier was processed in, each evaluated at its own end."""
    received = facts.received_at
    if received is None or received > now or not facts.accepted:
        return Contribution()
    last_end = reference_end_of_processing(facts, now) or now
    processing: dict[str, Processing] = {}
    for kind in kinds:
        for period in reference_span(calendar, kind, received, last_end):
            outcome = reference_evaluate(facts, min(period.end, now))
            if outcome.finished and outcome.end < period.start:
                continue
            seconds = finished = 0
            if outcome.finished and period.contains(outcome.end):
                seconds = max(int((outcome.adjusted_end - received).total_seconds()), 0)
                finished = 1
            satisfied = (
                outcome.on_time and not facts.complaint and facts.rating != Rating.UNSATISFIED
            )
            processing[period.key] = (int(outcome.on_time), int(satisfied), seconds, finished)
    return Contribution(
        receipt_keys=tuple(calendar.period_of(kind, received).key for kind in kinds),
        receipt=tuple(reference_receipt_counts(facts)),
        processing=processing,
    )


def reference_next_transition(
    facts: Facts, now: datetime, calendar: Calendar, kinds: tuple[PeriodKind, ...]
) -> datetime | None:
    candidates = [m.at for m in facts.marks if m.at > now]
    received = facts.received_at
    if received is not None and received > now:
        candidates.append(received)
    outcome = None
    if received is not None and received <= now and facts.accepted:
        outcome = reference_evaluate(facts, now)
    if outcome is not None and not outcome.finished:
        crossing = overdue_crossing(facts, outcome)
        if crossing is not None:
            candidates.append(crossing)
        candidates.extend(calendar.period_of(kind, now).end for kind in kinds)
    return min(candidates, default=None)


def reference_read_facts(state: State) -> Facts:
    registers: dict[str, list[Any]] = state["f"]

    def value(name: str) -> Any:
        entry = registers.get(name)
        return None if entry is None else entry[0]

    marks = tuple(
        Mark(status, datetime.fromisoformat(at))
        for _, (status, at) in sorted(state["m"].items(), key=lambda kv: (kv[1][1], kv[0]))
    )
    received_at = (
        None if value("received_at") is None else datetime.fromisoformat(value("received_at"))
    )
    due_at = None if value("due_at") is None else datetime.fromisoformat(value("due_at"))
    statuses = {m.status for m in marks}
    own = value("paper_result_required")
    catalogue = state.get(CATALOGUE_FACTS, {}).get("paper_result_required")
    return Facts(
        unit_code=value("unit_code"),
        procedure_code=value("procedure_code"),
        received_at=received_at,
        due_at=due_at,
        channel=value("channel"),
        synced_to_national_portal=bool(value("synced_to_national_portal")),
        fee_required=bool(value("fee_required")),
        paid_online=bool(value("paid_online")),
        e_result_issued=bool(value("e_result_issued")),
        digitized=bool(value("digitized")),
        reused_data=bool(value("reused_data")),
        personal_store_linked=bool(value("personal_store_linked")),
        population_data_used=bool(value("population_data_used")),
        complaint=bool(value("complaint")),
        paper_result_required=(own if own is not None else catalogue) is not False,
        rating=value("rating"),
        marks=marks,
        accepted=received_at is not None
        and NOT_ACCEPTED not in statuses
        and bool(statuses - NOT_YET_ACCEPTED),
    )


# Random dossiers: the property tests' histories, with the facts that feed the receipt cache.


@st.composite
def dossier_state(draw: st.DrawFn) -> State:
    events = draw(dossier_history("D"))
    first = events[0]
    if draw(st.booleans()):
        first["procedure_code"] = draw(st.sampled_from(["1.001", "2.000015"]))
    for flag in ("population_data_used", "paper_result_required", "reused_data"):
        if draw(st.booleans()):
            first[flag] = draw(st.booleans())
    state = empty_state()
    for event in events:
        apply_event(state, stored(event))
    if draw(st.booleans()):
        state[CATALOGUE_FACTS] = {"paper_result_required": draw(st.booleans())}
    return state


def instants_of(facts: Facts) -> st.SearchStrategy[datetime]:
    """Any hour of the property tests' window, or just around one of the dossier's own instants
    or a local midnight: where steps land and periods end, the fast paths switch."""
    own = [m.at for m in facts.marks]
    if facts.received_at is not None:
        own.append(facts.received_at)
    midnight = START.replace(hour=17)  # 00:00 in Hà Nội
    around = st.builds(
        lambda base, days, tick: base + timedelta(days=days, microseconds=tick),
        st.sampled_from([*own, midnight]),
        st.just(0) | st.integers(1, 75),
        st.sampled_from([-1, 0, 1]),
    )
    anywhere = st.builds(lambda hours: START + timedelta(hours=hours), st.integers(-24, 24 * 80))
    return around | anywhere


kind_lists = st.lists(st.sampled_from(ALL_KINDS), unique=True).map(tuple) | st.just(ALL_KINDS)


@PROPERTY
@given(data=st.data())
def test_facts_are_read_as_the_plain_reading_reads_them(data: st.DataObject) -> None:
    state = data.draw(dossier_state())
    assert read_facts(state) == reference_read_facts(state)


@PROPERTY
@given(data=st.data())
def test_the_outcome_is_the_plain_reading_s_at_any_instant(data: st.DataObject) -> None:
    facts = read_facts(data.draw(dossier_state()))
    as_of = data.draw(instants_of(facts))
    assert end_of_processing(facts, as_of) == reference_end_of_processing(facts, as_of)
    assert evaluate(facts, as_of) == reference_evaluate(facts, as_of)


@PROPERTY
@given(data=st.data())
def test_contributions_are_the_plain_reading_s(data: st.DataObject) -> None:
    facts = read_facts(data.draw(dossier_state()))
    now = data.draw(instants_of(facts))
    kinds = data.draw(kind_lists)
    expected = reference_contributions(facts, now, CALENDAR, kinds)
    assert contributions(facts, now, CALENDAR, kinds) == expected
    # And with the outcome at `now` given, as scoring gives it.
    at_now = evaluate(facts, now)
    assert contributions(facts, now, CALENDAR, kinds, at_now) == expected
    assert receipt_counts(facts) == reference_receipt_counts(facts)


@PROPERTY
@given(data=st.data())
def test_the_next_transition_is_the_plain_reading_s_to_the_zone(data: st.DataObject) -> None:
    facts = read_facts(data.draw(dossier_state()))
    now = data.draw(instants_of(facts))
    kinds = data.draw(kind_lists)
    expected = reference_next_transition(facts, now, CALENDAR, kinds)
    found = next_transition(facts, now, CALENDAR, kinds)
    assert found == expected
    # The very instant, in the same zone: a period's end is given in local time.
    assert getattr(found, "tzinfo", None) is getattr(expected, "tzinfo", None)


@PROPERTY
@given(
    kind=st.sampled_from(list(PeriodKind)),
    first=st.integers(-24 * 400, 24 * 400),
    length=st.integers(-48, 24 * 800),
    tick=st.sampled_from([-1, 0, 1]),
)
def test_spans_are_the_periods_one_after_another(
    kind: PeriodKind, first: int, length: int, tick: int
) -> None:
    calendar = Calendar("Asia/Ho_Chi_Minh")
    start = START.replace(hour=17) + timedelta(hours=first, microseconds=tick)
    last = start + timedelta(hours=length)
    expected = reference_span(CALENDAR, kind, start, last)
    assert calendar.span(kind, start, last) == expected
    bounds = calendar.span_bounds(kind, start, last)
    assert [(b.key, b.start, b.end) for b in bounds] == [(p.key, p.start, p.end) for p in expected]
    assert all(b.start.tzinfo is UTC and b.end.tzinfo is UTC for b in bounds)
    assert calendar.bounds_of(kind, start).period == CALENDAR.period_of(kind, start)


RECEIVED_AT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # a Monday, 09:00 in Hà Nội
WEEK_END = CALENDAR.period_of(PeriodKind.WEEK, RECEIVED_AT).end  # midnight, Sunday to Monday


def test_a_dossier_finished_on_either_side_of_a_period_s_end() -> None:
    """Where `contributions` stops evaluating period ends and takes the outcome at `now`."""
    for completed in (WEEK_END - timedelta(microseconds=1), WEEK_END, WEEK_END + HOUR):
        facts = facts_of(
            [
                dossier_event(
                    "D", "RECEIVED", RECEIVED_AT, received_at=RECEIVED_AT, due_at=WEEK_END
                ),
                dossier_event("D", "IN_PROGRESS", RECEIVED_AT + HOUR),
                dossier_event("D", "SUPPLEMENT_REQUESTED", RECEIVED_AT + 2 * HOUR),
                dossier_event("D", "SUPPLEMENTED", WEEK_END - HOUR),
                dossier_event("D", "COMPLETED", completed.astimezone(UTC)),
            ]
        )
        for now in (completed, completed + timedelta(microseconds=1), WEEK_END + 40 * DAY):
            expected = reference_contributions(facts, now, CALENDAR, ALL_KINDS)
            assert contributions(facts, now, CALENDAR, ALL_KINDS) == expected
        # At each step's very instant, and either side of it.
        for mark in facts.marks:
            for as_of in (mark.at - timedelta(microseconds=1), mark.at, mark.at + HOUR):
                assert evaluate(facts, as_of) == reference_evaluate(facts, as_of)


def test_a_step_dated_at_a_period_s_end_gives_the_transition_as_the_step_does() -> None:
    """On a tie, `min` over the candidates keeps the first: the step's instant, in UTC."""
    facts = facts_of(
        [
            dossier_event(
                "D", "RECEIVED", RECEIVED_AT, received_at=RECEIVED_AT, due_at=WEEK_END + 30 * DAY
            ),
            dossier_event("D", "IN_PROGRESS", WEEK_END.astimezone(UTC)),
        ]
    )
    now = RECEIVED_AT + HOUR
    found = next_transition(facts, now, CALENDAR, ALL_KINDS)
    expected = reference_next_transition(facts, now, CALENDAR, ALL_KINDS)
    assert found == expected == WEEK_END
    assert found is not None
    assert expected is not None
    assert found.tzinfo is expected.tzinfo is UTC
    # Without the step, the week's end, in local time.
    alone = facts_of(
        [dossier_event("D", "RECEIVED", RECEIVED_AT, received_at=RECEIVED_AT, due_at=WEEK_END)]
    )
    found = next_transition(alone, now, CALENDAR, ALL_KINDS)
    assert found == WEEK_END
    assert found.tzinfo is WEEK_END.tzinfo
