"""A range's counts as the api computes them (its day counts, kept by scoring, and what they
leave out, from states) equal the rules over every state that may count in it, on PostgreSQL
scored by the scoring service: ranges ended, holding today (dossiers in progress, some overdue)
or ahead, before and after late events and completions."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Text, cast, select

from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.methodology import load_methodology
from shared.models import Dossier, Feedback
from shared.periods import Calendar, Period
from shared.rules.members import range_counts
from shared.scores import repository
from shared.scores.board import CatalogueCache, ScoreBoard
from shared.scores.repository import PeriodCounts, split_counts
from shared.workdays import WorkingCalendar
from tests.support import harness
from tests.support.factories import dossier_event, feedback_event, rating, received
from tests.support.store import step_until_idle, store

# Tuesday 1/12/2026 15:00 in Hà Nội.
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CALENDAR = Calendar()
WORKDAYS = WorkingCalendar()
TODAY = NOW.astimezone(CALENDAR.tz).date()
UNITS = ("SO-A", "SO-B", "XA-C")
FLAGS = ("synced_to_national_portal", "e_result_issued", "digitized", "fee_required", "paid_online")
MIDNIGHT = datetime.combine(TODAY - 9 * DAY, datetime.min.time(), CALENDAR.tz).astimezone(UTC)


def _dossier(rng: random.Random, code: str, until: datetime) -> list[dict[str, Any]]:
    unit = rng.choice(UNITS)
    # Some received, and some finished, exactly at a local midnight: a range's edges.
    at = MIDNIGHT if rng.random() < 0.05 else until - timedelta(minutes=rng.randint(0, 40 * 1440))
    flags = {flag: rng.random() < 0.6 for flag in FLAGS} | {"complaint": rng.random() < 0.1}
    due_in = timedelta(hours=rng.randint(4, 24 * 10))
    events = [received(code, at, unit_code=unit, due_in=due_in, **flags)]

    def step(status: str, after: timedelta) -> datetime:
        when = min(at + after, until)
        events.append(dossier_event(code, status, when, unit_code=unit))
        return when

    fate = rng.choice(("open", "open", "done", "done", "late", "paused", "reopened", "refused"))
    if fate == "refused":
        step("NOT_ACCEPTED", timedelta(minutes=5))
        return events
    step("IN_PROGRESS", timedelta(minutes=5))
    if fate == "done":
        completed = step("COMPLETED", due_in * rng.uniform(0.1, 0.9))
        if rng.random() < 0.5:
            # Its processing ended when completed, not at the return (a span's end).
            step("RESULT_RETURNED", completed - at + timedelta(hours=rng.randint(1, 96)))
    elif fate == "late":
        step("COMPLETED", due_in * rng.uniform(1.1, 3))
    elif fate == "paused":
        requested = step("SUPPLEMENT_REQUESTED", due_in / 3)
        if rng.random() < 0.5:
            step("SUPPLEMENTED", requested - at + timedelta(hours=rng.randint(1, 72)))
            step("COMPLETED", due_in * rng.uniform(0.5, 2))
    elif fate == "reopened":
        step("SUSPENDED", due_in / 2)
        step("COMPLETED", due_in * rng.uniform(1, 4))
    elif rng.random() < 0.1:
        step("COMPLETED", MIDNIGHT - at if at < MIDNIGHT else timedelta(0))
    if rng.random() < 0.4:
        value = rng.choice(("SATISFIED", "UNSATISFIED"))
        events.append(rating(code, value, min(at + due_in, until), unit))
    return events


def _feedback(rng: random.Random, code: str, until: datetime) -> list[dict[str, Any]]:
    unit = rng.choice(UNITS)
    at = until - timedelta(minutes=rng.randint(0, 30 * 1440))
    events = [feedback_event(code, "RECEIVED", at, unit_code=unit, category="REGULATION")]
    if rng.random() < 0.7:
        answered = min(at + timedelta(days=rng.randint(1, 25)), until)
        events.append(feedback_event(code, "ANSWERED", answered, unit_code=unit))
        if rng.random() < 0.7:
            published = min(answered + timedelta(days=rng.randint(0, 4)), until)
            events.append(feedback_event(code, "PUBLISHED", published, unit_code=unit))
    return events


def _ranges() -> list[Period]:
    found = []
    for first in (-45, -31, -20, -9, -8, -3, 0, 1):
        for length in (1, 2, 7, 9, 30, 46):
            start = TODAY + first * DAY
            found.append(CALENDAR.day_range(start, start + (length - 1) * DAY))
    return found


async def _every_state(session: Any, period: Period, as_of: datetime) -> PeriodCounts:
    """The rules over every stored state, whatever the indexes say may count."""
    states: dict[type, list[Any]] = {Dossier: [], Feedback: []}
    for model in states:
        texts = await session.scalars(select(cast(model.state, Text)))
        states[model].extend(orjson.loads(text) for text in texts)
    counts = range_counts(
        states[Dossier], states[Feedback], period, as_of, WORKDAYS, harness.PROVINCE
    )
    return split_counts((u, i, n, d) for (u, _, i), (n, d) in counts.items())


async def _compare(db_url: str) -> int:
    engine = create_engine(db_url, application_name="test")
    board = ScoreBoard(
        load_methodology(), CALENDAR, CatalogueCache(WORKDAYS), harness.PROVINCE, 100
    )
    compared = 0
    try:
        async with create_sessionmaker(engine)() as session:
            as_of = await repository.as_of(session)
            assert as_of is not None
            for period in _ranges():
                computed = await board.stored_counts(session, period, as_of)
                assert computed == await _every_state(session, period, as_of), period.key
                compared += bool(computed.indicators)
    finally:
        await engine.dispose()
    return compared


async def test_a_range_from_its_day_counts_counts_what_every_state_counts(db_url: str) -> None:
    rng = random.Random(766)
    first = NOW - 2 * DAY
    events = [e for i in range(160) for e in _dossier(rng, f"D{i}", first)]
    events += [e for i in range(25) for e in _feedback(rng, f"F{i}", first)]
    clock = ManualClock(first)
    await store(db_url, events)
    await step_until_idle(db_url, clock)
    assert await _compare(db_url) > 20
    # Two days on: completions, late events about the past, new dossiers; and the dossiers in
    # progress re-evaluated as they fall due.
    later = [e for i in range(160, 220) for e in _dossier(rng, f"D{i}", NOW)]
    later += [dossier_event(f"D{i}", "COMPLETED", NOW - DAY) for i in range(0, 160, 3)]
    later += [dossier_event(f"D{i}", "IN_PROGRESS", NOW - 5 * DAY) for i in range(1, 160, 7)]
    await store(db_url, later)
    clock.set(NOW)
    await step_until_idle(db_url, clock)
    assert await _compare(db_url) > 20


def test_the_ranges_compared_end_before_today_hold_it_and_lie_ahead() -> None:
    ends = {period.end > NOW for period in _ranges()}
    starts = {period.start > NOW for period in _ranges()}
    assert ends == starts == {True, False}
    assert any(p.start <= NOW < p.end and p.start.date() < TODAY for p in _ranges())
    assert date(2026, 12, 1) == TODAY
