"""A large step scores its dossiers a part at a time, each part's rows written while the next is
scored (`ScoringService._score_dossiers`): the counts and rows are those of the whole step, and a
part that fails leaves nothing of the step behind."""

from __future__ import annotations

import random
from typing import Any

import asyncpg
import pytest

from services.scoring.batch import Scorer
from services.scoring.settings import ScoringSettings
from services.scoring.verify import verify
from shared.clock import ManualClock
from tests.shared.scores.test_ranges import DAY, NOW, _dossier
from tests.support.harness import PROVINCE
from tests.support.store import step_until_idle, store

DOSSIERS = 90

_ROWS = """
SELECT dossier_code, unit_code, status, outcome, overdue_reason, effective_due_at,
       clock_stopped_at, next_transition_at, ended_at, state
FROM dossiers ORDER BY dossier_code
"""
_COUNTS = """
SELECT period_key, unit_code, indicator_id, sum(numerator), sum(denominator)
FROM indicator_counts GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


async def _scored(db_url: str) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    connection = await asyncpg.connect(db_url)
    try:
        return list(await connection.fetch(_ROWS)), list(await connection.fetch(_COUNTS))
    finally:
        await connection.close()


async def _clear(db_url: str) -> None:
    """Back to events only: another scoring of the same store starts from nothing."""
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(
            "TRUNCATE dossiers, feedback, indicator_counts, period_versions, scoring_position,"
            " units, alerts"
        )
    finally:
        await connection.close()


def _events() -> list[dict[str, Any]]:
    rng = random.Random(2000)
    return [e for i in range(DOSSIERS) for e in _dossier(rng, f"D{i:03}", NOW - DAY)]


async def test_a_step_scored_in_parts_counts_and_writes_what_it_does_whole(db_url: str) -> None:
    await store(db_url, _events())
    await step_until_idle(db_url, ManualClock(NOW))
    whole = await _scored(db_url)
    assert len(whole[0]) == DOSSIERS

    await _clear(db_url)
    # Parts of 7 dossiers: thirteen of them, the last one short.
    await step_until_idle(db_url, ManualClock(NOW), scored_part=7)
    assert await _scored(db_url) == whole
    settings = ScoringSettings(database_url=db_url, province_code=PROVINCE)
    assert await verify(settings) == []


async def test_a_part_that_fails_leaves_nothing_of_its_step(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store(db_url, _events())
    scored = Scorer.step_part
    calls = 0

    def failing_third(self: Any, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("a bug in the rules")
        return scored(self, *args)

    monkeypatch.setattr(Scorer, "step_part", failing_third)
    # The first two parts' rows were being written when the third failed: rolled back with it.
    with pytest.raises(RuntimeError, match="a bug in the rules"):
        await step_until_idle(db_url, ManualClock(NOW), scored_part=10)
    assert await _scored(db_url) == ([], [])

    monkeypatch.setattr(Scorer, "step_part", scored)
    await step_until_idle(db_url, ManualClock(NOW), scored_part=10)
    settings = ScoringSettings(database_url=db_url, province_code=PROVINCE)
    assert await verify(settings) == []
