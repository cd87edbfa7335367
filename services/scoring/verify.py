"""`verify`: recompute every count from the event store and diff it with the incremental state.

Runs in one REPEATABLE READ transaction, so the events, the position and the counts it compares
are one consistent snapshot even while the services keep running. Exit status 1 on any difference.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import repository
from services.scoring.batch import DossierScorer, FeedbackRow, Scorer, merge_deltas
from services.scoring.main import build_feedback_scorer, build_scorer
from services.scoring.settings import ScoringSettings
from shared.db import create_engine
from shared.rules.contributions import CountKey

FETCH_SIZE = 20_000


@dataclass(frozen=True, slots=True)
class Difference:
    key: CountKey
    incremental: tuple[int, int]
    rebuilt: tuple[int, int]


async def rebuilt_counts(
    session: AsyncSession, dossiers: DossierScorer, feedback: Scorer[FeedbackRow]
) -> dict[CountKey, tuple[int, int]]:
    position = await repository.read_position(session)
    if position is None:
        return {}
    dossiers.use_catalogue(await repository.procedure_facts(session))
    by_kind: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    async for kind, payload in repository.scored_payloads(session, position.last_seq, FETCH_SIZE):
        by_kind[kind == "feedback"].append(payload)
    deltas = merge_deltas(
        dossiers.step({}, by_kind[False], [], position.as_of).deltas,
        feedback.step({}, by_kind[True], [], position.as_of).deltas,
    )
    return {key: (n, d) for key, (n, d) in deltas.items()}


async def differences(
    session: AsyncSession, dossiers: DossierScorer, feedback: Scorer[FeedbackRow]
) -> list[Difference]:
    rebuilt = await rebuilt_counts(session, dossiers, feedback)
    stored = await repository.all_counts(session)
    return [
        Difference(key, stored.get(key, (0, 0)), rebuilt.get(key, (0, 0)))
        for key in sorted(rebuilt.keys() | stored.keys())
        if stored.get(key) != rebuilt.get(key)
    ]


async def verify(settings: ScoringSettings) -> list[Difference]:
    engine = create_engine(settings.database_url, application_name="chiso766-verify")
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
            async with AsyncSession(bind=connection) as session, session.begin():
                return await differences(
                    session, build_scorer(settings), build_feedback_scorer(settings)
                )
    finally:
        await engine.dispose()


def run() -> None:
    found = asyncio.run(verify(ScoringSettings()))
    for difference in found:
        unit, period, indicator = difference.key
        print(
            f"{unit} {period} {indicator}: incremental {difference.incremental} "
            f"rebuilt {difference.rebuilt}"
        )
    print(f"verify: {len(found)} difference(s)")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    run()
