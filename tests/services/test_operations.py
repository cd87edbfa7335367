"""Liveness, readiness and Prometheus metrics of every service, against the real pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.devstack.stack import free_port
from shared.kafka import ensure_topics
from tests.support import harness
from tests.support.factories import received


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, frozenset(labels.items()))]


@pytest.mark.slow
async def test_every_service_reports_liveness_readiness_and_metrics(
    db_url: str, broker: str, topics
) -> None:
    now = datetime.now(UTC)
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    ingest_port, scoring_port = free_port(), free_port()
    events = [received(f"D{i}", now - timedelta(hours=2)) for i in range(5)]
    async with (
        harness.running(harness.ingest(db_url, broker, topics, ops_port=ingest_port)),
        harness.running(harness.scoring(db_url, broker, topics, ops_port=scoring_port)),
        harness.api_client(db_url, broker, topics) as api,
        httpx.AsyncClient() as http,
    ):
        await harness.produce(broker, topics.dossier, [*events, b"{not json"])

        async def scored() -> str | None:
            text = (await api.get("/metrics")).text
            stored = samples(text).get(
                (
                    "chiso766_pipeline_records_total",
                    frozenset({("topic", topics.dossier), ("outcome", "stored")}),
                )
            )
            caught_up = value(text, "chiso766_scoring_lag_events") == 0
            return text if stored == 5 and caught_up else None

        await harness.eventually(scored, within=30)
        await api.get("/rankings", params={"period": "week"})
        text = (await api.get("/metrics")).text

        assert value(text, "chiso766_dead_letters") == 1
        assert value(text, "chiso766_scoring_freshness_seconds") == 0
        dead = ("chiso766_pipeline_records_total", {"topic": topics.dossier})
        assert value(text, dead[0], **dead[1], outcome="dead_lettered") == 1
        # Latency by route template, not by raw path.
        assert (
            value(
                text,
                "chiso766_api_http_request_duration_seconds_count",
                handler="/rankings",
                method="GET",
            )
            >= 1
        )
        assert (await api.get("/livez")).json() == {"alive": True}
        assert (await api.get("/readyz")).json() == {"ready": True, "reason": "ok"}

        for port in (ingest_port, scoring_port):
            base = f"http://127.0.0.1:{port}"
            assert (await http.get(f"{base}/livez")).status_code == 200
            assert (await http.get(f"{base}/readyz")).json() == {"ready": True, "reason": "ok"}
        ingest_metrics = (await http.get(f"http://127.0.0.1:{ingest_port}/metrics")).text
        assert value(ingest_metrics, "chiso766_ingest_records_total", outcome="stored") == 5
        assert (
            value(
                ingest_metrics, "chiso766_kafka_consumer_lag", topic=topics.dossier, partition="0"
            )
            == 0
        )
        scoring_metrics = (await http.get(f"http://127.0.0.1:{scoring_port}/metrics")).text
        assert value(scoring_metrics, "chiso766_scoring_events_total") == 5


async def test_readiness_fails_without_the_database_while_liveness_holds(
    broker: str, topics
) -> None:
    # Port 1 of loopback: nothing listens, so every connection is refused at once.
    unreachable = "postgresql://postgres@127.0.0.1:1/nothing"
    async with harness.api_client(unreachable, broker, topics) as api:
        assert (await api.get("/livez")).status_code == 200
        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["ready"] is False
        # A read during an outage is a 503 that says to retry, never a 500.
        rankings = await api.get("/rankings", params={"period": "week"})
        assert rankings.status_code == 503
        assert rankings.headers["Retry-After"] == "5"
