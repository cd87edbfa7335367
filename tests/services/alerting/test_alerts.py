"""Alerts end to end: found once per fact, published to Kafka once, delivered to signed webhooks
with retries, streamed over SSE with resume, and the score watcher's falls."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from httpx_sse import aconnect_sse

from services.alerting.main import serve as serve_alerting
from services.alerting.relay import Relay
from services.alerting.settings import AlertingSettings
from services.alerting.watch import Thresholds, Watcher
from services.api import keys
from services.api.auth import Scope
from services.api.main import create_app
from services.api.settings import ApiSettings
from shared import alerts
from shared.alerts import Alert, AlertKind, DossierDetails, Level
from shared.alerts import repository as recorded
from shared.clock import ManualClock, SystemClock
from shared.db import create_engine, create_sessionmaker
from shared.kafka import Publisher, ensure_topics
from shared.methodology import load_methodology
from shared.periods import Calendar, PeriodKind
from shared.scores.board import CatalogueCache, ScoreBoard
from shared.workdays import WorkingCalendar
from tests.support import harness
from tests.support.factories import dossier_event, received, unit_event
from tests.support.http import Receiver, serving
from tests.support.store import step_until_idle, store

# Thursday 19/11/2026 10:00 in Hà Nội.
NOW = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def alert_rows(db_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetch("SELECT seq, alert_id, kind, body FROM alerts ORDER BY seq")
    finally:
        await connection.close()


def made_up(index: int, unit: str = "SO-A", level: Level = Level.CRITICAL) -> Alert:
    due = NOW - timedelta(minutes=1000 - index)
    return Alert(
        alert_id=f"dossier_overdue:T{index}:{alerts.stamp(due)}",
        kind=AlertKind.DOSSIER_OVERDUE,
        level=level,
        unit_code=unit,
        period=None,
        occurred_at=due,
        recorded_at=NOW,
        message=f"Hồ sơ T{index} đã quá hạn",
        details=DossierDetails(
            dossier_code=f"T{index}",
            procedure_code="1.001",
            received_at=due - DAY,
            due_at=due,
            status="PROCESSING",
        ),
    )


async def record(db_url: str, items: list[Alert]) -> int:
    engine = create_engine(db_url, application_name="test")
    try:
        async with create_sessionmaker(engine).begin() as session:
            return await recorded.record(session, items)
    finally:
        await engine.dispose()


# --- found once per fact ------------------------------------------------------------------------


async def test_scoring_records_each_overdue_and_due_soon_dossier_once(db_url: str) -> None:
    clock = ManualClock(NOW)
    await store(
        db_url,
        [
            # Due Friday at noon: 9 working hours away (office hours 07:30-11:30, 13:30-17:00).
            received("SOON", NOW - 2 * DAY, unit_code="SO-A", due_in=3 * DAY + 2 * HOUR),
            # Past its due time an hour ago, still in progress.
            received("LATE", NOW - 3 * DAY, unit_code="SO-A", due_in=3 * DAY - HOUR),
            # Finished after its due time, within the last day.
            received("DONE", NOW - 3 * DAY, unit_code="SO-B", due_in=2 * DAY + HOUR),
            dossier_event("DONE", "COMPLETED", NOW - 2 * HOUR, unit_code="SO-B"),
            # Overdue for a week: history, not news.
            received("OLD", NOW - 20 * DAY, unit_code="SO-B", due_in=13 * DAY),
        ],
    )
    await step_until_idle(db_url, clock)
    rows = await alert_rows(db_url)
    assert sorted(r["alert_id"].split(":")[:2] for r in rows) == [
        ["dossier_overdue", "DONE"],
        ["dossier_overdue", "LATE"],
    ]
    late = next(r for r in rows if ":LATE:" in r["alert_id"])
    body = orjson.loads(late["body"])
    assert body["schema"] == "chiso766.alert/1"
    assert body["level"] == "critical"
    assert body["unit_code"] == "SO-A"
    assert body["details"]["due_at"] == (NOW - HOUR).isoformat().replace("+00:00", "Z")

    # Time passes with no event: at noon SOON is 7.5 working hours from its due time.
    clock.advance(2 * HOUR)
    await step_until_idle(db_url, clock)
    soon = [r for r in await alert_rows(db_url) if r["kind"] == "dossier_due_soon"]
    assert [r["alert_id"].split(":")[1] for r in soon] == ["SOON"]

    # Evaluating everything again, by a fresh scorer with nothing in memory, adds nothing; and
    # when SOON's due time passes it is overdue: a new fact, one new alert.
    before = len(await alert_rows(db_url))
    await step_until_idle(db_url, clock)
    assert len(await alert_rows(db_url)) == before
    clock.advance(DAY + HOUR)
    await step_until_idle(db_url, clock)
    kinds = sorted(
        r["alert_id"].split(":")[0] + ":" + r["alert_id"].split(":")[1]
        for r in await alert_rows(db_url)
    )
    assert kinds == [
        "dossier_due_soon:SOON",
        "dossier_overdue:DONE",
        "dossier_overdue:LATE",
        "dossier_overdue:SOON",
    ]


async def test_two_scoring_instances_record_each_fact_once(db_url: str) -> None:
    clock = ManualClock(NOW)
    await store(
        db_url,
        [
            received(f"L{i}", NOW - 3 * DAY, unit_code=f"SO-{i % 3}", due_in=3 * DAY - HOUR)
            for i in range(60)
        ],
    )
    await asyncio.gather(step_until_idle(db_url, clock), step_until_idle(db_url, clock))
    ids = [r["alert_id"] for r in await alert_rows(db_url)]
    assert len(ids) == len(set(ids)) == 60


# --- Kafka ---------------------------------------------------------------------------------------


async def consume_all(broker: str, topic: str, expected: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + 20
        while len(records) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(batch)
        # Anything beyond the expected would be a duplicate: give it a moment to show.
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_relay_publishes_each_alert_once_in_order_even_after_a_crash_between_ack_and_commit(
    db_url: str, broker: str, topics: Any
) -> None:
    topic = f"alerts.{topics.dossier}"
    await record(db_url, [made_up(i, unit=f"SO-{i % 3}") for i in range(30)])
    engine = create_engine(db_url, application_name="test")
    sessions = create_sessionmaker(engine)
    crashed = Relay(Publisher(broker, timedelta(seconds=15)), topic, SystemClock(), batch_size=20)
    session = sessions()
    transaction = await session.begin()
    assert await crashed.publish(session) == 20
    await transaction.rollback()  # killed after the broker acked, before the commit
    await session.close()
    await crashed.publisher.close()

    relay = Relay(Publisher(broker, timedelta(seconds=15)), topic, SystemClock(), batch_size=20)
    sent = []
    for _ in range(3):
        async with sessions.begin() as session:
            sent.append(await relay.publish(session))
    await relay.publisher.close()
    await engine.dispose()
    assert sent == [0, 10, 0]  # the first 20 were found on the topic, not sent again

    records = await consume_all(broker, topic, 30)
    seqs = [orjson.loads(r.value)["seq"] for r in records]
    assert sorted(seqs) == list(range(1, 31))
    for r in records:
        body = orjson.loads(r.value)
        assert r.key.decode() == body["unit_code"]
        assert dict(r.headers)["alert_id"].decode() == body["alert_id"]
        Alert.model_validate(body)
    by_partition: dict[int, list[int]] = {}
    for r in records:
        by_partition.setdefault(r.partition, []).append(orjson.loads(r.value)["seq"])
    assert all(s == sorted(s) for s in by_partition.values())


# --- webhooks -------------------------------------------------------------------------------------


def alerting_settings(db_url: str, broker: str, topics: Any, **overrides: Any) -> AlertingSettings:
    fast = {
        "topic_alerts": f"alerts.{topics.dossier}",
        "alerting_webhook_poll_seconds": 0.05,
        "alerting_webhook_first_retry_seconds": 0.1,
        "alerting_webhook_max_attempts": 3,
        "alerting_watch_seconds": 0.2,
        # The receivers of these tests listen on loopback.
        "webhook_allowed_targets": ("127.0.0.1",),
    }
    return AlertingSettings(**harness.common(db_url, broker, topics), **{**fast, **overrides})


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's side of the contract, written from docs/alerts.md."""
    timestamp = headers["x-c766-timestamp"]
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(headers["x-c766-signature"], "v1=" + mac.hexdigest())


@pytest.fixture
async def api(db_url: str, broker: str, topics: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.api_client(db_url, broker, topics) as client:
        yield client


async def test_webhooks_are_signed_retried_with_backoff_and_given_up_visibly(
    db_url: str, broker: str, topics: Any, api: httpx.AsyncClient
) -> None:
    key = await keys.create(db_url, "ioc", [Scope.WEBHOOKS])
    flaky = Receiver(statuses=lambda attempt: 503 if attempt < 2 else 200)
    down = Receiver(statuses=lambda _: 500)
    async with serving(flaky.app()) as flaky_url, serving(down.app()) as down_url:
        headers = {"X-API-Key": key}
        created = await api.post("/webhooks", json={"url": f"{flaky_url}/hook"}, headers=headers)
        assert created.status_code == 201, created.text
        flaky_hook = created.json()
        down_hook = (
            await api.post(
                "/webhooks",
                json={"url": f"{down_url}/hook", "units": ["SO-B"], "min_level": "critical"},
                headers=headers,
            )
        ).json()
        await record(
            db_url,
            [made_up(1, "SO-A"), made_up(2, "SO-B"), made_up(3, "SO-B", level=Level.WARNING)],
        )
        settings = alerting_settings(db_url, broker, topics)
        async with harness.running(lambda stop: serve_alerting(settings, stop)):

            async def settled() -> dict[str, Any] | None:
                pages = {
                    hook["webhook_id"]: (
                        await api.get(f"/webhooks/{hook['webhook_id']}/deliveries", headers=headers)
                    ).json()["items"]
                    for hook in (flaky_hook, down_hook)
                }
                done = all(
                    d["status"] in {"delivered", "failed"} for page in pages.values() for d in page
                )
                return pages if done and len(pages[flaky_hook["webhook_id"]]) == 3 else None

            pages = await harness.eventually(settled)

    # The flaky receiver: two 503s, then every alert delivered, each signed with its secret.
    flaky_log = pages[flaky_hook["webhook_id"]]
    assert {d["status"] for d in flaky_log} == {"delivered"}
    assert sorted(d["attempts"] for d in flaky_log) == [1, 1, 3] or sorted(
        d["attempts"] for d in flaky_log
    ) == [1, 2, 2]
    delivered = {r.headers["x-c766-alert-id"] for r in flaky.received}
    assert delivered == {made_up(i).alert_id for i in (1, 2, 3)}
    assert all(verified(flaky_hook["secret"], r.headers, r.body) for r in flaky.received)
    assert not verified("whsec_wrong", flaky.received[0].headers, flaky.received[0].body)
    retried = next(d for d in flaky_log if d["attempts"] > 1)
    assert [a.get("status_code") for a in retried["log"]][-1] == 200
    gaps = [
        (datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"])).total_seconds()
        for a, b in zip(retried["log"], retried["log"][1:], strict=False)
    ]
    assert all(gap >= 0.1 for gap in gaps)
    # The filtered subscription got only SO-B's critical alert, and gave up after 3 attempts.
    [failed] = pages[down_hook["webhook_id"]]
    assert failed["alert_id"] == made_up(2).alert_id
    assert failed["status"] == "failed"
    assert [a["status_code"] for a in failed["log"]] == [500, 500, 500]
    assert len(down.received) == 3
    listing = (await api.get("/webhooks", headers=headers)).json()
    assert {w["webhook_id"]: w["failed"] for w in listing}[down_hook["webhook_id"]] == 1
    again = await api.post(f"/webhooks/{down_hook['webhook_id']}/deliveries/retry", headers=headers)
    assert again.json() == {"requeued": 1}


async def test_webhook_endpoints_need_a_key_with_the_scope_and_keep_to_its_own(
    db_url: str, api: httpx.AsyncClient
) -> None:
    mine = {"X-API-Key": await keys.create(db_url, "ioc", [Scope.WEBHOOKS])}
    other = {"X-API-Key": await keys.create(db_url, "sms", [Scope.WEBHOOKS])}
    catalogue_only = {"X-API-Key": await keys.create(db_url, "cat", [Scope.CATALOGUE_WRITE])}
    body = {"url": "https://ioc.example.vn/hook"}
    assert (await api.post("/webhooks", json=body)).status_code == 401
    assert (await api.post("/webhooks", json=body, headers=catalogue_only)).status_code == 403
    bad = await api.post("/webhooks", json={"url": "ftp://x"}, headers=mine)
    assert bad.status_code == 422
    bad_kind = await api.post("/webhooks", json={**body, "kinds": ["nope"]}, headers=mine)
    assert bad_kind.status_code == 422
    hook = (await api.post("/webhooks", json=body, headers=mine)).json()
    assert hook["secret"].startswith("whsec_")
    path = f"/webhooks/{hook['webhook_id']}"
    assert (await api.get(path, headers=other)).status_code == 404
    assert (await api.delete(path, headers=other)).status_code == 404
    assert (await api.get("/webhooks", headers=other)).json() == []
    listed = (await api.get("/webhooks", headers=mine)).json()
    assert [w["webhook_id"] for w in listed] == [hook["webhook_id"]]
    assert "secret" not in listed[0]
    assert (await api.delete(path, headers=mine)).status_code == 204
    assert (await api.get(path, headers=mine)).status_code == 404


# --- SSE and history ------------------------------------------------------------------------------


async def read_events(
    client: httpx.AsyncClient, url: str, count: int, **kwargs: Any
) -> list[tuple[str, dict[str, Any]]]:
    events = []
    async with asyncio.timeout(15), aconnect_sse(client, "GET", url, **kwargs) as source:
        async for event in source.aiter_sse():
            if event.data:
                events.append((event.id, orjson.loads(event.data)))
            if len(events) == count:
                break
    return events


async def test_sse_streams_filtered_alerts_and_resumes_after_last_event_id(
    db_url: str, broker: str, topics: Any
) -> None:
    await record(db_url, [made_up(i, unit="SO-A" if i % 2 else "SO-B") for i in range(1, 7)])
    app = create_app(ApiSettings(**harness.common(db_url, broker, topics), api_rate_limit=""))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=20) as client:
        url = "/alerts/stream"
        first = await read_events(client, url, 2, params={"after": 0, "unit": "SO-A"})
        assert [body["details"]["dossier_code"] for _, body in first] == ["T1", "T3"]
        assert all(body["unit_code"] == "SO-A" for _, body in first)
        # Disconnected after T3; meanwhile more alerts are recorded.
        await record(db_url, [made_up(i, unit="SO-A") for i in range(7, 9)])
        resumed = await read_events(
            client, url, 3, params={"unit": "SO-A"}, headers={"Last-Event-ID": first[-1][0]}
        )
        assert [body["details"]["dossier_code"] for _, body in resumed] == ["T5", "T7", "T8"]
        assert [int(seq) for seq, _ in resumed] == sorted(int(seq) for seq, _ in resumed)

        # Live: a client waiting for new alerts gets one as soon as it is recorded.
        async def later() -> None:
            await asyncio.sleep(0.5)
            await record(db_url, [made_up(9, unit="SO-A")])

        recorder = asyncio.create_task(later())
        live = await read_events(client, url, 1, params={"unit": "SO-A"})
        await recorder
        assert live[0][1]["details"]["dossier_code"] == "T9"

        bad = await client.get(url, headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 422
        history = (await client.get("/alerts", params={"limit": 4, "unit": "SO-A"})).json()
        assert [a["details"]["dossier_code"] for a in history["items"]] == ["T9", "T8", "T7", "T5"]
        older = await client.get(
            "/alerts", params={"limit": 4, "unit": "SO-A", "before": history["next_before"]}
        )
        assert [a["details"]["dossier_code"] for a in older.json()["items"]] == ["T3", "T1"]


# --- the watcher ---------------------------------------------------------------------------------


async def test_watcher_raises_a_fall_of_score_rank_and_target_once(db_url: str) -> None:
    clock = ManualClock(NOW)
    units = [unit_event(f"SO-{c}", f"Sở {c}", "DEPARTMENT", NOW - 30 * DAY) for c in "ABCDEFG"]
    on_time = []
    for c in "ABCDEFG":
        for i in range(4):
            code = f"{c}{i}"
            on_time.append(received(code, NOW - 2 * DAY, unit_code=f"SO-{c}", due_in=3 * DAY))
            on_time.append(dossier_event(code, "COMPLETED", NOW - DAY, unit_code=f"SO-{c}"))
    await store(db_url, units + on_time)
    await step_until_idle(db_url, clock)

    engine = create_engine(db_url, application_name="test")
    sessions = create_sessionmaker(engine)
    board = ScoreBoard(
        load_methodology(), Calendar(), CatalogueCache(WorkingCalendar()), harness.PROVINCE, 8
    )
    watcher = Watcher(
        board,
        [PeriodKind.WEEK],
        Thresholds(
            score_drop_points=2,
            group_drop_points=1,
            rank_drop_places=3,
            targets={"2.1": 99.9},
            min_dossiers=4,
            dead_letter_window=timedelta(minutes=10),
            dead_letter_count=20,
        ),
        harness.PROVINCE,
    )

    async def check() -> list[str]:
        async with sessions.begin() as session:
            assert await watcher.check(session, clock.now()) is not None
        return [r["alert_id"] for r in await alert_rows(db_url)]

    assert await check() == []  # everyone on time: the baselines are set, nothing fell

    # SO-A's dossiers come in late: on time falls below 99.9 %, TDGQ and the total fall.
    late = [received(f"AL{i}", NOW - 4 * DAY, unit_code="SO-A", due_in=DAY) for i in range(4)]
    late += [dossier_event(f"AL{i}", "COMPLETED", NOW - HOUR, unit_code="SO-A") for i in range(4)]
    await store(db_url, late)
    await step_until_idle(db_url, clock)
    raised = await check()
    assert sorted(raised) == [
        "indicator_below_target:2026-W47:SO-A:2.1:1",
        "rank_drop:2026-W47:SO-A:1",
        # 5.4 counts an overdue dossier as not satisfied: satisfaction falls too.
        "score_drop:2026-W47:SO-A:group:MDHL:1",
        "score_drop:2026-W47:SO-A:group:TDGQ:1",
        "score_drop:2026-W47:SO-A:total:1",
    ]
    assert await check() == raised  # looked at again: the same facts, nothing new
    bodies = {r["alert_id"]: orjson.loads(r["body"]) for r in await alert_rows(db_url)}
    total = bodies["score_drop:2026-W47:SO-A:total:1"]
    assert total["details"]["before"] - total["details"]["after"] >= 2
    target = bodies["indicator_below_target:2026-W47:SO-A:2.1:1"]["details"]
    assert (target["numerator"], target["denominator"]) == (4, 8)
    await engine.dispose()


@pytest.mark.slow
async def test_dead_letters_growing_raise_one_alert(db_url: str, broker: str, topics: Any) -> None:
    await ensure_topics(broker, [topics.dossier, topics.catalog, topics.dead_letter])
    await harness.produce(broker, topics.dossier, [b"not json", b"{}", b'{"event_id": 1}'])
    async with harness.running(harness.ingest(db_url, broker, topics)):

        async def dead_lettered() -> bool:
            connection = await asyncpg.connect(db_url)
            try:
                return await connection.fetchval("SELECT count(*) FROM dead_letters") == 3
            finally:
                await connection.close()

        await harness.eventually(dead_lettered)
    settings = alerting_settings(db_url, broker, topics, alerting_dead_letter_count=3)
    async with harness.running(lambda stop: serve_alerting(settings, stop)):
        rows = await harness.eventually(
            lambda: _alerts_of_kind(db_url, "dead_letters_growing"), within=10
        )
        await asyncio.sleep(0.6)  # a few more looks: still one alert
    rows = await _alerts_of_kind(db_url, "dead_letters_growing")
    assert [r["alert_id"] for r in rows] == [f"dead_letters_growing:{topics.dossier}:1"]
    details = orjson.loads(rows[0]["body"])["details"]
    assert details["count"] == 3


async def _alerts_of_kind(db_url: str, kind: str) -> list[asyncpg.Record]:
    return [r for r in await alert_rows(db_url) if r["kind"] == kind]
