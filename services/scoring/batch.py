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

from shared.periods import Calendar, PeriodKind
from shared.rules.contributions import (
    NOTHING,
    Contribution,
    CountDeltas,
    CountKey,
    add_difference,
    contributions,
    next_transition,
    outcome_now,
)
from shared.rules.dossier import Facts, State, apply_event, empty_state, read_facts
from shared.rules.ontime import Outcome


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

    def __init__(
        self,
        calendar: Calendar,
        kinds: Iterable[PeriodKind],
        province_code: str,
        memo_size: int = 500_000,
    ) -> None:
        self.calendar = calendar
        self.kinds = tuple(kinds)
        self.province_code = province_code
        # (dossier, evaluated_at) -> the contribution written then. Every step has its own
        # evaluation instant, so the pair names one stored state: the memo cannot go stale.
        self._written: dict[tuple[str, datetime], tuple[str | None, Contribution]] = {}
        self.memo_size = memo_size

    def step(
        self,
        records: Mapping[str, DossierRecord],
        events: Iterable[dict[str, Any]],
        due: Iterable[str],
        now: datetime,
    ) -> StepResult:
        """Apply `events` and re-evaluate the `due` dossiers at `now`.

        The states in `records` are updated in place: the caller saves the returned rows.
        """
        by_dossier: dict[str, list[dict[str, Any]]] = {code: [] for code in due if code in records}
        for payload in events:
            by_dossier.setdefault(payload["dossier_code"], []).append(payload)

        result = StepResult()
        deltas: CountDeltas = {}
        for code, payloads in by_dossier.items():
            record = records.get(code)
            old_unit: str | None = None
            old = NOTHING
            if record is not None and record.evaluated_at is not None:
                # Before the events touch the state: this is what the counts hold for it.
                old_unit, old = self._written_contribution(code, record)
            state = record.state if record is not None else empty_state()
            for payload in payloads:
                apply_event(state, payload)
            facts = read_facts(state)
            at_now = outcome_now(facts, now)
            new = contributions(facts, now, self.calendar, self.kinds, at_now)
            if old_unit == facts.unit_code:
                if facts.unit_code is not None:
                    add_difference(deltas, facts.unit_code, new, old)
            else:  # moved to another unit (a correction): out of one, into the other
                if old_unit is not None:
                    add_difference(deltas, old_unit, NOTHING, old)
                if facts.unit_code is not None:
                    add_difference(deltas, facts.unit_code, new, NOTHING)
            self._remember(code, now, facts.unit_code, new)
            if facts.unit_code:
                result.units_seen.add(facts.unit_code)
            result.rows.append(self._row(code, state, facts, now, at_now))
        result.deltas = self._with_province(deltas)
        return result

    def forget(self) -> None:
        """Drop the memo, e.g. after a step whose writes were rolled back."""
        self._written.clear()

    def _written_contribution(
        self, code: str, record: DossierRecord
    ) -> tuple[str | None, Contribution]:
        assert record.evaluated_at is not None
        written = self._written.pop((code, record.evaluated_at), None)
        if written is not None:
            return written
        facts = read_facts(record.state)
        return facts.unit_code, contributions(facts, record.evaluated_at, self.calendar, self.kinds)

    def _remember(
        self, code: str, at: datetime, unit_code: str | None, contribution: Contribution
    ) -> None:
        self._written[(code, at)] = (unit_code, contribution)
        while len(self._written) > self.memo_size:
            del self._written[next(iter(self._written))]

    def _with_province(self, deltas: CountDeltas) -> CountDeltas:
        """Drop cells that cancelled out; pool every unit's cells into the province's."""
        pooled: defaultdict[CountKey, list[int]] = defaultdict(lambda: [0, 0])
        for (unit, period, indicator), (numerator, denominator) in deltas.items():
            if unit != self.province_code:
                cell = pooled[(self.province_code, period, indicator)]
                cell[0] += numerator
                cell[1] += denominator
        for key, (numerator, denominator) in pooled.items():
            cell = deltas.setdefault(key, [0, 0])
            cell[0] += numerator
            cell[1] += denominator
        return {key: value for key, value in deltas.items() if value != [0, 0]}

    def _row(
        self, code: str, state: State, facts: Facts, now: datetime, outcome: Outcome | None
    ) -> DossierRow:
        outcome_name, reason, effective_due, stopped = "NOT_COUNTED", None, None, None
        if outcome is not None:
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
            next_transition_at=next_transition(facts, now, self.calendar, self.kinds, outcome),
        )
