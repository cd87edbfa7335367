"""One scoring step in memory: events and due dossiers in, new dossier rows and count deltas out.

No I/O here, so the invariants (rebuild equals incremental, idempotence, order independence) can be
tested exhaustively on this function alone; `service.py` wraps it in a database transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.scoring.contributions import contributions, next_transition
from services.scoring.dossier import State, apply_event, empty_state, read_facts
from services.scoring.ontime import evaluate
from shared.periods import Calendar, PeriodKind

# (unit_code, period_key, indicator_id) -> (numerator delta, denominator delta)
CountKey = tuple[str, str, str]
CountDeltas = dict[CountKey, list[int]]


@dataclass(slots=True)
class DossierRecord:
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
    outcome: str
    overdue_reason: str | None
    effective_due_at: datetime | None
    clock_stopped_at: datetime | None
    state: State
    evaluated_at: datetime
    next_transition_at: datetime | None


@dataclass(slots=True)
class StepResult:
    rows: list[DossierRow] = field(default_factory=list)
    deltas: CountDeltas = field(default_factory=dict)
    units_seen: set[str] = field(default_factory=set)

    @property
    def periods(self) -> set[str]:
        return {period for _, period, _ in self.deltas}


class DossierScorer:
    """Pure scoring rules bound to a calendar, the tracked period kinds and the province."""

    def __init__(self, calendar: Calendar, kinds: Iterable[PeriodKind], province_code: str) -> None:
        self.calendar = calendar
        self.kinds = tuple(kinds)
        self.province_code = province_code

    def contribution_of(self, state: State, at: datetime) -> dict[tuple[str, str], tuple[int, int]]:
        return contributions(read_facts(state), at, self.calendar, self.kinds)

    def step(
        self,
        records: Mapping[str, DossierRecord],
        events: Iterable[dict[str, Any]],
        due: Iterable[str],
        now: datetime,
    ) -> StepResult:
        """Apply `events` and re-evaluate the `due` dossiers at `now`."""
        states: dict[str, State] = {}
        for payload in events:
            code = payload["dossier_code"]
            state = states.get(code)
            if state is None:
                record = records.get(code)
                state = states[code] = _copy(record.state) if record else empty_state()
            apply_event(state, payload)
        for code in due:
            if code not in states and code in records:
                states[code] = records[code].state

        result = StepResult()
        deltas: defaultdict[CountKey, list[int]] = defaultdict(lambda: [0, 0])
        for code, state in states.items():
            record = records.get(code)
            facts = read_facts(state)
            new = contributions(facts, now, self.calendar, self.kinds)
            if record is not None and record.evaluated_at is not None:
                old_facts = read_facts(record.state)
                old = contributions(old_facts, record.evaluated_at, self.calendar, self.kinds)
                self._add(deltas, old_facts.unit_code, old, -1)
            self._add(deltas, facts.unit_code, new, +1)
            if facts.unit_code:
                result.units_seen.add(facts.unit_code)
            result.rows.append(self._row(code, state, facts, now))
        result.deltas = {key: value for key, value in deltas.items() if value != [0, 0]}
        return result

    def _add(
        self,
        deltas: defaultdict[CountKey, list[int]],
        unit_code: str | None,
        contribution: Mapping[tuple[str, str], tuple[int, int]],
        sign: int,
    ) -> None:
        if unit_code is None:
            return
        pooled = unit_code != self.province_code
        for (period, indicator), (numerator, denominator) in contribution.items():
            cell = deltas[(unit_code, period, indicator)]
            cell[0] += sign * numerator
            cell[1] += sign * denominator
            if pooled:
                cell = deltas[(self.province_code, period, indicator)]
                cell[0] += sign * numerator
                cell[1] += sign * denominator

    def _row(self, code: str, state: State, facts: Any, now: datetime) -> DossierRow:
        outcome_name, reason, effective_due, stopped = "NOT_COUNTED", None, None, None
        if facts.accepted and facts.received_at <= now:
            outcome = evaluate(facts, now)
            if outcome.finished:
                outcome_name = "ON_TIME" if outcome.on_time else "OVERDUE"
            else:
                outcome_name = "IN_PROGRESS" if outcome.on_time else "IN_PROGRESS_OVERDUE"
            reason = outcome.overdue_reason
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
            outcome=outcome_name,
            overdue_reason=reason,
            effective_due_at=effective_due,
            clock_stopped_at=stopped,
            state=state,
            evaluated_at=now,
            next_transition_at=next_transition(facts, now, self.calendar, self.kinds),
        )


def _copy(state: State) -> State:
    # Registers are replaced, never mutated, so a shallow copy per level is enough.
    return {"f": dict(state["f"]), "m": dict(state["m"])}
