"""Fixtures of the scoring tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.support.infra import database_url, execute_admin


@pytest.fixture
async def second_db_url(postgres_admin_url: str, template_database: str) -> AsyncIterator[str]:
    """A second database, for a run to compare with the one in `db_url`."""
    name = f"chiso766_test_{uuid.uuid4().hex[:12]}"
    await execute_admin(
        postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'
    )
    yield database_url(postgres_admin_url, name)
    await execute_admin(postgres_admin_url, f'DROP DATABASE "{name}" WITH (FORCE)')
