"""Scoring split in partitions among instances: any schedule of steps gives the counts of one
scorer, partitions change hands between steps, and instances share them out by themselves."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scoring import repository
from services.scoring.claims import PartitionClaims, claim_order, fair_share
from services.scoring.main import build_service
from services.scoring.repository import PartitionsChanged, Share, position_name
from services.scoring.service import ScoringService
from services.scoring.settings import ScoringSettings
from services.scoring.verify import verify
from services.simulator.main import Simulator
from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.partitions import partition_of
from tests.support.harness import PROVINCE
from tests.support.store import step_until_idle, store

PARTITIONS = 8
# Tuesday 24/11/2026 17:00 in Hà Nội: a week of the simulated province lies before it.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

# -- pure parts ----------------------------------------------------------------------------------


@given(st.integers(1, 64), st.integers(1, 70))
def test_fair_shares_cover_every_partition(partitions: int, members: int) -> None:
    share = fair_share(partitions, members)
    assert share * members >= partitions
    assert (share - 1) * members < partitions


@given(st.integers(1, 64), st.integers(0, 10_000))
def test_an_instance_tries_every_partition_once(partitions: int, start: int) -> None:
    order = claim_order(partitions, start)
    assert sorted(order) == list(range(partitions))
    assert order[0] == start % partitions


@given(st.text(max_size=40), st.integers(1, 1000))
def test_a_subject_has_one_partition_in_range(subject: str, partitions: int) -> None:
    assert 0 <= partition_of(subject, partitions) < partitions


def test_shares_write_to_a_partition_they_own() -> None:
    assert Share((3, 5), 8).writes_to == 3
    assert not Share((3, 5), 8).everything
    assert Share(tuple(range(8)), 8).everything


# -- against PostgreSQL --------------------------------------------------------------------------


async def test_python_and_postgresql_put_a_subject_in_the_same_partition(db_url: str) -> None:
    rng = random.Random(766)
    alphabet = string.ascii_letters + string.digits + "-_.ăâđêôơưạảấầẩẫậ "
    subjects = ["", *("".join(rng.choices(alphabet, k=rng.randint(1, 40))) for _ in range(3000))]
    connection = await asyncpg.connect(db_url)
    try:
        for partitions in (1, 2, 7, 8, 1000):
            rows = await connection.fetch(
                "SELECT s, chiso766_partition(s, $2) AS p FROM unnest($1::text[]) AS s",
                subjects,
                partitions,
            )
            assert {r["s"]: r["p"] for r in rows} == {
                s: partition_of(s, partitions) for s in subjects
            }
    finally:
        await connection.close()


def simulated_week() -> list[dict[str, Any]]:
    """The catalogue, a week of dossiers and feedback, and publications: every kind of event."""
    simulator = Simulator(seed=11, scale=0.05, malformed_rate=0)
    start = NOW - timedelta(weeks=1)
    events = [e.event for e in simulator.catalog(start - timedelta(days=1))]
    simulator.publications((start - timedelta(days=30)).date(), NOW.date())
    simulator.receive(start, NOW)
    return events + [e.event for e in simulator.due(NOW)]


@pytest.fixture
async def week(db_url: str) -> list[dict[str, Any]]:
    events = simulated_week()
    await store(db_url, events)
    return events


def scoring_settings(db_url: str, batch_size: int) -> ScoringSettings:
    return ScoringSettings(
        database_url=db_url,
        province_code=PROVINCE,
        scoring_partitions=PARTITIONS,
        scoring_batch_size=batch_size,
    )


class Instances:
    """Scoring instances in one process, stepped by hand: each a service with its own memo."""

    def __init__(self, db_url: str, clock: ManualClock, count: int, batch_size: int) -> None:
        settings = scoring_settings(db_url, batch_size)
        self.services = [build_service(settings, clock) for _ in range(count)]
        self.engine = create_engine(db_url, application_name="test")
        self.sessions = create_sessionmaker(self.engine)
        self.clock = clock

    async def init(self) -> None:
        async with self.sessions.begin() as session:
            await repository.init_partitions(session, PARTITIONS, self.clock.now())

    async def step(self, instance: int, partitions: tuple[int, ...]) -> bool:
        """One step; whether it was idle."""
        service: ScoringService = self.services[instance]
        async with self.sessions.begin() as session:
            report = await service.step(session, Share(partitions, PARTITIONS))
        return report.idle

    async def close(self) -> None:
        await self.engine.dispose()


async def stored_counts(db_url: str) -> dict[tuple[str, str, str], tuple[int, int]]:
    connection = await asyncpg.connect(db_url)
    try:
        rows = await connection.fetch(
            "SELECT unit_code, period_key, indicator_id, sum(numerator) AS n,"
            " sum(denominator) AS d FROM indicator_counts GROUP BY 1, 2, 3"
        )
    finally:
        await connection.close()
    return {(r[0], r[1], r[2]): (r["n"], r["d"]) for r in rows if (r["n"], r["d"]) != (0, 0)}


async def applied(db_url: str) -> int:
    connection = await asyncpg.connect(db_url)
    try:
        return int(await connection.fetchval("SELECT sum(events_applied) FROM scoring_position"))
    finally:
        await connection.close()


SCORING_TABLES = (
    "indicator_counts, period_versions, dossiers, feedback, scoring_position, units,"
    " procedures, publications, alerts, score_history, history_days, history_restatements"
)


async def forget_scoring(db_url: str) -> None:
    """Back to the events alone, as before scoring's first start."""
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(f"TRUNCATE {SCORING_TABLES}")
    finally:
        await connection.close()


async def test_two_instances_with_half_the_partitions_each_reach_the_counts_of_one(
    db_url: str, week: list[dict[str, Any]]
) -> None:
    clock = ManualClock(NOW)
    await step_until_idle(db_url, clock)
    one_scorer = await stored_counts(db_url)
    assert one_scorer
    await forget_scoring(db_url)

    instances = Instances(db_url, clock, count=2, batch_size=97)
    await instances.init()
    halves = (tuple(range(0, 4)), tuple(range(4, 8)))
    idle = [False, False]
    while not all(idle):
        for instance in (0, 1):
            idle[instance] = await instances.step(instance, halves[instance])
    await instances.close()

    assert await stored_counts(db_url) == one_scorer
    assert await applied(db_url) == len(week)
    assert await verify(scoring_settings(db_url, 97)) == []
    connection = await asyncpg.connect(db_url)
    try:
        written = await connection.fetch("SELECT DISTINCT partition FROM indicator_counts")
    finally:
        await connection.close()
    assert {r["partition"] for r in written} == {0, 4}


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(schedule=st.randoms(use_true_random=False))
async def test_any_schedule_of_steps_and_hand_overs_gives_the_counts_of_one_scorer(
    db_url: str, week: list[dict[str, Any]], schedule: random.Random
) -> None:
    """Instances step random subsets of the partitions, at random batch sizes, each with its own
    memo, a partition passing from one to another between any two steps; the clock moves on
    between steps too (due times pass). At the end, the counts are those of one scorer."""
    await forget_scoring(db_url)
    clock = ManualClock(NOW)
    instances = Instances(db_url, clock, count=3, batch_size=schedule.choice([13, 60, 400]))
    await instances.init()
    for _ in range(schedule.randint(5, 40)):
        owned = tuple(sorted(schedule.sample(range(PARTITIONS), schedule.randint(1, PARTITIONS))))
        await instances.step(schedule.randrange(3), owned)
        if schedule.random() < 0.2:
            clock.advance(timedelta(hours=schedule.randint(1, 30)))
    every = tuple(range(PARTITIONS))
    while not await instances.step(schedule.randrange(3), every):
        pass
    await instances.close()
    partitioned = await stored_counts(db_url)
    assert await applied(db_url) == len(week)
    assert await verify(scoring_settings(db_url, 400)) == []

    await forget_scoring(db_url)
    await step_until_idle(db_url, clock)
    assert partitioned == await stored_counts(db_url)


async def test_the_single_scorers_position_becomes_the_partitions_start(db_url: str) -> None:
    now = NOW
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(
            "INSERT INTO scoring_position (name, last_seq, as_of, events_applied, updated_at)"
            " VALUES ('events', 42, $1, 40, $1)",
            now,
        )
        engine = create_engine(db_url, application_name="test")
        async with create_sessionmaker(engine).begin() as session:
            await repository.init_partitions(session, 4, now)
        rows = await connection.fetch(
            "SELECT name, last_seq, events_applied FROM scoring_position ORDER BY name"
        )
        assert [tuple(r) for r in rows] == [
            (position_name(0, 4), 42, 40),
            *((position_name(p, 4), 42, 0) for p in (1, 2, 3)),
        ]
        # Partitions apart: changing their number would lose track of what each has applied.
        await connection.execute(
            "UPDATE scoring_position SET last_seq = 50 WHERE name = $1", position_name(2, 4)
        )
        with pytest.raises(PartitionsChanged, match="not at one position"):
            async with create_sessionmaker(engine).begin() as session:
                await repository.init_partitions(session, 8, now)
        # An instance with the old setting, still running, finds its positions gone.
        await connection.execute("UPDATE scoring_position SET last_seq = 50")
        async with create_sessionmaker(engine).begin() as session:
            await repository.init_partitions(session, 8, now)
        service = build_service(scoring_settings(db_url, 10), ManualClock(now))
        with pytest.raises(PartitionsChanged, match="was changed while this instance ran"):
            async with create_sessionmaker(engine).begin() as session:
                await service.step(session, Share((0, 1), 4))
        await engine.dispose()
    finally:
        await connection.close()


async def test_instances_share_the_partitions_out_and_take_over_those_of_one_that_stops(
    db_url: str,
) -> None:
    dsn = db_url
    first, second, third = (PartitionClaims(dsn, PARTITIONS) for _ in range(3))
    try:
        assert len((await first.rebalance()).partitions) == PARTITIONS
        # The second finds every partition held until the first gives its extra ones up.
        assert (await second.rebalance()).partitions == ()
        assert len((await first.rebalance()).partitions) == 4
        assert len((await second.rebalance()).partitions) == 4
        assert set(first.owned.partitions).isdisjoint(second.owned.partitions)

        await third.rebalance()
        for claims in (first, second, third, first, second, third):
            await claims.rebalance()
        held = [set(c.owned.partitions) for c in (first, second, third)]
        assert sorted(len(h) for h in held) == [2, 3, 3]
        assert set().union(*held) == set(range(PARTITIONS))

        await third.close()
        for claims in (first, second):
            await claims.rebalance()
        assert set(first.owned.partitions) | set(second.owned.partitions) == set(range(8))
    finally:
        for claims in (first, second, third):
            await claims.close()


async def test_an_instance_whose_claims_connection_is_cut_gives_everything_up(
    db_url: str,
) -> None:
    claims = PartitionClaims(db_url, PARTITIONS)
    other = PartitionClaims(db_url, PARTITIONS)
    try:
        await claims.rebalance()
        connection = await asyncpg.connect(db_url)
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'chiso766-scoring-claims'"
                " AND datname = current_database()"
            )
        finally:
            await connection.close()
        # Its locks went with its connection: another instance takes the partitions at once.
        assert len((await other.rebalance()).partitions) == PARTITIONS
        # The cut one learns of it at its next rebalance: it holds nothing it does not have.
        assert (await claims.rebalance()).partitions == ()
    finally:
        await claims.close()
        await other.close()
