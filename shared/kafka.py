"""Kafka for every service: the topics they need, and the one producer that publishes for the api
(catalogue writes, dead letters replayed) and for alerting (alerts relayed)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.errors import BrokerUnavailable


async def ensure_topics(bootstrap_servers: str, topics: Iterable[str], partitions: int = 3) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=partitions, replication_factor=1)
            for name in topics
            if name not in existing
        ]
        if missing:
            # Another service may create one meanwhile.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    key: bytes | None
    value: bytes | None  # None: a tombstone (a dead letter replayed as it came)
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class Publisher:
    """A producer started on first use, so that a process that seldom publishes never depends on
    the broker to start."""

    def __init__(self, bootstrap_servers: str, timeout: timedelta) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.timeout_seconds = timeout.total_seconds()
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def publish(self, topic: str, records: Sequence[OutgoingRecord]) -> list[Any]:
        """Send the records and wait until the broker has them all (acks=all); the metadata
        (partition, offset) of each."""
        try:
            producer = await self._started()
            async with asyncio.timeout(self.timeout_seconds):
                sent = [
                    await producer.send(topic, value=r.value, key=r.key, headers=r.headers or None)
                    for r in records
                ]
                return list(await asyncio.gather(*sent))
        except (KafkaError, TimeoutError) as error:
            raise BrokerUnavailable(f"the broker did not take the records: {error!r}") from error

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                # No idempotent producer: a retried send may duplicate a record, and ingest
                # drops the duplicate by its event_id (Tansu has no InitProducerId either).
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    acks="all",
                    request_timeout_ms=int(self.timeout_seconds * 1000),
                )
                try:
                    async with asyncio.timeout(self.timeout_seconds):
                        await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer
