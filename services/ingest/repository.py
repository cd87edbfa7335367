"""The ingest service's queries. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

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


async def insert_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert, skipping event ids already stored; returns the ids actually inserted."""
    if not rows:
        return set()
    # Appends are serialised so that sequence numbers become visible in order (see the model).
    await session.execute(select(func.pg_advisory_xact_lock(EVENTS_APPEND_LOCK)))
    # executemany with RETURNING: SQLAlchemy batches it into multi-row INSERTs.
    result = await session.execute(
        insert(Event)
        .on_conflict_do_nothing(index_elements=[Event.event_id])
        .returning(Event.event_id),
        list(rows),
    )
    inserted = set(result.scalars())
    if inserted:
        # Delivered at commit, when the events are visible: scoring need not wait for its poll.
        await session.execute(select(func.pg_notify(EVENTS_CHANNEL, "")))
    return inserted


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
