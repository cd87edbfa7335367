"""Killing scoring mid-stream (SIGKILL) and starting it again gives the numbers of a clean run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from services.scoring.settings import ScoringSettings
from services.scoring.verify import verify
from services.simulator.main import Simulator
from shared.kafka import ensure_topics
from tests.support import harness
from tests.support.infra import ROOT


def simulated_week(scale: float) -> list[bytes]:
    simulator = Simulator(seed=7, scale=scale, malformed_rate=0)
    now = datetime.now(UTC)
    simulator.receive(now - timedelta(weeks=1), now)
    return [orjson.dumps(e.event) for e in simulator.due(now) if e.topic == "dossier"]


async def position(db_url: str) -> int:
    connection = await asyncpg.connect(db_url)
    try:
        return int(
            await connection.fetchval(
                "SELECT coalesce(sum(events_applied), 0) FROM scoring_position"
            )
        )
    finally:
        await connection.close()


def start_scoring(db_url: str, **extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PROVINCE_CODE": harness.PROVINCE,
        "SCORING_BATCH_SIZE": "300",
        "SCORING_REBALANCE_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    return subprocess.Popen([sys.executable, "-m", "services.scoring"], env=env, cwd=ROOT)


@pytest.mark.slow
async def test_scoring_killed_mid_stream_ends_with_the_numbers_of_a_clean_run(
    db_url: str, broker: str, topics
) -> None:
    started = datetime.now(UTC)
    events = simulated_week(scale=0.15)
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    await harness.produce(broker, topics.dossier, events)
    async with harness.running(harness.ingest(db_url, broker, topics)):

        async def stored() -> bool:
            connection = await asyncpg.connect(db_url)
            try:
                return await connection.fetchval("SELECT count(*) FROM events") == len(events)
            finally:
                await connection.close()

        await harness.eventually(stored, within=60)

    kills = 0
    process = start_scoring(db_url)
    try:
        for fraction in (0.2, 0.5, 0.8):
            await harness.eventually(
                lambda f=fraction: _past(db_url, int(len(events) * f)), within=120
            )
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            kills += 1
            process = start_scoring(db_url)
        await harness.eventually(lambda: _past(db_url, len(events)), within=120)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)

    assert kills == 3
    assert await position(db_url) == len(events)
    differences = await verify(ScoringSettings(database_url=db_url, province_code=harness.PROVINCE))
    assert differences == []
    # Every dossier that went overdue in the last day has its one alert, kills or not.
    overdue, alerted = await overdue_and_alerted(db_url, started - timedelta(hours=23))
    assert overdue
    assert alerted == overdue


@pytest.mark.slow
async def test_two_instances_one_killed_again_and_again_end_with_the_numbers_of_a_clean_run(
    db_url: str, broker: str, topics
) -> None:
    """The survivor takes the dead one's partitions; the restarted one takes some back."""
    events = simulated_week(scale=0.15)
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    await harness.produce(broker, topics.dossier, events)
    async with harness.running(harness.ingest(db_url, broker, topics)):
        await harness.eventually(lambda: _stored(db_url, len(events)), within=60)

    survivor = start_scoring(db_url, SCORING_PARTITIONS="4")
    victim = start_scoring(db_url, SCORING_PARTITIONS="4")
    try:
        for fraction in (0.2, 0.4, 0.6, 0.8):
            await harness.eventually(
                lambda f=fraction: _past(db_url, int(len(events) * f)), within=120
            )
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            victim = start_scoring(db_url, SCORING_PARTITIONS="4")
        await harness.eventually(lambda: _past(db_url, len(events)), within=120)
    finally:
        for process in (survivor, victim):
            process.send_signal(signal.SIGTERM)
            process.wait(30)

    assert await position(db_url) == len(events)
    settings = ScoringSettings(
        database_url=db_url, province_code=harness.PROVINCE, scoring_partitions=4
    )
    assert await verify(settings) == []
    connection = await asyncpg.connect(db_url)
    try:
        writers = await connection.fetchval(
            "SELECT count(DISTINCT partition) FROM indicator_counts"
        )
    finally:
        await connection.close()
    assert writers >= 2  # both instances scored


async def _stored(db_url: str, count: int) -> bool:
    connection = await asyncpg.connect(db_url)
    try:
        return bool(await connection.fetchval("SELECT count(*) FROM events") == count)
    finally:
        await connection.close()


async def overdue_and_alerted(db_url: str, since: datetime) -> tuple[set[str], set[str]]:
    connection = await asyncpg.connect(db_url)
    try:
        overdue = await connection.fetch(
            "SELECT dossier_code FROM dossiers WHERE effective_due_at >= $1"
            " AND outcome IN ('OVERDUE', 'IN_PROGRESS_OVERDUE')",
            since,
        )
        alerted = await connection.fetch(
            "SELECT body->'details'->>'dossier_code' AS code FROM alerts"
            " WHERE kind = 'dossier_overdue' AND (body->'details'->>'due_at')::timestamptz >= $1",
            since,
        )
    finally:
        await connection.close()
    return {r["dossier_code"] for r in overdue}, {r["code"] for r in alerted}


async def _past(db_url: str, applied: int) -> bool:
    await asyncio.sleep(0)
    return await position(db_url) >= applied
