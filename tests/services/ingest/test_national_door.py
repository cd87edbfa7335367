"""The national sync door through the real broker and PostgreSQL: the corpus of field-system
records accepted or refused as documented, and the same dossiers as contract events counted the
same, for the corpus and for a whole simulated province."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from services.simulator.main import Simulator, send
from services.simulator.national import envelopes
from shared.clock import ManualClock
from shared.events import parse_events
from shared.kafka import ensure_topics
from tests.corpus.national import CASES, IDENTITY_VALUES, LOCAL, NOW, PERIOD, records, twins
from tests.services.ingest.test_service import read_topic
from tests.support import harness
from tests.support.infra import database_url, execute_admin

Rows = list[asyncpg.Record]


async def fetch(db_url: str, query: str, *args: Any) -> Rows:
    connection = await asyncpg.connect(db_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def produce_stamped(
    broker: str, topic: str, sent: Iterable[tuple[bytes, bytes, datetime]]
) -> None:
    """Records with the timestamps their producer gave them, as a one-stop system's client does."""
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        for key, value, at in sent:
            await producer.send_and_wait(
                topic, value=value, key=key, timestamp_ms=int(at.timestamp() * 1000)
            )
    finally:
        await producer.stop()


def every_topic_of(names: Any) -> list[str]:
    return [names.dossier, names.catalog, names.feedback, names.dead_letter]


def key_of(value: dict[str, Any]) -> bytes:
    return str(value.get("MaHoSo") or value.get("madonvi") or value.get("dossier_code")).encode()


async def pipeline_until_scored(
    db_url: str,
    broker: str,
    topics: Any,
    offered: int,
    clock: ManualClock,
    every_topic: bool = False,
) -> None:
    """Ingest and score (at the clock's instant) until `offered` events and refusals are
    counted (on the dossier topic, or on every topic) and scoring has applied every event."""

    async def ingested() -> bool:
        rows = await fetch(
            db_url,
            "SELECT coalesce(sum(offered), 0) AS offered FROM ingest_counts WHERE $2 OR topic = $1",
            topics.dossier,
            every_topic,
        )
        return bool(rows[0]["offered"] >= offered)

    async def scored() -> bool:
        rows = await fetch(
            db_url,
            "SELECT (SELECT coalesce(max(seq), 0) FROM events)"
            " = coalesce((SELECT min(last_seq) FROM scoring_position), -1) AS done",
        )
        return bool(rows[0]["done"])

    async with (
        harness.running(harness.ingest(db_url, broker, topics, clock)),
        harness.running(harness.scoring(db_url, broker, topics, clock)),
    ):
        await harness.eventually(ingested, within=60)
        await harness.eventually(scored, within=60)


async def indicator_counts(db_url: str, unit: str | None = None) -> dict[tuple, tuple]:
    rows = await fetch(
        db_url,
        "SELECT unit_code, period_key, indicator_id, sum(numerator), sum(denominator)"
        " FROM indicator_counts WHERE ($1::text IS NULL OR unit_code = $1)"
        " GROUP BY unit_code, period_key, indicator_id"
        " HAVING (sum(numerator), sum(denominator)) <> (0, 0)",
        unit,
    )
    return {(r["unit_code"], r["period_key"], r["indicator_id"]): (r[3], r[4]) for r in rows}


@pytest.fixture
async def other_db(postgres_admin_url: str, template_database: str) -> AsyncIterator[str]:
    """A second database, for the same dossiers sent another way."""
    name = f"chiso766_test_{uuid.uuid4().hex[:12]}"
    await execute_admin(
        postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'
    )
    yield database_url(postgres_admin_url, name)
    await execute_admin(postgres_admin_url, f'DROP DATABASE "{name}" WITH (FORCE)')


def other_topics(topics: Any) -> SimpleNamespace:
    suffix = uuid.uuid4().hex[:8]
    return SimpleNamespace(
        dossier=f"{topics.dossier}.{suffix}",
        catalog=f"{topics.catalog}.{suffix}",
        feedback=f"{topics.feedback}.{suffix}",
        dead_letter=f"{topics.dead_letter}.{suffix}",
    )


def local(instant: datetime) -> str:
    return instant.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


@pytest.mark.slow
async def test_the_corpus_through_the_broker_is_stored_refused_and_counted_as_documented(
    db_url: str, broker: str, topics: Any
) -> None:
    await ensure_topics(
        broker, [topics.dossier, topics.catalog, topics.feedback, topics.dead_letter]
    )
    sent = records()
    await produce_stamped(
        broker, topics.dossier, [(key_of(s.value), orjson.dumps(s.value), s.at) for s in sent]
    )
    stored = sum(case.stored for case in CASES)
    duplicates = sum(case.duplicates for case in CASES)
    refused = [reason for case in CASES for reason in case.refused]
    offered = stored + duplicates + len(refused)
    await pipeline_until_scored(db_url, broker, topics, offered, ManualClock(NOW))

    counts = await fetch(db_url, "SELECT * FROM ingest_counts WHERE topic = $1", topics.dossier)
    assert [tuple(counts[0])[1:]] == [(offered, stored, len(refused), duplicates)]
    letters = await fetch(db_url, "SELECT reason, value FROM dead_letters ORDER BY id")
    assert len(letters) == len(refused)
    for expected in refused:
        assert any(expected in letter["reason"] for letter in letters), expected
    on_topic = await read_topic(broker, topics.dead_letter, len(refused))
    assert sorted(r.value for r in on_topic) == sorted(bytes(letter["value"]) for letter in letters)

    states = {
        row["dossier_code"]: row
        for row in await fetch(db_url, "SELECT dossier_code, state FROM dossiers")
    }
    for case in CASES:
        for code, dossier in case.dossiers.items():
            marks = sorted(
                orjson.loads(states[code]["state"])["m"].items(), key=lambda kv: (kv[1][1], kv[0])
            )
            found = [(status, local(datetime.fromisoformat(at))) for _, (status, at) in marks]
            assert found == list(dossier.steps), case.name
        if case.unit is not None:
            expected = {(case.unit, PERIOD, i): value for i, value in case.counts.items()}
            found_counts = {
                key: value
                for key, value in (await indicator_counts(db_url, case.unit)).items()
                if key[1] == PERIOD and "@" not in key[2]
            }
            assert found_counts == expected, case.name

    # The applicant, the session token and the handler's name are nowhere.
    stored_text = await fetch(
        db_url,
        "SELECT string_agg(payload::text, ' ') AS events,"
        " (SELECT string_agg(encode(value, 'escape') || reason, ' ') FROM dead_letters) AS letters,"
        " (SELECT string_agg(state::text, ' ') FROM dossiers) AS states FROM events",
    )
    blob = " ".join(str(v) for v in stored_text[0].values())
    dlq = b" ".join(r.value for r in on_topic).decode()
    for value in IDENTITY_VALUES:
        assert value not in blob, value
        assert value not in dlq, value


@pytest.mark.slow
async def test_the_same_dossiers_as_contract_events_give_the_same_counts(
    db_url: str, other_db: str, broker: str, topics: Any
) -> None:
    contract = other_topics(topics)
    for names in (topics, contract):
        await ensure_topics(
            broker, [names.dossier, names.catalog, names.feedback, names.dead_letter]
        )
    national = records()
    await produce_stamped(
        broker, topics.dossier, [(key_of(s.value), orjson.dumps(s.value), s.at) for s in national]
    )
    events = twins()
    await produce_stamped(
        broker, contract.dossier, [(key_of(e), orjson.dumps(e), NOW) for e in events]
    )
    offered = sum(case.stored + case.duplicates + len(case.refused) for case in CASES)
    await pipeline_until_scored(db_url, broker, topics, offered, ManualClock(NOW))
    await pipeline_until_scored(other_db, broker, contract, len(events), ManualClock(NOW))

    for case in CASES:
        if case.twin:
            assert case.unit is not None
            assert await indicator_counts(other_db, case.unit) == await indicator_counts(
                db_url, case.unit
            ), case.name


async def send_province(broker: str, topics: Any, *, national: bool, now: datetime) -> int:
    """A simulated week of the province (catalogue first), as contract events or as the national
    sync's envelopes, the same dossiers either way; how many events and refusals ingest must
    count for it."""
    simulator = Simulator(seed=11, scale=0.05, malformed_rate=0, national=national)
    batches = [simulator.catalog(now - timedelta(weeks=1, days=1))]
    simulator.receive(now - timedelta(weeks=1), now)
    batches.append(simulator.due(now))
    offered = 0
    for batch in batches:
        for emission in batch:
            if not emission.national:
                kind = "dossier" if emission.topic == "dossier" else emission.topic
                parsed = parse_events(simulator.encode(emission), topic=kind, now=now)
                offered += len(parsed.accepted) + len(parsed.refused)
        for at, envelope in envelopes(e for e in batch if e.national):
            parsed = parse_events(orjson.dumps(envelope), now=now, arrived_at=at)
            offered += len(parsed.accepted) + len(parsed.refused)
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        names = {"dossier": topics.dossier, "catalog": topics.catalog, "feedback": topics.feedback}
        for batch in batches:
            await send(producer, names, simulator, batch)
    finally:
        await producer.stop()
    return offered


@pytest.mark.slow
async def test_a_simulated_province_counts_the_same_sent_as_national_items_or_as_contract_events(
    db_url: str, other_db: str, broker: str, topics: Any
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    contract = other_topics(topics)
    for url, names, national in ((db_url, topics, True), (other_db, contract, False)):
        await ensure_topics(
            broker, [names.dossier, names.catalog, names.feedback, names.dead_letter]
        )
        offered = await send_province(broker, names, national=national, now=now)
        clock = ManualClock(now + timedelta(seconds=1))
        await pipeline_until_scored(url, broker, names, offered, clock, every_topic=True)
    assert await fetch(db_url, "SELECT reason FROM dead_letters") == []
    national_counts, contract_counts = (
        await indicator_counts(db_url),
        await indicator_counts(other_db),
    )
    assert len(national_counts) > 1000
    assert national_counts == contract_counts
