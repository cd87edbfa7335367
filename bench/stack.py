"""What the benches share: databases on the local PostgreSQL, a broker, and how they report."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import uuid
from collections.abc import Iterator

from services.devstack.stack import LOCAL_POSTGRES, reachable, tansu_broker
from tests.support.infra import database_url, execute_admin, migrate

ADMIN_URL = LOCAL_POSTGRES


def require_postgres() -> None:
    if not reachable(ADMIN_URL):
        raise SystemExit(f"bench needs PostgreSQL at {ADMIN_URL} (user postgres, trust)")


@contextlib.contextmanager
def scratch_database(
    prefix: str, *, migrated: bool = True, template: str | None = None
) -> Iterator[str]:
    """A new database on the local PostgreSQL, dropped after; yields its URL.

    `template`: a copy of that database (which nobody may be connected to), not migrated again."""
    name = f"chiso766_{prefix}_{uuid.uuid4().hex[:8]}"
    create = f'CREATE DATABASE "{name}"'
    if template:
        # A file copy: much faster than the WAL-logged default for a database of some size.
        create += f' TEMPLATE "{template}" STRATEGY FILE_COPY'
    asyncio.run(execute_admin(ADMIN_URL, create))
    try:
        url = database_url(ADMIN_URL, name)
        if migrated and not template:
            migrate(url)
        yield url
    finally:
        asyncio.run(execute_admin(ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


@contextlib.contextmanager
def fresh_stack(prefix: str) -> Iterator[tuple[str, str]]:
    """(database URL, broker address): a new migrated database and a Tansu broker."""
    with scratch_database(prefix) as url, tansu_broker() as broker:
        yield url, broker


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms"
    )
