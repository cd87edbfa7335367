"""The real parts tests run against: a PostgreSQL server and a Tansu (Kafka-protocol) broker.

PostgreSQL: `TEST_DATABASE_URL`, else the local server on 127.0.0.1:5432, else an embedded one.
Each test gets its own database, cloned from a migrated template.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from services.devstack.stack import LOCAL_POSTGRES, embedded_postgres, reachable

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """An admin URL of a PostgreSQL server for the whole test session."""
    url = os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGRES
    if reachable(url):
        yield url
        return
    with (
        tempfile.TemporaryDirectory(prefix="chiso766-pg-") as folder,
        embedded_postgres(Path(folder) / "data", keep=False) as embedded_url,
    ):
        yield embedded_url


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def execute_admin(admin_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
