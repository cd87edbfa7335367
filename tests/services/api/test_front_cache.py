"""Public reads answered in front of the framework: the same bytes and headers the route gives;
once scoring has moved, the previous answer for a moment while one render per key makes the new
one, and never once the day has turned or the api has stopped listening."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from sqlalchemy import event

from shared.clock import ManualClock
from shared.versions import MovedVersion, VersionsMoved, versions_payload
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


def renders(api: harness.ApiClient) -> float:
    """How many renders the front cache has started."""
    return float(api.app.state.front_renders._value.get())


def denominator(response: httpx.Response, indicator: str = "2.1") -> int:
    return int(
        next(i for i in response.json()["indicators"] if i["id"] == indicator)["denominator"]
    )


async def moved(db_url: str, clock: ManualClock, api: harness.ApiClient, code: str) -> None:
    """Scoring commits one more dossier of SO-A, and the api has heard it."""
    await store(db_url, [received(code, NOW - timedelta(hours=1), unit_code="SO-A")])
    clock.advance(timedelta(minutes=1))
    await step_until_idle(db_url, clock)
    await api.heard_scoring()


@contextlib.asynccontextmanager
async def counts_locked(db_url: str) -> AsyncIterator[None]:
    """The counts locked against every reader: a render started meanwhile cannot finish."""
    connection = await asyncpg.connect(db_url)
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE indicator_counts IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await connection.close()


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
    # No allowance: every poll after a move waits for its key's render.
    async with harness.api_client(
        db_url, "unused:9092", NO_TOPICS, clock, api_front_stale_seconds=timedelta(0)
    ) as api:
        await api.heard_scoring()
        first = await api.get("/units/SO-A", params=WEEK)
        tag = first.headers["etag"]

        # Scoring commits: the next poll gets the new numbers, rendered once by the front.
        await moved(db_url, clock, api, "D2")
        before, rendered = answered(api), renders(api)
        now = await api.get("/units/SO-A", params=WEEK, headers={"If-None-Match": tag})
        assert now.status_code == 200
        assert now.headers["etag"] != tag
        assert denominator(now) == 2
        assert (answered(api), renders(api)) == (before + 1, rendered + 1)

        # The local day turns with nothing heard: the day is in the tag, the answer is new.
        tag = now.headers["etag"]
        clock.advance(timedelta(days=1))
        next_day = await api.get("/units/SO-A", params=WEEK, headers={"If-None-Match": tag})
        assert next_day.status_code == 200
        assert next_day.headers["etag"] != tag

        # Deaf: every poll goes to the route (which asks the database) until it listens again.
        await api.get("/units/SO-A", params=WEEK)
        await api.deafen()
        before, rendered = answered(api), renders(api)
        for _ in range(3):
            deaf_answer = await api.get("/units/SO-A", params=WEEK)
            assert deaf_answer.status_code == 200
        assert (answered(api), renders(api)) == (before, rendered)

        # Listening again, nothing changed: the first poll waits for the one render, then a
        # wall whose every poll holds the tag is answered from the front.
        async def listening() -> bool:
            return bool(api.app.state.live.fresh)

        await harness.eventually(listening, within=20)
        held = {"If-None-Match": deaf_answer.headers["etag"]}
        before, rendered = answered(api), renders(api)
        for _ in range(2):
            again = await api.get("/units/SO-A", params=WEEK, headers=held)
            assert again.status_code == 304
        assert (answered(api), renders(api)) == (before + 2, rendered + 1)


async def test_a_poll_during_the_render_gets_the_previous_answer_and_the_next_the_new_one(
    db_url: str,
) -> None:
    clock = ManualClock(NOW)
    await seeded(db_url, clock)
    # An allowance no test outlasts: what is served does not hang on the machine's speed.
    async with harness.api_client(
        db_url, "unused:9092", NO_TOPICS, clock, api_front_stale_seconds=timedelta(hours=1)
    ) as api:
        await api.heard_scoring()
        first = await api.get("/units/SO-A", params=WEEK)
        tag = first.headers["etag"]
        front = api.app.state.front

        await moved(db_url, clock, api, "D2")
        before, rendered = answered(api), renders(api)
        held = {"If-None-Match": tag}
        async with counts_locked(db_url):
            polls = [
                await api.get("/units/SO-A", params=WEEK, headers=held if i % 2 else {})
                for i in range(20)
            ]
            assert len(front._rendering) == 1  # the one render, waiting for the counts
        # Each poll gets what it got before: a 304 for the tag it holds, or the same bytes.
        assert all(p.headers["etag"] == tag for p in polls)
        assert all(p.status_code == 304 for p in polls[1::2])
        assert all(same_answer(p, first) for p in polls[0::2])
        assert answered(api) == before + 20
        await front.settled()
        assert renders(api) == rendered + 1

        now = await api.get("/units/SO-A", params=WEEK, headers=held)
        assert now.status_code == 200
        assert now.headers["etag"] != tag
        assert denominator(now) == 2
        again = await api.get("/units/SO-A", params=WEEK)
        assert same_answer(again, now)
        # One render for the version, however many polls asked.
        assert renders(api) == rendered + 1
        assert answered(api) == before + 22


async def test_a_poll_holding_another_tag_waits_for_the_render(db_url: str) -> None:
    clock = ManualClock(NOW)
    await seeded(db_url, clock)
    async with harness.api_client(
        db_url, "unused:9092", NO_TOPICS, clock, api_front_stale_seconds=timedelta(hours=1)
    ) as api:
        await api.heard_scoring()
        first = await api.get("/units/SO-A", params=WEEK)
        await moved(db_url, clock, api, "D2")
        # The new tag, as another worker process would have given it (another query's key).
        newer = await api.get("/units/SO-A", params={**WEEK, "view": "recorded"})
        assert newer.headers["etag"] != first.headers["etag"]
        for tag in (newer.headers["etag"], 'W/"a tag never given"'):
            answer = await api.get("/units/SO-A", params=WEEK, headers={"If-None-Match": tag})
            # Never the previous 200 to a client that may hold something newer.
            assert answer.headers["etag"] == newer.headers["etag"]
            assert answer.status_code == (304 if tag == newer.headers["etag"] else 200)


async def test_polls_at_once_after_a_move_make_one_render(db_url: str) -> None:
    clock = ManualClock(NOW)
    await seeded(db_url, clock)
    async with harness.api_client(
        db_url, "unused:9092", NO_TOPICS, clock, api_front_stale_seconds=timedelta(0)
    ) as api:
        await api.heard_scoring()
        for path, params in (("/units/SO-A", WEEK), ("/rankings", {"level": "department"})):
            await api.get(path, params=params)
        await moved(db_url, clock, api, "D2")
        before, rendered = answered(api), renders(api)
        polls = await asyncio.gather(
            *(api.get("/units/SO-A", params=WEEK) for _ in range(15)),
            *(api.get("/rankings", params={"level": "department"}) for _ in range(15)),
        )
        assert all(p.status_code == 200 for p in polls)
        assert {denominator(p) for p in polls[:15]} == {2}
        assert len({p.headers["etag"] for p in polls[:15]}) == 1
        # Every poll was answered by the front: the route ran once per key, in the render.
        assert (answered(api), renders(api)) == (before + 30, rendered + 2)


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


async def test_a_poll_past_the_allowance_takes_the_render_it_waited_for(db_url: str) -> None:
    clock = ManualClock(NOW)
    await seeded(db_url, clock)
    async with harness.api_client(
        db_url, "unused:9092", NO_TOPICS, clock, api_front_stale_seconds=timedelta(0)
    ) as api:
        await api.heard_scoring()
        await api.get("/units/SO-A", params=WEEK)
        await moved(db_url, clock, api, "D2")
        live = api.app.state.live
        before, rendered = answered(api), renders(api)
        async with counts_locked(db_url):
            polls = [asyncio.create_task(api.get("/units/SO-A", params=WEEK)) for _ in range(10)]
            await harness.eventually(lambda: _rendering(api), within=10)
            # Scoring moves again while the render waits: what it renders is behind at once.
            other = MovedVersion("another-period", live.generation + 1)
            assert live.heard(versions_payload(VersionsMoved(0, (other,), NOW)))
        answers = await asyncio.gather(*polls)
        # Each poll takes the render that began once it came in, rather than one of its own.
        assert {denominator(a) for a in answers} == {2}
        assert (answered(api), renders(api)) == (before + 10, rendered + 1)


async def _rendering(api: harness.ApiClient) -> bool:
    return bool(api.app.state.front._rendering)
