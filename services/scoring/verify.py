"""`verify`: recompute every count from the event store and diff it with the incremental state,
and the history's latest closed day with the counts rebuilt at its midnight.

Runs in one REPEATABLE READ transaction, so the events, the position and the counts it compares
are one consistent snapshot even while the services keep running. Exit status 1 on any difference.

The history's day is rebuilt from each partition's events up to the position it closed the day
at, evaluated at the day's midnight: exactly its recorded snapshot (restatements are not
checked: they are deltas of the rules at that midnight, written beside it). Like the counts, with
the catalogue as it stands now: a procedure event since the day closed that changed whether a
paper result is required may show as a difference of 4.1/4.2 there.
"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import history, repository
from services.scoring.batch import DossierScorer, FeedbackRow, Scorer, merge_deltas
from services.scoring.main import build_feedback_scorer, build_scorer
from services.scoring.settings import ScoringSettings
from shared.db import create_engine
from shared.partitions import partition_of
from shared.periods import PeriodKind
from shared.rules.contributions import CountKey

FETCH_SIZE = 20_000


@dataclass(frozen=True, slots=True)
class Difference:
    key: CountKey
    incremental: tuple[int, int]
    rebuilt: tuple[int, int]
    # The history's day, for a difference in its snapshot; None for the live counts.
    day: date | None = None


@dataclass(frozen=True, slots=True)
class Standpoint:
    """Where a partition's counts stand: the events applied, and the instant evaluated at."""

    last_seq: int
    as_of: datetime


@dataclass(frozen=True, slots=True)
class Report:
    differences: list[Difference]
    # The history's day checked, or why none was.
    history_day: date | None
    history_note: str


async def rebuilt_counts(
    session: AsyncSession,
    dossiers: DossierScorer,
    feedback: Scorer[FeedbackRow],
    partitions: int,
    standpoints: Mapping[int, Standpoint] | None = None,
) -> dict[CountKey, tuple[int, int]]:
    """Every count from scratch: each partition's subjects from the events up to its position,
    evaluated at its instant (or at the `standpoints` given). Exact once the partitions stand at
    one position (as they do when scoring has caught up); while one catches up, it evaluated its
    dossiers with the catalogue of its own position where this uses the newest."""
    if standpoints is None:
        standpoints = {
            p: Standpoint(row.last_seq, row.as_of)
            for p, row in (await repository.read_positions(session, partitions)).items()
        }
    positions = standpoints
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


async def history_differences(
    session: AsyncSession,
    dossiers: DossierScorer,
    feedback: Scorer[FeedbackRow],
    partitions: int,
    kinds: tuple[PeriodKind, ...],
) -> tuple[date | None, str, list[Difference]]:
    """The history's latest day closed by every partition against the counts rebuilt at its
    midnight from the events each partition had applied when it closed it."""
    day = await repository.latest_closed_day(session, partitions)
    if day is None:
        return None, "history: no day closed by every partition yet, nothing to check", []
    end = history.day_end(dossiers.calendar, day)
    closes = await repository.history_days(session, day)
    standpoints = {p: Standpoint(closes[p].last_seq, end.at) for p in range(partitions)}
    periods = history.running_periods(dossiers.calendar, kinds, day)
    rebuilt = {
        key: value
        for key, value in (
            await rebuilt_counts(session, dossiers, feedback, partitions, standpoints)
        ).items()
        if key[1] in periods
    }
    recorded = await repository.history_counts(session, day, periods)
    found = [
        Difference(key, recorded.get(key, (0, 0)), rebuilt.get(key, (0, 0)), day)
        for key in sorted(rebuilt.keys() | recorded.keys())
        if recorded.get(key) != rebuilt.get(key)
    ]
    return day, f"history: {day} checked ({', '.join(periods)})", found


async def verify_report(settings: ScoringSettings) -> Report:
    engine = create_engine(settings.database_url, application_name="chiso766-verify")
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
            async with AsyncSession(bind=connection) as session, session.begin():
                found = await differences(
                    session,
                    build_scorer(settings),
                    build_feedback_scorer(settings),
                    settings.scoring_partitions,
                )
                day, note, in_history = await history_differences(
                    session,
                    build_scorer(settings),
                    build_feedback_scorer(settings),
                    settings.scoring_partitions,
                    settings.scoring_period_kinds,
                )
                return Report(found + in_history, day, note)
    finally:
        await engine.dispose()


async def verify(settings: ScoringSettings) -> list[Difference]:
    """Every difference, of the counts and of the history's latest closed day."""
    return (await verify_report(settings)).differences


def run() -> None:
    report = asyncio.run(verify_report(ScoringSettings()))
    for difference in report.differences:
        unit, period, indicator = difference.key
        where = f"{period} on {difference.day}" if difference.day else period
        print(
            f"{unit} {where} {indicator}: incremental {difference.incremental} "
            f"rebuilt {difference.rebuilt}"
        )
    print(report.history_note)
    print(f"verify: {len(report.differences)} difference(s)")
    sys.exit(1 if report.differences else 0)


if __name__ == "__main__":
    run()
