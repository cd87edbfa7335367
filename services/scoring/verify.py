"""`verify`: recompute every count from the event store and diff it with the incremental state.

Runs in one REPEATABLE READ transaction, so the events, the position and the counts it compares
are one consistent snapshot even while the services keep running. Exit status 1 on any difference.
"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import repository
from services.scoring.batch import DossierScorer, FeedbackRow, Scorer, merge_deltas
from services.scoring.main import build_feedback_scorer, build_scorer
from services.scoring.settings import ScoringSettings
from shared.db import create_engine
from shared.partitions import partition_of
from shared.rules.contributions import CountKey

FETCH_SIZE = 20_000


@dataclass(frozen=True, slots=True)
class Difference:
    key: CountKey
    incremental: tuple[int, int]
    rebuilt: tuple[int, int]


async def rebuilt_counts(
    session: AsyncSession, dossiers: DossierScorer, feedback: Scorer[FeedbackRow], partitions: int
) -> dict[CountKey, tuple[int, int]]:
    """Every count from scratch: each partition's subjects from the events up to its position,
    evaluated at its instant. Exact once the partitions stand at one position (as they do when
    scoring has caught up); while one catches up, it evaluated its dossiers with the catalogue
    of its own position where this uses the newest."""
    positions = await repository.read_positions(session, partitions)
    if not positions:
        return {}
    dossiers.use_catalogue(await repository.procedure_facts(session))
    # (partition, is feedback) -> payloads
    by_share: defaultdict[tuple[int, bool], list[dict[str, Any]]] = defaultdict(list)
    up_to = max(position.last_seq for position in positions.values())
    async for seq, kind, payload in repository.scored_payloads(session, up_to, FETCH_SIZE):
        is_feedback = kind == "feedback"
        subject = payload["feedback_id" if is_feedback else "dossier_code"]
        partition = partition_of(subject, partitions)
        if seq <= positions[partition].last_seq:
            by_share[partition, is_feedback].append(payload)
    deltas = merge_deltas(
        *(
            scorer.step({}, by_share[partition, is_feedback], [], position.as_of).deltas
            for partition, position in positions.items()
            for is_feedback, scorer in ((False, dossiers), (True, feedback))
        )
    )
    return {key: (n, d) for key, (n, d) in deltas.items()}


async def differences(
    session: AsyncSession, dossiers: DossierScorer, feedback: Scorer[FeedbackRow], partitions: int
) -> list[Difference]:
    rebuilt = await rebuilt_counts(session, dossiers, feedback, partitions)
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
                    session,
                    build_scorer(settings),
                    build_feedback_scorer(settings),
                    settings.scoring_partitions,
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
