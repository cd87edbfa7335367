"""Migration 0014 gives a database scored before the day counts the day counts scoring would
have kept: downgraded (the day counts dropped) and upgraded again, every count is as scored."""

from __future__ import annotations

import asyncio
import random
import re

import asyncpg
from alembic import command

from shared.clock import ManualClock
from shared.rules.contributions import IN_PROGRESS
from tests.shared.scores.test_ranges import DAY, NOW, _dossier
from tests.support.infra import alembic_config
from tests.support.store import step_until_idle, store

_COUNTS = """
SELECT period_key, unit_code, indicator_id, sum(numerator)::bigint, sum(denominator)::bigint
FROM indicator_counts GROUP BY 1, 2, 3 HAVING sum(numerator) <> 0 OR sum(denominator) <> 0
"""


async def _counts(db_url: str) -> dict[tuple[str, str, str], tuple[int, int]]:
    connection = await asyncpg.connect(db_url)
    try:
        return {(p, u, i): (n, d) for p, u, i, n, d in await connection.fetch(_COUNTS)}
    finally:
        await connection.close()


async def test_the_day_counts_of_dossiers_scored_before_them(db_url: str) -> None:
    rng = random.Random(768)
    await store(db_url, [e for i in range(80) for e in _dossier(rng, f"D{i}", NOW - DAY)])
    await step_until_idle(db_url, ManualClock(NOW))
    scored = await _counts(db_url)
    assert any(key[0] == IN_PROGRESS for key in scored)
    config = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, config, "0013")
    named = {
        key: value
        for key, value in scored.items()
        if key[0] != IN_PROGRESS and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", key[0])
    }
    assert await _counts(db_url) == named
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await _counts(db_url) == scored
