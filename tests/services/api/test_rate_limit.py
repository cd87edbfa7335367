"""The rate limit: one window per client shared by every worker process, a quota of its own for
each keyed client, addresses that are never limited, and requests let through when the window's
storage is away."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from services.api import keys
from services.api.auth import Scope
from services.devstack.stack import free_port
from tests.support import harness
from tests.support.harness import ApiClient

NO_TOPICS = type("T", (), {"dossier": "d", "catalog": "c", "dead_letter": "x"})()


def some_address() -> str:
    """An address of this test alone: the windows in Redis outlive the test."""
    part = uuid.uuid4().bytes
    return f"10.{part[0]}.{part[1]}.{part[2]}"


@contextlib.asynccontextmanager
async def worker(db_url: str, address: str, **settings: object) -> AsyncIterator[ApiClient]:
    async with harness.api_client(
        db_url, "unused:9092", NO_TOPICS, address=address, **settings
    ) as api:
        yield api


async def status(api: ApiClient, key: str) -> int:
    return (await api.get("/methodology", headers={"X-API-Key": key})).status_code


async def test_worker_processes_count_a_client_in_one_window(db_url: str, redis_url: str) -> None:
    address = some_address()
    shared = {"api_rate_limit": "3/minute", "api_rate_limit_storage": redis_url}
    async with (
        worker(db_url, address, **shared) as first,
        worker(db_url, address, **shared) as second,
    ):
        answers = [
            (await api.get("/methodology")).status_code for api in (first, second, first, second)
        ]
        other = await second.get("/methodology", headers={"X-Forwarded-For": "ignored"})
    assert answers == [200, 200, 200, 429]
    assert other.status_code == 429


async def test_a_keyed_client_has_a_quota_of_its_own_and_a_bad_key_counts_as_none(
    db_url: str, redis_url: str
) -> None:
    wall = await keys.create(db_url, "IOC wall", [Scope.READ])
    address = some_address()
    async with worker(
        db_url, address, api_rate_limit="1/minute", api_rate_limit_storage=redis_url
    ) as api:
        assert (await api.get("/methodology")).status_code == 200
        assert (await api.get("/methodology")).status_code == 429
        # Behind the same address, the keyed screens are not limited (no quota by default).
        keyed = [
            (await api.get("/methodology", headers={"X-API-Key": wall})).status_code
            for _ in range(20)
        ]
        assert keyed == [200] * 20
        forged = wall[:-4] + "AAAA"
        assert (await api.get("/methodology", headers={"X-API-Key": forged})).status_code == 429

        # Revoked, the key is forgotten at once: its screens share the address's window again.
        await keys.revoke(db_url, wall.split("_")[1])

        async def revoked() -> bool:
            answer = await api.get("/methodology", headers={"X-API-Key": wall})
            return answer.status_code == 429

        await harness.eventually(revoked, within=10)


async def test_a_keyed_quota_when_one_is_set(db_url: str, redis_url: str) -> None:
    portal = await keys.create(db_url, "portal", [Scope.READ])
    async with worker(
        db_url,
        some_address(),
        api_rate_limit="",
        api_rate_limit_keyed="2/minute",
        api_rate_limit_storage=redis_url,
    ) as api:
        answers = [
            (await api.get("/methodology", headers={"X-API-Key": portal})).status_code
            for _ in range(3)
        ]
        anonymous = [(await api.get("/methodology")).status_code for _ in range(5)]
    assert answers == [200, 200, 429]
    assert anonymous == [200] * 5


async def test_listed_networks_are_never_limited(db_url: str) -> None:
    async with worker(
        db_url, "192.0.2.40", api_rate_limit="1/minute", api_rate_limit_exempt=("192.0.2.0/24",)
    ) as api:
        answers = [(await api.get("/methodology")).status_code for _ in range(5)]
    assert answers == [200] * 5


async def test_requests_pass_while_the_windows_storage_is_away(db_url: str) -> None:
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"
    async with worker(
        db_url, some_address(), api_rate_limit="1/minute", api_rate_limit_storage=nothing_there
    ) as api:
        answers = [(await api.get("/methodology")).status_code for _ in range(3)]
    assert answers == [200] * 3
