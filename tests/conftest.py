from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.devstack.stack import free_port, tansu_broker
from tests.support import harness
from tests.support.cluster import Cluster
from tests.support.infra import (
    database_url,
    execute_admin,
    migrate,
    postgres_server,
    redis_server,
)

# A test that asks for one of these needs PostgreSQL or the broker.
INTEGRATION_FIXTURES = frozenset(
    {
        "db_url",
        "other_db",
        "broker",
        "postgres_admin_url",
        "template_database",
        "cluster",
        "redis_url",
    }
)
# Hypothesis and schemathesis over the real parts: long, and lengthened further by `make soak`.
FUZZ_FILES = frozenset({"test_events_fuzz.py", "test_bad_input.py", "test_openapi_fuzz.py"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test gets one of the markers `make test-fast` selects by: faults (the services as
    processes under failure), fuzz, integration (real PostgreSQL or broker), or unit."""
    for item in items:
        if "faults" in item.path.parts:
            item.add_marker(pytest.mark.faults)
        elif item.path.name in FUZZ_FILES:
            item.add_marker(pytest.mark.fuzz)
        elif INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def template_database(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database that every test clones (fast, and no test sees another's rows)."""
    name = f"chiso766_template_{uuid.uuid4().hex[:8]}"
    asyncio.run(execute_admin(postgres_admin_url, f'CREATE DATABASE "{name}"'))
    migrate(database_url(postgres_admin_url, name))
    yield name
    asyncio.run(execute_admin(postgres_admin_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
async def db_url(postgres_admin_url: str, template_database: str) -> AsyncIterator[str]:
    name = f"chiso766_test_{uuid.uuid4().hex[:12]}"
    await execute_admin(
        postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'
    )
    yield database_url(postgres_admin_url, name)
    await execute_admin(postgres_admin_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    with tansu_broker() as address:
        yield address


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The machine's Redis, else one started for the session (the rate limit's shared windows)."""
    with redis_server() as url:
        yield url


@dataclass(frozen=True)
class Topics:
    dossier: str
    catalog: str
    dead_letter: str
    feedback: str


@pytest.fixture
def topics() -> Topics:
    """Topic names of this test alone, so tests sharing the broker never meet."""
    suffix = uuid.uuid4().hex[:10]
    return Topics(
        f"dossier.events.{suffix}",
        f"catalog.events.{suffix}",
        f"dlq.{suffix}",
        f"feedback.events.{suffix}",
    )


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
        "ALERTING_WATCH_SECONDS": "1",
        "ALERTING_RELAY_POLL_SECONDS": "0.05",
        # The tests' webhook receivers listen on loopback.
        "WEBHOOK_ALLOWED_TARGETS": '["127.0.0.1"]',
        "API_PORT": str(free_port()),
        "API_RATE_LIMIT": "",
        # A test compares what a page or a client was served with what the api says right
        # after: no previous answer while a new one renders (the harness's default too).
        "API_FRONT_STALE_SECONDS": "0",
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
