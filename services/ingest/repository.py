"""The ingest service's queries. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import driver_connection
from shared.models import EVENTS_APPEND_LOCK, DeadLetter, Event, IngestCount, IngestOffset
from shared.versions import EVENTS_CHANNEL

TopicPartitionKey = tuple[str, int]


async def lock_offsets(
    session: AsyncSession, group: str, partitions: Iterable[TopicPartitionKey]
) -> dict[TopicPartitionKey, int | None]:
    """Stored next offsets, locked: two consumers never apply the same records."""
    keys = sorted(set(partitions))
    if not keys:
        return {}
    result = await session.execute(
        select(IngestOffset.topic, IngestOffset.partition, IngestOffset.next_offset)
        .where(IngestOffset.consumer_group == group)
        .where(tuple_(IngestOffset.topic, IngestOffset.partition).in_(keys))
        .order_by(IngestOffset.topic, IngestOffset.partition)
        .with_for_update()
    )
    stored: dict[TopicPartitionKey, int | None] = dict.fromkeys(keys)
    for topic, partition, next_offset in result:
        stored[(topic, partition)] = next_offset
    return stored


async def read_offsets(
    session: AsyncSession, group: str, topics: Iterable[str]
) -> dict[TopicPartitionKey, int]:
    result = await session.execute(
        select(IngestOffset.topic, IngestOffset.partition, IngestOffset.next_offset)
        .where(IngestOffset.consumer_group == group)
        .where(IngestOffset.topic.in_(list(topics)))
    )
    return {(topic, partition): offset for topic, partition, offset in result}


async def save_offsets(
    session: AsyncSession, group: str, offsets: dict[TopicPartitionKey, int]
) -> None:
    if not offsets:
        return
    statement = insert(IngestOffset)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                IngestOffset.consumer_group,
                IngestOffset.topic,
                IngestOffset.partition,
            ],
            set_={"next_offset": statement.excluded.next_offset},
        ),
        [
            {"consumer_group": group, "topic": t, "partition": p, "next_offset": o}
            for (t, p), o in sorted(offsets.items())
        ],
    )


_INSERT_EVENTS = """
INSERT INTO events (
    event_id, kind, subject, occurred_at, payload, payload_hash, source_topic, source_partition,
    source_offset
)
SELECT e.event_id, e.kind, e.subject, e.occurred_at, e.payload::jsonb, e.payload_hash,
       e.source_topic, e.source_partition, e.source_offset
FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::bytea[], $7::text[],
    $8::integer[], $9::bigint[]
) WITH ORDINALITY AS e(
    event_id, kind, subject, occurred_at, payload, payload_hash, source_topic, source_partition,
    source_offset, position
)
ORDER BY e.position
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""


async def insert_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert, skipping event ids already stored; returns the ids actually inserted. A row's
    `payload` is the stored JSON already written (`shared.events.stored_json`).

    One `unnest` insert for the batch, in its order (SQLAlchemy's executemany, in statements of
    a thousand rows, cost ingest more than the validation of the records)."""
    if not rows:
        return set()
    # Appends are serialised so that sequence numbers become visible in order (see the model).
    await session.execute(select(func.pg_advisory_xact_lock(EVENTS_APPEND_LOCK)))
    connection = await driver_connection(session)
    inserted = await connection.fetch(
        _INSERT_EVENTS,
        [r["event_id"] for r in rows],
        [r["kind"] for r in rows],
        [r["subject"] for r in rows],
        [r["occurred_at"] for r in rows],
        [r["payload"].decode() for r in rows],
        [r["payload_hash"] for r in rows],
        [r["source_topic"] for r in rows],
        [r["source_partition"] for r in rows],
        [r["source_offset"] for r in rows],
    )
    stored = {row[0] for row in inserted}
    if stored:
        # Delivered at commit, when the events are visible: scoring need not wait for its poll.
        await session.execute(select(func.pg_notify(EVENTS_CHANNEL, "")))
    return stored


async def stored_hashes(session: AsyncSession, event_ids: Iterable[str]) -> dict[str, bytes]:
    ids = list(event_ids)
    if not ids:
        return {}
    result = await session.execute(
        select(Event.event_id, Event.payload_hash).where(Event.event_id.in_(ids))
    )
    return {row.event_id: row.payload_hash for row in result}


async def insert_dead_letters(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(DeadLetter), list(rows))


async def add_counts(session: AsyncSession, counts: dict[str, dict[str, int]]) -> None:
    if not counts:
        return
    statement = insert(IngestCount)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[IngestCount.topic],
            set_={
                name: getattr(IngestCount, name) + statement.excluded[name]
                for name in ("offered", "stored", "dead_lettered", "duplicates")
            },
        ),
        [{"topic": topic, **values} for topic, values in sorted(counts.items())],
    )
