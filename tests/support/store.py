"""Put events straight into the event store and score them, without Kafka, for focused tests."""

from __future__ import annotations

import asyncpg
import orjson

from services.scoring import repository
from services.scoring.main import build_service
from services.scoring.repository import Share
from services.scoring.settings import ScoringSettings
from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.events import (
    Refusal,
    TopicKind,
    event_kind,
    event_subject,
    normalized_payload,
    parse_record,
    payload_hash,
)
from shared.models import Event
from tests.support.harness import PROVINCE

TOPIC_OF_TYPE: dict[str, TopicKind] = {
    "UNIT": "catalog",
    "PROCEDURE": "catalog",
    "PUBLICATION": "catalog",
    "FEEDBACK": "feedback",
}


async def store(db_url: str, events: list[dict]) -> None:
    engine = create_engine(db_url, application_name="test")
    async with create_sessionmaker(engine).begin() as session:
        for offset, event in enumerate(events):
            topic = TOPIC_OF_TYPE.get(event.get("type", ""), "dossier")
            parsed = parse_record(orjson.dumps(event), topic=topic)
            assert not isinstance(parsed, Refusal), parsed
            payload = normalized_payload(parsed)
            session.add(
                Event(
                    event_id=parsed.event_id,
                    kind=event_kind(parsed),
                    subject=event_subject(parsed),
                    occurred_at=parsed.occurred_at,
                    payload=payload,
                    payload_hash=payload_hash(payload),
                    source_topic="test",
                    source_partition=0,
                    source_offset=offset,
                )
            )
    await engine.dispose()


async def step_until_idle(
    db_url: str,
    clock: ManualClock,
    partitions: tuple[int, ...] | None = None,
    scored_part: int | None = None,
) -> None:
    """Score every stored event: as one instance owning every partition, or only `partitions`;
    `scored_part`: dossiers per part of a large step (`ScoringService._score_dossiers`)."""
    settings = ScoringSettings(database_url=db_url, province_code=PROVINCE)
    count = settings.scoring_partitions
    share = Share(partitions if partitions is not None else tuple(range(count)), count)
    service = build_service(settings, clock)
    if scored_part is not None:
        service.scored_part = scored_part
    engine = create_engine(db_url, application_name="test")
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        await repository.init_partitions(session, count, clock.now())
    while True:
        async with sessions.begin() as session:
            if (await service.step(session, share)).idle:
                break
    await engine.dispose()


async def count(db_url: str, unit: str, period: str, indicator: str) -> tuple[int, int]:
    connection = await asyncpg.connect(db_url)
    try:
        row = await connection.fetchrow(
            "SELECT coalesce(sum(numerator), 0) AS numerator,"
            " coalesce(sum(denominator), 0) AS denominator FROM indicator_counts"
            " WHERE unit_code = $1 AND period_key = $2 AND indicator_id = $3",
            unit,
            period,
            indicator,
        )
        return (row["numerator"], row["denominator"])
    finally:
        await connection.close()
