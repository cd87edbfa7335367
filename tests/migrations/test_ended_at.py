"""`ended_at` (migration 0017) ends a finished subject's span at its end of processing, as scoring
writes it and as the migration fills it in a database scored before it."""

from __future__ import annotations

import asyncio
import random

import asyncpg
from alembic import command

from shared.clock import ManualClock
from tests.shared.scores.test_ranges import DAY, NOW, _dossier, _feedback
from tests.support.infra import alembic_config
from tests.support.store import step_until_idle, store

# The stored end beside the latest step read from the state by the function 0010 made.
_ROWS = """
SELECT '{table}', {key}, {column}, chiso766_last_step(state), next_transition_at IS NULL
FROM {table} ORDER BY {key}
"""


async def _rows(db_url: str, column: str = "ended_at") -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        found = []
        for table, key in (("dossiers", "dossier_code"), ("feedback", "feedback_id")):
            found.extend(await connection.fetch(_ROWS.format(table=table, key=key, column=column)))
        return found
    finally:
        await connection.close()


async def test_the_end_is_written_with_each_subject_and_filled_by_the_migration(
    db_url: str,
) -> None:
    rng = random.Random(1017)
    events = [e for i in range(80) for e in _dossier(rng, f"D{i}", NOW - 3 * DAY)]
    events += [e for i in range(40) for e in _feedback(rng, f"F{i}", NOW - 3 * DAY)]
    await store(db_url, events)
    await step_until_idle(db_url, ManualClock(NOW))
    rows = await _rows(db_url)
    finished = [(table, end, last) for table, _, end, last, done in rows if done]
    assert {table for table, _, _ in finished} == {"dossiers", "feedback"}
    # None ended after its latest step; some dossiers before it (a result returned after the
    # dossier was completed).
    assert all(end <= last for _, end, last in finished)
    assert any(end < last for table, end, last in finished if table == "dossiers")

    config = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, config, "0016")
    assert all(end == last for _, _, end, last, _ in await _rows(db_url, "last_step_at"))
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _rows(db_url) == rows
