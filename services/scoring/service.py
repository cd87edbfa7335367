"""One scoring transaction: read the share's new events and due subjects, apply, write counts,
versions and positions, and tell the api's processes which versions moved.

A step covers the partitions an instance owns (`claims.py`) that stand at one position: when a
partition taken over from another instance is behind, the behind ones catch up first, up to the
others, so that every step reads one run of the store for all the partitions it covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import repository
from services.scoring.alerts import SCAN_GRANULARITY, DossierAlerts
from services.scoring.batch import DossierRow, DossierScorer, FeedbackRow, Scorer, merge_deltas
from services.scoring.repository import Share
from shared.alerts import repository as alerts
from shared.clock import Clock
from shared.events import CATALOGUE_KINDS
from shared.models import CATALOGUE_VERSION, ScoringPosition
from shared.rules.dossier import procedure_of
from shared.versions import VersionsMoved

log = structlog.get_logger()
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class StepReport:
    events: int
    due: int
    dossiers: int
    alerts: int = 0
    # Some partitions of the share stood ahead of the stepped ones: there is more to do.
    partial: bool = False

    @property
    def idle(self) -> bool:
        return self.events == 0 and self.due == 0 and not self.partial


IDLE = StepReport(0, 0, 0)


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
        self._owned: Share | None = None
        self.scorer = scorer
        self.feedback = feedback
        self.clock = clock
        self.batch_size = batch_size
        self.province_name = province_name

    async def step(self, session: AsyncSession, owned: Share) -> StepReport:
        """Run inside the caller's transaction; the positions move with the counts they
        produced."""
        try:
            return await self._step(session, owned)
        except BaseException:
            self.rolled_back()
            raise

    def rolled_back(self) -> None:
        """The step's transaction did not commit: what was remembered of it is void."""
        self.scorer.forget()
        self.feedback.forget()
        self._recheck_overdue = True

    async def _step(self, session: AsyncSession, owned: Share) -> StepReport:
        if not owned.partitions:
            return IDLE
        if owned != self._owned:
            # Dossiers taken over may be overdue with alerts their last owner never wrote.
            self._owned = owned
            self._recheck_overdue = True
        positions = await repository.lock_positions(session, owned)
        behind = min(p.last_seq for p in positions.values())
        stepped = {k: p for k, p in positions.items() if p.last_seq == behind}
        ahead = [p.last_seq for p in positions.values() if p.last_seq > behind]
        share = Share(tuple(sorted(stepped)), owned.count)
        if any(p.events_applied == 0 for p in stepped.values()):
            await repository.ensure_province(session, self.scorer.province_code, self.province_name)
        # Each step evaluates at its own instant, later than the last of every partition it
        # covers: the counts never go back in time, and (subject, evaluated_at) names one state.
        now = max(self.clock.now(), max(p.as_of for p in stepped.values()) + _TICK)
        # Read first: every event up to it is visible to the reads below.
        bound = min([await repository.last_stored_seq(session), *ahead])
        rows = await repository.fetch_events(session, share, behind, bound, self.batch_size)
        # A share may have no event in a run of the store: it has still read the run.
        reached = rows[-1].seq if len(rows) == self.batch_size else bound
        due_dossiers, due_feedback = await repository.fetch_due(session, share, now)
        if not rows and not due_dossiers and not due_feedback:
            found = await self._record_alerts(session, share, stepped, [], now, caught_up=True)
            for position in stepped.values():
                position.last_seq = reached
            return StepReport(0, 0, 0, found, partial=bool(ahead))

        by_kind: dict[str, list[dict[str, Any]]] = {
            kind: [] for kind in (*CATALOGUE_KINDS, "feedback", "dossier")
        }
        for row in rows:
            by_kind[row.kind if row.kind in by_kind else "dossier"].append(row.payload)
        # The catalogue first: the dossiers below are evaluated with what it says now.
        changed = await self._apply_catalogue(session, share, by_kind)
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

        new_units = await repository.ensure_units(
            session, dossier_step.units_seen | feedback_step.units_seen
        )
        await repository.save_dossiers(session, dossier_step.rows)
        await repository.save_feedback(session, feedback_step.rows)
        deltas = merge_deltas(dossier_step.deltas, feedback_step.deltas)
        await repository.add_counts(session, deltas, share.writes_to)
        periods = {period for _, period, _ in deltas}
        # The catalogue's indicators are computed when read, and the api keeps the units: both
        # are cached on the catalogue's version.
        if new_units or any(by_kind[kind] for kind in CATALOGUE_KINDS):
            periods.add(CATALOGUE_VERSION)
        closed = {
            key
            for key in periods
            if key != CATALOGUE_VERSION and self.scorer.calendar.parse(key).end <= now
        }
        versions = await repository.bump_periods(session, periods, closed, now, share.writes_to)
        caught_up = len(rows) < self.batch_size
        found = await self._record_alerts(
            session, share, stepped, dossier_step.rows, now, caught_up
        )
        self._advance(stepped, reached, self._applied(share, rows), now)
        await repository.notify_versions(
            session, VersionsMoved(share.writes_to, tuple(versions), now)
        )
        await session.flush()
        return StepReport(
            len(rows),
            len(due_dossiers) + len(due_feedback),
            len(dossier_step.rows) + len(feedback_step.rows),
            found,
            partial=bool(ahead),
        )

    def _advance(
        self, stepped: Mapping[int, ScoringPosition], reached: int, applied: int, now: datetime
    ) -> None:
        for position in stepped.values():
            position.last_seq = reached
            position.as_of = now
            position.updated_at = self.clock.now()
        # Counted once, on the partition the step's counts are written to.
        stepped[min(stepped)].events_applied += applied

    @staticmethod
    def _applied(share: Share, rows: list[repository.StoredEvent]) -> int:
        """The step's events as the sum over partitions counts them: a catalogue event is read
        by every share, and counted by the one with partition 0."""
        if 0 in share.partitions:
            return len(rows)
        return sum(1 for row in rows if row.kind not in CATALOGUE_KINDS)

    async def _apply_catalogue(
        self, session: AsyncSession, share: Share, by_kind: dict[str, list[dict[str, Any]]]
    ) -> list[str]:
        """Write the step's catalogue events; the share's dossiers of the procedures they
        name, whose evaluation may change (evaluating one that did not change adds nothing)."""
        for kind in CATALOGUE_KINDS:
            await repository.apply_catalogue_events(session, kind, by_kind[kind])
        codes = {p["procedure_code"] for p in by_kind["procedure"]}
        return await repository.dossiers_of_procedures(session, share, codes) if codes else []

    async def _record_alerts(
        self,
        session: AsyncSession,
        share: Share,
        stepped: Mapping[int, ScoringPosition],
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
            overdue = await repository.overdue_since(session, share, since)
            found += self.dossier_alerts.of_rows(overdue, now, horizon)
        scanned_to = max(min((p.due_soon_scanned_to or now) for p in stepped.values()), now)
        if horizon >= scanned_to + SCAN_GRANULARITY:
            coming = await repository.coming_due(session, share, scanned_to, horizon)
            found += self.dossier_alerts.of_rows(coming, now, horizon)
            for position in stepped.values():
                position.due_soon_scanned_to = horizon
                position.updated_at = self.clock.now()
        new = await alerts.record(session, found)
        # Only now: if this transaction fails, the next step looks again.
        self._recheck_overdue = False
        return new
