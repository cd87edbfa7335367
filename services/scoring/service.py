"""One scoring transaction: read new events and due dossiers, apply, write counts and position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import repository
from services.scoring.alerts import SCAN_GRANULARITY, DossierAlerts
from services.scoring.batch import DossierRow, DossierScorer, FeedbackRow, Scorer, merge_deltas
from shared.alerts import repository as alerts
from shared.clock import Clock
from shared.events import CATALOGUE_KINDS
from shared.models import CATALOGUE_VERSION, ScoringPosition
from shared.rules.dossier import procedure_of

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class StepReport:
    events: int
    due: int
    dossiers: int
    alerts: int = 0

    @property
    def idle(self) -> bool:
        return self.events == 0 and self.due == 0


class ScoringService:
    def __init__(
        self,
        scorer: DossierScorer,
        feedback: Scorer[FeedbackRow],
        clock: Clock,
        batch_size: int,
        province_name: str,
        dossier_alerts: DossierAlerts,
    ) -> None:
        self.dossier_alerts = dossier_alerts
        # Whether the overdue dossiers of the last `max_age` need looking at again: after a start
        # and after catching up, when the alerts of the steps in between were held back.
        self._recheck_overdue = True
        self.scorer = scorer
        self.feedback = feedback
        self.clock = clock
        self.batch_size = batch_size
        self.province_name = province_name

    async def step(self, session: AsyncSession) -> StepReport:
        """Run inside the caller's transaction; the position moves with the counts it produced."""
        try:
            return await self._step(session)
        except BaseException:
            self.rolled_back()
            raise

    def rolled_back(self) -> None:
        """The step's transaction did not commit: what was remembered of it is void."""
        self.scorer.forget()
        self.feedback.forget()
        self._recheck_overdue = True

    async def _apply_catalogue(
        self, session: AsyncSession, by_kind: dict[str, list[dict[str, Any]]]
    ) -> list[str]:
        """Write the step's catalogue events; the dossiers whose procedure they changed."""
        codes = {p["procedure_code"] for p in by_kind["procedure"]}
        before = await repository.procedure_facts(session, codes)
        for kind in CATALOGUE_KINDS:
            await repository.apply_catalogue_events(session, kind, by_kind[kind])
        if not codes:
            return []
        after = await repository.procedure_facts(session, codes)
        changed = [code for code in codes if before.get(code, {}) != after.get(code, {})]
        return await repository.dossiers_of_procedures(session, changed) if changed else []

    async def _step(self, session: AsyncSession) -> StepReport:
        position = await repository.lock_position(session, self.clock.now())
        if position.events_applied == 0:
            await repository.ensure_province(session, self.scorer.province_code, self.province_name)
        # Each step evaluates at its own instant, later than the last: the counts never go back
        # in time, and (dossier, evaluated_at) names one written state.
        now = max(self.clock.now(), position.as_of + timedelta(microseconds=1))
        rows = await repository.fetch_events(session, position.last_seq, self.batch_size)
        due_dossiers, due_feedback = await repository.fetch_due(session, now)
        if not rows and not due_dossiers and not due_feedback:
            found = await self._record_alerts(session, position, [], now, caught_up=True)
            return StepReport(0, 0, 0, found)

        by_kind: dict[str, list[dict[str, Any]]] = {
            kind: [] for kind in (*CATALOGUE_KINDS, "feedback", "dossier")
        }
        for row in rows:
            by_kind[row.kind if row.kind in by_kind else "dossier"].append(row.payload)
        # The catalogue first: the dossiers below are evaluated with what it says now.
        changed = await self._apply_catalogue(session, by_kind)
        due_dossiers = sorted(set(due_dossiers) | set(changed))
        dossiers = await repository.load_dossiers(
            session, {p["dossier_code"] for p in by_kind["dossier"]} | set(due_dossiers)
        )
        feedback = await repository.load_feedback(
            session, {p["feedback_id"] for p in by_kind["feedback"]} | set(due_feedback)
        )
        procedures = {p["procedure_code"] for p in by_kind["dossier"] if "procedure_code" in p}
        procedures.update(filter(None, (procedure_of(r.state) for r in dossiers.values())))
        self.scorer.use_catalogue(await repository.procedure_facts(session, procedures))
        dossier_step = self.scorer.step(dossiers, by_kind["dossier"], due_dossiers, now)
        feedback_step = self.feedback.step(feedback, by_kind["feedback"], due_feedback, now)

        await repository.ensure_units(session, dossier_step.units_seen | feedback_step.units_seen)
        await repository.save_dossiers(session, dossier_step.rows)
        await repository.save_feedback(session, feedback_step.rows)
        deltas = merge_deltas(dossier_step.deltas, feedback_step.deltas)
        await repository.add_counts(session, deltas)
        periods = {period for _, period, _ in deltas}
        closed = {key for key in periods if self.scorer.calendar.parse(key).end <= now}
        await repository.bump_periods(session, periods, closed, now)
        if any(by_kind[kind] for kind in CATALOGUE_KINDS):
            # The catalogue's indicators are computed when read: their cache is keyed on this.
            await repository.bump_periods(session, [CATALOGUE_VERSION], [], now)
        caught_up = len(rows) < self.batch_size
        found = await self._record_alerts(session, position, dossier_step.rows, now, caught_up)
        if rows:
            position.last_seq = rows[-1].seq
            position.events_applied += len(rows)
        position.as_of = now
        position.updated_at = self.clock.now()
        await session.flush()
        return StepReport(
            len(rows),
            len(due_dossiers) + len(due_feedback),
            len(dossier_step.rows) + len(feedback_step.rows),
            found,
        )

    async def _record_alerts(
        self,
        session: AsyncSession,
        position: ScoringPosition,
        rows: list[DossierRow],
        now: datetime,
        caught_up: bool,
    ) -> int:
        """Alerts of the dossiers just written, and of those whose due time came within the
        warning horizon as time passed; how many were new.

        Not while catching up on a backlog: a batch may end between a dossier's events, and its
        state in between (received long ago, not yet seen completed) is no fact. Once caught up,
        the dossiers overdue within the alerts' age limit are looked at again instead."""
        if not caught_up:
            self._recheck_overdue = True
            return 0
        horizon = self.dossier_alerts.horizon(now)
        found = self.dossier_alerts.of_rows(rows, now, horizon)
        if self._recheck_overdue:
            since = now - self.dossier_alerts.max_age
            overdue = await repository.overdue_since(session, since)
            found += self.dossier_alerts.of_rows(overdue, now, horizon)
        scanned_to = max(position.due_soon_scanned_to or now, now)
        if horizon >= scanned_to + SCAN_GRANULARITY:
            coming = await repository.coming_due(session, scanned_to, horizon)
            found += self.dossier_alerts.of_rows(coming, now, horizon)
            position.due_soon_scanned_to = horizon
            position.updated_at = self.clock.now()
        new = await alerts.record(session, found)
        # Only now: if this transaction fails, the next step looks again.
        self._recheck_overdue = False
        return new
