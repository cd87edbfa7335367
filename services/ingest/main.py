"""ingest: wiring. `python -m services.ingest` runs it until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.ingest.consumer import IngestConsumer, SeekToStoredOffsets
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from shared.clock import Clock, SystemClock
from shared.db import create_engine, create_sessionmaker
from shared.events import TopicKind
from shared.kafka import ensure_topics
from shared.logging import configure_logging
from shared.ops import Health, serving_ops
from shared.signals import stop_on_signals

log = structlog.get_logger()


async def serve(settings: IngestSettings, stop: asyncio.Event, clock: Clock | None = None) -> None:
    """Run the consumer until `stop` is set, then close everything it opened."""
    contracts: dict[str, TopicKind] = {
        settings.topic_dossier_events: "dossier",
        settings.topic_catalog_events: "catalog",
        settings.topic_feedback_events: "feedback",
    }
    topics = list(contracts)
    await ensure_topics(settings.kafka_bootstrap_servers, [*topics, settings.topic_dead_letter])
    engine = create_engine(settings.database_url, application_name="chiso766-ingest")
    sessions = create_sessionmaker(engine)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.ingest_consumer_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    consumer.subscribe(
        topics, listener=SeekToStoredOffsets(consumer, sessions, settings.ingest_consumer_group)
    )
    service = IngestService(clock or SystemClock(), settings.ingest_consumer_group, contracts)
    metrics = IngestMetrics(Health(settings.ops_stall_seconds))
    await producer.start()
    await consumer.start()
    metrics.health.succeeded()  # in the group: ready, until a batch fails
    try:
        log.info("ingest.started", topics=topics, group=settings.ingest_consumer_group)
        async with serving_ops(settings, metrics.health, metrics.registry):
            await IngestConsumer(
                consumer,
                producer,
                sessions,
                service,
                settings.topic_dead_letter,
                settings.ingest_max_batch_records,
                settings.ingest_poll_timeout_ms,
                metrics,
            ).run(stop)
    finally:
        await consumer.stop()
        await producer.stop()
        await engine.dispose()
        log.info("ingest.stopped")


async def main() -> None:
    settings = IngestSettings()
    configure_logging(settings.log_level, json=settings.log_json, service="ingest")
    await serve(settings, stop_on_signals())


def run() -> None:
    asyncio.run(main())
