"""What an indicator counts for a period, asked of stored states: the dossiers (or feedback) in its
denominator and what each adds to its numerator, and the pooled counts of any range of days.

The very rules scoring applies (`contribution_in`, `feedback_contribution_in`), evaluated at the
instant scoring's counts stand at, so a list and the number it explains cannot disagree; a
property test ties `contribution_in` to the counts scoring keeps for every named period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from shared.periods import Period
from shared.rules.contributions import (
    NOTHING,
    ON_TIME,
    PROCESSING_TIME,
    SATISFACTION,
    CountDeltas,
    add_difference,
    contribution_in,
    with_province,
)
from shared.rules.dossier import State, read_facts
from shared.rules.feedback import ON_TIME as FEEDBACK_ON_TIME
from shared.rules.feedback import feedback_contribution_in, read_feedback
from shared.workdays import WorkingCalendar

T = TypeVar("T")


class Basis(StrEnum):
    """Which dossiers may count in a period's indicator."""

    # Received in the period.
    RECEIPT = "receipt"
    # Received before its end and not finished before its start.
    PROCESSING = "processing"


# Counted in every period a dossier was being processed in, not only the one it was received in.
PROCESSING_INDICATORS = frozenset({ON_TIME, PROCESSING_TIME, SATISFACTION})


def dossier_basis(indicator: str) -> Basis:
    return Basis.PROCESSING if indicator in PROCESSING_INDICATORS else Basis.RECEIPT


def feedback_received_from(indicator: str, period: Period) -> datetime | None:
    """The earliest receipt a feedback counted in `indicator` may have: 5.2 counts feedback still
    being handled in the period, whenever it came; 5.1 and 5.3, feedback received in it."""
    return None if indicator == FEEDBACK_ON_TIME else period.start


def dossier_members(
    candidates: Iterable[tuple[T, State]], period: Period, indicator: str, as_of: datetime
) -> list[tuple[T, int]]:
    """The candidates in the indicator's denominator, each with what it adds to the numerator."""
    members = []
    for item, state in candidates:
        cells = contribution_in(read_facts(state), period, as_of).all_cells()
        cell = cells.get((period.key, indicator))
        if cell is not None and cell[1] > 0:
            members.append((item, cell[0]))
    return members


def feedback_members(
    candidates: Iterable[tuple[T, State]],
    period: Period,
    indicator: str,
    as_of: datetime,
    workdays: WorkingCalendar,
) -> list[tuple[T, int]]:
    members = []
    for item, state in candidates:
        cells = feedback_contribution_in(read_feedback(state), period, as_of, workdays).cells
        cell = cells.get((period.key, indicator))
        if cell is not None and cell[1] > 0:
            members.append((item, cell[0]))
    return members


def range_counts(
    dossiers: Iterable[State],
    feedback: Iterable[State],
    period: Period,
    as_of: datetime,
    workdays: WorkingCalendar,
    province_code: str,
) -> CountDeltas:
    """The counts of a period nobody keeps (a range of days), from the states of the dossiers
    processed in it and the feedback received before its end, pooled into the province."""
    deltas: CountDeltas = {}
    for state in dossiers:
        facts = read_facts(state)
        if facts.unit_code is not None:
            add_difference(deltas, facts.unit_code, contribution_in(facts, period, as_of), NOTHING)
    for state in feedback:
        read = read_feedback(state)
        if read.unit_code is not None:
            contribution = feedback_contribution_in(read, period, as_of, workdays)
            add_difference(deltas, read.unit_code, contribution, NOTHING)
    return with_province(deltas, province_code)
