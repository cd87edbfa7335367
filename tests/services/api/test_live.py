"""The api answers from memory what scoring told it, and from the database when it cannot trust
its memory: before it listens, and while its listening connection is down."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import asyncpg
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from services.api.live import REMEMBERED_MOVES, LiveVersions
from shared.clock import ManualClock
from shared.versions import (
    PAYLOAD_LIMIT,
    MovedVersion,
    VersionsMoved,
    parse_versions,
    versions_payload,
)
from tests.support import harness
from tests.support.factories import received, unit_event
from tests.support.store import step_until_idle, store

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
NO_TOPICS = type("T", (), {"dossier": "d", "catalog": "c", "dead_letter": "x"})()

instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
    max_value=datetime(2040, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
moved_versions = st.builds(
    MovedVersion,
    st.text(min_size=1, max_size=12),
    st.integers(1, 2**40),
    st.none() | instants,
)


@given(st.integers(0, 999), st.lists(moved_versions, max_size=400), instants)
def test_a_message_says_what_moved_or_that_everything_must_be_read_again(
    partition: int, versions: list[MovedVersion], as_of: datetime
) -> None:
    moved = VersionsMoved(partition, tuple(versions), as_of)
    payload = versions_payload(moved)
    assert len(payload.encode()) <= PAYLOAD_LIMIT
    heard = parse_versions(payload)
    assert (heard.partition, heard.as_of) == (partition, as_of)
    assert heard.versions in (moved.versions, None)


def test_versions_heard_in_any_order_keep_the_largest_of_each_partition() -> None:
    live = LiveVersions()
    t = NOW

    def say(partition: int, *versions: MovedVersion) -> bool:
        return live.heard(versions_payload(VersionsMoved(partition, versions, t)))

    assert say(0, MovedVersion("2026-W47", 3))
    assert say(1, MovedVersion("2026-W47", 2, restated_at=t))
    assert say(0, MovedVersion("2026-W47", 1))  # late, older: changes nothing
    assert live.states(["2026-W47", "2026-W46"])["2026-W47"].version == 5
    assert live.states(["2026-W47"])["2026-W47"].restated_at == t
    assert live.states(["2026-W46"])["2026-W46"].version == 0
    # Only what moves a version moves the generation the front cache is valid for.
    generation = live.generation
    assert say(0, MovedVersion("2026-W47", 3))
    assert live.generation == generation
    assert say(0, MovedVersion("2026-W47", 4))
    assert live.generation == generation + 1
    # Too much to say: the listener is asked to read the table again.
    assert not live.heard(versions_payload(VersionsMoved(0, None, t)))


@given(st.integers(1, 600))
def test_the_instant_each_generation_was_left_is_remembered_in_order(moves: int) -> None:
    live = LiveVersions()
    for version in range(1, moves + 1):
        assert live.heard(versions_payload(VersionsMoved(0, (MovedVersion("k", version),), NOW)))
    current = live.generation
    assert live.moved_past(current) == math.inf
    instants = [live.moved_past(g) for g in range(current)]
    assert instants == sorted(instants)
    remembered = [i for i in instants if i != -math.inf]
    # The last moves are remembered (each a real instant); older ones only as "long ago".
    assert len(remembered) == min(current, REMEMBERED_MOVES)
    assert instants[-len(remembered) :] == remembered


async def test_a_poll_is_answered_from_memory_and_from_the_database_while_memory_is_deaf(
    db_url: str,
) -> None:
    clock = ManualClock(NOW)
    await store(
        db_url,
        [
            unit_event("SO-A", "Sở A", "DEPARTMENT", NOW - timedelta(days=9)),
            received("D1", NOW - timedelta(hours=3), unit_code="SO-A"),
        ],
    )
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        await api.heard_scoring()
        statements: list[str] = []
        engine = api.app.state.sessions.kw["bind"]
        event.listen(
            engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2])
        )
        first = await api.get("/units/SO-A", params={"period": "week"})
        tag = first.headers["etag"]
        statements.clear()
        again = await api.get(
            "/units/SO-A", params={"period": "week"}, headers={"If-None-Match": tag}
        )
        assert again.status_code == 304
        assert statements == []

        # Scoring moves on: the next poll sees the new version, heard and not asked for.
        await store(db_url, [received("D2", NOW - timedelta(hours=1), unit_code="SO-A")])
        clock.advance(timedelta(minutes=1))
        await step_until_idle(db_url, clock)
        await api.heard_scoring()
        statements.clear()
        moved = await api.get(
            "/units/SO-A", params={"period": "week"}, headers={"If-None-Match": tag}
        )
        assert moved.status_code == 200
        assert moved.headers["etag"] != tag
        ontime = next(i for i in moved.json()["indicators"] if i["id"] == "2.1")
        assert ontime["denominator"] == 2
        assert not any("period_versions" in s for s in statements)

        # The listening connection dies: the api asks the database until it listens again.
        await api.deafen()
        await store(db_url, [received("D3", NOW - timedelta(minutes=30), unit_code="SO-A")])
        clock.advance(timedelta(minutes=1))
        await step_until_idle(db_url, clock)
        statements.clear()
        fallback = await api.get("/units/SO-A", params={"period": "week"})
        ontime = next(i for i in fallback.json()["indicators"] if i["id"] == "2.1")
        assert ontime["denominator"] == 3
        assert any("period_versions" in s for s in statements)
        # ...and listens again, having read what it missed.
        await api.heard_scoring()
        statements.clear()
        tag = fallback.headers["etag"]
        held = await api.get(
            "/units/SO-A", params={"period": "week"}, headers={"If-None-Match": tag}
        )
        assert held.status_code == 304
        assert statements == []


async def test_large_bodies_are_sent_compressed_to_clients_that_accept_gzip(
    db_url: str,
) -> None:
    clock = ManualClock(NOW)
    await store(
        db_url,
        [
            unit_event(f"SO-{n}", f"Sở {n}", "DEPARTMENT", NOW - timedelta(days=9))
            for n in range(30)
        ],
    )
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        plain = await api.get("/rankings", headers={"Accept-Encoding": "identity"})
        zipped = await api.get("/rankings", headers={"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    assert zipped.json() == plain.json()
    assert zipped.headers["etag"] == plain.headers["etag"]


async def test_a_message_too_large_to_name_its_versions_makes_the_api_read_them_all(
    db_url: str,
) -> None:
    clock = ManualClock(NOW)
    await store(db_url, [received("D1", NOW - timedelta(hours=3), unit_code="SO-A")])
    await step_until_idle(db_url, clock)
    async with harness.api_client(db_url, "unused:9092", NO_TOPICS, clock) as api:
        await api.heard_scoring()
        live = api.app.state.live
        before = live.states(["2026-W47"])["2026-W47"].version
        connection = await asyncpg.connect(db_url)
        try:
            # What a backfill across a year of days does: many versions, one message naming none.
            async with connection.transaction():
                await connection.execute(
                    "UPDATE period_versions SET version = version + 100"
                    " WHERE period_key = '2026-W47'"
                )
                await connection.execute(
                    "SELECT pg_notify('chiso766_versions', $1)",
                    versions_payload(VersionsMoved(0, None, NOW)),
                )
        finally:
            await connection.close()

        async def reread() -> bool:
            return bool(live.states(["2026-W47"])["2026-W47"].version == before + 100)

        await harness.eventually(reread, within=10)
