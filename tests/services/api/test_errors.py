"""Errors become HTTP answers in one place: the project's own by their class, a bug as a 500
(never a client's 4xx)."""

from __future__ import annotations

from typing import Any

import httpx

from services.api.main import create_app
from services.api.settings import ApiSettings
from shared.errors import NotFound, TargetRefused
from tests.support import harness


async def test_a_bug_is_a_500_not_a_422(db_url: str, broker: str, topics: Any) -> None:
    app = create_app(ApiSettings(**harness.common(db_url, broker, topics), api_rate_limit=""))

    @app.get("/_bug")
    async def bug() -> None:
        raise ValueError("a rule went wrong")

    @app.get("/_missing")
    async def missing() -> None:
        raise NotFound("no such thing")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            assert (await client.get("/_bug")).status_code == 500
            missing_response = await client.get("/_missing")
    assert missing_response.status_code == 404
    assert missing_response.json() == {"detail": "no such thing"}


async def test_a_structured_detail_reaches_the_client(
    db_url: str, broker: str, topics: Any
) -> None:
    app = create_app(ApiSettings(**harness.common(db_url, broker, topics), api_rate_limit=""))

    @app.get("/_refused")
    async def refused() -> None:
        raise TargetRefused("10.0.0.1 is a private address")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            response = await client.get("/_refused")
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "10.0.0.1 is a private address"},
    )
