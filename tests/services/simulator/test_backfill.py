"""The simulator's backfill, paced by a consumer group, reaches that group a day at a time across
its topics: every event of a day before any of the next, however unevenly the consumer reads its
partitions (a backlog then reaches the store in the order its history needs)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.simulator.lifecycle import LOCAL
from services.simulator.main import Consumed, Simulator, backfill
from shared.kafka import ensure_topics

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


async def consume(
    broker: str, group: str, topics: list[str], days: list[date], stop: asyncio.Event
) -> None:
    """Read as ingest does (a batch from whichever partitions have records, committed after it),
    a few records at a time, noting each record's local day in the order read."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=broker,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        while not stop.is_set():
            polled = await consumer.getmany(timeout_ms=100, max_records=37)
            for records in polled.values():
                for record in records:
                    occurred = datetime.fromisoformat(orjson.loads(record.value)["occurred_at"])
                    days.append(occurred.astimezone(LOCAL).date())
            if polled:
                await consumer.commit()
    finally:
        await consumer.stop()


async def test_a_paced_backfill_reaches_its_consumer_a_day_at_a_time(broker: str) -> None:
    run = uuid.uuid4().hex[:8]
    topics = {kind: f"{kind}.{run}" for kind in ("dossier", "catalog", "feedback")}
    await ensure_topics(broker, topics.values())
    group = f"paced-{run}"
    simulator = Simulator(seed=3, scale=0.05, malformed_rate=0)
    simulator.receive(NOW - timedelta(days=4), NOW)
    events = [*simulator.catalog(NOW - timedelta(days=5)), *simulator.due(NOW)]
    assert {e.topic for e in events} == set(topics)

    days: list[date] = []
    stop = asyncio.Event()
    reading = asyncio.create_task(consume(broker, group, list(topics.values()), days, stop))
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    try:
        async with Consumed(broker, group) as consumed:
            await backfill(producer, topics, simulator, events, consumed, asyncio.Event())
    finally:
        await producer.stop()
        stop.set()
        await reading

    assert len(days) == len(events)
    assert days == sorted(days)
    assert len(set(days)) >= 4
