"""ingest against the real broker and PostgreSQL: exactly-once storage, dead letters, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.ingest.consumer import IngestConsumer
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from shared.clock import SystemClock
from shared.db import create_engine, create_sessionmaker
from shared.kafka import ensure_topics
from shared.operations import Health
from tests.support import harness
from tests.support.factories import dossier_event, encode, received


async def read_topic(broker: str, topic: str, count: int) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=broker, auto_offset_reset="earliest")
    await consumer.start()
    records: list = []
    try:

        async def enough() -> bool:
            batch = await consumer.getmany(timeout_ms=200)
            records.extend(r for rs in batch.values() for r in rs)
            return len(records) >= count

        await harness.eventually(enough)
    finally:
        await consumer.stop()
    return records


async def counts(db_url: str) -> dict[str, tuple[int, int, int, int]]:
    connection = await asyncpg.connect(db_url)
    try:
        rows = await connection.fetch("SELECT * FROM ingest_counts")
        return {
            r["topic"]: (r["offered"], r["stored"], r["dead_lettered"], r["duplicates"])
            for r in rows
        }
    finally:
        await connection.close()


async def scalar(db_url: str, query: str) -> object:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


@pytest.mark.slow
async def test_duplicates_are_stored_once_and_malformed_events_reach_the_dlq(
    db_url: str, broker: str, topics
) -> None:
    now = datetime.now(UTC)
    first = received("D1", now - timedelta(hours=3))
    changed = dict(first, channel="DIRECT")  # same event_id, other content
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    await harness.produce(
        broker,
        topics.dossier,
        [
            first,
            first,  # an exact redelivery
            changed,
            b"{this is not json",
            encode({**dossier_event("D2", "RECEIVED", now), "status": "DA_XONG"}),
            encode({k: v for k, v in received("D3", now).items() if k != "unit_code"}),
            received("D4", now - timedelta(hours=1)),
        ],
    )
    async with harness.running(harness.ingest(db_url, broker, topics)):
        letters = await read_topic(broker, topics.dead_letter, 4)

        async def balanced() -> dict | None:
            current = await counts(db_url)
            return current if current.get(topics.dossier, (0,))[0] == 7 else None

        assert (await harness.eventually(balanced))[topics.dossier] == (7, 2, 4, 1)

    reasons = {dict(r.headers)["dlq.reason"].decode() for r in letters}
    assert any("not valid JSON" in reason for reason in reasons)
    assert any("status: Input should be" in reason for reason in reasons)
    assert any("unit_code: Field required" in reason for reason in reasons)
    assert any("already used by an event with different content" in reason for reason in reasons)
    # The dead letter carries the record as received, with where it came from.
    broken = next(r for r in letters if b"not json" in r.value)
    assert dict(broken.headers)["dlq.topic"].decode() == topics.dossier
    assert await scalar(db_url, "SELECT count(*) FROM events") == 2
    assert await scalar(db_url, "SELECT count(*) FROM dead_letters") == 4


@pytest.mark.slow
async def test_a_restarted_ingest_neither_loses_nor_recounts_records(
    db_url: str, broker: str, topics
) -> None:
    now = datetime.now(UTC)
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    await harness.produce(
        broker, topics.dossier, [received(f"A{i}", now - timedelta(hours=1)) for i in range(50)]
    )

    async def offered(expected: int) -> bool:
        return (await counts(db_url)).get(topics.dossier, (0,))[0] == expected

    async with harness.running(harness.ingest(db_url, broker, topics)):
        await harness.eventually(lambda: offered(50))
    await harness.produce(
        broker, topics.dossier, [received(f"B{i}", now - timedelta(hours=1)) for i in range(30)]
    )
    async with harness.running(harness.ingest(db_url, broker, topics)):
        await harness.eventually(lambda: offered(80))
        await harness.produce(broker, topics.dossier, [received(f"C{i}", now) for i in range(20)])
        await harness.eventually(lambda: offered(100))

    assert (await counts(db_url))[topics.dossier] == (100, 100, 0, 0)
    assert await scalar(db_url, "SELECT count(*) FROM events") == 100


@pytest.mark.slow
async def test_a_national_sync_item_is_stored_as_its_events_once(
    db_url: str, broker: str, topics
) -> None:
    from tests.shared.test_national_sync import ITEM

    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    await harness.produce(broker, topics.dossier, [encode(ITEM), encode(ITEM)])
    async with harness.running(harness.ingest(db_url, broker, topics)):

        async def offered() -> dict | None:
            current = await counts(db_url)
            return current if current.get(topics.dossier, (0,))[0] == 10 else None

        assert (await harness.eventually(offered))[topics.dossier] == (10, 5, 0, 5)
    assert await scalar(db_url, "SELECT count(DISTINCT subject) FROM events") == 1


@pytest.mark.slow
async def test_a_batch_applied_before_is_skipped_without_a_crash(
    db_url: str, broker: str, topics
) -> None:
    """After a kill between the database commit and Kafka's, the broker hands the same records
    back; a batch of nothing but those must not crash ingest (found by the kill -9 soak)."""
    await ensure_topics(broker, [topics.dossier, topics.dead_letter])
    engine = create_engine(db_url, application_name="test")
    consumer = AIOKafkaConsumer(topics.dossier, bootstrap_servers=broker, group_id="replay")
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await consumer.start()
    await producer.start()
    try:
        ingest = IngestConsumer(
            consumer,
            producer,
            create_sessionmaker(engine),
            IngestService(SystemClock(), "replay", {topics.dossier: "dossier"}),
            topics.dead_letter,
            max_batch_records=100,
            poll_timeout_ms=50,
            metrics=IngestMetrics(Health(timedelta(seconds=60))),
        )
        value = encode(received("R1", datetime.now(UTC) - timedelta(hours=1)))
        batch = [
            SimpleNamespace(
                topic=topics.dossier, partition=0, offset=0, timestamp=-1, key=b"R1", value=value
            )
        ]
        await ingest.handle(batch)
        await ingest.handle(batch)  # the same records again: skipped, no commit to make
    finally:
        await consumer.stop()
        await producer.stop()
        await engine.dispose()
    assert await scalar(db_url, "SELECT count(*) FROM events") == 1
    assert await counts(db_url) == {topics.dossier: (1, 1, 0, 0)}
