"""The history's rules in scoring, pure: which local days a step closes, which periods a day's
snapshot holds, and what late events change in closed days.

A day closes at the first step whose instant reaches the local midnight that ends it. That step
first re-evaluates, at the midnight itself, every subject due by then, copies its partitions'
counts of the periods running on that day (the snapshot), and only then applies its events, at
its own later instant: the snapshot is exactly the counts at the end of the day, with every
event applied before the day closed and none after. An event applied after a day closed that
occurred before the day's end restates it: what it changes in the day's counts (the rules
evaluated at the day's midnight, before and after the event) is recorded beside the snapshot,
dated, and the snapshot itself is never rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.scoring.batch import SubjectRules, add_change
from shared.periods import Calendar, PeriodKind
from shared.rules.contributions import NOTHING, CountDeltas, DeltaSum, with_province
from shared.rules.dossier import State


@dataclass(frozen=True, slots=True)
class DayEnd:
    """A local day and the instant (UTC) of the midnight that ends it."""

    day: date
    at: datetime


def day_end(calendar: Calendar, day: date) -> DayEnd:
    return DayEnd(
        day, datetime.combine(day + timedelta(days=1), time.min, calendar.tz).astimezone(UTC)
    )


def day_ends(calendar: Calendar, after: datetime, until: datetime) -> list[DayEnd]:
    """The days whose ending midnight is in `(after, until]`, in order."""
    ends: list[DayEnd] = []
    end = day_end(calendar, after.astimezone(calendar.tz).date())
    while end.at <= until:
        ends.append(end)
        end = day_end(calendar, end.day + timedelta(days=1))
    return ends


def running_periods(calendar: Calendar, kinds: Iterable[PeriodKind], day: date) -> list[str]:
    """The keys of the periods of `kinds` that hold `day`: what its snapshot keeps."""
    midday = datetime.combine(day, time(12), calendar.tz)
    at = calendar.bounds_at(midday)
    return sorted(at[kind].key for kind in kinds)


def restatements(
    rules: SubjectRules[object],
    province_code: str,
    before: Mapping[str, State | None],
    after: Mapping[str, State],
    earliest: Mapping[str, datetime],
    days: Sequence[DayEnd],
    periods_of: Mapping[date, Sequence[str]],
) -> dict[date, CountDeltas]:
    """What the subjects' late events change in each closed day's counts: for every day that
    ended after the subject's `earliest` late event, its contribution at the day's midnight
    after the events minus before them, kept to the periods running on that day."""
    changes: dict[date, CountDeltas] = {}
    for end in days:
        deltas = DeltaSum()
        for code, state in after.items():
            if earliest[code] >= end.at:
                continue
            old_state = before.get(code)
            old_unit, old = (
                (None, NOTHING) if old_state is None else rules.contribution(old_state, end.at)
            )
            unit, new = rules.contribution(state, end.at)
            add_change(deltas, old_unit, old, unit, new)
        running = set(periods_of[end.day])
        kept = {
            key: value
            for key, value in with_province(deltas.deltas(), province_code).items()
            if key[1] in running
        }
        if kept:
            changes[end.day] = kept
    return changes
