"""An event produced to Kafka by a plain client becomes visible through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.kafka import ensure_topics
from tests.support import harness
from tests.support.factories import dossier_event, received, unit_event


@pytest.mark.slow
async def test_event_on_kafka_is_visible_in_unit_detail(db_url: str, broker: str, topics) -> None:
    now = datetime.now(UTC)
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    await harness.produce(
        broker,
        topics.catalog,
        [
            unit_event("SO-TP", "Sở Tư pháp", "DEPARTMENT", now - timedelta(days=30)),
            unit_event("SO-NV", "Sở Nội vụ", "DEPARTMENT", now - timedelta(days=30)),
        ],
    )
    async with (
        harness.running(harness.ingest(db_url, broker, topics)),
        harness.running(harness.scoring(db_url, broker, topics)),
        harness.api_client(db_url, broker, topics) as client,
    ):
        await harness.produce(
            broker,
            topics.dossier,
            [
                received("D1", now - timedelta(hours=2), synced_to_national_portal=True),
                received(
                    "D2", now - timedelta(hours=1), unit_code="SO-NV", due_in=timedelta(minutes=30)
                ),
            ],
        )

        async def counted() -> dict | None:
            response = await client.get("/units/SO-TP", params={"period": "week"})
            if response.status_code != 200:
                return None  # the catalogue event is not scored yet
            body = response.json()
            ontime = next(i for i in body["indicators"] if i["id"] == "2.1")
            return body if ontime["denominator"] == 1 else None

        body = await harness.eventually(counted)
        sync = next(i for i in body["indicators"] if i["id"] == "1.4")
        assert (sync["numerator"], sync["denominator"], sync["rate"], sync["points"]) == (
            1,
            1,
            100.0,
            6.0,
        )
        assert body["unit"] == {"code": "SO-TP", "name": "Sở Tư pháp", "level": "DEPARTMENT"}

        rankings = (
            await client.get("/rankings", params={"level": "department", "period": "week"})
        ).json()
        assert [item["unit"]["code"] for item in rankings["items"]] == ["SO-TP", "SO-NV"]
        assert rankings["items"][0]["rank"] == 1
        assert set(rankings["items"][0]["groups"]) == {
            "CKMB",
            "TDGQ",
            "CLGQ",
            "TTTT",
            "MDHL",
            "MDSH",
        }

        # SO-NV's dossier is past its due date and still in progress.
        overdue = (await client.get("/units/SO-NV/overdue")).json()
        assert [item["dossier_code"] for item in overdue["items"]] == ["D2"]
        assert overdue["items"][0]["outcome"] == "IN_PROGRESS_OVERDUE"
        assert overdue["items"][0]["overdue_by"] >= 29 * 60

        province = (await client.get("/units/19", params={"period": "week"})).json()
        pooled = next(i for i in province["indicators"] if i["id"] == "2.1")
        assert (pooled["numerator"], pooled["denominator"]) == (1, 2)


@pytest.mark.slow
async def test_poll_with_etag_gets_304_until_numbers_change(
    db_url: str, broker: str, topics
) -> None:
    now = datetime.now(UTC)
    async with (
        harness.running(harness.ingest(db_url, broker, topics)),
        harness.running(harness.scoring(db_url, broker, topics)),
        harness.api_client(db_url, broker, topics) as client,
    ):
        await harness.produce(
            broker, topics.catalog, [unit_event("SO-TP", "Sở Tư pháp", "DEPARTMENT", now)]
        )
        await harness.produce(broker, topics.dossier, [received("D1", now - timedelta(hours=1))])

        async def scored() -> httpx.Response | None:
            response = await client.get("/rankings", params={"period": "week"})
            return (
                response
                if response.json()["items"] and response.json()["items"][0]["total"] > 0
                else None
            )

        first = await harness.eventually(scored)
        etag = first.headers["etag"]
        again = await client.get(
            "/rankings", params={"period": "week"}, headers={"If-None-Match": etag}
        )
        assert again.status_code == 304
        assert again.content == b""

        await harness.produce(
            broker, topics.dossier, [dossier_event("D1", "COMPLETED", now, e_result_issued=True)]
        )

        async def changed() -> httpx.Response | None:
            response = await client.get(
                "/rankings", params={"period": "week"}, headers={"If-None-Match": etag}
            )
            return response if response.status_code == 200 else None

        updated = await harness.eventually(changed)
        assert updated.headers["etag"] != etag
