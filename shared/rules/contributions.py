"""A dossier's contribution to the indicator counts: a pure function of its facts and the time.

`contributions(facts, now)` gives what the dossier adds to its unit's counts, in a compact form
(`Contribution.all_cells()` spells it out as `{(period, indicator): (numerator, denominator)}`);
scoring adds the difference `new - old` to the counts of the unit and of the province.
`next_transition(facts, now)` is the next instant at which the contribution can change with no
new event (a due date passing, a new period starting); scoring re-evaluates the dossier then.

Scoring also keeps day counts (`days=True`), what any range of days is summed from: a dossier's
receipt counts on the day it was received, its on-time counts on the day it finished (its end of
processing as known now: finished, its counts are those of any period ending after it), and, while
it is in progress, under `IN_PROGRESS` (its counts as of now). What a range's day counts cannot
hold, the dossiers that had not finished by its end, is `unsettled_in`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from shared.events import Channel, Rating
from shared.periods import Calendar, Period, PeriodKind
from shared.rules.catalogue import ACTIVITY_SEPARATOR, activity_id
from shared.rules.dossier import Facts
from shared.rules.ontime import (
    END_PRIORITY,
    Outcome,
    end_of_processing,
    evaluate,
    overdue_crossing,
    overdue_from,
)

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
# The key of the counts of the dossiers in progress at the instant the counts stand at: a set that
# no period names, and that never closes.
IN_PROGRESS = "in-progress"


def receipt_counts(facts: Facts) -> list[tuple[str, int, int]]:
    """(indicator, numerator, denominator) for the period the dossier was received in."""
    return list(_receipt(facts))


def _receipt(facts: Facts) -> tuple[tuple[str, int, int], ...]:
    return _receipt_of(
        facts.procedure_code,
        facts.channel == Channel.ONLINE,
        facts.synced_to_national_portal,
        facts.paper_result_required,
        facts.e_result_issued,
        facts.digitized,
        facts.reused_data,
        facts.personal_store_linked,
        facts.population_data_used,
        facts.fee_required,
        facts.paid_online,
    )


# Dossiers of a procedure mostly say the same things: a few thousand distinct answers at most.
@lru_cache(maxsize=1 << 14)
def _receipt_of(
    procedure_code: str | None,
    online: bool,
    synced_to_national_portal: bool,
    paper_result_required: bool,
    e_result_issued: bool,
    digitized: bool,
    reused_data: bool,
    personal_store_linked: bool,
    population_data_used: bool,
    fee_required: bool,
    paid_online: bool,
) -> tuple[tuple[str, int, int], ...]:
    result_ok = not paper_result_required or e_result_issued
    counts = [
        _count("1.4", int(synced_to_national_portal)),
        _count("3.3", int(online and result_ok)),
        _count("4.2", int(digitized and result_ok)),
        _count("4.3", int(reused_data)),
        _count("4.4", int(personal_store_linked)),
        _count("4.5b", int(population_data_used)),
    ]
    if paper_result_required:
        counts.append(_count("4.1", int(e_result_issued)))
    if fee_required:
        counts.append(_count("3.6", int(paid_online)))
    if procedure_code:
        # Activity of the procedure (see shared.rules.catalogue): only the acts that happened.
        acts = (
            ("3.2", online),
            ("3.5", fee_required),
            ("3.5b", fee_required and paid_online),
            ("4.5a", population_data_used),
        )
        counts.extend(_count(activity_id(i, procedure_code), 1) for i, done in acts if done)
    return tuple(counts)


@lru_cache(maxsize=1 << 14)
def _count(indicator: str, numerator: int) -> tuple[str, int, int]:
    """One receipt count, shared by all the cached receipts that hold it: fewer objects kept."""
    return (indicator, numerator, 1)


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
    days: bool = False,
) -> Contribution:
    """`at_now`, if given, is `outcome_now(facts, now)`, computed once by the caller; `days`: with
    the day counts (see the module's docstring)."""
    received = facts.received_at
    if received is None or received > now or not facts.accepted:
        return NOTHING
    if at_now is None:
        at_now = evaluate(facts, now)
    # The end of processing by `now`, else `now`: the last period counting the dossier holds it.
    # The outcome as of any instant from then to `now` is `at_now` (the end, and the steps up to
    # it, are all that `evaluate` looks at), so only periods ending before it need their own.
    last_end = at_now.end
    shares = {last_end: _shares(facts, at_now)}
    receipt_keys: list[str] = []
    processing: dict[str, Processing] = {}
    at_receipt = calendar.bounds_at(received)
    for kind in kinds:
        first = at_receipt[kind]
        receipt_keys.append(first.key)
        for bounds in calendar.span_from(first, last_end):
            as_of = min(bounds.end, last_end)
            share = shares.get(as_of)
            if share is None:
                share = shares[as_of] = _shares(facts, evaluate(facts, as_of))
            counted = _share_in(share, bounds.start, bounds.end)
            if counted is not None:
                processing[bounds.key] = counted
    if days:
        receipt_keys.append(calendar.day_key(received))
        finished_at, counts, counts_ending = shares[last_end]
        if finished_at is None:
            processing[IN_PROGRESS] = counts
        else:
            processing[calendar.day_key(finished_at)] = counts_ending
    return Contribution(
        receipt_keys=tuple(receipt_keys), receipt=_receipt(facts), processing=processing
    )


# What a dossier adds to a period it was processed in, given its outcome at the period's end:
# (its end, if finished; its counts in any such period; its counts in the period it ended in).
Share = tuple[datetime | None, Processing, Processing]


def _shares(facts: Facts, outcome: Outcome) -> Share:
    assert facts.received_at is not None
    counts = _NOT_ENDING[int(outcome.on_time), int(_satisfied(facts, outcome))]
    if not outcome.finished:
        return None, counts, counts
    seconds = max(int((outcome.adjusted_end - facts.received_at).total_seconds()), 0)
    return outcome.end, counts, (*counts[:2], seconds, 1)


# The counts in a period the dossier did not finish in: four tuples for every dossier, rather than
# one of its own in each period (fewer objects kept, for the garbage collector to walk).
_NOT_ENDING: dict[tuple[int, int], Processing] = {
    (on_time, satisfied): (on_time, satisfied, 0, 0) for on_time in (0, 1) for satisfied in (0, 1)
}


def _share_in(share: Share, start: datetime, end: datetime) -> Processing | None:
    """What the dossier adds to the period `[start, end)`."""
    finished_at, counts, counts_ending = share
    if finished_at is None:
        return counts
    if finished_at < start:
        return None  # finished before this period (a lower-priority end step)
    return counts_ending if finished_at < end else counts


def _processing_in(
    facts: Facts, start: datetime, end: datetime, outcome: Outcome
) -> Processing | None:
    """What a dossier processed during the period `[start, end)` adds there, given its outcome
    at the end."""
    return _share_in(_shares(facts, outcome), start, end)


def contribution_in(facts: Facts, period: Period, now: datetime) -> Contribution:
    """A dossier's share of one period's counts, for any period (a date range too): the same
    rules as `contributions`, for a period that is not kept incrementally."""
    received = facts.received_at
    if received is None or received > now or not facts.accepted or received >= period.end:
        return NOTHING
    last_end = end_of_processing(facts, now) or now
    processing: dict[str, Processing] = {}
    if period.start <= last_end:
        outcome = evaluate(facts, min(period.end, now))
        counted = _processing_in(facts, period.start, period.end, outcome)
        if counted is not None:
            processing[period.key] = counted
    in_period = period.contains(received)
    return Contribution(
        receipt_keys=(period.key,) if in_period else (),
        receipt=_receipt(facts) if in_period else (),
        processing=processing,
    )


def unsettled_in(facts: Facts, period: Period, now: datetime) -> Contribution:
    """What a range's day counts leave out of `contribution_in`: the on-time counts of a dossier
    that had not finished by the period's end, as known at `now` (in progress then, whether it
    finished since or not). Nothing for the others: their receipt is counted on its day, and
    their end of processing, before the period's end, is the same at every instant from it to
    `now`, so their counts there are those of the day they finished."""
    received = facts.received_at
    if received is None or received > now or not facts.accepted or received >= period.end:
        return NOTHING
    finished_at = end_of_processing(facts, now)
    if finished_at is not None and finished_at < period.end:
        return NOTHING
    return Contribution(processing=contribution_in(facts, period, now).processing)


@dataclass(frozen=True, slots=True)
class OnTimeUntil:
    """What `unsettled_in` gives a dossier in any range ending at an instant E it had not
    finished by, when E alone decides it: counted once in 2.1 and 5.4, on time in 2.1 if
    E < `overdue_from` (None: always), and in 5.4 if that and not `disliked`. Stored with its row
    (`dossiers.overdue_from`, `dossiers.disliked`), so that a range ended in the past counts these
    in the database rather than reading their states."""

    overdue_from: datetime | None
    disliked: bool


_END_STEPS = frozenset().union(*END_PRIORITY)


def on_time_until(facts: Facts, end: datetime | None) -> OnTimeUntil | None:
    """`OnTimeUntil` of an accepted dossier whose processing ended at `end` (None: not yet), as
    known now; None where a range's end does not decide alone: an end step of lower priority came
    before `end` (a suspension before the completion), and a range holding that step counts the
    dossier as finished there."""
    if not facts.accepted or facts.received_at is None:
        return None
    if end is not None:
        for mark in facts.marks:  # by time
            if mark.at >= end:
                break
            if mark.status in _END_STEPS:
                return None
    disliked = facts.complaint or facts.rating == Rating.UNSATISFIED
    return OnTimeUntil(overdue_from(facts), disliked)


def add_unsettled(
    deltas: CountDeltas, unit: str, period_key: str, counted: int, on_time: int, satisfied: int
) -> None:
    """Add what `unsettled_in` gives `counted` dossiers of `unit` decided by the period's end
    alone (`OnTimeUntil`), `on_time` of them on time at that end and `satisfied` satisfied."""
    _add(deltas, (unit, period_key, ON_TIME), on_time, counted)
    _add(deltas, (unit, period_key, SATISFACTION), satisfied, counted)


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
    if outcome is None or outcome.finished:
        return min(candidates, default=None)
    crossing = overdue_crossing(facts, outcome)
    if crossing is not None:
        candidates.append(crossing)
    soonest = min(candidates, default=None)
    # In progress, it counts in the next period of every kind: the first of them to start. The
    # same instant `min` over all the candidates would give, a period's end only if sooner.
    ending = calendar.soonest_end(tuple(kinds), now)
    if ending is not None and (soonest is None or ending.end < soonest):
        return ending.period.end
    return soonest


def subtract(new: Contribution, old: Contribution) -> Cells:
    """`new - old`, cell by cell, without zero cells."""
    deltas: CountDeltas = {}
    add_difference(deltas, "", new, old)
    return {(period, indicator): (n, d) for (_, period, indicator), (n, d) in deltas.items()}


def add_difference(deltas: CountDeltas, unit: str, new: Contribution, old: Contribution) -> None:
    """Add `new - old` to `deltas` under `unit`."""
    for keys, counts, times in _receipt_changes(new, old):
        for period in keys:
            for indicator, numerator, denominator in counts:
                _add(deltas, (unit, period, indicator), times * numerator, times * denominator)
    for period, (on_time, satisfied, counted, seconds, finished) in _processing_changes(new, old):
        _add(deltas, (unit, period, ON_TIME), on_time, counted)
        _add(deltas, (unit, period, SATISFACTION), satisfied, counted)
        _add(deltas, (unit, period, PROCESSING_TIME), seconds, finished)
    _add_cells_difference(deltas, unit, new, old)


class DeltaSum:
    """`new - old` of many subjects, summed: what a step adds to the counts.

    `add_difference` for each subject would write some seventy cells per dossier (the receipt
    counts in each of its five receipt periods, three cells per period it was processed in).
    This sums the receipt counts once per unit and set of receipt periods, and the processing
    counts once per unit and period, and spells them out into cells at the end, in `deltas()`.
    Cells that cancel out may be missing rather than zero: `with_province` drops those anyway."""

    def __init__(self) -> None:
        self._cells: CountDeltas = {}
        # (unit, receipt periods) -> {indicator: [numerator, denominator]}
        self._receipts: dict[tuple[str, tuple[str, ...]], dict[str, list[int]]] = {}
        # (unit, period) -> [on time, satisfied, counted, seconds, finished]
        self._processing: dict[tuple[str, str], list[int]] = {}

    def add_difference(self, unit: str, new: Contribution, old: Contribution) -> None:
        for keys, counts, times in _receipt_changes(new, old):
            sums = self._receipts.setdefault((unit, keys), {})
            for indicator, numerator, denominator in counts:
                cell = sums.get(indicator)
                if cell is None:
                    sums[indicator] = [times * numerator, times * denominator]
                else:
                    cell[0] += times * numerator
                    cell[1] += times * denominator
        if new.processing != old.processing:
            # As `new` in, `old` out, in every period where they differ.
            for period, now_in in new.processing.items():
                was_in = old.processing.get(period)
                if now_in != was_in:
                    self._add_processing(unit, period, now_in, 1)
                    if was_in is not None:
                        self._add_processing(unit, period, was_in, -1)
            for period, was_in in old.processing.items():
                if period not in new.processing:
                    self._add_processing(unit, period, was_in, -1)
        _add_cells_difference(self._cells, unit, new, old)

    def _add_processing(self, unit: str, period: str, counted: Processing, sign: int) -> None:
        on_time, satisfied, seconds, finished = counted
        total = self._processing.get((unit, period))
        if total is None:
            self._processing[(unit, period)] = [
                sign * on_time,
                sign * satisfied,
                sign,
                sign * seconds,
                sign * finished,
            ]
        else:
            total[0] += sign * on_time
            total[1] += sign * satisfied
            total[2] += sign
            total[3] += sign * seconds
            total[4] += sign * finished

    def deltas(self) -> CountDeltas:
        """The sum, cell by cell (then empty again, for another step)."""
        cells, self._cells = self._cells, {}
        for (unit, keys), sums in self._receipts.items():
            for period in keys:
                for indicator, (numerator, denominator) in sums.items():
                    _add(cells, (unit, period, indicator), numerator, denominator)
        for (unit, period), (
            on_time,
            satisfied,
            counted,
            seconds,
            finished,
        ) in self._processing.items():
            _add(cells, (unit, period, ON_TIME), on_time, counted)
            _add(cells, (unit, period, SATISFACTION), satisfied, counted)
            _add(cells, (unit, period, PROCESSING_TIME), seconds, finished)
        self._receipts.clear()
        self._processing.clear()
        return cells


def _receipt_changes(
    new: Contribution, old: Contribution
) -> list[tuple[tuple[str, ...], tuple[tuple[str, int, int], ...], int]]:
    """`new - old` of the receipt counts, as (periods, counts, times) to add. Most events change
    neither the periods nor the counts: then nothing, after one comparison of each."""
    if new.receipt_keys != old.receipt_keys:
        return [(old.receipt_keys, old.receipt, -1), (new.receipt_keys, new.receipt, 1)]
    if new.receipt == old.receipt:
        return []
    # Same periods, some flags changed (an e-result issued, a fee paid): only those cells.
    previous = {indicator: (n, d) for indicator, n, d in old.receipt}
    changed = []
    for indicator, numerator, denominator in new.receipt:
        was = previous.pop(indicator, (0, 0))
        if was != (numerator, denominator):
            changed.append((indicator, numerator - was[0], denominator - was[1]))
    changed.extend((indicator, -n, -d) for indicator, (n, d) in previous.items())
    return [(new.receipt_keys, tuple(changed), 1)]


# What changes in a period's on-time cells: (on time, satisfied, counted, seconds, finished).
ProcessingChange = tuple[int, int, int, int, int]


def _processing_changes(new: Contribution, old: Contribution) -> list[tuple[str, ProcessingChange]]:
    """`new - old` of the processing counts, period by period (only those that changed)."""
    if new.processing == old.processing:
        return []
    changes = [
        (period, _processing_change(now_in, old.processing.get(period)))
        for period, now_in in new.processing.items()
        if now_in != old.processing.get(period)
    ]
    changes.extend(
        (period, _processing_change(None, was_in))
        for period, was_in in old.processing.items()
        if period not in new.processing
    )
    return changes


def _processing_change(now_in: Processing | None, was_in: Processing | None) -> ProcessingChange:
    counted = (now_in is not None) - (was_in is not None)
    after, before = now_in or _NOT_COUNTED, was_in or _NOT_COUNTED
    return (
        after[0] - before[0],
        after[1] - before[1],
        counted,
        after[2] - before[2],
        after[3] - before[3],
    )


_NOT_COUNTED: Processing = (0, 0, 0, 0)


def _add(deltas: CountDeltas, key: CountKey, numerator: int, denominator: int) -> None:
    if numerator or denominator:
        cell = deltas.get(key)
        if cell is None:
            deltas[key] = [numerator, denominator]
        else:
            cell[0] += numerator
            cell[1] += denominator


def _add_cells_difference(
    deltas: CountDeltas, unit: str, new: Contribution, old: Contribution
) -> None:
    if new.cells == old.cells:
        return
    for cell in new.cells.keys() | old.cells.keys():
        after_n, after_d = new.cells.get(cell, (0, 0))
        before_n, before_d = old.cells.get(cell, (0, 0))
        _add(deltas, (unit, *cell), after_n - before_n, after_d - before_d)


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
