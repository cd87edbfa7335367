"""A dossier's contribution to the indicator counts: a pure function of its facts and the time.

`contributions(facts, now)` gives `{(period_key, indicator_id): (numerator, denominator)}` for the
dossier's own unit; scoring adds `new - old` to the counts of that unit and of the province.
`next_transition(facts, now)` is the next instant at which the contribution can change with no
new event (a due date passing, a new period starting); scoring re-evaluates the dossier then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.scoring.dossier import Facts
from services.scoring.ontime import Outcome, end_of_processing, evaluate, overdue_crossing
from shared.periods import Calendar, PeriodKind

Cell = tuple[str, str]
Contribution = dict[Cell, tuple[int, int]]

ON_TIME = "2.1"
PROCESSING_TIME = "2.2"
SATISFACTION = "5.4"
# Indicators that dossier events determine, counted by the period of receipt.
RECEIPT_INDICATORS = ("1.4", "3.3", "3.6", "4.1", "4.2", "4.3", "4.4", "4.5b")
DOSSIER_INDICATORS = (*RECEIPT_INDICATORS, ON_TIME, PROCESSING_TIME, SATISFACTION)


def receipt_counts(facts: Facts) -> list[tuple[str, int, int]]:
    """(indicator, numerator, denominator) for the period the dossier was received in."""
    result_ok = not facts.paper_result_required or facts.e_result_issued
    counts = [
        ("1.4", int(facts.synced_to_national_portal), 1),
        ("3.3", int(facts.channel == "ONLINE" and result_ok), 1),
        ("4.2", int(facts.digitized and result_ok), 1),
        ("4.3", int(facts.reused_data), 1),
        ("4.4", int(facts.personal_store_linked), 1),
        ("4.5b", int(facts.population_data_used), 1),
    ]
    if facts.paper_result_required:
        counts.append(("4.1", int(facts.e_result_issued), 1))
    if facts.fee_required:
        counts.append(("3.6", int(facts.paid_online), 1))
    return counts


def _satisfied(facts: Facts, outcome: Outcome) -> bool:
    return outcome.on_time and not facts.complaint and facts.rating != "UNSATISFIED"


def contributions(
    facts: Facts, now: datetime, calendar: Calendar, kinds: Iterable[PeriodKind]
) -> Contribution:
    received = facts.received_at
    if received is None or received > now or not facts.accepted:
        return {}
    result: Contribution = {}
    receipts = receipt_counts(facts)
    last_end = end_of_processing(facts, now) or now
    outcomes: dict[datetime, Outcome] = {}
    for kind in kinds:
        received_key = calendar.period_of(kind, received).key
        for indicator, numerator, denominator in receipts:
            result[(received_key, indicator)] = (numerator, denominator)
        for period in calendar.span(kind, received, last_end):
            as_of = min(period.end, now)
            outcome = outcomes.get(as_of)
            if outcome is None:
                outcome = outcomes[as_of] = evaluate(facts, as_of)
            if outcome.finished and outcome.end < period.start:
                continue  # finished before this period (a lower-priority end step)
            result[(period.key, ON_TIME)] = (int(outcome.on_time), 1)
            result[(period.key, SATISFACTION)] = (int(_satisfied(facts, outcome)), 1)
            if outcome.finished and period.contains(outcome.end):
                seconds = int((outcome.adjusted_end - received).total_seconds())
                result[(period.key, PROCESSING_TIME)] = (max(seconds, 0), 1)
    return result


def next_transition(
    facts: Facts, now: datetime, calendar: Calendar, kinds: Iterable[PeriodKind]
) -> datetime | None:
    candidates = [m.at for m in facts.marks if m.at > now]
    received = facts.received_at
    if received is not None and received > now:
        candidates.append(received)
    if facts.accepted and received is not None and received <= now:
        outcome = evaluate(facts, now)
        if not outcome.finished:
            crossing = overdue_crossing(facts, outcome)
            if crossing is not None:
                candidates.append(crossing)
            candidates.extend(calendar.period_of(kind, now).end for kind in kinds)
    return min(candidates, default=None)


def subtract(new: Contribution, old: Contribution) -> Contribution:
    """`new - old`, cell by cell, without zero cells."""
    delta: Contribution = {}
    for cell, (numerator, denominator) in new.items():
        before = old.get(cell)
        if before is None:
            delta[cell] = (numerator, denominator)
        elif before != (numerator, denominator):
            delta[cell] = (numerator - before[0], denominator - before[1])
    for cell, (numerator, denominator) in old.items():
        if cell not in new:
            delta[cell] = (-numerator, -denominator)
    return delta
