"""The api's Kafka producer: catalogue writes it accepts on behalf of the pipeline (ingest stays
the only door to the event store), and the alerts the alerting process relays."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError


class PublishError(RuntimeError):
    """The broker did not take the records."""


@dataclass(frozen=True, slots=True)
class Record:
    key: bytes | None
    value: bytes | None  # None: a tombstone (a dead letter replayed as it came)
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class Publisher:
    """Started on first use, so that the read endpoints never depend on the broker."""

    def __init__(self, bootstrap_servers: str, timeout_seconds: float = 15) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.timeout_seconds = timeout_seconds
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def publish(self, topic: str, records: Sequence[Record]) -> list[Any]:
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
            raise PublishError(f"the broker did not take the records: {error!r}") from error

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
