"""A period's scores at one version are computed once, however many responses ask for them at
the same moment, on PostgreSQL scored by the scoring service; a caller that gives up leaves the
others their answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.methodology import Ratio, UnitScore, load_methodology
from shared.periods import Calendar, Period, PeriodKind
from shared.scores.board import CatalogueCache, ScoreBoard, Versions
from shared.workdays import WorkingCalendar
from tests.support import harness
from tests.support.factories import dossier_event, received
from tests.support.store import step_until_idle, store

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CALENDAR = Calendar()
WORKDAYS = WorkingCalendar()


def _board() -> ScoreBoard:
    return ScoreBoard(load_methodology(), CALENDAR, CatalogueCache(WORKDAYS), harness.PROVINCE, 100)


class CountingBoard(ScoreBoard):
    """The board, counting how often it reads a period's counts; each read can be held."""

    def __init__(self) -> None:
        super().__init__(
            load_methodology(), CALENDAR, CatalogueCache(WORKDAYS), harness.PROVINCE, 100
        )
        self.reads = 0
        self.reading = asyncio.Event()
        self.release = asyncio.Event()

    async def counts(
        self, session: AsyncSession, period: Period, versions: Versions
    ) -> dict[str, dict[str, Ratio]]:
        self.reads += 1
        self.reading.set()
        await self.release.wait()
        return await super().counts(session, period, versions)


async def _scored(db_url: str) -> None:
    events = []
    for index in range(6):
        at = NOW - timedelta(days=2, hours=index)
        code = f"D{index}"
        events.append(received(code, at, unit_code=("SO-A", "XA-B")[index % 2]))
        events.append(dossier_event(code, "COMPLETED", at + timedelta(hours=3), unit_code="SO-A"))
    await store(db_url, events)
    await step_until_idle(db_url, ManualClock(NOW))


Ask = Callable[[ScoreBoard], Awaitable[dict[str, UnitScore]]]


@contextlib.asynccontextmanager
async def _asking(db_url: str) -> AsyncIterator[Ask]:
    """A scored store, and a request for its month's scores from a board, each in its own
    session, at the version the store stands at."""
    await _scored(db_url)
    engine = create_engine(db_url, application_name="test")
    sessions = create_sessionmaker(engine)
    period = CALENDAR.period_of(PeriodKind.MONTH, NOW)
    try:
        async with sessions() as session:
            versions = await _board().versions(session, period, NOW)

        async def asked(board: ScoreBoard) -> dict[str, UnitScore]:
            async with sessions() as session:
                return await board.scores(session, period, versions.current.version, versions)

        yield asked
    finally:
        await engine.dispose()


async def test_responses_asking_at_once_share_one_computation(db_url: str) -> None:
    board = CountingBoard()
    board.release.set()
    async with _asking(db_url) as asked:
        expected = await asked(_board())
        answers = await asyncio.gather(*(asked(board) for _ in range(5)))
    assert board.reads == 1
    assert expected
    assert all(answer == expected for answer in answers)


async def test_a_caller_that_gives_up_leaves_the_others_their_answer(db_url: str) -> None:
    board = CountingBoard()
    async with _asking(db_url) as asked:
        first = asyncio.create_task(asked(board))
        await board.reading.wait()
        waiting = asyncio.create_task(asked(board))
        await asyncio.sleep(0.05)  # the second waits for the first's computation
        assert board.reads == 1
        first.cancel()
        board.release.set()
        answer = await asyncio.wait_for(waiting, 30)
    assert first.cancelled()
    # The first's computation never finished: the second made its own.
    assert board.reads == 2
    assert answer


async def test_a_waiter_that_gives_up_leaves_the_computation_its_answer(db_url: str) -> None:
    board = CountingBoard()
    async with _asking(db_url) as asked:
        computing = asyncio.create_task(asked(board))
        await board.reading.wait()
        waiting = asyncio.create_task(asked(board))
        await asyncio.sleep(0.05)
        waiting.cancel()
        await asyncio.sleep(0)
        board.release.set()
        answer = await asyncio.wait_for(computing, 30)
    assert waiting.cancelled()
    assert board.reads == 1
    assert answer
