"""One scoring transaction: read the share's new events and due subjects, apply, write counts,
versions and positions, and tell the api's processes which versions moved.

A step covers the partitions an instance owns (`claims.py`) that stand at one position: when a
partition taken over from another instance is behind, the behind ones catch up first, up to the
others, so that every step reads one run of the store for all the partitions it covers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import history, repository
from services.scoring.alerts import SCAN_GRANULARITY, DossierAlerts
from services.scoring.backlog import TICK, StepTimes
from services.scoring.batch import (
    DossierRow,
    DossierScorer,
    FeedbackRow,
    Scorer,
    StepResult,
    StoredState,
    merge_deltas,
)
from services.scoring.repository import Share
from shared.alerts import repository as alerts
from shared.clock import Clock
from shared.collector import collector_paused
from shared.events import CATALOGUE_KINDS
from shared.models import CATALOGUE_VERSION, ScoringPosition
from shared.periods import PeriodKind
from shared.rules.contributions import IN_PROGRESS, CountDeltas, DeltaSum
from shared.rules.dossier import State, procedure_of
from shared.versions import VersionsMoved

# Versioned keys that are no period: the catalogue's, and the dossiers in progress (never closed).
UNDATED = frozenset({CATALOGUE_VERSION, IN_PROGRESS})
# Events a step reads while it scores a backlog a day at a time (make run's days hold about 10,000).
BACKLOG_READ = 20_000
# Dossiers scored (in a worker thread) while the rows of the ones before are written: a large
# step's part. A live step, smaller, is scored whole on the event loop.
SCORED_PART = 2_000

log = structlog.get_logger()


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


@dataclass(slots=True)
class Closing:
    """The days a step closed before applying its events (see `history`)."""

    ends: list[history.DayEnd] = field(default_factory=list)
    # The dossiers re-evaluated at the midnights, as last written.
    rows: dict[str, DossierRow] = field(default_factory=dict)
    subjects: int = 0
    # The periods whose counts the re-evaluations changed, and the partition they wrote to.
    periods: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    partition: int | None = None


class ScoringService:
    def __init__(
        self,
        scorer: DossierScorer,
        feedback: Scorer[FeedbackRow],
        clock: Clock,
        batch_size: int,
        province_name: str,
        dossier_alerts: DossierAlerts,
        restate_days: int = 10,
        backlog: bool = False,
    ) -> None:
        self.dossier_alerts = dossier_alerts
        # On the clock, or on a backlog's own time while its partitions stand in a past day.
        self.times = StepTimes(scorer.calendar, clock, backlog)
        self.restate_days = restate_days
        # Whether the overdue dossiers of the last `max_age` need looking at again: after a start
        # and after catching up, when the alerts of the steps in between were held back.
        self._recheck_overdue = True
        self._owned: Share | None = None
        self.scorer = scorer
        self.feedback = feedback
        self.clock = clock
        self.batch_size = batch_size
        self.province_name = province_name
        self.scored_part = SCORED_PART

    async def step(
        self, session: AsyncSession, owned: Share, read_limit: int | None = None
    ) -> StepReport:
        """Run inside the caller's transaction; the positions move with the counts they
        produced. `read_limit` caps the events read below the batch size."""
        try:
            with collector_paused():
                return await self._step(session, owned, read_limit or self.batch_size)
        except BaseException:
            self.rolled_back()
            raise

    def rolled_back(self) -> None:
        """The step's transaction did not commit: what was remembered of it is void."""
        self.scorer.forget()
        self.feedback.forget()
        self._recheck_overdue = True

    async def _step(self, session: AsyncSession, owned: Share, read_limit: int) -> StepReport:
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
        # Read first: every event up to it is visible to the reads below.
        bound = min([await repository.last_stored_seq(session), *ahead])
        limit = min(read_limit, self.batch_size)
        if self.times.backlog:
            # A backlog's step applies one day of it at most: reading a whole batch would decode
            # (and next step read again) events of later days.
            limit = min(limit, BACKLOG_READ)
        rows = await repository.fetch_events(session, share, behind, bound, limit)
        # A share may have no event in a run of the store: it has still read the run.
        reached = rows[-1].seq if len(rows) == limit else bound
        # Each step evaluates at its own instant, later than the last of every partition it
        # covers: the counts never go back in time, and (subject, evaluated_at) names one state.
        cut = self.times.cut(max(p.as_of for p in stepped.values()), behind, rows, reached)
        if cut is None:
            # A backlog still loading: no day closes before its events are in.
            for position in stepped.values():
                position.last_seq = reached
            return StepReport(0, 0, 0, partial=bool(ahead))
        now, rows, reached = cut.now, cut.rows, cut.reached
        # The days that ended since the last step close first, before any event is applied.
        closing = await self._close_days(session, share, stepped, behind, now)
        if closing.ends:
            now = max(now, closing.ends[-1].at + TICK)
        due_dossiers, due_feedback = await repository.fetch_due(session, share, now)
        if not rows and not due_dossiers and not due_feedback and not closing.subjects:
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
        late = await self._late(session, stepped, by_kind, now)
        before_dossiers = _copies(dossiers, late.dossiers)
        before_feedback = _copies(feedback, late.feedback)
        dossier_step = await self._score_dossiers(
            session, dossiers, by_kind["dossier"], due_dossiers, now
        )
        feedback_step = self.feedback.step(feedback, by_kind["feedback"], due_feedback, now)
        if late.days:
            await self._restate(
                session,
                share,
                late,
                before_dossiers,
                {
                    r.dossier_code: r.state
                    for r in dossier_step.rows
                    if r.dossier_code in late.dossiers
                },
                before_feedback,
                {
                    r.feedback_id: r.state
                    for r in feedback_step.rows
                    if r.feedback_id in late.feedback
                },
                now,
            )

        await repository.save_feedback(session, feedback_step.rows)
        deltas = merge_deltas(dossier_step.deltas, feedback_step.deltas)
        await repository.add_counts(session, deltas, share.writes_to)
        periods = {period for _, period, _ in deltas}
        # Last before the versions: another instance's step inserting the same new units waits
        # for this transaction to end, so it had better end soon after.
        new_units = await repository.ensure_units(
            session, dossier_step.units_seen | feedback_step.units_seen
        )
        # The catalogue's indicators are computed when read, and the api keeps the units: both
        # are cached on the catalogue's version.
        if new_units or any(by_kind[kind] for kind in CATALOGUE_KINDS):
            periods.add(CATALOGUE_VERSION)
        closed = self._closed_periods(periods, now)
        # The midnights' re-evaluations may have written to another partition (see
        # _close_days): each partition's versions are its own.
        bumps = {share.writes_to: (periods, closed)}
        if closing.partition is not None and closing.periods:
            keys, ended = bumps.setdefault(closing.partition, (set(), set()))
            keys |= closing.periods
            ended |= closing.closed
        caught_up = len(rows) < limit and not cut.behind
        written = {**closing.rows, **{row.dossier_code: row for row in dossier_step.rows}}
        found = await self._record_alerts(
            session, share, stepped, list(written.values()), now, caught_up
        )
        self._advance(stepped, reached, self._applied(share, rows), now)
        for partition, (keys, ended) in bumps.items():
            versions = await repository.bump_periods(session, keys, ended, now, partition)
            await repository.notify_versions(
                session, VersionsMoved(partition, tuple(versions), now)
            )
        await session.flush()
        return StepReport(
            len(rows),
            len(due_dossiers) + len(due_feedback) + closing.subjects,
            len(dossier_step.rows) + len(feedback_step.rows),
            found,
            partial=bool(ahead),
        )

    async def _score_dossiers(
        self,
        session: AsyncSession,
        records: Mapping[str, StoredState],
        events: list[dict[str, Any]],
        due: list[str],
        now: datetime,
    ) -> StepResult[DossierRow]:
        """Score the step's dossiers and save their rows.

        A large step goes a part at a time, in key order: each part is scored in a worker
        thread while the rows of the part before are written, so that scoring's Python and
        PostgreSQL work at once (a replay's batch spends about as long in each, one after the
        other, if done whole). The counts are those of the whole step."""
        by_code: dict[str, list[dict[str, Any]]] = {}
        for payload in events:
            by_code.setdefault(payload["dossier_code"], []).append(payload)
        due_here = records.keys() & set(due)
        codes = sorted(by_code.keys() | due_here)
        if len(codes) <= self.scored_part:
            result = self.scorer.step(records, events, due, now)
            await repository.save_dossiers(session, result.rows)
            return result
        deltas = DeltaSum()
        result = StepResult[DossierRow]()
        saving: asyncio.Task[None] | None = None
        try:
            for start in range(0, len(codes), self.scored_part):
                part = codes[start : start + self.scored_part]
                scored = await asyncio.to_thread(
                    self.scorer.step_part,
                    {code: records[code] for code in part if code in records},
                    [payload for code in part for payload in by_code.get(code, ())],
                    [code for code in part if code in due_here],
                    now,
                    deltas,
                )
                if saving is not None:
                    await saving
                saving = asyncio.create_task(repository.save_dossiers(session, scored.rows))
                result.rows += scored.rows
                result.units_seen |= scored.units_seen
            assert saving is not None  # more codes than one part: the loop ran
            await saving
        finally:
            if saving is not None and not saving.done():
                # A part failed: its session may roll back only once the write under way ends.
                await asyncio.gather(saving, return_exceptions=True)
        result.deltas = self.scorer.counted(deltas)
        return result

    def _closed_periods(self, periods: Iterable[str], at: datetime) -> set[str]:
        """Of `periods`, those that had ended by `at`: a change to one is a restatement. A day's
        counts (a range's part, keyed by the day) are no period anyone reads as such: a dossier
        received days ago changes its receipt day whenever it moves, and marking each of them
        restated would only swell every notification."""
        closed = set()
        for key in periods:
            if key in UNDATED:
                continue
            period = self.scorer.calendar.parse(key)
            if period.kind is not PeriodKind.RANGE and period.end <= at:
                closed.add(key)
        return closed

    async def _close_days(
        self,
        session: AsyncSession,
        share: Share,
        stepped: Mapping[int, ScoringPosition],
        last_seq: int,
        now: datetime,
    ) -> Closing:
        """Close every day that ended in `(as_of, now]` of the stepped partitions: re-evaluate
        at its midnight the subjects due by then, copy the counts of the periods running that
        day, and move the partitions' instant to the midnight. Nothing of the step's events is
        applied yet, so each snapshot is the counts at the end of its day."""
        calendar = self.scorer.calendar
        closing = Closing()
        for end in history.day_ends(calendar, min(p.as_of for p in stepped.values()), now):
            crossing = sorted(k for k, p in stepped.items() if p.as_of < end.at)
            # The partition whose snapshot the re-evaluations must reach: one that closes now.
            closing.partition = min(crossing)
            await self._reevaluate_at(session, share, end.at, closing)
            await repository.close_day(
                session,
                end.day,
                history.running_periods(calendar, self.scorer.kinds, end.day),
                crossing,
                share.count,
                last_seq,
                self.clock.now(),
            )
            for partition in crossing:
                stepped[partition].as_of = end.at
            closing.ends.append(end)
        return closing

    async def _reevaluate_at(
        self, session: AsyncSession, share: Share, at: datetime, closing: Closing
    ) -> None:
        due_dossiers, due_feedback = await repository.fetch_due(session, share, at)
        if not due_dossiers and not due_feedback:
            return
        dossiers = await repository.load_dossiers(session, due_dossiers)
        feedback = await repository.load_feedback(session, due_feedback)
        procedures = set(filter(None, (procedure_of(r.state) for r in dossiers.values())))
        self.scorer.use_catalogue(await repository.procedure_facts(session, procedures))
        dossier_step = self.scorer.step(dossiers, [], due_dossiers, at)
        feedback_step = self.feedback.step(feedback, [], due_feedback, at)
        await repository.save_dossiers(session, dossier_step.rows)
        await repository.save_feedback(session, feedback_step.rows)
        deltas = merge_deltas(dossier_step.deltas, feedback_step.deltas)
        assert closing.partition is not None
        await repository.add_counts(session, deltas, closing.partition)
        changed = {period for _, period, _ in deltas}
        closing.periods |= changed
        closing.closed |= self._closed_periods(changed, at)
        closing.rows.update((row.dossier_code, row) for row in dossier_step.rows)
        closing.subjects += len(due_dossiers) + len(due_feedback)

    async def _late(
        self,
        session: AsyncSession,
        stepped: Mapping[int, ScoringPosition],
        by_kind: Mapping[str, list[dict[str, Any]]],
        now: datetime,
    ) -> Late:
        """The step's subjects with events that occurred before the start of today, when days
        after those events are closed and within the restatement window.

        The closed days first: with none in the window (a first replay, a partition that has
        closed no day yet) no event can restate one, and the events' instants are not read."""
        if self.restate_days == 0:
            return NOT_LATE
        calendar = self.scorer.calendar
        today = now.astimezone(calendar.tz).date()
        window = today - timedelta(days=self.restate_days)
        closed = [
            d for d in await repository.days_closed(session, sorted(stepped), window) if d < today
        ]
        if not closed:
            return NOT_LATE
        start_of_today = datetime.combine(today, time.min, calendar.tz)
        dossiers = _earliest(by_kind["dossier"], "dossier_code", start_of_today)
        feedback = _earliest(by_kind["feedback"], "feedback_id", start_of_today)
        if not (dossiers or feedback):
            return NOT_LATE
        since = min([*dossiers.values(), *feedback.values()])
        first = max(since.astimezone(calendar.tz).date(), window)
        days = [history.day_end(calendar, d) for d in closed if d >= first]
        return Late(dossiers, feedback, days) if days else NOT_LATE

    async def _restate(
        self,
        session: AsyncSession,
        share: Share,
        late: Late,
        before_dossiers: Mapping[str, State | None],
        after_dossiers: Mapping[str, State],
        before_feedback: Mapping[str, State | None],
        after_feedback: Mapping[str, State],
        now: datetime,
    ) -> None:
        calendar = self.scorer.calendar
        periods = {
            end.day: history.running_periods(calendar, self.scorer.kinds, end.day)
            for end in late.days
        }
        province = self.scorer.province_code
        by_dossiers = history.restatements(
            self.scorer.rules,
            province,
            before_dossiers,
            after_dossiers,
            late.dossiers,
            late.days,
            periods,
        )
        by_feedback = history.restatements(
            self.feedback.rules,
            province,
            before_feedback,
            after_feedback,
            late.feedback,
            late.days,
            periods,
        )
        changes: dict[date, CountDeltas] = {}
        for day in by_dossiers.keys() | by_feedback.keys():
            merged = merge_deltas(by_dossiers.get(day, {}), by_feedback.get(day, {}))
            if merged:
                changes[day] = merged
        await repository.add_restatements(session, changes, share.writes_to, now)

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


@dataclass(frozen=True, slots=True)
class Late:
    """A step's subjects with events from before today (the earliest, each), and the closed
    days those events may restate."""

    dossiers: dict[str, datetime]
    feedback: dict[str, datetime]
    days: list[history.DayEnd]


# No closed day to restate: the step copies no state for one.
NOT_LATE = Late({}, {}, [])


def _earliest(
    payloads: Iterable[dict[str, Any]], key: str, before: datetime
) -> dict[str, datetime]:
    earliest: dict[str, datetime] = {}
    for payload in payloads:
        occurred = datetime.fromisoformat(payload["occurred_at"])
        if occurred < before:
            code = payload[key]
            earliest[code] = min(occurred, earliest.get(code, occurred))
    return earliest


def _copies(records: Mapping[str, StoredState], codes: Iterable[str]) -> dict[str, State | None]:
    """The states of `codes` before the step changes them in place (None: a new subject)."""
    copies: dict[str, State | None] = {}
    for code in codes:
        record = records.get(code)
        copies[code] = None if record is None else orjson.loads(orjson.dumps(record.state))
    return copies
