"""What scoring tells Prometheus: events applied, step time, retries, and when it last succeeded."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.scoring.repository import Share
from services.scoring.service import StepReport
from shared.operations import Health


class ScoringMetrics:
    def __init__(self, health: Health) -> None:
        self.health = health
        self.registry = CollectorRegistry()
        self.events = Counter(
            "chiso766_scoring_events",
            "Stored events applied to the counts",
            registry=self.registry,
        )
        self.dossiers = Counter(
            "chiso766_scoring_dossiers_evaluated",
            "Dossier and feedback states re-evaluated (events and due times)",
            registry=self.registry,
        )
        self.step_seconds = Histogram(
            "chiso766_scoring_step_seconds",
            "Time of one scoring transaction that did some work",
            registry=self.registry,
        )
        self.retries = Counter(
            "chiso766_scoring_retries",
            "Steps rolled back by a database failure and tried again",
            registry=self.registry,
        )
        self.last_success = Gauge(
            "chiso766_scoring_last_success_timestamp_seconds",
            "When a step last committed, idle or not (Unix time)",
            registry=self.registry,
        )

        self.partitions = Gauge(
            "chiso766_scoring_partitions_owned",
            "Partitions of the dossiers and feedback this instance scores",
            registry=self.registry,
        )

    def owned(self, share: Share) -> None:
        self.partitions.set(len(share.partitions))

    def step(self, report: StepReport, seconds: float) -> None:
        self.health.succeeded()
        self.last_success.set(time.time())
        if not report.idle:
            self.events.inc(report.events)
            self.dossiers.inc(report.dossiers)
            self.step_seconds.observe(seconds)

    def retry(self, error: BaseException) -> None:
        self.retries.inc()
        self.health.failed(f"{type(error).__name__}: {error}"[:300])
