"""What the latency benches share: a fresh migrated database and a broker, and how they report."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import uuid
from collections.abc import Iterator

from services.devstack.stack import LOCAL_POSTGRES, tansu_broker
from tests.support.infra import database_url, execute_admin, migrate


@contextlib.contextmanager
def fresh_stack(prefix: str) -> Iterator[tuple[str, str]]:
    """(database URL, broker address): a new database on the local PostgreSQL, dropped after."""
    name = f"chiso766_{prefix}_{uuid.uuid4().hex[:8]}"
    asyncio.run(execute_admin(LOCAL_POSTGRES, f'CREATE DATABASE "{name}"'))
    try:
        url = database_url(LOCAL_POSTGRES, name)
        migrate(url)
        with tansu_broker() as broker:
            yield url, broker
    finally:
        asyncio.run(execute_admin(LOCAL_POSTGRES, f'DROP DATABASE "{name}" WITH (FORCE)'))


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms"
    )
