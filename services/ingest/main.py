"""ingest: wiring. `python -m services.ingest` runs it until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.ingest.consumer import IngestConsumer, SeekToStoredOffsets
from services.ingest.metrics import IngestMetrics
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from shared.clock import Clock, SystemClock
from shared.db import create_engine, create_sessionmaker
from shared.errors import is_retryable
from shared.events import TopicKind
from shared.kafka import ensure_topics
from shared.operations import Health, serving_ops
from shared.signals import sleep_or_stop, stop_on_signals

log = structlog.get_logger()
# The wait between two tries to reach the broker at start.
START_RETRY_PAUSE = timedelta(seconds=1)


async def _topics_ready(settings: IngestSettings, topics: list[str], stop: asyncio.Event) -> bool:
    """Wait for the broker to answer and make the topics; False if stopped first. A broker away
    at start is an outage like any other: wait it out rather than exit."""
    while not stop.is_set():
        try:
            await ensure_topics(settings.kafka_bootstrap_servers, topics)
            return True
        except Exception as error:
            if not is_retryable(error):
                raise
            log.warning("ingest.broker_unavailable", error=str(error))
            await sleep_or_stop(stop, START_RETRY_PAUSE)
    return False


async def serve(settings: IngestSettings, stop: asyncio.Event, clock: Clock | None = None) -> None:
    """Run the consumer until `stop` is set, then close everything it opened."""
    contracts: dict[str, TopicKind] = {
        settings.topic_dossier_events: "dossier",
        settings.topic_catalog_events: "catalog",
        settings.topic_feedback_events: "feedback",
    }
    topics = list(contracts)
    if not await _topics_ready(settings, [*topics, settings.topic_dead_letter], stop):
        return
    service = IngestService(clock or SystemClock(), settings.ingest_consumer_group, contracts)
    metrics = IngestMetrics(Health(settings.ops_stall_seconds))
    async with contextlib.AsyncExitStack() as resources:
        engine = create_engine(settings.database_url, application_name="chiso766-ingest")
        resources.push_async_callback(engine.dispose)
        sessions = create_sessionmaker(engine)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
        # Stopped even if starting fails: a half-started client holds connections.
        resources.push_async_callback(producer.stop)
        await producer.start()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=settings.ingest_consumer_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.ingest_fetch_max_wait_ms,
        )
        consumer.subscribe(
            topics,
            listener=SeekToStoredOffsets(consumer, sessions, settings.ingest_consumer_group),
        )
        resources.push_async_callback(consumer.stop)
        await consumer.start()
        metrics.health.succeeded()  # in the group: ready, until a batch fails
        await resources.enter_async_context(serving_ops(settings, metrics.health, metrics.registry))
        log.info("ingest.started", topics=topics, group=settings.ingest_consumer_group)
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
    log.info("ingest.stopped")


async def main() -> None:
    await serve(IngestSettings.starting("ingest"), stop_on_signals())


def run() -> None:
    asyncio.run(main())
