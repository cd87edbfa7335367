"""The api's guards: CORS allow-list, body size limit, rate limit, and reads keyed by config."""

from __future__ import annotations

from collections.abc import AsyncIterator

from services.api import keys
from services.api.auth import Scope
from tests.support import harness

PORTAL = "https://dichvucong.thainguyen.gov.vn"


async def test_cors_allows_listed_portals_only(db_url: str, broker: str, topics) -> None:
    async with harness.api_client(db_url, broker, topics, api_cors_origins=(PORTAL,)) as client:
        preflight = {"Access-Control-Request-Method": "GET"}
        allowed = await client.options("/rankings", headers={"Origin": PORTAL, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == PORTAL
        foreign = await client.options(
            "/rankings", headers={"Origin": "https://evil.example", **preflight}
        )
        assert foreign.status_code == 400
        assert "access-control-allow-origin" not in foreign.headers
        read = await client.get("/livez", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in read.headers
        read = await client.get("/livez", headers={"Origin": PORTAL})
        assert read.headers["access-control-allow-origin"] == PORTAL


async def test_a_refusal_reaches_a_listed_portal_with_its_cors_headers(
    db_url: str, broker: str, topics
) -> None:
    async with harness.api_client(
        db_url, broker, topics, api_cors_origins=(PORTAL,), api_rate_limit="1/minute"
    ) as client:
        assert (await client.get("/methodology", headers={"Origin": PORTAL})).status_code == 200
        limited = await client.get("/methodology", headers={"Origin": PORTAL})
        assert limited.status_code == 429
        assert limited.headers["access-control-allow-origin"] == PORTAL


async def test_a_nul_character_in_a_parameter_is_a_422_not_a_500(
    db_url: str, broker: str, topics
) -> None:
    operator = await keys.create(db_url, "ops", [Scope.DEAD_LETTERS])
    async with harness.api_client(db_url, broker, topics) as client:
        # Refused by the parameter's pattern, where it has one...
        assert (await client.get("/alerts", params={"unit": "SO\x00TP"})).status_code == 422
        # ...looked up in memory and not found...
        assert (await client.get("/units/SO%00TP")).status_code == 404
        # ...and by the database error's handler everywhere else (found by schemathesis).
        response = await client.get(
            "/admin/dead-letters", params={"reason": "a\x00b"}, headers={"X-API-Key": operator}
        )
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]


async def test_bodies_over_the_limit_are_refused_announced_or_streamed(
    db_url: str, broker: str, topics
) -> None:
    async with harness.api_client(db_url, broker, topics, api_max_body_bytes=1000) as client:
        announced = await client.post("/admin/catalogue", content=b"[" + b" " * 2000 + b"]")
        assert announced.status_code == 413
        assert "1000 bytes" in announced.json()["detail"]

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(5):
                yield b" " * 400  # no Content-Length: sent chunked

        streamed = await client.post("/admin/catalogue", content=chunks())
        assert streamed.status_code == 413
        # Under the limit, the request reaches the route (which wants a key).
        small = await client.post("/admin/catalogue", json=[{}])
        assert small.status_code == 401


async def test_clients_past_the_rate_limit_get_429_with_retry_after(
    db_url: str, broker: str, topics
) -> None:
    async with harness.api_client(db_url, broker, topics, api_rate_limit="5/minute") as client:
        answered = [(await client.get("/methodology")).status_code for _ in range(5)]
        assert answered == [200] * 5
        limited = await client.get("/rankings")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert "5 per 1 minute" in limited.json()["detail"]
        # Probes are never limited: an orchestrator must not see a busy replica as dead.
        assert (await client.get("/livez")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200


async def test_reads_need_a_read_key_when_configured(db_url: str, broker: str, topics) -> None:
    reader = await keys.create(db_url, "ioc-dashboard", [Scope.READ])
    writer = await keys.create(db_url, "csdl-tthc", [Scope.CATALOGUE_WRITE])
    async with harness.api_client(db_url, broker, topics, api_read_key_required=True) as client:
        assert (await client.get("/methodology")).status_code == 401
        assert (await client.get("/alerts")).status_code == 401
        lacking = await client.get("/methodology", headers={"X-API-Key": writer})
        assert lacking.status_code == 403
        assert "'read'" in lacking.json()["detail"]
        assert (await client.get("/methodology", headers={"X-API-Key": reader})).status_code == 200
        assert (await client.get("/alerts", headers={"X-API-Key": reader})).status_code == 200
        assert (await client.get("/livez")).status_code == 200
    async with harness.api_client(db_url, broker, topics) as client:
        assert (await client.get("/methodology")).status_code == 200  # public by default


async def test_ids_beyond_a_bigint_are_a_422_not_a_500(db_url: str, broker: str, topics) -> None:
    huge = 2**64
    async with harness.api_client(db_url, broker, topics) as client:
        assert (await client.get("/alerts", params={"before": huge})).status_code == 422
        assert (await client.get("/alerts/stream", params={"after": huge})).status_code == 422
