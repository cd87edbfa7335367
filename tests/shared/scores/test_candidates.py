"""The candidates of a sparse part, narrowed in the database (`shared.rules.members.narrowing`),
hold every member the rules find among all the candidates, in the same order."""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.audits import DOSSIER_COLUMNS
from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.models import Dossier
from shared.periods import Period
from shared.rules.members import Narrowing, Part, dossier_basis, dossier_member, narrowing
from shared.scores import repository
from shared.scores.repository import key_of
from tests.shared.scores.test_ranges import CALENDAR, DAY, NOW, TODAY, _dossier
from tests.support.store import step_until_idle, store

SPARSE = [("2.1", Part.SHORTFALL), ("5.4", Part.SHORTFALL), ("1.4", Part.SHORTFALL)]
SPARSE += [("3.6", part) for part in Part]


async def _members(
    session: AsyncSession,
    indicator: str,
    part: Part,
    unit: str | None,
    period: Period,
    as_of: datetime,
    narrowed: Narrowing | None,
) -> tuple[list[str], int]:
    """(the members' codes, the candidates read), a page of 7 candidates at a time."""
    found: list[str] = []
    read, after = 0, None
    while True:
        rows = await repository.candidates(
            session,
            DOSSIER_COLUMNS,
            Dossier,
            unit,
            dossier_basis(indicator),
            period.start,
            period.end,
            after,
            7,
            narrowed,
        )
        read += len(rows)
        for row in rows:
            numerator = dossier_member(row.state, period, indicator, as_of)
            if numerator is not None and part.holds(numerator):
                found.append(row.dossier_code)
        if len(rows) < 7:
            return found, read
        after = key_of(rows[-1])


async def test_a_narrowed_part_holds_every_member(db_url: str) -> None:
    rng = random.Random(767)
    events = [e for i in range(160) for e in _dossier(rng, f"D{i}", NOW)]
    await store(db_url, events)
    await step_until_idle(db_url, ManualClock(NOW))
    periods = [
        CALENDAR.parse("2026-11"),
        CALENDAR.parse("2026-W49"),
        CALENDAR.day_range(TODAY - 30 * DAY, TODAY),
        CALENDAR.day_range(TODAY - 20 * DAY, TODAY - 9 * DAY),
    ]
    engine = create_engine(db_url, application_name="test")
    narrower = 0
    try:
        async with create_sessionmaker(engine)() as session:
            as_of = await repository.as_of(session)
            assert as_of is not None
            for indicator, part in SPARSE:
                narrowed = narrowing(indicator, part)
                assert narrowed is not None
                for period in periods:
                    for unit in (None, "SO-A"):
                        every, all_read = await _members(
                            session, indicator, part, unit, period, as_of, None
                        )
                        members, read = await _members(
                            session, indicator, part, unit, period, as_of, narrowed
                        )
                        assert members == every, (indicator, part, period.key, unit)
                        narrower += read < all_read
    finally:
        await engine.dispose()
    assert narrower >= len(SPARSE) * len(periods)


async def test_the_candidates_hold_every_member_among_all_states(db_url: str) -> None:
    """Read through the listing indexes (the finished spans among them), the lists are those the
    rules find scanning every stored dossier, in the lists' order."""
    rng = random.Random(768)
    await store(db_url, [e for i in range(160) for e in _dossier(rng, f"D{i}", NOW)])
    await step_until_idle(db_url, ManualClock(NOW))
    periods = [
        CALENDAR.parse("2026-11"),
        CALENDAR.parse("2026-W49"),
        CALENDAR.day_range(TODAY - 20 * DAY, TODAY - 9 * DAY),
        CALENDAR.day_range(TODAY - 3 * DAY, TODAY - 3 * DAY),
    ]
    engine = create_engine(db_url, application_name="test")
    try:
        async with create_sessionmaker(engine)() as session:
            as_of = await repository.as_of(session)
            assert as_of is not None
            every = (
                await session.execute(
                    select(Dossier.dossier_code, Dossier.state).order_by(
                        Dossier.received_at, Dossier.dossier_code
                    )
                )
            ).all()
            for indicator in ("2.1", "1.4"):
                for period in periods:
                    expected = [
                        code
                        for code, state in every
                        if dossier_member(state, period, indicator, as_of) is not None
                    ]
                    found, _ = await _members(
                        session, indicator, Part.DENOMINATOR, None, period, as_of, None
                    )
                    assert expected, (indicator, period.key)
                    assert found == expected, (indicator, period.key)
    finally:
        await engine.dispose()


def test_the_dense_parts_are_not_narrowed() -> None:
    assert narrowing("2.1", Part.DENOMINATOR) is None
    assert narrowing("4.2", Part.SHORTFALL) is None
