"""One scoring transaction: read new events and due dossiers, apply, write counts and position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import repository
from services.scoring.batch import DossierScorer
from shared.clock import Clock

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class StepReport:
    events: int
    due: int
    dossiers: int

    @property
    def idle(self) -> bool:
        return self.events == 0 and self.due == 0


class ScoringService:
    def __init__(
        self, scorer: DossierScorer, clock: Clock, batch_size: int, province_name: str
    ) -> None:
        self.scorer = scorer
        self.clock = clock
        self.batch_size = batch_size
        self.province_name = province_name

    async def step(self, session: AsyncSession) -> StepReport:
        """Run inside the caller's transaction; the position moves with the counts it produced."""
        try:
            return await self._step(session)
        except BaseException:
            # The transaction will not commit: what the scorer remembers of it is void.
            self.scorer.forget()
            raise

    async def _step(self, session: AsyncSession) -> StepReport:
        position = await repository.lock_position(session, self.clock.now())
        if position.events_applied == 0:
            await repository.ensure_province(session, self.scorer.province_code, self.province_name)
        # Each step evaluates at its own instant, later than the last: the counts never go back
        # in time, and (dossier, evaluated_at) names one written state.
        now = max(self.clock.now(), position.as_of + timedelta(microseconds=1))
        rows = await repository.fetch_events(session, position.last_seq, self.batch_size)
        due = await repository.fetch_due(session, now)
        if not rows and not due:
            return StepReport(0, 0, 0)

        dossier_events: list[dict[str, Any]] = []
        unit_events: list[dict[str, Any]] = []
        for row in rows:
            (unit_events if row.kind == "unit" else dossier_events).append(row.payload)
        codes = {payload["dossier_code"] for payload in dossier_events} | set(due)
        records = await repository.load_dossiers(session, codes)
        result = self.scorer.step(records, dossier_events, due, now)

        await repository.apply_unit_events(session, unit_events)
        await repository.ensure_units(session, result.units_seen)
        await repository.save_dossiers(session, result.rows)
        await repository.add_counts(session, result.deltas)
        periods = result.periods
        closed = {key for key in periods if self.scorer.calendar.parse(key).end <= now}
        await repository.bump_periods(session, periods, closed, now)
        if rows:
            position.last_seq = rows[-1].seq
            position.events_applied += len(rows)
        position.as_of = now
        position.updated_at = self.clock.now()
        await session.flush()
        return StepReport(len(rows), len(due), len(result.rows))
