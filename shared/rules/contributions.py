"""A dossier's contribution to the indicator counts: a pure function of its facts and the time.

`contributions(facts, now)` gives what the dossier adds to its unit's counts, in a compact form
(`Contribution.all_cells()` spells it out as `{(period, indicator): (numerator, denominator)}`);
scoring adds the difference `new - old` to the counts of the unit and of the province.
`next_transition(facts, now)` is the next instant at which the contribution can change with no
new event (a due date passing, a new period starting); scoring re-evaluates the dossier then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shared.events import Channel, Rating
from shared.periods import Calendar, Period, PeriodKind
from shared.rules.catalogue import ACTIVITY_SEPARATOR, activity_id
from shared.rules.dossier import Facts
from shared.rules.ontime import Outcome, end_of_processing, evaluate, overdue_crossing

Cell = tuple[str, str]
Cells = dict[Cell, tuple[int, int]]
# (unit_code, period_key, indicator_id) -> [numerator delta, denominator delta]
CountKey = tuple[str, str, str]
CountDeltas = dict[CountKey, list[int]]
# Per period the dossier was processed in: (on time, satisfied, seconds if finished in it, finished)
Processing = tuple[int, int, int, int]

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
        # Activity of the procedure (see shared.rules.catalogue): only the acts that happened.
        acts = (
            ("3.2", facts.channel == Channel.ONLINE),
            ("3.5", facts.fee_required),
            ("3.5b", facts.fee_required and facts.paid_online),
            ("4.5a", facts.population_data_used),
        )
        counts.extend((activity_id(i, facts.procedure_code), 1, 1) for i, done in acts if done)
    return counts


@dataclass(frozen=True, slots=True)
class Contribution:
    """A subject's share of the counts. Receipt counts are the same in every kind of period, so
    they are kept once with the receipt's period keys; most events leave them unchanged, and
    `subtract` then skips them with one comparison."""

    receipt_keys: tuple[str, ...] = ()
    receipt: tuple[tuple[str, int, int], ...] = ()
    processing: dict[str, Processing] = field(default_factory=dict)
    # Any other cells, spelled out (what feedback contributes).
    cells: Cells = field(default_factory=dict)

    def all_cells(self) -> Cells:
        return subtract(self, NOTHING)


NOTHING = Contribution()


def _satisfied(facts: Facts, outcome: Outcome) -> bool:
    return outcome.on_time and not facts.complaint and facts.rating != Rating.UNSATISFIED


def outcome_now(facts: Facts, now: datetime) -> Outcome | None:
    """The on-time outcome at `now` of a dossier that counts by then, else None."""
    received = facts.received_at
    if received is None or received > now or not facts.accepted:
        return None
    return evaluate(facts, now)


def contributions(
    facts: Facts,
    now: datetime,
    calendar: Calendar,
    kinds: Iterable[PeriodKind],
    at_now: Outcome | None = None,
) -> Contribution:
    """`at_now`, if given, is `outcome_now(facts, now)`, computed once by the caller."""
    received = facts.received_at
    if received is None or received > now or not facts.accepted:
        return NOTHING
    kinds = tuple(kinds)
    last_end = end_of_processing(facts, now) or now
    outcomes: dict[datetime, Outcome] = {now: at_now} if at_now is not None else {}
    processing: dict[str, Processing] = {}
    for kind in kinds:
        for period in calendar.span(kind, received, last_end):
            as_of = min(period.end, now)
            outcome = outcomes.get(as_of)
            if outcome is None:
                outcome = outcomes[as_of] = evaluate(facts, as_of)
            counted = _processing_in(facts, period, outcome)
            if counted is not None:
                processing[period.key] = counted
    return Contribution(
        receipt_keys=tuple(calendar.period_of(kind, received).key for kind in kinds),
        receipt=tuple(receipt_counts(facts)),
        processing=processing,
    )


def _processing_in(facts: Facts, period: Period, outcome: Outcome) -> Processing | None:
    """What a dossier processed during `period` adds there, given its outcome at the end."""
    assert facts.received_at is not None
    if outcome.finished and outcome.end < period.start:
        return None  # finished before this period (a lower-priority end step)
    seconds = finished = 0
    if outcome.finished and period.contains(outcome.end):
        seconds = max(int((outcome.adjusted_end - facts.received_at).total_seconds()), 0)
        finished = 1
    return (int(outcome.on_time), int(_satisfied(facts, outcome)), seconds, finished)


def contribution_in(facts: Facts, period: Period, now: datetime) -> Contribution:
    """A dossier's share of one period's counts, for any period (a date range too): the same
    rules as `contributions`, for a period that is not kept incrementally."""
    received = facts.received_at
    if received is None or received > now or not facts.accepted or received >= period.end:
        return NOTHING
    last_end = end_of_processing(facts, now) or now
    processing: dict[str, Processing] = {}
    if period.start <= last_end:
        counted = _processing_in(facts, period, evaluate(facts, min(period.end, now)))
        if counted is not None:
            processing[period.key] = counted
    in_period = period.contains(received)
    return Contribution(
        receipt_keys=(period.key,) if in_period else (),
        receipt=tuple(receipt_counts(facts)) if in_period else (),
        processing=processing,
    )


def next_transition(
    facts: Facts,
    now: datetime,
    calendar: Calendar,
    kinds: Iterable[PeriodKind],
    at_now: Outcome | None = None,
) -> datetime | None:
    candidates = [m.at for m in facts.marks if m.at > now]
    received = facts.received_at
    if received is not None and received > now:
        candidates.append(received)
    outcome = at_now or outcome_now(facts, now)
    if outcome is not None and not outcome.finished:
        crossing = overdue_crossing(facts, outcome)
        if crossing is not None:
            candidates.append(crossing)
        candidates.extend(calendar.period_of(kind, now).end for kind in kinds)
    return min(candidates, default=None)


def subtract(new: Contribution, old: Contribution) -> Cells:
    """`new - old`, cell by cell, without zero cells."""
    deltas: CountDeltas = {}
    add_difference(deltas, "", new, old)
    return {(period, indicator): (n, d) for (_, period, indicator), (n, d) in deltas.items()}


def add_difference(deltas: CountDeltas, unit: str, new: Contribution, old: Contribution) -> None:
    """Add `new - old` to `deltas` under `unit`; on the hot path, so it writes straight in."""

    def add(period: str, indicator: str, numerator: int, denominator: int) -> None:
        if numerator or denominator:
            key = (unit, period, indicator)
            cell = deltas.get(key)
            if cell is None:
                deltas[key] = [numerator, denominator]
            else:
                cell[0] += numerator
                cell[1] += denominator

    if new.receipt_keys != old.receipt_keys:
        for key in old.receipt_keys:
            for indicator, numerator, denominator in old.receipt:
                add(key, indicator, -numerator, -denominator)
        for key in new.receipt_keys:
            for indicator, numerator, denominator in new.receipt:
                add(key, indicator, numerator, denominator)
    elif new.receipt != old.receipt:
        # Same periods, some flags changed (an e-result issued, a fee paid): only those cells.
        previous = {indicator: (n, d) for indicator, n, d in old.receipt}
        changed = []
        for indicator, numerator, denominator in new.receipt:
            was = previous.pop(indicator, (0, 0))
            if was != (numerator, denominator):
                changed.append((indicator, numerator - was[0], denominator - was[1]))
        changed.extend((indicator, -n, -d) for indicator, (n, d) in previous.items())
        for key in new.receipt_keys:
            for indicator, numerator, denominator in changed:
                add(key, indicator, numerator, denominator)
    if new.processing != old.processing:
        for key in new.processing.keys() | old.processing.keys():
            now_in, was_in = new.processing.get(key), old.processing.get(key)
            if now_in == was_in:
                continue
            counted = (now_in is not None) - (was_in is not None)
            after, before = now_in or _NOT_COUNTED, was_in or _NOT_COUNTED
            add(key, ON_TIME, after[0] - before[0], counted)
            add(key, SATISFACTION, after[1] - before[1], counted)
            add(key, PROCESSING_TIME, after[2] - before[2], after[3] - before[3])
    if new.cells != old.cells:
        for cell in new.cells.keys() | old.cells.keys():
            after_cell = new.cells.get(cell, (0, 0))
            before_cell = old.cells.get(cell, (0, 0))
            add(cell[0], cell[1], after_cell[0] - before_cell[0], after_cell[1] - before_cell[1])


_NOT_COUNTED: Processing = (0, 0, 0, 0)


def with_province(deltas: CountDeltas, province_code: str) -> CountDeltas:
    """Drop cells that cancelled out; pool every unit's cells into the province's, but for
    procedure activity: the province's catalogue indicators pool its units' counts."""
    pooled: dict[CountKey, list[int]] = {}
    for (unit, period, indicator), (numerator, denominator) in deltas.items():
        if unit != province_code and ACTIVITY_SEPARATOR not in indicator:
            cell = pooled.setdefault((province_code, period, indicator), [0, 0])
            cell[0] += numerator
            cell[1] += denominator
    for key, (numerator, denominator) in pooled.items():
        cell = deltas.setdefault(key, [0, 0])
        cell[0] += numerator
        cell[1] += denominator
    return {key: value for key, value in deltas.items() if value != [0, 0]}
