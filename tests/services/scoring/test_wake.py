"""Scoring steps as soon as ingest has stored events, not at its next idle poll."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from services.ingest import repository as ingest_repository
from services.scoring.main import serve
from services.scoring.settings import ScoringSettings
from shared.clock import ManualClock
from shared.db import create_engine, create_sessionmaker
from shared.events import (
    event_kind,
    event_subject,
    normalized_payload,
    parse_record,
    payload_hash,
    stored_json,
)
from tests.support import harness
from tests.support.factories import received

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
NO_TOPICS = type("T", (), {"dossier": "d", "catalog": "c", "dead_letter": "x"})()


async def stored_by_ingest(db_url: str, event: dict[str, object]) -> int:
    """The event stored as ingest stores a batch; its sequence number."""
    parsed = parse_record(orjson.dumps(event), topic="dossier")
    payload = normalized_payload(parsed)  # type: ignore[arg-type]
    row = {
        "event_id": parsed.event_id,  # type: ignore[union-attr]
        "kind": event_kind(parsed),  # type: ignore[arg-type]
        "subject": event_subject(parsed),  # type: ignore[arg-type]
        "occurred_at": parsed.occurred_at,  # type: ignore[union-attr]
        "payload": stored_json(payload),
        "payload_hash": payload_hash(payload),
        "source_topic": "dossier.events",
        "source_partition": 0,
        "source_offset": 0,
    }
    engine = create_engine(db_url, application_name="test")
    try:
        async with create_sessionmaker(engine).begin() as session:
            assert await ingest_repository.insert_events(session, [row])
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(db_url)
    try:
        seq: int = await connection.fetchval("SELECT max(seq) FROM events")
    finally:
        await connection.close()
    return seq


async def test_events_stored_by_ingest_wake_an_idle_scorer(db_url: str) -> None:
    # An idle poll no test outlasts: only the wake can make scoring step again.
    settings = ScoringSettings(
        **harness.common(db_url, "unused:9092", NO_TOPICS),
        scoring_idle_poll_seconds=timedelta(hours=1),
    )
    connection = await asyncpg.connect(db_url)

    async def listening() -> bool:
        # Its first step is done (the positions exist) and it waits for the message.
        waiting = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'chiso766-scoring-wake' AND query LIKE 'LISTEN%'"
        )
        positions = await connection.fetchval("SELECT count(*) FROM scoring_position")
        return bool(waiting and positions)

    try:
        async with harness.running(lambda stop: serve(settings, stop, ManualClock(NOW))):
            await harness.eventually(listening, within=20)
            seq = await stored_by_ingest(db_url, received("W1", NOW - timedelta(hours=1)))

            async def scored() -> bool:
                done = await connection.fetchval("SELECT min(last_seq) FROM scoring_position")
                return bool(done is not None and done >= seq)

            await harness.eventually(scored, within=20)
    finally:
        await connection.close()
