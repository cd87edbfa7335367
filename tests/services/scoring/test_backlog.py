"""A backlog scored on its own time (`SCORING_HISTORY_FROM`): stored at once and scored with the
clock days ahead, it writes the history that scoring living through each of its days writes;
slightly out of order, what a day recorded plus what its late events restated is that same day;
and without the setting, nothing changes."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scoring import repository
from services.scoring.backlog import QUIET, TICK, StepTimes
from services.scoring.history import day_end, running_periods
from services.scoring.main import build_service, first_instant
from services.scoring.repository import Share, StoredEvent
from services.scoring.settings import ScoringSettings
from services.scoring.verify import verify, verify_report
from services.simulator.main import Simulator
from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.events import format_instant
from shared.periods import ALL_KINDS, Calendar
from tests.support.harness import PROVINCE
from tests.support.store import store

CALENDAR = Calendar()
# Tuesday 24/11/2026 17:00 in Hà Nội; the backlog is the week before it, scored a day later.
END = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
START = END - timedelta(weeks=1)
FIRST_DAY = START.astimezone(CALENDAR.tz).date()
PRESENT = END + timedelta(days=1)

Cells = dict[tuple[str, str, str], tuple[int, int]]


def local_day(instant: datetime) -> date:
    return instant.astimezone(CALENDAR.tz).date()


def backlog() -> list[dict[str, Any]]:
    """A simulated province's week, oldest first: the catalogue and its publications before it,
    dossiers with every status, feedback."""
    simulator = Simulator(seed=5, scale=0.05, malformed_rate=0)
    events = [e.event for e in simulator.catalog(START)]
    simulator.publications(FIRST_DAY, local_day(END))
    simulator.receive(START, END)
    return events + [e.event for e in simulator.due(END)]


def occurred(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def scoring_settings(db_url: str, batch_size: int = 50_000, **more: Any) -> ScoringSettings:
    return ScoringSettings(
        database_url=db_url, province_code=PROVINCE, scoring_batch_size=batch_size, **more
    )


class Scoring:
    """One scoring instance owning every partition, stepped by hand on `clock`."""

    def __init__(self, settings: ScoringSettings, clock: ManualClock) -> None:
        self.settings = settings
        self.clock = clock
        self.service = build_service(settings, clock)
        self.share = Share(tuple(range(settings.scoring_partitions)), settings.scoring_partitions)
        self.engine = create_engine(settings.database_url, application_name="test")
        self.sessions = create_sessionmaker(self.engine)

    async def init(self, first: datetime | None = None) -> None:
        now = self.clock.now()
        async with self.sessions.begin() as session:
            await repository.init_partitions(
                session, self.share.count, now, first or first_instant(self.settings, now)
            )

    async def until_idle(self) -> None:
        while True:
            async with self.sessions.begin() as session:
                if (await self.service.step(session, self.share)).idle:
                    return

    async def close(self) -> None:
        await self.engine.dispose()


async def lived_through(db_url: str, events: list[dict[str, Any]]) -> None:
    """The reference: scoring running through every day of the backlog on a clock that crosses
    each midnight, each day's events stored during it and applied before it ends (the first
    day's with the catalogue from before it)."""
    clock = ManualClock(day_end(CALENDAR, FIRST_DAY - timedelta(days=1)).at)
    scoring = Scoring(scoring_settings(db_url), clock)
    await scoring.init()
    for day in days(FIRST_DAY, local_day(END)):
        ends = day_end(CALENDAR, day).at
        await store(db_url, [e for e in events if ends > occurred(e) >= ends - timedelta(1)])
        clock.set(ends - TICK)
        await scoring.until_idle()
    clock.set(PRESENT)
    await scoring.until_idle()
    await scoring.close()


async def as_a_backlog(db_url: str, events: list[dict[str, Any]], batch_size: int) -> None:
    """Every event stored at once, scored with the clock standing a day after the last."""
    await store(db_url, events)
    clock = ManualClock(PRESENT)
    scoring = Scoring(scoring_settings(db_url, batch_size, scoring_history_from=FIRST_DAY), clock)
    await scoring.init()
    await scoring.until_idle()
    # The backlog is all read, but the days after its last event wait for more of it.
    assert await closed_days(db_url) == days(FIRST_DAY, local_day(END) - timedelta(days=1))
    assert await fetch(db_url, "SELECT count(*) FROM alerts") == [(0,)]
    clock.advance(QUIET)
    await scoring.until_idle()
    await scoring.close()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def fetch(db_url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    connection = await asyncpg.connect(db_url)
    try:
        return [tuple(row) for row in await connection.fetch(query, *args)]
    finally:
        await connection.close()


async def history_rows(db_url: str, table: str = "score_history") -> list[tuple[Any, ...]]:
    return await fetch(
        db_url,
        f"SELECT day, period_key, unit_code, partition, counts::text FROM {table}"
        " ORDER BY day, period_key, unit_code, partition",
    )


async def closed_days(db_url: str) -> list[date]:
    rows = await fetch(db_url, "SELECT DISTINCT day FROM history_days ORDER BY day")
    return [day for (day,) in rows]


async def day_cells(db_url: str, day: date, table: str) -> Cells:
    rows = await fetch(
        db_url,
        "SELECT h.unit_code, h.period_key, c.key, sum((c.value->>0)::bigint),"
        f" sum((c.value->>1)::bigint) FROM {table} h, jsonb_each(h.counts) c"
        " WHERE h.day = $1 AND h.period_key = ANY($2::text[])"
        " GROUP BY h.unit_code, h.period_key, c.key",
        day,
        running_periods(CALENDAR, ALL_KINDS, day),
    )
    return {(u, p, i): (int(n), int(d)) for u, p, i, n, d in rows if (n, d) != (0, 0)}


def restated(recorded: Cells, changes: Cells) -> Cells:
    cells = dict(recorded)
    for key, (n, d) in changes.items():
        before = cells.get(key, (0, 0))
        cells[key] = (before[0] + n, before[1] + d)
    return {key: value for key, value in cells.items() if value != (0, 0)}


# -- against PostgreSQL --------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [50_000, 97])
async def test_a_backlog_stored_at_once_writes_the_history_of_living_through_its_days(
    db_url: str, second_db_url: str, batch_size: int
) -> None:
    events = backlog()
    await lived_through(second_db_url, events)
    expected = await history_rows(second_db_url)
    assert await closed_days(second_db_url) == days(FIRST_DAY, local_day(PRESENT) - timedelta(1))
    assert len({day for day, *_ in expected}) > 5

    await as_a_backlog(db_url, events, batch_size)

    assert await history_rows(db_url) == expected
    assert await history_rows(db_url, "history_restatements") == []
    assert await fetch(db_url, "SELECT count(*) FROM history_days") == await fetch(
        second_db_url, "SELECT count(*) FROM history_days"
    )
    report = await verify_report(scoring_settings(db_url))
    assert report.history_day == local_day(PRESENT) - timedelta(days=1)
    assert report.differences == []
    assert await verify(scoring_settings(db_url)) == []


def out_of_order(
    events: list[dict[str, Any]], rng: random.Random, spread: float
) -> list[dict[str, Any]]:
    """`events` as Kafka may deliver them: each subject's in their order (one key, one
    partition), the subjects' interleaved up to `spread` hours away from their time; the
    catalogue in place."""

    def place(event: dict[str, Any]) -> datetime:
        if event.get("type") in ("UNIT", "PROCEDURE", "PUBLICATION"):
            return occurred(event)
        return occurred(event) + timedelta(hours=rng.uniform(-spread, spread))

    mixed = sorted(events, key=place)
    # Each subject's events back in their own order, in the places they were given.
    own: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        own.setdefault(subject(event), []).append(event)
    taken = {key: iter(found) for key, found in own.items()}
    return [next(taken[subject(event)]) for event in mixed]


def subject(event: dict[str, Any]) -> str:
    return str(event.get("dossier_code") or event.get("feedback_id") or event["event_id"])


async def late_by_a_day_or_so(
    in_order_db: str, mixed_db: str, events: list[dict[str, Any]], rng: random.Random, spread: float
) -> list[tuple[Any, ...]]:
    """Score `events` out of order in `mixed_db`; each day's record there plus its restatements
    is the day of `in_order_db`. The restatements."""
    await as_a_backlog(mixed_db, out_of_order(events, rng, spread), 400)
    for day in await closed_days(in_order_db):
        recorded = await day_cells(mixed_db, day, "score_history")
        changes = await day_cells(mixed_db, day, "history_restatements")
        assert restated(recorded, changes) == await day_cells(in_order_db, day, "score_history")
    assert await verify(scoring_settings(mixed_db)) == []
    return await history_rows(mixed_db, "history_restatements")


async def test_a_backlog_slightly_out_of_order_restates_what_its_days_missed(
    db_url: str, second_db_url: str
) -> None:
    """The subjects' events stored up to 16 hours away from their place, from a day's last
    events to the next one's first: those stored after a later day's event are late."""
    events = backlog()
    await as_a_backlog(second_db_url, events, 400)
    restatements = await late_by_a_day_or_so(second_db_url, db_url, events, random.Random(7), 16)
    assert len({day for day, *_ in restatements}) > 3


@pytest.mark.slow
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32), spread=st.sampled_from([3, 9, 30]))
async def test_any_slight_disorder_of_a_backlog_is_recorded_plus_restated(
    db_url: str, second_db_url: str, seed: int, spread: int
) -> None:
    events = backlog()
    # Hypothesis runs every example with the same two databases.
    if not await closed_days(second_db_url):
        await as_a_backlog(second_db_url, events, 400)
    await forget(db_url)
    await late_by_a_day_or_so(second_db_url, db_url, events, random.Random(seed), spread)


async def test_without_the_setting_a_backlog_is_scored_at_the_clocks_instant(db_url: str) -> None:
    await store(db_url, backlog())
    clock = ManualClock(PRESENT)
    scoring = Scoring(scoring_settings(db_url), clock)
    await scoring.init()
    await scoring.until_idle()
    await scoring.close()
    assert await history_rows(db_url) == []
    # One step at the clock's instant (a tick after the partitions' start, made then).
    assert await fetch(db_url, "SELECT DISTINCT as_of FROM scoring_position") == [(PRESENT + TICK,)]


SCORING_TABLES = (
    "indicator_counts, period_versions, dossiers, feedback, scoring_position, units,"
    " procedures, publications, alerts, score_history, history_days, history_restatements, events"
)


async def forget(db_url: str) -> None:
    """An empty store, as before the first event (hypothesis runs examples in one database)."""
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(f"TRUNCATE {SCORING_TABLES} RESTART IDENTITY")
    finally:
        await connection.close()


# -- the step's instant, pure --------------------------------------------------------------------


def stored(seq: int, at: datetime) -> StoredEvent:
    return StoredEvent(seq, "dossier", {"occurred_at": format_instant(at)})


MONDAY = date(2026, 11, 16)


def at(day: date, hour: float) -> datetime:
    midnight = day_end(CALENDAR, day - timedelta(days=1)).at
    return midnight + timedelta(hours=hour)


def test_on_the_clock_a_step_stands_at_the_clocks_instant() -> None:
    clock = ManualClock(at(MONDAY + timedelta(days=3), 9))
    times = StepTimes(CALENDAR, clock, backlog=False)
    rows = [stored(1, at(MONDAY, 9)), stored(2, at(MONDAY + timedelta(days=1), 9))]
    cut = times.cut(at(MONDAY, 8), 0, rows, 2)
    assert cut is not None
    assert (cut.now, cut.rows, cut.reached, cut.behind) == (clock.now(), rows, 2, False)


def test_a_backlogs_step_stops_before_the_first_event_of_a_later_day() -> None:
    clock = ManualClock(at(MONDAY + timedelta(days=3), 9))
    times = StepTimes(CALENDAR, clock, backlog=True)
    late = stored(2, at(MONDAY, 7))
    rows = [
        stored(1, at(MONDAY, 9)),
        late,
        stored(3, at(MONDAY, 16)),
        stored(4, at(MONDAY + timedelta(days=1), 0)),
        stored(5, at(MONDAY, 17)),
    ]
    cut = times.cut(at(MONDAY, 8), 0, rows, 5)
    assert cut is not None
    assert (cut.now, cut.rows, cut.reached, cut.behind) == (at(MONDAY, 16), rows[:3], 3, True)
    # Its next step passes the midnight with the first event of Tuesday, and the Monday event
    # stored after it is late.
    cut = times.cut(cut.now, 3, rows[3:], 5)
    assert cut is not None
    assert (cut.now, cut.rows, cut.reached) == (at(MONDAY + timedelta(days=1), 0), rows[3:], 5)
    # An event older than the last instant: the step stands a tick later, in the same day.
    cut = times.cut(at(MONDAY, 16), 2, [late], 2)
    assert cut is not None
    assert (cut.now, cut.rows) == (at(MONDAY, 16) + TICK, [late])


def test_a_backlogs_step_waits_for_more_of_it_then_goes_to_the_clock() -> None:
    clock = ManualClock(at(MONDAY + timedelta(days=3), 9))
    times = StepTimes(CALENDAR, clock, backlog=True)
    # Nothing stored yet: the backlog has not begun.
    assert times.cut(at(MONDAY, 0), 0, [], 0) is None
    clock.advance(QUIET * 3)
    assert times.cut(at(MONDAY, 0), 0, [], 0) is None
    cut = times.cut(at(MONDAY, 0), 0, [stored(1, at(MONDAY, 9))], 1)
    assert cut is not None
    assert cut.behind
    clock.advance(QUIET - TICK)
    assert times.cut(at(MONDAY, 9), 1, [], 1) is None
    clock.advance(TICK)
    cut = times.cut(at(MONDAY, 9), 1, [], 1)
    assert cut is not None
    assert (cut.now, cut.behind, times.backlog) == (clock.now(), False, False)
    # Caught up for good: the next step stands on the clock whatever it reads.
    cut = times.cut(clock.now(), 1, [stored(2, at(MONDAY, 10))], 2)
    assert cut is not None
    assert cut.now == clock.now() + TICK


def test_a_backlog_reaching_the_clocks_day_is_caught_up() -> None:
    clock = ManualClock(at(MONDAY + timedelta(days=3), 9))
    times = StepTimes(CALENDAR, clock, backlog=True)
    rows = [stored(7, at(MONDAY + timedelta(days=3), 8)), stored(8, at(MONDAY + timedelta(1), 8))]
    cut = times.cut(at(MONDAY + timedelta(days=2), 20), 6, rows, 8)
    assert cut is not None
    assert (cut.now, cut.rows, cut.behind, times.backlog) == (clock.now(), rows, False, False)
    # An instant already in the clock's day, with nothing to read: on the clock at once.
    times = StepTimes(CALENDAR, clock, backlog=True)
    cut = times.cut(at(MONDAY + timedelta(days=3), 1), 6, [], 6)
    assert cut is not None
    assert cut.now == clock.now()
    assert not times.backlog


def test_the_history_starts_at_the_settings_local_midnight_never_after_now() -> None:
    now = at(MONDAY, 9)
    unset = ScoringSettings(database_url="postgresql://x/y")
    assert first_instant(unset, now) == now
    chosen = ScoringSettings(database_url="postgresql://x/y", scoring_history_from=MONDAY)
    assert first_instant(chosen, now) == at(MONDAY, 0)
    assert first_instant(chosen, at(MONDAY, 0) - timedelta(days=1)) == at(MONDAY, -24)
