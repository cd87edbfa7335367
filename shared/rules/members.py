"""What an indicator counts for a period, asked of stored states: whether a dossier (or feedback)
is in its denominator and what it adds to its numerator, and the pooled counts of any range of
days (from every state that may count in it, `range_counts`; or, as the api does, its day counts
kept by scoring plus what they leave out, `unsettled_deltas`).

The very rules scoring applies (`contribution_in`, `feedback_contribution_in`), evaluated at the
instant scoring's counts stand at, so a list and the number it explains cannot disagree; a
property test ties `contribution_in` to the counts scoring keeps for every named period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import orjson

from shared.events import Rating
from shared.periods import Period
from shared.rules.contributions import (
    NOTHING,
    ON_TIME,
    PROCESSING_TIME,
    SATISFACTION,
    Contribution,
    CountDeltas,
    add_difference,
    contribution_in,
    unsettled_in,
    with_province,
)
from shared.rules.dossier import Facts, State, read_facts
from shared.rules.feedback import ON_TIME as FEEDBACK_ON_TIME
from shared.rules.feedback import feedback_contribution_in, read_feedback
from shared.workdays import WorkingCalendar


class Basis(StrEnum):
    """Which dossiers (or feedback) may count in a period's indicator."""

    # Received in the period.
    RECEIPT = "receipt"
    # Received before its end and not finished before its start.
    PROCESSING = "processing"


class Part(StrEnum):
    """Which members of an indicator a list holds."""

    DENOMINATOR = "denominator"
    NUMERATOR = "numerator"
    # In the denominator and not in the numerator: what a unit has to fix.
    SHORTFALL = "shortfall"

    def holds(self, numerator: int) -> bool:
        """Whether a member adding `numerator` to the numerator is in this part."""
        if self is Part.NUMERATOR:
            return numerator > 0
        if self is Part.SHORTFALL:
            return numerator == 0
        return True


# Counted in every period a dossier was being processed in, not only the one it was received in.
PROCESSING_INDICATORS = frozenset({ON_TIME, PROCESSING_TIME, SATISFACTION})
SYNCED, PAID_ONLINE = "1.4", "3.6"
# Indicators whose numerator is not a count of members (2.2 adds up seconds): only their
# denominator is a list whose length is a count.
SUMMED_INDICATORS = frozenset({PROCESSING_TIME})


def among_overdue(indicator: str, part: Part) -> bool:
    """Whether the part's members are all among the dossiers stored as overdue.

    True of 2.1's shortfall: lateness only grows with time (the clock runs on, supplement
    requests add up, an end of processing can only move later), so a dossier late at a period's
    end is late at every later instant, and scoring stores its outcome as of the latest one (a
    property test checks the growth). The rules still decide on each of them."""
    return indicator == ON_TIME and part is Part.SHORTFALL


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What every member of a sparse part is, as stored, whatever the period and the instant:
    at least one of these holds of it. The database is asked only for the candidates of which
    one does (a page then reads about its own length, not its length over the part's share);
    the rules still decide on each.

    `registers` name a dossier's fields (`shared.rules.dossier`), each with what its value is in
    a member: `TRUTHY` (the rules read it with `bool`), `NOT_TRUE` (so not `true`), or a value."""

    overdue: bool = False
    registers: tuple[tuple[str, str], ...] = ()


TRUTHY = "<truthy>"
NOT_TRUE = "<not true>"


def narrowing(indicator: str, part: Part) -> Narrowing | None:
    """How a sparse part's candidates are narrowed; None for the others (most of a list's
    candidates are members of each of them)."""
    if among_overdue(indicator, part):
        return Narrowing(overdue=True)
    if indicator == SATISFACTION and part is Part.SHORTFALL:
        # Not satisfied: late (so stored as overdue, as 2.1's shortfall), or complained, or
        # rated unsatisfied (`shared.rules.contributions._satisfied`).
        return Narrowing(
            overdue=True, registers=(("complaint", TRUTHY), ("rating", Rating.UNSATISFIED))
        )
    if indicator == SYNCED and part is Part.SHORTFALL:
        return Narrowing(registers=(("synced_to_national_portal", NOT_TRUE),))
    if indicator == PAID_ONLINE:
        # Only dossiers with a fee are in its denominator.
        return Narrowing(registers=(("fee_required", TRUTHY),))
    return None


def dossier_basis(indicator: str) -> Basis:
    return Basis.PROCESSING if indicator in PROCESSING_INDICATORS else Basis.RECEIPT


def feedback_basis(indicator: str) -> Basis:
    """5.2 counts feedback still being handled in the period, whenever it came; 5.1 and 5.3,
    feedback received in it."""
    return Basis.PROCESSING if indicator == FEEDBACK_ON_TIME else Basis.RECEIPT


def dossier_member(state: State, period: Period, indicator: str, as_of: datetime) -> int | None:
    """What a dossier adds to the indicator's numerator, if it is in its denominator."""
    cell = (
        contribution_in(read_facts(state), period, as_of).all_cells().get((period.key, indicator))
    )
    return cell[0] if cell is not None and cell[1] > 0 else None


def feedback_member(
    state: State, period: Period, indicator: str, as_of: datetime, workdays: WorkingCalendar
) -> int | None:
    """What a feedback adds to the indicator's numerator, if it is in its denominator."""
    contribution = feedback_contribution_in(read_feedback(state), period, as_of, workdays)
    cell = contribution.cells.get((period.key, indicator))
    return cell[0] if cell is not None and cell[1] > 0 else None


def range_deltas(
    dossiers: Iterable[State],
    feedback: Iterable[State],
    period: Period,
    as_of: datetime,
    workdays: WorkingCalendar,
) -> CountDeltas:
    """What the given dossiers and feedback add to the counts of a period nobody keeps (a range
    of days), unit by unit: summed over every subject that may count in it and pooled into the
    province (`with_province`), its counts."""
    return _deltas(dossiers, feedback, period, as_of, workdays, contribution_in)


def unsettled_deltas(
    dossiers: Iterable[State],
    feedback: Iterable[State],
    period: Period,
    as_of: datetime,
    workdays: WorkingCalendar,
) -> CountDeltas:
    """What a range's day counts leave out, unit by unit, not pooled: the dossiers' unsettled
    counts (`unsettled_in`) and all the feedback's (scoring keeps no day counts of feedback)."""
    return _deltas(dossiers, feedback, period, as_of, workdays, unsettled_in)


def unsettled_deltas_of_text(
    dossiers: list[str],
    feedback: list[str],
    period: Period,
    as_of: datetime,
    workdays: WorkingCalendar,
) -> CountDeltas:
    """`unsettled_deltas` of states given as JSON text: what a worker process is sent, since
    text crosses a process boundary far cheaper than the decoded states would."""
    return unsettled_deltas(
        (orjson.loads(text) for text in dossiers),
        (orjson.loads(text) for text in feedback),
        period,
        as_of,
        workdays,
    )


def _deltas(
    dossiers: Iterable[State],
    feedback: Iterable[State],
    period: Period,
    as_of: datetime,
    workdays: WorkingCalendar,
    dossier_part: Callable[[Facts, Period, datetime], Contribution],
) -> CountDeltas:
    deltas: CountDeltas = {}
    for state in dossiers:
        facts = read_facts(state)
        if facts.unit_code is not None:
            add_difference(deltas, facts.unit_code, dossier_part(facts, period, as_of), NOTHING)
    for state in feedback:
        read = read_feedback(state)
        if read.unit_code is not None:
            contribution = feedback_contribution_in(read, period, as_of, workdays)
            add_difference(deltas, read.unit_code, contribution, NOTHING)
    return deltas


def range_counts(
    dossiers: Iterable[State],
    feedback: Iterable[State],
    period: Period,
    as_of: datetime,
    workdays: WorkingCalendar,
    province_code: str,
) -> CountDeltas:
    """The counts of a range of days, from the states of the dossiers processed in it and the
    feedback received before its end, pooled into the province."""
    return with_province(range_deltas(dossiers, feedback, period, as_of, workdays), province_code)


def summed(parts: Iterable[CountDeltas]) -> CountDeltas:
    """Deltas of disjoint sets of subjects, added up: those of their union."""
    total: CountDeltas = {}
    for part in parts:
        for key, (numerator, denominator) in part.items():
            cell = total.setdefault(key, [0, 0])
            cell[0] += numerator
            cell[1] += denominator
    return total
