"""The on-time rules of the methodology (2.1, 5.4, 2.2), scenario by scenario."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.periods import ALL_KINDS, PeriodKind
from shared.rules.contributions import contributions, next_transition
from shared.rules.ontime import evaluate
from tests.support.factories import dossier_event, rating, received
from tests.support.scoring import CALENDAR, facts_of

# Monday 16/11/2026 09:00 in Hà Nội.
T0 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def outcome(events: list[dict], at: datetime):
    return evaluate(facts_of(events), at)


def test_finished_before_the_due_date_is_on_time() -> None:
    result = outcome(
        [received("D", T0, due_in=3 * DAY), dossier_event("D", "COMPLETED", T0 + 2 * DAY)],
        T0 + 9 * DAY,
    )
    assert (result.finished, result.on_time, result.overdue_reason) == (True, True, None)


def test_finished_on_the_due_instant_is_on_time_and_a_microsecond_later_is_not() -> None:
    on_the_day = outcome(
        [received("D", T0, due_in=3 * DAY), dossier_event("D", "COMPLETED", T0 + 3 * DAY)],
        T0 + 9 * DAY,
    )
    late = outcome(
        [
            received("D", T0, due_in=3 * DAY),
            dossier_event("D", "COMPLETED", T0 + 3 * DAY + timedelta(microseconds=1)),
        ],
        T0 + 9 * DAY,
    )
    assert on_the_day.on_time
    assert (late.on_time, late.overdue_reason) == (False, "late")


def test_a_supplement_wait_is_taken_off_the_end() -> None:
    events = [
        received("D", T0, due_in=3 * DAY),
        dossier_event("D", "SUPPLEMENT_REQUESTED", T0 + DAY),
        dossier_event("D", "SUPPLEMENTED", T0 + 3 * DAY),  # two days waiting for the citizen
        dossier_event("D", "COMPLETED", T0 + 4 * DAY),  # a day after due_at, less two days
    ]
    result = outcome(events, T0 + 9 * DAY)
    assert result.on_time
    assert result.closed_pause == 2 * DAY
    assert result.adjusted_end == T0 + 2 * DAY


def test_a_pending_supplement_stops_the_clock_at_the_request() -> None:
    events = [
        received("D", T0, due_in=3 * DAY),
        dossier_event("D", "SUPPLEMENT_REQUESTED", T0 + DAY),
    ]
    result = outcome(events, T0 + 30 * DAY)
    assert (result.finished, result.on_time, result.pending_since) == (False, True, T0 + DAY)
    assert result.clock_stopped_at == T0 + DAY


def test_more_than_one_supplement_request_is_overdue_even_if_early() -> None:
    events = [
        received("D", T0, due_in=10 * DAY),
        dossier_event("D", "SUPPLEMENT_REQUESTED", T0 + HOUR),
        dossier_event("D", "SUPPLEMENTED", T0 + 2 * HOUR),
        dossier_event("D", "SUPPLEMENT_REQUESTED", T0 + 3 * HOUR),
        dossier_event("D", "SUPPLEMENTED", T0 + 4 * HOUR),
        dossier_event("D", "COMPLETED", T0 + DAY),
    ]
    result = outcome(events, T0 + 20 * DAY)
    assert (result.on_time, result.overdue_reason, result.supplement_requests) == (
        False,
        "multiple_supplements",
        2,
    )


def test_completed_is_preferred_to_an_earlier_result_returned() -> None:
    events = [
        received("D", T0, due_in=3 * DAY),
        dossier_event("D", "RESULT_RETURNED", T0 + 2 * DAY),
        dossier_event("D", "COMPLETED", T0 + 4 * DAY),
    ]
    assert outcome(events, T0 + 9 * DAY).end == T0 + 4 * DAY
    assert not outcome(events, T0 + 9 * DAY).on_time
    # Before COMPLETED existed, RESULT_RETURNED was the end.
    assert outcome(events, T0 + 3 * DAY).end == T0 + 2 * DAY


def test_withdrawal_suspension_and_rejection_end_processing() -> None:
    for status in ("WITHDRAWN", "SUSPENDED", "REJECTED"):
        result = outcome(
            [received("D", T0, due_in=3 * DAY), dossier_event("D", status, T0 + DAY)], T0 + 9 * DAY
        )
        assert (result.finished, result.end) == (True, T0 + DAY), status


def test_without_a_due_date_nothing_is_late() -> None:
    events = [dossier_event("D", "RECEIVED", T0, procedure_code="1.001")]
    assert outcome(events, T0 + 100 * DAY).on_time


def test_an_in_progress_dossier_turns_overdue_when_its_due_date_passes_with_no_event() -> None:
    facts = facts_of([received("D", T0, due_in=2 * DAY)])
    before = contributions(facts, T0 + 2 * DAY, CALENDAR, [PeriodKind.WEEK]).all_cells()
    after = contributions(facts, T0 + 2 * DAY + HOUR, CALENDAR, [PeriodKind.WEEK]).all_cells()
    assert before[("2026-W47", "2.1")] == (1, 1)
    assert after[("2026-W47", "2.1")] == (0, 1)
    # The scorer is told to come back just after the due instant.
    assert next_transition(
        facts, T0 + DAY, CALENDAR, [PeriodKind.WEEK]
    ) == T0 + 2 * DAY + timedelta(microseconds=1)


def test_a_dossier_in_progress_across_weeks_counts_in_each_week_it_was_processed() -> None:
    events = [received("D", T0, due_in=10 * DAY), dossier_event("D", "COMPLETED", T0 + 8 * DAY)]
    counts = contributions(facts_of(events), T0 + 20 * DAY, CALENDAR, [PeriodKind.WEEK]).all_cells()
    assert counts[("2026-W47", "2.1")] == (1, 1)  # in progress within its deadline
    assert counts[("2026-W48", "2.1")] == (1, 1)  # finished on time
    assert ("2026-W49", "2.1") not in counts  # finished before it
    # Average processing time is counted where it finished; receipt indicators where received.
    assert counts[("2026-W48", "2.2")] == (8 * 86_400, 1)
    assert ("2026-W47", "2.2") not in counts
    assert ("2026-W47", "1.4") in counts
    assert ("2026-W48", "1.4") not in counts


def test_a_closed_week_keeps_the_state_it_had_at_its_end() -> None:
    # Overdue during week 47 (due Tuesday), finished in week 48.
    events = [received("D", T0, due_in=DAY), dossier_event("D", "COMPLETED", T0 + 8 * DAY)]
    counts = contributions(facts_of(events), T0 + 20 * DAY, CALENDAR, [PeriodKind.WEEK]).all_cells()
    assert counts[("2026-W47", "2.1")] == (0, 1)
    assert counts[("2026-W48", "2.1")] == (0, 1)


def test_refused_or_never_accepted_dossiers_are_not_counted() -> None:
    refused = [received("D", T0), dossier_event("D", "NOT_ACCEPTED", T0 + HOUR)]
    submitted = [dossier_event("E", "SUBMITTED", T0, received_at=T0)]
    assert contributions(facts_of(refused), T0 + DAY, CALENDAR, ALL_KINDS).all_cells() == {}
    assert contributions(facts_of(submitted), T0 + DAY, CALENDAR, ALL_KINDS).all_cells() == {}


def test_satisfaction_excludes_overdue_complained_and_unsatisfied_dossiers() -> None:
    def satisfied(*extra: dict) -> tuple[int, int]:
        events = [
            received("D", T0, due_in=3 * DAY),
            dossier_event("D", "COMPLETED", T0 + DAY),
            *extra,
        ]
        return contributions(
            facts_of(events), T0 + 2 * DAY, CALENDAR, [PeriodKind.WEEK]
        ).all_cells()[("2026-W47", "5.4")]

    assert satisfied() == (1, 1)
    assert satisfied(rating("D", "UNSATISFIED", T0 + DAY + HOUR)) == (0, 1)
    assert satisfied(dossier_event("D", "COMPLETED", T0 + DAY, complaint=True)) == (0, 1)
    # A later correction (a new rating) wins over an earlier one.
    assert satisfied(
        rating("D", "UNSATISFIED", T0 + DAY + HOUR), rating("D", "SATISFIED", T0 + DAY + 2 * HOUR)
    ) == (1, 1)


def test_receipt_indicators_use_the_flags_of_the_dossier() -> None:
    events = [
        received(
            "D",
            T0,
            channel="ONLINE",
            synced_to_national_portal=True,
            fee_required=True,
            paid_online=True,
            digitized=True,
            reused_data=True,
            personal_store_linked=False,
            population_data_used=True,
        ),
        dossier_event("D", "COMPLETED", T0 + DAY, e_result_issued=True),
    ]
    counts = contributions(facts_of(events), T0 + 2 * DAY, CALENDAR, [PeriodKind.MONTH]).all_cells()
    got = {
        indicator: counts[("2026-11", indicator)]
        for indicator in ("1.4", "3.3", "3.6", "4.1", "4.2", "4.3", "4.4", "4.5b")
    }
    assert got == {
        "1.4": (1, 1),
        "3.3": (1, 1),
        "3.6": (1, 1),
        "4.1": (1, 1),
        "4.2": (1, 1),
        "4.3": (1, 1),
        "4.4": (0, 1),
        "4.5b": (1, 1),
    }


def test_without_an_electronic_result_online_and_digitized_dossiers_do_not_count() -> None:
    events = [received("D", T0, channel="ONLINE", digitized=True)]
    counts = contributions(facts_of(events), T0 + DAY, CALENDAR, [PeriodKind.MONTH]).all_cells()
    assert counts[("2026-11", "3.3")] == (0, 1)
    assert counts[("2026-11", "4.2")] == (0, 1)
    # ...unless the procedure needs no paper result.
    relaxed = [received("D", T0, channel="ONLINE", digitized=True, paper_result_required=False)]
    counts = contributions(facts_of(relaxed), T0 + DAY, CALENDAR, [PeriodKind.MONTH]).all_cells()
    assert counts[("2026-11", "3.3")] == (1, 1)
    assert ("2026-11", "4.1") not in counts
    assert ("2026-11", "3.6") not in counts  # no fee, not in 3.6 at all
