"""A step's instant, and where its batch stops: on the clock, or on a backlog's own time.

On the clock (always, unless `SCORING_HISTORY_FROM` is set, and once a backlog is caught up) a
step stands at the clock's instant, or a tick after the last step's if the clock is behind it.

A backlog (the events of past days, loaded into a new deployment whose partitions start at
`SCORING_HISTORY_FROM`) scored at the clock's instant would close every day it covers before
applying any of it: the history would hold empty days. So while the partitions' instant is in a
day before the clock's, a step stands on its events' own time: the day it scores is the day of
its first event (or of the last step's instant, for an event that occurred before it: a late
one), its batch stops before the first event that occurred at or after that day's end, and its
instant is the latest time its events occurred. The next step reads that first event of a later
day: its instant passes the midnight, so it closes the day (`ScoringService._close_days`) before
applying anything, and goes on. Each day's snapshot then holds exactly the events that occurred
by its end, as if scoring had lived through it; an event stored after a later one of another
day is a late event, and restates the days it missed, as at any other time (alone of its subject
in its step: see `_on_events`).

The time is the event's `occurred_at`: the rules order a subject's facts by it, and a late event
is one applied after the end of the day it occurred in. A dossier's `received_at` is one of its
facts (an item may be synced days after the dossier was received: the day it was known is its
event's), and `stored_at` is when ingest stored the event, the load's time, not the backlog's.

A step that finds no event while the backlog stands in a past day waits, with no day closed:
ingest may store the backlog more slowly than scoring reads it. It waits for the first event
into an empty store, and `QUIET` after the last events read once there are some; then it goes
to the clock's instant, closing the days in between, as a step always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.scoring import history
from services.scoring.repository import StoredEvent
from shared.clock import Clock
from shared.events import format_instant
from shared.periods import Calendar

# Every step has its own instant, later than the last: (subject, instant) names one state.
TICK = timedelta(microseconds=1)
# How long a backlog's load may pause before scoring takes it as loaded.
QUIET = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Cut:
    """A step's instant, the events it applies (the first of those it read) and the position
    they bring its partitions to."""

    now: datetime
    rows: list[StoredEvent]
    reached: int
    # On a backlog's time, behind the clock: what is found is history, not news (no alerts).
    behind: bool = False


class StepTimes:
    def __init__(self, calendar: Calendar, clock: Clock, backlog: bool) -> None:
        self.calendar = calendar
        self.clock = clock
        # Scoring a backlog, until a step reaches the clock: every later step stands on it.
        self.backlog = backlog
        # When a step last read some of the backlog, by the clock.
        self._heard: datetime | None = None

    def cut(
        self, as_of: datetime, last_seq: int, rows: list[StoredEvent], reached: int
    ) -> Cut | None:
        """The step's instant and events, from its partitions' instant and position, the events
        it read after that and the position reading them reached; None: wait for more of the
        backlog."""
        clock = self.clock.now()
        on_clock = Cut(max(clock, as_of + TICK), rows, reached)
        if not self.backlog:
            return on_clock
        if rows:
            self._heard = clock
            start = max(as_of + TICK, min(clock, _occurred(rows[0])))
            end = history.day_end(self.calendar, start.astimezone(self.calendar.tz).date()).at
            if end <= clock:
                return _on_events(start, self._start_of_day(start), end, rows, reached)
        elif as_of < self._start_of_day(clock):
            if last_seq == 0:
                return None
            self._heard = self._heard or clock
            if clock - self._heard < QUIET:
                return None
        self.backlog = False
        return on_clock

    def _start_of_day(self, at: datetime) -> datetime:
        day = at.astimezone(self.calendar.tz).date()
        return history.day_end(self.calendar, day - timedelta(days=1)).at


def _on_events(
    start: datetime, day_start: datetime, end: datetime, rows: list[StoredEvent], reached: int
) -> Cut:
    """The events up to the first that occurred at or after `end`, at the latest time they
    occurred (never before `start`).

    A late event (occurred before `day_start`) is applied with no other event of its subject:
    the batch also stops before a subject's second event when either is late. What it restates
    is the subject's contribution at each missed midnight with and without the step's events of
    it (`history.restatements`), and a fact with no time of its own (an electronic result, a
    rating) from an event after that midnight would otherwise count in it."""
    # Stored times are fixed-width UTC (`format_instant`): they compare as strings.
    stop, late = format_instant(end), format_instant(day_start)
    # The step's subjects so far: whether one of their events was late.
    seen: dict[str, bool] = {}
    kept = len(rows)
    for index, row in enumerate(rows):
        stamp = _stamp(row)
        if stamp >= stop:
            kept = index
            break
        subject = row.payload.get("dossier_code") or row.payload.get("feedback_id")
        if subject is None:
            continue
        was_late = seen.get(subject)
        is_late = stamp < late
        if was_late is not None and (was_late or is_late):
            kept = index
            break
        seen[subject] = is_late
    latest = datetime.fromisoformat(max(_stamp(row) for row in rows[:kept]))
    if kept < len(rows):
        reached = rows[kept - 1].seq
    return Cut(max(start, latest), rows[:kept], reached, behind=True)


def _stamp(row: StoredEvent) -> str:
    stamp: str = row.payload["occurred_at"]
    return stamp


def _occurred(row: StoredEvent) -> datetime:
    return datetime.fromisoformat(_stamp(row))
