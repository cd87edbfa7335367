"""Against the real api and alerting: a webhook URL inside the network is refused when made (and
nothing of the request is kept), and again at every delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.alerting.main import serve as serve_alerting
from services.api import keys
from services.api.auth import Scope
from tests.services.alerting.test_alerts import alerting_settings, made_up, record
from tests.support import harness
from tests.support.http import Receiver, serving


@pytest.fixture
async def strict_api(db_url: str, broker: str, topics: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An api with no webhook target allowed beyond the public internet."""
    async with harness.api_client(db_url, broker, topics, webhook_allowed_targets=()) as client:
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost:9000/hook",
        "http://10.0.0.8/hook",
        "http://[fe80::1]/hook",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_a_subscription_inside_the_network_is_refused(
    db_url: str, strict_api: httpx.AsyncClient, url: str
) -> None:
    key = await keys.create(db_url, "ioc", [Scope.WEBHOOKS])
    response = await strict_api.post("/webhooks", json={"url": url}, headers={"X-API-Key": key})
    assert response.status_code == 422, response.text
    assert "inside the network" in response.json()["detail"]
    listed = await strict_api.get("/webhooks", headers={"X-API-Key": key})
    assert listed.json() == []  # the refusal rolled back: nothing kept


async def test_a_target_allowed_when_subscribed_is_checked_again_at_delivery(
    db_url: str, broker: str, topics: Any
) -> None:
    """The api allowed loopback when the subscription was made; alerting does not any more."""
    key = await keys.create(db_url, "ioc", [Scope.WEBHOOKS])
    receiver = Receiver()
    settings = alerting_settings(
        db_url, broker, topics, webhook_allowed_targets=(), alerting_webhook_max_attempts=2
    )
    async with (
        serving(receiver.app()) as receiver_url,
        harness.api_client(db_url, broker, topics) as api,
    ):
        made = await api.post(
            "/webhooks", json={"url": f"{receiver_url}/hook"}, headers={"X-API-Key": key}
        )
        assert made.status_code == 201
        hook = made.json()["webhook_id"]
        await record(db_url, [made_up(1)])
        async with harness.running(lambda stop: serve_alerting(settings, stop)):

            async def failed() -> list[dict[str, Any]] | None:
                page = await api.get(
                    f"/webhooks/{hook}/deliveries",
                    params={"status": "failed"},
                    headers={"X-API-Key": key},
                )
                return page.json()["items"] or None

            [delivery] = await harness.eventually(failed, within=30)
    assert receiver.received == []  # never sent
    assert all("not sent" in entry["error"] for entry in delivery["log"])
    assert "loopback" in delivery["log"][0]["error"]


async def test_a_failed_request_leaves_no_write_behind(
    db_url: str, strict_api: httpx.AsyncClient
) -> None:
    """The request's transaction: a refused subscription, after the key check's read, commits
    nothing; a made one is there once the response has come."""
    key = await keys.create(db_url, "ioc", [Scope.WEBHOOKS])
    public = "https://203.113.131.10/hook"
    made = await strict_api.post("/webhooks", json={"url": public}, headers={"X-API-Key": key})
    assert made.status_code == 201
    connection = await asyncpg.connect(db_url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM webhooks") == 1
    finally:
        await connection.close()
