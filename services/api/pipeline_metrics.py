"""The pipeline as Prometheus sees it, read from PostgreSQL when `/metrics` is scraped.

These numbers belong to the whole deployment, not to one process: how many records each topic
offered and where they went (rate() of it is events per second), the dead letters kept, scoring's
backlog and its freshness. Any api replica answers the same. Per-process figures (Kafka consumer
lag, step times) come from each background service's own `/metrics` (`OPS_PORT`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from services.api import repository
from shared.scores import repository as scores_repository


@dataclass(frozen=True, slots=True)
class PipelineSnapshot:
    # topic -> outcome -> records
    records: dict[str, dict[str, int]] = field(default_factory=dict)
    dead_letters: int = 0
    scoring_lag_events: int = 0
    # Age of the oldest stored event scoring has not applied yet (0 when it has caught up).
    freshness_seconds: float = 0.0
    scoring_as_of: datetime | None = None


async def read_snapshot(session: AsyncSession, now: datetime) -> PipelineSnapshot:
    position = await scores_repository.progress(session)
    last_seq = position.last_seq if position else 0
    oldest_unscored = await repository.oldest_stored_after(session, last_seq)
    return PipelineSnapshot(
        records={
            c.topic: {
                "stored": c.stored,
                "dead_lettered": c.dead_lettered,
                "duplicate": c.duplicates,
            }
            for c in await repository.ingest_counts(session)
        },
        dead_letters=await repository.dead_letter_count(session),
        scoring_lag_events=await repository.events_after(session, last_seq),
        freshness_seconds=(
            max((now - oldest_unscored).total_seconds(), 0.0) if oldest_unscored else 0.0
        ),
        scoring_as_of=position.as_of if position else None,
    )


class PipelineCollector(Collector):
    """Exposes the latest snapshot; the `/metrics` route refreshes it before each scrape."""

    def __init__(self) -> None:
        self.snapshot = PipelineSnapshot()

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        records = CounterMetricFamily(
            "chiso766_pipeline_records",
            "Records offered on each topic, by what ingest made of them (all ingest instances)",
            labels=["topic", "outcome"],
        )
        for topic, outcomes in sorted(snapshot.records.items()):
            for outcome, count in outcomes.items():
                records.add_metric([topic, outcome], count)
        yield records
        yield GaugeMetricFamily(
            "chiso766_dead_letters", "Refused records kept in PostgreSQL", snapshot.dead_letters
        )
        yield GaugeMetricFamily(
            "chiso766_scoring_lag_events",
            "Stored events scoring has not applied yet",
            snapshot.scoring_lag_events,
        )
        yield GaugeMetricFamily(
            "chiso766_scoring_freshness_seconds",
            "Age of the oldest stored event not yet scored (0 when scoring has caught up)",
            snapshot.freshness_seconds,
        )
        if snapshot.scoring_as_of is not None:
            yield GaugeMetricFamily(
                "chiso766_scoring_as_of_timestamp_seconds",
                "The instant the published counts stand at (Unix time)",
                snapshot.scoring_as_of.timestamp(),
            )
