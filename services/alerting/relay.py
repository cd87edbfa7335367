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
from sqlalchemy.ext.asyncio import AsyncSession

from services.alerting import repository
from shared.alerts import SCHEMA, from_row
from shared.clock import Clock
from shared.kafka import OutgoingRecord, Publisher
from shared.models import AlertRelay

log = structlog.get_logger()
BATCH_SIZE = 500


class Relay:
    def __init__(
        self, publisher: Publisher, topic: str, clock: Clock, batch_size: int = BATCH_SIZE
    ) -> None:
        self.publisher = publisher
        self.topic = topic
        self.clock = clock
        self.batch_size = batch_size
        # Seqs found on the topic beyond the stored position; None until looked for.
        self._on_topic: set[int] | None = None

    async def publish(self, session: AsyncSession) -> int:
        """Send the next batch in the caller's transaction; how many alerts were sent."""
        position = await repository.lock_relay(session, self.topic, self.clock.now())
        try:
            return await self._publish(session, position)
        except BaseException:
            # Some records may have been acked: look at the topic again before resending.
            self._on_topic = None
            raise

    async def _publish(self, session: AsyncSession, position: AlertRelay) -> int:
        rows = await repository.alerts_after(session, position.last_seq, self.batch_size)
        if not rows:
            return 0
        if self._on_topic is None:
            self._on_topic = await self._published_beyond(position.offsets)
        sending = [
            OutgoingRecord(
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

    async def _published_beyond(self, offsets: Mapping[str, int]) -> set[int]:
        """The seqs of the records on the topic past the stored offsets."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.publisher.bootstrap_servers, enable_auto_commit=False
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
            async with asyncio.timeout(self.publisher.timeout_seconds):
                while [p for p in partitions if await consumer.position(p) < ends[p]]:
                    batches = await consumer.getmany(timeout_ms=200)
                    for records in batches.values():
                        seqs.update(orjson.loads(record.value)["seq"] for record in records)
            if seqs:
                log.info("alerts.relay_found_unrecorded", topic=self.topic, count=len(seqs))
            return seqs
        finally:
            await consumer.stop()
