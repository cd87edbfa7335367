"""`last_step_at` (migration 0016) is the latest status step of the stored state, as scoring
writes it and as the migration fills it in a database scored before it."""

from __future__ import annotations

import asyncio
import random

import asyncpg
from alembic import command

from shared.clock import ManualClock
from tests.shared.scores.test_ranges import DAY, NOW, _dossier
from tests.support.infra import alembic_config
from tests.support.store import step_until_idle, store

# The stored column beside the same time read from the state by the function 0010 made.
_BOTH = """
SELECT dossier_code, last_step_at, chiso766_last_step(state), next_transition_at IS NULL
FROM dossiers
"""


async def _rows(db_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        return list(await connection.fetch(_BOTH))
    finally:
        await connection.close()


async def test_the_last_step_is_written_with_each_dossier_and_filled_by_the_migration(
    db_url: str,
) -> None:
    rng = random.Random(1016)
    await store(db_url, [e for i in range(60) for e in _dossier(rng, f"D{i}", NOW - 3 * DAY)])
    await step_until_idle(db_url, ManualClock(NOW))
    rows = await _rows(db_url)
    assert len(rows) == 60
    assert all(stored == read for _, stored, read, _ in rows)
    # Finished ones among them: those whose span the index holds.
    assert any(finished and stored is not None for _, stored, _, finished in rows)

    config = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, config, "0015")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _rows(db_url) == rows
