"""The real parts tests run against: a PostgreSQL server, a Tansu (Kafka-protocol) broker, and
Redis (the rate limit's shared windows).

PostgreSQL: `TEST_DATABASE_URL`, else the local server on 127.0.0.1:5432, else an embedded one.
Each test gets its own database, cloned from a migrated template.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from services.devstack.stack import (
    LOCAL_POSTGRES,
    LOCAL_REDIS,
    embedded_postgres,
    free_port,
    reachable,
    redis_answers,
)

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


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """`TEST_REDIS_URL`, else the local Redis on 127.0.0.1:6379, else a `redis-server` of our
    own on a free port, keeping nothing on disk."""
    url = os.environ.get("TEST_REDIS_URL") or LOCAL_REDIS
    if redis_answers(url):
        yield url
        return
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while not redis_answers(url):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start (apt-get install redis-server)")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def execute_admin(admin_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def alembic_config(url: str) -> Config:
    """The project's Alembic configuration, aimed at database `url`, leaving logging alone."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")
