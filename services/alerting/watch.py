"""Alerts on scores and on the pipeline, found by watching what scoring and ingest keep.

Every few seconds, under a lock that lets one watcher work at a time, the watcher scores the
current periods (the api's own `ScoreBoard`) and compares each measure with what it saw before:

- a unit's total or a group's points fell by at least N points from the best value seen this
  period (or since the last alert on that measure);
- its rank among units of its level fell by at least K places from its best this period;
- an indicator is below its target (with at least the configured number of dossiers counted);
- dead letters arrived faster than M within the last W minutes.

The state (best value, alerts raised) lives in `alert_watches`, so the n-th fall of a measure
has one id however often, and by however many watchers, it is looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerting import repository
from services.alerting.repository import Watch
from shared.alerts import (
    Alert,
    AlertKind,
    DeadLetterDetails,
    Level,
    RankDetails,
    ScoreDetails,
    TargetDetails,
    alert_id,
)
from shared.alerts import repository as recorded
from shared.methodology import UnitScore
from shared.periods import Period, PeriodKind
from shared.rules.catalogue import SCORED_LEVELS
from shared.rules.contributions import ON_TIME
from shared.scores import repository as scores
from shared.scores.board import ScoreBoard
from shared.scores.ranking import rank


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What the watcher calls a fall (from the settings: they alone hold the defaults)."""

    score_drop_points: float
    group_drop_points: float
    rank_drop_places: int
    # Indicator id -> target rate in percent.
    targets: Mapping[str, float]
    # A unit is watched once this many of its dossiers count in the period (2.1's denominator):
    # a week's first dossiers swing scores and ranks by chance.
    min_dossiers: int
    dead_letter_window: timedelta
    dead_letter_count: int


def watch_fall(
    watch: Watch | None, value: float, threshold: float, higher_is_better: bool = True
) -> tuple[Watch, bool]:
    """The measure's new state, and whether it just fell by `threshold` from its best."""
    if watch is None:
        return Watch(value, 0), False
    gain = value - watch.baseline if higher_is_better else watch.baseline - value
    if gain > 0:
        return Watch(value, watch.raised), False
    if -gain >= threshold:
        return Watch(value, watch.raised + 1), True
    return watch, False


def watch_flag(watch: Watch | None, raised_now: bool) -> tuple[Watch, bool]:
    """A condition's new state (baseline 1 while it holds), and whether it just began."""
    was = watch is not None and watch.baseline == 1
    raised = watch.raised if watch is not None else 0
    if raised_now and not was:
        return Watch(1, raised + 1), True
    return Watch(1 if raised_now else 0, raised), False


class Watcher:
    def __init__(
        self,
        board: ScoreBoard,
        kinds: Iterable[PeriodKind],
        thresholds: Thresholds,
        province_code: str,
    ) -> None:
        self.board = board
        self.kinds = tuple(kinds)
        self.thresholds = thresholds
        self.province_code = province_code

    async def check(self, session: AsyncSession, now: datetime) -> int | None:
        """Look once, in the caller's transaction; the new alerts, or None if another watcher
        holds the lock."""
        if not await repository.try_watch_lock(session):
            return None
        found: list[Alert] = []
        changed: dict[str, Watch] = {}
        for kind in self.kinds:
            period = self.board.calendar.period_of(kind, now)
            found += await self._scores(session, period, now, changed)
        found += await self._dead_letters(session, now, changed)
        await repository.save_watches(session, changed, now)
        return await recorded.record(session, found)

    async def _scores(
        self, session: AsyncSession, period: Period, now: datetime, changed: dict[str, Watch]
    ) -> list[Alert]:
        versions = await self.board.versions(session, period, now)
        if versions.current.version == 0:
            return []
        unit_scores = await self.board.scores(session, period, versions.current.version, versions)
        watches = await repository.watches(session, f"{period.key}|")
        found: list[Alert] = []
        for level in SCORED_LEVELS:
            units = await scores.units(session, level)
            for ranked in rank(self.board.methodology, unit_scores, units):
                unit = ranked.unit.code
                if _dossiers(ranked.score) < self.thresholds.min_dossiers:
                    continue  # too few dossiers yet for a fall to mean anything
                key = f"{period.key}|{unit}|"
                found += self._unit(period, unit, ranked.score, watches, key, now, changed)
                previous = watches.get(key + "rank")
                watch, fell = watch_fall(
                    previous, ranked.rank, self.thresholds.rank_drop_places, higher_is_better=False
                )
                _keep(changed, watches, key + "rank", watch)
                if fell:
                    assert previous is not None
                    before = int(previous.baseline)
                    found.append(
                        self._alert(
                            AlertKind.RANK_DROP,
                            Level.WARNING,
                            unit,
                            period,
                            watch.raised,
                            now,
                            f"Đơn vị {unit} tụt từ hạng {before} xuống hạng {ranked.rank}"
                            f" ({period.key})",
                            RankDetails(
                                level=level.lower(),
                                before=before,
                                after=ranked.rank,
                                threshold=self.thresholds.rank_drop_places,
                            ),
                        )
                    )
        return found

    def _unit(
        self,
        period: Period,
        unit: str,
        score: UnitScore,
        watches: dict[str, Watch],
        key: str,
        now: datetime,
        changed: dict[str, Watch],
    ) -> list[Alert]:
        found = []
        measures = [("total", float(score.total), self.thresholds.score_drop_points)]
        measures += [
            (f"group:{g.code}", float(g.points), self.thresholds.group_drop_points)
            for g in score.groups
        ]
        for measure, value, threshold in measures:
            previous = watches.get(key + measure)
            watch, fell = watch_fall(previous, value, threshold)
            _keep(changed, watches, key + measure, watch)
            if fell:
                assert previous is not None
                drop = previous.baseline - value
                found.append(
                    self._alert(
                        AlertKind.SCORE_DROP,
                        Level.CRITICAL if drop >= 2 * threshold else Level.WARNING,
                        unit,
                        period,
                        watch.raised,
                        now,
                        f"Điểm {_measure_name(measure)} của {unit} giảm {drop:.2f}:"
                        f" {previous.baseline:.2f} → {value:.2f} ({period.key})",
                        ScoreDetails(
                            measure=measure,
                            before=previous.baseline,
                            after=value,
                            threshold=threshold,
                        ),
                        suffix=measure,
                    )
                )
        by_id = {indicator.id: indicator for indicator in score.indicators}
        for indicator_id, target in sorted(self.thresholds.targets.items()):
            indicator = by_id.get(indicator_id)
            if indicator is None or indicator.denominator == 0:
                continue
            rate = float(indicator.numerator) * 100 / indicator.denominator
            watch, began = watch_flag(watches.get(key + f"target:{indicator_id}"), rate < target)
            _keep(changed, watches, key + f"target:{indicator_id}", watch)
            if began:
                found.append(
                    self._alert(
                        AlertKind.BELOW_TARGET,
                        Level.WARNING,
                        unit,
                        period,
                        watch.raised,
                        now,
                        f"Chỉ tiêu {indicator_id} của {unit} là {rate:.2f}%,"
                        f" dưới mục tiêu {target}% ({period.key})",
                        TargetDetails(
                            indicator_id=indicator_id,
                            value_percent=round(rate, 4),
                            target_percent=target,
                            numerator=indicator.numerator,
                            denominator=indicator.denominator,
                        ),
                        suffix=indicator_id,
                    )
                )
        return found

    async def _dead_letters(
        self, session: AsyncSession, now: datetime, changed: dict[str, Watch]
    ) -> list[Alert]:
        window = self.thresholds.dead_letter_window
        recent = await repository.recent_dead_letters(session, now - window)
        watches = await repository.watches(session, "dead_letters|")
        topics = set(recent) | {key.split("|", 1)[1] for key in watches}
        found = []
        for topic in sorted(topics):
            count = recent.get(topic, 0)
            key = f"dead_letters|{topic}"
            watch, began = watch_flag(watches.get(key), count >= self.thresholds.dead_letter_count)
            _keep(changed, watches, key, watch)
            if began:
                found.append(
                    Alert(
                        alert_id=alert_id(AlertKind.DEAD_LETTERS_GROWING, topic, watch.raised),
                        kind=AlertKind.DEAD_LETTERS_GROWING,
                        level=Level.CRITICAL,
                        unit_code=self.province_code,
                        period=None,
                        occurred_at=now,
                        recorded_at=now,
                        message=f"{count} sự kiện bị từ chối vào {topic}"
                        f" trong {window.total_seconds() / 60:g} phút",
                        details=DeadLetterDetails(
                            topic=topic,
                            count=count,
                            window_minutes=window.total_seconds() / 60,
                            threshold=self.thresholds.dead_letter_count,
                        ),
                    )
                )
        return found

    def _alert(
        self,
        kind: AlertKind,
        level: Level,
        unit: str,
        period: Period,
        raised: int,
        now: datetime,
        message: str,
        details: ScoreDetails | RankDetails | TargetDetails,
        suffix: str | None = None,
    ) -> Alert:
        return Alert(
            alert_id=alert_id(kind, period.key, unit, *([suffix] if suffix else []), raised),
            kind=kind,
            level=level,
            unit_code=unit,
            period=period.key,
            occurred_at=now,
            recorded_at=now,
            message=message,
            details=details,
        )


def _dossiers(score: UnitScore) -> int:
    return next((i.denominator for i in score.indicators if i.id == ON_TIME), 0)


def _measure_name(measure: str) -> str:
    return "tổng" if measure == "total" else f"nhóm {measure.removeprefix('group:')}"


def _keep(changed: dict[str, Watch], watches: dict[str, Watch], key: str, watch: Watch) -> None:
    if watches.get(key) != watch:
        changed[key] = watch
        watches[key] = watch
