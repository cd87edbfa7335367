"""How far the pipeline has got, read from PostgreSQL: the completion conditions of the figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

# Summed: scoring may keep one position row per partition.
_PROGRESS = """
SELECT (SELECT coalesce(sum(offered), 0) FROM ingest_counts),
       (SELECT count(*) FROM events),
       (SELECT coalesce(sum(events_applied), 0) FROM scoring_position)
"""


@dataclass(frozen=True, slots=True)
class Progress:
    offered: int
    stored: int
    applied: int


async def read(connection: asyncpg.Connection) -> Progress:
    row = await connection.fetchrow(_PROGRESS)
    assert row is not None
    return Progress(int(row[0]), int(row[1]), int(row[2]))


async def wait_until(
    url: str,
    done: Callable[[Progress], bool],
    *,
    within: float,
    check: Callable[[], None] = lambda: None,
    poll: float = 0.05,
) -> tuple[Progress, float]:
    """Poll until `done`; the progress then and the instant (perf_counter) it was seen.

    `check` raises if what is being waited for can no longer happen (a process died)."""
    connection = await asyncpg.connect(url)
    deadline = time.perf_counter() + within
    try:
        while True:
            progress = await read(connection)
            seen = time.perf_counter()
            if done(progress):
                return progress, seen
            check()
            if seen > deadline:
                raise TimeoutError(f"not done after {within:.0f} s: {progress}")
            await asyncio.sleep(poll)
    finally:
        await connection.close()
