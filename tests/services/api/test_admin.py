"""Catalogue writes through the api: API keys with scopes, all-or-nothing validation, and the
events reaching the scores through Kafka and ingest like any other catalogue event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import pytest

from services.api import keys
from services.api.auth import Scope
from shared.kafka import ensure_topics
from tests.support import harness
from tests.support.factories import procedure_event, unit_event

NOW = datetime.now(UTC)


@pytest.mark.slow
async def test_catalogue_writes_need_a_key_with_the_scope_and_reach_the_scores(
    db_url: str, broker: str, topics
) -> None:
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    writer = await keys.create(db_url, "csdl-tthc", [Scope.CATALOGUE_WRITE])
    reader = await keys.create(db_url, "dashboard", [])
    revoked = await keys.create(db_url, "old", [Scope.CATALOGUE_WRITE])
    assert await keys.revoke(db_url, revoked.split("_")[1])
    events = [
        unit_event("SO-A", "Sở A", "DEPARTMENT", NOW - timedelta(days=1)),
        procedure_event("PA", NOW - timedelta(days=1), unit_codes=["SO-A"], online_service="FULL"),
    ]
    async with (
        harness.running(harness.ingest(db_url, broker, topics)),
        harness.running(harness.scoring(db_url, broker, topics)),
        harness.api_client(db_url, broker, topics) as client,
    ):
        refused = {
            "no key": await client.post("/admin/catalogue", json=events),
            "garbage": await client.post(
                "/admin/catalogue", json=events, headers={"X-API-Key": "let-me-in"}
            ),
            "wrong secret": await client.post(
                "/admin/catalogue", json=events, headers={"X-API-Key": writer[:-3] + "xyz"}
            ),
            "revoked": await client.post(
                "/admin/catalogue", json=events, headers={"X-API-Key": revoked}
            ),
        }
        assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 401)
        lacking = await client.post("/admin/catalogue", json=events, headers={"X-API-Key": reader})
        assert lacking.status_code == 403
        assert "catalogue:write" in lacking.json()["detail"]

        # One bad event refuses the whole request, naming it; nothing is sent.
        bad = [*events, {**events[1], "event_id": "bad-1", "online_service": "SOMETIMES"}]
        invalid = await client.post("/admin/catalogue", json=bad, headers={"X-API-Key": writer})
        assert invalid.status_code == 422
        detail = invalid.json()["detail"]
        assert detail["errors"][0]["index"] == 2
        assert "online_service" in detail["errors"][0]["reason"]

        accepted = await client.post("/admin/catalogue", json=events, headers={"X-API-Key": writer})
        assert accepted.status_code == 202, accepted.text
        assert accepted.json() == {"accepted": 2, "topic": topics.catalog}

        async def catalogued() -> dict | None:
            response = await client.get("/units/SO-A")
            if response.status_code != 200:
                return None
            online = next(i for i in response.json()["indicators"] if i["id"] == "3.1")
            return online if online["denominator"] == 1 else None

        online = await harness.eventually(catalogued)
        assert (online["numerator"], online["denominator"]) == (1, 1)

    connection = await asyncpg.connect(db_url)
    try:
        stored = await connection.fetchval(
            "SELECT count(*) FROM events WHERE source_topic = $1", topics.catalog
        )
        assert stored == 2  # the refused request sent nothing
        # Only digests are kept: no column holds the secret.
        rows = await connection.fetch("SELECT * FROM api_keys")
        secret = writer.split("_", 2)[2]
        assert all(secret not in str(dict(row)) for row in rows)
    finally:
        await connection.close()


async def test_a_catalogue_write_with_no_broker_gets_a_503_with_a_message(db_url: str) -> None:
    writer = await keys.create(db_url, "csdl-tthc", [Scope.CATALOGUE_WRITE])
    nowhere = SimpleNamespace(dossier="d", catalog="c", dead_letter="x")
    async with harness.api_client(
        db_url, "127.0.0.1:9", nowhere, api_publish_timeout_seconds=2
    ) as client:
        response = await client.post(
            "/admin/catalogue",
            json=[unit_event("SO-A", "Sở A", "DEPARTMENT", NOW)],
            headers={"X-API-Key": writer},
        )
        assert response.status_code == 503
        assert "the broker did not take the records" in response.json()["detail"]


async def test_a_catalogue_event_that_cannot_be_encoded_is_refused_not_a_500(
    db_url: str, broker: str, topics
) -> None:
    writer = await keys.create(db_url, "csdl-tthc", [Scope.CATALOGUE_WRITE])
    async with harness.api_client(db_url, broker, topics) as client:
        # A lone surrogate is valid JSON text but no UTF-8 string (found by schemathesis).
        response = await client.post(
            "/admin/catalogue",
            content=b'[{"name": "\\ud800"}]',
            headers={"X-API-Key": writer, "Content-Type": "application/json"},
        )
    assert response.status_code == 422
    assert "not encodable" in response.json()["detail"]["errors"][0]["reason"]
