"""`overdue_from` and `disliked` (migration 0018), as scoring writes them with each dossier and
as the migration fills them, from the stored states, in a database scored before it."""

from __future__ import annotations

import asyncio
import random

import asyncpg
from alembic import command

from shared.clock import ManualClock
from tests.shared.scores.test_ranges import DAY, NOW, _dossier
from tests.support.infra import alembic_config
from tests.support.store import step_until_idle, store

_ROWS = "SELECT dossier_code, overdue_from, disliked FROM dossiers ORDER BY dossier_code"


async def _rows(db_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        return list(await connection.fetch(_ROWS))
    finally:
        await connection.close()


async def test_what_a_range_end_decides_is_written_with_each_dossier_and_filled_by_the_migration(
    db_url: str,
) -> None:
    rng = random.Random(1018)
    await store(db_url, [e for i in range(120) for e in _dossier(rng, f"D{i}", NOW - 3 * DAY)])
    await step_until_idle(db_url, ManualClock(NOW))
    rows = await _rows(db_url)
    assert len(rows) == 120
    # Decided by the end alone or not (a suspension before the completion, never accepted), and
    # among the decided, some that turn overdue and some disliked.
    assert any(disliked is None for _, _, disliked in rows)
    assert any(turns is not None for _, turns, _ in rows)
    assert any(disliked for _, _, disliked in rows)

    config = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, config, "0017")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _rows(db_url) == rows
