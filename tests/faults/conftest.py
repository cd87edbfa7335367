from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.devstack.stack import free_port
from tests.faults.cluster import Cluster
from tests.integration import harness


def service_env(db_url: str, broker: str, topics: Any) -> dict[str, str]:
    """What every service process of one test reads: its own topics, group and port."""
    return {
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker,
        "PROVINCE_CODE": harness.PROVINCE,
        "TOPIC_DOSSIER_EVENTS": topics.dossier,
        "TOPIC_CATALOG_EVENTS": topics.catalog,
        "TOPIC_FEEDBACK_EVENTS": topics.feedback,
        "TOPIC_DEAD_LETTER": topics.dead_letter,
        "TOPIC_ALERTS": f"alerts.{topics.dossier}",
        # Kafka keeps consumer groups across tests: each test its own.
        "INGEST_CONSUMER_GROUP": f"ingest-{uuid.uuid4().hex[:8]}",
        # Small batches, so that kills land in the middle of the work.
        "INGEST_MAX_BATCH_RECORDS": "200",
        "SCORING_BATCH_SIZE": "500",
        "SCORING_IDLE_POLL_SECONDS": "0.05",
        "ALERT_WATCH_SECONDS": "1",
        "ALERT_RELAY_POLL_SECONDS": "0.05",
        "API_PORT": str(free_port()),
        "API_RATE_LIMIT": "",
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "true",
    }


@pytest.fixture
def cluster(db_url: str, broker: str, topics: Any, tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(service_env(db_url, broker, topics), tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop_all()
