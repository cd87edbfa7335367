"""Citizens' feedback (phản ánh, kiến nghị: PAKN) and indicators 5.1, 5.2 and 5.3.

Deadlines in working days, counted from submission or from the latest transfer to the unit:
refuse within 2, ask for a supplement within 5, answer (ready for publication) within 15, publish
within 2 of being ready. A feedback is late when any step it took missed its deadline, or when the
step it waits for is past due.
- 5.2: handled on time, or in progress within the deadline ÷ feedback being handled in the period
  (received in it, or still open during it), as the period stood at its end;
- 5.3: not disliked, not raised again about the result, not late ÷ feedback first received in the
  period;
- 5.1 (display): feedback about regulations ÷ feedback received in the period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events import FeedbackCategory, FeedbackStatus, Rating
from shared.periods import Calendar, Period, PeriodKind
from shared.rules.contributions import NOTHING, Cells, Contribution
from shared.rules.dossier import Mark, State, read_marks
from shared.workdays import WorkingCalendar

REGISTER_FIELDS = ("unit_code", "category", "rating", "raised_again")
REFUSE_DAYS, SUPPLEMENT_DAYS, ANSWER_DAYS, PUBLISH_DAYS = 2, 5, 15, 2
ON_TIME, SATISFIED, BY_CATEGORY = "5.2", "5.3", "5.1"
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class FeedbackFacts:
    unit_code: str | None
    category: str | None
    rating: str | None
    raised_again: bool
    marks: tuple[Mark, ...]

    def first(self, status: str, as_of: datetime) -> datetime | None:
        return next((m.at for m in self.marks if m.status == status and m.at <= as_of), None)

    @property
    def received_at(self) -> datetime | None:
        return next((m.at for m in self.marks if m.status == FeedbackStatus.RECEIVED), None)


def read_feedback(state: State) -> FeedbackFacts:
    registers = state["f"]

    def value(name: str) -> object:
        entry = registers.get(name)
        return None if entry is None else entry[0]

    marks = read_marks(state)
    return FeedbackFacts(
        unit_code=value("unit_code"),  # type: ignore[arg-type]
        category=value("category"),  # type: ignore[arg-type]
        rating=value("rating"),  # type: ignore[arg-type]
        raised_again=bool(value("raised_again")),
        marks=marks,
    )


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    finished: bool
    late: bool
    # When the step it waits for falls due (None once finished).
    pending_deadline: datetime | None


def evaluate_feedback(
    facts: FeedbackFacts, as_of: datetime, workdays: WorkingCalendar
) -> FeedbackOutcome:
    received = facts.first(FeedbackStatus.RECEIVED, as_of)
    assert received is not None
    transfers = [
        m.at for m in facts.marks if m.status == FeedbackStatus.TRANSFERRED and m.at <= as_of
    ]
    start = max([received, *transfers])
    rejected = facts.first(FeedbackStatus.REJECTED, as_of)
    supplement = facts.first(FeedbackStatus.SUPPLEMENT_REQUESTED, as_of)
    answered = facts.first(FeedbackStatus.ANSWERED, as_of)
    published = facts.first(FeedbackStatus.PUBLISHED, as_of)
    late = any(
        done is not None and done > workdays.deadline(since, days)
        for done, since, days in (
            (rejected, start, REFUSE_DAYS),
            (supplement, start, SUPPLEMENT_DAYS),
            (answered, start, ANSWER_DAYS),
        )
    )
    if published is not None and answered is not None:
        late = late or published > workdays.deadline(answered, PUBLISH_DAYS)
    finished = rejected is not None or published is not None
    pending = None
    if not finished:
        pending = (
            workdays.deadline(answered, PUBLISH_DAYS)
            if answered is not None
            else workdays.deadline(start, ANSWER_DAYS)
        )
        late = late or as_of > pending
    return FeedbackOutcome(finished=finished, late=late, pending_deadline=pending)


def feedback_contributions(
    facts: FeedbackFacts,
    now: datetime,
    calendar: Calendar,
    kinds: Iterable[PeriodKind],
    workdays: WorkingCalendar,
) -> Contribution:
    received = facts.received_at
    if received is None or received > now:
        return NOTHING
    cells: Cells = {}
    at_now = evaluate_feedback(facts, now, workdays)
    ended = end_of_handling(facts, now)
    outcomes: dict[datetime, FeedbackOutcome] = {now: at_now}
    for kind in kinds:
        _add_receipt_cells(cells, calendar.period_of(kind, received).key, facts, at_now)
        for period in calendar.span(kind, received, ended or now):
            as_of = min(period.end, now)
            outcome = outcomes.get(as_of)
            if outcome is None:
                outcome = outcomes[as_of] = evaluate_feedback(facts, as_of, workdays)
            cells[(period.key, ON_TIME)] = (int(not outcome.late), 1)
    return Contribution(cells=cells)


def feedback_contribution_in(
    facts: FeedbackFacts, period: Period, now: datetime, workdays: WorkingCalendar
) -> Contribution:
    """A feedback's share of one period's counts, for any period (a date range too): the same
    rules as `feedback_contributions`, for a period that is not kept incrementally."""
    received = facts.received_at
    if received is None or received > now or received >= period.end:
        return NOTHING
    cells: Cells = {}
    if period.contains(received):
        _add_receipt_cells(cells, period.key, facts, evaluate_feedback(facts, now, workdays))
    if period.start <= (end_of_handling(facts, now) or now):
        outcome = evaluate_feedback(facts, min(period.end, now), workdays)
        cells[(period.key, ON_TIME)] = (int(not outcome.late), 1)
    return Contribution(cells=cells)


def _add_receipt_cells(
    cells: Cells, period_key: str, facts: FeedbackFacts, at_now: FeedbackOutcome
) -> None:
    """5.3 and 5.1, in the period the feedback was received in."""
    satisfied = not at_now.late and facts.rating != Rating.UNSATISFIED and not facts.raised_again
    cells[(period_key, SATISFIED)] = (int(satisfied), 1)
    cells[(period_key, BY_CATEGORY)] = (int(facts.category == FeedbackCategory.REGULATION), 1)


def end_of_handling(facts: FeedbackFacts, as_of: datetime) -> datetime | None:
    """When the feedback was refused or its answer published, the first of them, among the steps
    up to `as_of`."""
    ends = [
        t
        for t in (
            facts.first(FeedbackStatus.REJECTED, as_of),
            facts.first(FeedbackStatus.PUBLISHED, as_of),
        )
        if t
    ]
    return min(ends, default=None)


def feedback_transition(
    facts: FeedbackFacts,
    now: datetime,
    calendar: Calendar,
    kinds: Iterable[PeriodKind],
    workdays: WorkingCalendar,
) -> datetime | None:
    candidates = [m.at for m in facts.marks if m.at > now]
    received = facts.received_at
    if received is not None and received <= now:
        outcome = evaluate_feedback(facts, now, workdays)
        if not outcome.finished:
            if outcome.pending_deadline is not None and outcome.pending_deadline >= now:
                candidates.append(outcome.pending_deadline + _TICK)
            candidates.extend(calendar.period_of(kind, now).end for kind in kinds)
    return min(candidates, default=None)
