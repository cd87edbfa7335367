from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from services.devstack.stack import tansu_broker
from tests.infra import database_url, execute_admin, migrate, postgres_server


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
