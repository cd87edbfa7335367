"""A simulated province streamed through the real services, and the checks that nothing was lost
or counted twice.

The stream mixes valid events, damaged ones (the simulator's), hostile records and re-sent
duplicates; each record's fate is known before it is sent (`parse_events` is the one door), so
the end state can be asserted exactly: the event store holds each valid event once, every refused
record is in `dead_letters` and on the dead-letter topic with its reason, the per-topic counts
balance with nothing offered twice, and `verify` (the counts rebuilt from the store) is clean.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.scoring.settings import ScoringSettings
from services.scoring.verify import verify
from services.simulator.main import Simulator
from shared.events import TopicKind, parse_events
from shared.kafka import ensure_topics
from tests.support import harness

Position = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: bytes
    value: bytes | None
    event_ids: tuple[str, ...]  # empty when the record is refused


@dataclass(frozen=True, slots=True)
class Stream:
    records: list[Outgoing]

    def valid_ids(self) -> set[str]:
        return {i for r in self.records for i in r.event_ids}

    def expected_counts(self) -> dict[str, tuple[int, int, int, int]]:
        """topic -> (offered, stored, dead_lettered, duplicates)."""
        seen: set[str] = set()
        counts: dict[str, Counter[str]] = {}
        for record in self.records:
            count = counts.setdefault(record.topic, Counter())
            count["offered"] += 1
            if not record.event_ids:
                count["dead_lettered"] += 1
            elif seen.issuperset(record.event_ids):
                count["duplicates"] += 1
            else:
                count["stored"] += 1
                seen.update(record.event_ids)
        return {
            topic: (c["offered"], c["stored"], c["dead_lettered"], c["duplicates"])
            for topic, c in counts.items()
        }


def hostile_records() -> list[tuple[bytes, bytes | None]]:
    """Records no one-stop system should send, but some will: (key, value)."""
    return [
        (b"h1", None),  # a tombstone
        (b"h2", b"\xff\xfe not utf-8"),
        (b"h3", b'{"event_id": "x", "schema_version": 1, "padding": "' + b"a" * 200_000 + b'"}'),
        (b"h4", orjson.dumps({"event_id": "'; DROP TABLE events; --", "schema_version": 1})),
        (b"h5", orjson.dumps([1, 2, 3])),
        (b"h6", b'{"event_id": "\\u0000\\ud800", "schema_version": 1}'),  # NUL, lone surrogate
    ]


def province_stream(
    topics: Any, *, seed: int, scale: float, malformed_rate: float, duplicate_rate: float
) -> Stream:
    """A week of a simulated province (catalogue first), damaged and re-sent here and there."""
    now = datetime.now(UTC)
    simulator = Simulator(seed=seed, scale=scale, malformed_rate=malformed_rate)
    emissions = simulator.catalog(now - timedelta(weeks=1, days=1))
    simulator.receive(now - timedelta(weeks=1), now)
    emissions += simulator.due(now)
    names: dict[TopicKind, str] = {
        "dossier": topics.dossier,
        "catalog": topics.catalog,
        "feedback": topics.feedback,
    }
    records: list[Outgoing] = []
    for emission in emissions:
        kind: TopicKind = emission.topic  # type: ignore[assignment]
        value = simulator.encode(emission)
        records.append(_outgoing(names[kind], kind, emission.key.encode(), value, now))
    for key, value in hostile_records():
        records.append(_outgoing(topics.dossier, "dossier", key, value, now))
    rng = random.Random(seed)
    for record in rng.sample(records, int(len(records) * duplicate_rate)):
        # Re-sent later, as a one-stop system does after a timeout it could not tell from a loss.
        records.insert(rng.randrange(records.index(record) + 1, len(records) + 1), record)
    return Stream(records)


def _outgoing(
    topic: str, kind: TopicKind, key: bytes, value: bytes | None, now: datetime
) -> Outgoing:
    parsed = parse_events(value, topic=kind, now=now + timedelta(minutes=5))
    return Outgoing(topic, key, value, tuple(a.event.event_id for a in parsed.accepted))


async def create_topics(broker: str, topics: Any, alerts_topic: str) -> None:
    """The test's topics, made before any service starts (3 partitions each)."""
    await ensure_topics(
        broker, [topics.dossier, topics.catalog, topics.feedback, topics.dead_letter, alerts_topic]
    )


async def send_paced(broker: str, stream: Stream, seconds: float) -> list[Position]:
    """Send every record over about `seconds`, in order; where each landed."""
    producer = AIOKafkaProducer(
        bootstrap_servers=broker, acks="all", linger_ms=5, max_request_size=1024 * 1024
    )
    await producer.start()
    positions: list[Position] = []
    chunks = max(int(seconds / 0.1), 1)
    size = math.ceil(len(stream.records) / chunks)
    try:
        for start in range(0, len(stream.records), size):
            futures = [
                await producer.send(r.topic, key=r.key, value=r.value)
                for r in stream.records[start : start + size]
            ]
            positions += [(m.topic, m.partition, m.offset) for m in await asyncio.gather(*futures)]
            await asyncio.sleep(0.1)
    finally:
        await producer.stop()
    return positions


async def query(db_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def settled(db_url: str, stream: Stream, within: float = 180) -> None:
    """Wait until ingest has offered every record and scoring has applied every stored event;
    say how far each had got if they had not by `within`."""
    offered = {t: c[0] for t, c in stream.expected_counts().items()}

    async def done() -> bool:
        rows = await query(db_url, "SELECT topic, offered FROM ingest_counts")
        if {r["topic"]: r["offered"] for r in rows} != offered:
            return False
        (row,) = await query(
            db_url,
            "SELECT (SELECT coalesce(max(seq), 0) FROM events) AS stored,"
            " (SELECT coalesce(min(last_seq), 0) FROM scoring_position) AS scored",
        )
        return bool(row["stored"] == row["scored"])

    started = time.monotonic()
    try:
        await harness.eventually(done, within=within)
    except AssertionError:
        rows = await query(db_url, "SELECT topic, offered FROM ingest_counts")
        (row,) = await query(
            db_url,
            "SELECT (SELECT coalesce(max(seq), 0) FROM events) AS stored,"
            " (SELECT coalesce(min(last_seq), 0) FROM scoring_position) AS scored",
        )
        got = {r["topic"]: r["offered"] for r in rows}
        raise AssertionError(
            f"not settled in {within:.0f} s: offered {got} of {offered}, stored "
            f"{row['stored']}, scored {row['scored']}"
        ) from None
    print(f"settled in {time.monotonic() - started:.1f} s")


@dataclass(frozen=True, slots=True)
class RunFigures:
    records: int
    events: int
    dead_letters: int
    dlq_topic_repeats: int
    count_differences: int


async def assert_exact(
    db_url: str, broker: str, stream: Stream, positions: list[Position], dead_letter_topic: str
) -> RunFigures:
    """The end state a run with no fault would reach; the figures for the report."""
    stored = await query(db_url, "SELECT event_id FROM events")
    assert len(stored) == len(stream.valid_ids())
    assert {r["event_id"] for r in stored} == stream.valid_ids()

    counts = await query(
        db_url, "SELECT topic, offered, stored, dead_lettered, duplicates FROM ingest_counts"
    )
    assert {r["topic"]: tuple(r.values())[1:] for r in counts} == stream.expected_counts()

    refused = {p for p, r in zip(positions, stream.records, strict=True) if not r.event_ids}
    letters = await query(db_url, 'SELECT topic, "partition", "offset", reason FROM dead_letters')
    assert len(letters) == len(refused)
    assert {(r["topic"], r["partition"], r["offset"]) for r in letters} == refused
    assert all(r["reason"].strip() for r in letters)
    on_topic = await dead_letter_positions(broker, dead_letter_topic, len(refused))
    assert set(on_topic) == refused  # at least once on the topic, each with its reason
    (position,) = await query(
        db_url, "SELECT sum(events_applied) AS events_applied FROM scoring_position"
    )
    assert position["events_applied"] == len(stored)

    differences = await verify(ScoringSettings(database_url=db_url, province_code=harness.PROVINCE))
    assert differences == []
    return RunFigures(
        records=len(stream.records),
        events=len(stored),
        dead_letters=len(letters),
        dlq_topic_repeats=sum(on_topic.values()) - len(on_topic),
        count_differences=len(differences),
    )


async def dead_letter_positions(broker: str, topic: str, expected: int) -> Counter[Position]:
    """Where each dead letter on the topic came from, by its headers; every one has a reason."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker,
        group_id=f"check-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: Counter[Position] = Counter()
    try:
        quiet = 0
        while len(found) < expected or quiet < 2:
            polled = await consumer.getmany(timeout_ms=500)
            quiet = 0 if polled else quiet + 1
            for batch in polled.values():
                for record in batch:
                    headers = {k: v.decode() for k, v in record.headers}
                    assert headers["dlq.reason"].strip()
                    found[
                        (
                            headers["dlq.topic"],
                            int(headers["dlq.partition"]),
                            int(headers["dlq.offset"]),
                        )
                    ] += 1
            if quiet > 20:
                break
    finally:
        await consumer.stop()
    return found
