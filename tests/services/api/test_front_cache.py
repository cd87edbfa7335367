"""Public reads answered in front of the framework: the same bytes and headers the route gives,
and never once scoring has moved, the day has turned, or the api has stopped listening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import event

from shared.clock import ManualClock
from tests.services.alerting.test_alerts import made_up, record
from tests.support import harness
from tests.support.factories import received, unit_event
from tests.support.store import step_until_idle, store

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
NO_TOPICS = type("T", (), {"dossier": "d", "catalog": "c", "dead_letter": "x"})()
WEEK = {"period": "week"}


def answered(api: harness.ApiClient) -> float:
    """How many requests the front cache has answered."""
    return float(api.app.state.front_answers._value.get())


def same_answer(one: httpx.Response, other: httpx.Response) -> bool:
    fields = ("etag", "cache-control", "vary", "content-type", "content-encoding")
    return (
        one.status_code == other.status_code
        and one.content == other.content
        and all(one.headers.get(f) == other.headers.get(f) for f in fields)
    )


async def seeded(db_url: str, clock: ManualClock) -> None:
    await store(
        db_url,
        [
            unit_event("SO-A", "Sở A", "DEPARTMENT", NOW - timedelta(days=9)),
            received("D1", NOW - timedelta(hours=3), unit_code="SO-A"),
        ],
    )
    await step_until_idle(db_url, clock)


async def test_a_repeated_poll_gets_the_routes_answer_from_the_front(db_url: str) -> None:
    clock = ManualClock(NOW)
    await seeded(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        await api.heard_scoring()
        for path, params in (("/units/SO-A", WEEK), ("/rankings", {"level": "department"})):
            first = await api.get(path, params=params)
            assert first.status_code == 200
            before = answered(api)
            again = await api.get(path, params=params)
            assert answered(api) == before + 1
            assert same_answer(first, again)
            held = await api.get(
                path, params=params, headers={"If-None-Match": first.headers["etag"]}
            )
            assert held.status_code == 304
            assert held.headers["etag"] == first.headers["etag"]
            assert answered(api) == before + 2
            # One entry serves both encodings, each as the route would have.
            plain = await api.get(path, params=params, headers={"Accept-Encoding": "identity"})
            assert plain.headers.get("content-encoding") is None
            assert plain.json() == first.json()
        # Another query is another answer, rendered by the route.
        before = answered(api)
        month = await api.get("/units/SO-A", params={"period": "month"})
        assert month.status_code == 200
        assert answered(api) == before


async def test_nothing_kept_outlives_a_step_a_day_or_the_listener(db_url: str) -> None:
    clock = ManualClock(NOW)
    await seeded(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        await api.heard_scoring()
        first = await api.get("/units/SO-A", params=WEEK)
        tag = first.headers["etag"]

        # Scoring commits: the next poll is the route's, with the new numbers.
        await store(db_url, [received("D2", NOW - timedelta(hours=1), unit_code="SO-A")])
        clock.advance(timedelta(minutes=1))
        await step_until_idle(db_url, clock)
        await api.heard_scoring()
        before = answered(api)
        moved = await api.get("/units/SO-A", params=WEEK, headers={"If-None-Match": tag})
        assert moved.status_code == 200
        assert moved.headers["etag"] != tag
        assert answered(api) == before
        ontime = next(i for i in moved.json()["indicators"] if i["id"] == "2.1")
        assert ontime["denominator"] == 2

        # The local day turns with nothing heard: the day is in the tag, the route answers.
        tag = moved.headers["etag"]
        await api.get("/units/SO-A", params=WEEK)
        clock.advance(timedelta(days=1))
        before = answered(api)
        next_day = await api.get("/units/SO-A", params=WEEK, headers={"If-None-Match": tag})
        assert answered(api) == before
        assert next_day.headers["etag"] != tag

        # Deaf: every poll goes to the route (which asks the database) until it listens again.
        await api.get("/units/SO-A", params=WEEK)
        await api.deafen()
        before = answered(api)
        for _ in range(3):
            deaf_answer = await api.get("/units/SO-A", params=WEEK)
            assert deaf_answer.status_code == 200
        assert answered(api) == before

        # Listening again, nothing changed: a wall whose every poll holds the tag gets its first
        # 304 from the route, which hands the front the tag's bytes, and the next from the front.
        async def listening() -> bool:
            return bool(api.app.state.live.fresh)

        await harness.eventually(listening, within=20)
        held = {"If-None-Match": deaf_answer.headers["etag"]}
        before = answered(api)
        first = await api.get("/units/SO-A", params=WEEK, headers=held)
        assert first.status_code == 304
        assert answered(api) == before
        second = await api.get("/units/SO-A", params=WEEK, headers=held)
        assert second.status_code == 304
        assert answered(api) == before + 1


async def test_reads_behind_a_key_never_come_from_the_front(
    db_url: str, broker: str, topics: object
) -> None:
    async with harness.api_client(db_url, broker, topics, api_read_key_required=True) as api:
        assert getattr(api.app.state, "front", None) is None
        for _ in range(2):
            assert (await api.get("/rankings")).status_code == 401


async def test_the_alert_history_is_conditional_on_the_newest_alert_heard(db_url: str) -> None:
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS) as api:
        tail = api.app.state.alert_tail

        async def listening() -> bool:
            return bool(tail.listening)

        await harness.eventually(listening, within=10)
        await record(db_url, [made_up(1), made_up(2, unit="SO-B")])
        await harness.eventually(lambda: _beyond(tail, 1), within=10)
        first = await api.get("/alerts", params={"unit": "SO-A"})
        assert [a["alert_id"] for a in first.json()["items"]] == [made_up(1).alert_id]
        tag = first.headers["etag"]

        statements: list[str] = []
        engine = api.app.state.sessions.kw["bind"]
        event.listen(
            engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2])
        )
        held = await api.get("/alerts", params={"unit": "SO-A"}, headers={"If-None-Match": tag})
        assert held.status_code == 304
        assert statements == []

        # A new alert, of another unit: the tag moves for every page, the page is read again.
        await record(db_url, [made_up(3)])
        await harness.eventually(lambda: _beyond(tail, 2), within=10)
        moved = await api.get("/alerts", params={"unit": "SO-A"}, headers={"If-None-Match": tag})
        assert moved.status_code == 200
        assert moved.headers["etag"] != tag
        assert [a["alert_id"] for a in moved.json()["items"]] == [
            made_up(3).alert_id,
            made_up(1).alert_id,
        ]


async def _beyond(tail: object, seq: int) -> bool:
    return int(getattr(tail, "top", 0)) > seq
