"""The ingest loop: poll a batch, process it in one transaction, then commit the Kafka offsets.

Offsets live in PostgreSQL with the events they produced; on every partition assignment the
consumer seeks to them, so a crash or a rebalance replays nothing twice and skips nothing.
Kafka's own committed offsets are kept too, for lag monitoring, but are not trusted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest import repository
from services.ingest.metrics import IngestMetrics
from services.ingest.service import DeadLetterMessage, IncomingRecord, IngestService
from shared.errors import is_retryable

log = structlog.get_logger()
RETRY_SECONDS = 1.0


class SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self, consumer: AIOKafkaConsumer, sessions: async_sessionmaker[AsyncSession], group: str
    ) -> None:
        self.consumer = consumer
        self.sessions = sessions
        self.group = group

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to flush: every processed batch is already committed with its offsets."""

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self.sessions() as session:
            stored = await repository.read_offsets(
                session, self.group, {tp.topic for tp in assigned}
            )
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is not None:
                self.consumer.seek(tp, offset)
        log.info(
            "ingest.assigned", partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in assigned)
        )


class IngestConsumer:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        sessions: async_sessionmaker[AsyncSession],
        service: IngestService,
        dead_letter_topic: str,
        max_batch_records: int,
        poll_timeout_ms: int,
        metrics: IngestMetrics,
    ) -> None:
        self.consumer = consumer
        self.producer = producer
        self.sessions = sessions
        self.service = service
        self.dead_letter_topic = dead_letter_topic
        self.max_batch_records = max_batch_records
        self.poll_timeout_ms = poll_timeout_ms
        self.metrics = metrics

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in hand is finished first."""
        while not stop.is_set():
            polled = await self.consumer.getmany(
                timeout_ms=self.poll_timeout_ms, max_records=self.max_batch_records
            )
            await self.metrics.observe_lag(self.consumer)
            records: list[IncomingRecord] = [r for batch in polled.values() for r in batch]
            if not records:
                # The broker answered; a failed batch keeps readiness down until one succeeds.
                self.metrics.health.beat()
                continue
            try:
                await self.handle(records)
            except Exception as error:
                if not is_retryable(error):
                    raise
                # PostgreSQL or the broker is away: keep the batch, wait, try again; no crash loop.
                log.warning("ingest.batch_retry", error=str(error), records=len(records))
                self.metrics.retry(error)
                await self._rewind(records)
                await asyncio.sleep(RETRY_SECONDS)

    async def handle(self, records: Sequence[IncomingRecord]) -> None:
        started = time.perf_counter()
        async with self.sessions.begin() as session:
            report = await self.service.process(session, records)
            # Dead letters are on the topic before the transaction (and the offsets) commit.
            await self._send_dead_letters(report.dead_letters)
        log.debug(
            "ingest.batch",
            offered=report.offered,
            stored=report.stored,
            duplicates=report.duplicates,
            dead_lettered=len(report.dead_letters),
        )
        self.metrics.batch(report, time.perf_counter() - started)
        if not report.next_offsets:
            return  # every record was applied before (a replay after a crash): nothing to move
        try:
            await self.consumer.commit(
                {TopicPartition(t, p): offset for (t, p), offset in report.next_offsets.items()}
            )
        except (CommitFailedError, KafkaError) as error:
            # Harmless: PostgreSQL holds the offsets that count.
            log.info("ingest.kafka_commit_skipped", error=str(error))

    async def _send_dead_letters(self, letters: Sequence[DeadLetterMessage]) -> None:
        futures = []
        for letter in letters:
            log.info(
                "ingest.dead_letter",
                topic=letter.topic,
                partition=letter.partition,
                offset=letter.offset,
                event_id=letter.event_id,
                reason=letter.reason[:500],
            )
            headers = [
                ("dlq.reason", letter.reason.encode()),
                ("dlq.topic", letter.topic.encode()),
                ("dlq.partition", str(letter.partition).encode()),
                ("dlq.offset", str(letter.offset).encode()),
            ]
            futures.append(
                await self.producer.send(
                    self.dead_letter_topic, value=letter.value, key=letter.key, headers=headers
                )
            )
        if futures:
            await asyncio.gather(*futures)

    async def _rewind(self, records: Sequence[IncomingRecord]) -> None:
        """Go back to the first record of a failed batch so that it is tried again."""
        first: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        assigned = self.consumer.assignment()
        for tp, offset in first.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)
