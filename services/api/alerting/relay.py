"""Publishes the recorded alerts to Kafka (`index.alerts`, keyed by unit), in `seq` order, once.

The relay's position (last seq, and the next offset of each partition) is committed after the
broker acked the batch. A crash between the ack and the commit leaves records on the topic beyond
the stored offsets: before its first batch, and after any failed one, the relay reads them back and
does not send those alerts again. (Kafka's idempotent producer would close the last gap, a retry
inside one send; the development broker does not offer it, and consumers can drop a repeated
`alert_id`.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import orjson
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.publisher import Publisher, Record
from shared.alerts import SCHEMA, from_row
from shared.clock import Clock
from shared.models import Alert, AlertRelay

log = structlog.get_logger()


class Relay:
    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        clock: Clock,
        batch_size: int = 500,
        timeout_seconds: float = 15,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.clock = clock
        self.batch_size = batch_size
        self.timeout_seconds = timeout_seconds
        self.publisher = Publisher(bootstrap_servers, timeout_seconds)
        # Seqs found on the topic beyond the stored position; None until looked for.
        self._on_topic: set[int] | None = None

    async def publish(self, session: AsyncSession) -> int:
        """Send the next batch in the caller's transaction; how many alerts were sent."""
        position = await self._lock(session)
        try:
            return await self._publish(session, position)
        except BaseException:
            # Some records may have been acked: look at the topic again before resending.
            self._on_topic = None
            raise

    async def _publish(self, session: AsyncSession, position: AlertRelay) -> int:
        rows = list(
            await session.scalars(
                select(Alert)
                .where(Alert.seq > position.last_seq)
                .order_by(Alert.seq)
                .limit(self.batch_size)
            )
        )
        if not rows:
            return 0
        if self._on_topic is None:
            self._on_topic = await self._published_beyond(position.offsets)
        sending = [
            Record(
                (row.unit_code or "").encode(),
                from_row(row).as_json(),
                [("alert_id", row.alert_id.encode()), ("schema", SCHEMA.encode())],
            )
            for row in rows
            if row.seq not in self._on_topic
        ]
        acked = await self.publisher.publish(self.topic, sending)
        offsets = dict(position.offsets)
        for metadata in acked:
            key = str(metadata.partition)
            offsets[key] = max(offsets.get(key, 0), metadata.offset + 1)
        position.last_seq = rows[-1].seq
        position.offsets = offsets
        position.updated_at = self.clock.now()
        self._on_topic = {seq for seq in self._on_topic if seq > position.last_seq}
        await session.flush()
        return len(sending)

    async def _lock(self, session: AsyncSession) -> AlertRelay:
        """The relay's row, locked: relays in several processes take turns."""
        now = self.clock.now()
        await session.execute(
            insert(AlertRelay)
            .values(topic=self.topic, last_seq=0, offsets={}, updated_at=now)
            .on_conflict_do_nothing()
        )
        position = await session.scalar(
            select(AlertRelay)
            .where(AlertRelay.topic == self.topic)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert position is not None
        return position

    async def _published_beyond(self, offsets: Mapping[str, int]) -> set[int]:
        """The seqs of the records on the topic past the stored offsets."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False
        )
        await consumer.start()
        try:
            if self.topic not in await consumer.topics():
                return set()
            partitions = [
                TopicPartition(self.topic, p)
                for p in sorted(consumer.partitions_for_topic(self.topic) or ())
            ]
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            beginnings = await consumer.beginning_offsets(partitions)
            for partition in partitions:
                start = offsets.get(str(partition.partition), beginnings[partition])
                consumer.seek(partition, max(start, beginnings[partition]))
            seqs: set[int] = set()
            async with asyncio.timeout(self.timeout_seconds):
                while [p for p in partitions if await consumer.position(p) < ends[p]]:
                    batches = await consumer.getmany(timeout_ms=200)
                    for records in batches.values():
                        seqs.update(orjson.loads(record.value)["seq"] for record in records)
            if seqs:
                log.info("alerts.relay_found_unrecorded", topic=self.topic, count=len(seqs))
            return seqs
        finally:
            await consumer.stop()

    async def close(self) -> None:
        await self.publisher.close()
