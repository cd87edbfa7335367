"""What ingest tells Prometheus: records by outcome, batch time, retries and consumer lag."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.ingest.service import BatchReport
from shared.operations import Health


class IngestMetrics:
    def __init__(self, health: Health) -> None:
        self.health = health
        self.registry = CollectorRegistry()
        self.records = Counter(
            "chiso766_ingest_records",
            "Records read from the broker, by what became of them",
            ["outcome"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "chiso766_ingest_batch_seconds",
            "Time to store one batch and its offsets",
            registry=self.registry,
        )
        self.retries = Counter(
            "chiso766_ingest_batch_retries",
            "Batches given back to the broker after a database or broker failure",
            registry=self.registry,
        )
        self.lag = Gauge(
            "chiso766_kafka_consumer_lag",
            "Records on the broker past this consumer's position",
            ["topic", "partition"],
            registry=self.registry,
        )

    def batch(self, report: BatchReport, seconds: float) -> None:
        self.records.labels("stored").inc(report.stored)
        self.records.labels("duplicate").inc(report.duplicates)
        self.records.labels("dead_lettered").inc(len(report.dead_letters))
        self.batch_seconds.observe(seconds)
        self.health.succeeded()

    def retry(self, error: BaseException) -> None:
        self.retries.inc()
        self.health.failed(f"{type(error).__name__}: {error}"[:300])

    async def observe_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue  # nothing fetched from this partition yet
            position = await consumer.position(tp)
            self.lag.labels(tp.topic, str(tp.partition)).set(max(highwater - position, 0))
