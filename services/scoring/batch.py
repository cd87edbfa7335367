"""One scoring step in memory: events and due subjects in, new rows and count deltas out.

A subject is a dossier or a feedback; `SubjectRules` says how one is read, evaluated and stored.
No I/O here, so the invariants (rebuild equals incremental, idempotence, order independence) can be
tested exhaustively on this code alone; `service.py` wraps it in a database transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from shared.collector import collector_paused
from shared.periods import Calendar, PeriodKind
from shared.rules.contributions import (
    NOTHING,
    Contribution,
    CountDeltas,
    DeltaSum,
    OnTimeUntil,
    contributions,
    next_transition,
    on_time_until,
    outcome_now,
    with_province,
)
from shared.rules.dossier import (
    Facts,
    Mark,
    State,
    apply_event,
    empty_state,
    procedure_of,
    read_facts,
    set_catalogue_facts,
)
from shared.rules.feedback import (
    REGISTER_FIELDS as FEEDBACK_FIELDS,
)
from shared.rules.feedback import (
    end_of_handling,
    evaluate_feedback,
    feedback_contributions,
    feedback_transition,
    read_feedback,
)
from shared.rules.ontime import DossierOutcome, Outcome, OverdueReason, end_of_processing
from shared.workdays import WorkingCalendar

RowT = TypeVar("RowT")
RowT_co = TypeVar("RowT_co", covariant=True)


@dataclass(slots=True)
class StoredState:
    """A subject's state as last stored."""

    state: State
    # When its contribution was last added to the counts; None if never.
    evaluated_at: datetime | None


@dataclass(slots=True)
class DossierRow:
    """The stored form of a dossier after a step: state plus columns for listings."""

    dossier_code: str
    unit_code: str | None
    procedure_code: str | None
    status: str | None
    received_at: datetime | None
    due_at: datetime | None
    outcome: DossierOutcome
    overdue_reason: OverdueReason | None
    effective_due_at: datetime | None
    clock_stopped_at: datetime | None
    state: State
    evaluated_at: datetime
    next_transition_at: datetime | None
    # Where a finished dossier's span ends (`shared.models.FINISHED_SPAN`): see `span_end`.
    ended_at: datetime | None
    # Its counts in a range ended while it was in process, if the range's end alone decides them.
    on_time_until: OnTimeUntil | None


@dataclass(slots=True)
class FeedbackRow:
    feedback_id: str
    unit_code: str | None
    status: str | None
    received_at: datetime | None
    late: bool
    state: State
    evaluated_at: datetime
    next_transition_at: datetime | None
    ended_at: datetime | None


@dataclass(slots=True)
class StepResult(Generic[RowT]):
    rows: list[RowT] = field(default_factory=list)
    deltas: CountDeltas = field(default_factory=dict)
    units_seen: set[str] = field(default_factory=set)

    @property
    def periods(self) -> set[str]:
        return {period for _, period, _ in self.deltas}


class SubjectRules(Protocol[RowT_co]):
    # The payload field that names the subject.
    key: str

    def apply(self, state: State, payload: dict[str, Any]) -> None: ...

    def contribution(self, state: State, at: datetime) -> tuple[str | None, Contribution]:
        """(unit, contribution) of a state evaluated at `at`."""
        ...

    def evaluate(
        self, code: str, state: State, now: datetime
    ) -> tuple[str | None, Contribution, RowT_co]:
        """(unit, contribution, row to store) of a state at `now`."""
        ...


class Scorer(Generic[RowT]):
    """Applies events to subjects and turns their changed contributions into count deltas."""

    def __init__(
        self, rules: SubjectRules[RowT], province_code: str, memo_size: int = 500_000
    ) -> None:
        self.rules = rules
        self.province_code = province_code
        # (subject, evaluated_at) -> the contribution written then. Every step has its own
        # evaluation instant, so the pair names one stored state: the memo cannot go stale.
        self._written: dict[tuple[str, datetime], tuple[str | None, Contribution]] = {}
        self.memo_size = memo_size

    def step(
        self,
        records: Mapping[str, StoredState],
        events: Iterable[dict[str, Any]],
        due: Iterable[str],
        now: datetime,
    ) -> StepResult[RowT]:
        """Apply `events` and re-evaluate the `due` subjects at `now`.

        The states in `records` are updated in place: the caller saves the returned rows.
        """
        # The service holds the collector paused over its whole transaction; this is for the
        # callers that do not (tests, verify).
        with collector_paused():
            deltas = DeltaSum()
            result = self.step_part(records, events, due, now, deltas)
            result.deltas = self.counted(deltas)
            return result

    def counted(self, deltas: DeltaSum) -> CountDeltas:
        """The count deltas of a step's changes, the province's pooled in."""
        return with_province(deltas.deltas(), self.province_code)

    def step_part(
        self,
        records: Mapping[str, StoredState],
        events: Iterable[dict[str, Any]],
        due: Iterable[str],
        now: datetime,
        deltas: DeltaSum,
    ) -> StepResult[RowT]:
        """`step` for some of a step's subjects (the others in other parts): their changes are
        added to `deltas`, which `counted` turns into the step's counts once every part is
        done. The result's own `deltas` stay empty."""
        key = self.rules.key
        by_subject: dict[str, list[dict[str, Any]]] = {code: [] for code in due if code in records}
        for payload in events:
            by_subject.setdefault(payload[key], []).append(payload)

        result: StepResult[RowT] = StepResult()
        for code, payloads in by_subject.items():
            record = records.get(code)
            old_unit: str | None = None
            old = NOTHING
            if record is not None and record.evaluated_at is not None:
                # Before the events touch the state: this is what the counts hold for it.
                old_unit, old = self._written_contribution(code, record)
            state = record.state if record is not None else empty_state()
            for payload in payloads:
                self.rules.apply(state, payload)
            unit, new, row = self.rules.evaluate(code, state, now)
            add_change(deltas, old_unit, old, unit, new)
            self._remember(code, now, unit, new)
            if unit:
                result.units_seen.add(unit)
            result.rows.append(row)
        return result

    def forget(self) -> None:
        """Drop the memo, e.g. after a step whose writes were rolled back."""
        self._written.clear()

    def _written_contribution(
        self, code: str, record: StoredState
    ) -> tuple[str | None, Contribution]:
        assert record.evaluated_at is not None
        written = self._written.pop((code, record.evaluated_at), None)
        if written is not None:
            return written
        return self.rules.contribution(record.state, record.evaluated_at)

    def _remember(
        self, code: str, at: datetime, unit_code: str | None, contribution: Contribution
    ) -> None:
        self._written[(code, at)] = (unit_code, contribution)
        while len(self._written) > self.memo_size:
            del self._written[next(iter(self._written))]


def add_change(
    deltas: DeltaSum,
    old_unit: str | None,
    old: Contribution,
    unit: str | None,
    new: Contribution,
) -> None:
    """Add a subject's change of contribution, from `old` in `old_unit` to `new` in `unit`."""
    if old_unit == unit:
        if unit is not None:
            deltas.add_difference(unit, new, old)
    else:  # moved to another unit (a correction): out of one, into the other
        if old_unit is not None:
            deltas.add_difference(old_unit, NOTHING, old)
        if unit is not None:
            deltas.add_difference(unit, new, NOTHING)


def span_end(end: datetime | None, marks: Sequence[Mark]) -> datetime | None:
    """Where a subject's span ends (`ended_at`): at its end (of processing, of handling), so that
    the span index of the finished holds just those being processed at an instant; at its latest
    step if it has none (never accepted; or open, which that index leaves out): no end is later."""
    if end is not None:
        return end
    return marks[-1].at if marks else None


class DossierRules:
    key = "dossier_code"

    def __init__(self, calendar: Calendar, kinds: Iterable[PeriodKind]) -> None:
        self.calendar = calendar
        self.kinds = tuple(kinds)
        # {procedure_code: catalogue facts} for the procedures of the dossiers being evaluated.
        self.catalogue: Mapping[str, dict[str, Any]] = {}

    def apply(self, state: State, payload: dict[str, Any]) -> None:
        apply_event(state, payload)

    def contribution(self, state: State, at: datetime) -> tuple[str | None, Contribution]:
        facts = read_facts(state)
        return facts.unit_code, contributions(facts, at, self.calendar, self.kinds, days=True)

    def evaluate(
        self, code: str, state: State, now: datetime
    ) -> tuple[str | None, Contribution, DossierRow]:
        # The catalogue's word first, so that the facts are read once (they hold it).
        procedure = procedure_of(state)
        if procedure is not None:
            set_catalogue_facts(state, self.catalogue.get(procedure, {}))
        facts = read_facts(state)
        at_now = outcome_now(facts, now)
        new = contributions(facts, now, self.calendar, self.kinds, at_now, days=True)
        return facts.unit_code, new, self._row(code, state, facts, now, at_now)

    def _row(
        self, code: str, state: State, facts: Facts, now: datetime, outcome: Outcome | None
    ) -> DossierRow:
        listed, reason, effective_due, stopped = DossierOutcome.NOT_COUNTED, None, None, None
        ended = end_of_processing(facts, now)
        if outcome is not None:
            listed, reason = outcome.listed, outcome.overdue_reason
            if facts.due_at is not None:
                effective_due = facts.due_at + outcome.closed_pause
            stopped = outcome.clock_stopped_at
        return DossierRow(
            dossier_code=code,
            unit_code=facts.unit_code,
            procedure_code=facts.procedure_code,
            status=facts.latest_status,
            received_at=facts.received_at,
            due_at=facts.due_at,
            outcome=listed,
            overdue_reason=reason,
            effective_due_at=effective_due,
            clock_stopped_at=stopped,
            state=state,
            evaluated_at=now,
            next_transition_at=next_transition(facts, now, self.calendar, self.kinds, outcome),
            ended_at=span_end(ended, facts.marks),
            on_time_until=on_time_until(facts, ended),
        )


class FeedbackRules:
    key = "feedback_id"

    def __init__(
        self, calendar: Calendar, kinds: Iterable[PeriodKind], workdays: WorkingCalendar
    ) -> None:
        self.calendar = calendar
        self.kinds = tuple(kinds)
        self.workdays = workdays

    def apply(self, state: State, payload: dict[str, Any]) -> None:
        apply_event(state, payload, FEEDBACK_FIELDS)

    def contribution(self, state: State, at: datetime) -> tuple[str | None, Contribution]:
        facts = read_feedback(state)
        return facts.unit_code, feedback_contributions(
            facts, at, self.calendar, self.kinds, self.workdays
        )

    def evaluate(
        self, code: str, state: State, now: datetime
    ) -> tuple[str | None, Contribution, FeedbackRow]:
        facts = read_feedback(state)
        new = feedback_contributions(facts, now, self.calendar, self.kinds, self.workdays)
        received = facts.received_at
        late = (
            received is not None
            and received <= now
            and evaluate_feedback(facts, now, self.workdays).late
        )
        row = FeedbackRow(
            feedback_id=code,
            unit_code=facts.unit_code,
            status=facts.marks[-1].status if facts.marks else None,
            received_at=received,
            late=late,
            state=state,
            evaluated_at=now,
            next_transition_at=feedback_transition(
                facts, now, self.calendar, self.kinds, self.workdays
            ),
            ended_at=span_end(end_of_handling(facts, now), facts.marks),
        )
        return facts.unit_code, new, row


class DossierScorer(Scorer[DossierRow]):
    """Dossiers, bound to a calendar, the tracked period kinds and the province."""

    def __init__(self, calendar: Calendar, kinds: Iterable[PeriodKind], province_code: str) -> None:
        self.calendar = calendar
        self.kinds = tuple(kinds)
        self.dossier_rules = DossierRules(calendar, self.kinds)
        super().__init__(self.dossier_rules, province_code)

    def use_catalogue(self, facts: Mapping[str, dict[str, Any]]) -> None:
        """What the catalogue says of the procedures of the next step's dossiers: every one of
        them (a procedure missing here is taken as missing from the catalogue)."""
        self.dossier_rules.catalogue = facts


def merge_deltas(*parts: CountDeltas) -> CountDeltas:
    """The sum of `parts`, without zero cells; the parts are left as they are.

    The largest part (the dossiers', next to a few feedback cells) is copied in one go, and only
    the others are added cell by cell."""
    if not parts:
        return {}
    largest = max(range(len(parts)), key=lambda index: len(parts[index]))
    merged = {key: [n, d] for key, (n, d) in parts[largest].items() if n or d}
    for index, part in enumerate(parts):
        if index == largest:
            continue
        for key, (numerator, denominator) in part.items():
            cell = merged.get(key)
            if cell is None:
                if numerator or denominator:
                    merged[key] = [numerator, denominator]
                continue
            cell[0] += numerator
            cell[1] += denominator
            if not (cell[0] or cell[1]):
                del merged[key]
    return merged


def feedback_scorer(
    calendar: Calendar,
    kinds: Iterable[PeriodKind],
    workdays: WorkingCalendar,
    province_code: str,
) -> Scorer[FeedbackRow]:
    return Scorer(FeedbackRules(calendar, kinds, workdays), province_code)
