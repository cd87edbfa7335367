"""The catalogue on `catalog.events`: procedures, publications and units turn into the catalogue's
indicators, with the period's procedure activity from the dossiers, and `verify` stays clean."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from services.scoring.settings import ScoringSettings
from services.scoring.verify import verify
from shared.clock import ManualClock
from shared.kafka import ensure_topics
from tests.support import harness
from tests.support.factories import procedure_event, publication_event, received, unit_event
from tests.support.store import count, step_until_idle, store

# Friday 20/11/2026, 10:00 in Hà Nội.
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
EARLIER = NOW - 30 * DAY
NO_TOPICS = SimpleNamespace(dossier="d", catalog="c", dead_letter="x")


def _catalogue(at: datetime = EARLIER) -> list[dict]:
    return [
        unit_event("SO-A", "Sở A", "DEPARTMENT", at, parent_code=harness.PROVINCE),
        unit_event("XA-A", "Xã A", "COMMUNE", at, e_certified_copy=True),
        unit_event("XA-B", "Xã B", "COMMUNE", at, e_certified_copy=False),
        procedure_event(
            "PA", at, unit_codes=["SO-A"], online_service="FULL", has_fee=True, for_individuals=True
        ),
        procedure_event("PB", at, unit_codes=["SO-A"], has_fee=True),
        procedure_event("PX", at, levels=["COMMUNE"], online_service="PARTIAL"),
        # On time, public on time and complete; then late for 1.1 and not yet public.
        publication_event(
            "PA", at, date(2026, 11, 2), date(2026, 11, 16), published_at=date(2026, 11, 5),
            components_complete=True,
        ),
        publication_event("PB", at, date(2026, 11, 10), date(2026, 11, 12)),
    ]  # fmt: skip


def _indicators(body: dict) -> dict[str, tuple[int, int, float]]:
    return {i["id"]: (i["numerator"], i["denominator"], i["points"]) for i in body["indicators"]}


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await store(
        db_url,
        [
            *_catalogue(),
            # PA: online and paid online; PB: at the desk, fee data but no online payment.
            received(
                "D1", NOW - 2 * DAY, unit_code="SO-A", procedure_code="PA",
                fee_required=True, paid_online=True,
            ),
            received(
                "D2", NOW - 2 * DAY, unit_code="SO-A", procedure_code="PB", channel="DIRECT",
                fee_required=True, paid_online=False,
            ),
            received("D3", NOW - DAY, unit_code="XA-A", procedure_code="PX"),
        ],
    )  # fmt: skip
    clock = ManualClock(NOW)
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        yield api


async def test_catalogue_indicators_come_from_the_catalogue_and_the_periods_activity(
    client: httpx.AsyncClient,
) -> None:
    department = _indicators((await client.get("/units/SO-A", params={"period": "month"})).json())
    assert department["3.1"] == (1, 2, 1.25)  # PA online of PA, PB: min(2, 2 × 0.5 / 0.8)
    assert department["3.2"] == (1, 1, 4.0)  # PA had an online dossier
    assert department["3.5"] == (2, 2, 2.0)  # both fee-bearing procedures carried fee data
    assert department["3.5b"] == (1, 2, 1.25)  # only PA was paid online
    assert department["4.5a"] == (0, 1, 0.0)  # PA is for individuals; no population data used
    # Provincial acts, inherited by every unit: 1.1 PA on time, PB late.
    assert department["1.1"] == (1, 2, 3.0)
    assert department["1.2"] == (1, 2, 2.0)  # PB's 5 days ran out on 17/11
    assert department["1.3"] == (1, 1, 2.0)
    assert department["4.6"] == (1, 2, 1.0)
    commune = _indicators((await client.get("/units/XA-A", params={"period": "month"})).json())
    assert commune["3.1"] == (1, 1, 2.0)
    assert commune["1.1"] == department["1.1"]
    province = _indicators((await client.get("/units/19", params={"period": "month"})).json())
    # Pooled: SO-A 1/2, XA-A 1/1, XA-B 1/1.
    assert province["3.1"][:2] == (3, 4)
    assert province["3.2"][:2] == (2, 3)  # XA-B had no online dossier of PX


async def test_the_catalogue_audit_explains_each_member(client: httpx.AsyncClient) -> None:
    detail = (await client.get("/units/SO-A", params={"period": "2026-11"})).json()
    link = next(i["catalogue"] for i in detail["indicators"] if i["id"] == "1.1")
    assert link == "/units/SO-A/indicators/1.1/catalogue?period=2026-11"
    page = (await client.get(link)).json()
    assert [(m["code"], m["in_numerator"]) for m in page["items"]] == [("PA", True), ("PB", False)]
    assert "due by 2026-11-05" in page["items"][1]["reason"]
    numerator = (await client.get(link, params={"part": "numerator"})).json()
    assert numerator["total"] == 1
    pooled = (await client.get("/units/19/indicators/3.2/catalogue")).json()
    assert [(m["unit_code"], m["code"], m["in_numerator"]) for m in pooled["items"]] == [
        ("SO-A", "PA", True),
        ("XA-A", "PX", True),
        ("XA-B", "PX", False),
    ]
    wrong = await client.get("/units/SO-A/indicators/2.1/catalogue")
    assert wrong.status_code == 422
    assert "not counted from the catalogue" in wrong.json()["detail"]
    assert (await client.get("/units/SO-A/indicators/9.9/catalogue")).status_code == 404


async def test_a_catalogue_change_changes_the_etag_and_the_scores(
    db_url: str, client: httpx.AsyncClient
) -> None:
    first = await client.get("/units/SO-A", params={"period": "month"})
    etag = first.headers["etag"]
    # PB goes online; an older event saying otherwise arrives after it and loses.
    await store(
        db_url,
        [
            procedure_event(
                "PB", NOW - DAY, unit_codes=["SO-A"], online_service="FULL", has_fee=True
            ),
            procedure_event("PB", NOW - 2 * DAY, unit_codes=["SO-A"], has_fee=True),
        ],
    )
    await step_until_idle(db_url, ManualClock(NOW))
    again = await client.get(
        "/units/SO-A", params={"period": "month"}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 200
    assert _indicators(again.json())["3.1"] == (2, 2, 2.0)
    assert _indicators(again.json())["3.2"] == (1, 2, 2.0)


async def test_verify_is_clean_with_the_catalogue_and_activity(db_url: str, client) -> None:
    assert await verify(ScoringSettings(database_url=db_url, province_code=harness.PROVINCE)) == []


@pytest.mark.slow
async def test_catalogue_events_on_kafka_reach_the_api(db_url: str, broker: str, topics) -> None:
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    now = datetime.now(UTC)
    async with (
        harness.running(harness.ingest(db_url, broker, topics)),
        harness.running(harness.scoring(db_url, broker, topics)),
        harness.api_client(db_url, broker, topics) as client,
    ):
        await harness.produce(broker, topics.catalog, _catalogue(now - DAY))

        async def catalogued() -> dict | None:
            response = await client.get("/units/SO-A", params={"period": "month"})
            if response.status_code != 200:
                return None
            indicators = _indicators(response.json())
            return indicators if indicators["3.1"][1] == 2 else None

        indicators = await harness.eventually(catalogued)
        assert indicators["3.1"][:2] == (1, 2)
        assert indicators["4.6"][:2] == (1, 2)


async def test_the_catalogue_says_whether_a_paper_result_is_required_when_the_dossier_does_not(
    db_url: str,
) -> None:
    clock = ManualClock(NOW)
    settings = ScoringSettings(database_url=db_url, province_code=harness.PROVINCE)
    # Dossiers first, saying nothing of a paper result: assumed required, so 4.1 counts them.
    await store(
        db_url,
        [
            unit_event("SO-A", "Sở A", "DEPARTMENT", EARLIER),
            received("P1", NOW - DAY, unit_code="SO-A", procedure_code="PQ"),
            received("P2", NOW - DAY, unit_code="SO-A", procedure_code="PQ"),
            received(
                "P3", NOW - DAY, unit_code="SO-A", procedure_code="PQ", paper_result_required=True
            ),
        ],
    )
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-A", "2026-11", "4.1") == (0, 3)
    # Then the catalogue: PQ gives no paper result. The dossier's own word still wins.
    await store(db_url, [procedure_event("PQ", NOW - DAY, paper_result_required=False)])
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-A", "2026-11", "4.1") == (0, 1)
    assert await count(db_url, harness.PROVINCE, "2026-11", "4.1") == (0, 1)
    assert await verify(settings) == []
    # The catalogue changes its mind.
    await store(db_url, [procedure_event("PQ", NOW, paper_result_required=True)])
    await step_until_idle(db_url, clock)
    assert await count(db_url, "SO-A", "2026-11", "4.1") == (0, 3)
    assert await verify(settings) == []
