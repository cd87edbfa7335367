"""Whether a dossier was handled on time (indicators 2.1 and 5.4), as of a given instant.

The rules of the methodology, in order:
- the end of processing is the first `COMPLETED`, else the first `RESULT_RETURNED`, else the first
  of `SUSPENDED` / `REJECTED` / `WITHDRAWN`;
- supplement requests pause the clock until the citizen supplies; a pending one stops it at the
  request; the paused time is taken off the end;
- more than one supplement request makes the dossier overdue (requests at the same instant are one);
- unfinished, its end is the evaluation instant; on time if the adjusted end is not after `due_at`.
Only status steps at or before the evaluation instant are considered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.events import DossierStatus
from shared.rules.dossier import Facts

END_PRIORITY: tuple[frozenset[str], ...] = (
    frozenset({DossierStatus.COMPLETED}),
    frozenset({DossierStatus.RESULT_RETURNED}),
    frozenset({DossierStatus.SUSPENDED, DossierStatus.REJECTED, DossierStatus.WITHDRAWN}),
)
SUPPLEMENT_REQUESTED = DossierStatus.SUPPLEMENT_REQUESTED
SUPPLEMENTED = DossierStatus.SUPPLEMENTED
_ZERO = timedelta(0)
# Times are kept to the microsecond: the first instant after another.
_TICK = timedelta(microseconds=1)


class DossierOutcome(StrEnum):
    """Where a dossier stands on time, as listed (`dossiers.outcome`)."""

    ON_TIME = "ON_TIME"
    OVERDUE = "OVERDUE"
    IN_PROGRESS = "IN_PROGRESS"
    IN_PROGRESS_OVERDUE = "IN_PROGRESS_OVERDUE"
    # Not accepted at the desk (or not yet): in no count.
    NOT_COUNTED = "NOT_COUNTED"


OVERDUE_OUTCOMES = frozenset({DossierOutcome.OVERDUE, DossierOutcome.IN_PROGRESS_OVERDUE})
IN_PROGRESS_OUTCOMES = frozenset({DossierOutcome.IN_PROGRESS, DossierOutcome.IN_PROGRESS_OVERDUE})


class OverdueReason(StrEnum):
    LATE = "late"
    MULTIPLE_SUPPLEMENTS = "multiple_supplements"


@dataclass(frozen=True, slots=True)
class Outcome:
    finished: bool
    # The raw end of processing (the evaluation instant when unfinished).
    end: datetime
    # End less the supplement waiting time: what is compared with `due_at`.
    adjusted_end: datetime
    on_time: bool
    overdue_reason: OverdueReason | None
    supplement_requests: int
    # Waiting time of supplements already answered (before `end`).
    closed_pause: timedelta
    # The request time of a supplement still pending at `end`, if any.
    pending_since: datetime | None

    @property
    def listed(self) -> DossierOutcome:
        if self.finished:
            return DossierOutcome.ON_TIME if self.on_time else DossierOutcome.OVERDUE
        return DossierOutcome.IN_PROGRESS if self.on_time else DossierOutcome.IN_PROGRESS_OVERDUE

    @property
    def clock_stopped_at(self) -> datetime | None:
        """Where the processing clock stands still: a pending supplement or the end."""
        if self.pending_since is not None:
            return self.pending_since
        return self.end if self.finished else None


# The rank of each end step in END_PRIORITY: 0 for the highest.
_END_RANK: dict[str, int] = {
    status: rank for rank, group in enumerate(END_PRIORITY) for status in group
}


def end_of_processing(facts: Facts, as_of: datetime) -> datetime | None:
    """The earliest step of the highest-priority kind of end, among the steps up to `as_of`."""
    best_rank, best_at = len(END_PRIORITY), None
    for mark in facts.marks:  # sorted by time: the first of each kind is its earliest
        if mark.at > as_of:
            break
        rank = _END_RANK.get(mark.status)
        if rank is not None and rank < best_rank:
            best_rank, best_at = rank, mark.at
            if rank == 0:
                break
    return best_at


def _pauses(facts: Facts, end: datetime) -> tuple[int, timedelta, datetime | None]:
    """(requests, closed pause, pending since) for supplement steps up to `end`."""
    # Two steps at the same instant are one request (a snapshot may repeat the last step).
    requested_at: set[datetime] = set()
    supplied_at: set[datetime] = set()
    for mark in facts.marks:
        if mark.at <= end:
            if mark.status == SUPPLEMENT_REQUESTED:
                requested_at.add(mark.at)
            elif mark.status == SUPPLEMENTED:
                supplied_at.add(mark.at)
    if not requested_at:
        return 0, _ZERO, None  # most dossiers: nothing asked of the citizen
    requests = sorted(requested_at)
    supplies = sorted(supplied_at)
    closed = _ZERO
    pending_since: datetime | None = None
    covered_until: datetime | None = None
    supply_index = 0
    for requested in requests:
        while supply_index < len(supplies) and supplies[supply_index] < requested:
            supply_index += 1  # a supply with no request before it answers nothing
        if supply_index == len(supplies):
            pending_since = requested if covered_until is None else max(requested, covered_until)
            break
        supplied = supplies[supply_index]
        supply_index += 1
        # Overlapping requests pause the clock once.
        start = requested if covered_until is None else max(requested, covered_until)
        if supplied > start:
            closed += supplied - start
            covered_until = supplied
    return len(requests), closed, pending_since


def evaluate(facts: Facts, as_of: datetime) -> Outcome:
    """The on-time outcome of an accepted dossier as of `as_of`."""
    finished_at = end_of_processing(facts, as_of)
    end = finished_at if finished_at is not None else as_of
    requests, closed, pending_since = _pauses(facts, end)
    adjusted = (pending_since if pending_since is not None else end) - closed
    reason: OverdueReason | None
    if requests > 1:
        on_time, reason = False, OverdueReason.MULTIPLE_SUPPLEMENTS
    elif facts.due_at is not None and adjusted > facts.due_at:
        on_time, reason = False, OverdueReason.LATE
    else:
        # Without a due date, and until the catalogue gives the legal maximum, nothing is late.
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


def overdue_crossing(facts: Facts, outcome: Outcome) -> datetime | None:
    """When an unfinished, on-time dossier turns overdue if nothing else happens."""
    if outcome.finished or not outcome.on_time or outcome.pending_since is not None:
        return None
    if facts.due_at is None:
        return None
    # On time while adjusted_end <= due_at, so the first overdue instant is just after.
    return facts.due_at + outcome.closed_pause + _TICK


_PAUSE_STEPS = frozenset({SUPPLEMENT_REQUESTED, SUPPLEMENTED})


def overdue_from(facts: Facts) -> datetime | None:
    """The first instant at which an accepted dossier not finished by then is overdue: for any
    instant E from its receipt on at which no end step has come yet, `evaluate(facts, E).on_time`
    if and only if E < overdue_from (None: on time at every such instant).

    Lateness only grows with time (the adjusted end never goes back, requests only add up), so
    there is one such instant. Between two supplement steps nothing moves the pauses: the
    adjusted end is E less the closed pauses, or stands still while a request is pending, and
    the crossing of the due time, if any, is found in the first interval that holds it."""
    received = facts.received_at
    assert received is not None
    for mark in facts.marks:
        if mark.status in _PAUSE_STEPS:
            break
    else:
        # Most dossiers: nothing asked of the citizen, late once past the due time.
        return None if facts.due_at is None else facts.due_at + _TICK
    steps = sorted({m.at for m in facts.marks if m.status in _PAUSE_STEPS and m.at > received})
    starts = [received, *steps]
    for index, start in enumerate(starts):
        outcome = evaluate(facts, start)
        if not outcome.on_time:
            return start
        if facts.due_at is not None and outcome.pending_since is None:
            crossing = facts.due_at + outcome.closed_pause + _TICK
            if index + 1 == len(starts) or crossing < starts[index + 1]:
                return crossing
    return None
