"""scoring against PostgreSQL: due times with a driven clock, verify, and pooled province counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from services.scoring.settings import ScoringSettings
from services.scoring.verify import verify
from shared.clock import ManualClock
from tests.support.factories import dossier_event, received
from tests.support.harness import PROVINCE
from tests.support.store import count, step_until_idle, store

# Wednesday 18/11/2026 09:00 in Hà Nội.
T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def test_an_in_progress_dossier_turns_overdue_when_the_clock_passes_its_due_date(
    db_url: str,
) -> None:
    clock = ManualClock(T0 + HOUR)
    await store(db_url, [received("D1", T0, due_in=4 * HOUR), received("D2", T0, due_in=48 * HOUR)])
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-TP", "2026-W47", "2.1") == (2, 2)

    clock.advance(3 * HOUR)  # D1's due instant, 13:00: still on time
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-TP", "2026-W47", "2.1") == (2, 2)

    clock.advance(timedelta(seconds=1))  # no event, yet D1 is now overdue
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-TP", "2026-W47", "2.1") == (1, 2)
    assert await count(db_url, PROVINCE, "2026-W47", "2.1") == (1, 2)
    assert await verify(ScoringSettings(database_url=db_url, province_code=PROVINCE)) == []


async def test_a_new_week_counts_the_dossiers_still_in_progress(db_url: str) -> None:
    clock = ManualClock(T0 + HOUR)
    await store(db_url, [received("D1", T0, due_in=timedelta(days=10))])
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-TP", "2026-W48", "2.1") == (0, 0)
    clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # Monday of week 48
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-TP", "2026-W48", "2.1") == (1, 1)
    assert await count(db_url, "SO-TP", "2026-W47", "2.1") == (1, 1)


async def test_a_late_event_for_a_closed_week_restates_it(db_url: str) -> None:
    clock = ManualClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    await store(db_url, [received("D1", T0, due_in=HOUR)])
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-TP", "2026-W47", "2.1") == (0, 1)  # overdue all week
    # Arrives in week 48: it was finished on time in week 47 after all.
    await store(db_url, [dossier_event("D1", "COMPLETED", T0 + HOUR / 2)])
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-TP", "2026-W47", "2.1") == (1, 1)
    assert await count(db_url, "SO-TP", "2026-W48", "2.1") == (0, 0)


async def test_verify_reports_a_count_that_does_not_match_the_events(db_url: str) -> None:
    clock = ManualClock(T0 + HOUR)
    await store(db_url, [received("D1", T0, synced_to_national_portal=True)])
    await step_until_idle(db_url, clock)
    settings = ScoringSettings(database_url=db_url, province_code=PROVINCE)
    assert await verify(settings) == []
    connection = await asyncpg.connect(db_url)
    await connection.execute(
        "UPDATE indicator_counts SET numerator = 0"
        " WHERE unit_code = 'SO-TP' AND period_key = '2026-11' AND indicator_id = '1.4'"
    )
    await connection.close()
    differences = await verify(settings)
    assert [(d.key, d.incremental, d.rebuilt) for d in differences] == [
        (("SO-TP", "2026-11", "1.4"), (0, 1), (1, 1))
    ]


async def test_feedback_is_scored_pooled_and_verified(db_url: str) -> None:
    from tests.support.factories import feedback_event

    clock = ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    start = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    await store(
        db_url,
        [
            feedback_event("F1", "RECEIVED", start, category="REGULATION"),
            feedback_event("F1", "ANSWERED", start + 3 * DAY),
            feedback_event("F1", "PUBLISHED", start + 4 * DAY, rating="SATISFIED"),
            # F2 is never answered: 15 working days pass, it becomes late with no event.
            feedback_event("F2", "RECEIVED", start, unit_code="SO-NV"),
        ],
    )
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-TP", "2026-11", "5.2") == (1, 1)
    assert await count(db_url, "SO-NV", "2026-11", "5.2") == (0, 1)
    assert await count(db_url, PROVINCE, "2026-11", "5.3") == (1, 2)
    assert await count(db_url, PROVINCE, "2026-11", "5.1") == (1, 2)
    assert await verify(ScoringSettings(database_url=db_url, province_code=PROVINCE)) == []
